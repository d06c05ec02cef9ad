// Pool and AsyncResult: Python's multiprocessing.Pool as a thin face over the engine (engine/).
// Parent side. Every method translates its arguments into one of the engine's three shapes
// of work (call, mapAll, stream); nothing here knows about workers or messages.

import { InvalidStateError, TimeoutError } from '../errors.ts';
import { checkTimeout, optionNames, setLongTimeout } from '../options.ts';
import { nameOf } from '../util.ts';
import { Engine } from './engine/engine.ts';
import { CALL_OPTION_NAMES, countOrOptions, MAP_OPTION_NAMES, type CallOptions, type MapOptions } from './engine/options.ts';
import { call, mapAll, stream } from './engine/shapes.ts';

export type { CallOptions, MapOptions } from './engine/options.ts';

/** Options of `new Pool()`. */
export interface PoolOptions<I extends unknown[] = any[]> {
  /**
   * Number of worker processes.
   * @default cpuCount()
   */
  processes?: number;
  /**
   * Runs once in each worker, before its first task, with `initargs`: the way to give every
   * worker a big read-only table once (keep it in a module-level variable or `globalThis`)
   * instead of sending it with every task. Self-contained or a `tasks(url)` reference.
   * If it throws, pending work rejects with its `RemoteError` and the pool is broken
   * (later calls reject with `BrokenProcessPool`); Python's Pool would restart workers forever.
   * @default undefined
   */
  initializer?: (...args: I) => unknown;
  /**
   * Arguments for `initializer`; queues, locks and manager proxies arrive working.
   * @default []
   */
  initargs?: I;
  /**
   * Tasks a worker runs before it is replaced by a fresh one (to release leaked memory).
   * A task is one apply, or one chunk of a map (at most 4096 items). Without a limit
   * workers live as long as the pool.
   * @default undefined (no limit)
   */
  maxTasksPerChild?: number;
}

/** Options of `applyAsync`. */
export interface ApplyAsyncOptions<R> extends CallOptions {
  /**
   * Called with the result when the call succeeds. An exception it throws is not caught:
   * it surfaces as an uncaught exception, as from a throwing Node callback.
   * @default undefined
   */
  callback?: (result: R) => void;
  /**
   * Called with the error when the call fails.
   * @default undefined
   */
  errorCallback?: (error: Error) => void;
}

/** Options of `mapAsync` and `starmapAsync`. */
export interface MapAsyncOptions<R> extends MapOptions {
  /** Called with the list of results when every item succeeded. @default undefined */
  callback?: (results: R[]) => void;
  /** Called with the first error. @default undefined */
  errorCallback?: (error: Error) => void;
}

// The names each options object may have (checkOptionNames: any other is refused, not ignored).
const POOL_OPTIONS = optionNames<PoolOptions>({ processes: true, initializer: true, initargs: true, maxTasksPerChild: true });
const APPLY_ASYNC_OPTIONS = optionNames<ApplyAsyncOptions<unknown>>({ signal: true, timeout: true, callback: true, errorCallback: true });
const MAP_ASYNC_OPTIONS = optionNames<MapAsyncOptions<unknown>>({ signal: true, timeout: true, chunksize: true, progress: true, callback: true, errorCallback: true });

/**
 * Run a user callback; what it throws is rethrown outside the promise chain, as an uncaught
 * exception (as from any Node callback), rather than dropped or turned into a rejection
 * that nobody holds.
 */
