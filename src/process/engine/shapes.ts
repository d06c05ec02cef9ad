// The three shapes of work every face is made of, over the engine (engine.ts). Parent side.
//   call     one call `fn(...args)`: Pool.apply/applyAsync (executor.submit builds its own Job
//            for its Future, the same way)
//   mapAll   a whole list at once, results in input order: Pool.map/starmap and Async forms
//   stream   a lazy, bounded iterator over a sync or async (possibly endless) input, ordered
//            or not: Pool.imap/imapUnordered, executor.map
// Each validates its options, chunks its items into batches (the chunk-size rules and limits
// below) and reads results through a Sink.

import { CancelledError, invalidArg, invalidRange } from '../../errors.ts';
import { checkCallOptions, checkChunksize, checkOptionNames, deadlineAfter, timeLeft } from '../../options.ts';
import { describe, isAsyncIterable, isIterable } from '../../util.ts';
import { batchItems, MIN_PACKED_NUMBERS } from '../numbers.ts';
import { ProgressBar } from '../progress.ts';
import { Assembler, numberSkeleton } from './assembler.ts';
import { rethrowAtAwait } from './call-site.ts';
import { PIPELINE_DEPTH, type Engine } from './engine.ts';
import type { Batch, BatchValues, Sink } from './job.ts';
import type { CallOptions, MapOptions } from './options.ts';

/**
 * Most items one IPC message carries. Node's advanced serialization is fastest with
 * messages of a few thousand items; larger ones are slower per item (large buffers are
 * concatenated and copied on the way in). Measured for map(square, 1e6) on 2 workers,
 * medians of 6 interleaved runs: 4096 → 2.46M/s, 8192 → 2.27M/s, 16384 → 1.79M/s,
 * 32768 → 1.84M/s. A bigger chunk is split into several messages.
 */
export const MAX_BATCH_ITEMS = 4096;
/**
 * Most items of one message of a `map`/`starmap` whose items are numbers, over a function
 * not known to return anything but numbers. Items and results then both travel as typed
 * arrays on the worker's byte channel (raw bytes, read into reused memory), so the per-item
 * cost does not grow with message size, and each message costs a fixed amount of work in
 * the parent (two IPC messages, a frame each way, the engine's bookkeeping), most of it in
 * code that a single map runs too few times for V8 to optimize. The default chunking
 * (about four chunks per worker, Python's rule) is then kept up to this size. Measured with
 * bench case 1 (map(square) over 1e6 ints, 2 workers: chunks of 125,000), 8 interleaved
 * runs each, M items/s and parent CPU ms, medians: 32768 → 9.2 / 70, 65536 → 11.3 / 53,
 * 131072 → 13.4 / 49. Beyond it a chunk is split, which bounds what a worker's channel
 * keeps pooled (BytePool) to a few 1 MiB buffers. (Before the byte channel, when numbers
 * crossed in IPC messages, 32768 was best; results that are objects measured ~25% slower
 * at 32768 than at 4096, which is why other maps keep MAX_BATCH_ITEMS.)
 */
export const MAX_NUMERIC_BATCH_ITEMS = 131072;
/**
 * Adaptive chunks of imap/imapUnordered/executor map without a chunksize: a chunk that ran
 * in under ADAPT_GROW_MS doubles the next one (up to ADAPT_MAX_CHUNK items); one that ran
 * over ADAPT_SHRINK_MS halves it. Python's fixed default of 1 manages ~20,000 tiny items/s.
 */
const ADAPT_GROW_MS = 2;
const ADAPT_SHRINK_MS = 20;
const ADAPT_MAX_CHUNK = 1024;

/**
 * Run one call `fn(...args)` in a worker; resolves with its result. Rejects with
 * RemoteError, WorkerLostError, SerializationError, CancelledError, TimeoutError,
 * InvalidStateError/BrokenProcessPool (pool not running), TypeError (bad arguments).
 * `awaited`: the promise goes to the program as it is (Pool.apply): a failed task names
 * the line that awaits it (see call-site.ts); otherwise the line of this call.
 */
export function call<R>(engine: Engine, fn: unknown, args: unknown[], opts: CallOptions | undefined, what: string, names: readonly string[], awaited = false): Promise<R> {
  const promise = new Promise<R>((resolve, reject) => {
    if (!Array.isArray(args)) throw invalidArg(`${what}: args must be an array of arguments`);
    checkOptionNames(opts, names, what);
    const job = engine.job(fn, true, new CallSink(resolve, reject, awaited), opts, what, true);
    job.add([args], 0);
    job.end();
  });
  return awaited ? promise.then(undefined, rethrowAtAwait) : promise;
}

