// Progress bars and array splitting: the tqdm and numpy helpers Python users reach for beside
// multiprocessing. Runs in any process (usually the parent); imports only errors.ts and util.ts.
//
// One `ProgressBar` does all the drawing. `progress(iterable)` wraps an iterable in a bar that
// counts items as the consumer finishes them; the Pool counts results as they arrive with
// `ProgressBar.fromOption(opts.progress, { total })` + `update(k)` + `close()`.
//
// Cost per counted item is one clock read and a comparison; text is built and written at most
// once per `minIntervalMs` on a TTY, and only at the tenths of the total (or at doubling time
// intervals when the total is unknown) on any other stream, so a log file gets a few lines.
//
// `processMap` (tqdm's process_map) needs the Pool and is added beside the Pool.

import { invalidArg, invalidRange } from '../errors.ts';
import { checkOptionNames, optionNames } from '../options.ts';
import { describe, isAsyncIterable, isIterable } from '../util.ts';

/**
 * The part of a writable stream a progress bar uses; `process.stderr` is one.
 * Python: tqdm's `file=` (sys.stderr by default).
 * @example
 * const lines: string[] = [];
 * const stream: ProgressStream = { write: (s) => lines.push(s), isTTY: false };
 */
export interface ProgressStream {
  write(chunk: string): unknown;
  /** When true the bar redraws in place with `\r`; otherwise it prints a few plain lines. */
  isTTY?: boolean;
  /** Terminal width, read at every redraw. */
  columns?: number;
}

/**
 * Options of `ProgressBar` and `progress()`.
 * Python: tqdm's keyword arguments total, desc, file (`stream`), mininterval (`minIntervalMs`,
 * in ms rather than s), unit, disable.
 * @example
 * const options: ProgressBarOptions = { total: 1000, desc: 'rows', unit: 'row' };
 */
export interface ProgressBarOptions {
  /**
   * Number of items expected; `undefined` draws a counter without percent, bar or ETA.
   * `progress()` infers it from an array's `length` or a Map/Set's `size`.
   * @default undefined
   */
  total?: number;
  /**
   * Label printed before the bar (`desc: 45%|████ …`).
   * @default ''
   */
  desc?: string;
  /**
   * Where to draw.
   * @default process.stderr
   */
  stream?: ProgressStream;
  /**
   * Least time between two redraws on a TTY, and between two plain lines elsewhere.
   * @default 100
   */
  minIntervalMs?: number;
  /**
   * Name of one item in the rate (`it/s`, `files/s`).
   * @default 'it'
   */
  unit?: string;
  /**
   * Draw nothing at all (the counting still happens).
   * @default false
   */
  disable?: boolean;
  /**
   * Clock in milliseconds, for deterministic rendering in tests.
   * @default performance.now
   */
  now?: () => number;
}

const PROGRESS_OPTIONS = optionNames<ProgressBarOptions>({ total: true, desc: true, stream: true, minIntervalMs: true, unit: true, disable: true, now: true });

/**
 * What a `progress` option on `map`, `imap`… accepts: `true` for a bar with defaults, an
 * options object (usually `{ desc }`), or `false`/`undefined` for none.
 * Python: wrapping the call in tqdm, or tqdm.contrib.concurrent's `tqdm_kwargs`.
 * @default undefined
 * @example
 * const option: ProgressOption = { desc: 'squares' }; // pool.map(square, xs, { progress: option })
 */
export type ProgressOption = boolean | ProgressBarOptions;

/**
 * Returned by `progress()` for a sync iterable: iterate it with `for…of` or `for await`.
 * Python: the tqdm object, iterable like its input.
 * @example
 * const rows: ProgressIterable<number> = progress([1, 2, 3]);
 * for (const row of rows) void row;
 */
export interface ProgressIterable<T> extends Iterable<T>, AsyncIterable<T> {}

const PLAIN_BAR_WIDTH = 10;
const BLOCKS = ' ▏▎▍▌▋▊▉█';
const ASCII_BLOCKS = ' 123456789#';
// With an unknown total a plain stream gets a line after 1 s, 2 s, 4 s… so a long run prints
// a handful of lines rather than one per interval.
const FIRST_PLAIN_INTERVAL_MS = 1000;

