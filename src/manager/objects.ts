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
import { invalidArg, invalidRange } from '../errors.ts';
import { checkOptionNames, optionNames } from '../options.ts';
import { isShareable } from '../remote/handle.ts';
import { describe, describeKey, isIterable } from '../util.ts';

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
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidArg(`${what} must be an integer, got ${typeof value === 'number' ? value : typeof value}`);
  return value;
}

/** Python's index normalisation: negative counts from the end; out of range throws. */
function normaliseIndex(index: unknown, length: number, what: string): number {
  const i = checkInteger(index, `${what} index`);
  const j = i < 0 ? i + length : i;
  if (j < 0 || j >= length) throw Object.assign(invalidRange(`${what} index ${i} out of range (length ${length})`), { index: i, length });
  return j;
}

/** Python's slice bound clamping (`lst[start:stop]`). */
function clampBound(bound: unknown, length: number, fallback: number): number {
  if (bound === undefined || bound === null) return fallback;
  const i = checkInteger(bound, 'slice bound');
  if (i < 0) return Math.max(0, i + length);
  return Math.min(i, length);
}

/** What a slice selects, as Python's `slice(start, stop, step).indices(length)` gives it, plus its length. */
interface SliceRange {
  start: number;
  stop: number;
  step: number;
  /** How many items the slice selects (Python's slicelength). */
  count: number;
}

/**
 * Python's slice resolution (CPython's PySlice_Unpack + PySlice_AdjustIndices): missing bounds
 * default by the step's sign, negative bounds count from the end, out-of-range bounds are
 * clamped, a zero step is a RangeError (Python's ValueError).
 */
function sliceRange(start: unknown, stop: unknown, step: unknown, length: number): SliceRange {
  const st = step === undefined || step === null ? 1 : checkInteger(step, 'slice step');
  if (st === 0) throw invalidRange('slice step cannot be zero');
  // With a negative step the slice walks down from length-1 and may stop before index 0 (-1).
  const lower = st < 0 ? -1 : 0;
  const upper = st < 0 ? length - 1 : length;
  const bound = (b: unknown, fallback: number): number => {
    if (b === undefined || b === null) return fallback;
    const i = checkInteger(b, 'slice bound');
    return i < 0 ? Math.max(i + length, lower) : Math.min(i, upper);
  };
  const s = bound(start, st < 0 ? upper : lower);
  const e = bound(stop, st < 0 ? lower : upper);
  const count = st < 0 ? (e < s ? Math.floor((s - e - 1) / -st) + 1 : 0) : s < e ? Math.floor((e - s - 1) / st) + 1 : 0;
  return { start: s, stop: e, step: st, count };
}

/** The items a slice selects, in slice order. */
function pick<T>(seq: ArrayLike<T>, r: SliceRange): T[] {
  const out = new Array<T>(r.count);
  for (let k = 0, i = r.start; k < r.count; k++, i += r.step) out[k] = seq[i]!;
  return out;
}

/** Values to store, from what crossed (an array, or any iterable a callMethod caller sent). */
function valuesOf(values: unknown, what: string): unknown[] {
  if (Array.isArray(values)) return values;
  if (isIterable(values)) return [...values];
  throw invalidArg(`${what} needs an iterable of values (an array), got ${describe(values)}`);
}

/** Python's ordering class of a value: int/float/bool are one class, str another, list (tuple) a third. */
function orderClass(v: unknown): 'number' | 'string' | 'array' | undefined {
  const t = typeof v;
  if (t === 'number' || t === 'bigint' || t === 'boolean') return 'number';
  if (t === 'string') return 'string';
  return Array.isArray(v) ? 'array' : undefined;
}

function orderName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' ? `an object (${Object.prototype.toString.call(v).slice(8, -1)})` : t === 'undefined' ? 'undefined' : `a ${t}`;
}

/** A bool compares as 0 or 1, as Python's bool is an int. */
function numeric(v: unknown): number | bigint {
  return typeof v === 'boolean' ? Number(v) : (v as number | bigint);
}

/**
 * Strings by code point, as Python compares str (JavaScript's `<` compares UTF-16 code units,
 * which orders U+E000..U+FFFF after astral characters). ICU's fix-up: where both units are
 * at or above U+D800, move surrogates above U+E000..U+FFFF.
 */
function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Python's `==` inside a sequence comparison: numbers across int/float/bool, else sameValue. */
function orderEqual(a: unknown, b: unknown): boolean {
  if (orderClass(a) === 'number' && orderClass(b) === 'number') return numeric(a) == numeric(b); // 1 == 1n, NaN != NaN
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => orderEqual(x, b[i]));
  return sameValue(a, b);
}

