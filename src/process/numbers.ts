// Packed-number transport: how a batch of numbers crosses the IPC channel as raw bytes, both
// ways. Both sides import it: the parent packs a map's items (src/process/engine/) and the
// child packs its results (src/process/child.ts), so the rules below are written once.
// Pure: imports only the wire type.
//
// Structured clone copies a typed array as raw bytes instead of encoding and decoding every
// element: several times cheaper per number for the serializer on one side and the
// deserializer on the other (about 20% more map throughput for the items alone, more for
// the results). The rules:
//   - a batch of at least MIN_PACKED_NUMBERS values, all numbers, travels packed; a shorter
//     one, or one holding anything else, as a plain array;
//   - an Int32Array when every number is a 32-bit integer and none is -0 (half the bytes),
//     else a Float64Array: every JS number, -0 and NaN included, survives one of the two
//     unchanged, so the task (and the caller) sees exactly the numbers it would have seen;
//   - a reader only ever reads `length` and `[i]` (the child's task loop, the parent's
//     assembler), which an array and a typed array answer alike.

import type { PackedNumbers } from '../protocol/index.ts';

/** Below this many values a batch of numbers travels as a plain array (no gain to pack it). */
export const MIN_PACKED_NUMBERS = 32;

/** Does `v` survive an Int32Array unchanged? (-0 does not: it would come back as 0.) */
export function isInt32(v: number): boolean {
  return (v | 0) === v && (v !== 0 || 1 / v > 0);
}

/**
 * The values `[start, end)` as a typed array when all are numbers, else null (at the first
 * value that is not one): an Int32Array when every one is a 32-bit integer, else a
 * Float64Array. Does not look at MIN_PACKED_NUMBERS: the caller decides when packing pays.
 */
export function packNumbers(values: ArrayLike<unknown>, start: number, end: number): PackedNumbers | null {
  // One pass: copy while checking, as integers until a number that is not one. The test is
  // isInt32() written out: this loop runs cold over every item of a map, and a call per
  // item measured ~30% slower there.
  const ints = new Int32Array(end - start);
  let i = start;
  for (; i < end; i++) {
    const v = values[i];
    if (typeof v !== 'number') return null;
    if ((v | 0) !== v || (v === 0 && 1 / v < 0)) break;
    ints[i - start] = v;
  }
  if (i === end) return ints;
  const doubles = new Float64Array(end - start);
  doubles.set(ints.subarray(0, i - start));
  for (; i < end; i++) {
    const v = values[i];
    if (typeof v !== 'number') return null;
    doubles[i - start] = v;
  }
  return doubles;
}

/**
 * The items `[start, end)` of a batch, ready to send: packed when there are at least
 * MIN_PACKED_NUMBERS and all are numbers, otherwise a new array built by push. An array of
 * holey elements kind (`new Array(n)`, `fill`) is serialized key by key, about five times
 * slower than a packed one, so batches are always packed arrays whatever the input's kind.
 */
export function batchItems(items: ArrayLike<unknown>, start: number, end: number): unknown[] {
  if (end - start >= MIN_PACKED_NUMBERS && typeof items[start] === 'number') {
    const packed = packNumbers(items, start, end);
    if (packed !== null) return packed as unknown as unknown[];
  }
  const out: unknown[] = [];
  for (let i = start; i < end; i++) out.push(items[i]);
  return out;
}

/**
 * Whether a batch's results that came as a plain array are all numbers. The child packs
 * the numeric results of batches of MIN_PACKED_NUMBERS items or more (NumberPacker), so only
 * a shorter batch can be all numbers and still come plain.
 */
export function allNumbers(values: unknown[]): boolean {
  if (values.length >= MIN_PACKED_NUMBERS || values.length === 0) return false;
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'number') return false;
  return true;
}

/** The first `n` numbers of `packed` as a packed plain array. */
export function unpack(packed: PackedNumbers, n: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(packed[i]);
  return out;
}

/**
 * A batch's results as they are produced, in item order, packed while they are numbers.
 * Child side. Numbers (the common `map(square, range)` case) go straight into a
 * Float64Array; the first result that is not a number moves what came before into a plain
 * array, which takes the rest. At the end, `packed()` gives the typed array to send (an
 * Int32Array when every result is a 32-bit integer) or null, and `list()` the plain array.
 */
export class NumberPacker {
  #packed: Float64Array | null;
  /** Every packed result so far is a 32-bit integer. */
  #ints = true;
  // Grown with push, not preallocated: V8 serializes a holey array (new Array(n)) element
  // by element, several times slower than a packed one.
  #values: unknown[] = [];

  /** For a batch of `n` items; fewer than MIN_PACKED_NUMBERS are never packed. */
  constructor(n: number) {
    this.#packed = n >= MIN_PACKED_NUMBERS ? new Float64Array(n) : null;
  }

  /** The result of item `i`; items come in order, from 0. */
  set(i: number, v: unknown): void {
    const packed = this.#packed;
    if (packed !== null) {
      if (typeof v === 'number') {
        packed[i] = v;
        if (this.#ints && !isInt32(v)) this.#ints = false;
        return;
      }
      this.#values = unpack(packed, i);
      this.#packed = null;
    }
    this.#values.push(v);
  }

  /** Every result, packed, when all were numbers (and there were enough); else null. */
  packed(): PackedNumbers | null {
    const packed = this.#packed;
    if (packed === null) return null;
    return this.#ints ? new Int32Array(packed) : packed;
  }

  /** The first `n` results (all of them by default) as a plain array. */
  list(n?: number): unknown[] {
    const packed = this.#packed;
    if (packed === null) return n === undefined || n === this.#values.length ? this.#values : this.#values.slice(0, n);
    return unpack(packed, n ?? packed.length);
  }
}
