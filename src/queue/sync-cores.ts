// The state of Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition and Barrier: one
// core per primitive, registered on the host of the process that created it. Host side; the
// public classes (src/queue/sync.ts) call these methods, directly in that process and over
// the host's socket from any other.
//
// Waiting happens here, so a timeout or a wake-up is decided in one place and never races
// with a grant. Ownership is per process: the host tells callers apart by their connection
// (0 for the creating process itself). That is what lets a dead process's lock be released:
// when its connection closes, every Lock/RLock it held is released and its waiters dropped.
// It also means an RLock is re-entrant for every async task of its owning process.

import { CancelledError, invalidRange, InvalidStateError, QueueClosed, TimeoutError } from '../errors.ts';
import type { CallContext } from '../remote/host.ts';
import { Waiter } from '../remote/waiter.ts';

export interface AcquireRequest {
  blocking?: boolean;
  timeout?: number;
}

const noop = (): void => {};

function unheldError(kind: string): InvalidStateError {
  return new InvalidStateError(`release() of an unheld ${kind} (Python: RuntimeError: release unlocked lock)`);
}

/** Lock and RLock state. `recursive`: owner-tied and re-entrant (RLock). */
export class LockCore {
  readonly recursive: boolean;
  holder: number | null = null;
  count = 0;
  #unhook: () => void = noop;
  readonly #waiters = new Set<{ ctx: CallContext; count: number; w: Waiter<boolean> }>();

  constructor(recursive: boolean) {
    this.recursive = recursive;
  }

