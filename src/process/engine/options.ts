// The options of the engine's calls and of the engine itself, and their resolution. Parent
// side. The rules every count, timeout and signal follows (and their MP_INVALID_ARG errors)
// live in src/options.ts; this module names the options the faces accept (Pool and
// ProcessPoolExecutor re-export CallOptions and MapOptions) and turns a face's constructor
// options into what the engine runs with.

import { invalidArg } from '../../errors.ts';
import { checkMaxTasksPerChild, checkOptionNames, checkProcesses, optionNames } from '../../options.ts';
import { describe } from '../../util.ts';
import { assertSendable, type FnSpec } from '../../protocol/index.ts';
import { encodeHandles } from '../../remote/handle.ts';
import { cpuCount } from '../process.ts';
import type { ProgressOption } from '../progress.ts';
import { toFnSpec } from '../task.ts';

/** Options of a single call (`apply`, `applyAsync`). */
export interface CallOptions {
  /**
   * Cancels the call: queued work is dropped, running work is stopped (its worker is killed
   * and replaced); the call rejects with `CancelledError` whose `cause` is `signal.reason`.
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * Time limit of the whole call in milliseconds, from the moment of the call. When it
   * passes, the work is stopped as for `signal` and the call rejects with `TimeoutError`.
   * @default undefined (no limit)
   */
  timeout?: number;
}

/** Options of calls over many items (`map`, `starmap`, `imap`, `imapUnordered`, executor `map`). */
export interface MapOptions extends CallOptions {
  /**
   * Items per task sent to a worker. `map`/`starmap` default to about four chunks per
   * worker (Python's rule). `imap`/`imapUnordered`/executor `map` default to adaptive
   * chunks: one item at first, doubling (up to 1024) while chunks finish in under 2 ms, so
   * tiny tasks are not dominated by IPC while slow ones go one at a time. At most 4096
   * items travel in one message (131072 for a map of numbers returning numbers); a larger
   * chunksize is split into several tasks.
   * @default map: ceil(n / (processes * 4)); imap: adaptive from 1
   */
  chunksize?: number;
  /**
   * Draw a progress bar on stderr counting finished items: `true`, or bar options such as
   * `{ desc: 'files' }` (see `ProgressBar`).
   * @default false
   */
  progress?: ProgressOption;
}

/** The names CallOptions and MapOptions have (checkOptionNames refuses any other). */
export const CALL_OPTION_NAMES = optionNames<CallOptions>({ signal: true, timeout: true });
export const MAP_OPTION_NAMES = optionNames<MapOptions>({ signal: true, timeout: true, chunksize: true, progress: true });

/**
 * The options of a pool face's constructor arguments: nothing, a count, an options object,
 * or the count and the other options apart (`new Pool(4, { initializer })`, as Python's
 * positional first argument). `count` names the count in the options (`processes`,
 * `maxWorkers`), `names` every option. Any other form, and an option not in `names`, is a
 * TypeError (MP_INVALID_ARG) that says the forms to use; none is ignored.
 */
export function countOrOptions<O extends object>(args: readonly unknown[], label: string, count: keyof O & string, names: readonly string[]): O {
  const others = names.filter((name) => name !== count);
  const apart = `new ${label}(${count}?, { ${others.map((n) => `${n}?`).join(', ')} })`;
  const usage = `${apart} or new ${label}({ ${names.map((n) => `${n}?`).join(', ')} })`;
  const [first, more] = args;
  if (typeof more === 'function') throw invalidArg(`new ${label}(): Python's positional initializer and initargs go in the options object: ${apart}`);
  if (args.length > 2) throw invalidArg(`new ${label}() takes at most two arguments, ${usage}; got ${args.length}`);
  if (first === undefined || first === null || typeof first === 'number') {
    if (more === undefined) return { [count]: first ?? undefined } as O;
    if (typeof more !== 'object' || more === null) throw invalidArg(`new ${label}(): its second argument is the options object, ${usage}; got ${describe(more)}`);
    if (count in more) throw invalidArg(`new ${label}(${count}, options): ${count} is the first argument; options must not name it again`);
    checkOptionNames(more, others, `new ${label}(${count}, options)`);
    return { ...more, [count]: first ?? undefined } as O;
  }
  if (typeof first !== 'object') throw invalidArg(`new ${label}() expects ${usage}, got ${describe(first)}`);
  if (more !== undefined) throw invalidArg(`new ${label}(options) takes one options object, ${usage}; got a second argument, ${describe(more)}`);
  checkOptionNames(first, names, `new ${label}(options)`);
  return first as O;
}

/** Options of `new Engine()`: the union of what Pool and ProcessPoolExecutor accept. */
export interface EngineOptions {
  processes?: number;
  initializer?: (...args: any[]) => unknown;
  initargs?: unknown[];
  maxTasksPerChild?: number | null;
  /** Name of the face for error messages: 'Pool', 'ProcessPoolExecutor'. */
  label: string;
}

/** EngineOptions checked and prepared: what the engine runs with. */
export interface EngineSetup {
  processes: number;
  /** Batches a worker runs before it is replaced; 0: no limit (the option itself refuses 0). */
  maxTasks: number;
  /** The initializer as it crosses, or undefined. */
  initializer: FnSpec | undefined;
  /** The initializer's arguments with handles encoded, checked once to cross. */
  initargs: unknown[] | undefined;
  /** The initargs contain handles the child must revive. */
  initHandles: boolean;
}

/**
 * Check a face's options and prepare them for the workers. Throws TypeError/RangeError
 * (MP_INVALID_ARG) for a bad count, initializer or initargs, and SerializationError for an
 * initarg that cannot cross: checked once here (not per worker), so a bad initarg is the
 * constructor's error, not a worker that never starts.
 */
export function setupEngine(options: EngineOptions): EngineSetup {
  const { label } = options;
  const processes = checkProcesses(options.processes, label) ?? cpuCount();
  const maxTasks = checkMaxTasksPerChild(options.maxTasksPerChild, label) ?? 0;
  if (options.initargs !== undefined && !Array.isArray(options.initargs)) throw invalidArg(`${label}: initargs must be an array`);
  const initializer = options.initializer === undefined || options.initializer === null ? undefined : toFnSpec(options.initializer, `${label} initializer`);
  if (initializer === undefined) return { processes, maxTasks, initializer, initargs: undefined, initHandles: false };
  const encoded = encodeHandles(options.initargs ?? []);
  assertSendable(`${label} initargs`, encoded.value, 'the workers', 'initargs');
  return { processes, maxTasks, initializer, initargs: encoded.value, initHandles: encoded.handles };
}
