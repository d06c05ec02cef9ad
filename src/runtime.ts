// Per-process facts shared by every copy of the library loaded in one process (the ESM
// build, the CJS build, src/ under tsx). Runs on every side.
//
// State lives on globalThis under a Symbol.for key so that a user module that imports
// 'multiproc' from dist/ sees what src/process/child.ts (maybe another copy) recorded.

import { dirname } from 'node:path';
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
  /** Set by child.ts: a daemon Process or a pool worker (currentProcess().daemon). */
  daemon: boolean;
  /**
   * Set by child.ts: the process that forked this one, its name as it told us and its pid
   * when this process started (process.ppid changes once it is gone); null in the main process.
   */
  parent: { name: string; pid: number } | null;
  /**
   * Set by child.ts: loader flags of the parent this process registers only before it imports
   * a TypeScript module, and hands on to the children it forks (src/process/spawn.ts).
   */
  loaders: readonly { kind: 'import' | 'require' | 'loader'; specifier: string }[];
  /**
   * Set by child.ts from 'init' when the child entry runs from another build than the one
   * user code imports (the CommonJS entry forked by an ES module parent, src/process/
   * spawn.ts): the root of that build (dist/esm). What the child shares with user code
   * (handles and the classes they revive into, the twin hook) is loaded from there.
   */
  libraryRoot: string | null;
  /**
   * Set by child.ts from 'init' in a child of a parent that runs the library from its
   * TypeScript sources: those sources' root, and the root of the compiled build imported in
   * their place (src/process/loader.ts, twin-hook.ts). Handed on to the children it forks.
   */
  twins: { sourceRoot: string; compiledRoot: string } | null;
}

const defaults: RuntimeState = {
  child: false,
  name: 'MainProcess',
  importing: 0,
  processCounter: 0,
  daemon: false,
  parent: null,
  loaders: [],
  libraryRoot: null,
  twins: null,
};

export const runtime: RuntimeState = ((globalThis as Record<symbol, unknown>)[KEY] ??= { ...defaults }) as RuntimeState;
// A copy of another version may have made the state first, without the fields this one added.
for (const key of Object.keys(defaults) as (keyof RuntimeState)[]) {
  if (!(key in runtime)) (runtime as unknown as Record<string, unknown>)[key] = defaults[key];
}

/**
 * The path of the module that calls this function, found from a call site. The same source
 * compiles to ESM and CommonJS, and neither `import.meta.url` nor `__filename` exists in
 * both, so modules that need their own location (spawn.ts for the child entry, the manager
 * server for its own module reference) ask the stack instead. A call site in the bundled
 * child entry, which holds several modules in one file, is mapped to its module's file.
 */
export function moduleFile(): string {
  const holder: { stack?: unknown } = {};
  const previous = Error.prepareStackTrace;
  Error.prepareStackTrace = (_err, frames) => frames;
  Error.captureStackTrace(holder, moduleFile);
  const frames = holder.stack as unknown as NodeCallSite[];
  Error.prepareStackTrace = previous;
  const frame = frames[0];
  const file = frame?.getFileName();
  if (!frame || !file) throw new Error('multiproc: cannot locate its own module file');
  const bundled = bundledFile(file, frame.getLineNumber());
  if (bundled !== null) return bundled;
  return file.startsWith('file:') ? fileURLToPath(file) : file;
}

/**
 * Set by the bundled child entry (dist/cjs/process/child-bundle.js, written by
 * src/build/bundle-child.mjs), which holds several modules in one file: the first line of
 * each in it, and the module file each stands for.
 */
interface BundleRecord {
  file: string;
  lines: readonly number[];
  files: readonly string[];
}

/** The module file whose code is at `line` of `file`, when `file` is the bundled child entry; else null. */
function bundledFile(file: string, line: number | null): string | null {
  const bundle = (globalThis as Record<symbol, BundleRecord | undefined>)[Symbol.for('multiproc.bundle')];
  if (bundle === undefined || file !== bundle.file || line === null) return null;
  let i = bundle.lines.length - 1;
  while (i > 0 && bundle.lines[i]! > line) i--;
  return bundle.files[i] ?? null;
}

