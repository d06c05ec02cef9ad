// Value, Array, RawValue, RawArray: numbers shared between processes outside a Manager, as
// Python's multiprocessing.sharedctypes. Host side (SharedCore, in the process that created
// the object) and proxy side (SharedValue, SharedArray, in any process that holds one).
//
// Node processes share no memory, so the numbers live in the creating process, in a typed
// array of the C type of their typecode (src/queue/typecodes.ts), registered on its host like
// a Queue; every read or write is one call of that core, direct in that process and over the
// host's socket elsewhere. A value passes to a Process, a Pool's initargs or a task as a
// handle, and arrives working.
//
// The lock: `lock: true` (the default) makes a new RLock, as Python does; a given Lock or
// RLock must be hosted in the same process (as a Condition's), because the host honours it:
// get() and set() of a synchronized object wait while another process holds its lock, exactly
// as Python's Synchronized takes the lock around each access, and run at once for the
// process that holds it (Python would deadlock there with a plain Lock). Each access is atomic
// on its own; `v.set(await v.get() + 1)` is two accesses, and other processes may write in
// between unless the caller holds getLock() around both, which is the point of Python's
// tutorial: with the lock four processes count to exactly 40,000, without it they lose updates.
// A handle carries the lock's own handle in its meta, so the lock arrives with the value.

import { invalidArg, invalidRange, InvalidStateError, QueueClosed } from '../errors.ts';
import { checkOptionNames, optionNames } from '../options.ts';
import type { Handle } from '../protocol/index.ts';
import { moduleFile } from '../runtime.ts';
import { isHandle, noteShareable, registerReviver, reviveHandles, toHandle, type Shareable } from '../remote/handle.ts';
import { localHost, type CallContext, type Host } from '../remote/host.ts';
import { formatAddress } from '../remote/link.ts';
import { Reference, type ReferenceOptions } from '../remote/reference.ts';
import type { LockCore } from './sync-cores.ts';
import { Lock, lockCoreOf, RLock } from './sync.ts';
import { checkTypecode, checkValue, storage, type InputOf, type Typecode, type ValueOf } from './typecodes.ts';

/** This module, named in the handles of the kinds it revives (see registerReviver). */
const here = moduleFile();

const KIND_VALUE = 'shared-value';
const KIND_ARRAY = 'shared-array';
const EXPOSED = ['getItem', 'setItem', 'slice', 'setSlice'] as const;

// ---------------------------------------------------------------------------------------
// Host side

/** The numbers themselves, in the creating process; `lock` is honoured by synchronized accesses. */
class SharedCore {
  readonly typecode: Typecode;
  readonly data: ReturnType<typeof storage>;
  readonly lock: LockCore | null;

  constructor(typecode: Typecode, data: ReturnType<typeof storage>, lock: LockCore | null) {
    this.typecode = typecode;
    this.data = data;
    this.lock = lock;
  }

