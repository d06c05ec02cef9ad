// The one worker-pool engine behind Pool and ProcessPoolExecutor. Parent side.
//
//   face call                 Job                    engine queue                 Worker (one child process)
//   ─────────                 ───                    ────────────                 ──────────────────────────
//   apply / submit  ──►  job.add(items) ──► Batch ──► front (requeued) ┐
//   map / starmap   (≤ MAX_BATCH_ITEMS, shapes.ts)   FIFO            ┴─ dispatch ─► inflight [head, next]
//   imap / exec.map                                                     (≤ 2/worker)    │ w.send('call')
//                                                                                       ▼
//   sink.result / failed ◄── values, by batch id ◄──────────────────── 'result' | 'error' ◄── child.ts
//   sink.started  ◄── a batch became its worker's head
//   sink.aborted  ◄── cancel / timeout / terminate / broken initializer
//   next taken back (cancel, drop, steal) ── w.send('drop') ──► 'dropped' ──► forgotten or requeued
//   a child gone (exit + channels closed) ──► head batch: WorkerLostError (unless still being written); the rest: requeued; replacement spawned
//   a child gone before 'ready' (ran nothing) ──► all requeued; replaced, unless the 3rd in a row: pool broken
//
// Starting workers: at most cpuCount() start at once, the next one forks when one says
// 'started' (its entry has loaded; its initializer runs after). A start is CPU-bound (node's
// bootstrap, the child's modules): 64 workers started at once on 2 cores all become ready
// together, seconds later, while started in turn the first are ready (and take work) after
// one start's time. Until all are forked, a worker holds one batch: the rest wait for the
// others, not behind a task that may block it (a rendezvous; a 'drop' needs its answer).
//
// A Batch is one message: a slice of a call's items run one after another by one worker.
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
// results. The engine's files, by concept:
//   engine.ts     this file: the scheduler (queue, dispatch, pipelining, steal), crash
//                 recovery, cancellation, recycling, lifecycle (close, join, terminate)
//   worker.ts     one worker: its child process, what it holds, how it ended; transfer.ts:
//                 how a batch is sent, its large values on the worker's byte channel
//   job.ts        Job, Batch, Sink, FnEntry: what is scheduled, what a batch sends, where
//                 results go; call-site.ts: the caller's line, added to a task's error
//   shapes.ts     the shared shapes of work, `call` (one call), `mapAll` (a list, all at
//                 once) and `stream` (a lazy, bounded, ordered or unordered iterator), so no
//                 face writes that logic twice; chunk sizes live there
//   assembler.ts  joins a map's batches into one array in input order
//   options.ts    CallOptions, MapOptions, EngineOptions and their resolution
// Numbers travel packed both ways (../numbers.ts, shared with the child).

import { availableParallelism } from 'node:os';
import { BrokenProcessPool, CancelledError, InvalidStateError } from '../../errors.ts';
import { Deque } from '../../deque.ts';
import { checkCallOptions } from '../../options.ts';
import { decodeError, decodeRecords, PROTOCOL, type EncodedRecords, type FnSpec, type FromChild, type ToChild } from '../../protocol/index.ts';
import { encodeHandles, reviveHandles } from '../../remote/handle.ts';
import { allNumbers, numbersOf, PackScratch, ScratchPool } from '../numbers.ts';
import { Batch, Job, keyOf, payloadOf, refuseClassInstance, serializationError, type BatchValues, type Sink } from './job.ts';
import { setupEngine, type CallOptions, type EngineOptions } from './options.ts';
import { startFailure, Worker, type WorkerEvents, type WorkerState } from './worker.ts';
import { CallMessage, sendCall } from './transfer.ts';
import { initMessage } from '../spawn.ts';

/** Batches kept in flight per worker, so a worker never idles waiting for the next message. */
export const PIPELINE_DEPTH = 2;
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
/** Workers that start at once (see the header). */
const START_AT_ONCE = Math.max(1, availableParallelism());

