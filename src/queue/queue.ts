// Queue, JoinableQueue, SimpleQueue: the public classes. Proxy side: they work in any process.
//
// A queue lives in the process that created it: a Channel (src/queue/channel.ts) registered
// on that process's host. Each public object holds a Reference to it (its lifetime and
// handle) and ChannelOps (src/queue/ops.ts) for its work: direct calls in the creating
// process, this process's RemoteChannel (src/queue/remote-channel.ts) anywhere else. Items
// are packed once, at put() (src/queue/packing.ts).
//
// Delivery guarantee: an item counts as taken only when get() hands it to user code (the
// consumer acknowledges it, batched). Items a consumer had prefetched but not taken return to
// the front of the queue when its connection closes, so a killed consumer loses nothing; and
// what a resolved put() accepted, or get() handed over, is sent even when the process exits
// at once (the exit hooks of src/runtime.ts).
//
// Errors follow Python's queue module: a get({ timeout }) that expires rejects with Empty and
// a put({ timeout }) with Full (queue.Empty / queue.Full), each carrying `timeout`; after
// shutdown(), ShutDown (Python 3.13). Channel decides them (src/queue/channel.ts), for local
// and remote callers alike.

import { isDeepStrictEqual } from 'node:util';
import { invalidArg, invalidRange, QueueClosed } from '../errors.ts';
import { checkOptionNames, checkSignal, checkTimeout, optionNames } from '../options.ts';
import type { Handle } from '../protocol/index.ts';
import { moduleFile } from '../runtime.ts';
import { noteShareable, registerReviver, toHandle, type Shareable } from '../remote/handle.ts';
import { localHost, type Host } from '../remote/host.ts';
import { Reference, type ReferenceOptions } from '../remote/reference.ts';
import type { WaiterOptions } from '../remote/waiter.ts';
import { Channel, CHANNEL_METHODS } from './channel.ts';

/** This module, named in the handles of the kinds it revives (see registerReviver). */
const here = moduleFile();
import { attachOps, type ChannelOps, type ChannelsOf } from './ops.ts';
import { NOTHING } from './packing.ts';

/** Options of `put()`. */
export interface PutOptions {
  /** Wait for room at most this long (ms), then reject with Full (`err.timeout` set). @default no limit */
  timeout?: number;
  /**
   * Stop waiting: rejects with CancelledError (cause: the signal's reason). A put to another
   * process's bounded queue cancelled at the very moment room appeared may still have been
   * accepted there (the cancel and the acceptance cross on the wire).
   */
  signal?: AbortSignal;
  /** false: do not wait for room (same as putNowait()). @default true */
  block?: boolean;
}

/** Options of `get()`. */
export interface GetOptions {
  /** Wait for an item at most this long (ms), then reject with Empty (`err.timeout` set). @default no limit */
  timeout?: number;
  /** Stop waiting: rejects with CancelledError (cause: the signal's reason). */
  signal?: AbortSignal;
  /** false: do not wait for an item (same as getNowait()). @default true */
  block?: boolean;
}

/** Options of `new Queue()` beyond maxsize. */
export interface QueueOptions {
  /**
   * The host serving the queue to other processes: a Manager uses its own (TCP) host.
   * @default this process's host (localHost())
   */
  host?: Host;
}

const KIND_QUEUE = 'queue';
const KIND_JOINABLE = 'joinable-queue';
const KIND_SIMPLE = 'simple-queue';

/** Reads a queue's channel operations (for JoinableQueue); assigned in Queue's static block. */
let opsOf: (q: Queue<any>) => ChannelOps;

/** The channels a hosted Channel reads and writes: itself. */
const queueChannels: ChannelsOf = (target) => (target instanceof Channel ? { inbox: target, outbox: target } : null);

/** The Reference options of every queue kind (RemoteChannel builds the lost errors of its own calls). */
const QUEUE_REFERENCE: ReferenceOptions = {
  lost: (message, cause, method) => new QueueClosed(`queue.${method ?? 'call'}(): ${message}; a queue lives in the process that created it`, cause ? { cause } : undefined),
};