  /**
   * Run `fn` as Python's Synchronized does an access: under the lock. The host runs `fn` at
   * once (it is synchronous, nothing can interleave) unless another process holds the lock;
   * then it waits its turn among the lock's waiters, takes the lock, runs `fn` and lets go.
   */
  #guard<R>(ctx: CallContext, synced: boolean, fn: () => R): R | Promise<R> {
    const lock = this.lock;
    if (!synced || lock === null || lock.holder === null || lock.holder === ctx.connection) return fn();
    return Promise.resolve(lock.lock(ctx, {})).then(() => {
      try {
        return fn();
      } finally {
        lock.release(ctx);
      }
    });
  }

  #index(i: unknown): number {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= this.data.length) throw invalidRange(`index ${String(i)} out of range for a shared array of length ${this.data.length} (Python: IndexError)`);
    return i;
  }

  getItem(ctx: CallContext, synced: boolean, i: number): number | bigint | Promise<number | bigint> {
    const at = this.#index(i);
    return this.#guard(ctx, synced, () => this.data[at]!);
  }

  setItem(ctx: CallContext, synced: boolean, i: number, value: unknown): void | Promise<void> {
    const at = this.#index(i);
    const v = checkValue(this.typecode, value, 'set()');
    return this.#guard(ctx, synced, () => {
      // The typed array converts as the C type does (wraparound, float rounding).
      (this.data as unknown as Array<number | bigint>)[at] = v;
    });
  }

  /** Values from `start` to `end` (already clamped by the caller; checked again here). */
  slice(ctx: CallContext, synced: boolean, start: number, end: number): Array<number | bigint> | Promise<Array<number | bigint>> {
    const [s, e] = this.#range(start, end);
    return this.#guard(ctx, synced, () => Array.from(this.data.subarray(s, e) as ArrayLike<number | bigint>));
  }

  /** Replace values from `start` with `values` (checked by the caller; again here). */
  setSlice(ctx: CallContext, synced: boolean, start: number, values: unknown[]): void | Promise<void> {
    if (!Array.isArray(values)) throw invalidArg('setSlice(): values must be an array');
    const [s] = this.#range(start, start + values.length);
    const checked = values.map((v) => checkValue(this.typecode, v, 'setSlice()'));
    return this.#guard(ctx, synced, () => {
      for (let k = 0; k < checked.length; k++) (this.data as unknown as Array<number | bigint>)[s + k] = checked[k]!;
    });
  }

  #range(start: unknown, end: unknown): [number, number] {
    const n = this.data.length;
    if (typeof start !== 'number' || typeof end !== 'number' || !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
      throw invalidRange(`range ${String(start)}..${String(end)} out of bounds for a shared array of length ${n}`);
    }
    return [start, end];
  }
}

// ---------------------------------------------------------------------------------------
// Proxy side

/** Options of Value(), Array() and their classes. */
export interface SharedOptions {
  /**
   * true: a new RLock guards each access and getLock() returns it (Python's default); false:
   * no lock (RawValue / RawArray; getLock() throws); or a Lock / RLock created in this process.
   * @default true
   */
  lock?: boolean | Lock | RLock;
  /** The host serving the object to other processes. @default this process's host (localHost()) */
  host?: Host;
}

const SHARED_OPTIONS = optionNames<SharedOptions>({ lock: true, host: true });

const REFERENCE: ReferenceOptions = {
  lost: (message, cause, method) => new QueueClosed(`shared value ${method ?? 'call'}(): ${message}; a Value or Array lives in the process that created it`, cause ? { cause } : undefined),
};

/** The revivers and getObj() pass this to the constructors; nothing else can. */
const CREATE: unique symbol = Symbol('multiproc.sharedctypes');

interface Parts {
  ref: Reference;
  lock: Lock | RLock | null;
  /** Accesses honour the lock (false: a raw object, or a getObj() view). */
  synced: boolean;
  /**
   * null: the object built from these parts holds the reference (binds it). A getObj() view
   * keeps the object it came from instead, which holds the reference.
   */
  keep: object | null;
}

/** Register a new core on `host`: the parts of a new object (which binds the reference). */
function create(kind: string, typecode: Typecode, data: ReturnType<typeof storage>, options: SharedOptions | undefined, what: string): Parts {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArg(`${what}: options must be an object like { lock: false }`);
  checkOptionNames(options, SHARED_OPTIONS, what);
  const host = options?.host ?? localHost();
  const given = options?.lock ?? true;
  let lock: Lock | RLock | null;
  if (given === true) lock = new RLock({ host });
  else if (given === false) lock = null;
  else if (given instanceof Lock || given instanceof RLock) lock = given;
  else throw invalidArg(`${what}: lock must be true, false, a Lock or an RLock`);
  const lockCore = lock === null ? null : lockCoreOf(lock, host);
  if (lock !== null && lockCore === null) {
    throw invalidArg(`${what}: the lock must be a Lock or RLock created in this process (on the same host as the value), which can then honour it; pass lock: true for a new one`);
  }
  const id = host.register(new SharedCore(typecode, data, lockCore), { kind, exposed: EXPOSED, context: true, meta: { typecode, length: data.length } });
  return { ref: Reference.hosted(host, id, REFERENCE), lock, synced: lock !== null, keep: null };
}

