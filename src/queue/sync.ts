// Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier: the public classes.
// Proxy side: they work in any process. Each holds a Reference (src/remote/reference.ts) to
// its core (src/queue/sync-cores.ts), which lives on the host of the process that created
// it; every public method is one call of the core, direct in that process and over the
// host's socket elsewhere, so waiting, timeouts and wake-ups are decided in one place.

import { invalidArg, invalidRange, QueueClosed, TimeoutError } from '../errors.ts';
import { checkOptionNames, checkSignal, checkTimeout, deadlineAfter, optionNames, timeLeft } from '../options.ts';
import type { Handle } from '../protocol/index.ts';
import { moduleFile } from '../runtime.ts';
import { noteShareable, registerReviver, toHandle, type Shareable } from '../remote/handle.ts';
import { localHost, type Host } from '../remote/host.ts';
import { Reference, type ReferenceOptions } from '../remote/reference.ts';

/** This module, named in the handles of the kinds it revives (see registerReviver). */
const here = moduleFile();
import { BarrierCore, ConditionCore, EventCore, EXPOSED, LockCore, SemaphoreCore, type AcquireRequest, type Core } from './sync-cores.ts';

// ---------------------------------------------------------------------------------------
// References

/** The Reference options of each kind: a call that cannot reach the host names the class. */
const referenceOptions = new Map<string, ReferenceOptions>();

function optionsOf(kind: string): ReferenceOptions {
  let options = referenceOptions.get(kind);
  if (!options) {
    const noun = NOUNS[kind]![0];
    options = { lost: (message, cause, method) => new QueueClosed(`${noun}.${method ?? 'call'}(): ${message}; a ${noun} lives in the process that created it`, cause ? { cause } : undefined) };
    referenceOptions.set(kind, options);
  }
  return options;
}

/** Register a new core of `kind` on `host` (this process's by default): the reference of a primitive just created. */
function hosted(kind: string, makeCore: (host: Host) => Core, meta: Record<string, unknown>, host: Host | undefined): Reference {
  const h = host ?? localHost();
  const id = h.register(makeCore(h), { kind, exposed: EXPOSED[kind]!, context: true, meta });
  return Reference.hosted(h, id, optionsOf(kind));
}

/** Calls of one primitive; `undo`: see Primitive.call. */
interface CallOpts {
  signal?: AbortSignal;
  /**
   * A result that arrives after the caller gave up (remote only) may mean the lock was
   * taken for nobody: release it when the result is `true` (acquire), or whatever it is
   * (Condition.wait always returns holding the lock).
   */
  undo?: 'if-true' | 'always';
}

let coreOf: (primitive: Primitive, host: Host) => Core | null;

/** What every primitive shares: its Reference, one call per method, and its handle. */
abstract class Primitive implements Shareable {
  readonly #ref: Reference;

  constructor(ref: Reference) {
    this.#ref = ref;
    ref.bind(this);
    noteShareable();
  }

