// Per-process facts shared by every copy of the library loaded in one process (the ESM
// build, the CJS build, src/ under tsx). Runs on every side.
//
// State lives on globalThis under a Symbol.for key so that a user module that imports
// 'multiproc' from dist/ sees what src/process/child.ts (maybe another copy) recorded.

import { fileURLToPath } from 'node:url';

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

/**
 * The path of the module that calls this function, found from a call site. The same source
 * compiles to ESM and CommonJS, and neither `import.meta.url` nor `__filename` exists in
 * both, so modules that need their own location (spawn.ts for the child entry, the manager
 * server for its own module reference) ask the stack instead.
 */
export function moduleFile(): string {
  const holder: { stack?: unknown } = {};
  const previous = Error.prepareStackTrace;
  Error.prepareStackTrace = (_err, frames) => frames;
  Error.captureStackTrace(holder, moduleFile);
  const frames = holder.stack as unknown as NodeCallSite[];
  Error.prepareStackTrace = previous;
  const file = frames[0]?.getFileName();
  if (!file) throw new Error('multiproc: cannot locate its own module file');
  return file.startsWith('file:') ? fileURLToPath(file) : file;
}

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