/**
 * Python 3's `<` as a comparator: numbers (number, bigint and boolean mix, as int, float and
 * bool do), strings by code point, arrays lexicographically (Python's lists and tuples:
 * the first unequal pair decides, else the shorter first). Anything else, and two values of
 * different classes, throw TypeError as Python's `<` does; NaN compares as neither smaller
 * nor larger, as in Python.
 */
export function compareValues(a: unknown, b: unknown): number {
  const ca = orderClass(a);
  const cb = orderClass(b);
  if (ca === undefined || ca !== cb) throw new TypeError(`'<' not supported between ${orderName(a)} and ${orderName(b)} (Python raises TypeError too); sort() orders numbers and bigints, strings, or arrays of those`);
  if (ca === 'number') {
    const x = numeric(a);
    const y = numeric(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (ca === 'string') return compareStrings(a as string, b as string);
  const xs = a as unknown[];
  const ys = b as unknown[];
  const n = Math.min(xs.length, ys.length);
  for (let i = 0; i < n; i++) if (!orderEqual(xs[i], ys[i])) return compareValues(xs[i], ys[i]);
  return xs.length === ys.length ? 0 : xs.length < ys.length ? -1 : 1;
}

/** Options of `list.sort()`, as they arrive from a proxy (or a callMethod caller). */
export interface SortOptions {
  /** Sort in descending order, keeping equal items in their original order (as Python does). @default false */
  reverse?: boolean;
}

const SORT_OPTIONS = optionNames<SortOptions>({ reverse: true });

/**
 * Why a key function cannot be given: shared by the proxy (which refuses before sending) and
 * the server (for a callMethod caller).
 */
export const NO_SORT_KEY =
  'list.sort() takes no key function: a function cannot cross to the manager process by value (it would have to run there, ' +
  'with none of its closure); sort a copy locally and write it back: const xs = await lst.toArray(); xs.sort(byKey); await lst.setSlice(null, null, xs) ' +
  '(hold a manager lock around the three calls if other processes write meanwhile)';

/**
 * Keys of a managed dict: primitives only, so lookup by value works after cloning. Proxies
 * run the same check before they pipeline a write (src/manager/proxy.ts).
 */
export function checkKey(key: unknown): void {
  const t = typeof key;
  if (key === null || t === 'string' || t === 'number' || t === 'bigint' || t === 'boolean' || t === 'undefined') return;
  throw invalidArg(
    `a managed dict key must be a string, number, bigint, boolean, null or undefined, got ${t === 'object' ? (Array.isArray(key) ? 'an array' : 'an object') : t}; ` +
      'objects arrive as copies and would never match; join the parts into a string key (Python would say: unhashable type)',
  );
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
    for (const v of valuesOf(values, 'list.extend()')) this.items.push(v);
  }
  get(index: number): unknown {
    return this.items[normaliseIndex(index, this.items.length, 'list')];
  }
  set(index: number, value: unknown): void {
    this.items[normaliseIndex(index, this.items.length, 'list assignment')] = value;
  }
  pop(index?: number): unknown {
    if (this.items.length === 0) throw invalidRange('pop from an empty list');
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
    if (i === -1) throw invalidRange('list.remove(x): x not in list');
    this.items.splice(i, 1);
  }
  index(value: unknown, start?: number, stop?: number): number {
    const from = clampBound(start, this.items.length, 0);
    const to = clampBound(stop, this.items.length, this.items.length);
    for (let i = from; i < to; i++) if (sameValue(this.items[i], value)) return i;
    throw invalidRange('list.index(x): x not in list');
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
  /** Python's `lst[start:stop:step]`. */
  slice(start?: number | null, stop?: number | null, step?: number | null): unknown[] {
    return pick(this.items, sliceRange(start, stop, step, this.items.length));
  }
  /**
   * Python's `lst[start:stop] = values` (`setSlice(start, stop, values)`: any length, the list
   * grows or shrinks) and `lst[start:stop:step] = values` (`setSlice(start, stop, step, values)`:
   * with a step other than 1, as many values as the slice selects, else RangeError, Python's
   * ValueError). The arguments are checked before anything changes.
   */
  setSlice(start: number | null | undefined, stop: number | null | undefined, ...rest: [unknown] | [number | null | undefined, unknown]): void {
    const [step, values] = rest.length >= 2 ? rest : [undefined, rest[0]];
    const vals = valuesOf(values, 'list.setSlice()');
    const r = sliceRange(start, stop, step, this.items.length);
    if (r.step === 1) {
      // A simple slice: replace [start, max(start, stop)) by the values (lst[3:1] = [x] inserts at 3).
      const tail = this.items.slice(Math.max(r.start, r.stop));
      this.items.length = r.start;
      for (const v of vals) this.items.push(v);
      for (const v of tail) this.items.push(v);
      return;
    }
    if (vals.length !== r.count) throw Object.assign(invalidRange(`attempt to assign sequence of size ${vals.length} to extended slice of size ${r.count}`), { size: vals.length, sliceSize: r.count });
    for (let k = 0, i = r.start; k < r.count; k++, i += r.step) this.items[i] = vals[k];
  }
  /** Python's `del lst[start:stop:step]`. */
  deleteSlice(start?: number | null, stop?: number | null, step?: number | null): void {
    const r = sliceRange(start, stop, step, this.items.length);
    if (r.count === 0) return;
    if (r.step === 1) {
      this.items.splice(r.start, r.count);
      return;
    }
    // The same indices walked upwards, then one compaction pass: O(length), not O(count × length).
    const stride = Math.abs(r.step);
    const first = r.step > 0 ? r.start : r.start + (r.count - 1) * r.step;
    const last = first + (r.count - 1) * stride;
    let w = first;
    for (let i = first; i < this.items.length; i++) {
      if (i <= last && (i - first) % stride === 0) continue;
      this.items[w++] = this.items[i];
    }
    this.items.length = w;
  }
  /** Python's `lst *= n`: n < 1 empties the list. */
  imul(n: number): void {
    const times = checkInteger(n, 'list.imul() count');
    const length = this.items.length;
    if (times < 1) {
      this.items.length = 0;
      return;
    }
    // Checked first so that a failure leaves the list as it was (Python: MemoryError).
    if (length * times > 2 ** 32 - 1) throw invalidRange(`list.imul(${times}): a list of ${length} items repeated ${times} times is longer than an array can be`);
    for (let k = 1; k < times; k++) for (let i = 0; i < length; i++) this.items.push(this.items[i]);
  }
  /**
   * Python's `lst.sort(reverse=…)`: stable, ordered by compareValues (Python 3's `<`). A
   * list that cannot be ordered throws TypeError and is left as it was (the sort runs on a
   * copy). No key function: see NO_SORT_KEY.
   */
  sort(options?: SortOptions | null): void {
    if (options !== undefined && options !== null && typeof options !== 'object') throw invalidArg(`list.sort(options): options must be an object like { reverse: true }, got ${typeof options}`);
    if (options && 'key' in options) throw invalidArg(NO_SORT_KEY);
    checkOptionNames(options, SORT_OPTIONS, 'list.sort(options)');
    const reverse = options?.reverse ?? false;
    if (typeof reverse !== 'boolean') throw invalidArg(`list.sort(): reverse must be a boolean, got ${typeof reverse}`);
    const sorted = this.items.slice();
    // A stable sort by the reversed comparison keeps equal items in their original order,
    // which is what Python's reverse=True promises.
    sorted.sort(reverse ? (a, b) => compareValues(b, a) : compareValues);
    for (let i = 0; i < sorted.length; i++) this.items[i] = sorted[i];
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

/** Iterations of one dict that keep a cursor at once (see ManagedDict's #cursors). */
const MAX_CURSORS = 8;

/** Server side of `manager.dict()`. Python: the `dict` a DictProxy refers to. */
export class ManagedDict implements ManagedObject {
  readonly typeid = 'dict';
  readonly #map = new Map<unknown, unknown>();
  /**
   * Where earlier `keys(start, stop)` calls stopped: an iterator of the map by the position it
   * has reached, so that a proxy iterating the dict chunk by chunk costs O(chunk) per chunk,
   * not O(position). A Map iterator stays valid while entries are added (they come last) or
   * changed in place, which leaves every position where it was; a removal shifts positions,
   * so every removal forgets them all (the next chunk walks from the start once).
   */
  readonly #cursors = new Map<number, Iterator<unknown>>();

  constructor(init?: Record<string, unknown> | Iterable<readonly [unknown, unknown]> | null) {
    if (init !== undefined && init !== null) this.update(init);
  }
  /** `get(key)` throws KeyError when missing (Python's `d[key]`); `get(key, fallback)` does not. */
  get(key: unknown, ...fallback: [unknown?]): unknown {
    checkKey(key);
    if (this.#map.has(key)) return this.#map.get(key);
    if (fallback.length > 0) return fallback[0];
    throw keyError(key);
  }
  set(key: unknown, value: unknown): void {
    checkKey(key);
    this.#map.set(key, value);
  }
  has(key: unknown): boolean {
    checkKey(key);
    return this.#map.has(key);
  }
  delete(key: unknown): void {
    checkKey(key);
    if (!this.#map.delete(key)) throw keyError(key);
    this.#cursors.clear();
  }
  /**
   * Every key in insertion order; with bounds, the keys at positions [start, stop) (negative
   * bounds count from the end): what the proxy's async iteration fetches chunk by chunk.
   */
  keys(start?: number | null, stop?: number | null): unknown[] {
    if ((start === undefined || start === null) && (stop === undefined || stop === null)) return [...this.#map.keys()];
    const size = this.#map.size;
    const from = clampBound(start, size, 0);
    const to = clampBound(stop, size, size);
    if (to <= from) return [];
    let cursor = this.#cursors.get(from);
    this.#cursors.delete(from);
    if (cursor === undefined) {
      cursor = this.#map.keys();
      for (let i = 0; i < from; i++) cursor.next();
    }
    const out: unknown[] = [];
    while (out.length < to - from) {
      const next = cursor.next();
      if (next.done) break;
      out.push(next.value);
    }
    if (to < size) {
      this.#cursors.set(to, cursor);
      // A few iterations at once keep their cursors; beyond that the oldest is dropped.
      if (this.#cursors.size > MAX_CURSORS) this.#cursors.delete(this.#cursors.keys().next().value!);
    }
    return out;
  }
  values(): unknown[] {
    return [...this.#map.values()];
  }
  items(): [unknown, unknown][] {
    return [...this.#map.entries()];
  }
  update(other: Record<string, unknown> | Iterable<readonly [unknown, unknown]>): void {
    if (other instanceof Map || Array.isArray(other)) {
      for (const entry of other as Iterable<readonly [unknown, unknown]>) {
        if (!Array.isArray(entry) || entry.length !== 2) throw invalidArg('dict.update() expects [key, value] pairs');
        this.set(entry[0], entry[1]);
      }
      return;
    }
    if (typeof other !== 'object' || other === null) throw invalidArg('dict.update() expects an object, a Map or [key, value] pairs');
    for (const [k, v] of Object.entries(other)) this.#map.set(k, v);
  }
  setdefault(key: unknown, value?: unknown): unknown {
    checkKey(key);
    if (this.#map.has(key)) return this.#map.get(key);
    this.#map.set(key, value);
    return value;
  }
  pop(key: unknown, ...fallback: [unknown?]): unknown {
    checkKey(key);
    if (this.#map.has(key)) {
      const v = this.#map.get(key);
      this.#map.delete(key);
      this.#cursors.clear();
      return v;
    }
    if (fallback.length > 0) return fallback[0];
    throw keyError(key);
  }
  popitem(): [unknown, unknown] {
    // Python pops the last inserted pair (LIFO).
    let last: [unknown, unknown] | undefined;
    for (const entry of this.#map) last = entry;
    if (!last) throw namedError('KeyError', 'popitem(): dictionary is empty', {});
    this.#map.delete(last[0]);
    this.#cursors.clear();
    return last;
  }
  len(): number {
    return this.#map.size;
  }
  clear(): void {
    this.#map.clear();
    this.#cursors.clear();
  }
  toObject(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of this.#map) out[String(k)] = v;
    return out;
  }
  /** Python's `d.copy()`: a plain copy (a Map: keys keep their types and order), not a new managed dict. */
  copy(): Map<unknown, unknown> {
    return new Map(this.#map);
  }
  toMap(): Map<unknown, unknown> {
    return this.copy();
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
  /** Python's `a[start:stop:step]`, as a plain array. */
  slice(start?: number | null, stop?: number | null, step?: number | null): (number | bigint)[] {
    return pick<number | bigint>(this.data, sliceRange(start, stop, step, this.data.length));
  }
  toArray(): (number | bigint)[] {
    return [...this.data];
  }
}

/** What the built-in typeids make, by typeid. */
const MANAGED_CLASSES = { list: ManagedList, dict: ManagedDict, namespace: ManagedNamespace, value: ManagedValue, array: ManagedArray } as const;

/** A built-in managed typeid: 'list', 'dict', 'namespace', 'value', 'array'. */
export type ManagedTypeid = keyof typeof MANAGED_CLASSES;

/**
 * The methods clients may call on each built-in managed object: its class's own methods. The
 * server registers its objects with exactly these (src/manager/server.ts), and a proxy's
 * `callMethod` names them when it refuses another (src/manager/proxy.ts): one list, so the
 * two cannot disagree.
 */
export const SERVED_METHODS: Readonly<Record<ManagedTypeid, readonly string[]>> = Object.freeze(
  Object.fromEntries(
    Object.entries(MANAGED_CLASSES).map(([typeid, Cls]) => [typeid, Object.freeze(Object.getOwnPropertyNames(Cls.prototype).filter((n) => n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(Cls.prototype, n)?.value === 'function'))]),
  ) as Record<ManagedTypeid, readonly string[]>,
);
