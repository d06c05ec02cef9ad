// Proxies of objects a Manager hosts: ListProxy, DictProxy, NamespaceProxy, ValueProxy,
// ArrayProxy and the method proxy of registered types. Proxy side: they run in any process
// that holds one (the manager's owner, its children, grandchildren, pool workers, a client
// on another machine), and in the manager server itself when managed objects nest.
//
// A proxy holds a Reference (src/remote/reference.ts), like every shared object:
//   remote  the usual case: calls go through this process's one HostClient connection to
//           the manager's host (src/remote/client.ts), many in flight, coalesced per tick;
//   local   the handle points at a host of this very process (the manager server reviving
//           a dict stored in one of its lists, or a getServer() process): direct calls, with
//           values copied exactly as the wire would copy them (the reference's `copy`).
// Pipelined writes ("batch where safe"): a write that cannot fail in the server once this
// side has checked its arguments (append, extend and iadd, insert, clear, reverse, dict set/
// update/clear, namespace and value set) goes out as a one-way frame and resolves as soon as that
// frame is handed to the operating system, instead of after a reply; a later call's reply
// confirms it (the connection is ordered). So a loop of `await lst.append(x)` costs one
// write per item, not one round trip. What stays true, as with Python's synchronous proxies:
//   - calls of one process to one manager are applied in the order they were made (one
//     connection, one event loop serving it), so every later call of this process sees them;
//   - another process that learns of the write through any channel afterwards and then asks
//     the manager sees it too: the write's bytes reached the manager's socket first, and the
//     manager reads ready sockets in the order they became ready, each to the end;
//   - a child process has every pipelined write confirmed before it exits.
// Not pipelined: the first call on a connection (the handshake must be done first), large
// values (over 16 KiB: they could linger in this process's socket buffer), a 257th write in
// a row (its reply confirms the others: backpressure), and anything that can fail in the
// server. HostClient confirms what is unconfirmed before a graceful exit (a 'sync' round
// trip) and the exit hooks write it on any exit; if the manager dies with writes unconfirmed,
// the next call rejects with ManagerError as always, and a process about to exit says so
// (MP_UNCONFIRMED warning).
//
// Reference counting (Python's BaseProxy._incref/_decref) is the Reference's: a revived proxy
// claims the transit lease its handle came with and holds one reference until it is garbage
// collected; serializing a proxy for another process takes a new lease first.
//
// Importing this module registers the revivers of every manager kind; a handle names the
// module that registers its reviver, so a child that receives one imports it then.

import { serialize } from 'node:v8';
import { ManagerError, ReleasedError, RemoteError, invalidArg } from '../errors.ts';
import type { Handle } from '../protocol/index.ts';
import { moduleFile } from '../runtime.ts';
import { noteShareable, registerReviver, toHandle, type Shareable } from '../remote/handle.ts';
import { Reference, type ReferenceOptions } from '../remote/reference.ts';
import { describe, isIterable } from '../util.ts';

/** This module, named in the handles of the kinds it revives (see registerReviver). */
const here = moduleFile();
import { checkKey, NO_SORT_KEY, PROXY_IDENTITY, SERVED_METHODS, type ManagedTypeid, type SortOptions } from './objects.ts';

export { PROXY_IDENTITY } from './objects.ts';

/** Handle kinds of manager objects (what `handle.kind` says, picking the proxy class). */
export const KINDS = {
  list: 'manager.list',
  dict: 'manager.dict',
  namespace: 'manager.namespace',
  value: 'manager.value',
  array: 'manager.array',
  object: 'manager.object',
} as const;

/** The error a call rejects with when the manager cannot be reached any more. */
export function managerLost(message: string, cause: Error | undefined): Error {
  return new ManagerError(`${message.replace('the process hosting this object', 'the manager process')}; the manager was shut down or died (Python: EOFError / ConnectionRefusedError)`, cause ? { cause } : undefined);
}

/** Most pipelined writes of one connection before a call must confirm they were applied. */
const WINDOW = 256;
/** Largest serialized arguments (bytes) a write may have and still be pipelined. */
const SMALL = 16 * 1024;
const RESOLVED = Promise.resolve(undefined);

