// The one worker-pool engine behind Pool and ProcessPoolExecutor. Parent side.
//
//   face call                 Job                    engine queue                 Worker (one child process)
//   ─────────                 ───                    ────────────                 ──────────────────────────
//   apply / submit  ──►  job.add(items) ──► Batch ──► front (requeued) ┐
//   map / starmap          (≤ 4096 items*)           FIFO            ┴─ dispatch ─► inflight [head, next]
//   imap / exec.map                                                     (≤ 2/worker)    │ child.send('call')
//                                                                                       ▼
//   sink.result / failed ◄── values, by batch id ◄──────────────────── 'result' | 'error' ◄── child.ts
//   sink.started  ◄── a batch became its worker's head
//   sink.aborted  ◄── cancel / timeout / terminate / broken initializer
//   next taken back (cancel, drop, steal) ── child.send('drop') ──► 'dropped' ──► forgotten or requeued
//   a child gone (exit + channel closed) ──► head batch: WorkerLostError; the rest: requeued; replacement spawned
//   a child gone before 'ready' (ran nothing) ──► all requeued; replaced, unless the 3rd in a row: pool broken
//
// (*) ≤ 32768 for a map of numbers whose function returns numbers: MAX_NUMERIC_BATCH_ITEMS.
//
// A Batch is one IPC message: a slice of a call's items run one after another by one worker.
// The child runs the batches it is sent strictly in order, so of a worker's in-flight batches
// only the head is running; the others wait in the child's inbox. That one fact drives crash
// handling (only the head can have caused a death), cancellation (a worker is killed only when
// its head is cancelled; a batch waiting behind it is taken back with 'drop') and requeueing
// (the rest never started).
//
// Taking a batch back races with the child starting it; the child's answer settles the race.
// A 'drop' is answered by one 'dropped', `taken` or not, unless the batch finished first (its
// reply then arrives first). Until then the batch counts as in flight and, should it become
// the head, is not taken for running (no `started`, no kill for a cancelled job); `taken:
// false` means it started, and only then is it judged.
//
// The faces (pool.ts, executor.ts) only translate: they build a Job with a Sink and read the
// results. The shared shapes of work, `call` (one call), `mapAll` (a list, all at once) and
// `stream` (a lazy, bounded, ordered or unordered iterator), live here so no logic is written
// twice.

import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import {
  BrokenProcessPool,
  CancelledError,
  InvalidStateError,
  invalidArg,
  invalidRange,
  SerializationError,
  TimeoutError,
  WorkerLostError,
} from '../errors.ts';
import { Deque } from '../deque.ts';
import { checkCallOptions, checkChunksize, checkMaxTasksPerChild, checkProcesses, deadlineAfter, setLongTimeout, timeLeft, type LongTimer } from '../options.ts';
import { assertSendable, classInstanceError, decodeError, firstClassInstance, isBranded, PROTOCOL, unsendableAmong, type FnSpec, type FromChild, type PackedNumbers, type ToChild } from '../protocol/index.ts';
import { encodeHandles, reviveHandles } from '../remote/handle.ts';
import { cpuCount } from './process.ts';
import { ProgressBar, type ProgressOption } from './progress.ts';
import { spawnChild } from './spawn.ts';
import { allNumbers, batchItems, MIN_PACKED_NUMBERS, packNumbers } from './numbers.ts';
import { toFnSpec } from './task.ts';

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
 * arrays (raw bytes), so the per-item cost does not grow with message size and fewer,
 * larger messages win. Measured for map(square, 1e6) on 2 workers, medians of 6-7
 * interleaved runs: 4096 → 4.6-5.0M/s, 16384 → 5.7-5.8M/s, 32768 → 5.6-6.2M/s,
 * 65536 → 5.5M/s. (Results that are objects measured ~25% slower at 32768 than at 4096,
 * which is why other maps keep MAX_BATCH_ITEMS.)
 */
export const MAX_NUMERIC_BATCH_ITEMS = 32768;
/** Batches kept in flight per worker, so a worker never idles waiting for the next message. */
const PIPELINE_DEPTH = 2;
/**
 * Behind a running batch that is slow (its function's last batch took longer than this, or
 * it has been running longer), a second batch is pipelined only while more batches are
 * queued than there are workers (see #accepts): then every other worker still has queued
 * work to take, so none idles while the pipelined batch waits. Behind fast batches the
 * round trip a worker would otherwise wait for matters, and pipelining is unconditional.
 * (See FnEntry.fast.)
 */
const SLOW_BATCH_MS = 20;
/**
 * Adaptive chunks of imap/imapUnordered/executor map without a chunksize: a chunk that ran
 * in under ADAPT_GROW_MS doubles the next one (up to ADAPT_MAX_CHUNK items); one that ran
 * over ADAPT_SHRINK_MS halves it. Python's fixed default of 1 manages ~20,000 tiny items/s.
 */
const ADAPT_GROW_MS = 2;
const ADAPT_SHRINK_MS = 20;
const ADAPT_MAX_CHUNK = 1024;
/**
 * Workers in a row that may die before they are ready before the pool counts as broken.
 * A worker can be killed while it starts for no fault of its own (the OOM killer kills an
 * idle worker, then its replacement milliseconds later): it is replaced. But a worker that
 * can never start (its initializer's module exits or crashes at import, a loader is
 * missing) must not be respawned forever. Any worker becoming ready resets the count, so
 * three tolerates two unlucky deaths in a row, already rare, while a start that always
 * fails is reported after three forks: about the cost of starting three workers.
 * (An initializer that throws reports 'init-failed' and breaks the pool at once.)
 */
const MAX_START_FAILURES = 3;
/** terminate(): time between SIGTERM and SIGKILL. */
const TERMINATE_GRACE_MS = 1000;
/** If a child's channel does not report closing within this after its exit, treat it as closed anyway. */
const CLOSE_FALLBACK_MS = 1000;

let workerCounter = 0;

