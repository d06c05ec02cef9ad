// The built-in managed types: the objects a Manager's factories create. Host side: these
// instances live in the manager server process (src/manager/server.ts registers them with
// the object host) and are reached only through proxies (src/manager/proxy.ts).
//
// Every method runs to completion synchronously inside the server, which is what makes each
// proxy operation atomic (4 processes appending 10,000 items each give exactly 40,000).
// A failure is thrown as the error Python would raise, in JavaScript form: an index out of
// range is a RangeError, a missing key a `KeyError`-named Error carrying the `key`, a missing
// namespace attribute an `AttributeError`-named Error. The host sends them back as wire
// errors; the proxy turns them into the error the caller sees.
//
// Values stored here may be proxies of other objects of the same manager (a list of dicts):
// the host revived their handles into proxies on the way in, and re-encodes them as handles
// on the way out, so nesting needs nothing special here except equality (`sameValue`).

import { isDeepStrictEqual } from 'node:util';
import { isShareable } from '../remote/handle.ts';
import { describeKey } from '../util.ts';

/**
 * A side-effect-free identity of a manager proxy (`address#id`), for equality inside the
 * server: unlike `[toHandle]()` it takes no lease. Proxies (src/manager/proxy.ts) define it.
 */
export const PROXY_IDENTITY = Symbol.for('multiproc.manager.identity');

/** The Python-named error a server method throws (`KeyError`, `AttributeError`). */
function namedError(name: string, message: string, facts: Record<string, unknown>): Error {
  const err = new Error(message);
  Object.defineProperty(err, 'name', { value: name, enumerable: false, configurable: true, writable: true });
  return Object.assign(err, facts);
}


/** Python's KeyError: `err.name === 'KeyError'`, `err.key` is the missing key. */
export function keyError(key: unknown, where = 'dict'): Error {
  return namedError('KeyError', `${where} has no key ${describeKey(key)}`, { key });
}

/**
 * Python's `==` for stored values: identity for primitives (NaN equals NaN), the same hosted
 * object for proxies, deep equality for plain data (a value that crossed a process boundary
 * is always a copy, so identity would never match).
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b) || (a === 0 && b === 0)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (isShareable(a) || isShareable(b)) {
    // Two proxies of one managed object are equal; other shareables (queues, locks) only
    // to themselves. `[toHandle]()` is not used: it would take a transit lease.
    const ia = (a as { [PROXY_IDENTITY]?: string })[PROXY_IDENTITY];
    return ia !== undefined && ia === (b as { [PROXY_IDENTITY]?: string })[PROXY_IDENTITY];
  }
  return isDeepStrictEqual(a, b);
}

function checkInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    const err = new TypeError(`${what} must be an integer, got ${typeof value === 'number' ? value : typeof value}`);
    throw Object.assign(err, { code: 'MP_INVALID_ARG' });
  }
  return value;
}

/** Python's index normalisation: negative counts from the end; out of range throws. */
function normaliseIndex(index: unknown, length: number, what: string): number {
  const i = checkInteger(index, `${what} index`);
  const j = i < 0 ? i + length : i;
  if (j < 0 || j >= length) {
    const err = new RangeError(`${what} index ${i} out of range (length ${length})`);
    throw Object.assign(err, { code: 'MP_INVALID_ARG', index: i, length });
  }
  return j;
}

/** Python's slice bound clamping (`lst[start:stop]`). */
function clampBound(bound: unknown, length: number, fallback: number): number {
  if (bound === undefined || bound === null) return fallback;
  const i = checkInteger(bound, 'slice bound');
  if (i < 0) return Math.max(0, i + length);
  return Math.min(i, length);
}

/**
 * Keys of a managed dict: primitives only, so lookup by value works after cloning. Proxies
 * run the same check before they pipeline a write (src/manager/proxy.ts).
 */
export function checkKey(key: unknown): void {
  const t = typeof key;
  if (key === null || t === 'string' || t === 'number' || t === 'bigint' || t === 'boolean' || t === 'undefined') return;
  const err = new TypeError(
    `a managed dict key must be a string, number, bigint, boolean, null or undefined, got ${t === 'object' ? (Array.isArray(key) ? 'an array' : 'an object') : t}; ` +
      'objects arrive as copies and would never match; join the parts into a string key (Python would say: unhashable type)',
  );
  throw Object.assign(err, { code: 'MP_INVALID_ARG' });
}

/** Methods every managed object answers: proxies batch reads through them. */
export interface ManagedObject {
  /** The typeid the object was made as ('list', 'dict', …), for stats and messages. */
  readonly typeid: string;
}

/** Server side of `manager.list()`. Python: the `list` a ListProxy refers to. */
export class ManagedList implements ManagedObject {
  readonly typeid = 'list';
  readonly items: unknown[];