/** Small enough to pipeline: primitives and short strings at once, anything else measured. */
function small(args: unknown[]): boolean {
  let measure = false;
  for (const a of args) {
    if (typeof a === 'string') {
      if (a.length > SMALL / 4) return false;
    } else if (typeof a === 'object' && a !== null) {
      measure = true;
    } else if (typeof a === 'function' || typeof a === 'symbol') {
      return false; // the real call reports the SerializationError
    }
  }
  if (!measure) return true;
  try {
    return serialize(args).length <= SMALL;
  } catch {
    return false;
  }
}

/** How an error names the call: `list.get()`. */
function what(kind: string, method: string): string {
  return `${kind.replace('manager.', '')}.${method}()`;
}

/** The Reference options of each manager kind: ManagerError when lost, copies for local calls, errors translated. */
const referenceOptions = new Map<string, ReferenceOptions>();

function optionsOf(kind: string): ReferenceOptions {
  let options = referenceOptions.get(kind);
  if (!options) {
    options = { lost: managerLost, copy: true, mapError: (err, method) => translate(err, what(kind, method)) };
    referenceOptions.set(kind, options);
  }
  return options;
}

/**
 * Errors from the server, as the caller should see them: an index out of range is a
 * RangeError and a bad argument a TypeError (the server's own error is the `cause`), a
 * released object or a lost connection is a ManagerError; anything else (a `KeyError`-named
 * RemoteError carrying `key`, an error a registered type threw) passes through.
 */
export function translate(err: unknown, what: string): Error {
  if (err instanceof RemoteError && (err.remoteName === 'RangeError' || err.remoteName === 'TypeError')) {
    const Cls = err.remoteName === 'RangeError' ? RangeError : TypeError;
    const out = new Cls(`${what}: ${err.message}`, { cause: err });
    Object.assign(out, err.properties);
    return out;
  }
  if (err instanceof ReleasedError) {
    return new ManagerError(`${what}: the managed object was freed by the manager (every reference to it was dropped)`, { cause: err });
  }
  if (err instanceof Error) return err;
  return new ManagerError(`${what} failed: ${String(err)}`);
}

/** Calls a proxy's object; assigned in BaseProxy's static block (the reference is #private). */
let invoke: (proxy: BaseProxy, method: string, args: unknown[]) => Promise<unknown>;
/**
 * A write that cannot fail in the server once its arguments passed the checks here: sent
 * one way when it may be (see the header), a call otherwise.
 */
let pipelined: (proxy: BaseProxy, method: string, args: unknown[]) => Promise<unknown>;
/** Reads the facts a proxy's handle carried (`handle.meta`); assigned in the same block. */
let metaOf: (proxy: BaseProxy) => Readonly<Record<string, unknown>>;

/**
 * What every manager proxy shares: it is a handle plus a connection, it passes to other
 * processes like any handle (Process args, pool initargs, task arguments, other managed
 * objects) and it keeps its object alive while it exists.
 * Python: multiprocessing.managers.BaseProxy — every method is async here.
 * Rejects with: ManagerError when the manager was shut down or died.
 */
export class BaseProxy implements Shareable {
  readonly #ref: Reference;

  /** @internal Proxies are made by manager factories and by reviving handles, not by `new`. */
  constructor(ref: Reference) {
    if (!(ref instanceof Reference)) throw invalidArg('manager proxies are made by a manager (manager.list(), manager.dict()…), not with new');
    this.#ref = ref;
    ref.bind(this);
    noteShareable();
  }

  static {
    metaOf = (proxy) => proxy.#ref.meta;
    invoke = (proxy, method, args) => proxy.#ref.call(method, args);
    pipelined = (proxy, method, args) => {
      const ref = proxy.#ref;
      const client = ref.client;
      // Not pipelined: a local object (the call is direct anyway), before the handshake is
      // done (frames would wait in this process), past the window (this call's reply
      // confirms the writes before it: backpressure), and large values.
      if (client === null || !client.open || client.unconfirmed >= WINDOW || !small(args)) return ref.call(method, args);
      try {
        // One-way: no reply to wait for. A value that cannot be serialized throws here, at
        // the caller.
        ref.notify(method, args);
      } catch (err) {
        return Promise.reject(ref.options.mapError!(err, method));
      }
      // The connection queued its flush during notify(), so that flush runs before the
      // caller's continuation: the frame is with the operating system when the caller goes on.
      return RESOLVED;
    };
  }

