// Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier. Host side (the
// *Core classes, in the process that created the primitive) and proxy side (the public
// classes, anywhere).
//
// Each primitive's state lives in one core registered on the creating process's host
// (src/remote/host.ts). Every public method is one call: direct in the creating process,
// over the host's socket elsewhere. Waiting happens at the host, so a timeout or a wake-up
// is decided in one place and never races with a grant.
//
// Ownership is per process: the host identifies callers by their connection (0 for the
// creating process itself). That is what lets a dead process's lock be released: when its
// connection closes, every Lock/RLock it held is released and its waiters are dropped.
// It also means an RLock is re-entrant for every async task of its owning process.

import { CancelledError, invalidArg, invalidRange, InvalidStateError, QueueClosed, TimeoutError } from '../errors.ts';
import { checkSignal, checkTimeout, deadlineAfter, timeLeft } from '../options.ts';
import type { Handle } from '../protocol/index.ts';
import { noteShareable, registerReviver, toHandle, type Shareable } from '../remote/handle.ts';
import { Host, HostClient, localHost, type CallContext } from '../remote/host.ts';
import { Waiter } from './queue.ts';

// ---------------------------------------------------------------------------------------
// Host side

interface AcquireRequest {
  blocking?: boolean;
  timeout?: number;
}

const noop = (): void => {};

function unheldError(kind: string): InvalidStateError {
  return new InvalidStateError(`release() of an unheld ${kind} (Python: RuntimeError: release unlocked lock)`);
}

/** Lock and RLock state. `recursive`: owner-tied and re-entrant (RLock). */
class LockCore {
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
class SemaphoreCore {
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
class EventCore {
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
class ConditionCore {
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
class BarrierCore {
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

type Core = LockCore | SemaphoreCore | EventCore | ConditionCore | BarrierCore;

const EXPOSED: Record<string, readonly string[]> = {
  lock: ['acquire', 'release', 'locked'],
  rlock: ['acquire', 'release', 'locked'],
  semaphore: ['acquire', 'release', 'getValue'],
  'bounded-semaphore': ['acquire', 'release', 'getValue'],
  event: ['set', 'clear', 'isSet', 'wait'],
  condition: ['acquire', 'release', 'locked', 'wait', 'notify', 'notifyAll'],
  barrier: ['wait', 'abort', 'reset', 'nWaiting', 'broken'],
};

// ---------------------------------------------------------------------------------------
// Backends

interface CallOpts {
  signal?: AbortSignal;
  /**
   * A result that arrives after the caller gave up (remote only) may mean the lock was
   * taken for nobody: release it when the result is `true` (acquire), or whatever it is
   * (Condition.wait always returns holding the lock).
   */
  undo?: 'if-true' | 'always';
}

/** One method call on a primitive, wherever it lives. */
interface SyncBackend {
  readonly meta: Record<string, unknown>;
  call(method: string, args: unknown[], options: CallOpts, what: string): Promise<unknown>;
  handle(): Handle;
  /** The core, when it lives in this process on `host` (Condition needs its Lock's). */
  localCore(host: Host): Core | null;
}

class LocalSync implements SyncBackend {
  readonly meta: Record<string, unknown>;
  readonly #host: Host;
  readonly #id: string;
  readonly #core: Core;

  constructor(host: Host, id: string, core: Core, meta: Record<string, unknown>) {
    this.#host = host;
    this.#id = id;
    this.#core = core;
    this.meta = meta;
  }