/** The lock a handle carries (its own handle, in meta.lock): revived only when it lives where the value does. */
function reviveLock(handle: Handle): Lock | RLock | null {
  const inner = handle.meta?.lock;
  if (inner === undefined || inner === null) return null;
  if (!isHandle(inner) || inner.authkey !== handle.authkey || formatAddress(inner.address) !== formatAddress(handle.address)) {
    // The lock of a Value always lives on the Value's host: anything else is not ours to dial.
    throw invalidArg('a shared value handle names a lock on another host; refusing it');
  }
  const lock = reviveHandles(inner);
  if (!(lock instanceof Lock) && !(lock instanceof RLock)) throw invalidArg("a shared value handle's lock is not a Lock or RLock");
  return lock;
}

function revived(handle: Handle): Parts {
  const lock = reviveLock(handle);
  return { ref: Reference.revive(handle, REFERENCE), lock, synced: lock !== null, keep: null };
}

/** What SharedValue and SharedArray share: the reference, the lock, the handle. */
abstract class SharedObject<T extends Typecode> implements Shareable {
  readonly #parts: Parts;
  /** The typecode (Python's array module). */
  readonly typecode: T;

  protected constructor(parts: Parts) {
    this.#parts = parts;
    this.typecode = parts.ref.meta.typecode as T;
    // The object is held (on its host) for as long as this object, or a view of it, lives.
    if (parts.keep === null) parts.ref.bind(this);
    noteShareable();
  }

  /** The class name, for messages. */
  abstract get [Symbol.toStringTag](): string;

  /** The facts its handle carries (typecode, length). */
  protected get meta(): Readonly<Record<string, unknown>> {
    return this.#parts.ref.meta;
  }

  protected call(method: (typeof EXPOSED)[number], args: unknown[]): Promise<unknown> {
    return this.#parts.ref.call(method, [this.#parts.synced, ...args]);
  }

  protected checkValue(value: unknown, what: string): number | bigint {
    return checkValue(this.typecode, value, what);
  }