  static {
    coreOf = (primitive, host) => (primitive.#ref.host === host ? (primitive.#ref.target as Core) : null);
  }

  /** The class name, for messages. */
  abstract get [Symbol.toStringTag](): string;

  /** The facts the primitive's handle carries (Barrier: parties). */
  protected get meta(): Readonly<Record<string, unknown>> {
    return this.#ref.meta;
  }

  protected call(method: string, args: unknown[], options?: CallOpts): Promise<unknown> {
    const ref = this.#ref;
    const undo = options?.undo;
    if (options === undefined) return ref.call(method, args);
    return ref.call(method, args, {
      signal: options.signal,
      // A lock granted after we stopped waiting would stay held by nobody: give it back.
      late: undo ? (value) => (undo === 'always' || value === true) && ref.notify('release', []) : undefined,
    });
  }

  /** The handle another process revives into a working proxy. */
  [toHandle](): Handle {
    return this.#ref.toHandle();
  }
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

// The names each options object may have (checkOptionNames: any other is refused, not ignored).
const ACQUIRE_OPTIONS = optionNames<AcquireOptions>({ blocking: true, timeout: true, signal: true });
const WAIT_OPTIONS = optionNames<SyncWaitOptions>({ timeout: true, signal: true });
const SYNC_OPTIONS = optionNames<SyncOptions>({ host: true });

/** The host a constructor's options name, once its option names are checked (`what`: the constructor). */
function hostOf(options: SyncOptions | undefined, what: string, names: readonly string[] = SYNC_OPTIONS): Host | undefined {
  checkOptionNames(options, names, what);
  return options?.host;
}

function parseAcquire(options: AcquireOptions | undefined, what: string): { request: AcquireRequest; signal: AbortSignal | undefined } {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArg(`${what}: options must be an object like { timeout: 1000 }`);
  checkOptionNames(options, ACQUIRE_OPTIONS, what);
  const timeout = checkTimeout(options?.timeout, what);
  const signal = checkSignal(options?.signal, what);
  return { request: { blocking: options?.blocking !== false, timeout }, signal };
}

function parseWait(arg: number | SyncWaitOptions | undefined | null, what: string): { timeout: number | undefined; signal: AbortSignal | undefined } {
  if (arg === undefined || arg === null) return { timeout: undefined, signal: undefined };
  if (typeof arg === 'number') return { timeout: checkTimeout(arg, what), signal: undefined };
  if (typeof arg !== 'object') throw invalidArg(`${what}: expected a timeout in ms or { timeout, signal }`);
  checkOptionNames(arg, WAIT_OPTIONS, what);
  return { timeout: checkTimeout(arg.timeout, what), signal: checkSignal(arg.signal, what) };
}

function rejecting<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

/** What Lock, RLock, Semaphore and Condition share: acquire, release, withLock, hold. */
abstract class Acquirable extends Primitive {
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
  constructor(options?: SyncOptions);
  /** @internal A revived lock: the reference its handle stands for. */
  constructor(ref: Reference);
  constructor(options: SyncOptions | Reference = {}) {
    super(options instanceof Reference ? options : hosted('lock', () => new LockCore(false), {}, hostOf(options, 'new Lock(options)')));
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
  constructor(options?: SyncOptions);
  /** @internal A revived lock: the reference its handle stands for. */
  constructor(ref: Reference);
  constructor(options: SyncOptions | Reference = {}) {
    super(options instanceof Reference ? options : hosted('rlock', () => new LockCore(true), {}, hostOf(options, 'new RLock(options)')));
  }

  /** Whether some process holds it. */
  locked(): Promise<boolean> {
    return this.call('locked', []) as Promise<boolean>;
  }

  get [Symbol.toStringTag](): string {
    return 'RLock';
  }
}

/**
 * The state of `lock` when it is hosted on `host` (a Lock or RLock this process created
 * there), else null. Value / Array (src/queue/sharedctypes.ts) take their lock's state to
 * honour it on the host, as Condition does.
 */
export function lockCoreOf(lock: Lock | RLock, host: Host): LockCore | null {
  const core = coreOf(lock, host);
  return core instanceof LockCore ? core : null;
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
  constructor(value?: number, options?: SyncOptions);
  /** @internal A revived semaphore: the reference its handle stands for. */
  constructor(ref: Reference);
  constructor(value: number | Reference = 1, options: SyncOptions = {}) {
    if (value instanceof Reference) {
      super(value);
      return;
    }
    const bounded = new.target === BoundedSemaphore;
    const v = checkCount(value, `new ${bounded ? 'BoundedSemaphore' : 'Semaphore'}()`);
    super(hosted(bounded ? 'bounded-semaphore' : 'semaphore', () => new SemaphoreCore(v, bounded), { value: v }, hostOf(options, `new ${bounded ? 'BoundedSemaphore' : 'Semaphore'}(value, options)`)));
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
export class Event extends Primitive {
  constructor(options?: SyncOptions);
  /** @internal A revived event: the reference its handle stands for. */
  constructor(ref: Reference);
  constructor(options: SyncOptions | Reference = {}) {
    super(options instanceof Reference ? options : hosted('event', () => new EventCore(), {}, hostOf(options, 'new Event(options)')));
  }

  /** Set the flag and wake every waiter. Python: Event.set(). */
  set(): Promise<void> {
    return this.call('set', []) as Promise<void>;
  }

  /** Reset the flag. Python: Event.clear(). */
  clear(): Promise<void> {
    return this.call('clear', []) as Promise<void>;
  }

  /** The flag. Python: Event.is_set(). */
  isSet(): Promise<boolean> {
    return this.call('isSet', []) as Promise<boolean>;
  }

  /**
   * Wait until the flag is set; resolves with the flag (false when `timeout` ms passed first).
   * Python: Event.wait(timeout).
   */
  wait(timeout?: number | SyncWaitOptions | null): Promise<boolean> {
    return rejecting(() => {
      const { timeout: t, signal } = parseWait(timeout, 'Event.wait()');
      return this.call('wait', [t], { signal }) as Promise<boolean>;
    });
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
  constructor(lock?: Lock | RLock | null, options?: SyncOptions);
  /** @internal A revived condition: the reference its handle stands for. */
  constructor(ref: Reference);
  constructor(lock?: Lock | RLock | Reference | null, options: SyncOptions = {}) {
    if (lock instanceof Reference) {
      super(lock);
      return;
    }
    if (lock !== undefined && lock !== null && !(lock instanceof Lock) && !(lock instanceof RLock)) {
      throw invalidArg('new Condition(lock): lock must be a Lock or an RLock');
    }
    super(
      hosted(
        'condition',
        (host) => {
          if (lock === undefined || lock === null) return new ConditionCore(new LockCore(true));
          const core = coreOf(lock, host);
          if (!(core instanceof LockCore)) throw invalidArg('new Condition(lock): the lock must be a Lock or RLock created in this process (on the same host as the Condition)');
          return new ConditionCore(core);
        },
        {},
        hostOf(options, 'new Condition(lock, options)'),
      ),
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

const BARRIER_OPTIONS = optionNames<BarrierOptions>({ host: true, action: true, timeout: true });

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
export class Barrier extends Primitive {
  constructor(parties: number, options?: BarrierOptions);
  /** @internal A revived barrier: the reference its handle stands for. */
  constructor(ref: Reference);
  constructor(parties: number | Reference, options: BarrierOptions = {}) {
    if (parties instanceof Reference) {
      super(parties);
      return;
    }
    if (typeof parties !== 'number' || !Number.isInteger(parties) || parties < 1) throw invalidRange(`new Barrier(parties): parties must be an integer >= 1, got ${String(parties)}`);
    const host = hostOf(options, 'new Barrier(parties, options)', BARRIER_OPTIONS);
    if (options?.action !== undefined && typeof options.action !== 'function') throw invalidArg('new Barrier(): action must be a function');
    const timeout = checkTimeout(options?.timeout, 'new Barrier()');
    super(hosted('barrier', () => new BarrierCore(parties, options?.action, timeout), { parties }, host));
  }

  /** Number of parties needed to trip the barrier. */
  get parties(): number {
    return this.meta.parties as number;
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
      return this.call('wait', [t === undefined && given ? Infinity : t], { signal }) as Promise<number>;
    });
  }

  /** Break the barrier: current and future waiters reject. Python: Barrier.abort(). */
  abort(): Promise<void> {
    return this.call('abort', []) as Promise<void>;
  }

  /** Break it for current waiters, then make it usable again. Python: Barrier.reset(). */
  reset(): Promise<void> {
    return this.call('reset', []) as Promise<void>;
  }

  /** Parties currently waiting. Python: Barrier.n_waiting. */
  nWaiting(): Promise<number> {
    return this.call('nWaiting', []) as Promise<number>;
  }

  /** Whether the barrier is broken. Python: Barrier.broken. */
  broken(): Promise<boolean> {
    return this.call('broken', []) as Promise<boolean>;
  }

  get [Symbol.toStringTag](): string {
    return 'Barrier';
  }
}

/** Each kind's class name (for messages) and class (for its reviver). */
const NOUNS: Record<string, [string, new (ref: Reference) => object]> = {
  lock: ['Lock', Lock],
  rlock: ['RLock', RLock],
  semaphore: ['Semaphore', Semaphore],
  'bounded-semaphore': ['BoundedSemaphore', BoundedSemaphore],
  event: ['Event', Event],
  condition: ['Condition', Condition],
  barrier: ['Barrier', Barrier],
};

for (const [kind, [, Cls]] of Object.entries(NOUNS)) {
  registerReviver(kind, (handle) => new Cls(Reference.revive(handle, optionsOf(kind))), here);
}