/**
 * A tqdm-style progress bar counting by `update(n)` and finished by `close()`. On a TTY it
 * redraws one line in place (desc, percent, bar, count/total, elapsed<ETA, rate); on any
 * other stream it prints at most about ten plain lines plus a final one.
 *
 * Python: tqdm.tqdm used manually (`bar = tqdm(total=n); bar.update(k); bar.close()`), with the
 * same line format; the rate is the average over the whole run (tqdm smooths it).
 *
 * Throws `TypeError`/`RangeError` (`code: 'MP_INVALID_ARG'`) for bad options.
 *
 * @example
 * const bar = new ProgressBar({ total: 3, desc: 'chunks' });
 * for (const chunk of [10, 20, 30]) bar.update(); // one per chunk done
 * bar.close(); // on a TTY: chunks: 100%|████████…| 3/3 [00:00<00:00, 2.1kit/s]
 */
export class ProgressBar {
  #n = 0;
  #total: number | undefined;
  readonly #desc: string;
  readonly #unit: string;
  readonly #stream: ProgressStream | undefined;
  readonly #tty: boolean;
  readonly #minInterval: number;
  readonly #now: () => number;
  readonly #start: number;
  #closed = false;
  // Time of the last write, the length of the last TTY line (to blank out a longer previous
  // line), and for plain lines the tenth of the total last printed / the next time to print.
  #lastDraw: number;
  #lastLength = 0;
  #lastTenth = 0;
  #plainInterval = FIRST_PLAIN_INTERVAL_MS;