function sentinelMatcher(sentinel: unknown): (v: unknown) => boolean {
  if (typeof sentinel === 'object' && sentinel !== null) return (v) => Object.is(v, sentinel) || isDeepStrictEqual(v, sentinel);
  return (v) => Object.is(v, sentinel);
}

const NO_WAIT_OPTIONS: WaiterOptions = Object.freeze({});
// The names each options object may have (checkOptionNames: any other is refused, not ignored).
const WAIT_OPTIONS = optionNames<PutOptions & GetOptions>({ timeout: true, signal: true, block: true });
const QUEUE_OPTIONS = optionNames<QueueOptions>({ host: true });
const SHUTDOWN_OPTIONS = optionNames<{ immediate?: boolean }>({ immediate: true });
const JOIN_OPTIONS = optionNames<{ signal?: AbortSignal }>({ signal: true });

/** Validate put/get options into the backend's form (no allocation for the common call without options). */
function parseWait(options: PutOptions | GetOptions | undefined, what: string): WaiterOptions {
  if (options === undefined) return NO_WAIT_OPTIONS;
  if (typeof options !== 'object' || options === null) throw invalidArg(`${what}: options must be an object like { timeout: 1000 }`);
  checkOptionNames(options, WAIT_OPTIONS, what);
  return { timeout: checkTimeout(options.timeout, what), signal: checkSignal(options.signal, what) };
}

/**
 * A FIFO queue shared between processes: pass it to a Process, a Pool task or initargs and
 * every process puts and gets on the same queue.
 *
 * Python: multiprocessing.Queue — can also be passed as a Pool task argument; `close()` stops
 * this object's puts (items already put are still delivered) but, unlike Python, it can still
 * get; a consumer killed while holding prefetched items loses none of them; `qsize()` is exact.
 * The queue lives in the process that created it: when that process exits, other processes'
 * calls reject with QueueClosed. A timed-out get/put rejects with Empty/Full as Python's
 * (queue.Empty is not a TimeoutError there either); `shutdown()` is Python 3.13's.
 * Rejects with: Empty, Full (nowait forms and timeouts), ShutDown, CancelledError,
 * QueueClosed, SerializationError (an item that cannot cross).
 *
 * @example
 * const q = new Queue<number>();
 * const p = new Process({ target: async (q: Queue<number>) => { for (let i = 0; i < 3; i++) await q.put(i); await q.put(-1); }, args: [q] });
 * p.start();
 * for await (const n of q.until(-1)) console.log(n); // 0 1 2
 * await p.join();
 */
export class Queue<T = unknown> implements Shareable {
  readonly #ref: Reference;
  readonly #b: ChannelOps;
  #closed = false;

  /**
   * @param maxsize Most items the queue holds; `put` waits while it is full. 0 or less: no
   *   limit. Items prefetched by a consumer and not yet taken still count.
   * @default maxsize 0
   * Throws TypeError / RangeError (MP_INVALID_ARG) for a maxsize that is not an integer.
   */
  constructor(maxsize?: number, options?: QueueOptions);
  /** @internal A revived queue: the reference its handle stands for. */
  constructor(ref: Reference);
  constructor(maxsize: number | Reference = 0, options: QueueOptions = {}) {
    if (maxsize instanceof Reference) {
      this.#ref = maxsize;
    } else {
      if (typeof maxsize !== 'number' || Number.isNaN(maxsize)) throw invalidArg(`new Queue(maxsize): maxsize must be a number, got ${typeof maxsize}`);
      if (maxsize !== Infinity && !Number.isInteger(maxsize)) throw invalidRange(`new Queue(maxsize): maxsize must be an integer, got ${maxsize}`);
      const size = maxsize === Infinity || maxsize < 0 ? 0 : maxsize;
      checkOptionNames(options, QUEUE_OPTIONS, `new ${new.target.name}(maxsize, options)`);
      const host = options?.host ?? localHost();
      const channel = new Channel(size);
      const id = host.register(channel, { kind: kindOf(new.target), exposed: CHANNEL_METHODS, context: true, meta: { maxsize: size }, onRelease: () => channel.dispose() });
      this.#ref = Reference.hosted(host, id, QUEUE_REFERENCE);
    }
    this.#b = attachOps(this.#ref, this, 'queue', queueChannels);
    noteShareable();
  }

