// ProcessPoolExecutor: Python's concurrent.futures.ProcessPoolExecutor as a thin face over the
// engine (engine/). Parent side. Results come back as Futures (future.ts, which knows nothing of
// processes); `map` reuses the engine's lazy ordered stream, exactly as Pool.imap does.

import { CancelledError, InvalidStateError, invalidArg } from '../errors.ts';
import { checkOptionNames, optionNames } from '../options.ts';
import { isAsyncIterable, isIterable, nameOf } from '../util.ts';
import { Engine } from './engine/engine.ts';
import type { Job } from './engine/job.ts';
import { countOrOptions, MAP_OPTION_NAMES, type MapOptions } from './engine/options.ts';
import { stream } from './engine/shapes.ts';
import { Future } from './future.ts';

/** Options of `new ProcessPoolExecutor()`. */
export interface ProcessPoolExecutorOptions<I extends unknown[] = any[]> {
  /**
   * Number of worker processes.
   * @default cpuCount()
   */
  maxWorkers?: number;
  /**
   * Runs once in each worker before its first task, with `initargs`. If it throws, pending
   * futures fail with its `RemoteError` and the executor is broken: later `submit` calls
   * throw `BrokenProcessPool` (as in Python).
   * @default undefined
   */
  initializer?: (...args: I) => unknown;
  /** Arguments for `initializer`. @default [] */
  initargs?: I;
  /**
   * Tasks a worker runs before it is replaced by a fresh one.
   * @default undefined (no limit)
   */
  maxTasksPerChild?: number;
}

/**
 * Options of `executor.map()`, passed as a trailing plain object after the iterables:
 * `chunksize` (default adaptive from 1; Python's is a fixed 1), `timeout` (ms for the whole
 * iteration, from the call, as Python), `signal`, `progress`.
 */
export interface ExecutorMapOptions extends MapOptions {}

/** Options of `shutdown()`. */
export interface ShutdownOptions {
  /**
   * Resolve only once all pending work has finished and the workers have exited.
   * @default true
   */
  wait?: boolean;
  /**
   * Cancel the futures that have not started running (running ones finish).
   * @default false
   */
  cancelFutures?: boolean;
}

// The names each options object may have (checkOptionNames: any other is refused, not ignored).
const EXECUTOR_OPTIONS = optionNames<ProcessPoolExecutorOptions>({ maxWorkers: true, initializer: true, initargs: true, maxTasksPerChild: true });
const SHUTDOWN_OPTIONS = optionNames<ShutdownOptions>({ wait: true, cancelFutures: true });

type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;

/** Can `value` feed a map: a sync or an async iterable? */
function isAnyIterable(value: unknown): value is AnyIterable<unknown> {
  return isIterable(value) || isAsyncIterable(value);
}