  constructor(init?: Iterable<unknown> | null) {
    this.items = init === undefined || init === null ? [] : [...init];
  }
  append(value: unknown): void {
    this.items.push(value);
  }
  extend(values: Iterable<unknown>): void {
    // push(...values) would overflow the call stack for very long inputs.
    for (const v of values) this.items.push(v);
  }
  get(index: number): unknown {
    return this.items[normaliseIndex(index, this.items.length, 'list')];
  }
  set(index: number, value: unknown): void {
    this.items[normaliseIndex(index, this.items.length, 'list assignment')] = value;
  }
  pop(index?: number): unknown {
    if (this.items.length === 0) throw Object.assign(new RangeError('pop from an empty list'), { code: 'MP_INVALID_ARG' });
    const i = index === undefined ? this.items.length - 1 : normaliseIndex(index, this.items.length, 'pop');
    return this.items.splice(i, 1)[0];
  }
  insert(index: number, value: unknown): void {
    // Python clamps insert positions instead of raising.
    const i = clampBound(index, this.items.length, this.items.length);
    this.items.splice(i, 0, value);
  }
  remove(value: unknown): void {
    const i = this.items.findIndex((v) => sameValue(v, value));
    if (i === -1) throw Object.assign(new RangeError('list.remove(x): x not in list'), { code: 'MP_INVALID_ARG' });
    this.items.splice(i, 1);
  }
  index(value: unknown, start?: number, stop?: number): number {
    const from = clampBound(start, this.items.length, 0);
    const to = clampBound(stop, this.items.length, this.items.length);
    for (let i = from; i < to; i++) if (sameValue(this.items[i], value)) return i;
    throw Object.assign(new RangeError('list.index(x): x not in list'), { code: 'MP_INVALID_ARG' });
  }
  count(value: unknown): number {
    let n = 0;
    for (const v of this.items) if (sameValue(v, value)) n++;
    return n;
  }
  includes(value: unknown): boolean {
    return this.items.some((v) => sameValue(v, value));
  }
  len(): number {
    return this.items.length;
  }
  slice(start?: number, stop?: number): unknown[] {
    return this.items.slice(clampBound(start, this.items.length, 0), clampBound(stop, this.items.length, this.items.length));
  }
  toArray(): unknown[] {
    return this.items.slice();
  }
  clear(): void {
    this.items.length = 0;
  }
  reverse(): void {
    this.items.reverse();
  }
}

/** Server side of `manager.dict()`. Python: the `dict` a DictProxy refers to. */
export class ManagedDict implements ManagedObject {
  readonly typeid = 'dict';
  readonly map = new Map<unknown, unknown>();

  constructor(init?: Record<string, unknown> | Iterable<readonly [unknown, unknown]> | null) {
    if (init !== undefined && init !== null) this.update(init);
  }
  /** `get(key)` throws KeyError when missing (Python's `d[key]`); `get(key, fallback)` does not. */
  get(key: unknown, ...fallback: [unknown?]): unknown {
    checkKey(key);
    if (this.map.has(key)) return this.map.get(key);
    if (fallback.length > 0) return fallback[0];
    throw keyError(key);
  }
  set(key: unknown, value: unknown): void {
    checkKey(key);
    this.map.set(key, value);
  }
  has(key: unknown): boolean {
    checkKey(key);
    return this.map.has(key);
  }
  delete(key: unknown): void {
    checkKey(key);
    if (!this.map.delete(key)) throw keyError(key);
  }
  keys(): unknown[] {
    return [...this.map.keys()];
  }
  values(): unknown[] {
    return [...this.map.values()];
  }
  items(): [unknown, unknown][] {
    return [...this.map.entries()];
  }
  update(other: Record<string, unknown> | Iterable<readonly [unknown, unknown]>): void {
    if (other instanceof Map || Array.isArray(other)) {
      for (const entry of other as Iterable<readonly [unknown, unknown]>) {
        if (!Array.isArray(entry) || entry.length !== 2) throw Object.assign(new TypeError('dict.update() expects [key, value] pairs'), { code: 'MP_INVALID_ARG' });
        this.set(entry[0], entry[1]);
      }
      return;
    }
    if (typeof other !== 'object' || other === null) throw Object.assign(new TypeError('dict.update() expects an object, a Map or [key, value] pairs'), { code: 'MP_INVALID_ARG' });
    for (const [k, v] of Object.entries(other)) this.map.set(k, v);
  }
  setdefault(key: unknown, value?: unknown): unknown {
    checkKey(key);
    if (this.map.has(key)) return this.map.get(key);
    this.map.set(key, value);
    return value;
  }
  pop(key: unknown, ...fallback: [unknown?]): unknown {
    checkKey(key);
    if (this.map.has(key)) {
      const v = this.map.get(key);
      this.map.delete(key);
      return v;
    }
    if (fallback.length > 0) return fallback[0];
    throw keyError(key);
  }
  popitem(): [unknown, unknown] {
    // Python pops the last inserted pair (LIFO).
    let last: [unknown, unknown] | undefined;
    for (const entry of this.map) last = entry;
    if (!last) throw namedError('KeyError', 'popitem(): dictionary is empty', {});
    this.map.delete(last[0]);
    return last;
  }
  len(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
  }
  toObject(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of this.map) out[String(k)] = v;
    return out;
  }
  toMap(): Map<unknown, unknown> {
    return new Map(this.map);
  }
}

