// Iteration helpers Python users reach for beside a pool: itertools.repeat for a constant extra
// argument of `executor.map`, and a list() of an async iterator (Node 20 has no
// Array.fromAsync). Runs in any process; imports only errors.ts.
//
// Both stay lazy where laziness matters: `repeat` never builds an array (without a count it is
// endless, and `executor.map` zips its iterables and stops at the shortest, as Python's zip),
// and `collect` pulls one item at a time, so an `imap` it drains keeps its bounded number of
// items in flight.

import { invalidArg, invalidRange } from './errors.ts';

/**
 * An iterable that yields `value` `times` times, or forever without `times`. Each
 * `for…of` (each call of `[Symbol.iterator]()`) starts again from the first item, so one
 * `repeat(...)` can be passed to several calls.
 *
 * Python: itertools.repeat(object, times) — re-iterable (Python's is a one-shot iterator);
 * a negative `times` is an error here, where Python yields nothing.
 *
 * Throws `TypeError` (`code: 'MP_INVALID_ARG'`) when `times` is given and is not a number,
 * `RangeError` when it is not an integer ≥ 0 (`Infinity` means endless, like no `times`).
 *
 * @example
 * // Python: ex.map(convert, files, itertools.repeat(out_dir))
 * for await (const out of executor.map(convert, files, repeat(outDir))) console.log(out);
 * [...repeat('x', 3)]; // ['x', 'x', 'x']
 */
export function repeat<T>(value: T, times?: number): Iterable<T> {
  if (times !== undefined) {
    if (typeof times !== 'number') throw invalidArg(`repeat() times must be a number (or left out for an endless repeat), got ${describe(times)}`);
    if (times !== Infinity && (!Number.isInteger(times) || times < 0)) {
      throw invalidRange(`repeat() times must be an integer >= 0 (or left out for an endless repeat), got ${describe(times)}`);
    }
  }
  const count = times ?? Infinity;
  return {
    *[Symbol.iterator](): Generator<T, void, undefined> {
      for (let i = 0; i < count; i++) yield value;
    },
  };
}

/**
 * Collects every item of a sync or async iterable into an array, in order; the items of a sync
 * iterable are awaited, as `for await` does. Use it to turn `pool.imap(...)`,
 * `executor.map(...)` or `asCompleted(...)` into a list.
 *
 * Python: list(iterable) — the `Array.fromAsync` of Node ≥ 22, for Node 20.
 *
 * Rejects with `TypeError` (`code: 'MP_INVALID_ARG'`) when `iterable` is neither, and with
 * whatever the iterable throws (for `imap`: `RemoteError`, `WorkerLostError`, …); the
 * iterable is then closed, which cancels an `imap`'s outstanding work.
 *
 * @example
 * const squares = await collect(pool.imap((x: number) => x * x, [1, 2, 3])); // [1, 4, 9]
 */
export async function collect<T>(iterable: AsyncIterable<T> | Iterable<T | PromiseLike<T>>): Promise<T[]> {
  const isAsync = iterable != null && typeof (iterable as AsyncIterable<T>)[Symbol.asyncIterator] === 'function';
  const isSync = iterable != null && typeof (iterable as Iterable<T>)[Symbol.iterator] === 'function';
  if (!isAsync && !isSync) throw invalidArg(`collect() needs a sync or async iterable, got ${describe(iterable)}`);
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** A short description of a bad argument for an error message. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value == null) return String(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}