function isPlainOptions(value: unknown): value is ExecutorMapOptions {
  if (typeof value !== 'object' || value === null || isAnyIterable(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Python's zip over sync or async iterables: argument lists, stopping at the shortest. */
function zipArgs(iterables: AnyIterable<unknown>[]): AnyIterable<unknown[]> {
  if (iterables.every(isIterable)) {
    return {
      *[Symbol.iterator]() {
        const its = iterables.map((it) => (it as Iterable<unknown>)[Symbol.iterator]());
        try {
          for (;;) {
            const args: unknown[] = [];
            for (const it of its) {
              const r = it.next();
              if (r.done) return;
              args.push(r.value);
            }
            yield args;
          }
        } finally {
          // The shortest ran out or the consumer stopped: close them all (generators' finally).
          for (const it of its) it.return?.();
        }
      },
    };
  }
  return {
    async *[Symbol.asyncIterator]() {
      const its = iterables.map((it) => (isAsyncIterable(it) ? it[Symbol.asyncIterator]() : (it as Iterable<unknown>)[Symbol.iterator]()));
      try {
        for (;;) {
          const args: unknown[] = [];
          for (const it of its) {
            const r = await it.next();
            if (r.done) return;
            args.push(r.value);
          }
          yield args;
        }
      } finally {
        for (const it of its) await it.return?.();
      }
    },
  };
}

/**
 * A pool of worker processes that runs submitted calls and hands back Futures.
 *
 * Python: concurrent.futures.ProcessPoolExecutor — `submit` returns a thenable Future,
 * `map` is a lazy async iterator over sync or async iterables with bounded work in flight
 * (Python submits every item up front), timeouts are milliseconds.
 *
 * Crash policy (differs from Python on purpose): when a worker dies while running a task
 * (process.exit, a signal, out of memory), only the future of the task it was running fails,
 * with `WorkerLostError` (`exitCode`, `signal`, `pid`); the calls queued behind it run on a
 * fresh worker and the executor keeps serving. Python instead marks the whole executor
 * `BrokenProcessPool` and fails every pending future, because its design cannot tell which
 * call killed the worker. This engine knows exactly which task each worker was running (a
 * worker runs its tasks one at a time, in order), so failing innocent work and forcing the
 * program to rebuild the executor would only lose work; one policy also serves Pool and
 * executor alike. `BrokenProcessPool` is kept for what really breaks the executor: an
 * `initializer` that fails, or workers that cannot start.
 *
 * `[Symbol.asyncDispose]` is `shutdown()` (wait for pending work), as leaving Python's
 * `with ProcessPoolExecutor() as ex:` block does.
 *
 * Constructor throws TypeError/RangeError (`MP_INVALID_ARG`), SerializationError (initargs),
 * InvalidStateError (inside a task module import).
 *
 * @example
 * await using executor = new ProcessPoolExecutor({ maxWorkers: 4 });
 * const futures = urls.map((u) => executor.submit(fetchLength, u));
 * for await (const f of asCompleted(futures)) console.log(await f.result());
 */
export class ProcessPoolExecutor {
  readonly #engine: Engine;
  readonly #pending = new Set<Future<any>>();
  #shutdown = false;

  /**
   * `new ProcessPoolExecutor()`, `new ProcessPoolExecutor({ maxWorkers: 4, initializer })`,
   * or Python's positional max_workers: `new ProcessPoolExecutor(4)`, with the other options
   * apart: `new ProcessPoolExecutor(4, { initializer })`. Anything else, and an option it
   * does not have, is a TypeError (`MP_INVALID_ARG`).
   */
  constructor(options?: ProcessPoolExecutorOptions);
  constructor(maxWorkers: number | undefined, options?: Omit<ProcessPoolExecutorOptions, 'maxWorkers'>);
  constructor(...args: unknown[]) {
    const options = countOrOptions<ProcessPoolExecutorOptions>(args, 'ProcessPoolExecutor', 'maxWorkers', EXECUTOR_OPTIONS);
    const { maxWorkers, ...others } = options;
    this.#engine = new Engine({ ...others, processes: maxWorkers, label: 'ProcessPoolExecutor' });
  }

  /**
   * Schedule `fn(...args)` and return its Future.
   *
   * Python: Executor.submit(fn, *args). Throws InvalidStateError after `shutdown()`,
   * BrokenProcessPool when the initializer failed, TypeError for a bad `fn`; the Future
   * fails with RemoteError (the task threw), WorkerLostError (its worker died),
   * SerializationError (an argument cannot be sent; names it), or CancelledError.
   *
   * @example
   * const f = executor.submit((a: number, b: number) => a + b, 2, 3);
   * console.log(await f); // 5
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    const what = `executor.submit(${nameOf(fn)})`;
    if (this.#shutdown) throw new InvalidStateError(`${what}: cannot schedule new futures after shutdown()`);
    let job: Job | null = null;
    const future = new Future<Awaited<R>>({
      // Only a pending future can be cancelled: its call is queued, or waits in a worker
      // behind another task and is taken back. (A worker may have started it in the moment
      // before the parent heard that the task in front had ended: then the worker is killed
      // if it is still running it, and a result that came anyway is dropped.)
      onCancel: () => job?.cancel(new CancelledError(`${what} was cancelled`)),
    });
    job = this.#engine.job(
      fn,
      true,
      {
        result: (_batch, values) => future.setResult(values[0] as Awaited<R>),
        failed: (_batch, _values, _index, error) => future.setException(error),
        aborted: (error) => {
          if (!future.done()) future.setException(error);
        },
        // A task requeued after its worker was killed for someone else's cancel starts twice.
        started: () => {
          if (!future.running()) future.setRunningOrNotifyCancel();
        },
      },
      undefined,
      what,
      true,
    );
    this.#pending.add(future);
    future.addDoneCallback(() => this.#pending.delete(future));
    job.add([args], 0);
    job.end();
    return future;
  }

  /**
   * Lazily call `fn` with one item of each iterable (zipped, stopping at the shortest, as
   * Python's zip) and yield the results in order, with a bounded number of calls in
   * flight. A trailing plain object is the options. Leaving the loop early cancels the
   * outstanding calls.
   *
   * Python: Executor.map(fn, *iterables, timeout, chunksize) — lazy (Python submits every
   * item at once), async iterables accepted. Throws (from the iterator) RemoteError,
   * WorkerLostError, SerializationError, CancelledError, TimeoutError, InvalidStateError
   * (after shutdown), BrokenProcessPool, TypeError.
   *
   * @example
   * for await (const sum of executor.map((a: number, b: number) => a + b, [1, 2], [10, 20], { chunksize: 64 })) console.log(sum);
   */
  map<T1, R>(fn: (a: T1) => R, it1: AnyIterable<T1>, opts?: ExecutorMapOptions): AsyncGenerator<Awaited<R>, void, undefined>;
  map<T1, T2, R>(fn: (a: T1, b: T2) => R, it1: AnyIterable<T1>, it2: AnyIterable<T2>, opts?: ExecutorMapOptions): AsyncGenerator<Awaited<R>, void, undefined>;
  map<T1, T2, T3, R>(fn: (a: T1, b: T2, c: T3) => R, it1: AnyIterable<T1>, it2: AnyIterable<T2>, it3: AnyIterable<T3>, opts?: ExecutorMapOptions): AsyncGenerator<Awaited<R>, void, undefined>;
  map<T1, T2, T3, T4, R>(
    fn: (a: T1, b: T2, c: T3, d: T4) => R,
    it1: AnyIterable<T1>,
    it2: AnyIterable<T2>,
    it3: AnyIterable<T3>,
    it4: AnyIterable<T4>,
    opts?: ExecutorMapOptions,
  ): AsyncGenerator<Awaited<R>, void, undefined>;
  map<R>(
    fn: (...args: any[]) => R,
    it1: AnyIterable<unknown>,
    it2: AnyIterable<unknown>,
    it3: AnyIterable<unknown>,
    it4: AnyIterable<unknown>,
    it5: AnyIterable<unknown>,
    ...more: (AnyIterable<unknown> | ExecutorMapOptions)[]
  ): AsyncGenerator<Awaited<R>, void, undefined>;
  map(fn: (...args: any[]) => unknown, ...rest: unknown[]): AsyncGenerator<unknown, void, undefined> {
    const what = `executor.map(${nameOf(fn)})`;
    let opts: ExecutorMapOptions | undefined;
    if (rest.length > 0 && isPlainOptions(rest[rest.length - 1])) opts = rest.pop() as ExecutorMapOptions;
    const bad = rest.findIndex((it) => !isAnyIterable(it));
    let source: AnyIterable<unknown[]> | null = null;
    if (this.#shutdown) {
      source = null;
    } else if (rest.length > 0 && bad === -1) {
      source = zipArgs(rest as AnyIterable<unknown>[]);
    }
    if (this.#shutdown || source === null) {
      const error = this.#shutdown
        ? new InvalidStateError(`${what}: cannot schedule new futures after shutdown()`)
        : invalidArg(
            rest.length === 0 ? `${what}: expected at least one iterable` : `${what}: argument ${bad + 1} is not iterable (options go last, as a plain object)`,
          );
      return (async function* fail(): AsyncGenerator<unknown, void, undefined> {
        throw error;
      })();
    }
    return stream(this.#engine, fn, source, opts, { spread: true, ordered: true, what, names: MAP_OPTION_NAMES });
  }

  /**
   * Accept no more work; optionally cancel the futures not yet running; with `wait` (the
   * default) resolve once pending work has finished and the workers have exited.
   * Idempotent. Python: Executor.shutdown(wait=True, cancel_futures=False).
   *
   * @example
   * await executor.shutdown({ cancelFutures: true });
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) throw invalidArg('shutdown() expects an options object { wait?, cancelFutures? }');
    checkOptionNames(options, SHUTDOWN_OPTIONS, 'executor.shutdown(options)');
    const { wait = true, cancelFutures = false } = options;
    this.#shutdown = true;
    if (cancelFutures) for (const f of [...this.#pending]) f.cancel();
    this.#engine.close();
    if (wait) await this.#engine.join('executor.shutdown()');
  }

  /** `shutdown()` (waiting), as leaving Python's `with ProcessPoolExecutor():` block does. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
