// Future, asCompleted and wait: Python's concurrent.futures result objects. Runs anywhere;
// knows nothing of processes (an executor drives a Future through its set* methods).

import { CancelledError, invalidArg, InvalidStateError, TimeoutError } from '../errors.ts';
import { checkOptionNames, checkTimeout, deadlineAfter, optionNames, setLongTimeout, timeLeft, type LongTimer } from '../options.ts';

type FutureState = 'pending' | 'running' | 'cancelled' | 'finished';

/** Options of `new Future()`. */
export interface FutureOptions {
  /**
   * Called once when `cancel()` succeeds (the future was still pending), so whoever queued
   * the work can drop it.
   * @default undefined
   */
  onCancel?: () => void;
}

/**
 * The eventual result of work submitted to an executor. Thenable: `await future` gives the
 * result or throws its error (CancelledError if cancelled).
 *
 * Python: concurrent.futures.Future — `result()` and `exception()` return Promises (their
 * `timeout` is milliseconds); `cancel()` succeeds only while the work is pending, as in
 * Python. A failure nobody asks for is kept, not reported as an unhandled rejection.
 *
 * @example
 * const f = executor.submit(square, 4);
 * f.addDoneCallback((done) => console.log('finished', done.done()));
 * console.log(await f.result(5_000)); // 16
 */
export class Future<T = unknown> implements PromiseLike<T> {
  #state: FutureState = 'pending';
  // Typed loosely so that a Future<never> (a task that only throws) is still a Future<any>:
  // private fields take part in TypeScript's structural comparison.
  #value: unknown;
  #error: Error | undefined;
  #callbacks: ((future: Future<any>) => void)[] = [];
  #waiters: (() => void)[] = [];
  readonly #onCancel: (() => void) | undefined;

  /** Made by an executor (or by hand, with the set* methods, as in Python's tests). */
  constructor(options: FutureOptions = {}) {
    this.#onCancel = options.onCancel;
  }

