// Option validation shared by every face (timeouts, signals, counts), and the one timer every
// user-supplied delay goes through. Runs on every side (parent, child, host, manager server): it imports only
// src/errors.ts and src/util.ts, so any module of the library may use it.
//
// Timeout rules, the same for every call that waits (and for a host serving a wait that
// crossed the wire):
//   undefined, null, Infinity   no limit
//   a finite number >= 0        that many milliseconds, however large
//   a negative number           0: an immediate timeout (Python's join(-1), poll(-1))
//   NaN                         RangeError, code MP_INVALID_ARG
//   anything else               TypeError, code MP_INVALID_ARG
//
// Count rules (processes, maxTasksPerChild, chunksize), the same for every option that counts:
//   undefined, null             not given: the option's default
//   an integer >= 1             that many
//   any other number            RangeError, code MP_INVALID_ARG (0, -1, 1.5, NaN, Infinity)
//   anything else               TypeError, code MP_INVALID_ARG
//
// Node clamps a timer delay above 2**31-1 ms (about 24.8 days) to 1 ms and prints a
// TimeoutOverflowWarning, so a plain setTimeout(fn, 2**31) fires at once. setLongTimeout
// re-arms in steps of at most 2**31-1 ms instead; nothing else in the library may pass a
// user-controlled delay to setTimeout.

import { invalidArg, invalidRange } from './errors.ts';
import { describe } from './util.ts';

/** The longest delay Node's setTimeout honours (2**31-1 ms); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Validate a timeout in milliseconds. Returns the delay to wait (>= 0), or undefined for no
 * limit (undefined, null or Infinity); a negative number becomes 0. Throws RangeError for
 * NaN and TypeError for a value that is not a number, both with code MP_INVALID_ARG.
 */
export function checkTimeout(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') {
    throw invalidArg(`${what}: timeout must be a number of milliseconds (undefined or Infinity: no limit), got ${describe(value)}`);
  }
  if (Number.isNaN(value)) throw invalidRange(`${what}: timeout must be a number of milliseconds (undefined or Infinity: no limit), got NaN`);
  if (value === Infinity) return undefined;
  return value > 0 ? value : 0;
}

/** Validate a `{ signal }` option: undefined/null or an AbortSignal. Throws TypeError (MP_INVALID_ARG). */
export function checkSignal(value: unknown, what: string): AbortSignal | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || typeof (value as AbortSignal).aborted !== 'boolean') throw invalidArg(`${what}: signal must be an AbortSignal`);
  return value as AbortSignal;
}

/**
 * Validate `{ signal, timeout }` (the options of every call that can wait) and return them
 * normalized: the signal or undefined, the timeout as checkTimeout returns it. Throws
 * TypeError/RangeError (MP_INVALID_ARG) for options that are not an object, a signal that is
 * not an AbortSignal, or a bad timeout.
 */
export function checkCallOptions(opts: { signal?: unknown; timeout?: unknown } | undefined, what: string): { signal: AbortSignal | undefined; timeout: number | undefined } {
  if (opts === undefined) return { signal: undefined, timeout: undefined };
  if (typeof opts !== 'object' || opts === null) throw invalidArg(`${what}: options must be an object, got ${describe(opts)}`);
  const signal = checkSignal(opts.signal, what);
  // Listened to, not only read: a look-alike without addEventListener is refused here rather
  // than failing later inside the call.
  if (signal !== undefined && typeof signal.addEventListener !== 'function') throw invalidArg(`${what}: signal must be an AbortSignal`);
  return { signal, timeout: checkTimeout(opts.timeout, what) };
}

/**
 * Validate a count (see the rules above): returns the integer, or undefined when not given.
 * `name` is how the message calls it: "chunksize", "the number of processes".
 */