  call(method: string, args: unknown[], options: CallOpts): Promise<unknown> {
    try {
      const fn = (this.#core as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
      return Promise.resolve(fn.call(this.#core, this.#host.localContext(options.signal), ...args));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  handle(): Handle {
    return this.#host.handle(this.#id);
  }

  localCore(host: Host): Core | null {
    return host === this.#host ? this.#core : null;
  }
}

const remoteFinalizer = new FinalizationRegistry<{ client: HostClient; id: string }>(({ client, id }) => client.decref(id));

class RemoteSync implements SyncBackend {
  readonly meta: Record<string, unknown>;
  readonly #handle: Handle;
  readonly #client: HostClient;
  readonly #noun: string;

  constructor(handle: Handle, owner: object, noun: string) {
    this.#handle = handle;
    this.meta = handle.meta ?? {};
    this.#noun = noun;
    this.#client = HostClient.for(handle.address, handle.authkey, handle.meta?.hostPid as number | undefined);
    this.#client.incref(handle.id, true);
    remoteFinalizer.register(owner, { client: this.#client, id: handle.id });
  }

  call(method: string, args: unknown[], options: CallOpts, what: string): Promise<unknown> {
    const undo = options.undo;
    return this.#client.call(this.#handle.id, method, args, {
      signal: options.signal,
      lost: (message, cause) => new QueueClosed(`${what}: ${message}; a ${this.#noun} lives in the process that created it`, cause ? { cause } : undefined),
      // A lock granted after we stopped waiting would stay held by nobody: give it back.
      late: undo ? (value) => (undo === 'always' || value === true) && this.#client.notify(this.#handle.id, 'release', []) : undefined,
    });
  }

  handle(): Handle {
    this.#client.lease(this.#handle.id);
    return this.#handle;
  }

  localCore(): Core | null {
    return null;
  }
}

/** Set by revivers just before `new Class()`: the constructor adopts a backend for the handle. */
let adopting: ((owner: object) => SyncBackend) | null = null;

function create(owner: object, kind: string, makeCore: (host: Host) => Core, meta: Record<string, unknown>, host: Host | undefined): SyncBackend {
  if (adopting) {
    const make = adopting;
    adopting = null;
    return make(owner);
  }
  const h = host ?? localHost();
  const core = makeCore(h);
  const id = h.register(core, { kind, exposed: EXPOSED[kind]!, context: true, meta });
  h.bind(owner, id);
  noteShareable();
  return new LocalSync(h, id, core, meta);
}

function backendFor(handle: Handle, owner: object, noun: string): SyncBackend {
  noteShareable();
  const host = Host.find(handle.address);
  const core = host?.lookup(handle.id) as Core | undefined;
  if (host && core) {
    host.bind(owner, handle.id, true);
    return new LocalSync(host, handle.id, core, handle.meta ?? {});
  }
  return new RemoteSync(handle, owner, noun);
}

// ---------------------------------------------------------------------------------------
// Public classes

/** Options of `acquire()`. */
export interface AcquireOptions {
  /** false: do not wait; resolve false at once when unavailable. @default true */
  blocking?: boolean;
  /** Wait at most this long (ms), then resolve false. @default no limit */
  timeout?: number;
  /** Stop waiting: rejects with CancelledError. */
  signal?: AbortSignal;
}

/** Options of a wait with a timeout and a signal. */
export interface SyncWaitOptions {
  /** Wait at most this long (ms). @default no limit */
  timeout?: number;
  /** Stop waiting: rejects with CancelledError. */
  signal?: AbortSignal;
}

/** Options of the constructors: where the primitive is hosted. */
export interface SyncOptions {
  /** The host serving the primitive to other processes. @default this process's host (localHost()) */
  host?: Host;
}

function parseAcquire(options: AcquireOptions | undefined, what: string): { request: AcquireRequest; signal: AbortSignal | undefined } {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArg(`${what}: options must be an object like { timeout: 1000 }`);
  const timeout = checkTimeout(options?.timeout, what);
  const signal = checkSignal(options?.signal, what);
  return { request: { blocking: options?.blocking !== false, timeout }, signal };
}

function parseWait(arg: number | SyncWaitOptions | undefined | null, what: string): { timeout: number | undefined; signal: AbortSignal | undefined } {
  if (arg === undefined || arg === null) return { timeout: undefined, signal: undefined };
  if (typeof arg === 'number') return { timeout: checkTimeout(arg, what), signal: undefined };
  if (typeof arg !== 'object') throw invalidArg(`${what}: expected a timeout in ms or { timeout, signal }`);
  return { timeout: checkTimeout(arg.timeout, what), signal: checkSignal(arg.signal, what) };
}

function rejecting<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

let lockCoreOf: (lock: Lock | RLock, host: Host) => LockCore | null;

/** What Lock, RLock, Semaphore and Condition share: acquire, release, withLock, hold. */
abstract class Acquirable implements Shareable {
  readonly #b: SyncBackend;

  constructor(kind: string, makeCore: (host: Host) => Core, meta: Record<string, unknown>, host: Host | undefined) {
    this.#b = create(this, kind, makeCore, meta, host);
  }

  static {
    lockCoreOf = (lock, host) => {
      const core = lock.#b.localCore(host);
      return core instanceof LockCore ? core : null;
    };
  }

  /** The class name, for messages. */
  abstract get [Symbol.toStringTag](): string;

  protected call(method: string, args: unknown[], options: CallOpts = {}): Promise<unknown> {
    return this.#b.call(method, args, options, `${this[Symbol.toStringTag]}.${method}()`);
  }

  /**
   * Acquire, waiting as long as needed (or `timeout` ms). Resolves true when acquired, false
   * when `blocking: false` or the timeout found it unavailable (Python's return value).
   * Rejects with CancelledError (`signal`), QueueClosed (its host exited).
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return rejecting(() => {
      const { request, signal } = parseAcquire(options, `${this[Symbol.toStringTag]}.acquire()`);
      return this.call('acquire', [request], { signal, undo: 'if-true' }) as Promise<boolean>;
    });
  }

  /** Release. Rejects with InvalidStateError (MP_INVALID_STATE) when not held. */
  release(): Promise<void> {
    return this.call('release', []) as Promise<void>;
  }

  /**
   * Run `fn` while holding this, then release (also when `fn` throws): Python's `with lock:`.
   * Rejects with TimeoutError when `timeout` passes before it is acquired.
   */
  async withLock<R>(fn: () => R | Promise<R>, options: Omit<AcquireOptions, 'blocking'> = {}): Promise<R> {
    if (!(await this.acquire(options))) throw new TimeoutError(`${this[Symbol.toStringTag]}.withLock(): not acquired within ${options.timeout} ms`, { timeout: options.timeout });
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }

  /**
   * Acquire, and get an object whose disposal releases: `await using _ = await lock.hold()`.
   * Rejects with TimeoutError when `timeout` passes before it is acquired.
   */
  async hold(options: Omit<AcquireOptions, 'blocking'> = {}): Promise<AsyncDisposable> {
    if (!(await this.acquire(options))) throw new TimeoutError(`${this[Symbol.toStringTag]}.hold(): not acquired within ${options.timeout} ms`, { timeout: options.timeout });
    let held = true;
    return {
      [Symbol.asyncDispose]: async () => {
        if (!held) return;
        held = false;
        await this.release();
      },
    };
  }

  /** The handle another process revives into a working proxy. */
  [toHandle](): Handle {
    return this.#b.handle();
  }
}

/**
 * A mutual-exclusion lock usable from any process. Any process may release it (as Python's
 * Lock allows); a lock held by a process that dies is released automatically.
 * Python: multiprocessing.Lock — async; acquire({ timeout }) in ms; a dead holder's lock is
 * released here, while Python leaves it held forever (deadlocking the others).
 * Rejects with: InvalidStateError (release when unlocked), CancelledError, QueueClosed.
 *
 * @example
 * const lock = new Lock();
 * await lock.withLock(async () => { await appendFile(file, 'one line\n'); });
 */
export class Lock extends Acquirable {
  constructor(options: SyncOptions = {}) {
    super('lock', () => new LockCore(false), {}, options?.host);
  }

  /** Whether some process holds it. */
  locked(): Promise<boolean> {
    return this.call('locked', []) as Promise<boolean>;
  }

  get [Symbol.toStringTag](): string {
    return 'Lock';
  }
}

/**
 * A re-entrant lock: the process holding it may acquire it again, and must release it as
 * many times. Ownership is per process (every async task of the owning process counts as
 * the owner). Released automatically when its owner process dies.
 * Python: multiprocessing.RLock — the owner is a process, not a thread; a dead owner's lock
 * is released (Python leaves it held).
 * Rejects with: InvalidStateError (release by a non-owner or when unlocked), CancelledError, QueueClosed.
 *
 * @example
 * const rlock = new RLock();
 * await rlock.acquire();
 * await rlock.acquire(); // same process: re-entrant
 * await rlock.release();
 * await rlock.release();
 */
export class RLock extends Acquirable {
  constructor(options: SyncOptions = {}) {
    super('rlock', () => new LockCore(true), {}, options?.host);
  }

  /** Whether some process holds it. */
  locked(): Promise<boolean> {
    return this.call('locked', []) as Promise<boolean>;
  }

  get [Symbol.toStringTag](): string {
    return 'RLock';
  }
}

function checkCount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw invalidRange(`${what}: value must be an integer >= 0, got ${String(value)}`);
  return value;
}

/**
 * A counter that acquire() decrements (waiting at zero) and release() increments.
 * Not released when a process that acquired it dies: a semaphore has no owner (one process
 * may acquire what another releases), so there is nothing to give back on its behalf.
 * Python: multiprocessing.Semaphore — async; getValue() is get_value(); release(n).
 * Rejects with: RangeError (bad release count), CancelledError, QueueClosed.
 *
 * @example
 * const slots = new Semaphore(2); // at most two processes at once
 * await slots.withLock(() => download(url));
 */
export class Semaphore extends Acquirable {
  /** @param value Initial value. @default 1 */
  constructor(value = 1, options: SyncOptions = {}) {
    const bounded = new.target === BoundedSemaphore;
    const v = adopting ? 0 : checkCount(value, `new ${bounded ? 'BoundedSemaphore' : 'Semaphore'}()`);
    super(bounded ? 'bounded-semaphore' : 'semaphore', () => new SemaphoreCore(v, bounded), { value: v }, options?.host);
  }

  /**
   * Release `n` units (Python 3.9+: release(n)).
   * Rejects with InvalidStateError for a BoundedSemaphore released above its initial value,
   * RangeError for a bad `n`.
   */
  override release(n = 1): Promise<void> {
    return this.call('release', [n]) as Promise<void>;
  }

  /** The current value. Python: Semaphore.get_value(). */
  getValue(): Promise<number> {
    return this.call('getValue', []) as Promise<number>;
  }

  get [Symbol.toStringTag](): string {
    return 'Semaphore';
  }
}

/**
 * A Semaphore whose release() may not raise it above its initial value.
 * Python: multiprocessing.BoundedSemaphore.
 * Rejects with: InvalidStateError (released too many times), CancelledError, QueueClosed.
 *
 * @example
 * const slots = new BoundedSemaphore(3);
 * await slots.acquire();
 * await slots.release();
 */
export class BoundedSemaphore extends Semaphore {
  override get [Symbol.toStringTag](): string {
    return 'BoundedSemaphore';
  }
}

/**
 * A flag processes can wait on.
 * Python: multiprocessing.Event — async; wait(timeout) in ms resolves with the flag.
 * Rejects with: CancelledError (signal), QueueClosed (host exited).
 *
 * @example
 * const ready = new Event();
 * // in a worker: await ready.wait();
 * await ready.set();
 */
export class Event implements Shareable {
  readonly #b: SyncBackend;

  constructor(options: SyncOptions = {}) {
    this.#b = create(this, 'event', () => new EventCore(), {}, options?.host);
  }

  /** Set the flag and wake every waiter. Python: Event.set(). */
  set(): Promise<void> {
    return this.#b.call('set', [], {}, 'Event.set()') as Promise<void>;
  }

  /** Reset the flag. Python: Event.clear(). */
  clear(): Promise<void> {
    return this.#b.call('clear', [], {}, 'Event.clear()') as Promise<void>;
  }

  /** The flag. Python: Event.is_set(). */
  isSet(): Promise<boolean> {
    return this.#b.call('isSet', [], {}, 'Event.isSet()') as Promise<boolean>;
  }

  /**
   * Wait until the flag is set; resolves with the flag (false when `timeout` ms passed first).
   * Python: Event.wait(timeout).
   */
  wait(timeout?: number | SyncWaitOptions | null): Promise<boolean> {
    return rejecting(() => {
      const { timeout: t, signal } = parseWait(timeout, 'Event.wait()');
      return this.#b.call('wait', [t], { signal }, 'Event.wait()') as Promise<boolean>;
    });
  }

  /** The handle another process revives into a working Event. */
  [toHandle](): Handle {
    return this.#b.handle();
  }

  get [Symbol.toStringTag](): string {
    return 'Event';
  }
}

/**
 * A condition variable: wait() releases the lock until another process notify()s.
 * Python: multiprocessing.Condition(lock=None) — async; the default lock is an RLock; a
 * given `lock` must be a Lock or RLock created in this process (on the same host); a
 * process that dies holding the lock releases it; a wait() cancelled by its signal rejects
 * without the lock.
 * Rejects with: InvalidStateError (wait/notify without holding the lock), CancelledError,
 * QueueClosed (host exited).
 *
 * @example
 * const cond = new Condition();
 * await cond.withLock(async () => {
 *   while (!(await ready())) await cond.wait();
 * });
 */
export class Condition extends Acquirable {
  /** @param lock The lock to use. @default a new RLock */
  constructor(lock?: Lock | RLock | null, options: SyncOptions = {}) {
    if (!adopting && lock !== undefined && lock !== null && !(lock instanceof Lock) && !(lock instanceof RLock)) {
      throw invalidArg('new Condition(lock): lock must be a Lock or an RLock');
    }
    super(
      'condition',
      (host) => {
        if (lock === undefined || lock === null) return new ConditionCore(new LockCore(true));
        const core = lockCoreOf(lock, host);
        if (!core) throw invalidArg('new Condition(lock): the lock must be a Lock or RLock created in this process (on the same host as the Condition)');
        return new ConditionCore(core);
      },
      {},
      options?.host,
    );
  }

  /** Whether some process holds the underlying lock. */
  locked(): Promise<boolean> {
    return this.call('locked', []) as Promise<boolean>;
  }

  /**
   * Release the lock and wait until notified (or `timeout` ms pass), then re-acquire it.
   * Resolves true when notified, false on timeout. The caller must hold the lock.
   * Python: Condition.wait(timeout).
   */
  wait(timeout?: number | SyncWaitOptions | null): Promise<boolean> {
    return rejecting(() => {
      const { timeout: t, signal } = parseWait(timeout, 'Condition.wait()');
      return this.call('wait', [t], { signal, undo: 'always' }) as Promise<boolean>;
    });
  }

  /**
   * Wait until `predicate()` (evaluated in this process, holding the lock) is truthy, or
   * `timeout` ms pass; resolves with its last value. Python: Condition.wait_for().
   */
  async waitFor<R>(predicate: () => R | Promise<R>, timeout?: number | SyncWaitOptions | null): Promise<R> {
    if (typeof predicate !== 'function') throw invalidArg('Condition.waitFor(predicate): predicate must be a function');
    const { timeout: t, signal } = parseWait(timeout, 'Condition.waitFor()');
    const deadline = deadlineAfter(t);
    let result = await predicate();
    while (!result) {
      const remaining = timeLeft(deadline);
      if (remaining === 0) break;
      await this.wait({ timeout: remaining, signal });
      result = await predicate();
    }
    return result;
  }

  /** Wake up to `n` waiters. The caller must hold the lock. Python: Condition.notify(n). */
  notify(n = 1): Promise<void> {
    return this.call('notify', [n]) as Promise<void>;
  }

  /** Wake every waiter. Python: Condition.notify_all(). */
  notifyAll(): Promise<void> {
    return this.call('notifyAll', []) as Promise<void>;
  }

  get [Symbol.toStringTag](): string {
    return 'Condition';
  }
}

/** Options of `new Barrier()`. */
export interface BarrierOptions extends SyncOptions {
  /** Called once per trip, in the creating process, when the last party arrives. */
  action?: () => unknown;
  /** Default timeout of wait(), ms. @default no limit */
  timeout?: number;
}

/**
 * `parties` processes wait() until all have arrived, then all continue.
 * Python: multiprocessing.Barrier — async; wait() resolves with the arrival index (0 for
 * the first); `action` runs in the creating process; a party that times out, is cancelled or
 * dies breaks the barrier (Python would leave the others waiting for a dead party).
 * Rejects with: InvalidStateError (the barrier is broken: Python's BrokenBarrierError),
 * TimeoutError (this party's wait timed out; the barrier breaks), CancelledError, QueueClosed.
 *
 * @example
 * const barrier = new Barrier(3);
 * // in each of three processes:
 * const index = await barrier.wait();
 */
export class Barrier implements Shareable {
  readonly #b: SyncBackend;

  constructor(parties: number, options: BarrierOptions = {}) {
    if (adopting) {
      this.#b = create(this, 'barrier', () => null as never, {}, undefined);
      return;
    }
    if (typeof parties !== 'number' || !Number.isInteger(parties) || parties < 1) throw invalidRange(`new Barrier(parties): parties must be an integer >= 1, got ${String(parties)}`);
    if (options?.action !== undefined && typeof options.action !== 'function') throw invalidArg('new Barrier(): action must be a function');
    const timeout = checkTimeout(options?.timeout, 'new Barrier()');
    this.#b = create(this, 'barrier', () => new BarrierCore(parties, options?.action, timeout), { parties }, options?.host);
  }

  /** Number of parties needed to trip the barrier. */
  get parties(): number {
    return this.#b.meta.parties as number;
  }

  /**
   * Wait for the other parties; resolves with this party's arrival index (0..parties-1).
   * Python: Barrier.wait(timeout) — no timeout (undefined, null) uses the barrier's default;
   * Infinity waits without limit even when the barrier has a default.
   */
  wait(timeout?: number | SyncWaitOptions | null): Promise<number> {
    return rejecting(() => {
      const { timeout: t, signal } = parseWait(timeout, 'Barrier.wait()');
      const given = typeof timeout === 'number' || (typeof timeout === 'object' && timeout !== null && timeout.timeout != null);
      // parseWait turns Infinity into undefined (no limit); here that must not fall back to the default.
      return this.#b.call('wait', [t === undefined && given ? Infinity : t], { signal }, 'Barrier.wait()') as Promise<number>;
    });
  }

  /** Break the barrier: current and future waiters reject. Python: Barrier.abort(). */
  abort(): Promise<void> {
    return this.#b.call('abort', [], {}, 'Barrier.abort()') as Promise<void>;
  }

  /** Break it for current waiters, then make it usable again. Python: Barrier.reset(). */
  reset(): Promise<void> {
    return this.#b.call('reset', [], {}, 'Barrier.reset()') as Promise<void>;
  }

  /** Parties currently waiting. Python: Barrier.n_waiting. */
  nWaiting(): Promise<number> {
    return this.#b.call('nWaiting', [], {}, 'Barrier.nWaiting()') as Promise<number>;
  }

  /** Whether the barrier is broken. Python: Barrier.broken. */
  broken(): Promise<boolean> {
    return this.#b.call('broken', [], {}, 'Barrier.broken()') as Promise<boolean>;
  }

  /** The handle another process revives into a working Barrier. */
  [toHandle](): Handle {
    return this.#b.handle();
  }

  get [Symbol.toStringTag](): string {
    return 'Barrier';
  }
}

const NOUNS: Record<string, [string, new (...args: any[]) => object]> = {
  lock: ['Lock', Lock],
  rlock: ['RLock', RLock],
  semaphore: ['Semaphore', Semaphore],
  'bounded-semaphore': ['BoundedSemaphore', BoundedSemaphore],
  event: ['Event', Event],
  condition: ['Condition', Condition],
  barrier: ['Barrier', Barrier],
};

for (const [kind, [noun, Cls]] of Object.entries(NOUNS)) {
  registerReviver(kind, (handle) => {
    adopting = (owner) => backendFor(handle, owner, noun);
    try {
      return new Cls();
    } finally {
      adopting = null;
    }
  });
}
