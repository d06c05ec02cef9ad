// Per-process facts shared by every copy of the library loaded in one process (the ESM
// build, the CJS build, src/ under tsx). Runs on every side.
//
// State lives on globalThis under a Symbol.for key so that a user module that imports
// 'multiproc' from dist/ sees what src/process/child.ts (maybe another copy) recorded.

const KEY = Symbol.for('multiproc.runtime');

export interface RuntimeState {
  /** Set by child.ts: this process was forked by multiproc. */
  child: boolean;
  /** Our name: 'MainProcess' in the main process, 'Process-1', 'PoolWorker-3'… in children. */
  name: string;
  /** Depth of module imports in progress in a child (a task module loading). */
  importing: number;
  /** Counter for default Process names. */
  processCounter: number;
}

export const runtime: RuntimeState = ((globalThis as Record<symbol, unknown>)[KEY] ??= {
  child: false,
  name: 'MainProcess',
  importing: 0,
  processCounter: 0,
}) as RuntimeState;

const FLUSH_KEY = Symbol.for('multiproc.flushers');
const flushers = ((globalThis as Record<symbol, unknown>)[FLUSH_KEY] ??= new Set()) as Set<() => Promise<void>>;

/**
 * Register work that must finish before a child exits (a queue's buffered puts). Returns a
 * function that unregisters it. child.ts awaits every flusher before it exits.
 */
export function registerFlusher(flush: () => Promise<void>): () => void {
  flushers.add(flush);
  return () => flushers.delete(flush);
}

/** Await every registered flusher; failures are reported by their owners, not here. */
export async function flushAll(): Promise<void> {
  await Promise.allSettled([...flushers].map((f) => f()));
}