  /**
   * The same object without the lock: accesses through it never wait, even while another
   * process holds the lock. Python: Synchronized.get_obj(). Throws InvalidStateError for a raw
   * object (Python: AttributeError).
   */
  getObj(): this {
    if (!this.#parts.synced) throw this.#noLock('getObj()');
    // The view holds this object, which holds the reference.
    const Cls = this.constructor as new (token: typeof CREATE, parts: Parts) => this;
    return new Cls(CREATE, { ref: this.#parts.ref, lock: null, synced: false, keep: this });
  }

  #noLock(what: string): InvalidStateError {
    return new InvalidStateError(`${this[Symbol.toStringTag]}.${what}: this object has no lock (it was made with lock: false, RawValue / RawArray, or by getObj()); Python: AttributeError`);
  }

  /**
   * The lock that guards each access, to hold around several:
   * `await v.getLock().withLock(async () => v.set((await v.get()) + 1))`.
   * Python: Synchronized.get_lock(). Throws InvalidStateError for a raw object (Python: AttributeError).
   */
  getLock(): Lock | RLock {
    if (!this.#parts.synced || this.#parts.lock === null) throw this.#noLock('getLock()');
    return this.#parts.lock;
  }

  /** Acquire the lock: Python's `with value:` (Synchronized.acquire). See getLock(). */
  acquire(options?: Parameters<Lock['acquire']>[0]): Promise<boolean> {
    try {
      return this.getLock().acquire(options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Release the lock (Synchronized.release). */
  release(): Promise<void> {
    try {
      return this.getLock().release();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The handle another process revives into a working object (with its lock). */
  [toHandle](): Handle {
    const handle = this.#parts.ref.toHandle();
    const lock = this.#parts.synced && this.#parts.lock ? this.#parts.lock[toHandle]() : null;
    return { ...handle, meta: { ...handle.meta, lock } };
  }
}

/**
 * One number of a C type shared between processes, in the process that created it; made by
 * Value() (with a lock) or RawValue() (without), or `new SharedValue(typecode, init, options)`.
 * Python: multiprocessing.Value / RawValue (sharedctypes.Synchronized / a ctypes object) —
 * `.value` is async get() / set(); 64-bit typecodes hold bigint; 'c' and 'u' are refused.
 * Rejects with: TypeError (MP_INVALID_ARG: a value of the wrong kind), QueueClosed (the
 * creating process exited), InvalidStateError (getLock() of a raw value).
 *
 * @example
 * const counter = Value('i', 0);
 * await counter.getLock().withLock(async () => counter.set((await counter.get()) + 1));
 */
export class SharedValue<T extends Typecode = Typecode> extends SharedObject<T> {
  /**
   * @param typecode One of b B h H i I l L q Q f d (Python's array module).
   * @param init The initial value. @default 0 (0n for 64-bit typecodes)
   * Throws TypeError (MP_INVALID_ARG) for another typecode, a bad init or bad options.
   */
  constructor(typecode: T, init?: InputOf<T>, options?: SharedOptions);
  /** @internal A revived value, or a getObj() view. */
  constructor(token: typeof CREATE, parts: Parts);
  constructor(typecode: T | typeof CREATE, init?: InputOf<T> | Parts, options?: SharedOptions) {
    if (typecode === CREATE) {
      super(init as Parts);
      return;
    }
    const code = checkTypecode(typecode, `Value('${String(typecode)}')`);
    const data = storage(code, 1);
    if (init !== undefined) (data as unknown as Array<number | bigint>)[0] = checkValue(code, init, `Value('${code}', init)`);
    super(create(KIND_VALUE, code, data, options, `Value('${code}')`));
  }

  /** The value. Python: `v.value` (read). */
  get(): Promise<ValueOf<T>> {
    return this.call('getItem', [0]) as Promise<ValueOf<T>>;
  }

  /** Store `value`, converted as the C type would (integers wrap, 'f' rounds to float32). Python: `v.value = x`. */
  set(value: InputOf<T>): Promise<void> {
    try {
      return this.call('setItem', [0, this.checkValue(value, 'set()')]) as Promise<void>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  get [Symbol.toStringTag](): string {
    return 'SharedValue';
  }
}

/** Python's slice bounds: negative counts from the end, out-of-range clamps. */
function clamp(index: number | undefined, length: number, fallback: number, what: string): number {
  if (index === undefined) return fallback;
  if (typeof index !== 'number' || !Number.isInteger(index)) throw invalidArg(`${what}: a slice bound must be an integer, got ${String(index)}`);
  return index < 0 ? Math.max(0, length + index) : Math.min(index, length);
}

/**
 * A fixed-length array of numbers of a C type shared between processes, in the process that
 * created it; made by Array() (with a lock) or RawArray() (without), or
 * `new SharedArray(typecode, sizeOrInit, options)`.
 * Python: multiprocessing.Array / RawArray (sharedctypes.SynchronizedArray / a ctypes
 * array) — `a[i]` is async get(i) / set(i, v), `a[i:j]` slice(i, j), `a[i:j] = xs`
 * setSlice(i, j, xs), `len(a)` length; negative indexes count from the end, as in Python;
 * 64-bit typecodes hold bigint.
 * Rejects with: RangeError (MP_INVALID_ARG: an index out of range, Python's IndexError; a
 * slice of another size, Python's ValueError), TypeError (a value of the wrong kind),
 * QueueClosed (the creating process exited), InvalidStateError (getLock() of a raw array).
 *
 * @example
 * const totals = new SharedArray('d', 4);   // Array('d', 4), as Python writes it
 * await totals.set(2, 1.5);
 * console.log(await totals.toArray());   // [0, 0, 1.5, 0]
 */
export class SharedArray<T extends Typecode = Typecode> extends SharedObject<T> {
  /** Number of items (fixed). Python: len(a). */
  readonly length: number;

  /**
   * @param typecode One of b B h H i I l L q Q f d (Python's array module).
   * @param sizeOrInit A length (zeros), or the initial values (an array or any iterable).
   * Throws TypeError / RangeError (MP_INVALID_ARG) for another typecode, a bad size or value,
   * or bad options.
   */
  constructor(typecode: T, sizeOrInit: number | Iterable<InputOf<T>>, options?: SharedOptions);
  /** @internal A revived array, or a getObj() view. */
  constructor(token: typeof CREATE, parts: Parts);
  constructor(typecode: T | typeof CREATE, sizeOrInit: number | Iterable<InputOf<T>> | Parts, options?: SharedOptions) {
    if (typecode === CREATE) {
      super(sizeOrInit as Parts);
    } else {
      const code = checkTypecode(typecode, `Array('${String(typecode)}')`);
      const what = `Array('${code}')`;
      let data: ReturnType<typeof storage>;
      if (typeof sizeOrInit === 'number') {
        if (!Number.isInteger(sizeOrInit) || sizeOrInit < 0) throw invalidRange(`${what}: the size must be an integer >= 0, got ${sizeOrInit}`);
        data = storage(code, sizeOrInit);
      } else if (typeof sizeOrInit === 'object' && sizeOrInit !== null && typeof (sizeOrInit as Iterable<unknown>)[Symbol.iterator] === 'function') {
        const values = [...(sizeOrInit as Iterable<unknown>)].map((v, i) => checkValue(code, v, `${what} item ${i}`));
        data = storage(code, values.length);
        for (let i = 0; i < values.length; i++) (data as unknown as Array<number | bigint>)[i] = values[i]!;
      } else {
        throw invalidArg(`${what}: the second argument must be a size or the initial values (an array or iterable), got ${sizeOrInit === null ? 'null' : typeof sizeOrInit}`);
      }
      super(create(KIND_ARRAY, code, data, options, what));
    }
    this.length = this.meta.length as number;
  }

  #index(i: number, what: string): number {
    if (typeof i !== 'number' || !Number.isInteger(i)) throw invalidArg(`${what}: the index must be an integer, got ${String(i)}`);
    const at = i < 0 ? this.length + i : i;
    if (at < 0 || at >= this.length) throw invalidRange(`${what}: index ${i} out of range for length ${this.length} (Python: IndexError: invalid index)`);
    return at;
  }

  /** The item at `index` (negative: from the end). Python: a[i]. */
  get(index: number): Promise<ValueOf<T>> {
    try {
      return this.call('getItem', [this.#index(index, 'get()')]) as Promise<ValueOf<T>>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Store `value` at `index`, converted as the C type would. Python: a[i] = v. */
  set(index: number, value: InputOf<T>): Promise<void> {
    try {
      return this.call('setItem', [this.#index(index, 'set()'), this.checkValue(value, 'set()')]) as Promise<void>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Items from `start` up to `end` (Python's slice rules: negative from the end, clamped). Python: a[start:end]. */
  slice(start?: number, end?: number): Promise<Array<ValueOf<T>>> {
    try {
      const s = clamp(start, this.length, 0, 'slice()');
      const e = Math.max(s, clamp(end, this.length, this.length, 'slice()'));
      return this.call('slice', [s, e]) as Promise<Array<ValueOf<T>>>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Every item, as an array. Python: a[:]. */
  toArray(): Promise<Array<ValueOf<T>>> {
    return this.slice();
  }

  /**
   * Replace items `start` up to `end` with `values`, which must be exactly that many (one
   * atomic write). Python: a[start:end] = values (ValueError for another size).
   */
  setSlice(start: number | undefined, end: number | undefined, values: Iterable<InputOf<T>>): Promise<void> {
    try {
      const s = clamp(start, this.length, 0, 'setSlice()');
      const e = Math.max(s, clamp(end, this.length, this.length, 'setSlice()'));
      if (typeof values !== 'object' || values === null || typeof (values as Iterable<unknown>)[Symbol.iterator] !== 'function') throw invalidArg('setSlice(): values must be an array or iterable');
      const list = [...values].map((v, i) => this.checkValue(v, `setSlice() item ${i}`));
      if (list.length !== e - s) throw invalidRange(`setSlice(${s}, ${e}): ${list.length} values for ${e - s} places (Python: ValueError: Can only assign sequence of same size)`);
      return this.call('setSlice', [s, list]) as Promise<void>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  get [Symbol.toStringTag](): string {
    return 'SharedArray';
  }
}

/**
 * A number shared between processes, guarded by a lock (by default a new RLock).
 * Python: multiprocessing.Value(typecode_or_type, *args, lock=True) — see SharedValue.
 * Throws TypeError (MP_INVALID_ARG) for an unknown typecode, a bad init or lock.
 *
 * @example
 * const v = Value('i', 0);
 * await v.getLock().withLock(async () => v.set((await v.get()) + 1));
 */
export function Value<T extends Typecode>(typecode: T, init?: InputOf<T>, options?: SharedOptions): SharedValue<T> {
  return new SharedValue(typecode, init, options);
}

/**
 * A number shared between processes, without a lock. Python: multiprocessing.RawValue.
 * Throws TypeError (MP_INVALID_ARG) for an unknown typecode or a bad init.
 */
export function RawValue<T extends Typecode>(typecode: T, init?: InputOf<T>, options?: Omit<SharedOptions, 'lock'>): SharedValue<T> {
  return new SharedValue(typecode, init, { ...options, lock: false });
}

/**
 * An array of numbers shared between processes, guarded by a lock (by default a new RLock).
 * Exported as `Array`, Python's name; imported by that name it hides the global Array in the
 * importing module, so alias it (`import { Array as SharedArrayOf } from 'multiproc'`) or use
 * `new SharedArray(typecode, sizeOrInit, options)`, which is the same.
 * Python: multiprocessing.Array(typecode_or_type, size_or_initializer, lock=True).
 * Throws TypeError / RangeError (MP_INVALID_ARG) for an unknown typecode, a bad size or value.
 *
 * @example
 * import { Array as SharedArrayOf } from 'multiproc';
 * const a = SharedArrayOf('i', [1, 2, 3]);
 * await a.set(-1, 30);
 */
export function sharedArray<T extends Typecode>(typecode: T, sizeOrInit: number | Iterable<InputOf<T>>, options?: SharedOptions): SharedArray<T> {
  return new SharedArray(typecode, sizeOrInit, options);
}

/**
 * An array of numbers shared between processes, without a lock. Python: multiprocessing.RawArray.
 * Throws TypeError / RangeError (MP_INVALID_ARG) for an unknown typecode, a bad size or value.
 */
export function RawArray<T extends Typecode>(typecode: T, sizeOrInit: number | Iterable<InputOf<T>>, options?: Omit<SharedOptions, 'lock'>): SharedArray<T> {
  return new SharedArray(typecode, sizeOrInit, { ...options, lock: false });
}

registerReviver(KIND_VALUE, (handle) => new SharedValue(CREATE, revived(handle)), here);
registerReviver(KIND_ARRAY, (handle) => new SharedArray(CREATE, revived(handle)), here);