// ---------------------------------------------------------------------------------------
// Options shared by the faces

/** Options of a single call (`apply`, `applyAsync`). */
export interface CallOptions {
  /**
   * Cancels the call: queued work is dropped, running work is stopped (its worker is killed
   * and replaced); the call rejects with `CancelledError` whose `cause` is `signal.reason`.
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * Time limit of the whole call in milliseconds, from the moment of the call. When it
   * passes, the work is stopped as for `signal` and the call rejects with `TimeoutError`.
   * @default undefined (no limit)
   */
  timeout?: number;
}

/** Options of calls over many items (`map`, `starmap`, `imap`, `imapUnordered`, executor `map`). */
export interface MapOptions extends CallOptions {
  /**
   * Items per task sent to a worker. `map`/`starmap` default to about four chunks per
   * worker (Python's rule). `imap`/`imapUnordered`/executor `map` default to adaptive
   * chunks: one item at first, doubling (up to 1024) while chunks finish in under 2 ms, so
   * tiny tasks are not dominated by IPC while slow ones go one at a time. At most 4096
   * items travel in one message (32768 for a map of numbers returning numbers); a larger
   * chunksize is split into several tasks.
   * @default map: ceil(n / (processes * 4)); imap: adaptive from 1
   */
  chunksize?: number;
  /**
   * Draw a progress bar on stderr counting finished items: `true`, or bar options such as
   * `{ desc: 'files' }` (see `ProgressBar`).
   * @default false
   */
  progress?: ProgressOption;
}

// ---------------------------------------------------------------------------------------
// Jobs and batches

/** What a face does with the outcome of its job's batches. Called at most once per batch. */
export interface Sink {
  /**
   * A batch finished: one value per item, in item order. A batch whose values are all
   * numbers may come as a typed array of them (the 'numbers' reply): read it by index.
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
  constructor(
    readonly id: number,
    readonly job: Job,
    /** The items, with handles already encoded. */
    readonly items: unknown[],
    /** Index of the first item in the job's input. */
    readonly start: number,
    /** The items contain handles the child must revive. */
    readonly handles: boolean,
  ) {}
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
  /** @internal cleanup of the signal listener and timer */
  cleanup: (() => void) | null = null;

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
  ) {}

  /** Queue `items` (already copied by the caller) as one batch; `start` is the first item's index. */
  add(items: unknown[], start: number): void {
    this.engine.add(this, items, start);
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
}

type WorkerState = 'live' | 'retiring' | 'dead';

/** One child process of the pool and what it holds. */
class Worker {
  readonly inflight: Batch[] = [];
  readonly defined = new Set<number>();
  /** Batches ever handed to this worker (for maxTasksPerChild). */
  assigned = 0;
  state: WorkerState = 'live';
  ready = false;
  /** We killed it (cancel, terminate): its death is not the head batch's fault. */
  killedByUs = false;
  /** Whether the child and its IPC channel currently keep the event loop alive. */
  refd = true;
  /** When the current head batch started running (performance.now()). */
  headSince = 0;
  exitCode: number | null = null;
  signal: string | null = null;
  closed = false;
  constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {}
  get pid(): number | undefined {
    return this.child.pid;
  }
}

// ---------------------------------------------------------------------------------------
// The engine

/** Options of `new Engine()`: the union of what Pool and ProcessPoolExecutor accept. */
export interface EngineOptions {
  processes?: number;
  initializer?: (...args: any[]) => unknown;
  initargs?: unknown[];
  maxTasksPerChild?: number | null;
  /** Name of the face for error messages: 'Pool', 'ProcessPoolExecutor'. */
  label: string;
}

type EngineState = 'run' | 'close' | 'terminate' | 'broken';

/** A task function as the engine knows it: sent to each worker once under `key`. */
export interface FnEntry {
  readonly key: number;
  readonly spec: FnSpec;
  /** Its last batch finished within SLOW_BATCH_MS: pipelining behind one is unconditional (#accepts). */
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

/**
 * N worker processes, a FIFO of batches, dispatch with pipelining, crash recovery,
 * cancellation, recycling. Internal: Pool and ProcessPoolExecutor are its faces.
 */
export class Engine {
  readonly processes: number;
  readonly label: string;
  readonly #maxTasks: number;
  readonly #initializer: FnSpec | undefined;
  readonly #initargs: unknown[] | undefined;
  readonly #initHandles: boolean;
  /** Workers that accept work. */
  readonly #workers: Worker[] = [];
  /** Every worker not yet closed (accepting, retiring, dying): what join() waits for. */
  readonly #all = new Set<Worker>();
  /** Batches requeued after a worker died or given back by a steal; they go out before the FIFO. */
  readonly #front = new Deque<Batch>();
  /**
   * The FIFO of batches. A ring buffer, not an array with a moving head: a pool kept busy
   * never drains its queue, and an array would keep a slot for every batch ever queued.
   */
  readonly #queue = new Deque<Batch>();
  /** Queued batches of live jobs (#front and #queue also hold dead jobs' batches until skipped). */
  #queued = 0;
  /** Jobs not finished: close() lets them complete; terminate() aborts them. */
  readonly #jobs = new Set<Job>();
  #state: EngineState = 'run';
  /**
   * How each worker that died before 'ready' ended ("PoolWorker-3 (pid 41) exited with exit
   * code 1"), since a worker last became ready: MAX_START_FAILURES of them break the pool.
   */
  readonly #startFailures: string[] = [];
  /** Why the pool broke: `message` for later calls, `cause` the root error (initializer's RemoteError). */
  #broken: { message: string; cause: unknown } | null = null;
  #nextBatchId = 1;
  #joiners: (() => void)[] = [];
  #terminating: Promise<void> | null = null;

