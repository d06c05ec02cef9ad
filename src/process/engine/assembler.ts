// Joins the per-batch results of a map into one array in input order. Parent side; pure.
// Batches arrive in any order, each a plain array or packed numbers (src/process/numbers.ts);
// the way they are joined decides whether the result is a packed array V8 serializes fast.

import type { PackedNumbers } from '../../protocol/index.ts';
import type { BatchValues } from './job.ts';

/** Append `values` to `out` (a small function of its own, so V8 optimizes the loop early). */
function pushNumbers(out: unknown[], values: PackedNumbers): void {
  for (let i = 0; i < values.length; i++) out.push(values[i]);
}

/** Write `values` into `out` from index `start` (small, for the same reason). */
function copyInto(out: unknown[], start: number, values: BatchValues): void {
  for (let i = 0; i < values.length; i++) out[start + i] = values[i];
}

/**
 * An array as long as `items` (a map's input, all numbers as far as its first item tells)
 * to write that map's results into, in the elements kind numbers end up in: doubles.
 * `[0.5].concat(items)` copies and converts in one native pass into one new backing
 * store; a copy of `items` itself (`slice`) holds small integers as such, and the first
 * result that is not one (the square of 46341) makes V8 convert the whole array into a
 * second, new backing store: twice the memory to touch for the first time, the most
 * expensive part of assembling a large map. Every element is overwritten by a result.
 */
export function numberSkeleton(items: unknown[]): unknown[] {
  const out = ([0.5] as unknown[]).concat(items);
  out.pop();
  return out;
}

/**
 * Joins the per-batch results of `mapAll` into one array in input order.
 *
 * A map of numbers gets a skeleton: a copy of its input array (one bulk copy), exactly as
 * long as the result, and packed when the input is. Each batch is written into place as
 * soon as it arrives, in whatever order; no array grows, and the result stays packed (V8
 * serializes an array of holey elements kind key by key, ten times slower, which matters
 * when the results are sent on to another call; `new Array(n)` would be holey).
 *
 * Otherwise each batch is appended as soon as all batches before it have arrived (so the
 * work overlaps with the workers still running, and finished batches are released early):
 * numeric batches by push onto a plain array, which keeps it a packed array of doubles;
 * plain arrays as they are, joined by `concat` at the end, which copies in bulk and keeps
 * the result packed. A map whose batches are all numeric needs no final copy at all.
 */
export class Assembler {
  /** The skeleton being filled in, or null. */
  readonly #out: unknown[] | null;
  #remaining: number;
  /** Finished runs, in order: plain batch arrays and arrays built from numeric batches. */
  readonly #pieces: unknown[][] = [];
  /** The numeric run being appended to (the last piece), or null. */
  #run: unknown[] | null = null;
  readonly #slots: (BatchValues | undefined)[];
  #next = 0;
  constructor(batches: number, skeleton: unknown[] | null) {
    this.#remaining = batches;
    this.#out = skeleton;
    this.#slots = skeleton === null ? new Array(batches) : [];
  }
  /** Store the values of batch `k`, which starts at item `start`; true when every batch has arrived. */
  put(k: number, start: number, values: BatchValues): boolean {
    if (this.#out !== null) {
      copyInto(this.#out, start, values);
      return --this.#remaining === 0;
    }
    const slots = this.#slots;
    // Packed numbers are valid during this call only (see Sink.result): copied when they
    // must wait for an earlier batch.
    slots[k] = k === this.#next || Array.isArray(values) ? values : values.slice();
    while (this.#next < slots.length) {
      const v = slots[this.#next];
      if (v === undefined) break;
      slots[this.#next++] = undefined;
      if (Array.isArray(v)) {
        this.#run = null;
        this.#pieces.push(v);
      } else {
        let run = this.#run;
        if (run === null) this.#pieces.push((run = this.#run = []));
        pushNumbers(run, v);
      }
    }
    return this.#next === slots.length;
  }
  /** The results, once `put` said every batch arrived. */
  result(): unknown[] {
    if (this.#out !== null) return this.#out;
    const pieces = this.#pieces;
    if (pieces.length === 1) return pieces[0]!;
    const GROUP = 8192;
    // `concat` is applied in groups so that very many small batches do not exceed the
    // engine's argument limit.
    if (pieces.length <= GROUP) return ([] as unknown[]).concat(...pieces);
    let out: unknown[] = [];
    for (let i = 0; i < pieces.length; i += GROUP) out = out.concat(...pieces.slice(i, i + GROUP));
    return out;
  }
}