  constructor(options: ProgressBarOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidArg(`ProgressBar options must be an object, got ${describe(options)}`);
    checkOptionNames(options, PROGRESS_OPTIONS, 'progress options');
    this.#total = checkTotal(options.total);
    const { desc = '', unit = 'it', minIntervalMs = 100, disable = false, now = defaultNow } = options;
    if (typeof desc !== 'string') throw invalidArg(`progress desc must be a string, got ${describe(desc)}`);
    if (typeof unit !== 'string') throw invalidArg(`progress unit must be a string, got ${describe(unit)}`);
    if (typeof minIntervalMs !== 'number' || !(minIntervalMs >= 0) || minIntervalMs === Infinity) {
      throw invalidRange(`progress minIntervalMs must be a finite number >= 0, got ${describe(minIntervalMs)}`);
    }
    if (typeof now !== 'function') throw invalidArg(`progress now must be a function returning milliseconds, got ${describe(now)}`);
    const stream = disable ? undefined : (options.stream ?? defaultStream());
    if (stream !== undefined && (typeof stream !== 'object' || stream === null || typeof stream.write !== 'function')) {
      throw invalidArg(`progress stream must have a write(chunk) method, got ${describe(stream)}`);
    }
    this.#desc = desc;
    this.#unit = unit;
    this.#stream = stream;
    this.#tty = stream?.isTTY === true;
    this.#minInterval = minIntervalMs;
    this.#now = now;
    this.#start = now();
    this.#lastDraw = this.#start;
    // A TTY shows the empty bar at once, so a slow first item does not look like a hang.
    if (this.#tty) this.#drawTTY(this.#start);
  }

  /**
   * Turns a `progress` option into a bar, or `undefined` when the option asks for none.
   * `defaults` (typically `{ total }` known to the caller) fill what the option leaves out.
   * Python: what tqdm.contrib.concurrent does with `tqdm_kwargs` beside the known total.
   *
   * @example
   * const items = [1, 2, 3];
   * const bar = ProgressBar.fromOption({ desc: 'results' }, { total: items.length });
   * try { for (const item of items) bar?.update(); } finally { bar?.close(); }
   */
  static fromOption(option: ProgressOption | undefined, defaults: ProgressBarOptions = {}): ProgressBar | undefined {
    if (option === undefined || option === false) return undefined;
    if (option === true) return new ProgressBar(defaults);
    if (typeof option !== 'object' || option === null) throw invalidArg(`progress must be true, false or an options object such as { desc }, got ${describe(option)}`);
    const merged: ProgressBarOptions = { ...defaults };
    for (const [key, value] of Object.entries(option)) {
      if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    }
    return new ProgressBar(merged);
  }

  /** Items counted so far. */
  get n(): number {
    return this.#n;
  }

  /** Items expected, or `undefined` when unknown. Settable once the caller learns it. */
  get total(): number | undefined {
    return this.#total;
  }
  set total(value: number | undefined) {
    this.#total = checkTotal(value);
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Counts `n` more items (negative to go back) and redraws if `minIntervalMs` has passed.
   * After `close()` it still counts but draws nothing.
   * @param n items to add
   * @default 1
   */
  update(n = 1): void {
    if (typeof n !== 'number' || !Number.isFinite(n)) throw invalidRange(`progress update(n) needs a finite number, got ${describe(n)}`);
    this.#n += n;
    if (this.#closed || this.#stream === undefined) return;
    const t = this.#now();
    const since = t - this.#lastDraw;
    if (this.#tty) {
      if (since >= this.#minInterval) this.#drawTTY(t);
    } else if (since >= this.#minInterval) {
      this.#maybePlainLine(t, since);
    }
  }

  /** Draws the final state and ends the line. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#stream === undefined) return;
    const t = this.#now();
    if (this.#tty) {
      this.#drawTTY(t);
      this.#stream.write('\n');
    } else {
      this.#stream.write(this.#format(t, PLAIN_BAR_WIDTH, ASCII_BLOCKS) + '\n');
    }
  }

  /** Same as `close()`, for `using bar = new ProgressBar(…)`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #drawTTY(t: number): void {
    this.#lastDraw = t;
    const columns = typeof this.#stream!.columns === 'number' && this.#stream!.columns > 0 ? this.#stream!.columns : 80;
    // One column stays free: writing the last column makes some terminals wrap, and a wrapped
    // line can no longer be redrawn with `\r`.
    let line = this.#format(t, null, BLOCKS, columns - 1);
    if (line.length > columns - 1) line = line.slice(0, Math.max(0, columns - 1));
    const pad = this.#lastLength > line.length ? ' '.repeat(this.#lastLength - line.length) : '';
    this.#lastLength = line.length;
    this.#stream!.write('\r' + line + pad);
  }

  #maybePlainLine(t: number, since: number): void {
    const total = this.#total;
    if (total !== undefined && total > 0) {
      // One line per tenth of the total reached; the final line is close()'s.
      const tenth = Math.min(10, Math.floor((this.#n * 10) / total));
      if (tenth <= this.#lastTenth || tenth >= 10) return;
      this.#lastTenth = tenth;
    } else {
      if (since < this.#plainInterval) return;
      this.#plainInterval *= 2;
    }
    this.#lastDraw = t;
    this.#stream!.write(this.#format(t, PLAIN_BAR_WIDTH, ASCII_BLOCKS) + '\n');
  }

  // tqdm's meter: `desc: 45%|████▌     | 450/1000 [00:01<00:01, 312it/s]`, or without a total
  // `desc: 450it [00:01, 312it/s]`. `barWidth` null fills `columns`.
  #format(t: number, barWidth: number | null, blocks: string, columns = 80): string {
    const n = this.#n;
    const total = this.#total;
    const elapsed = Math.max(0, t - this.#start) / 1000;
    const rate = elapsed > 0 && n > 0 ? n / elapsed : undefined;
    const rateText = rate === undefined ? `?${this.#unit}/s` : rate >= 1 ? `${formatSize(rate)}${this.#unit}/s` : `${formatSize(1 / rate)}s/${this.#unit}`;
    const prefix = this.#desc ? `${this.#desc}: ` : '';
    if (total === undefined) return `${prefix}${formatCount(n)}${this.#unit} [${formatInterval(elapsed)}, ${rateText}]`;
    const fraction = total > 0 ? Math.max(0, n / total) : 1;
    // n * 100 / total, not fraction * 100: 29 / 100 * 100 is 28.999… and would floor to 28.
    const percent = `${String(total > 0 ? Math.max(0, Math.floor((n * 100) / total)) : 100).padStart(3)}%`;
    const remaining = n >= total ? 0 : rate === undefined ? undefined : (total - n) / rate;
    const suffix = `| ${formatCount(n)}/${formatCount(total)} [${formatInterval(elapsed)}<${remaining === undefined ? '?' : formatInterval(remaining)}, ${rateText}]`;
    const width = barWidth ?? columns - prefix.length - percent.length - 1 - suffix.length;
    if (width < 3) return `${prefix}${percent} ${suffix.slice(2)}`;
    return `${prefix}${percent}|${drawBar(Math.min(1, fraction), width, blocks)}${suffix}`;
  }
}

/**
 * Wraps an iterable in a progress bar that counts each item once the loop body is done with
 * it (when the next item is asked for), and closes the bar when the loop ends, breaks or
 * throws. The bar is created when iteration starts, so an unused wrapper draws nothing.
 * A sync iterable gives back an object usable with both `for…of` and `for await`; an async
 * iterable gives back an async iterable.
 *
 * Python: tqdm.tqdm(iterable, total=…, desc=…); `total` is inferred from `length` (arrays,
 * typed arrays) or `size` (Map, Set) as tqdm uses len().
 *
 * Throws `TypeError` (`code: 'MP_INVALID_ARG'`) when `iterable` is not iterable.
 *
 * @example
 * let sum = 0;
 * for (const n of progress([1, 2, 3], { desc: 'numbers' })) sum += n;
 * // with a pool: for await (const r of progress(pool.imap(square, xs), { total: xs.length })) …
 */
export function progress<T>(iterable: Iterable<T>, options?: ProgressBarOptions): ProgressIterable<T>;
export function progress<T>(iterable: AsyncIterable<T>, options?: ProgressBarOptions): AsyncIterable<T>;
export function progress<T>(iterable: Iterable<T> | AsyncIterable<T>, options: ProgressBarOptions = {}): ProgressIterable<T> | AsyncIterable<T> {
  if (typeof options !== 'object' || options === null) throw invalidArg(`progress options must be an object, got ${describe(options)}`);
  checkOptionNames(options, PROGRESS_OPTIONS, 'progress options');
  const isSync = isIterable(iterable);
  const isAsync = isAsyncIterable(iterable);
  if (!isSync && !isAsync) throw invalidArg(`progress() needs an iterable or async iterable, got ${describe(iterable)}`);
  const makeBar = (): ProgressBar =>
    new ProgressBar(options.total === undefined ? { ...options, total: inferTotal(iterable) } : options);

  async function* asyncItems(): AsyncGenerator<T, void, undefined> {
    const bar = makeBar();
    try {
      // An object both sync and async iterable (a ProgressIterable) is read asynchronously.
      if (isAsync) {
        for await (const item of iterable as AsyncIterable<T>) {
          yield item;
          bar.update();
        }
      } else {
        for (const item of iterable as Iterable<T>) {
          yield item;
          bar.update();
        }
      }
    } finally {
      bar.close();
    }
  }
  if (!isSync) return { [Symbol.asyncIterator]: asyncItems };

  function* syncItems(): Generator<T, void, undefined> {
    const bar = makeBar();
    try {
      for (const item of iterable as Iterable<T>) {
        yield item;
        bar.update();
      }
    } finally {
      bar.close();
    }
  }
  return { [Symbol.iterator]: syncItems, [Symbol.asyncIterator]: asyncItems };
}

/**
 * What `arraySplit` can split: arrays, typed arrays, Buffers, strings.
 * Python: numpy's array_like (first axis only).
 * @example
 * const parts = arraySplit(new Float64Array(10) satisfies Sliceable, 3); // Float64Array[]
 */
export interface Sliceable {
  readonly length: number;
  slice(start?: number, end?: number): unknown;
}

/**
 * Splits `array` into `sections` consecutive parts whose lengths differ by at most one, the
 * longer parts first; with more sections than items the trailing parts are empty. Passing an
 * array of indices instead splits at those indices (`[3, 5]` → `[0, 3)`, `[3, 5)`, `[5, end)`),
 * with slice semantics for negative and out-of-range indices. Parts are copies made by
 * `slice` (a typed array gives typed arrays).
 *
 * Python: numpy.array_split(ary, indices_or_sections) on the first axis; numpy returns
 * views, this returns copies.
 *
 * Throws `RangeError` (`code: 'MP_INVALID_ARG'`) when `sections` is not an integer ≥ 1,
 * `TypeError` when `array` has no `length` and `slice`.
 *
 * @example
 * arraySplit([1, 2, 3, 4, 5, 6, 7], 3); // [[1, 2, 3], [4, 5], [6, 7]]
 * arraySplit([1, 2, 3], 5);             // [[1], [2], [3], [], []]
 * arraySplit([1, 2, 3, 4, 5], [2, 3]);  // [[1, 2], [3], [4, 5]]
 */
export function arraySplit<T>(array: readonly T[], sections: number | readonly number[]): T[][];
export function arraySplit<A extends Sliceable>(array: A, sections: number | readonly number[]): ReturnType<A['slice']>[];
export function arraySplit(array: Sliceable, sections: number | readonly number[]): unknown[] {
  if (array == null || typeof array.length !== 'number' || typeof array.slice !== 'function') {
    throw invalidArg(`arraySplit() needs an array (or typed array, string: anything with length and slice), got ${describe(array)}`);
  }
  if (Array.isArray(sections)) {
    const parts: unknown[] = [];
    let start = 0;
    for (const [i, index] of sections.entries()) {
      if (!Number.isInteger(index)) throw invalidRange(`arraySplit() split indices must be integers, got ${describe(index)} at position ${i}`);
      parts.push(array.slice(start, index));
      start = index;
    }
    parts.push(array.slice(start));
    return parts;
  }
  if (typeof sections !== 'number') throw invalidArg(`arraySplit() sections must be a number or an array of indices, got ${describe(sections)}`);
  if (!Number.isInteger(sections) || sections < 1) {
    throw invalidRange(`arraySplit() sections must be an integer >= 1, got ${describe(sections)}`);
  }
  const length = array.length;
  const each = Math.floor(length / sections);
  const extra = length % sections;
  const parts: unknown[] = new Array(sections);
  let start = 0;
  for (let i = 0; i < sections; i++) {
    const end = start + each + (i < extra ? 1 : 0);
    parts[i] = array.slice(start, end);
    start = end;
  }
  return parts;
}

function defaultNow(): number {
  return performance.now();
}

function defaultStream(): ProgressStream | undefined {
  return typeof process === 'object' && process !== null ? process.stderr : undefined;
}

function checkTotal(total: unknown): number | undefined {
  if (total === undefined) return undefined;
  if (typeof total !== 'number' || !(total >= 0) || total === Infinity) {
    throw invalidRange(`progress total must be a finite number >= 0 or undefined, got ${describe(total)}`);
  }
  return total;
}

// tqdm uses len(); here `length` (arrays, typed arrays, array-likes) or `size` (Map, Set).
// Strings are skipped: their length counts UTF-16 units while iteration yields code points.
function inferTotal(iterable: unknown): number | undefined {
  if (typeof iterable !== 'object' || iterable === null) return undefined;
  const { length, size } = iterable as { length?: unknown; size?: unknown };
  if (typeof length === 'number' && length >= 0 && Number.isFinite(length)) return length;
  if (typeof size === 'number' && size >= 0 && Number.isFinite(size)) return size;
  return undefined;
}

function drawBar(fraction: number, width: number, blocks: string): string {
  const steps = blocks.length - 1;
  const cells = fraction * width;
  const full = Math.floor(cells);
  if (full >= width) return blocks[steps]!.repeat(width);
  const partial = Math.floor((cells - full) * steps);
  return blocks[steps]!.repeat(full) + blocks[partial] + ' '.repeat(width - full - 1);
}

// tqdm's format_interval: `mm:ss`, or `h:mm:ss` from one hour.
function formatInterval(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

// tqdm's format_sizeof: three significant digits and an SI suffix (1.23, 45.6, 789, 1.23k).
function formatSize(value: number): string {
  for (const suffix of ['', 'k', 'M', 'G', 'T', 'P']) {
    if (Math.abs(value) < 999.5) {
      if (Math.abs(value) < 99.95) {
        if (Math.abs(value) < 9.995) return value.toFixed(2) + suffix;
        return value.toFixed(1) + suffix;
      }
      return value.toFixed(0) + suffix;
    }
    value /= 1000;
  }
  return value.toFixed(1) + 'E';
}

function formatCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