  /** Throws TypeError/RangeError (MP_INVALID_ARG), SerializationError (initargs), InvalidStateError (inside a task module import). */
  constructor(options: EngineOptions) {
    this.label = options.label;
    const processes = checkProcesses(options.processes, options.label) ?? cpuCount();
    // 0 stands for "no limit" inside the engine only; the option itself refuses 0.
    const maxTasks = checkMaxTasksPerChild(options.maxTasksPerChild, options.label) ?? 0;
    if (options.initargs !== undefined && !Array.isArray(options.initargs)) throw invalidArg(`${options.label}: initargs must be an array`);
    this.processes = processes;
    this.#maxTasks = maxTasks;
    this.#initializer = options.initializer === undefined || options.initializer === null ? undefined : toFnSpec(options.initializer, `${options.label} initializer`);
    if (this.#initializer) {
      const encoded = encodeHandles(options.initargs ?? []);
      // Checked once here (not per worker): a bad initarg is the constructor's error, not a
      // worker that never starts.
      assertSendable(`${options.label} initargs`, encoded.value, 'the workers', 'initargs');
      this.#initargs = encoded.value;
      this.#initHandles = encoded.handles;
    } else {
      this.#initargs = undefined;
      this.#initHandles = false;
    }
    for (let i = 0; i < processes; i++) this.#spawn();
  }

  /** Workers are replaced after maxTasksPerChild batches (whose size is then kept at MAX_BATCH_ITEMS). */
  get recycles(): boolean {
    return this.#maxTasks !== 0;
  }