/** Server side of `manager.namespace()`. Python: the object a NamespaceProxy refers to. */
export class ManagedNamespace implements ManagedObject {
  readonly typeid = 'namespace';
  readonly attrs = new Map<string, unknown>();

  constructor(init?: Record<string, unknown> | null) {
    if (init) for (const [k, v] of Object.entries(init)) this.attrs.set(k, v);
  }
  get(name: string): unknown {
    if (!this.attrs.has(String(name))) throw namedError('AttributeError', `'Namespace' object has no attribute ${JSON.stringify(String(name))}`, { attribute: String(name) });
    return this.attrs.get(String(name));
  }
  set(name: string, value: unknown): void {
    this.attrs.set(String(name), value);
  }
  has(name: string): boolean {
    return this.attrs.has(String(name));
  }
  delete(name: string): void {
    if (!this.attrs.delete(String(name))) throw namedError('AttributeError', `'Namespace' object has no attribute ${JSON.stringify(String(name))}`, { attribute: String(name) });
  }
  toObject(): Record<string, unknown> {
    return Object.fromEntries(this.attrs);
  }
}

/**
 * Typecodes of `manager.value()` and `manager.array()`, as Python's `array` module spells
 * them. 64-bit integer codes hold bigints (JavaScript numbers cannot hold every 64-bit value).
 */
export const TYPECODES = {
  b: Int8Array,
  B: Uint8Array,
  h: Int16Array,
  H: Uint16Array,
  i: Int32Array,
  I: Uint32Array,
  l: BigInt64Array,
  L: BigUint64Array,
  q: BigInt64Array,
  Q: BigUint64Array,
  f: Float32Array,
  d: Float64Array,
} as const;

/** One of the typecodes in TYPECODES ('i', 'd', …). */
export type Typecode = keyof typeof TYPECODES;

export function checkTypecode(typecode: unknown): Typecode {
  if (typeof typecode !== 'string' || !Object.hasOwn(TYPECODES, typecode)) {
    const err = new TypeError(`unknown typecode ${JSON.stringify(typecode)}; use one of ${Object.keys(TYPECODES).join(' ')} (Python's array module codes)`);
    throw Object.assign(err, { code: 'MP_INVALID_ARG' });
  }
  return typecode as Typecode;
}

/** Server side of `manager.value()`. Python: managers.Value (the typecode is informative). */
export class ManagedValue implements ManagedObject {
  readonly typeid = 'value';
  readonly typecode: string;
  value: unknown;

  constructor(typecode: string, value: unknown) {
    // Python's Manager().Value keeps the value as given (no C conversion); so do we, but an
    // unknown typecode is still a mistake worth reporting.
    this.typecode = checkTypecode(typecode);
    this.value = value;
  }
  get(): unknown {
    return this.value;
  }
  set(value: unknown): void {
    this.value = value;
  }
}

/** Server side of `manager.array()`. Python: array.array behind an ArrayProxy. */
export class ManagedArray implements ManagedObject {
  readonly typeid = 'array';
  readonly typecode: Typecode;
  readonly data: Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

  constructor(typecode: string, seq: Iterable<number | bigint> | number) {
    this.typecode = checkTypecode(typecode);
    const Ctor = TYPECODES[this.typecode];
    const big = Ctor === BigInt64Array || Ctor === BigUint64Array;
    if (typeof seq === 'number') {
      this.data = new Ctor(checkInteger(seq, 'array length'));
      return;
    }
    const values = [...seq].map((v) => this.#coerce(v, big));
    this.data = new (Ctor as new (n: number) => ManagedArray['data'])(values.length);
    for (let i = 0; i < values.length; i++) (this.data as unknown as unknown[])[i] = values[i];
  }
  #coerce(v: unknown, big: boolean): number | bigint {
    if (big) {
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    } else if (typeof v === 'number') {
      return v;
    }
    const err = new TypeError(`array('${this.typecode}') holds ${big ? 'integers (bigint or integral numbers)' : 'numbers'}, got ${typeof v === 'number' ? v : typeof v}`);
    throw Object.assign(err, { code: 'MP_INVALID_ARG' });
  }
  get(index: number): number | bigint {
    return this.data[normaliseIndex(index, this.data.length, 'array')]!;
  }
  set(index: number, value: number | bigint): void {
    const big = this.data instanceof BigInt64Array || this.data instanceof BigUint64Array;
    (this.data as unknown as unknown[])[normaliseIndex(index, this.data.length, 'array assignment')] = this.#coerce(value, big);
  }
  len(): number {
    return this.data.length;
  }
  slice(start?: number, stop?: number): (number | bigint)[] {
    return [...this.data.subarray(clampBound(start, this.data.length, 0), clampBound(stop, this.data.length, this.data.length))];
  }
  toArray(): (number | bigint)[] {
    return [...this.data];
  }
}