  #grant(ctx: CallContext, count: number): void {
    if (this.holder === ctx.connection) {
      this.count += count;
      return;
    }
    this.holder = ctx.connection;
    this.count = count;
    // A lock held by a process that dies is released (Python leaves it held forever).
    const conn = ctx.connection;
    this.#unhook = conn === 0 ? noop : ctx.onClose(() => this.#holderDied(conn));
  }

  #free(): void {
    this.#unhook();
    this.#unhook = noop;
    this.holder = null;
    this.count = 0;
    const next = this.#waiters.values().next().value;
    if (next) {
      this.#waiters.delete(next);
      this.#grant(next.ctx, next.count);
      next.w.resolve(true);
    }
  }

  #holderDied(conn: number): void {
    if (this.holder === conn) {
      this.#unhook = noop;
      this.#free();
    }
  }

  #available(conn: number): boolean {
    return this.holder === null || (this.recursive && this.holder === conn);
  }

  /** Acquire `count` levels (Condition restores an RLock's depth with it). */
  lock(ctx: CallContext, request: AcquireRequest, count = 1): boolean | Promise<boolean> {
    if (this.#available(ctx.connection) && (this.#waiters.size === 0 || this.holder === ctx.connection)) {
      this.#grant(ctx, count);
      return true;
    }
    if (request.blocking === false || request.timeout === 0) return false;
    return new Promise<boolean>((resolve, reject) => {
      const entry = { ctx, count, w: new Waiter<boolean>(resolve, reject, () => this.#waiters.delete(entry)) };
      this.#waiters.add(entry);
      entry.w.arm({ timeout: request.timeout, signal: ctx.signal, hold: ctx.keepAlive }, () => entry.w.resolve(false), 'acquire()');
    });
  }

  acquire(ctx: CallContext, request: AcquireRequest = {}): boolean | Promise<boolean> {
    return this.lock(ctx, request);
  }

  release(ctx: CallContext): void {
    const kind = this.recursive ? 'RLock' : 'Lock';
    if (this.holder === null) throw unheldError(kind);
    if (this.recursive) {
      if (this.holder !== ctx.connection) throw new InvalidStateError('release() of an RLock held by another process (Python: RuntimeError: cannot release un-acquired lock)');
      if (--this.count > 0) return;
    }
    this.#free();
  }

  locked(_ctx: CallContext): boolean {
    return this.holder !== null;
  }

  /** Condition support: does `conn` hold the lock? */
  ownedBy(conn: number): boolean {
    return this.holder === conn;
  }

  /** Condition support: release every level held by `conn`, returning how many. */
  releaseAll(conn: number): number {
    if (this.holder !== conn) throw new InvalidStateError('cannot wait on an un-acquired lock: acquire the Condition first (Python: RuntimeError)');
    const count = this.count;
    this.#free();
    return count;
  }
}

/** Semaphore and BoundedSemaphore state. */
export class SemaphoreCore {
  value: number;
  readonly bound: number | null;
  readonly #waiters = new Set<Waiter<boolean>>();

  constructor(value: number, bounded: boolean) {
    this.value = value;
    this.bound = bounded ? value : null;
  }

  acquire(ctx: CallContext, request: AcquireRequest = {}): boolean | Promise<boolean> {
    if (this.value > 0 && this.#waiters.size === 0) {
      this.value--;
      return true;
    }
    if (request.blocking === false || request.timeout === 0) return false;
    return new Promise<boolean>((resolve, reject) => {
      const w: Waiter<boolean> = new Waiter(resolve, reject, () => this.#waiters.delete(w));
      this.#waiters.add(w);
      w.arm({ timeout: request.timeout, signal: ctx.signal, hold: ctx.keepAlive }, () => w.resolve(false), 'acquire()');
    });
  }

  release(_ctx: CallContext, n = 1): void {
    if (!Number.isInteger(n) || n < 1) throw invalidRange(`release(n): n must be a positive integer, got ${n}`);
    if (this.bound !== null && this.value + n > this.bound) {
      throw new InvalidStateError('BoundedSemaphore released too many times (Python: ValueError: Semaphore released too many times)');
    }
    this.value += n;
    while (this.value > 0 && this.#waiters.size > 0) {
      const w = this.#waiters.values().next().value!;
      this.#waiters.delete(w);
      this.value--;
      w.resolve(true);
    }
  }

  getValue(_ctx: CallContext): number {
    return this.value;
  }
}

/** Event state. */
export class EventCore {
  flag = false;
  readonly #waiters = new Set<Waiter<boolean>>();

  set(_ctx: CallContext): void {
    this.flag = true;
    for (const w of [...this.#waiters]) w.resolve(true);
  }

  clear(_ctx: CallContext): void {
    this.flag = false;
  }

  isSet(_ctx: CallContext): boolean {
    return this.flag;
  }

  wait(ctx: CallContext, timeout?: number): boolean | Promise<boolean> {
    if (this.flag) return true;
    if (timeout === 0) return false;
    return new Promise<boolean>((resolve, reject) => {
      const w: Waiter<boolean> = new Waiter(resolve, reject, () => this.#waiters.delete(w));
      this.#waiters.add(w);
      w.arm({ timeout, signal: ctx.signal, hold: ctx.keepAlive }, () => w.resolve(this.flag), 'wait()');
    });
  }
}

/** Condition state, over a LockCore of the same host. */
export class ConditionCore {
  readonly lockCore: LockCore;
  readonly #waiters = new Set<Waiter<boolean>>();

  constructor(lockCore: LockCore) {
    this.lockCore = lockCore;
  }

  acquire(ctx: CallContext, request: AcquireRequest = {}): boolean | Promise<boolean> {
    return this.lockCore.lock(ctx, request);
  }

  release(ctx: CallContext): void {
    this.lockCore.release(ctx);
  }

  locked(ctx: CallContext): boolean {
    return this.lockCore.locked(ctx);
  }

  /**
   * Release the lock, wait for notify() (or the timeout), take the lock back (at the depth
   * held before), and tell whether a notify() came.
   */
  async wait(ctx: CallContext, timeout?: number): Promise<boolean> {
    const depth = this.lockCore.releaseAll(ctx.connection);
    // Cancelled (or the caller's connection closed): this rejects without the lock. Taking
    // it back for a caller that has stopped listening would leave it held by nobody.
    const notified = await new Promise<boolean>((resolve, reject) => {
      const w: Waiter<boolean> = new Waiter(resolve, reject, () => this.#waiters.delete(w));
      this.#waiters.add(w);
      w.arm({ timeout, signal: ctx.signal, hold: ctx.keepAlive }, () => w.resolve(false), 'wait()');
    });
    // Take the lock back at the depth held before; Python's wait() always returns holding it.
    await this.lockCore.lock(ctx, {}, depth);
    return notified;
  }

  notify(ctx: CallContext, n = 1): void {
    if (!this.lockCore.ownedBy(ctx.connection)) throw new InvalidStateError('cannot notify on an un-acquired lock: acquire the Condition first (Python: RuntimeError)');
    for (const w of [...this.#waiters].slice(0, Math.max(0, n))) w.resolve(true);
  }

  notifyAll(ctx: CallContext): void {
    this.notify(ctx, this.#waiters.size);
  }
}

function brokenError(): InvalidStateError {
  return new InvalidStateError('the barrier is broken: a party timed out, left, or abort()/reset() was called (Python: threading.BrokenBarrierError)');
}

/** Barrier state. The action runs in the creating process when the last party arrives. */
export class BarrierCore {
  readonly parties: number;
  readonly #action: (() => unknown) | undefined;
  readonly #timeout: number | undefined;
  #broken = false;
  #arrived: Array<{ index: number; w: Waiter<number> }> = [];

  constructor(parties: number, action: (() => unknown) | undefined, timeout: number | undefined) {
    this.parties = parties;
    this.#action = action;
    this.#timeout = timeout;
  }

  #breakBarrier(): void {
    this.#broken = true;
    const waiting = this.#arrived;
    this.#arrived = [];
    for (const { w } of waiting) w.reject(brokenError());
  }

  wait(ctx: CallContext, timeout?: number): number | Promise<number> {
    if (this.#broken) throw brokenError();
    const index = this.#arrived.length;
    if (index + 1 === this.parties) {
      try {
        this.#action?.();
      } catch (err) {
        this.#breakBarrier();
        throw err;
      }
      const waiting = this.#arrived;
      this.#arrived = [];
      for (const { index: i, w } of waiting) w.resolve(i);
      return index;
    }
    // undefined (or null) is Python's None: the barrier's default. An explicit Infinity from
    // wait(Infinity) means no limit even when the barrier has a default.
    const limit = timeout ?? this.#timeout;
    return new Promise<number>((resolve, reject) => {
      // A party that times out, is cancelled or dies breaks the barrier for everyone, as in
      // Python; here the dead-party case cannot leave the others hanging.
      const rejectAndBreak = (err: Error) => {
        reject(err);
        if (err instanceof CancelledError || err instanceof QueueClosed) this.#breakBarrier();
      };
      const entry = {
        index,
        w: new Waiter<number>(resolve, rejectAndBreak, () => {
          const i = this.#arrived.indexOf(entry);
          if (i !== -1) this.#arrived.splice(i, 1);
        }),
      };
      this.#arrived.push(entry);
      entry.w.arm(
        { timeout: limit, signal: ctx.signal, hold: ctx.keepAlive },
        () => {
          entry.w.reject(new TimeoutError(`Barrier.wait() timed out after ${limit} ms with ${this.#arrived.length} of ${this.parties} parties; the barrier is now broken`, { timeout: limit }));
          this.#breakBarrier();
        },
        'Barrier.wait()',
      );
    });
  }

  abort(_ctx: CallContext): void {
    this.#breakBarrier();
  }

  reset(_ctx: CallContext): void {
    this.#breakBarrier();
    this.#broken = false;
  }

  nWaiting(_ctx: CallContext): number {
    return this.#arrived.length;
  }

  broken(_ctx: CallContext): boolean {
    return this.#broken;
  }
}

export type Core = LockCore | SemaphoreCore | EventCore | ConditionCore | BarrierCore;

export const EXPOSED: Record<string, readonly string[]> = {
  lock: ['acquire', 'release', 'locked'],
  rlock: ['acquire', 'release', 'locked'],
  semaphore: ['acquire', 'release', 'getValue'],
  'bounded-semaphore': ['acquire', 'release', 'getValue'],
  event: ['set', 'clear', 'isSet', 'wait'],
  condition: ['acquire', 'release', 'locked', 'wait', 'notify', 'notifyAll'],
  barrier: ['wait', 'abort', 'reset', 'nWaiting', 'broken'],
};

