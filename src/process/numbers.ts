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
//     assembler), which an array and a typed array answer alike;
//   - a reply carries the bytes of its typed array (bytesOf, numbersOf): a Uint8Array
//     arrives as a view of the message read, where a Float64Array at an unaligned offset
//     (almost every time) would be copied into fresh memory first.
// Memory touched for the first time costs a page fault per 4 KiB, about 2 ms per MB on
// the 2-core VM the benchmarks run on: more than packing the numbers. So packing reuses its
// arrays (PackScratch) on both sides, and nothing here allocates per batch what it can reuse.

import type { PackedNumbers } from '../protocol/index.ts';

/** Below this many values a batch of numbers travels as a plain array (no gain to pack it). */
export const MIN_PACKED_NUMBERS = 32;

/** Does `v` survive an Int32Array unchanged? (-0 does not: it would come back as 0.) */
export function isInt32(v: number): boolean {
  return (v | 0) === v && (v !== 0 || 1 / v > 0);
}

/**
 * Typed arrays kept for packing again and again, grown on demand: the packed numbers of a
 * message are copied by the serializer inside `send()`, synchronously, so the array they
 * were packed into is free again as soon as `send()` returns. Reusing it matters more than
 * it seems: memory touched for the first time costs a page fault per 4 KiB (about 2 ms per
 * MB on a VM, more than packing itself), and a fresh typed array per message, freed only
 * by a later GC, is fresh memory every time.
 */