type EngineState = 'run' | 'close' | 'terminate' | 'broken';

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
  /** How workers report to this engine. */
  readonly #events: WorkerEvents = {
    message: (w, m) => this.#onMessage(w, m),
    closed: (w) => this.#onClose(w),
    forkFailed: (w, err) => {
      this.#breakPool(new BrokenProcessPool(`${this.label}: could not start worker ${w.name}: ${err.message}`, { cause: err }));
      w.killedByUs = true;
      this.#onClose(w);
    },
    foreign: (w, err) => this.#breakPool(new BrokenProcessPool(`${this.label}: ${err.message}`, { cause: err })),
  };
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
  /** Workers forked that have not said 'started' (see the header). */
  #starting = 0;
  /**
   * With an initializer, workers of the first fill not forked yet: they are started even
   * after close(), so that each of `processes` workers runs the initializer, as in Python,
   * which starts them all at once. (Without one, a worker that never ran anything is not
   * missed.)
   */
  #toFill: number;
  /**
   * How each worker that died before 'ready' ended ("PoolWorker-3 (pid 41) exited with exit
   * code 1"), since a worker last became ready: MAX_START_FAILURES of them break the pool.
   */
  readonly #startFailures: string[] = [];
  /** Why the pool broke: `message` for later calls, `cause` the root error (initializer's RemoteError). */
  #broken: { message: string; cause: unknown } | null = null;
  #nextBatchId = 1;
  #joiners: (() => void)[] = [];
  /** Typed arrays a range of numbers is packed into when its batch is sent (payloadOf, sendCall). */
  readonly #packs = new ScratchPool();
  /** Typed arrays a 'numbers' reply is copied into when its bytes cannot be viewed in place (numbersOf). */
  readonly #readScratch = new PackScratch();
  #terminating: Promise<void> | null = null;

  /** Throws TypeError/RangeError (MP_INVALID_ARG), SerializationError (initargs), InvalidStateError (inside a task module import). */
  constructor(options: EngineOptions) {
    this.label = options.label;
    const setup = setupEngine(options);
    this.processes = setup.processes;
    this.#maxTasks = setup.maxTasks;
    this.#initializer = setup.initializer;
    this.#initargs = setup.initargs;
    this.#initHandles = setup.initHandles;
    this.#toFill = this.#initializer ? this.processes : 0;
    this.#spawnIfNeeded();
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
    job.limit(signal, timeout);
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
    if (refused !== null) this.#failUnsent(batch, refused);
    else this.#enqueue(batch);
  }

  /** @internal Job.addRange */
  addRange(job: Job, input: ArrayLike<unknown>, start: number, count: number): void {
    if (job.dead) return;
    this.#enqueue(new Batch(this.#nextBatchId++, job, [], start, false, input, count));
  }

  #enqueue(batch: Batch): void {
    batch.job.batches.add(batch);
    this.#queue.push(batch);
    this.#queued++;
    // After close(), a lazy iterator admitted earlier may bring work after the workers left.
    if (this.#workers.length < this.processes) this.#spawnIfNeeded();
    this.#dispatch();
  }

  /** `batch` cannot be sent: it fails with `error`, and nothing of it reached a worker. */
  #failUnsent(batch: Batch, error: Error): void {
    const job = batch.job;
    job.batches.delete(batch);
    job.sink.failed(batch, [], 0, error);
    this.maybeFinish(job);
  }

  /** @internal a job is finished when it was ended and holds no batches. */
  maybeFinish(job: Job): void {
    if (job.ended && job.batches.size === 0) this.#finish(job);
  }

  #finish(job: Job): void {
    job.dead = true;
    job.unlimit();
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
    w.send(msg);
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
    if (n > 0 && this.#workers.length < this.processes) return false; // workers to come (header)
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
    const fn = job.fn;
    const items = payloadOf(batch, this.#packs.current);
    if (items instanceof Error) {
      this.#failUnsent(batch, items);
      return;
    }
    if (!w.defined.has(fn.key)) {
      w.send({ mp: PROTOCOL, type: 'define', key: fn.key, fn: fn.spec });
      w.defined.add(fn.key);
    }
    const msg = new CallMessage(batch.id, fn.key, items, job.spread);
    if (batch.handles) msg.handles = true;
    try {
      // A value that cannot be cloned throws inside send(), before anything reaches the child.
      sendCall(w, batch, msg, this.#packs);
    } catch (err) {
      this.#failUnsent(batch, serializationError(batch, err));
      return;
    }
    batch.worker = w;
    const head = w.inflight.length === 0;
    if (head) w.headSince = performance.now();
    w.inflight.push(batch);
    w.assigned++;
    if (!w.refd) w.setRef(true);
    if (this.#maxTasks !== 0 && w.assigned >= this.#maxTasks) {
      // This worker takes no more; its replacement starts now so capacity does not dip while
      // it finishes what it holds.
      this.#stopAccepting(w, 'retiring');
      this.#spawnIfNeeded();
    }
    if (head) job.sink.started?.(batch);
  }

  // -------------------------------------------------------------------------------------
  // Workers

  #spawn(): Worker {
    const w = Worker.spawn(this.label, this.#events);
    this.#starting++;
    if (this.#toFill > 0) this.#toFill--;
    this.#workers.push(w);
    this.#all.add(w);
    // Python's pool workers are daemons: killed when the pool's owner exits.
    const init = initMessage({ name: w.name, role: 'worker', daemon: true, bytes: w.channel !== null });
    if (this.#initializer) {
      init.initializer = this.#initializer;
      init.initargs = this.#initargs;
      if (this.#initHandles) init.handles = true;
    }
    // The child handles messages in order, so work may be sent right away: it runs once the
    // initializer has finished.
    w.child.send(init);
    // Node re-refs the channel on the next tick after listeners are added; decide after it.
    process.nextTick(() => {
      if (w.inflight.length === 0 && w.refd && this.#state === 'run') w.setRef(false);
    });
    return w;
  }

  /**
   * Keep `processes` workers accepting work while there is or may be work, starting at most
   * START_AT_ONCE at a time (see the header).
   */
  #spawnIfNeeded(): void {
    if (this.#state === 'terminate' || this.#state === 'broken') return;
    // Closed with nothing left to run: only the first fill goes on, each worker retiring as
    // soon as its initializer has run.
    const idle = this.#state === 'close' && this.#jobs.size === 0;
    while (this.#starting < START_AT_ONCE && (idle ? this.#toFill > 0 : this.#workers.length < this.processes)) {
      const w = this.#spawn();
      if (idle) this.#stopAccepting(w, 'retiring');
    }
  }

  /** `w` said 'started', or ended before it did: its place among the starting workers is free. */
  #started(w: Worker): void {
    if (w.started) return;
    w.started = true;
    this.#starting--;
    if (this.#workers.length < this.processes || this.#toFill > 0) {
      this.#spawnIfNeeded();
      // Queued work goes to the worker just forked.
      this.#dispatch();
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
    w.kill(signal);
    this.#spawnIfNeeded();
    this.#dispatch();
  }

  #onMessage(w: Worker, m: FromChild): void {
    switch (m.type) {
      case 'result':
        // A table of rows came by columns (records.ts): the batch's one value, rebuilt.
        this.#onResult(w, m.id, m.records === true ? [decodeRecords(m.values[0] as EncodedRecords)] : m.values, null, m.handles === true);
        return;
      case 'numbers':
        this.#onResult(w, m.id, numbersOf(m.values, m.ints, this.#readScratch), null);
        return;
      case 'error':
        this.#onResult(w, m.id, m.values, m, m.handles === true);
        return;
      case 'dropped':
        this.#onDropped(w, m.id, m.taken);
        return;
      case 'started':
        this.#started(w);
        return;
      case 'ready':
        w.ready = true;
        this.#startFailures.length = 0;
        // A child says 'started' first; this covers one that could not (an older build).
        this.#started(w);
        if (w.state === 'retiring' && w.inflight.length === 0) {
          this.#retire(w);
          return;
        }
        // It may take back work waiting in a busy worker.
        this.#dispatch();
        return;
      case 'start-failed': {
        const error = decodeError(m.error);
        this.#breakPool(new BrokenProcessPool(`${this.label}: worker ${w.name} (pid ${w.pid}) cannot be used: ${error.message}`, { cause: error }));
        return;
      }
      case 'init-failed': {
        const error = decodeError(m.error);
        this.#breakPool(error, `${this.label}: the initializer failed in ${w.name} (pid ${w.pid}): ${error.message}`);
        return;
      }
      case 'done':
        // Only Process targets send 'done'; a worker never runs one.
        return;
      case 'switched':
        // The worker's own affair (worker.ts): it never reaches here.
        return;
      default: {
        const never: never = m;
        throw new Error(`multiproc: unexpected message from a worker: ${JSON.stringify(never)}`);
      }
    }
  }

  /** A batch's reply: `handles` when the child said its values hold handles to revive (else nothing is scanned). */
  #onResult(w: Worker, id: number, rawValues: BatchValues, failure: Extract<FromChild, { type: 'error' }> | null, handles = false): void {
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
      const values = handles ? reviveHandles(rawValues as unknown[]) : rawValues;
      if (failure) job.sink.failed(batch, values as unknown[], failure.index, job.site.annotate(decodeError(failure.error)));
      else if (Array.isArray(values)) {
        job.fn.numbers = allNumbers(values);
        job.sink.result(batch, values);
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
    if (inflight.length === 0 && w.refd && this.#state === 'run') w.setRef(false);
  }

  #onClose(w: Worker): void {
    if (w.closed) return;
    w.closed = true;
    if (!w.started) {
      w.started = true;
      this.#starting--;
    }
    const expected = w.killedByUs || w.state === 'retiring' || this.#state !== 'run';
    const foreign = expected || w.ready ? null : w.protocolExit();
    // A child of another multiproc build: no replacement would fare better.
    if (foreign) this.#breakPool(new BrokenProcessPool(`${this.label}: ${foreign.message}`, { cause: foreign }));
    else if (!w.ready && !expected) {
      // It died while starting, without an 'init-failed' (which breaks the pool at once):
      // killed from outside, or unable to start at all. No task runs before 'ready', so what
      // it held is innocent and is requeued below; it is replaced unless this keeps happening.
      const seen = this.#startFailures;
      seen.push(`${w.name} (pid ${w.pid}) exited ${w.describeExit()}`);
      if (seen.length >= MAX_START_FAILURES) {
        this.#breakPool(startFailure(this.label, seen));
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
      if (i === 0 && !w.killedByUs && w.ready && batch.unwritten === 0) {
        // The head was running when the worker died (not still being written: transfer.ts).
        job.batches.delete(batch);
        job.sink.failed(batch, [], 0, job.site.annotate(w.lostError(batch)));
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

  /** The initializer failed (or workers cannot start): reject everything, stop all workers. */
  #breakPool(error: Error, message?: string): void {
    if (this.#state === 'broken' || this.#state === 'terminate') return;
    this.#state = 'broken';
    this.#broken = message ? { message, cause: error } : { message: error.message, cause: error.cause };
    for (const job of [...this.#jobs]) job.cancel(error);
    for (const w of [...this.#all]) {
      w.setRef(true);
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
    for (const w of this.#all) if (!w.refd) w.setRef(true);
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
      w.setRef(true);
      w.killedByUs = true;
      this.#stopAccepting(w, 'dead');
      w.kill('SIGTERM');
    }
    const grace = setTimeout(() => {
      for (const w of workers) if (!w.closed) w.kill('SIGKILL');
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

