// One wait of a hosted method: settle once, with a timeout, an AbortSignal and a hold on the
// event loop, and leave nothing behind (timer, listener, hold) however it ends. Host side:
// the queue channel and the sync cores wait with it, for callers in this process and in
// others alike, so a timeout or a wake-up is decided in one place.

import { CancelledError, QueueClosed } from '../errors.ts';
import { checkTimeout, setLongTimeout, type LongTimer } from '../options.ts';

export interface WaiterOptions {
  timeout?: number;
  signal?: AbortSignal;
  /** Keeps the process alive while the wait lasts (CallContext.keepAlive); returns the release. */
  hold?: (what: string) => () => void;
}

/**
 * A settle-once waiter: `settle` runs the callback at most once and removes the timer and
 * the abort listener, so nothing leaks whichever way the wait ends.
 */
export class Waiter<T> {
  done = false;
  readonly #resolve: (value: T) => void;
  readonly #reject: (err: Error) => void;
  #timer: LongTimer | null = null;
  #signal: AbortSignal | null = null;
  #onAbort: (() => void) | null = null;
  #release: (() => void) | null = null;
  readonly #cleanup: () => void;

  constructor(resolve: (value: T) => void, reject: (err: Error) => void, cleanup: () => void) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#cleanup = cleanup;
  }

  /**
   * Arm the timeout (calls `onTimeout`) and the signal (rejects with CancelledError or the
   * connection's reason). The timeout follows src/options.ts whether it was checked in this
   * process or arrived over the wire from another: undefined, null or Infinity is no limit,
   * a huge one is re-armed in steps, a negative one is 0; an invalid one rejects this wait
   * (removing it, through `cleanup`) instead of throwing into the host.
   */
  arm(options: WaiterOptions, onTimeout: () => void, what: string): void {
    let timeout: number | undefined;
    try {
      timeout = checkTimeout(options.timeout, what);
    } catch (err) {
      this.reject(err as Error);
      return;
    }
    if (timeout !== undefined) this.#timer = setLongTimeout(onTimeout, timeout);
    const signal = options.signal;
    if (signal?.aborted) {
      // Fired before the wait began: it ends now, the same way it would have a moment later.
      this.reject(abortError(signal, what));
      return;
    }
    if (signal) {
      this.#signal = signal;
      this.#onAbort = () => this.reject(abortError(signal, what));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    if (options.hold && !this.done) this.#release = options.hold(what);
  }

  resolve(value: T): void {
    if (this.#finish()) this.#resolve(value);
  }

  reject(err: Error): void {
    if (this.#finish()) this.#reject(err);
  }

  #finish(): boolean {
    if (this.done) return false;
    this.done = true;
    this.#timer?.clear();
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    this.#release?.();
    this.#cleanup();
    return true;
  }
}

/** The error a wait rejects with when its signal fires: the host's own reason, or a CancelledError. */
export function abortError(signal: AbortSignal, what: string): Error {
  const reason = signal.reason;
  if (reason instanceof QueueClosed || reason instanceof CancelledError) return reason;
  return new CancelledError(`${what} was cancelled`, { cause: reason });
}

