// Jobs and batches: what the engine schedules. Parent side.
//
// A Job is one face-level call (an apply, a map, an imap): its function (an FnEntry, one per
// distinct function for the life of the process), its options, and a Sink that receives its
// outcome. Its items travel in Batches, one IPC message each; the engine (engine.ts) queues
// batches, hands them to workers and tells the sink what became of each.

import { CancelledError, TimeoutError, type SerializationError } from '../../errors.ts';
import { setLongTimeout, type LongTimer } from '../../options.ts';
import { classInstanceError, firstClassInstance, unsendableAmong, type FnSpec, type PackedNumbers } from '../../protocol/index.ts';
import { encodeHandles } from '../../remote/handle.ts';
import { batchItems, MIN_PACKED_NUMBERS, packNumbers, type PackScratch } from '../numbers.ts';
import { toFnSpec } from '../task.ts';
import type { Engine } from './engine.ts';
import { CallSite } from './call-site.ts';
import type { Worker } from './worker.ts';

/** What a face does with the outcome of its job's batches. Called at most once per batch. */
export interface Sink {
  /**
   * A batch finished: one value per item, in item order. A batch whose values are all
   * numbers may come as a typed array of them (the 'numbers' reply): read it by index,
   * during this call only (it may be a view of memory the engine reuses, see
   * numbersOf in src/process/numbers.ts); a sink that keeps the values copies them.
   */
  result(batch: Batch, values: BatchValues): void;
  /**
   * A batch failed at item `index` (`values` are the results of the items before it): the
   * task threw, the worker died (`WorkerLostError`, index 0), or an item cannot be sent
   * (`SerializationError`). The face decides whether the whole job fails (`job.drop()`).
   */
  failed(batch: Batch, values: unknown[], index: number, error: Error): void;
  /** The whole job was cancelled, timed out, terminated, or the pool broke. Called once. */
  aborted(error: Error): void;
  /**
   * Optional: a batch started, as far as the parent can tell: it became the head of its
   * worker's in-flight batches (the executor's Future becomes running). A batch pipelined
   * behind another has not started and can still be taken back. May be called again for a
   * batch requeued after its worker was killed for another job's cancel.
   */
  started?(batch: Batch): void;
  /**
   * Optional: the face's promise goes straight to the program's `await` (Pool.apply), so the
   * caller's line is read there, when a failure passes through `rethrowAtAwait`, instead of
   * being captured when the job is made (a stack capture costs ~10 µs: an eighth of an
   * apply round trip).
   */
  readonly siteAtAwait?: boolean;
}

/** A batch's results: a plain array, or a typed array when they are all numbers. */
export type BatchValues = unknown[] | PackedNumbers;

/** One IPC message worth of a job's items. */
export class Batch {
  /** The worker holding it; null while queued. */
  worker: Worker | null = null;
  /** How long it ran in the worker (ms), set when its reply arrives. */
  runMs = 0;
  /** A 'drop' was sent for it and not answered yet: whether it started is not known. */
  dropping = false;
  /**
   * Frames of its last send (its message, its values) still being written to the worker's
   * byte channel (transfer.ts): while any is, the child cannot have all of the batch, so it
   * cannot have started it.
   */
  unwritten = 0;
  /** Its last send, to tell a late write callback of an earlier send from one of this send. */
  sendToken: object | null = null;
  /** How many items it holds. */
  readonly count: number;
  constructor(
    readonly id: number,
    readonly job: Job,
    /**
     * The items, with handles already encoded. Empty while `range` is set: the items are
     * then packed from the input each time the batch is sent (Engine #payload), and set
     * here only if they turn out not to be all numbers.
     */
    public items: unknown[],
    /** Index of the first item in the job's input. */
    readonly start: number,
    /** The items contain handles the child must revive. */
    public handles: boolean,
    /**
     * The input of a map of numbers, of which this batch is `[start, start + count)`; null
     * for any other batch. See Job.addRange.
     */
    public range: ArrayLike<unknown> | null = null,
    count = items.length,
  ) {
    this.count = count;
  }
}