/**
 * The Sink of one `call`: settles its promise. A class, not an object literal of arrow
 * functions, because `apply` in a loop is a hot path: a literal would allocate three closures
 * per call and, under tsx, name each through esbuild's `__name` helper (~4 µs per call).
 */
class CallSink<R> implements Sink {
  constructor(
    readonly resolve: (value: R) => void,
    readonly reject: (error: Error) => void,
    readonly siteAtAwait: boolean,
  ) {}
  result(_batch: Batch, values: BatchValues): void {
    this.resolve(values[0] as R);
  }
  failed(_batch: Batch, _values: unknown[], _index: number, error: Error): void {
    this.reject(error);
  }
  aborted(error: Error): void {
    this.reject(error);
  }
}

/**
 * Run `fn` over every item, in chunks, and resolve with the results in input order. Rejects
 * with the first error (the rest of the call's queued work is dropped; Python's map also
 * raises the first error), or as `call` does.
 *
 * The call is admitted synchronously (so `map(); close()` runs the map, as in Python); a
 * sync iterable is listed at once, an async one is read first and then submitted.
 */
export function mapAll<R>(engine: Engine, fn: unknown, iterable: Iterable<unknown> | AsyncIterable<unknown>, spread: boolean, opts: MapOptions | undefined, what: string, names: readonly string[]): Promise<R[]> {
  try {
    engine.assertRunning(what);
    checkCallOptions(opts, what);
    checkOptionNames(opts, names, what);
    const chunksize = checkChunksize(opts?.chunksize, what);
    if (Array.isArray(iterable)) return submitAll<R>(engine, fn, iterable, spread, opts, chunksize, what);
    if (isIterable(iterable)) {
      // Typed arrays are array-like already; any other iterable is listed, as Python does.
      const items = ArrayBuffer.isView(iterable) ? (iterable as unknown as ArrayLike<unknown>) : listInput(iterable, what);
      return submitAll<R>(engine, fn, items, spread, opts, chunksize, what);
    }
    if (isAsyncIterable(iterable)) {
      return (async () => {
        const items: unknown[] = [];
        // Leaving the loop by the throw closes the input (its finally blocks run).
        for await (const item of iterable) {
          if (items.length === MAX_LISTED_ITEMS) throw inputTooLong(what);
          items.push(item);
        }
        return submitAll<R>(engine, fn, items, spread, opts, chunksize, what, true);
      })();
    }
    throw invalidArg(`${what}: expected an iterable (array, Set, generator…) or an async iterable, got ${describe(iterable)}`);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Most items `map`/`starmap` (and their Async forms, processMap) list from an input that is
 * not an array; an array or a typed array of any length is taken as it is. Listing is what
 * the call does first (as Python's map does), so an endless generator would block the event
 * loop until the process runs out of memory (1-2 GB and ~9 s, then a raw `RangeError:
 * Invalid array length`). 2^22 (4,194,304) is beyond a map one would write over a generator
 * (a million-item map still has four times the room), and an endless input reaches it
 * within a second, with ~100 MB of process growth for numbers (0.5 s sync, 0.9 s async,
 * 180 MB for small objects, measured on a loaded 2-core machine), then fails with a message
 * pointing to imap.
 */
const MAX_LISTED_ITEMS = 2 ** 22;

/** A sync iterable as an array, refusing one longer than MAX_LISTED_ITEMS. */
function listInput(iterable: Iterable<unknown>, what: string): unknown[] {
  const items: unknown[] = [];
  // Leaving the loop by the throw closes the input (its finally blocks run).
  for (const item of iterable) {
    if (items.length === MAX_LISTED_ITEMS) throw inputTooLong(what);
    items.push(item);
  }
  return items;
}

function inputTooLong(what: string): RangeError {
  return invalidRange(
    `${what}: map() and starmap() list their whole input before any work starts (as Python's do), and this input had not ended after ${MAX_LISTED_ITEMS} items ` +
      '(an endless generator?). For long or endless inputs use imap() or imapUnordered(), which read the input lazily with bounded memory ' +
      '(for starmap, with a function taking the argument list), or pass an array.',
  );
}

/** mapAll once the items are listed; `chunkOpt` is the checked chunksize (undefined: the default). */
function submitAll<R>(engine: Engine, fn: unknown, items: ArrayLike<unknown>, spread: boolean, opts: MapOptions | undefined, chunkOpt: number | undefined, what: string, admitted = false): Promise<R[]> {
  const n = items.length;
  // Python: chunksize, extra = divmod(len(iterable), len(self._pool) * 4); if extra: chunksize += 1
  let chunksize = chunkOpt ?? Math.ceil(n / (engine.processes * 4));
  // A bar that moves in four steps per worker is no bar: without an explicit chunksize,
  // aim for at least a hundred updates.
  if (opts?.progress && chunkOpt === undefined) chunksize = Math.min(chunksize, Math.ceil(n / 100));
  let size = Math.max(1, Math.min(chunksize, MAX_BATCH_ITEMS, bytesCap(n > 0 ? items[0] : undefined, spread)));
  let bar: ProgressBar | undefined;
  return new Promise<R[]>((resolve, reject) => {
    let results: Assembler;
    const fail = (error: Error) => {
      bar?.close();
      reject(error);
    };
    const job = engine.job(
      fn,
      spread,
      {
        result(batch, values) {
          bar?.update(values.length);
          if (results.put(batch.start / size, batch.start, values)) {
            bar?.close();
            resolve(results.result() as R[]);
          }
        },
        failed(_batch, _values, _index, error) {
          job.drop();
          fail(error);
        },
        aborted: fail,
      },
      opts,
      what,
      false,
      admitted,
    );
    try {
      bar = ProgressBar.fromOption(opts?.progress, { total: n });
    } catch (err) {
      job.drop();
      throw err;
    }
    if (n === 0) {
      bar?.close();
      resolve([]);
    }
    // Numbers (as far as the first item tells): each batch is a range of the input, packed
    // only when it is sent, into arrays the engine reuses (Job.addRange). Packing all at
    // once here would delay the first batch by a pass over every item and allocate the
    // whole input again (a first touch of memory is what costs most, see numbers.ts).
    const ranged = n >= MIN_PACKED_NUMBERS && typeof items[0] === 'number';
    // Numbers in, and a function not known to return anything but numbers: larger messages
    // (MAX_NUMERIC_BATCH_ITEMS), unless workers recycle (maxTasksPerChild counts batches),
    // and results written into a skeleton (see Assembler).
    const numeric = ranged && job.fn.numbers !== false;
    if (numeric && !engine.recycles) size = Math.max(size, Math.min(chunksize, MAX_NUMERIC_BATCH_ITEMS));
    for (let start = 0; start < n && !job.dead; start += size) {
      const end = Math.min(n, start + size);
      if (ranged) job.addRange(items, start, end - start);
      else job.add(batchItems(items, start, end), start);
    }
    // Results come asynchronously, so the assembler may be made once the first batches are out.
    results = new Assembler(Math.ceil(n / size), numeric && Array.isArray(items) ? numberSkeleton(items) : null);
    job.end();
  });
}

/**
 * Bytes one message aims to carry when items are large binary values or strings. The
 * default chunking for 64 Buffers of 4 MiB on 2 workers is 8 per chunk, a 32 MiB message:
 * the serializer then spends its time growing and copying its buffer in the parent and the
 * child reassembling chunks, and such a map ran at a third of the speed of 4 MiB messages.
 */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** Items per message that keep a message near MAX_BATCH_BYTES, judged by the first item. */
function bytesCap(first: unknown, spread: boolean): number {
  const sizeOf = (v: unknown): number =>
    ArrayBuffer.isView(v) || v instanceof ArrayBuffer ? v.byteLength : typeof v === 'string' ? v.length : 0;
  const bytes = spread && Array.isArray(first) ? first.reduce((sum: number, v) => sum + sizeOf(v), 0) : sizeOf(first);
  return bytes > 0 ? Math.max(1, Math.floor(MAX_BATCH_BYTES / bytes)) : Infinity;
}

/** What `stream()` buffers per finished batch. */
interface Done {
  start: number;
  values: BatchValues;
  error?: Error;
}

/** Options of `stream()` beyond MapOptions. */
export interface StreamShape {
  spread: boolean;
  ordered: boolean;
  what: string;
  /** The option names the call takes (checkOptionNames). */
  names: readonly string[];
}

/**
 * A lazy async iterator over `fn(item)` for each item of a sync or async iterable (possibly
 * infinite), with a bounded number of batches outstanding (queued, running, or finished but
 * not yet consumed), so memory stays flat. Ordered: results in input order; otherwise in
 * completion order. An error is thrown at the position it happened (after the results
 * before it). Leaving the loop early (break, throw) cancels outstanding work for real and
 * closes the input iterator.
 *
 * The pool's state is checked now (the call is admitted, as Python's imap is, so
 * `close()` before iterating is fine); the work starts with the first `next()`.
 */
export function stream<R>(engine: Engine, fn: unknown, iterable: Iterable<unknown> | AsyncIterable<unknown>, opts: MapOptions | undefined, shape: StreamShape): AsyncGenerator<R, void, undefined> {
  const { what } = shape;
  let early: Error | null = null;
  let timeout: number | undefined;
  let chunksize: number | undefined;
  try {
    engine.assertRunning(what);
    timeout = checkCallOptions(opts, what).timeout;
    checkOptionNames(opts, shape.names, what);
    chunksize = checkChunksize(opts?.chunksize, what);
    if (!isIterable(iterable) && !isAsyncIterable(iterable)) {
      throw invalidArg(`${what}: expected an iterable or an async iterable, got ${describe(iterable)}`);
    }
  } catch (err) {
    early = err as Error;
  }
  // The time limit runs from this call, not from the first next().
  const deadline = deadlineAfter(timeout);
  let bar: ProgressBar | undefined;
  return new Items<R>(run(), () => bar?.update(1));

  /** The batches' values in order (or completion order), then the error where one happened. */
  async function* run(): AsyncGenerator<ArrayLike<unknown>, void, undefined> {
    if (early) throw early;
    // Without a chunksize, chunks start at one item and grow while they run fast (see
    // adapt()), so tiny tasks are not drowned in IPC and slow ones stay one per message.
    const fixed = chunksize !== undefined;
    let size = fixed ? Math.min(chunksize!, MAX_BATCH_ITEMS) : 1;
    const adapt = (batch: Batch) => {
      if (fixed) return;
      if (batch.runMs < ADAPT_GROW_MS && batch.count === size) size = Math.min(size * 2, ADAPT_MAX_CHUNK);
      else if (batch.runMs > ADAPT_SHRINK_MS) size = Math.max(1, size >> 1);
    };
    // Enough batches to keep every worker's pipeline full plus one being consumed.
    const window = engine.processes * (PIPELINE_DEPTH + 1) + 1;
    bar = ProgressBar.fromOption(opts?.progress, { total: knownLength(iterable) });
    const isAsync = isAsyncIterable(iterable);
    const source: Iterator<unknown> | AsyncIterator<unknown> = isAsync ? (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (iterable as Iterable<unknown>)[Symbol.iterator]();

    const ordered = shape.ordered;
    const finished = new Map<number, Done>(); // ordered: by start index
    const ready: Done[] = []; // unordered: completion order
    let nextStart = 0; // ordered: the start index of the next batch to yield
    let pulled = 0; // items taken from the input so far
    let outstanding = 0; // batches added and not yet consumed
    let exhausted = false;
    let pumping = false;
    let stopped = false;
    let aborted: Error | null = null;
    let wake: (() => void) | null = null;
    const notify = () => {
      if (wake) {
        const w = wake;
        wake = null;
        w();
      }
    };
    const deliver = (d: Done) => {
      if (ordered) finished.set(d.start, d);
      else ready.push(d);
      notify();
    };

    const remaining = timeLeft(deadline);
    const job = engine.job(
      fn,
      shape.spread,
      {
        result: (batch, values) => {
          adapt(batch);
          // Kept until consumed: packed numbers are copied (see Sink.result).
          deliver({ start: batch.start, values: Array.isArray(values) ? values : values.slice() });
        },
        failed: (batch, values, index, error) => deliver({ start: batch.start, values: values.slice(0, index), error }),
        aborted: (error) => {
          aborted = error;
          notify();
        },
      },
      opts && { signal: opts.signal, timeout: remaining },
      what,
      false,
      true,
    );

    // The items of each chunk are pulled into this one array, reused from chunk to chunk: a
    // batch keeps batchItems' copy of them (packed numbers, or a packed array), so the copy is
    // all a chunk allocates. A fresh array grown by push to 100 items allocated and copied its
    // backing store four times, ~2 KB a batch (bench case 8, allocation profile).
    const pulling: unknown[] = [];
    /** Queue the `n` items pulled as one batch starting at input index `start`. */
    const submit = (n: number, start: number) => {
      outstanding++;
      pulled += n;
      const items = batchItems(pulling, 0, n);
      // The batch holds the items now; the scratch must not keep them alive (large values).
      if (!ArrayBuffer.isView(items)) pulling.fill(undefined, 0, n);
      job.add(items, start);
    };

    // Pull input while fewer than `window` batches are outstanding. Runs concurrently with
    // the consumer, so a slow async input does not stall results already available.
    const pump = async (): Promise<void> => {
      if (pumping) return;
      pumping = true;
      try {
        while (!exhausted && !stopped && outstanding < window) {
          const start = pulled;
          let n = 0;
          try {
            while (n < size) {
              const r = isAsync ? await (source as AsyncIterator<unknown>).next() : (source as Iterator<unknown>).next();
              if (stopped) return;
              if (r.done) {
                exhausted = true;
                break;
              }
              if (n < pulling.length) pulling[n] = r.value;
              else pulling.push(r.value);
              n++;
            }
          } catch (err) {
            // The input itself threw: that is the error at the position after the last item.
            exhausted = true;
            if (n > 0) submit(n, start);
            outstanding++;
            deliver({ start: pulled, values: [], error: err as Error });
            break;
          }
          if (n > 0) submit(n, start);
        }
        if (exhausted) job.end();
      } finally {
        pumping = false;
      }
      notify();
    };

    try {
      void pump();
      for (;;) {
        let d: Done | undefined;
        if (ordered) {
          d = finished.get(nextStart);
          if (d) finished.delete(nextStart);
        } else {
          d = ready.shift();
        }
        if (d) {
          outstanding--;
          if (ordered) nextStart += d.error ? 0 : d.values.length;
          if (!exhausted && !pumping) void pump();
          if (d.values.length > 0) yield d.values;
          if (d.error) throw d.error;
          continue;
        }
        if (aborted) throw aborted;
        if (exhausted && outstanding === 0 && !pumping) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      stopped = true;
      if (!job.dead) {
        if (job.batches.size > 0) job.cancel(new CancelledError(`${what}: the iteration ended early; outstanding work was cancelled`));
        else job.drop();
      }
      bar?.close();
      // Close the input (a generator's finally blocks run), unless it ran out by itself.
      if (!exhausted) {
        try {
          await (source as AsyncIterator<unknown>).return?.();
        } catch {
          // An input that fails while closing has nothing left to report to.
        }
      }
    }
  }
}

/**
 * The iterator `stream()` returns: the items of the batches `batches` yields, one per
 * `next()`. `batches` (an async generator) keeps the control flow: pulling input, waiting,
 * errors at their position, and, on return() or throw(), cancelling what is outstanding and
 * closing the input. Handing out the items of a batch already here is a resolved promise
 * per item: an async generator yielding each item itself costs an await, its promise and a
 * resumption per item besides, 40% of what a `for await` over imap allocated (610 bytes an
 * item against 364, measured), and that garbage is what grows the young generation of a
 * long imap (bench case 8, peak RSS).
 */
class Items<R> implements AsyncGenerator<R, void, undefined> {
  #values: ArrayLike<unknown> = NO_VALUES;
  #next = 0;
  /** A next() waiting for `batches`: later calls queue behind it, as on a generator. */
  #waiting: Promise<IteratorResult<R, void>> | null = null;
  /** return() or throw() was called: buffered items are dropped. */
  #closed = false;

  constructor(
    readonly batches: AsyncGenerator<ArrayLike<unknown>, void, undefined>,
    /** Called for each item handed out (the progress bar). */
    readonly counted: () => void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R, void>> {
    if (this.#waiting !== null) {
      const again = () => this.next();
      return this.#waiting.then(again, again);
    }
    if (this.#next < this.#values.length) {
      const value = this.#values[this.#next++] as R;
      this.counted();
      return Promise.resolve({ value, done: false });
    }
    const waiting = this.batches.next().then(
      (r) => {
        this.#waiting = null;
        if (r.done || this.#closed) return { value: undefined, done: true } as const;
        this.#values = r.value;
        this.#next = 0;
        return this.next();
      },
      (err: unknown) => {
        this.#waiting = null;
        throw err;
      },
    );
    this.#waiting = waiting;
    return waiting;
  }

  return(value?: void | PromiseLike<void>): Promise<IteratorResult<R, void>> {
    this.#drop();
    return this.batches.return(value as void) as Promise<IteratorResult<R, void>>;
  }

  throw(err: unknown): Promise<IteratorResult<R, void>> {
    this.#drop();
    return this.batches.throw(err) as Promise<IteratorResult<R, void>>;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  #drop(): void {
    this.#closed = true;
    this.#values = NO_VALUES;
    this.#next = 0;
  }
}

const NO_VALUES: ArrayLike<unknown> = [];

/** The number of items when the input says it up front (array, typed array, Set, Map). */
function knownLength(iterable: unknown): number | undefined {
  if (Array.isArray(iterable) || ArrayBuffer.isView(iterable)) return (iterable as ArrayLike<unknown>).length;
  if (iterable instanceof Set || iterable instanceof Map) return iterable.size;
  return undefined;
}
