// parent <-> child: the messages between a parent and a forked process, as typed unions
// (ToChild, FromChild): on Node's IPC channel (advanced serialization), or, for a pool worker
// switched to its byte channel ('switch', 'switched'), as frames of that channel
// (child-frames.ts). Runs on every side. Requests carry a numeric `id`; replies echo it. Every message carries the brand of version.ts.

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
// parent -> child

/** Numbers packed as raw bytes: read by index, as an array would be (rules: src/process/numbers.ts). */
export type PackedNumbers = Int32Array | Float64Array;

/** What the bytes of a frame on the byte channel become: the class of the value sent. */
export type BinaryKind =
  | 'Buffer'
  | 'ArrayBuffer'
  | 'DataView'
  | 'Int8Array'
  | 'Uint8Array'
  | 'Uint8ClampedArray'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'Float32Array'
  | 'Float64Array'
  | 'BigInt64Array'
  | 'BigUint64Array';

/**
 * A value of a message that travels on a pool worker's byte channel (src/process/byte-channel.ts)
 * instead of in the message: a Buffer, typed array, DataView or ArrayBuffer of at least
 * MIN_CHANNEL_BYTES, or a whole list of packed numbers (carried in the message's own frame,
 * child-frames.ts). The message holds null in its place;
 * its bytes follow on the channel as one frame, the frames of a message in the order of its
 * `frames` and of messages in the order they were sent. The receiver runs (or delivers) the
 * message once all its frames have arrived.
 */
export interface FrameSlot {
  /** The item (or result) index; -1: the whole list, packed numbers of kind `k` (Int32Array or Float64Array). */
  i: number;
  /** For a batch of argument lists (`spread`): the argument's index within item `i`. */
  a?: number;
  /** The class the bytes become. */
  k: BinaryKind;
  /** This value is the same object as that of slot `same` (earlier in this list): it has no frame of its own. */
  same?: number;
}

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
        /**
         * The root of the compiled build user code imports (dist/esm), when the child entry
         * is another build's (the CommonJS entry, which starts faster: src/process/spawn.ts).
         * The child loads from there what it shares with user code: handles, the classes
         * they revive into, the twin hook. Absent: the entry's own build.
         */
        libraryRoot?: string;
        initializer?: FnSpec;
        initargs?: unknown[];
        /** Arguments contain handles to revive. */
        handles?: boolean;
        /**
         * This worker was forked with a byte channel on file descriptor 4, which the parent
         * may 'switch' to. Absent: there is none, and every message goes by IPC.
         */
        bytes?: boolean;
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
        /**
         * Values of `items` that follow on the byte channel (null in their place; with a slot
         * `i: -1`, `items` is empty and the whole list is packed numbers, carried in the
         * message frame itself: child-frames.ts, TAG_CALL). Only on a worker's channel. The
         * child runs the batch once they arrived.
         */
        frames?: FrameSlot[];
        /** `items` is one array of rows sent by columns (records.ts): the child rebuilds it first. */
        records?: boolean;
      }
    | {
        /**
         * The last message by IPC: every later one comes on the byte channel, as frames
         * (child-frames.ts). Sent once, with the first batch that gains from the channel
         * (packed numbers, large binary values), to a worker 'init' told of one. Handled on
         * arrival: the child reads the channel from then on, and moves its own messages there
         * too ('switched') unless it already has.
         */
        type: 'switch';
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
// child -> parent

export type FromChild = Brand &
  (
    | {
        /**
         * A worker read 'init': its entry has loaded, the CPU-bound part of its start is
         * over; the initializer runs next. The engine starts the next worker then.
         */
        type: 'started';
      }
    | {
        /**
         * The worker's last message by IPC: every later one comes on the byte channel. Sent
         * once, on 'switch' or when a reply of its own gains from the channel (large binary
         * values, many numbers), whichever comes first: each direction moves on its own.
         */
        type: 'switched';
      }
    | { /** init finished, initializer (if any) ran. */ type: 'ready'; pid: number }
    | { /** the initializer threw; the child exits after sending this. */ type: 'init-failed'; error: WireError }
    | {
        /**
         * A worker could not open the byte channel the parent switched to (never expected:
         * fd 4 is the socketpair the parent made). By IPC, the only way left; the child exits
         * after sending this. The pool cannot use it: what the parent sent after 'switch' is
         * on that channel.
         */
        type: 'start-failed';
        error: WireError;
      }
    | {
        /** A batch finished: one value per item. */
        type: 'result';
        id: number;
        values: unknown[];
        /** Values that follow on the byte channel (null in their place), as in 'call'. */
        frames?: FrameSlot[];
        /** `values` contain handles to revive (a task returned a Queue); else the parent scans nothing. */
        handles?: boolean;
        /** `values` is one array of rows sent by columns (records.ts): the parent rebuilds it first. */
        records?: boolean;
      }
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
        /**
         * Set (to one slot `i: -1`) when the message came as a frame of the byte channel
         * laid out by hand (child-frames.ts, TAG_NUMBERS): the bytes are that frame's, and
         * `values` is empty until the receiver puts them there.
         */
        frames?: FrameSlot[];
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
        /** As in 'result'. */
        handles?: boolean;
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