  /**
   * Cancel the work if it has not started. Returns true if the future is (now) cancelled,
   * false if it is running or finished. Python: Future.cancel().
   */
  cancel(): boolean {
    if (this.#state === 'cancelled') return true;
    if (this.#state !== 'pending') return false;
    this.#state = 'cancelled';
    this.#error = new CancelledError('the future was cancelled before it ran');
    this.#onCancel?.();
    this.#settle();
    return true;
  }

  /** Python: Future.cancelled(). */
  cancelled(): boolean {
    return this.#state === 'cancelled';
  }

  /** True once a worker has started the work (not merely queued it behind another task) and until it finishes. Python: Future.running(). */
  running(): boolean {
    return this.#state === 'running';
  }

  /** True once finished or cancelled. Python: Future.done(). */
  done(): boolean {
    return this.#state === 'cancelled' || this.#state === 'finished';
  }

  /**
   * The result, waiting for it if needed. Rejects with the work's error, CancelledError if
   * cancelled, TimeoutError if not done within `timeout` ms (the work goes on).
   * Python: Future.result(timeout).
   */
  async result(timeout?: number): Promise<T> {
    await this.#waitDone(timeout, 'result');
    if (this.#error !== undefined) throw this.#error;
    return this.#value as T;
  }

  /**
   * The error the work failed with, or undefined if it succeeded. Rejects with
   * CancelledError if cancelled, TimeoutError if not done within `timeout` ms.
   * Python: Future.exception(timeout) (None is undefined).
   */
  async exception(timeout?: number): Promise<Error | undefined> {
    await this.#waitDone(timeout, 'exception');
    if (this.#state === 'cancelled') throw this.#error;
    return this.#error;
  }

  /**
   * Call `cb(future)` when the future is done (at once if it already is). An exception the
   * callback throws is rethrown asynchronously (an uncaught exception, as from any Node
   * callback) and does not stop the other callbacks. Python: Future.add_done_callback(fn).
   */
  addDoneCallback(cb: (future: Future<T>) => void): void {
    if (typeof cb !== 'function') throw invalidArg('addDoneCallback(cb) expects a function');
    if (this.done()) this.#invoke(cb);
    else this.#callbacks.push(cb);
  }

  then<A = T, B = never>(onFulfilled?: ((value: T) => A | PromiseLike<A>) | null, onRejected?: ((reason: any) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.result().then(onFulfilled, onRejected);
  }

  /**
   * Mark the work as started; returns false if the future was cancelled meanwhile (then
   * the work must not run). For executors. Python: Future.set_running_or_notify_cancel().
   * Throws InvalidStateError when the future is running or done already.
   */
  setRunningOrNotifyCancel(): boolean {
    if (this.#state === 'cancelled') return false;
    if (this.#state !== 'pending') throw new InvalidStateError(`Future.setRunningOrNotifyCancel(): the future is already ${this.#state}`);
    this.#state = 'running';
    return true;
  }

  /** Finish with a value. For executors. Python: Future.set_result(). Throws InvalidStateError when already done. */
  setResult(value: T): void {
    this.#finishWith(value, undefined);
  }

  /** Finish with an error. For executors. Python: Future.set_exception(). Throws InvalidStateError when already done. */
  setException(error: Error): void {
    this.#finishWith(undefined, error);
  }

  #finishWith(value: T | undefined, error: Error | undefined): void {
    if (this.done()) throw new InvalidStateError(`Future: cannot set the outcome of a future that is already ${this.#state}`);
    this.#state = 'finished';
    this.#value = value;
    this.#error = error;
    this.#settle();
  }

  #settle(): void {
    for (const wake of this.#waiters.splice(0)) wake();
    for (const cb of this.#callbacks.splice(0)) this.#invoke(cb);
  }

  #invoke(cb: (future: Future<any>) => void): void {
    try {
      cb(this);
    } catch (err) {
      // Nobody is left to catch it; rethrowing later reports it without breaking the others.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  #waitDone(timeout: unknown, what: string): Promise<void> {
    let limit: number | undefined;
    try {
      limit = checkTimeout(timeout, `Future.${what}(timeout)`);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: LongTimer | undefined;
      const wake = () => {
        timer?.clear();
        resolve();
      };
      this.#waiters.push(wake);
      if (limit !== undefined) {
        timer = setLongTimeout(() => {
          const i = this.#waiters.indexOf(wake);
          if (i !== -1) this.#waiters.splice(i, 1);
          reject(new TimeoutError(`Future.${what}(): not done within ${limit} ms`, { timeout: limit }));
        }, limit);
      }
    });
  }

  /** Shows the state in `Object.prototype.toString` and inspection: `[object Future running]`. */
  get [Symbol.toStringTag](): string {
    return `Future ${this.#state}`;
  }

  /** True when `future` finished with an error (cancelled does not count), as `wait(FIRST_EXCEPTION)` asks. */
  static failed(future: Future<unknown>): boolean {
    return future.#state === 'finished' && future.#error !== undefined;
  }
}

/** `wait()` returns when any future finishes or is cancelled. Python: FIRST_COMPLETED. */
export const FIRST_COMPLETED = 'FIRST_COMPLETED';
/** `wait()` returns when any future fails, else when all are done. Python: FIRST_EXCEPTION. */
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
/** `wait()` returns when all futures are done. Python: ALL_COMPLETED. */
export const ALL_COMPLETED = 'ALL_COMPLETED';
/** When `wait()` returns. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/** Options of `wait()`. */
export interface WaitOptions {
  /**
   * Give up after this many milliseconds and return the sets as they are (no error).
   * @default undefined (no limit)
   */
  timeout?: number;
  /** @default ALL_COMPLETED */
  returnWhen?: ReturnWhen;
}

const WAIT_OPTIONS = optionNames<WaitOptions>({ timeout: true, returnWhen: true });

/** What `wait()` resolves with. */
export interface WaitResult<F extends Future<any> = Future<unknown>> {
  done: Set<F>;
  notDone: Set<F>;
}

function checkFutures<F extends Future<any>>(futures: Iterable<F>, what: string): Set<F> {
  if (futures == null || typeof (futures as Iterable<F>)[Symbol.iterator] !== 'function') throw invalidArg(`${what}: expected an iterable of futures`);
  const set = new Set<F>();
  for (const f of futures) {
    if (!(f instanceof Future)) throw invalidArg(`${what}: every item must be a Future (from executor.submit), got ${f === null ? 'null' : typeof f}`);
    set.add(f);
  }
  return set;
}

/**
 * Wait until the futures reach the `returnWhen` condition, or `timeout` ms pass; resolves
 * with the done and not-done sets (duplicates collapse).
 *
 * Python: concurrent.futures.wait(fs, timeout, return_when) — timeout in milliseconds.
 * Rejects with TypeError/RangeError (`MP_INVALID_ARG`) for bad arguments.
 *
 * @example
 * const { done, notDone } = await wait(futures, { returnWhen: FIRST_COMPLETED });
 */
export async function wait<F extends Future<any>>(futures: Iterable<F>, options: WaitOptions = {}): Promise<WaitResult<F>> {
  const all = checkFutures(futures, 'wait()');
  checkOptionNames(options, WAIT_OPTIONS, 'wait()');
  const timeout = checkTimeout(options.timeout, 'wait()');
  const returnWhen = options.returnWhen ?? ALL_COMPLETED;
  if (returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION && returnWhen !== ALL_COMPLETED) {
    throw invalidArg(`wait(): returnWhen must be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got ${String(returnWhen)}`);
  }
  const satisfied = (): boolean => {
    let allDone = true;
    let anyDone = false;
    for (const f of all) {
      if (f.done()) {
        anyDone = true;
        if (returnWhen === FIRST_EXCEPTION && Future.failed(f)) return true;
      } else allDone = false;
    }
    if (returnWhen === FIRST_COMPLETED) return anyDone || all.size === 0;
    return allDone;
  };
  if (!satisfied()) {
    await new Promise<void>((resolve) => {
      let timer: LongTimer | undefined;
      let finished = false;
      const check = () => {
        if (finished || !satisfied()) return;
        finished = true;
        timer?.clear();
        resolve();
      };
      for (const f of all) if (!f.done()) f.addDoneCallback(check);
      if (timeout !== undefined) {
        timer = setLongTimeout(() => {
          finished = true;
          resolve();
        }, timeout);
      }
    });
  }
  const done = new Set<F>();
  const notDone = new Set<F>();
  for (const f of all) (f.done() ? done : notDone).add(f);
  return { done, notDone };
}

/** Options of `asCompleted()`. */
export interface AsCompletedOptions {
  /**
   * Time limit in milliseconds, from the call, for all futures to be yielded; then the
   * iterator throws TimeoutError.
   * @default undefined (no limit)
   */
  timeout?: number;
}

const AS_COMPLETED_OPTIONS = optionNames<AsCompletedOptions>({ timeout: true });

/**
 * A Future as `asCompleted` yields it: the same object, typed without `then`. TypeScript
 * types a `for await` loop variable as the *awaited* value, which for a thenable Future
 * would be its result, not the Future that is really yielded; without `then` in the type,
 * the loop variable is the Future and `await f.result()` reads it. Cast to `Future<T>` to
 * look it up in a Map keyed by the submitted futures.
 */
export type CompletedFuture<F extends Future<any>> = Omit<F, 'then'>;

/**
 * Yield each future as it completes (finished or cancelled): those already done first,
 * then in completion order. Duplicates are yielded once. The futures themselves are
 * yielded (not their results), so a failed one does not end the loop: read it with
 * `await f.result()` (see `CompletedFuture` for why not `await f`).
 *
 * Python: concurrent.futures.as_completed(fs, timeout) — an async iterator; timeout in ms.
 * Throws (from the iterator) TimeoutError when `timeout` passes with futures not done,
 * TypeError/RangeError for bad arguments.
 *
 * @example
 * for await (const f of asCompleted(futures)) console.log(await f.result());
 */
export function asCompleted<F extends Future<any>>(futures: Iterable<F>, options: AsCompletedOptions = {}): AsyncIterableIterator<CompletedFuture<F>> {
  // Hand-written rather than an async generator: an async generator awaits what it yields,
  // and a Future is thenable, so it would yield results (and throw failures) instead.
  let early: unknown;
  const ready: F[] = [];
  const pending = new Set<F>();
  let total = 0;
  let timeout: number | undefined;
  try {
    const all = checkFutures(futures, 'asCompleted()');
    checkOptionNames(options, AS_COMPLETED_OPTIONS, 'asCompleted()');
    timeout = checkTimeout(options?.timeout, 'asCompleted()');
    total = all.size;
    for (const f of all) {
      if (f.done()) ready.push(f);
      else pending.add(f);
    }
  } catch (err) {
    early = err;
  }
  const deadline = deadlineAfter(timeout);
  let wake: (() => void) | null = null;
  let finished = false;
  for (const f of pending) {
    f.addDoneCallback(() => {
      if (!pending.delete(f)) return;
      ready.push(f);
      wake?.();
    });
  }
  const end = (): IteratorResult<F> => {
    finished = true;
    pending.clear();
    return { value: undefined, done: true };
  };
  const iterator: AsyncIterableIterator<CompletedFuture<F>> = {
    async next(): Promise<IteratorResult<F>> {
      if (early !== undefined) {
        const err = early;
        early = undefined;
        finished = true;
        throw err;
      }
      for (;;) {
        if (finished) return { value: undefined, done: true };
        const f = ready.shift();
        if (f) return { value: f, done: false };
        if (pending.size === 0) return end();
        const left = timeLeft(deadline);
        if (left === 0) {
          const notDone = pending.size;
          end();
          throw new TimeoutError(`asCompleted(): ${notDone} of ${total} futures not done within ${timeout} ms`, { timeout });
        }
        await new Promise<void>((resolve) => {
          let timer: LongTimer | undefined;
          wake = () => {
            wake = null;
            timer?.clear();
            resolve();
          };
          if (left !== undefined) timer = setLongTimeout(wake, left);
        });
      }
    },
    async return(): Promise<IteratorResult<F>> {
      const r = end();
      wake?.();
      return r;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