  /**
   * Call the managed object's method `name` with `args`, as one atomic call in the manager,
   * and resolve with what it returned: the way to reach a method this class does not wrap
   * (a registered type's method named like a BaseProxy member, say). Only the methods the
   * server exposes may be called: for a built-in object its class's methods, for a
   * registered type its public methods or the `exposed` list given to `register`.
   * Python: BaseProxy._callmethod(methodname, args).
   * Rejects with TypeError (MP_INVALID_ARG: a name the server does not expose, naming the
   * exposed ones; `args` not an array), whatever the method threw, ManagerError.
   *
   * @example
   * const n = await lst.callMethod<number>('count', [1]); // same as lst.count(1)
   */
  callMethod<R = unknown>(name: string, args: readonly unknown[] = []): Promise<R> {
    if (typeof name !== 'string') return Promise.reject(invalidArg(`callMethod(name, args): name must be a method name (a string), got ${typeof name}`));
    if (!Array.isArray(args)) return Promise.reject(invalidArg(`callMethod('${name}', args): args must be an array of arguments, got ${typeof args}`));
    const { typeid, methods } = exposedOf(this);
    if (!methods.includes(name)) {
      return Promise.reject(invalidArg(`${this.constructor.name}.callMethod('${name}'): the manager does not expose a method '${name}' on ${typeid}; exposed: ${methods.join(', ') || 'none'}`));
    }
    return this.#ref.call(name, [...args]) as Promise<R>;
  }

  /** The handle another process revives into a working proxy (takes a transit lease). */
  [toHandle](): Handle {
    return this.#ref.toHandle();
  }

  /** @internal Equality of proxies inside the server, without side effects. */
  get [PROXY_IDENTITY](): string {
    return this.#ref.identity;
  }

  get [Symbol.toStringTag](): string {
    return this.constructor.name;
  }