  /** Most items the queue holds (0: no limit). */
  get maxsize(): number {
    return this.#b.maxsize;
  }

  /**
   * Put an item at the back. Unbounded queue: resolves once the item is buffered (sent in one
   * batch per tick, as Python's feeder thread does). Bounded: waits while the queue is full.
   * Python: Queue.put(obj, block, timeout).
   * Rejects with Full (`block: false`, or `timeout` passed: then `err.timeout` is set),
   * ShutDown (after shutdown(); a put buffered by another process before it learnt of the
   * shutdown is refused by the host, and that process's next put or close() rejects with
   * ShutDown), QueueClosed (after close(), or the host exited), CancelledError,
   * SerializationError.
   */
  put(item: T, options?: PutOptions): Promise<void> {
    try {
      if (this.#closed) throw new QueueClosed('put() on a closed queue: close() was called on this queue object (Python: ValueError: Queue is closed)');
      return this.#b.put(item, options?.block !== false, parseWait(options, 'queue.put()'), 'queue.put()');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Put without waiting for room. Python: Queue.put_nowait() — but this returns a Promise, like
   * every call that may cross a process: `await` it, or a `try`/`catch` around it catches
   * nothing (the rejection escapes and ends the process as unhandled).
   * Rejects with Full, QueueClosed, ShutDown.
   *
   * @example
   * try {
   *   await q.putNowait(job);
   * } catch (err) {
   *   if (!(err instanceof Full)) throw err; // Python: except queue.Full:
   * }
   */
  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }

  /**
   * Remove and return the item at the front, waiting for one.
   * Python: Queue.get(block, timeout).
   * Rejects with Empty (`block: false`, or `timeout` passed: then `err.timeout` is set),
   * ShutDown (shut down and nothing left to take), CancelledError, QueueClosed (the host exited).
   */
  get(options?: GetOptions): Promise<T> {
    try {
      return this.#b.get(options?.block !== false, parseWait(options, 'queue.get()'), 'queue.get()') as Promise<T>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Get without waiting. Python: Queue.get_nowait() — but this returns a Promise, like every
   * call that may cross a process: `await` it, or a `try`/`catch` around it catches nothing
   * (the rejection escapes and ends the process as unhandled).
   * Rejects with Empty, ShutDown.
   *
   * @example
   * try {
   *   const job = await q.getNowait();
   * } catch (err) {
   *   if (!(err instanceof Empty)) throw err; // Python: except queue.Empty:
   * }
   */
  getNowait(): Promise<T> {
    return this.get({ block: false });
  }

  /**
   * Items put and not yet taken by any consumer (exact, unlike Python's approximation).
   * Python: Queue.qsize(). Rejects with QueueClosed when the host exited.
   */
  qsize(): Promise<number> {
    return this.#b.qsize();
  }

  /** True when qsize() is 0. Python: Queue.empty(). */
  async empty(): Promise<boolean> {
    return (await this.#b.qsize()) === 0;
  }

  /** True when a bounded queue holds maxsize items. Python: Queue.full(). */
  async full(): Promise<boolean> {
    return this.maxsize > 0 && (await this.#b.qsize()) >= this.maxsize;
  }

  /**
   * This object will put no more: later put() calls reject with QueueClosed. Resolves when
   * items already put have reached the queue (Python's close() + join_thread()). Other
   * processes' objects of the same queue are not affected, as in Python.
   * Python: Queue.close() — here get() keeps working, so a process may still drain the queue.
   */
  close(): Promise<void> {
    this.#closed = true;
    return this.#b.flush();
  }

  /**
   * Shut the queue down, for every process: later puts reject with ShutDown, and so do puts
   * blocked on a full queue; gets take what is left, then reject with ShutDown (blocked ones
   * too). With `immediate: true` what is queued is dropped at once, each dropped item counted
   * as done for JoinableQueue.join() (Python calls task_done() for it), and every get rejects
   * with ShutDown. Resolves once the host has done it. Idempotent; any process may call it.
   * Python: Queue.shutdown(immediate=False) (3.13; multiprocessing.Queue has none) — items a
   * consumer in another process had already prefetched count as taken by it, as an item
   * Python's get() returned just before the shutdown.
   * Rejects with QueueClosed (the host exited).
   *
   * @example
   * await q.shutdown();                    // producers are done: consumers drain, then stop
   * for (;;) {
   *   try { await handle(await q.get()); }
   *   catch (err) { if (err instanceof ShutDown) break; throw err; }
   * }
   */
  shutdown(options: { immediate?: boolean } = {}): Promise<void> {
    try {
      if (typeof options !== 'object' || options === null) throw invalidArg('queue.shutdown(options): options must be an object like { immediate: true }');
      checkOptionNames(options, SHUTDOWN_OPTIONS, 'queue.shutdown(options)');
      const immediate = options.immediate ?? false;
      if (typeof immediate !== 'boolean') throw invalidArg(`queue.shutdown(): immediate must be a boolean, got ${typeof immediate}`);
      return this.#b.shutdown(immediate);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Iterate items until `sentinel` arrives (compared with Object.is, and deep equality for
   * objects such as `{ done: true }`). Leaving the loop early gives items this process had
   * prefetched back to the queue.
   * Python: `for item in iter(q.get, sentinel)`.
   * Rejects with QueueClosed when the host exits, ShutDown when the queue was shut down and
   * is empty before the sentinel came.
   *
   * @example
   * for await (const job of queue.until(null)) await handle(job);
   */
  until<S extends T>(sentinel: S, options?: Omit<GetOptions, 'block'>): AsyncGenerator<Exclude<T, S>, void, undefined> {
    // The sentinel is the only value excluded from T, and it never gets through.
    return new Until<Exclude<T, S>>(this, this.#b, sentinelMatcher(sentinel), options);
  }

  static {
    opsOf = (q) => q.#b;
  }

  /** The handle another process revives into a working Queue. */
  [toHandle](): Handle {
    return this.#ref.toHandle();
  }

  get [Symbol.toStringTag](): string {
    return 'Queue';
  }
}

/**
 * The iterator of Queue.until(), behaving as the async generator
 * `try { for (;;) { const item = await queue.get(options); if (matches(item)) return; yield item; } } finally { release() }`
 * would, without its cost: an item that is already here (prefetched from another process, or
 * queued in this one) is handed over in one resolved promise, where the generator's await
 * and yield cost two more turns of the microtask queue (~0.15 us per item, a fifth of what a
 * consumer of small items spends per item). As a generator's, calls are served one after the
 * other: next(), return() or throw() made while a next() waits for an item wait for it, so
 * no item is taken past the sentinel; return() and throw() before the first next() release
 * nothing, after it they give back what this process prefetched (the generator's finally).
 */
class Until<T> implements AsyncGenerator<T, void, undefined> {
  readonly #queue: Queue<unknown>;
  readonly #ops: ChannelOps;
  readonly #matches: (v: unknown) => boolean;
  readonly #options: Omit<GetOptions, 'block'> | undefined;
  /** The options checked (at the first next(), whose promise rejects when they are bad). */
  #wait: WaiterOptions | null = null;
  #state: 'new' | 'running' | 'done' = 'new';
  /** The next() waiting for an item, if one is. */
  #pending: Promise<IteratorResult<T, void>> | null = null;

  constructor(queue: Queue<any>, ops: ChannelOps, matches: (v: unknown) => boolean, options: Omit<GetOptions, 'block'> | undefined) {
    this.#queue = queue;
    this.#ops = ops;
    this.#matches = matches;
    this.#options = options;
  }

  next(): Promise<IteratorResult<T, void>> {
    if (this.#pending !== null) return this.#after(() => this.next());
    if (this.#state === 'done') return Promise.resolve({ value: undefined, done: true });
    this.#state = 'running';
    let item: unknown = NOTHING;
    try {
      const wait = (this.#wait ??= parseWait(this.#options, 'queue.get()'));
      // A signal that fired already cancels the get, as get() does: no shortcut then.
      if (this.#ops.getNow && !wait.signal?.aborted) item = this.#ops.getNow();
    } catch (err) {
      this.#finish();
      return Promise.reject(err);
    }
    // An item whose handles are still being revived comes as a promise: awaited like a get.
    if (item !== NOTHING && !(item instanceof Promise)) return Promise.resolve(this.#result(item));
    const source = item === NOTHING ? this.#queue.get(this.#options) : (item as Promise<unknown>);
    const pending = source.then(
      (v) => {
        this.#pending = null;
        return this.#result(v);
      },
      (err: unknown) => {
        this.#pending = null;
        this.#finish();
        throw err;
      },
    );
    this.#pending = pending;
    return pending;
  }

  return(value?: void | PromiseLike<void>): Promise<IteratorResult<T, void>> {
    if (this.#pending !== null) return this.#after(() => this.return(value));
    this.#finish();
    return Promise.resolve(value).then((v) => ({ value: v, done: true }));
  }

  throw(err: unknown): Promise<IteratorResult<T, void>> {
    if (this.#pending !== null) return this.#after(() => this.throw(err));
    this.#finish();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  /** `call` once the next() that waits has settled. */
  #after(call: () => Promise<IteratorResult<T, void>>): Promise<IteratorResult<T, void>> {
    return this.#pending!.then(call, call);
  }

  #result(item: unknown): IteratorResult<T, void> {
    if (!this.#matches(item)) return { value: item as T, done: false };
    this.#finish();
    return { value: undefined, done: true };
  }

  /** Done: what this process prefetched goes back, once the loop had started. */
  #finish(): void {
    const started = this.#state === 'running';
    this.#state = 'done';
    if (started) this.#ops.release();
  }
}

/**
 * A Queue that counts unfinished tasks: every put adds one, taskDone() removes one, join()
 * waits for zero.
 * Python: multiprocessing.JoinableQueue — taskDone()/join() return Promises.
 * Rejects with: as Queue; taskDone() with InvalidStateError (MP_INVALID_STATE) when called
 * more times than items were put.
 *
 * @example
 * const q = new JoinableQueue<string>();
 * await q.put('job');
 * const job = await q.get();
 * await q.taskDone();
 * await q.join(); // every item put has been marked done
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /**
   * Mark one item as processed. Python: JoinableQueue.task_done().
   * Rejects with InvalidStateError when there is no unfinished item.
   */
  taskDone(): Promise<void> {
    return opsOf(this).taskDone();
  }

  /**
   * Wait until every item put has been marked with taskDone(). Python: JoinableQueue.join().
   * Rejects with CancelledError (`signal`), QueueClosed (host exited).
   */
  join(options: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      checkOptionNames(options, JOIN_OPTIONS, 'join()');
      return opsOf(this).join({ signal: checkSignal(options?.signal, 'join()') });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  override get [Symbol.toStringTag](): string {
    return 'JoinableQueue';
  }
}

/**
 * An unbounded queue with the plain put/get API.
 * Python: multiprocessing.SimpleQueue — same machinery as Queue here (no maxsize).
 * Rejects with: as Queue.
 *
 * @example
 * const q = new SimpleQueue<number>();
 * await q.put(1);
 * console.log(await q.get()); // 1
 */
export class SimpleQueue<T = unknown> extends Queue<T> {
  constructor(options?: QueueOptions);
  /** @internal A revived queue: the reference its handle stands for. */
  constructor(ref: Reference);
  constructor(options: QueueOptions | Reference = {}) {
    if (options instanceof Reference) super(options);
    else super(0, options);
  }

  override get [Symbol.toStringTag](): string {
    return 'SimpleQueue';
  }
}

function kindOf(cls: Function): string {
  for (let c: unknown = cls; typeof c === 'function'; c = Object.getPrototypeOf(c)) {
    if (c === JoinableQueue) return KIND_JOINABLE;
    if (c === SimpleQueue) return KIND_SIMPLE;
    if (c === Queue) return KIND_QUEUE;
  }
  return KIND_QUEUE;
}

registerReviver(KIND_QUEUE, (handle) => new Queue(Reference.revive(handle, QUEUE_REFERENCE)), here);
registerReviver(KIND_JOINABLE, (handle) => new JoinableQueue(Reference.revive(handle, QUEUE_REFERENCE)), here);
registerReviver(KIND_SIMPLE, (handle) => new SimpleQueue(Reference.revive(handle, QUEUE_REFERENCE)), here);
