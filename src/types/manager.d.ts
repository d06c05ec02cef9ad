// Node.js declarations that src/manager/ and its tests need beyond src/types/node.d.ts
// (ambient module blocks merge with the ones there; see the note there on why @types/node
// is not used). Nothing here is emitted.

declare module 'node:v8' {
  /** Set V8 flags at run time (the manager tests use it to reach `gc()`). */
  export function setFlagsFromString(flags: string): void;
}

declare module 'node:vm' {
  /** Run `code` in a fresh context and return its value. */
  export function runInNewContext(code: string, context?: object): any;
}