/**
 * One face-level call: a function, its batches, and where its results go. Created by
 * `Engine.job()`; the face adds batches, says when there are no more (`end()`), and may
 * `drop()` (stop delivering, let running batches finish) or `cancel(err)` (stop for real).
 */
export class Job {
  /** Batches queued or in flight. */
  readonly batches = new Set<Batch>();
  /** No more batches will be added. */
  ended = false;
  /** Set once the job no longer delivers results (dropped, cancelled, finished). */
  dead = false;
  /** Cancelled for real: a worker whose running batch belongs to this job is killed. */
  hard = false;
  /** Undoes `limit()`: removes the signal listener, clears the timer. */
  #unlimit: (() => void) | null = null;
  /** Where the user made the call: appended to the stack of an error a batch fails with. */
  readonly site: CallSite;

  constructor(
    readonly engine: Engine,
    /** The function, its wire key and its observed speed. */
    readonly fn: FnEntry,
    readonly spread: boolean,
    readonly sink: Sink,
    /** How the call is named in error messages: `pool.map(square)`. */
    readonly what: string,
    /** One call whose single item is the argument list (apply/submit): errors name arguments. */
    readonly single: boolean,
  ) {
    this.site = new CallSite(sink.siteAtAwait === true ? null : Job);
  }

  /** Queue `items` (already copied by the caller) as one batch; `start` is the first item's index. */
  add(items: unknown[], start: number): void {
    this.engine.add(this, items, start);
  }
  /**
   * Queue the items `[start, start + count)` of `input`, whose items are expected to be
   * numbers, as one batch. Nothing is copied now: the items are packed into a reused typed
   * array when the batch is sent (a batch waiting in the queue costs no memory), and
   * travel as a plain array, as `add` would send them, should they be fewer than
   * MIN_PACKED_NUMBERS or not all numbers.
   * `input` must not change until the job has finished (map() lists its input first).
   */
  addRange(input: ArrayLike<unknown>, start: number, count: number): void {
    this.engine.addRange(this, input, start, count);
  }
  /** No more batches will be added; the job finishes when its batches do. */
  end(): void {
    this.ended = true;
    this.engine.maybeFinish(this);
  }
  /** Stop delivering results; queued batches are dropped, running ones finish unobserved. */
  drop(): void {
    this.engine.drop(this);
  }
  /** Stop the job for real (running batches' workers are killed) and tell the sink `aborted(error)`. */
  cancel(error: Error): void {
    this.engine.cancel(this, error);
  }