  /** Throw (for the face to turn into a rejection) unless new work may be submitted. */
  assertRunning(what: string): void {
    if (this.#state === 'run') return;
    if (this.#state === 'broken') throw new BrokenProcessPool(`${what}: the ${this.label} is broken and cannot run tasks: ${this.#broken!.message}`, { cause: this.#broken!.cause });
    throw new InvalidStateError(`${what}: the ${this.label} is ${this.#state === 'close' ? 'closed' : 'terminated'}; no new work can be submitted`);
  }

  /**
   * Create a job for `fn`. Throws what `assertRunning` throws (unless `admitted`, for a lazy
   * iterator admitted before close()), TypeError for a bad function or options, and
   * CancelledError when `signal` has already fired.
   */
  job(fn: unknown, spread: boolean, sink: Sink, opts: CallOptions | undefined, what: string, single: boolean, admitted = false): Job {
    if (!(admitted && this.#state === 'close')) this.assertRunning(what);
    const entry = keyOf(fn, what);
    const { signal, timeout } = checkCallOptions(opts, what);
    if (signal?.aborted) throw new CancelledError(`${what} was cancelled before it started`, { cause: signal.reason });
    const job = new Job(this, entry, spread, sink, what, single);
    this.#jobs.add(job);
    if (signal || timeout !== undefined) {
      let timer: LongTimer | undefined;
      const onAbort = () => job.cancel(new CancelledError(`${what} was cancelled`, { cause: signal!.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });
      // The timer stays ref'd: the caller is waiting for this call, so the process should too.
      if (timeout !== undefined) timer = setLongTimeout(() => job.cancel(new TimeoutError(`${what} did not finish within ${timeout} ms`, { timeout })), timeout);
      job.cleanup = () => {
        signal?.removeEventListener('abort', onAbort);
        timer?.clear();
      };
    }
    return job;
  }

  /** @internal Job.add */
  add(job: Job, items: unknown[], start: number): void {
    if (job.dead) return;
    const encoded = encodeHandles(items);
    const batch = new Batch(this.#nextBatchId++, job, encoded.value, start, encoded.handles);
    // A class instance would clone without complaint and arrive as a plain object: refuse it
    // here, at the call, before any of the batch is sent. (Packed numbers hold no objects.)
    const refused = ArrayBuffer.isView(encoded.value) ? null : refuseClassInstance(job, encoded.value, start);
    if (refused !== null) {
      job.sink.failed(batch, [], 0, refused);
      this.maybeFinish(job);
      return;
    }
    job.batches.add(batch);
    this.#queue.push(batch);
    this.#queued++;
    // After close(), a lazy iterator admitted earlier may bring work after the workers left.
    if (this.#workers.length < this.processes) this.#spawnIfNeeded();
    this.#dispatch();
  }

  /** @internal a job is finished when it was ended and holds no batches. */
  maybeFinish(job: Job): void {
    if (job.ended && job.batches.size === 0) this.#finish(job);
  }

  #finish(job: Job): void {
    job.dead = true;
    if (job.cleanup) {
      job.cleanup();
      job.cleanup = null;
    }
    if (this.#jobs.delete(job)) this.#maybeRetireAll();
  }

  /** @internal Job.drop */
  drop(job: Job): void {
    if (job.dead) return;
    job.dead = true;
    this.#forget(job);
    this.#finish(job);
  }

  /** @internal Job.cancel */
  cancel(job: Job, error: Error): void {
    if (job.dead) return;
    job.hard = true;
    // Dead first: killing a worker below dispatches again, and none of this job may go out.
    job.dead = true;
    for (const batch of this.#forget(job)) this.#kill(batch.worker!, 'SIGKILL');
    this.#finish(job);
    job.sink.aborted(error);
  }

  /**
   * Remove a dead job's queued batches and take back those waiting in a worker behind
   * another batch (#recall). Returns its running batches (heads), which stay attached to
   * their workers: a dropped job lets them finish unobserved, a cancelled one kills them.
   */
  #forget(job: Job): Batch[] {
    const running: Batch[] = [];
    for (const batch of job.batches) {
      const w = batch.worker;
      if (w === null) {
        job.batches.delete(batch);
        this.#queued--;
      } else if (batch.dropping) {
        // Being stolen: the answer decides whether it started (#onDropped).
      } else if (w.inflight[0] === batch) running.push(batch);
      else this.#recall(w, batch, false);
    }
    // The queue itself is cleaned lazily: #nextBatch skips batches of dead jobs.
    return running;
  }

  /**
   * Ask `w` for `batch` back, unless it is the head (running) or already asked for. It stays
   * in flight until the child's answer (#onDropped). `steal`: for an idle worker, see #steal.
   */
  #recall(w: Worker, batch: Batch, steal: boolean): void {
    if (batch.dropping || w.state === 'dead' || w.inflight[0] === batch) return;
    batch.dropping = true;
    const msg: ToChild = { mp: PROTOCOL, type: 'drop', id: batch.id };
    if (steal) msg.steal = true;
    w.child.send(msg);
  }

  #nextBatch(): Batch | undefined {
    let b: Batch | undefined;
    while ((b = this.#front.shift()) !== undefined) {
      if (!b.job.dead) {
        this.#queued--;
        return b;
      }
    }
    while ((b = this.#queue.shift()) !== undefined) {
      if (!b.job.dead) {
        this.#queued--;
        return b;
      }
    }
    return undefined;
  }

  #hasQueued(): boolean {
    return this.#front.length > 0 || this.#queue.length > 0;
  }

  /**
   * Hand queued batches to workers, least loaded first, up to each worker's depth; with
   * nothing queued, let idle workers take back work waiting in busy ones (#steal). The
   * worker list may change while this runs (a recycled worker is replaced), so the choice is
   * made afresh for every batch.
   */
  #dispatch(): void {
    while (this.#hasQueued()) {
      let best: Worker | null = null;
      const workers = this.#workers;
      for (let i = 0; i < workers.length; i++) {
        const w = workers[i]!;
        if ((best === null || w.inflight.length < best.inflight.length) && this.#accepts(w)) best = w;
      }
      if (best === null) return;
      const batch = this.#nextBatch();
      if (!batch) break;
      this.#send(best, batch);
    }
    this.#steal();
  }

  #accepts(w: Worker): boolean {
    if (w.state !== 'live') return false;
    const n = w.inflight.length;
    if (n >= PIPELINE_DEPTH) return false;
    // Behind a slow batch, pipeline only while more batches are queued than there are
    // workers: then each other worker still finds queued work when it frees up, so the
    // pipelined batch never waits while another worker idles, and this worker starts its
    // next batch without waiting a round trip for it. Near the end of the queue a batch
    // stays queued for whichever worker frees up first.
    if (n > 0 && this.#queued <= this.#workers.length && this.#isSlow(w)) return false;
    return this.#maxTasks === 0 || w.assigned < this.#maxTasks;
  }

  /** Is `w`'s running batch slow: its function's last batch was, or it has run for long? */
  #isSlow(w: Worker): boolean {
    return !w.inflight[0]!.job.fn.fast || performance.now() - w.headSince > SLOW_BATCH_MS;
  }

  /**
   * Nothing is queued and a worker is idle, while another holds a batch pipelined behind a
   * slow one: take that batch back (a 'drop' with `steal`) so that it runs on the idle
   * worker (#onDropped requeues it). This keeps the promise of #accepts when batches run
   * longer than expected, and covers a worker that went on with an abandoned task (a
   * cancelled map's batch is not stopped when its job only was dropped). A busy child
   * gives the batch back only while its running task awaits something: a synchronous task
   * ends before the child reads the request, and then the child keeps the batch.
   */
  #steal(): void {
    let idle = 0;
    let waiting: Worker | null = null;
    for (const w of this.#all) {
      const inflight = w.inflight;
      if (inflight.length === 0) {
        if (w.ready && this.#accepts(w)) idle++;
        continue;
      }
      if (w.state === 'dead') continue;
      for (let i = 1; i < inflight.length; i++) if (!inflight[i]!.dropping) waiting = w;
      // One steal in progress per idle worker (a dead job's batch is only being dropped).
      for (const b of inflight) if (b.dropping && !b.job.dead) idle--;
    }
    if (idle <= 0 || waiting === null) return;
    for (const w of this.#all) {
      if (idle === 0) return;
      const n = w.inflight.length;
      const last = w.inflight[n - 1];
      if (n > 1 && w.state !== 'dead' && !last!.dropping && this.#isSlow(w)) {
        this.#recall(w, last!, true);
        idle--;
      }
    }
  }

  #send(w: Worker, batch: Batch): void {
    const job = batch.job;
    const child = w.child;
    const fn = job.fn;
    if (!w.defined.has(fn.key)) {
      child.send({ mp: PROTOCOL, type: 'define', key: fn.key, fn: fn.spec } satisfies ToChild);
      w.defined.add(fn.key);
    }
    const msg: ToChild = { mp: PROTOCOL, type: 'call', id: batch.id, key: fn.key, items: batch.items, spread: job.spread };
    if (batch.handles) msg.handles = true;
    try {
      // Serialization happens synchronously inside send(): a value that cannot be cloned
      // throws here, before anything reaches the child, so the worker is unaffected.
      child.send(msg);
    } catch (err) {
      job.batches.delete(batch);
      job.sink.failed(batch, [], 0, this.#serializationError(batch, err));
      this.maybeFinish(job);
      return;
    }
    batch.worker = w;
    const head = w.inflight.length === 0;
    if (head) w.headSince = performance.now();
    w.inflight.push(batch);
    w.assigned++;
    if (!w.refd) this.#setRef(w, true);
    if (this.#maxTasks !== 0 && w.assigned >= this.#maxTasks) {
      // This worker takes no more; its replacement starts now so capacity does not dip while
      // it finishes what it holds.
      this.#stopAccepting(w, 'retiring');
      this.#spawnIfNeeded();
    }
    if (head) job.sink.started?.(batch);
  }

  /** A batch the IPC channel refused to serialize: name the argument or item that failed. */
  #serializationError(batch: Batch, cause: unknown): SerializationError {
    const job = batch.job;
    if (job.single) return unsendableAmong(job.what, batch.items[0] as unknown[], 'argument', 'a worker', cause);
    return unsendableAmong(job.what, batch.items, 'input item', 'a worker', cause, batch.start);
  }

  // -------------------------------------------------------------------------------------
  // Workers

  #spawn(): Worker {
    const name = `PoolWorker-${++workerCounter}`;
    const child = spawnChild(`${this.label} worker ${name}`);
    const w = new Worker(child, name);
    this.#workers.push(w);
    this.#all.add(w);
    child.on('message', (m: unknown) => {
      if (isBranded(m)) this.#onMessage(w, m as FromChild);
    });
    // A worker is gone once it has exited AND its channel has closed: only then have all
    // the results it sent before dying been delivered. ('close' is not enough: Node does not
    // emit it after a parent-side disconnect().)
    let exited = false;
    let disconnected = false;
    let fallback: NodeTimeout | undefined;
    child.once('exit', (code: number | null, signal: string | null) => {
      exited = true;
      w.exitCode = exitCodeOf(code, signal);
      w.signal = signal;
      if (disconnected) this.#onClose(w);
      // A fallback so that a channel that never reports closing cannot hang anything.
      else fallback = setTimeout(() => this.#onClose(w), CLOSE_FALLBACK_MS);
    });
    child.once('disconnect', () => {
      disconnected = true;
      if (!exited) return;
      clearTimeout(fallback);
      this.#onClose(w);
    });
    child.on('error', (err: Error) => {
      // A fork that failed (EAGAIN, ENOMEM) has no pid and will never exit.
      if (child.pid !== undefined) return;
      this.#breakPool(new BrokenProcessPool(`${this.label}: could not start worker ${name}: ${err.message}`, { cause: err }));
      w.killedByUs = true;
      this.#onClose(w);
    });
    const init: ToChild = { mp: PROTOCOL, type: 'init', name, role: 'worker' };
    if (this.#initializer) {
      init.initializer = this.#initializer;
      init.initargs = this.#initargs;
      if (this.#initHandles) init.handles = true;
    }
    // The child handles messages in order, so work may be sent right away: it runs once the
    // initializer has finished.
    child.send(init);
    // Node re-refs the channel on the next tick after listeners are added; decide after it.
    process.nextTick(() => {
      if (w.inflight.length === 0 && w.refd && this.#state === 'run') this.#setRef(w, false);
    });
    return w;
  }

  /** Keep `processes` workers accepting work while there is or may be work. */
  #spawnIfNeeded(): void {
    if (this.#state === 'terminate' || this.#state === 'broken') return;
    if (this.#state === 'close' && this.#jobs.size === 0) return;
    while (this.#workers.length < this.processes) this.#spawn();
  }

  #setRef(w: Worker, ref: boolean): void {
    w.refd = ref;
    // Idle workers must not keep the parent alive (a forgotten pool); busy ones must, or a
    // pending map could be abandoned by an event loop that thinks there is nothing to do.
    if (ref) {
      w.child.ref();
      w.child.channel?.ref();
    } else {
      w.child.unref();
      w.child.channel?.unref();
    }
  }

  #stopAccepting(w: Worker, state: WorkerState): void {
    if (w.state === 'live') {
      const i = this.#workers.indexOf(w);
      if (i !== -1) this.#workers.splice(i, 1);
    }
    if (w.state !== 'dead') w.state = state;
    if (state === 'retiring' && w.inflight.length === 0) this.#retire(w);
  }

  /**
   * Ask an idle worker to leave: child.ts exits when its channel disconnects. Not before it
   * said 'ready': a child drops messages that arrive before its entry module has loaded
   * when the channel closes meanwhile (Node queues them for the first 'message' listener,
   * and a disconnect throws the queue away), so its 'init' would be lost and its initializer
   * never run (Python always runs it). The 'ready' handler retires it then.
   */
  #retire(w: Worker): void {
    if (w.ready && w.child.connected) w.child.disconnect();
  }

  #kill(w: Worker, signal: 'SIGKILL' | 'SIGTERM'): void {
    w.killedByUs = true;
    this.#stopAccepting(w, 'dead');
    if (w.exitCode === null && w.signal === null) w.child.kill(signal);
    this.#spawnIfNeeded();
    this.#dispatch();
  }

  #onMessage(w: Worker, m: FromChild): void {
    switch (m.type) {
      case 'result':
        this.#onResult(w, m.id, m.values, null);
        return;
      case 'numbers':
        this.#onResult(w, m.id, m.values, null);
        return;
      case 'error':
        this.#onResult(w, m.id, m.values, m);
        return;
      case 'dropped':
        this.#onDropped(w, m.id, m.taken);
        return;
      case 'ready':
        w.ready = true;
        this.#startFailures.length = 0;
        if (w.state === 'retiring' && w.inflight.length === 0) {
          this.#retire(w);
          return;
        }
        // It may take back work waiting in a busy worker.
        this.#dispatch();
        return;
      case 'init-failed': {
        const error = decodeError(m.error);
        this.#breakPool(error, `${this.label}: the initializer failed in ${w.name} (pid ${w.pid}): ${error.message}`);
        return;
      }
      case 'done':
        // Only Process targets send 'done'; a worker never runs one.
        return;
      default: {
        const never: never = m;
        throw new Error(`multiproc: unexpected message from a worker: ${JSON.stringify(never)}`);
      }
    }
  }

  #onResult(w: Worker, id: number, rawValues: BatchValues, failure: Extract<FromChild, { type: 'error' }> | null): void {
    const inflight = w.inflight;
    // Replies come in the order batches were sent, so this is almost always the head.
    let at = 0;
    if (inflight[0]?.id !== id) {
      at = inflight.findIndex((b) => b.id === id);
      if (at === -1) return;
    }
    const batch = inflight[at]!;
    if (at === 0) inflight.shift();
    else inflight.splice(at, 1);
    const now = performance.now();
    batch.runMs = now - w.headSince;
    batch.job.fn.fast = batch.runMs <= SLOW_BATCH_MS;
    w.headSince = now;
    batch.worker = null;
    const job = batch.job;
    job.batches.delete(batch);
    if (!job.dead) {
      // Numbers hold no handles: a typed array goes to the sink as it is.
      if (failure) job.sink.failed(batch, reviveResults(rawValues as unknown[]), failure.index, decodeError(failure.error));
      else if (Array.isArray(rawValues)) {
        job.fn.numbers = allNumbers(rawValues);
        job.sink.result(batch, reviveResults(rawValues));
      } else {
        job.fn.numbers = true;
        job.sink.result(batch, rawValues);
      }
      this.maybeFinish(job);
    }
    if (w.state === 'dead') return;
    if (at === 0 && !this.#onHead(w)) return;
    this.#afterReply(w);
  }

  /**
   * `w`'s head changed: the new head is running in the child, unless a 'drop' for it awaits
   * its answer (then #onDropped decides). A cancelled job's batch is stopped by killing the
   * worker. Returns false when `w` was killed.
   */
  #onHead(w: Worker): boolean {
    const head = w.inflight[0];
    if (head === undefined || head.dropping) return true;
    if (head.job.hard) {
      this.#kill(w, 'SIGKILL');
      return false;
    }
    if (!head.job.dead) head.job.sink.started?.(head);
    return true;
  }

  /** The answer to a 'drop': forget a taken batch (dead job) or run it elsewhere (a steal). */
  #onDropped(w: Worker, id: number, taken: boolean): void {
    const at = w.inflight.findIndex((b) => b.id === id);
    // Not in flight: it finished, and its reply came first.
    if (at === -1) return;
    const batch = w.inflight[at]!;
    batch.dropping = false;
    if (!taken) {
      // It started before the child read the 'drop', so everything before it has replied
      // and it is the head: judge it now as #onResult would have.
      if (at === 0 && w.state !== 'dead' && this.#onHead(w)) this.#dispatch();
      return;
    }
    w.inflight.splice(at, 1);
    // It never ran here: maxTasksPerChild counts the batches a worker runs.
    w.assigned--;
    batch.worker = null;
    const job = batch.job;
    if (job.dead) job.batches.delete(batch);
    else {
      // A stolen batch: first in line, as it was sent before anything still queued.
      this.#front.unshift(batch);
      this.#queued++;
    }
    if (w.state === 'dead') this.#dispatch();
    else if (at !== 0 || this.#onHead(w)) this.#afterReply(w);
  }

  /** `w` finished or gave back a batch: retire it, give it more work, or let it idle. */
  #afterReply(w: Worker): void {
    const inflight = w.inflight;
    if (inflight.length === 0) {
      if (w.state === 'retiring') {
        this.#retire(w);
        return;
      }
      if (this.#state === 'close' && this.#jobs.size === 0) {
        this.#maybeRetireAll();
        return;
      }
    }
    this.#dispatch();
    if (inflight.length === 0 && w.refd && this.#state === 'run') this.#setRef(w, false);
  }

  #onClose(w: Worker): void {
    if (w.closed) return;
    w.closed = true;
    const expected = w.killedByUs || w.state === 'retiring' || this.#state !== 'run';
    if (!w.ready && !expected) {
      // It died while starting, without an 'init-failed' (which breaks the pool at once):
      // killed from outside, or unable to start at all. No task runs before 'ready', so what
      // it held is innocent and is requeued below; it is replaced unless this keeps happening.
      const seen = this.#startFailures;
      seen.push(`${w.name} (pid ${w.pid}) exited ${describeExit(w.exitCode, w.signal)}`);
      if (seen.length >= MAX_START_FAILURES) {
        this.#breakPool(
          new BrokenProcessPool(
            `${this.label}: worker ${seen[seen.length - 1]} before it was ready, the last of ${seen.length} workers in a row that ended while starting ` +
              `(before it: ${seen.slice(0, -1).join('; ')}). A worker that dies while starting is replaced, as one may be killed from outside ` +
              '(the OOM killer), but none became ready, so workers cannot start here: check what a worker loads (the initializer and its module, ' +
              'code that runs at import) and that the parent runs under the loader its modules need (e.g. tsx).',
          ),
        );
      }
    }
    if (w.state === 'live') this.#stopAccepting(w, 'dead');
    w.state = 'dead';
    this.#all.delete(w);
    const held = w.inflight.splice(0);
    const requeue: Batch[] = [];
    for (let i = 0; i < held.length; i++) {
      const batch = held[i]!;
      batch.worker = null;
      batch.dropping = false;
      const job = batch.job;
      if (job.dead) {
        job.batches.delete(batch);
        continue;
      }
      if (i === 0 && !w.killedByUs && w.ready) {
        // The head was running when the worker died: it is the one that (may have) killed it.
        job.batches.delete(batch);
        job.sink.failed(batch, [], 0, this.#lostError(w, batch));
        this.maybeFinish(job);
      } else {
        // Never started (behind the head, or in a worker that was not ready), or innocent (a
        // worker we killed): run it elsewhere.
        requeue.push(batch);
      }
    }
    // In their original order, ahead of everything queued.
    for (let i = requeue.length - 1; i >= 0; i--) this.#front.unshift(requeue[i]!);
    this.#queued += requeue.length;
    this.#spawnIfNeeded();
    this.#dispatch();
    this.#checkJoined();
  }

  #lostError(w: Worker, batch: Batch): WorkerLostError {
    const items = batch.items.length === 1 ? 'its task' : `its batch of ${batch.items.length} items (from item ${batch.start})`;
    return new WorkerLostError(
      `${batch.job.what}: worker ${w.name} (pid ${w.pid}) died ${describeExit(w.exitCode, w.signal)} while running ${items}. ` +
        'The task may have called process.exit(), crashed, run out of memory or been killed; a new worker replaced it.',
      { exitCode: w.exitCode, signal: w.signal, pid: w.pid },
    );
  }

  /** The initializer failed (or workers cannot start): reject everything, stop all workers. */
  #breakPool(error: Error, message?: string): void {
    if (this.#state === 'broken' || this.#state === 'terminate') return;
    this.#state = 'broken';
    this.#broken = message ? { message, cause: error } : { message: error.message, cause: error.cause };
    for (const job of [...this.#jobs]) job.cancel(error);
    for (const w of [...this.#all]) {
      this.#setRef(w, true);
      this.#kill(w, 'SIGKILL');
    }
    this.#checkJoined();
  }

  #maybeRetireAll(): void {
    if (this.#state !== 'close' || this.#jobs.size > 0) return;
    for (const w of [...this.#all]) {
      if (w.state === 'dead') continue;
      this.#stopAccepting(w, 'retiring');
    }
    this.#checkJoined();
  }

  #checkJoined(): void {
    if (this.#state === 'run' || this.#all.size > 0) return;
    if (this.#state === 'close' && this.#jobs.size > 0) return;
    for (const resolve of this.#joiners.splice(0)) resolve();
  }

  // -------------------------------------------------------------------------------------
  // Lifecycle

  /** No new work; workers leave once queued and running work is done. Idempotent. */
  close(): void {
    if (this.#state !== 'run') return;
    this.#state = 'close';
    // While closing, the exits are awaited (join), so the workers keep the loop alive.
    for (const w of this.#all) if (!w.refd) this.#setRef(w, true);
    this.#maybeRetireAll();
  }

  /** Wait until every worker has exited. Rejects with InvalidStateError before close()/terminate(). */
  join(what: string): Promise<void> {
    if (this.#state === 'run') return Promise.reject(new InvalidStateError(`${what}: call close() or terminate() before join()`));
    return new Promise<void>((resolve) => {
      this.#joiners.push(resolve);
      this.#checkJoined();
    });
  }

  /**
   * Reject all pending work with CancelledError, stop every worker (SIGTERM, then SIGKILL
   * after a grace period), resolve when all have exited. Idempotent.
   */
  terminate(): Promise<void> {
    if (this.#terminating) return this.#terminating;
    const wasBroken = this.#state === 'broken';
    this.#state = 'terminate';
    if (!wasBroken) {
      const error = new CancelledError(`the ${this.label} was terminated before this work finished`);
      for (const job of [...this.#jobs]) job.cancel(error);
    }
    this.#front.clear();
    this.#queue.clear();
    this.#queued = 0;
    const workers = [...this.#all];
    for (const w of workers) {
      this.#setRef(w, true);
      w.killedByUs = true;
      this.#stopAccepting(w, 'dead');
      if (w.exitCode === null && w.signal === null) w.child.kill('SIGTERM');
    }
    const grace = setTimeout(() => {
      for (const w of workers) if (!w.closed && w.exitCode === null && w.signal === null) w.child.kill('SIGKILL');
    }, TERMINATE_GRACE_MS);
    this.#terminating = new Promise<void>((resolve) => {
      this.#joiners.push(() => {
        clearTimeout(grace);
        resolve();
      });
      this.#checkJoined();
    });
    return this.#terminating;
  }
}

// ---------------------------------------------------------------------------------------
// Helpers

/**
 * The first class instance among a batch's items (handles encoded), as the SerializationError
 * of the call, or null. A call's arguments are named by index (`argIndex`), a map's items by
 * their index in the input. Items that are not objects cost one typeof each.
 */
function refuseClassInstance(job: Job, items: unknown[], start: number): SerializationError | null {
  if (job.single) {
    const hit = firstClassInstance(items[0] as unknown[]);
    return hit && classInstanceError(job.what, `argument ${hit.index}`, `args[${hit.index}]`, hit.found, 'a worker', hit.index);
  }
  const hit = firstClassInstance(items);
  return hit && classInstanceError(job.what, `input item ${start + hit.index}`, 'item', hit.found, 'a worker', start + hit.index);
}

function keyOf(fn: unknown, what: string): FnEntry {
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

/** A child's exit as Process.exitCode (and Python's exitcode) says it: minus the signal number when killed. */
function exitCodeOf(code: number | null, signal: string | null): number | null {
  if (code !== null || signal === null) return code;
  const n = (constants.signals as Record<string, number | undefined>)[signal];
  return n === undefined ? null : -n;
}

/** `code` from exitCodeOf: the message states the same facts as WorkerLostError's fields. */
function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `by signal ${signal}${code !== null ? ` (exit code ${code})` : ''}`;
  return `with exit code ${code}`;
}

/**
 * Results may hold handles (a Queue returned by a task). Scanning numbers and strings is a
 * typeof per value; only results containing objects pay for a walk.
 */
function reviveResults(values: unknown[]): unknown[] {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'object' && v !== null) return reviveHandles(values);
  }
  return values;
}

/** Append `values` to `out` (a small function of its own, so V8 optimizes the loop early). */
function pushNumbers(out: unknown[], values: PackedNumbers): void {
  for (let i = 0; i < values.length; i++) out.push(values[i]);
}

/** Write `values` into `out` from index `start` (small, for the same reason). */
function copyInto(out: unknown[], start: number, values: BatchValues): void {
  for (let i = 0; i < values.length; i++) out[start + i] = values[i];
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
class Assembler {
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
    slots[k] = values;
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

/** The number of items when the input says it up front (array, typed array, Set, Map). */
function knownLength(iterable: unknown): number | undefined {
  if (Array.isArray(iterable) || ArrayBuffer.isView(iterable)) return (iterable as ArrayLike<unknown>).length;
  if (iterable instanceof Set || iterable instanceof Map) return iterable.size;
  return undefined;
}

// ---------------------------------------------------------------------------------------
// The three shapes of work, shared by the faces

/**
 * Run one call `fn(...args)` in a worker; resolves with its result. Rejects with
 * RemoteError, WorkerLostError, SerializationError, CancelledError, TimeoutError,
 * InvalidStateError/BrokenProcessPool (pool not running), TypeError (bad arguments).
 */
export function call<R>(engine: Engine, fn: unknown, args: unknown[], opts: CallOptions | undefined, what: string): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    if (!Array.isArray(args)) throw invalidArg(`${what}: args must be an array of arguments`);
    const job = engine.job(fn, true, new CallSink(resolve, reject), opts, what, true);
    job.add([args], 0);
    job.end();
  });
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
export function mapAll<R>(engine: Engine, fn: unknown, iterable: Iterable<unknown> | AsyncIterable<unknown>, spread: boolean, opts: MapOptions | undefined, what: string): Promise<R[]> {
  try {
    engine.assertRunning(what);
    checkCallOptions(opts, what);
    const chunksize = checkChunksize(opts?.chunksize, what);
    if (Array.isArray(iterable)) return submitAll<R>(engine, fn, iterable, spread, opts, chunksize, what);
    if (iterable != null && typeof (iterable as Iterable<unknown>)[Symbol.iterator] === 'function') {
      // Typed arrays are array-like already; any other iterable is listed, as Python does.
      const items = ArrayBuffer.isView(iterable) ? (iterable as unknown as ArrayLike<unknown>) : listInput(iterable as Iterable<unknown>, what);
      return submitAll<R>(engine, fn, items, spread, opts, chunksize, what);
    }
    if (iterable != null && typeof (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      return (async () => {
        const items: unknown[] = [];
        // Leaving the loop by the throw closes the input (its finally blocks run).
        for await (const item of iterable as AsyncIterable<unknown>) {
          if (items.length === MAX_LISTED_ITEMS) throw inputTooLong(what);
          items.push(item);
        }
        return submitAll<R>(engine, fn, items, spread, opts, chunksize, what, true);
      })();
    }
    throw invalidArg(`${what}: expected an iterable (array, Set, generator…) or an async iterable, got ${iterable === null ? 'null' : typeof iterable}`);
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
    // All numbers: packed at once, in one loop (which V8 optimizes early, where one loop per
    // batch would run cold), and each batch is a view of it (the serializer copies only a
    // view's bytes).
    const packed = n >= MIN_PACKED_NUMBERS && typeof items[0] === 'number' ? packNumbers(items, 0, n) : null;
    // Numbers in, and a function not known to return anything but numbers: larger messages
    // (MAX_NUMERIC_BATCH_ITEMS), unless workers recycle (maxTasksPerChild counts batches),
    // and results written into a skeleton (see Assembler).
    const numeric = packed !== null && job.fn.numbers !== false;
    if (numeric && !engine.recycles) size = Math.max(size, Math.min(chunksize, MAX_NUMERIC_BATCH_ITEMS));
    for (let start = 0; start < n && !job.dead; start += size) {
      const end = Math.min(n, start + size);
      job.add(packed !== null ? (packed.subarray(start, end) as unknown as unknown[]) : batchItems(items, start, end), start);
    }
    // Results come asynchronously, so the assembler may be made once the first batches are out.
    results = new Assembler(Math.ceil(n / size), numeric && Array.isArray(items) ? items.slice(0, n) : null);
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
    chunksize = checkChunksize(opts?.chunksize, what);
    if (iterable == null || (typeof (iterable as Iterable<unknown>)[Symbol.iterator] !== 'function' && typeof (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function')) {
      throw invalidArg(`${what}: expected an iterable or an async iterable, got ${iterable === null ? 'null' : typeof iterable}`);
    }
  } catch (err) {
    early = err as Error;
  }
  // The time limit runs from this call, not from the first next().
  const deadline = deadlineAfter(timeout);
  return run();

  async function* run(): AsyncGenerator<R, void, undefined> {
    if (early) throw early;
    // Without a chunksize, chunks start at one item and grow while they run fast (see
    // adapt()), so tiny tasks are not drowned in IPC and slow ones stay one per message.
    const fixed = chunksize !== undefined;
    let size = fixed ? Math.min(chunksize!, MAX_BATCH_ITEMS) : 1;
    const adapt = (batch: Batch) => {
      if (fixed) return;
      if (batch.runMs < ADAPT_GROW_MS && batch.items.length === size) size = Math.min(size * 2, ADAPT_MAX_CHUNK);
      else if (batch.runMs > ADAPT_SHRINK_MS) size = Math.max(1, size >> 1);
    };
    // Enough batches to keep every worker's pipeline full plus one being consumed.
    const window = engine.processes * (PIPELINE_DEPTH + 1) + 1;
    const bar = ProgressBar.fromOption(opts?.progress, { total: knownLength(iterable) });
    const isAsync = typeof (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
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
          deliver({ start: batch.start, values });
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

    // Pull input while fewer than `window` batches are outstanding. Runs concurrently with
    // the consumer, so a slow async input does not stall results already available.
    const pump = async (): Promise<void> => {
      if (pumping) return;
      pumping = true;
      try {
        while (!exhausted && !stopped && outstanding < window) {
          const chunk: unknown[] = [];
          const start = pulled;
          try {
            while (chunk.length < size) {
              const r = isAsync ? await (source as AsyncIterator<unknown>).next() : (source as Iterator<unknown>).next();
              if (stopped) return;
              if (r.done) {
                exhausted = true;
                break;
              }
              chunk.push(r.value);
            }
          } catch (err) {
            // The input itself threw: that is the error at the position after the last item.
            exhausted = true;
            if (chunk.length > 0) {
              outstanding++;
              pulled += chunk.length;
              job.add(chunk, start);
            }
            outstanding++;
            deliver({ start: pulled, values: [], error: err as Error });
            break;
          }
          if (chunk.length > 0) {
            outstanding++;
            pulled += chunk.length;
            job.add(chunk.length >= MIN_PACKED_NUMBERS ? batchItems(chunk, 0, chunk.length) : chunk, start);
          }
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
          const values = d.values;
          for (let i = 0; i < values.length; i++) {
            yield values[i] as R;
            bar?.update(1);
          }
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
