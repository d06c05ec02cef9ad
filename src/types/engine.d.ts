// Node.js declarations the pool engine and its tests add to src/types/node.d.ts (the
// project has no @types/node; ambient module declarations merge).

declare module 'node:events' {
  /** The listeners registered on an EventEmitter or EventTarget (an AbortSignal) for `name`. */
  export function getEventListeners(emitter: EventTarget | EventEmitter, name: string | symbol): Function[];
}
