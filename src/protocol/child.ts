// parent <-> child: the messages on Node's IPC channel of a forked process (advanced
// serialization), as typed unions (ToChild, FromChild). Runs on every side. Requests carry a
// numeric `id`; replies echo it. Every message carries the brand of version.ts.

import type { WireError } from './errors.ts';
import type { Brand } from './version.ts';

// ---------------------------------------------------------------------------------------
// Task references

/**
 * Where a by-source function came from, so its frames in a worker's stack name it: the file
 * of the user's call that first sent it, and the function's 1-based line and column in that
 * file when its text was found there exactly once.
 */
export interface SourceOrigin {
  file: string;
  line?: number;
  column?: number;
}

/** How a child finds a function: by its source text, or by module URL and export name. */
export type FnSpec =
  | { kind: 'source'; source: string; name: string; origin?: SourceOrigin }
  | { kind: 'module'; url: string; exportName: string };

// ---------------------------------------------------------------------------------------
// parent -> child (IPC)

/** Numbers packed as raw bytes: read by index, as an array would be (rules: src/process/numbers.ts). */
export type PackedNumbers = Int32Array | Float64Array;

/**
 * A loader flag of the parent (`--import tsx`) the child registers only before it imports a
 * TypeScript module (src/process/spawn.ts says which). `specifier` is resolved already: a
 * URL for 'import' and 'loader', a path for 'require'.
 */
export interface DeferredLoader {
  kind: 'import' | 'require' | 'loader';
  specifier: string;
}

/**
 * A Process subclass whose run() the child calls: the class is the export `exportName` of
 * module `url` (found where the instance was constructed, or its static `module`), and
 * `fields` are the instance's own enumerable properties (handles encoded), set on the child's
 * instance without running the constructor, as Python's pickle restores `__dict__`.
 */
export interface ProcessClassSpec {
  url: string;
  exportName: string;
  fields: Record<string, unknown>;
}

export type ToChild = Brand &
  (
    | {
        /** First message: who the child is and what to run before any task. */
        type: 'init';
        name: string;
        role: 'process' | 'worker';
        /** The name of the process that forked this one, for parentProcess().name. */
        parent?: string;
        /** currentProcess().daemon in the child: a daemon Process, or a pool worker (Python's are daemons). */
        daemon?: boolean;
        /** Loaders to register before importing a TypeScript module (absent: none). */
        loaders?: DeferredLoader[];
        /**
         * The directory of the library's TypeScript sources, set when the parent runs them
         * but forked their compiled twin (the fresh dist/ build) as this child's entry: the
         * child imports those sources as their compiled twins, one copy of the library
         * (src/process/loader.ts, twin-hook.ts). Absent: the child runs what its parent runs.
         */
        sourceRoot?: string;
        initializer?: FnSpec;
        initargs?: unknown[];
        /** Arguments contain handles to revive. */
        handles?: boolean;
      }
    | {
        /**
         * Process target: run `fn(...args)` (no `fn`: nothing), or `cls`'s run(), once; then
         * leave when the event loop has drained, with the code the target set in
         * process.exitCode (default 0), or 1 when it threw.
         */
        type: 'run';
        fn?: FnSpec;
        args: unknown[];
        cls?: ProcessClassSpec;
        /** `args` or `cls.fields` contain handles to revive. */
        handles?: boolean;
      }
    | {
        /** Make `fn` callable as `key` in later `call` messages (sent once per worker). */
        type: 'define';
        key: number;
        fn: FnSpec;
      }
    | {
        /**
         * Run a batch: for each item call fn(item) (`spread: false`) or fn(...item)
         * (`spread: true`). Items run one after another; async tasks are awaited.
         */
        type: 'call';
        id: number;
        key: number;
        /**
         * Arguments, one per item. A batch of numbers may travel packed: an Int32Array when
         * every one is a 32-bit integer (and none is -0), otherwise a Float64Array.
         */
        items: unknown[] | PackedNumbers;
        spread: boolean;
        handles?: boolean;
      }
    | {
        /**
         * Take back batch `id` if it has not started: it waits in the child's inbox behind
         * the running batch (the parent pipelines up to two per worker). Handled on arrival,
         * not in inbox order, and answered with one 'dropped' unless the batch has finished
         * (its own reply went first). `steal`: the parent wants to run it on an idle worker,
         * which only helps while another batch runs here; a child that is free to start it
         * keeps it.
         */
        type: 'drop';
        id: number;
        steal?: boolean;
      }
  );

// ---------------------------------------------------------------------------------------
// child -> parent (IPC)

export type FromChild = Brand &
  (
    | {
        /**
         * A worker read 'init': its entry has loaded, the CPU-bound part of its start is
         * over; the initializer runs next. The engine starts the next worker then.
         */
        type: 'started';
      }
    | { /** init finished, initializer (if any) ran. */ type: 'ready'; pid: number }
    | { /** the initializer threw; the child exits after sending this. */ type: 'init-failed'; error: WireError }
    | { /** a batch finished: one value per item. */ type: 'result'; id: number; values: unknown[] }
    | {
        /**
         * A batch finished and every value is a number: 'result' with the values packed
         * (every JS number, -0 and NaN included, survives a Float64Array; an Int32Array
         * carries 32-bit integers in half the bytes): the bytes of an Int32Array when
         * `ints`, else of a Float64Array. Bytes, because the receiving side gets a
         * Uint8Array as a view of the message it read, where a wider typed array landing
         * at an offset that is not a multiple of its element size (almost always) is first
         * copied into new memory (src/process/numbers.ts, numbersOf).
         */
        type: 'numbers';
        id: number;
        values: Uint8Array;
        ints: boolean;
      }
    | {
        /**
         * A batch failed at item `index`: `values` holds results of the items before it.
         * The rest of the batch was not run.
         */
        type: 'error';
        id: number;
        index: number;
        values: unknown[];
        error: WireError;
      }
    | {
        /**
         * The answer to a 'drop' of batch `id`. `taken`: it was removed before it started and
         * will never run. Otherwise it is running (or it was a `steal` the child declined):
         * its own 'result'/'error' reply follows.
         */
        type: 'dropped';
        id: number;
        taken: boolean;
      }
    | { /** the Process target finished or threw (then `error` is set). */ type: 'done'; error?: WireError }
  );