  /** What `console.log(proxy)` shows: the class and which object of which manager. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `${this.constructor.name} <${this.#ref.identity}>`;
  }
}

/** Slice size for async iteration: one round trip per this many items. */
const CHUNK = 1024;

/** A slice bound or step: an integer, or null/undefined for Python's None (the default). */
export type SliceBound = number | null | undefined;

/** `values` as an array to send (a Set, a generator…), or a TypeError naming the call. */
function arrayOf<T>(values: Iterable<T>, what: string): T[] {
  if (Array.isArray(values)) return values;
  if (!isIterable(values)) throw invalidArg(`${what}: values must be an array or another iterable, got ${describe(values)}`);
  return [...values];
}

/** Options of `ListProxy.sort()`. */
export type ListSortOptions = SortOptions;

/**
 * What a list and a typed array in the manager have in common: a length, slices, a copy and
 * iteration in slices. Not created directly; ListProxy and ArrayProxy extend it.
 */
export abstract class SequenceProxy<T> extends BaseProxy {
  /** Number of items. Python: `len(seq)`. */
  len(): Promise<number> {
    return invoke(this, 'len', []) as Promise<number>;
  }
  /**
   * A copy of the items the slice selects, with Python's rules: negative bounds count from
   * the end, bounds out of range are clamped, a missing (or null) bound defaults by the
   * step's sign, a negative step walks backwards.
   * Python: `seq[start:stop:step]` (`slice(null, null, -1)` is `seq[::-1]`).
   * Rejects with RangeError (a zero step, Python's ValueError), TypeError (a bound that is not an integer).
   */
  slice(start?: SliceBound, stop?: SliceBound, step?: SliceBound): Promise<T[]> {
    return invoke(this, 'slice', step === undefined ? [start, stop] : [start, stop, step]) as Promise<T[]>;
  }
  /** A copy of every item, in one round trip. Python: `seq[:]` / `list(seq)`. */
  toArray(): Promise<T[]> {
    return invoke(this, 'toArray', []) as Promise<T[]>;
  }
  /**
   * Iterate the items, fetched in slices of 1024 (one round trip each).
   * Python: `for x in seq` — like Python, items added or removed meanwhile may be seen or skipped.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (let start = 0; ; start += CHUNK) {
      const chunk = await this.slice(start, start + CHUNK);
      yield* chunk;
      if (chunk.length < CHUNK) return;
    }
  }
}

/**
 * A list living in the manager process. Every call is one atomic operation there.
 * Python: multiprocessing.managers.ListProxy — `lst[i]` is `get(i)`, `lst[i] = v` is
 * `set(i, v)`, `len(lst)` is `len()`, `lst[a:b:c]` is `slice(a, b, c)`, `lst[a:b] = xs` is
 * `setSlice(a, b, xs)`, `del lst[a:b:c]` is `deleteSlice(a, b, c)`, `lst += xs` is `iadd(xs)`,
 * `lst *= n` is `imul(n)`; negative indices count from the end; `sort()` takes no key.
 * Rejects with: RangeError (index out of range, `remove`/`index` of a missing value; the
 * server's error is the `cause`), ManagerError (manager gone), SerializationError (a value
 * that cannot cross).
 *
 * @example
 * const lst = await manager.list<number>([1, 2]);
 * await lst.append(3);
 * console.log(await lst.get(-1), await lst.len()); // 3 3
 */
export class ListProxy<T = unknown> extends SequenceProxy<T> {
  /** Add `value` at the end. Python: list.append. */
  append(value: T): Promise<void> {
    return pipelined(this, 'append', [value]) as Promise<void>;
  }
  /** Add every value of `values` at the end, in one round trip. Python: list.extend. Rejects with TypeError when `values` is not iterable. */
  extend(values: Iterable<T>): Promise<void> {
    try {
      return pipelined(this, 'extend', [arrayOf(values, 'list.extend()')]) as Promise<void>;
    } catch (err) {
      return Promise.reject(err);
    }
  }
  /**
   * Add every value of `values` at the end (the same call as `extend`).
   * Python: `lst += values` (ListProxy.__iadd__) — resolves to nothing; the proxy is unchanged.
   */
  iadd(values: Iterable<T>): Promise<void> {
    try {
      return pipelined(this, 'extend', [arrayOf(values, 'list.iadd()')]) as Promise<void>;
    } catch (err) {
      return Promise.reject(err);
    }
  }
  /**
   * Repeat the items `n` times in place, atomically; `n` below 1 empties the list.
   * Python: `lst *= n` (ListProxy.__imul__) — resolves to nothing.
   * Rejects with TypeError (`n` not an integer), RangeError (the result would be too long).
   */
  imul(n: number): Promise<void> {
    return invoke(this, 'imul', [n]) as Promise<void>;
  }
  /**
   * Replace the items a slice selects by `values`, atomically. Without a step (or step 1)
   * any number of values may replace the slice, so the list grows or shrinks
   * (`setSlice(null, null, xs)` replaces everything, `setSlice(2, 2, xs)` inserts at 2).
   * With another step, `values` must have exactly as many items as the slice selects.
   * Python: `lst[start:stop] = values` / `lst[start:stop:step] = values`.
   * Rejects with RangeError (an extended slice of another size, Python's ValueError; a zero
   * step), TypeError (a bound that is not an integer, `values` not iterable).
   */
  setSlice(start: SliceBound, stop: SliceBound, values: Iterable<T>): Promise<void>;
  setSlice(start: SliceBound, stop: SliceBound, step: SliceBound, values: Iterable<T>): Promise<void>;
  setSlice(start: SliceBound, stop: SliceBound, ...rest: [Iterable<T>] | [SliceBound, Iterable<T>]): Promise<void> {
    try {
      const args = rest.length >= 2 ? [start, stop, rest[0], arrayOf(rest[1] as Iterable<T>, 'list.setSlice()')] : [start, stop, arrayOf(rest[0] as Iterable<T>, 'list.setSlice()')];
      return invoke(this, 'setSlice', args) as Promise<void>;
    } catch (err) {
      return Promise.reject(err);
    }
  }
  /**
   * Remove the items a slice selects (Python's slice rules, as `slice()`), atomically.
   * Python: `del lst[start:stop:step]`.
   * Rejects with RangeError (a zero step), TypeError (a bound that is not an integer).
   */
  deleteSlice(start?: SliceBound, stop?: SliceBound, step?: SliceBound): Promise<void> {
    return invoke(this, 'deleteSlice', [start, stop, step]) as Promise<void>;
  }
  /**
   * Sort in place, atomically and stably, in ascending order (`{ reverse: true }`: descending,
   * equal items keeping their order). Orders as Python 3's `<` does: numbers and bigints
   * together (booleans as 0 and 1), strings by code point, arrays lexicographically; other
   * values, or values of two of these classes, reject with TypeError and leave the list as it
   * was. There is no `key` function: a function cannot cross to the manager process by value
   * (it would have to run there, without its closure). Sort a copy instead:
   * `const xs = await lst.toArray(); xs.sort(byKey); await lst.setSlice(null, null, xs)`
   * (under a manager lock if other processes write meanwhile).
   * Python: list.sort(reverse=…) — `key=` is not supported.
   * Rejects with TypeError (unorderable items, a `key` option).
   */
  sort(options?: ListSortOptions): Promise<void> {
    if (options !== undefined && options !== null && typeof options === 'object' && 'key' in options) return Promise.reject(invalidArg(NO_SORT_KEY));
    return invoke(this, 'sort', options === undefined ? [] : [options]) as Promise<void>;
  }
  /** The item at `index` (negative counts from the end). Python: `lst[index]`. Rejects with RangeError. */
  get(index: number): Promise<T> {
    return invoke(this, 'get', [index]) as Promise<T>;
  }
  /** Replace the item at `index`. Python: `lst[index] = value`. Rejects with RangeError. */
  set(index: number, value: T): Promise<void> {
    return invoke(this, 'set', [index, value]) as Promise<void>;
  }
  /** Remove and return the item at `index`. Python: list.pop. @default index -1 (the last). Rejects with RangeError. */
  pop(index?: number): Promise<T> {
    return invoke(this, 'pop', index === undefined ? [] : [index]) as Promise<T>;
  }
  /** Insert `value` before `index` (clamped to the list, as Python does). Python: list.insert. */
  insert(index: number, value: T): Promise<void> {
    return (Number.isInteger(index) ? pipelined : invoke)(this, 'insert', [index, value]) as Promise<void>;
  }
  /** Remove the first item equal to `value` (deep equality). Python: list.remove. Rejects with RangeError when absent. */
  remove(value: T): Promise<void> {
    return invoke(this, 'remove', [value]) as Promise<void>;
  }
  /** Position of the first item equal to `value` in [start, stop). Python: list.index. Rejects with RangeError when absent. */
  index(value: T, start?: number, stop?: number): Promise<number> {
    return invoke(this, 'index', [value, start, stop]) as Promise<number>;
  }
  /** How many items equal `value` (deep equality). Python: list.count. */
  count(value: T): Promise<number> {
    return invoke(this, 'count', [value]) as Promise<number>;
  }
  /** Whether an item equals `value`. Python: `value in lst`. */
  includes(value: T): Promise<boolean> {
    return invoke(this, 'includes', [value]) as Promise<boolean>;
  }
  /** Remove every item. Python: list.clear. */
  clear(): Promise<void> {
    return pipelined(this, 'clear', []) as Promise<void>;
  }
  /** Reverse in place. Python: list.reverse. */
  reverse(): Promise<void> {
    return pipelined(this, 'reverse', []) as Promise<void>;
  }
}

function validKey(key: unknown): boolean {
  try {
    checkKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Would `dict.update(arg)` succeed? (Then it may be pipelined; otherwise the server says why.) */
function validEntries(arg: unknown): boolean {
  if (arg instanceof Map || Array.isArray(arg)) {
    for (const entry of arg as Iterable<unknown>) if (!Array.isArray(entry) || entry.length !== 2 || !validKey(entry[0])) return false;
    return true;
  }
  return typeof arg === 'object' && arg !== null;
}

/** Keys a DictProxy accepts: compared by value after crossing processes. */
export type DictKey = string | number | bigint | boolean | null | undefined;

/**
 * A dict living in the manager process. Keys are primitives (string, number, bigint,
 * boolean, null, undefined), kept in insertion order.
 * Python: multiprocessing.managers.DictProxy — `get(key)` is `d[key]` and rejects with
 * KeyError when the key is missing, `get(key, fallback)` is `d.get(key, fallback)`;
 * `delete(key)` is `del d[key]`, `has(key)` is `key in d`, `for await (const k of d)` is
 * `for k in d`; `keys()`, `values()`, `items()` and `copy()` return local copies.
 * Rejects with: RemoteError named `KeyError` (its `key` property is the key) for a missing
 * key, TypeError for a key that is not a primitive, ManagerError (manager gone).
 *
 * @example
 * const d = await manager.dict<string, number>({ a: 1 });
 * await d.set('b', 2);
 * console.log(await d.get('b'), await d.get('zzz', 0)); // 2 0
 */
export class DictProxy<K extends DictKey = string, V = unknown> extends BaseProxy {
  /** The value of `key`; without `fallback` a missing key rejects with KeyError. Python: `d[key]` / `d.get(key, fallback)`. */
  get(key: K): Promise<V>;
  get<F>(key: K, fallback: F): Promise<V | F>;
  get(key: K, ...fallback: unknown[]): Promise<unknown> {
    return invoke(this, 'get', [key, ...fallback.slice(0, 1)]);
  }
  /** Set `key` to `value`. Python: `d[key] = value`. */
  set(key: K, value: V): Promise<void> {
    return (validKey(key) ? pipelined : invoke)(this, 'set', [key, value]) as Promise<void>;
  }
  /** Whether `key` is present. Python: `key in d`. */
  has(key: K): Promise<boolean> {
    return invoke(this, 'has', [key]) as Promise<boolean>;
  }
  /** Remove `key`. Python: `del d[key]`. Rejects with KeyError when missing. */
  delete(key: K): Promise<void> {
    return invoke(this, 'delete', [key]) as Promise<void>;
  }
  /** The keys, in insertion order. Python: `list(d.keys())`. */
  keys(): Promise<K[]> {
    return invoke(this, 'keys', []) as Promise<K[]>;
  }
  /** The values, in insertion order. Python: `list(d.values())`. */
  values(): Promise<V[]> {
    return invoke(this, 'values', []) as Promise<V[]>;
  }
  /** `[key, value]` pairs, in insertion order. Python: `list(d.items())`. */
  items(): Promise<[K, V][]> {
    return invoke(this, 'items', []) as Promise<[K, V][]>;
  }
  /** Set every pair of `other` (a plain object, a Map or `[key, value]` pairs) in one atomic step. Python: dict.update. */
  update(other: Partial<Record<K & string, V>> | Map<K, V> | Iterable<readonly [K, V]>): Promise<void> {
    const arg = other instanceof Map || Array.isArray(other) || typeof (other as Iterable<unknown>)[Symbol.iterator] !== 'function' ? other : [...(other as Iterable<readonly [K, V]>)];
    return (validEntries(arg) ? pipelined : invoke)(this, 'update', [arg]) as Promise<void>;
  }
  /** The value of `key`, first setting it to `value` when missing, atomically. Python: dict.setdefault. */
  setdefault(key: K, value: V): Promise<V> {
    return invoke(this, 'setdefault', [key, value]) as Promise<V>;
  }
  /** Remove `key` and return its value; a missing key rejects with KeyError unless `fallback` is given. Python: dict.pop. */
  pop(key: K): Promise<V>;
  pop<F>(key: K, fallback: F): Promise<V | F>;
  pop(key: K, ...fallback: unknown[]): Promise<unknown> {
    return invoke(this, 'pop', [key, ...fallback.slice(0, 1)]);
  }
  /** Remove and return the last inserted pair. Python: dict.popitem. Rejects with KeyError when empty. */
  popitem(): Promise<[K, V]> {
    return invoke(this, 'popitem', []) as Promise<[K, V]>;
  }
  /** Number of keys. Python: `len(d)`. */
  len(): Promise<number> {
    return invoke(this, 'len', []) as Promise<number>;
  }
  /** Remove every key. Python: dict.clear. */
  clear(): Promise<void> {
    return pipelined(this, 'clear', []) as Promise<void>;
  }
  /** A plain-object copy (keys as strings), in one round trip. Python: `dict(d)` / `d.copy()`. */
  toObject(): Promise<Record<string, V>> {
    return invoke(this, 'toObject', []) as Promise<Record<string, V>>;
  }
  /** A Map copy (keys keep their types), in one round trip. Python: `dict(d)`. */
  toMap(): Promise<Map<K, V>> {
    return invoke(this, 'toMap', []) as Promise<Map<K, V>>;
  }
  /**
   * A plain copy, as a Map (keys keep their types and insertion order), in one round trip:
   * not a new managed dict, as Python's `d.copy()` on a DictProxy returns a local dict.
   * For a new shared copy: `manager.dict(await d.copy())`.
   * Python: DictProxy.copy().
   */
  copy(): Promise<Map<K, V>> {
    return invoke(this, 'copy', []) as Promise<Map<K, V>>;
  }
  /**
   * Iterate the keys in insertion order, fetched in slices of 1024 (one round trip each).
   * Python: `for k in d` — keys added meanwhile are seen; a key removed meanwhile may make a
   * later key be skipped (Python raises RuntimeError instead). Use `keys()` for a snapshot.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<K, void, undefined> {
    for (let start = 0; ; start += CHUNK) {
      const chunk = (await invoke(this, 'keys', [start, start + CHUNK])) as K[];
      yield* chunk;
      if (chunk.length < CHUNK) return;
    }
  }
}

/**
 * A bag of named attributes living in the manager process.
 * Python: multiprocessing.managers.NamespaceProxy — `ns.x` is `get('x')`, `ns.x = v` is
 * `set('x', v)`.
 * Rejects with: RemoteError named `AttributeError` for a missing attribute, ManagerError.
 *
 * @example
 * const ns = await manager.namespace<{ done: boolean }>();
 * await ns.set('done', true);
 * console.log(await ns.get('done')); // true
 */
export class NamespaceProxy<T extends Record<string, unknown> = Record<string, unknown>> extends BaseProxy {
  /** The attribute `name`. Python: `ns.name`. Rejects with AttributeError when unset. */
  get<N extends keyof T & string>(name: N): Promise<T[N]> {
    return invoke(this, 'get', [name]) as Promise<T[N]>;
  }
  /** Set the attribute `name`. Python: `ns.name = value`. */
  set<N extends keyof T & string>(name: N, value: T[N]): Promise<void> {
    return pipelined(this, 'set', [name, value]) as Promise<void>;
  }
  /** Whether the attribute is set. Python: `hasattr(ns, name)`. */
  has(name: keyof T & string): Promise<boolean> {
    return invoke(this, 'has', [name]) as Promise<boolean>;
  }
  /** Remove the attribute. Python: `del ns.name`. Rejects with AttributeError when unset. */
  delete(name: keyof T & string): Promise<void> {
    return invoke(this, 'delete', [name]) as Promise<void>;
  }
  /** Every attribute as a plain object. Python: `vars(ns)`. */
  toObject(): Promise<Partial<T>> {
    return invoke(this, 'toObject', []) as Promise<Partial<T>>;
  }
}

/**
 * One value living in the manager process.
 * Python: multiprocessing.managers.ValueProxy (`manager.Value(typecode, v)`) — `v.value` is
 * `get()`, `v.value = x` is `set(x)`. Like Python's, the typecode is informative: the value
 * is stored as given. Read-modify-write needs a manager lock, as in Python.
 * Rejects with: ManagerError.
 *
 * @example
 * const v = await manager.value('i', 0);
 * await v.set((await v.get()) + 1);
 */
export class ValueProxy<T = unknown> extends BaseProxy {
  /** The typecode the value was created with ('i', 'd'…). */
  get typecode(): string {
    return String(metaOf(this).typecode);
  }
  /** The current value. Python: `v.value`. */
  get(): Promise<T> {
    return invoke(this, 'get', []) as Promise<T>;
  }
  /** Replace the value. Python: `v.value = value`. */
  set(value: T): Promise<void> {
    return pipelined(this, 'set', [value]) as Promise<void>;
  }
}

/**
 * A fixed-length typed array living in the manager process (Int32Array for 'i', Float64Array
 * for 'd'…; the 64-bit integer codes 'l' 'L' 'q' 'Q' hold bigints).
 * Python: multiprocessing.managers.ArrayProxy (`manager.Array(typecode, seq)`).
 * Rejects with: RangeError (index out of range), TypeError (a value of the wrong type), ManagerError.
 *
 * @example
 * const a = await manager.array('d', [0, 0, 0]);
 * await a.set(1, 2.5);
 * console.log(await a.toArray()); // [0, 2.5, 0]
 */
export class ArrayProxy<T extends number | bigint = number> extends SequenceProxy<T> {
  /** The typecode the array was created with ('i', 'd'…). */
  get typecode(): string {
    return String(metaOf(this).typecode);
  }
  /** The element at `index` (negative counts from the end). Python: `a[index]`. Rejects with RangeError. */
  get(index: number): Promise<T> {
    return invoke(this, 'get', [index]) as Promise<T>;
  }
  /** Set the element at `index` (converted as the typed array converts). Python: `a[index] = value`. */
  set(index: number, value: T): Promise<void> {
    return invoke(this, 'set', [index, value]) as Promise<void>;
  }
}

/** The methods of `T`, each returning a Promise of what it returned (its resolved value for async ones). */
export type MethodProxy<T> = {
  [K in keyof T as T[K] extends (...args: any[]) => unknown ? (K extends 'then' ? never : K) : never]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
} & ObjectProxy;

/**
 * The proxy of an object a registered type's factory made: one async method per method the
 * object exposes (its public methods, or the `exposed` list given to `register`).
 * Python: multiprocessing.managers.AutoProxy — a method named `then` is never proxied, so
 * that awaiting a proxy does not call it, nor one named like a BaseProxy member
 * (`callMethod`); `callMethod(name, args)` reaches those, and any other exposed method.
 * Rejects with: whatever the method threw (a RemoteError keeping its name, message, stack and
 * own properties), ManagerError.
 *
 * @example
 * MyManager.register('Counter', tasks<typeof import('./counter.js')>(url).makeCounter);
 * const counter = await manager.create<MethodProxy<Counter>>('Counter');
 * await counter.increment();
 */
export class ObjectProxy extends BaseProxy {
  /** @internal */
  constructor(ref: Reference) {
    super(ref);
    const methods = Array.isArray(ref.meta.methods) ? (ref.meta.methods as unknown[]) : [];
    for (const name of methods) {
      if (typeof name !== 'string' || name === 'then' || name === 'constructor' || name in BaseProxy.prototype) continue;
      Object.defineProperty(this, name, { value: (...args: unknown[]) => invoke(this, name, args), enumerable: false, configurable: true });
    }
  }

  /** The registered typeid this object was made as. */
  get typeid(): string {
    return String(metaOf(this).typeid ?? 'object');
  }
}

/** Each kind's proxy class, for its reviver. */
const PROXIES: Record<string, new (ref: Reference) => BaseProxy> = {
  [KINDS.list]: ListProxy,
  [KINDS.dict]: DictProxy,
  [KINDS.namespace]: NamespaceProxy,
  [KINDS.value]: ValueProxy,
  [KINDS.array]: ArrayProxy,
  [KINDS.object]: ObjectProxy,
};

/** Each built-in proxy class's typeid, for callMethod's check. */
const TYPEIDS = new Map<Function, ManagedTypeid>([
  [ListProxy, 'list'],
  [DictProxy, 'dict'],
  [NamespaceProxy, 'namespace'],
  [ValueProxy, 'value'],
  [ArrayProxy, 'array'],
]);

/**
 * What the server lets clients call on `proxy`'s object: a registered type's handle carries
 * its list (`meta.methods`); a built-in's is its managed class's (SERVED_METHODS), the very
 * list the server registered it with.
 */
function exposedOf(proxy: BaseProxy): { typeid: string; methods: readonly string[] } {
  const meta = metaOf(proxy);
  if (Array.isArray(meta.methods)) return { typeid: `typeid '${String(meta.typeid ?? 'object')}'`, methods: meta.methods as string[] };
  for (let c: Function | null = proxy.constructor; c; c = Object.getPrototypeOf(c) as Function | null) {
    const typeid = TYPEIDS.get(c);
    if (typeid) return { typeid: `a managed ${typeid}`, methods: SERVED_METHODS[typeid] };
  }
  return { typeid: 'this object', methods: [] };
}

for (const [kind, Cls] of Object.entries(PROXIES)) registerReviver(kind, (handle) => new Cls(Reference.revive(handle, optionsOf(kind))), here);