function invoke<V>(cb: (value: V) => void, value: V): void {
  try {
    cb(value);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/**
 * The pending result of `applyAsync`, `mapAsync` or `starmapAsync`. Thenable: `await r`
 * gives the value. A failure nobody asks for is kept, not reported as an unhandled
 * rejection (as Python's AsyncResult keeps it until `get()`).
 *
 * Python: multiprocessing.pool.AsyncResult — `get`/`wait` return Promises; `ready()` and
 * `successful()` are synchronous.
 *
 * @example
 * const r = pool.applyAsync(square, [7]);
 * await r.wait();
 * if (r.successful()) console.log(await r.get()); // 49
 */
export class AsyncResult<T> implements PromiseLike<T> {
  readonly #promise: Promise<T>;
  #outcome: Outcome<T> | null = null;

  /** Made by the Pool; wraps the promise of the call. */
  constructor(promise: Promise<T>, options: { callback?: (value: T) => void; errorCallback?: (error: Error) => void } = {}) {
    const { callback, errorCallback } = options;
    this.#promise = promise;
    promise.then(
      (value) => {
        this.#outcome = { ok: true, value };
        if (callback) invoke(callback, value);
      },
      (error: Error) => {
        this.#outcome = { ok: false, error };
        if (errorCallback) invoke(errorCallback, error);
      },
    );
  }

  then<A = T, B = never>(onFulfilled?: ((value: T) => A | PromiseLike<A>) | null, onRejected?: ((reason: any) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.#promise.then(onFulfilled, onRejected);
  }

  /**
   * The result, once ready. With `timeout` (ms), rejects with `TimeoutError` if it is not
   * ready by then; the work itself goes on (pass `{ timeout }` to the call to stop it).
   * Python: AsyncResult.get(timeout). Rejects with the call's own error (RemoteError,
   * WorkerLostError, CancelledError…), or TimeoutError.
   */
  get(timeout?: number): Promise<T> {
    let limit: number | undefined;
    try {
      limit = checkTimeout(timeout, 'AsyncResult.get(timeout)');
    } catch (err) {
      return Promise.reject(err);
    }
    if (limit === undefined) return this.#promise;
    return this.wait(limit).then(() => {
      if (!this.#outcome) throw new TimeoutError(`AsyncResult.get(): the result was not ready within ${limit} ms`, { timeout: limit });
      return this.#promise;
    });
  }

  /**
   * Resolve when the result is ready (success or failure), or when `timeout` ms pass,
   * whichever comes first; never rejects for the call's failure.
   * Python: AsyncResult.wait(timeout).
   */
  wait(timeout?: number): Promise<void> {
    let limit: number | undefined;
    try {
      limit = checkTimeout(timeout, 'AsyncResult.wait(timeout)');
    } catch (err) {
      return Promise.reject(err);
    }
    const settled = this.#promise.then(
      () => undefined,
      () => undefined,
    );
    if (limit === undefined) return settled;
    if (this.#outcome) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setLongTimeout(resolve, limit);
      void settled.then(() => {
        timer.clear();
        resolve();
      });
    });
  }

  /** Has the call finished (either way)? Python: AsyncResult.ready(). */
  ready(): boolean {
    return this.#outcome !== null;
  }

  /**
   * Did the call succeed? Throws InvalidStateError if it is not ready yet (Python raises
   * ValueError). Python: AsyncResult.successful().
   */
  successful(): boolean {
    if (!this.#outcome) throw new InvalidStateError('AsyncResult.successful(): the result is not ready yet; await wait() first');
    return this.#outcome.ok;
  }
}

type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;

/**
 * A pool of worker processes running functions over data in parallel.
 *
 * Python: multiprocessing.Pool — every method is async (Promises, async iterators); `imap`
 * and `imapUnordered` are lazy over their input (Python lists it first); a worker that dies
 * mid-task rejects that task's call with `WorkerLostError` and is replaced (Python hangs);
 * calls take `{ signal, timeout }` that really stop running work; a failing initializer
 * breaks the pool instead of restarting workers forever.
 * `[Symbol.asyncDispose]` is `terminate()`, as leaving Python's `with Pool() as pool:` block
 * terminates; use `close()` + `join()` to let queued work finish instead.
 * Idle workers do not keep Node alive, so a forgotten pool does not hang the program's exit.
 *
 * Constructor throws TypeError/RangeError (`MP_INVALID_ARG`) for bad options,
 * SerializationError when `initargs` cannot be sent, InvalidStateError when called while a
 * worker imports a task module (an unguarded module: see `isMainProcess()`).
 *
 * @example
 * await using pool = new Pool(4);
 * const squares = await pool.map((x: number) => x * x, [1, 2, 3]); // [1, 4, 9]
 */
export class Pool {
  readonly #engine: Engine;

  /**
   * `new Pool()`, `new Pool(4)`, `new Pool({ processes: 4, initializer })`, or the number
   * and the other options apart: `new Pool(4, { initializer, initargs })`. Python's
   * positional `Pool(4, init, (t,))` is refused with the form to use (TypeError,
   * `MP_INVALID_ARG`), as are any argument beyond these and an option Pool does not have
   * (`initialiser`, `maxtasksperchild`: the message names the one meant): none is ignored.
   */
  constructor(options?: PoolOptions);
  constructor(processes: number | undefined, options?: Omit<PoolOptions, 'processes'>);
  constructor(...args: unknown[]) {
    const options = countOrOptions<PoolOptions>(args, 'Pool', 'processes', POOL_OPTIONS);
    this.#engine = new Engine({ ...options, label: 'Pool' });
  }

  /** Number of worker processes. Python: the `processes` argument. */
  get processes(): number {
    return this.#engine.processes;
  }

  /**
   * Run `fn(...args)` in a worker and resolve with its result.
   *
   * Python: Pool.apply — async here, and takes `{ signal, timeout }`.
   * Rejects with RemoteError (the task threw), WorkerLostError, SerializationError (an
   * argument cannot be sent; names it), CancelledError (signal), TimeoutError,
   * InvalidStateError (pool closed), BrokenProcessPool (initializer failed), TypeError.
   *
   * @example
   * const n = await pool.apply((a: number, b: number) => a + b, [2, 3]); // 5
   */
  apply<R>(fn: () => R, args?: [], opts?: CallOptions): Promise<Awaited<R>>;
  apply<A extends unknown[], R>(fn: (...args: A) => R, args: A, opts?: CallOptions): Promise<Awaited<R>>;
  apply(fn: (...args: any[]) => unknown, args: unknown[] = [], opts?: CallOptions): Promise<unknown> {
    const what = `pool.apply(${nameOf(fn)})`;
    return call(this.#engine, fn, args, opts, what, CALL_OPTION_NAMES, true);
  }

  /**
   * `apply` returning an `AsyncResult`, with optional `callback`/`errorCallback`.
   * Python: Pool.apply_async. Errors: as `apply`, delivered through the AsyncResult.
   *
   * @example
   * const r = pool.applyAsync(square, [3], { callback: (v) => console.log(v) });
   * await r.get(); // 9
   */
  applyAsync<R>(fn: () => R, args?: [], opts?: ApplyAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>>;
  applyAsync<A extends unknown[], R>(fn: (...args: A) => R, args: A, opts?: ApplyAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>>;
  applyAsync(fn: (...args: any[]) => unknown, args: unknown[] = [], opts?: ApplyAsyncOptions<unknown>): AsyncResult<unknown> {
    const what = `pool.applyAsync(${nameOf(fn)})`;
    return new AsyncResult(call(this.#engine, fn, args, opts, what, APPLY_ASYNC_OPTIONS), opts);
  }

  /**
   * Run `fn` over every item, in chunks spread over the workers, and resolve with the
   * results in input order.
   *
   * Python: Pool.map — same default chunksize (about four chunks per worker) but at most
   * 4096 items per message (131072 for numbers in and out; a bigger chunk is split);
   * accepts async iterables; `progress`
   * draws a bar. Like Python's, it lists its input first: an input that is not an array
   * and has not ended after 2^22 items (an endless generator) is refused; use `imap`.
   * Rejects with the first error (RemoteError, WorkerLostError, SerializationError naming
   * the item, also for a class instance, which would arrive as a plain object),
   * CancelledError, TimeoutError, InvalidStateError, BrokenProcessPool, TypeError, RangeError
   * (an input too long to list).
   *
   * @example
   * const squares = await pool.map(square, [1, 2, 3], { progress: { desc: 'squares' } });
   */
  map<T, R>(fn: (item: T) => R, iterable: AnyIterable<T>, opts?: MapOptions): Promise<Awaited<R>[]> {
    const what = `pool.map(${nameOf(fn)})`;
    return mapAll(this.#engine, fn, iterable, false, opts, what, MAP_OPTION_NAMES);
  }

  /**
   * `map` returning an `AsyncResult`. Python: Pool.map_async.
   *
   * @example
   * const r = pool.mapAsync(square, [1, 2, 3]);
   * console.log(await r.get(10_000)); // [1, 4, 9]
   */
  mapAsync<T, R>(fn: (item: T) => R, iterable: AnyIterable<T>, opts?: MapAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>[]> {
    const what = `pool.mapAsync(${nameOf(fn)})`;
    return new AsyncResult(mapAll<Awaited<R>>(this.#engine, fn, iterable, false, opts, what, MAP_ASYNC_OPTIONS), opts);
  }

  /**
   * Like `map`, but each item is an argument list: `fn(...item)`.
   * Python: Pool.starmap. Errors: as `map`.
   *
   * @example
   * await pool.starmap((a: number, b: number) => a * b, [[1, 2], [3, 4]]); // [2, 12]
   */
  starmap<A extends unknown[], R>(fn: (...args: A) => R, iterable: AnyIterable<A>, opts?: MapOptions): Promise<Awaited<R>[]> {
    const what = `pool.starmap(${nameOf(fn)})`;
    return mapAll(this.#engine, fn, iterable, true, opts, what, MAP_OPTION_NAMES);
  }

  /**
   * `starmap` returning an `AsyncResult`. Python: Pool.starmap_async.
   *
   * @example
   * const r = pool.starmapAsync(add, [[1, 2]]);
   * await r; // [3]
   */
  starmapAsync<A extends unknown[], R>(fn: (...args: A) => R, iterable: AnyIterable<A>, opts?: MapAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>[]> {
    const what = `pool.starmapAsync(${nameOf(fn)})`;
    return new AsyncResult(mapAll<Awaited<R>>(this.#engine, fn, iterable, true, opts, what, MAP_ASYNC_OPTIONS), opts);
  }

  /**
   * Lazily run `fn` over a sync or async iterable (even an infinite generator) and yield
   * the results in input order, with a bounded number of items in flight. An error is
   * thrown at the position of the item that failed. Leaving the loop early cancels the
   * outstanding work (running tasks are stopped) and closes the input iterator.
   * `timeout` limits the whole iteration, from this call.
   *
   * Python: Pool.imap — lazy over its input (Python lists it first); without a chunksize,
   * chunks adapt (1 item, growing while tasks are tiny) instead of Python's fixed 1.
   * Throws (from the iterator) RemoteError, WorkerLostError, SerializationError,
   * CancelledError, TimeoutError, InvalidStateError, BrokenProcessPool, TypeError.
   *
   * @example
   * for await (const y of pool.imap(square, naturals())) if (y > 100) break;
   */
  imap<T, R>(fn: (item: T) => R, iterable: AnyIterable<T>, opts?: MapOptions): AsyncGenerator<Awaited<R>, void, undefined> {
    const what = `pool.imap(${nameOf(fn)})`;
    return stream(this.#engine, fn, iterable, opts, { spread: false, ordered: true, what, names: MAP_OPTION_NAMES });
  }

  /**
   * `imap` yielding results in completion order.
   * Python: Pool.imap_unordered — lazy over its input. Errors: as `imap`.
   *
   * @example
   * for await (const r of pool.imapUnordered(fetchSize, urls, { progress: true })) total += r;
   */
  imapUnordered<T, R>(fn: (item: T) => R, iterable: AnyIterable<T>, opts?: MapOptions): AsyncGenerator<Awaited<R>, void, undefined> {
    const what = `pool.imapUnordered(${nameOf(fn)})`;
    return stream(this.#engine, fn, iterable, opts, { spread: false, ordered: false, what, names: MAP_OPTION_NAMES });
  }

  /**
   * Accept no more work; the workers exit once queued and running work is done (iterators
   * from `imap` made before `close()` still run). Idempotent. Python: Pool.close().
   */
  close(): void {
    this.#engine.close();
  }

  /**
   * Wait for the workers to exit, after `close()` or `terminate()`.
   * Python: Pool.join(). Rejects with InvalidStateError when the pool is still running.
   *
   * @example
   * pool.close();
   * await pool.join();
   */
  join(): Promise<void> {
    return this.#engine.join('pool.join()');
  }

  /**
   * Stop every worker now (SIGTERM, SIGKILL after a second) and reject all pending work
   * with CancelledError; resolves once the workers have exited. Idempotent.
   * Python: Pool.terminate() (which also joins here).
   */
  terminate(): Promise<void> {
    return this.#engine.terminate();
  }

  /**
   * `terminate()`: what leaving Python's `with Pool() as pool:` does. Lets
   * `await using pool = new Pool()` clean up on every path out of a block.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate();
  }
}