  /**
   * @internal Cancel the job when `signal` fires (CancelledError, `cause` its reason) or when
   * `timeout` ms have passed (TimeoutError). Undone by `unlimit()` when the job finishes.
   */
  limit(signal: AbortSignal | undefined, timeout: number | undefined): void {
    if (signal === undefined && timeout === undefined) return;
    const what = this.what;
    let timer: LongTimer | undefined;
    const onAbort = () => this.cancel(new CancelledError(`${what} was cancelled`, { cause: signal!.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    // The timer stays ref'd: the caller is waiting for this call, so the process should too.
    if (timeout !== undefined) timer = setLongTimeout(() => this.cancel(new TimeoutError(`${what} did not finish within ${timeout} ms`, { timeout })), timeout);
    this.#unlimit = () => {
      signal?.removeEventListener('abort', onAbort);
      timer?.clear();
    };
  }

  /** @internal The job finished: its signal listener and timer go. Idempotent. */
  unlimit(): void {
    if (this.#unlimit === null) return;
    this.#unlimit();
    this.#unlimit = null;
  }
}


/** A task function as the engine knows it: sent to each worker once under `key`. */
export interface FnEntry {
  readonly key: number;
  readonly spec: FnSpec;
  /** Its last batch finished within SLOW_BATCH_MS (engine.ts): pipelining behind one is unconditional (Engine #accepts). */
  fast: boolean;
  /**
   * Whether its last successful batch returned only numbers (undefined: not known yet). A map
   * of numbers over a function not known to return anything else uses larger messages.
   */
  numbers: boolean | undefined;
}

const fnKeys = new WeakMap<Function, FnEntry>();
/**
 * The same entries by what the worker receives: a function written inline in a loop
 * (`pool.apply((x) => x * 2, [i])`) is a new closure per call but one source, and must not
 * cost a new key per call, which every worker would remember (Worker.defined, the child's
 * table of functions) for the life of the pool. Grows with distinct functions only.
 */
const specKeys = new Map<string, FnEntry>();
let nextFnKey = 1;

/** The FnEntry of task `fn`; throws what toFnSpec throws for something that is not a task. */
export function keyOf(fn: unknown, what: string): FnEntry {
  if (typeof fn === 'function') {
    const known = fnKeys.get(fn);
    if (known) return known;
  }
  const spec = toFnSpec(fn, `${what}: the task`);
  // The source alone decides what a by-source function does in the worker (it captures
  // nothing), so closures of one source share a key.
  const id = spec.kind === 'source' ? `s\0${spec.name}\0${spec.source}` : `m\0${spec.url}\0${spec.exportName}`;
  let entry = specKeys.get(id);
  if (entry === undefined) specKeys.set(id, (entry = { key: nextFnKey++, spec, fast: false, numbers: undefined }));
  fnKeys.set(fn as Function, entry);
  return entry;
}

/**
 * The first class instance among a batch's items (handles encoded), as the SerializationError
 * of the call, or null. A call's arguments are named by index (`argIndex`), a map's items by
 * their index in the input. Items that are not objects cost one typeof each.
 */
export function refuseClassInstance(job: Job, items: unknown[], start: number): SerializationError | null {
  if (job.single) {
    const hit = firstClassInstance(items[0] as unknown[]);
    return hit && classInstanceError(job.what, `argument ${hit.index}`, `args[${hit.index}]`, hit.found, 'a worker', hit.index);
  }
  const hit = firstClassInstance(items);
  return hit && classInstanceError(job.what, `input item ${start + hit.index}`, 'item', hit.found, 'a worker', start + hit.index);
}

/**
 * What a batch's message carries: its items, or for a range of a map's numbers
 * (Job.addRange) of at least MIN_PACKED_NUMBERS those items packed into `scratch`, reused
 * arrays that serve again once send() has serialized them. A shorter range, or one that
 * holds something other than numbers, becomes a batch like those `add` makes (handles
 * encoded, class instances refused): the Error that refuses it, and then nothing of it may
 * be sent.
 */
export function payloadOf(batch: Batch, scratch: PackScratch): unknown[] | PackedNumbers | Error {
  const range = batch.range;
  if (range === null) return batch.items;
  const end = batch.start + batch.count;
  // A short batch goes as a plain array (batchItems), as the child replies to one: packed, a
  // batch of one number (chunksize 1) gained nothing and moved its worker onto the byte
  // channel, a socket each of 64 workers then opened in the middle of the job.
  const packed = batch.count >= MIN_PACKED_NUMBERS ? packNumbers(range, batch.start, end, scratch) : null;
  if (packed !== null) return packed;
  const encoded = encodeHandles(batchItems(range, batch.start, end));
  batch.range = null;
  batch.items = encoded.value;
  batch.handles = encoded.handles;
  return refuseClassInstance(batch.job, encoded.value, batch.start) ?? batch.items;
}

/** A batch the IPC channel refused to serialize: name the argument or item that failed. */
export function serializationError(batch: Batch, cause: unknown): SerializationError {
  const job = batch.job;
  if (job.single) return unsendableAmong(job.what, batch.items[0] as unknown[], 'argument', 'a worker', cause);
  return unsendableAmong(job.what, batch.items, 'input item', 'a worker', cause, batch.start);
}