export class PackScratch {
  #ints = new Int32Array(0);
  #doubles = new Float64Array(0);
  /** An Int32Array of `n` elements, reused: valid until the next call. */
  ints(n: number): Int32Array {
    if (this.#ints.length < n) this.#ints = new Int32Array(grow(n));
    return this.#ints.subarray(0, n);
  }
  /** A Float64Array of `n` elements, reused: valid until the next call. */
  doubles(n: number): Float64Array {
    if (this.#doubles.length < n) this.#doubles = new Float64Array(grow(n));
    return this.#doubles.subarray(0, n);
  }
}

/**
 * PackScratch objects for packed numbers that may be written to a byte channel
 * (src/process/byte-channel.ts), whose memory the socket reads until the write calls back.
 * `current` serves as long as what is packed into it is serialized at once (IPC); a
 * write hands it over (`handOver`), and the next batch packs into another one, until the
 * write's callback gives it back (`give`). Grows to the writes in flight (a few per
 * worker), then reuses them.
 */
export class ScratchPool {
  readonly #free: PackScratch[] = [];
  #current: PackScratch | null = null;
  /** The scratch to pack into now. */
  get current(): PackScratch {
    return (this.#current ??= this.take());
  }
  /** A scratch of its own, until `give`. */
  take(): PackScratch {
    return this.#free.pop() ?? new PackScratch();
  }
  /** `current`, taken out of use until `give`. */
  handOver(): PackScratch {
    const s = this.current;
    this.#current = null;
    return s;
  }
  give(scratch: PackScratch): void {
    this.#free.push(scratch);
  }
}

/** Room for `n`, rounded up to a power of two so that a few sizes cover every message. */
function grow(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(n, 1024)));
}

/**
 * The values `[start, end)` as a typed array when all are numbers, else null (at the first
 * value that is not one): an Int32Array when every one is a 32-bit integer, else a
 * Float64Array. Does not look at MIN_PACKED_NUMBERS: the caller decides when packing pays.
 * With `scratch`, the array returned is one of its reused arrays (valid until its next use);
 * without, a new one.
 */
export function packNumbers(values: ArrayLike<unknown>, start: number, end: number, scratch?: PackScratch): PackedNumbers | null {
  const n = end - start;
  const ints = scratch ? scratch.ints(n) : new Int32Array(n);
  const i = copyInts(values, start, end, ints);
  if (i === end) return ints;
  // values[i] is not a 32-bit integer: a number (from there on, doubles) or not one at all.
  if (typeof values[i] !== 'number') return null;
  const doubles = scratch ? scratch.doubles(n) : new Float64Array(n);
  doubles.set(ints.subarray(0, i - start));
  return copyDoubles(values, i, end, doubles, start) === end ? doubles : null;
}

// The loops of packNumbers, each a function of its own that returns where it stopped. They
// run cold over every item of a map's first batches, so V8 compiles them on the stack (OSR)
// in the middle of their first long loop: code after that loop has never run, and optimized
// code that reaches an operation without type feedback (a comparison of the index, say)
// throws itself away at the loop's exit, to be compiled again on the next call, which then
// runs cold again. Here nothing follows a loop but `return i`, and the caller, which runs
// once per batch, is never optimized mid-loop. (Measured with --trace-deopt: packNumbers,
// written as one function, was deoptimized 4-5 times in a map of a million numbers sent in
// 8 batches; as it is now, not once.)

/** Copy `values[start, end)` into `out` from 0 while each is a 32-bit integer (isInt32, written out); the index where it stopped. */
function copyInts(values: ArrayLike<unknown>, start: number, end: number, out: Int32Array): number {
  let i = start;
  for (; i < end; i++) {
    const v = values[i];
    if (typeof v !== 'number' || (v | 0) !== v || (v === 0 && 1 / v < 0)) return i;
    out[i - start] = v;
  }
  return i;
}

/** Copy `values[from, end)` into `out` at `from - start` while each is a number; the index where it stopped. */
function copyDoubles(values: ArrayLike<unknown>, from: number, end: number, out: Float64Array, start: number): number {
  let i = from;
  for (; i < end; i++) {
    const v = values[i];
    if (typeof v !== 'number') return i;
    out[i - start] = v;
  }
  return i;
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
 * With a PackScratch, the typed arrays are that scratch's, reused batch after batch: a
 * packer's results are then valid until the scratch packs something else.
 */
export class NumberPacker {
  #packed: Float64Array | null;
  // Grown with push, not preallocated: V8 serializes a holey array (new Array(n)) element
  // by element, several times slower than a packed one.
  #values: unknown[] = [];
  /** The scratch the results are packed into: in use until what packed() returned is no longer read. */
  readonly scratch: PackScratch | undefined;

  /** For a batch of `n` items; fewer than MIN_PACKED_NUMBERS are never packed. */
  constructor(n: number, scratch?: PackScratch) {
    this.scratch = scratch;
    this.#packed = n < MIN_PACKED_NUMBERS ? null : scratch ? scratch.doubles(n) : new Float64Array(n);
  }

  /**
   * The array results are stored in while every one is a number, or null (never packing, or
   * no longer). A loop may store a number result `v` of item `i` as `direct[i] = v`, the
   * same as `set(i, v)` without a call per result: the child's hot loop does, because
   * until V8 has optimized it (the first batches of every worker) a call and a private
   * field per result made it several times slower.
   */
  get direct(): Float64Array | null {
    return this.#packed;
  }

  /** The result of item `i`; items come in order, from 0. */
  set(i: number, v: unknown): void {
    const packed = this.#packed;
    if (packed !== null) {
      if (typeof v === 'number') {
        packed[i] = v;
        return;
      }
      this.#values = unpack(packed, i);
      this.#packed = null;
    }
    this.#values.push(v);
  }

  /**
   * Every result, packed, when all were numbers (and there were enough); else null. An
   * Int32Array when every one is a 32-bit integer (judged here, in one pass that stops at
   * the first that is not), else the Float64Array they were stored in.
   */
  packed(): PackedNumbers | null {
    const packed = this.#packed;
    if (packed === null) return null;
    if (!allInt32(packed)) return packed;
    const ints = this.scratch ? this.scratch.ints(packed.length) : new Int32Array(packed.length);
    ints.set(packed);
    return ints;
  }

  /** The first `n` results (all of them by default) as a plain array. */
  list(n?: number): unknown[] {
    const packed = this.#packed;
    if (packed === null) return n === undefined || n === this.#values.length ? this.#values : this.#values.slice(0, n);
    return unpack(packed, n ?? packed.length);
  }
}

/** Does every number of `values` survive an Int32Array unchanged (isInt32, written out)? */
function allInt32(values: Float64Array): boolean {
  // The last one first: results that grow with their items (squares, running sums) are
  // largest there, so a batch that does not fit is known at once rather than after a pass
  // over the part that does. A worker's first batch of map(square) over 0..124,999 made
  // that pass over 46,341 results, in code not yet optimized: 1.2-2.0 ms of its reply.
  const n = values.length;
  if (n > 0 && !isInt32(values[n - 1]!)) return false;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if ((v | 0) !== v || (v === 0 && 1 / v < 0)) return false;
  }
  return true;
}

/** The bytes of packed numbers, as a 'numbers' reply carries them (see FromChild). */
export function bytesOf(packed: PackedNumbers): Uint8Array {
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
}

/**
 * The numbers of a 'numbers' reply: the bytes of an Int32Array (`ints`) or of a
 * Float64Array, as a typed array of that kind. A view of `bytes` when they sit at an
 * offset the kind allows (no copy); otherwise copied into one of `scratch`'s reused arrays,
 * so that only the one copy any receiver would make is made, into memory already touched.
 * Either way the result is valid only until `scratch` is used again: a reader that keeps
 * the numbers copies them.
 */
export function numbersOf(bytes: Uint8Array, ints: boolean, scratch: PackScratch): PackedNumbers {
  const size = ints ? 4 : 8;
  const n = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) return ints ? new Int32Array(bytes.buffer, bytes.byteOffset, n) : new Float64Array(bytes.buffer, bytes.byteOffset, n);
  const out = ints ? scratch.ints(n) : scratch.doubles(n);
  new Uint8Array(out.buffer, out.byteOffset, bytes.byteLength).set(bytes);
  return out;
}