let ownRoot: string | undefined;
/**
 * The root of this copy of the library: the folder of this module (src/ under tsx, dist/esm
 * or dist/cjs once built). Frames and files below it are the library's own. Found on first
 * use, not at load: reading a call site's line in the bundled child entry makes V8 index the
 * lines of the whole bundle (~0.5 ms of a worker's start), and a worker of plain tasks never
 * asks.
 */
export function ownLibraryRoot(): string {
  return (ownRoot ??= dirname(moduleFile()));
}

// ---------------------------------------------------------------------------------------
// Leaving: what must happen before this process ends
//
// Queues buffer puts and acknowledgements, and connections queue frames, for a tick or two.
// Two mechanisms make sure none of it is lost when the process ends:
//   flushers     async, for a graceful end (a Process target returned, a worker leaves):
//                send what is buffered and wait until each host confirmed it. child.ts
//                awaits flushAll() before it exits, so a parent that joins the child then
//                finds every item the child put.
//   exit hooks   synchronous, for every end Node runs code on: process.exit() (also from a
//                library the user called), the event loop running dry, an uncaught
//                exception. 'exit' listeners cannot wait, so the hooks write straight to
//                the sockets: first every queue moves what it buffered into its connection
//                (phase 'buffers'), then every connection writes all it holds, blocking
//                briefly while the host catches up (phase 'links'). The bytes are then in
//                the kernel, which delivers them after this process is gone.
// A signal that kills the process (SIGKILL, or SIGTERM without a listener) runs no code:
// what was buffered then is lost, as Python documents for Process.terminate().
//
// The state is shared by every copy of the library in the process (one 'exit' listener, the
// phases in order across copies): a connection may carry messages of several copies.

/**
 * When an exit hook runs: queues hand their buffers to connections ('buffers'), then
 * connections write ('links'), then hosts remove their socket files ('cleanup').
 */
export type ExitPhase = 'buffers' | 'links' | 'cleanup';

interface ExitState {
  flushers: Set<() => Promise<void>>;
  hooks: Record<ExitPhase, Set<() => void>>;
  installed: boolean;
}

const EXIT_KEY = Symbol.for('multiproc.exit');
const exit = ((globalThis as Record<symbol, unknown>)[EXIT_KEY] ??= {
  flushers: new Set(),
  hooks: { buffers: new Set(), links: new Set(), cleanup: new Set() },
  installed: false,
}) as ExitState;

/**
 * Register work that must finish before a graceful exit (a queue's buffered puts, confirmed
 * by their host). Returns a function that unregisters it. child.ts awaits every flusher
 * before it exits; failures are reported by their owners.
 */
export function registerFlusher(flush: () => Promise<void>): () => void {
  exit.flushers.add(flush);
  return () => exit.flushers.delete(flush);
}

/** Await every registered flusher; failures are reported by their owners, not here. */
export async function flushAll(): Promise<void> {
  await Promise.allSettled([...exit.flushers].map((f) => f()));
}

/**
 * Run `hook` synchronously when the process exits, in `phase` (see the section header).
 * Returns a function that unregisters it. A hook must not throw; one that does is skipped.
 */
export function onExit(phase: ExitPhase, hook: () => void): () => void {
  if (!exit.installed) {
    exit.installed = true;
    process.on('exit', runExitHooks);
  }
  exit.hooks[phase].add(hook);
  return () => exit.hooks[phase].delete(hook);
}

function runExitHooks(): void {
  for (const phase of ['buffers', 'links', 'cleanup'] as const) {
    for (const hook of [...exit.hooks[phase]]) {
      try {
        hook();
      } catch {
        // An exit hook has nobody to report to; the others still run.
      }
    }
  }
}