export function checkCount(value: unknown, what: string, name: string, hint = ''): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw invalidArg(`${what}: ${name} must be an integer >= 1${hint}, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1) throw invalidRange(`${what}: ${name} must be an integer >= 1${hint}, got ${describe(value)}`);
  return value;
}

/** Items per task of a map (`{ chunksize }`); undefined when not given (the call's default). */
export function checkChunksize(value: unknown, what: string): number | undefined {
  return checkCount(value, what, 'chunksize');
}

/** Worker processes of a pool (`processes`, `maxWorkers`); undefined when not given (cpuCount()). */
export function checkProcesses(value: unknown, what: string): number | undefined {
  return checkCount(value, what, 'the number of processes');
}

/**
 * Tasks a worker runs before it is replaced (`maxTasksPerChild`); undefined when not given
 * (no limit). 0 is refused like any count below 1: "no limit" is said by leaving it out.
 */
export function checkMaxTasksPerChild(value: unknown, what: string): number | undefined {
  return checkCount(value, what, 'maxTasksPerChild', ' (or undefined for no limit)');
}

/**
 * Refuse an option `known` does not name. JavaScript has no keyword arguments, so a misspelt
 * option (`chunkSize`, `initialiser`) or one in Python's spelling (`max_workers`,
 * `maxtasksperchild`) would otherwise be ignored without a word, the call running with the
 * default instead; Python raises TypeError for an unexpected keyword argument. The message
 * names the option meant when one is close (the same letters without case or underscores,
 * at most two edits apart, or one the other with a suffix). Only own enumerable string keys
 * count; `options` that is not an object is left to the caller's own check. TypeError,
 * code MP_INVALID_ARG.
 */
export function checkOptionNames(options: unknown, known: readonly string[], what: string): void {
  if (typeof options !== 'object' || options === null) return;
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const instead = PYTHON_ONLY.get(key);
    const meant = instead === undefined ? closestName(key, known) : undefined;
    const hint = instead !== undefined ? ` (${instead})` : meant !== undefined ? ` (did you mean ${meant}?)` : '';
    throw invalidArg(`${what}: unknown option ${JSON.stringify(key)}${hint}; the options are ${known.join(', ')}`);
  }
}

/**
 * The option names of the options type `T`, for checkOptionNames: written as an object with
 * every key of `T` (set to true), so that the compiler refuses a list that misses one or
 * names one `T` does not have.
 */
export function optionNames<T>(names: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.keys(names);
}

/** Python keyword-argument names with no option here, and what to do instead. */
const PYTHON_ONLY = new Map([
  ['kwargs', 'JavaScript has no keyword arguments: pass every argument in the arguments array, or one object'],
  ['kwds', 'JavaScript has no keyword arguments: pass every argument in the arguments array, or one object'],
]);

/** The name of `known` closest to `key`, if one is close enough to be what was meant. */
function closestName(key: string, known: readonly string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  const k = squash(key);
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const d = editDistance(k, squash(name), bestDistance);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  // Else one that is the other with a suffix (`blocking` for `block`, `mininterval` for
  // `minIntervalMs`).
  return best ?? known.find((name) => {
    const n = squash(name);
    return Math.min(n.length, k.length) >= 4 && (n.startsWith(k) || k.startsWith(n));
  });
}

/** Levenshtein distance of `a` and `b`, or `limit` when it is at least that. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return Math.min(row[b.length]!, limit);
}

/** A timer from setLongTimeout. */
export interface LongTimer {
  /** Stop the timer; `fn` will not run. Idempotent, and harmless after it fired. */
  clear(): void;
  /** Keep the event loop alive until the timer fires (the default). */
  ref(): this;
  /** Let the process exit while the timer is pending. */
  unref(): this;
}

class LongTimeout implements LongTimer {
  readonly #fn: () => void;
  /** Milliseconds still to wait after the current step. */
  #left: number;
  #timer: NodeTimeout | null = null;
  #ref: boolean;

  constructor(fn: () => void, ms: number, ref: boolean) {
    this.#fn = fn;
    this.#ref = ref;
    // NaN (never produced by checkTimeout) and negatives fire as soon as possible.
    this.#left = ms > 0 ? ms : 0;
    // Infinity never fires: no timer at all, so nothing holds the event loop for it.
    if (this.#left !== Infinity) this.#arm();
  }

  #arm(): void {
    const step = Math.min(this.#left, MAX_TIMER_MS);
    this.#left -= step;
    this.#timer = setTimeout(this.#onStep, step);
    if (!this.#ref) this.#timer.unref();
  }

  // Counting the steps down, rather than re-reading a clock, keeps Node's own guarantee
  // (a timer never fires before its delay) for the total.
  readonly #onStep = (): void => {
    this.#timer = null;
    if (this.#left > 0) this.#arm();
    else this.#fn();
  };

  clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#left = 0;
  }

  ref(): this {
    this.#ref = true;
    this.#timer?.ref();
    return this;
  }

  unref(): this {
    this.#ref = false;
    this.#timer?.unref();
    return this;
  }
}

/**
 * Call `fn` once after `ms` milliseconds, for any delay: one beyond 2**31-1 ms is waited in
 * steps (no early fire, no TimeoutOverflowWarning); Infinity never fires; a negative delay
 * fires as soon as possible. `unref: true` lets the process exit meanwhile.
 */
export function setLongTimeout(fn: () => void, ms: number, options?: { unref?: boolean }): LongTimer {
  return new LongTimeout(fn, ms, options?.unref !== true);
}

/**
 * The moment (on the `performance.now()` clock) `timeout` ms from now, for a wait made of
 * several steps that shares one time limit; Infinity when `timeout` is undefined (no limit).
 */
export function deadlineAfter(timeout: number | undefined): number {
  return timeout === undefined ? Infinity : performance.now() + timeout;
}

/** Milliseconds left until `deadline` (from deadlineAfter), never negative; undefined when it is Infinity. */
export function timeLeft(deadline: number): number | undefined {
  return deadline === Infinity ? undefined : Math.max(0, deadline - performance.now());
}
