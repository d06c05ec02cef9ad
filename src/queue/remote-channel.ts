// This process's side of a channel hosted by another process (proxy side): one RemoteChannel
// per hosted channel per process, shared by every Queue or pipe Connection of this process
// that revived its handle.
//
//   producer process           host (creator) process            consumer process
//   put() -> PackWriter ------> Channel.put  [segments ...] ------> RemoteChannel buffer -> get()
//            one 'put' frame    serves waiting 'take's;      'take' batches (adaptive size,
//            per tick (buffered  tracks what each connection   acks piggybacked); un-taken
//            like Python's       holds but has not handed to   items go back when idle and
//            feeder thread)      user code ("in flight")       when the connection dies
//
// Puts are buffered into one frame per tick and resolve once buffered (accepted: from then on
// they reach the host even if this process exits at once: src/runtime.ts's exit hooks); gets
// are prefetched in adaptive batches and acknowledged once handed to user code. Everything
// this process buffered leaves before anything else it sends (defer(), src/remote/client.ts).

import { Deque } from '../deque.ts';
import { warn } from '../diagnostics.ts';
import { Empty, InvalidStateError, QueueClosed, ShutDown, TimeoutError } from '../errors.ts';
import { deadlineAfter, timeLeft } from '../options.ts';
import { defer, undefer, type HostClient } from '../remote/client.ts';
import { ByteChain } from '../remote/codec.ts';
import { Waiter, type WaiterOptions } from '../remote/waiter.ts';
import { getTimedOut, putAfterShutdown, type ChannelKind, type PutRequest, type TakeRequest } from './channel.ts';
import type { ChannelOps } from './ops.ts';
import { FrameItems, itemBytes, MAX_ITEM, NOTHING, packOne, PackWriter, readItem, type Packed, type Segment } from './packing.ts';

const RESOLVED = Promise.resolve();
const noop = (): void => {};

const FLUSH_ITEMS = 8192;
const FLUSH_BYTES = 256 * 1024;
const MAX_OUTSTANDING = 4 * 1024 * 1024;
const MAX_BATCH = 4096;
const IDLE_MS = 20;

const channels = new Map<string, WeakRef<RemoteChannel>>();
// Forget the map entry of a collected channel (a long-lived worker sees many queues).
const channelGone = new FinalizationRegistry<string>((key) => {
  if (channels.get(key)?.deref() === undefined) channels.delete(key);
});

/**
 * This process's side of a channel hosted elsewhere: buffers puts into one frame per tick,
 * prefetches gets in adaptive batches, acknowledges what user code took.
 */
export class RemoteChannel implements ChannelOps {
  readonly client: HostClient;
  readonly obj: string;
  readonly maxsize: number;
  /** A queue or a pipe: names the kind in messages, and picks a timed-out get's error (Empty / TimeoutError). */
  readonly noun: ChannelKind;
  faces = 0;
  // consumer side
  readonly #rbuf = new Deque<Segment>();
  #rcount = 0;
  #handed = 0;
  #batch = 16;
  #batchStart = 0;
  #batchItems = 0;
  #fetch: Promise<void> | null = null;
  #ackQueued = false;
  #idle: NodeTimeout | null = null;
  #takes = 0;
  #idleMark = 0;
  // producer side
  readonly #wbuf = new PackWriter(2 * FLUSH_BYTES, true);
  #flushQueued = false;
  #outstanding = 0;
  readonly #inFlightPuts = new Set<Promise<unknown>>();
  #drainWaiters: Array<() => void> = [];
  #sticky: Error | null = null;
  #stickyReported = false;
  #tdCount = 0;
  #tdWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  /** This process knows the queue was shut down (it did it, or the host said so): puts fail at once. */
  #shutDown = false;

  private constructor(client: HostClient, id: string, meta: Readonly<Record<string, unknown>>, noun: ChannelKind) {
    this.client = client;
    this.obj = id;
    this.maxsize = (meta.maxsize as number | undefined) ?? 0;
    this.noun = noun;
    if (this.maxsize > 0) this.#batch = Math.min(this.#batch, this.maxsize);
  }

  /** The shared RemoteChannel of the channel `id` on `client`'s host, in this process. */
  static for(client: HostClient, id: string, meta: Readonly<Record<string, unknown>>, noun: ChannelKind): RemoteChannel {
    const key = `${client.key}|${id}`;
    let channel = channels.get(key)?.deref();
    if (!channel || channel.client.closed) {
      channel = new RemoteChannel(client, id, meta, noun);
      channels.set(key, new WeakRef(channel));
      channelGone.register(channel, key);
    }
    return channel;
  }

  lost(what: string): (message: string, cause: Error | undefined) => Error {
    return (message, cause) => new QueueClosed(`${what}: ${message}; a ${this.noun} lives in the process that created it`, cause ? { cause } : undefined);
  }

  // -- consumer --

  get buffered(): number {
    return this.#rcount;
  }

  #accept = (value: unknown): void => {
    const batch = value as Packed;
    if (!batch || batch.count <= 0) return;
    if (this.#rcount === 0) {
      this.#batchStart = performance.now();
      this.#batchItems = 0;
    }
    // Received: the host's ByteChain arrives as one Buffer. The reply's frame is ours alone
    // (the reply holds no other bytes anyone reads): its buffer is reused once every item
    // was taken (see FrameItems).
    const data = batch.data as Buffer;
    this.#rbuf.push({ buf: data, pos: 0, end: data.length, count: batch.count, frame: FrameItems.claim(data, batch.count) });
    this.#rcount += batch.count;
    this.#batchItems += batch.count;
    this.#armIdle();
  };

  #takeOne(): unknown {
    const seg = this.#rbuf.peek()!;
    const at = seg.pos;
    // Consume before decoding: an item that fails to decode (a handle of a kind nobody
    // registered here) is reported once, like an unpicklable item in Python, not forever.
    seg.pos += itemBytes(seg.buf, at);
    if (--seg.count === 0) this.#rbuf.shift();
    this.#rcount--;
    if (this.#handed++ === 0) {
      // The acknowledgement leaves with whatever this process sends next, or on the next
      // turn of the event loop, or at exit, whichever comes first.
      defer(this);
    }
    this.#takes++;
    if (this.#rcount === 0) this.#adapt();
    if (!this.#ackQueued) {
      this.#ackQueued = true;
      setImmediate(this.#sendAck);
    }
    if (this.#fetch === null && this.#batch >= 32 && this.#rcount <= this.#batch >> 1) {
      // Read ahead while user code works through the buffer; never blocks at the host, so a
      // consumer that is not waiting cannot hoard items another one is waiting for.
      void this.#startFetch(false, undefined, undefined, 'get()').catch(noop);
    }
    try {
      return readItem(seg.buf, at);
    } finally {
      seg.frame?.done(1);
    }
  }

  /** Grow the batch while the consumer drains fast; shrink it for slow consumers (fairness). */
  #adapt(): void {
    const perItem = (performance.now() - this.#batchStart) / Math.max(1, this.#batchItems);
    const cap = this.maxsize > 0 ? Math.min(MAX_BATCH, this.maxsize) : MAX_BATCH;
    if (perItem < 0.02) this.#batch = Math.min(cap, this.#batch * 2);
    else if (perItem > 2) this.#batch = Math.max(1, this.#batch >> 1);
  }

  #sendAck = (): void => {
    this.#ackQueued = false;
    this.#ack();
  };

  #ack(): void {
    if (this.#handed > 0) {
      const n = this.#handed;
      this.#handed = 0;
      this.#note('ack', [n]);
    }
  }

  /**
   * Deferred (src/remote/host.ts): send what this process buffered for the host now, in the
   * order it happened to matter: puts, then taskDone()s (which count them), then the
   * acknowledgement of items handed to user code.
   */
  sendDeferred(): void {
    this.flushSoon();
  }

  /**
   * A one-way message (ack, giveBack). HostClient confirms it before a graceful exit (one
   * 'sync' round trip) and the exit hooks write it on any exit, so a process that exits
   * right after cannot leave items it took unacknowledged (they would be delivered again).
   */
  #note(method: string, args: unknown[]): void {
    this.client.notify(this.obj, method, args);
  }

  #armIdle(): void {
    if (this.#idle !== null) return;
    this.#idleMark = this.#takes;
    this.#idle = setTimeout(this.#onIdle, IDLE_MS);
    // Only bookkeeping: must not keep the consumer process alive.
    this.#idle.unref();
  }

  #onIdle = (): void => {
    this.#idle = null;
    if (this.#rcount === 0) return;
    if (this.#takes !== this.#idleMark) return this.#armIdle();
    // Nobody took an item for a while: give the prefetched ones back for other consumers.
    this.release();
  };

  /** Give back every prefetched item not handed to user code (and acknowledge the rest). */
  release(): void {
    if (this.#rcount === 0 && this.#handed === 0) return;
    const args = [this.#handed, this.#rcount];
    // Cleared before sending: the send first sends what is deferred, our acknowledgement too.
    this.#handed = 0;
    this.#rcount = 0;
    this.#rbuf.clear();
    this.#note('giveBack', args);
    this.#batch = Math.max(1, this.#batch >> 1);
  }

  #startFetch(wait: boolean, timeout: number | undefined, signal: AbortSignal | undefined, what: string): Promise<number> {
    const ack = this.#handed;
    this.#handed = 0;
    const request: TakeRequest = { max: this.#batch, ack, wait, timeout };
    const call = this.client.call(this.obj, 'take', [request], { signal, lost: this.lost(what), late: this.#accept }).then((value) => {
      this.#accept(value);
      return (value as Packed).count;
    });
    const settled = call.then(noop, noop).then(() => {
      if (this.#fetch === settled) this.#fetch = null;
    });
    this.#fetch = settled;
    return call;
  }

  /** A prefetched item, handed to user code now; NOTHING when none is here. Throws what decoding it throws. */
  getNow(): unknown {
    return this.#rcount > 0 ? this.#takeOne() : NOTHING;
  }

  get(wait: boolean, options: WaiterOptions, what: string): Promise<unknown> {
    // From the prefetched buffer: the hot path, no async frame.
    if (this.#rcount > 0) {
      try {
        return Promise.resolve(this.#takeOne());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.#fetchAndGet(wait, options, what);
  }

  async #fetchAndGet(wait: boolean, options: WaiterOptions, what: string): Promise<unknown> {
    this.flushSoon(); // our own puts reach the host before our request for items
    const deadline = deadlineAfter(options.timeout);
    for (;;) {
      if (this.#rcount > 0) return this.#takeOne();
      if (this.#fetch) {
        // Another request of this process is out (a read-ahead or a concurrent get): its
        // items land in the shared buffer. Wait for it, within our own deadline and signal.
        await raceDeadline(this.#fetch, deadline, options.signal, what, () => getTimedOut(this.noun, what, options.timeout));
        continue;
      }
      const remaining = deadline - performance.now();
      if (!wait || remaining <= 0) {
        const n = await this.#startFetch(false, undefined, options.signal, what);
        if (n === 0 && this.#rcount === 0) {
          if (!wait) throw new Empty();
          throw getTimedOut(this.noun, what, options.timeout);
        }
        continue;
      }
      try {
        await this.#startFetch(true, remaining === Infinity ? undefined : Math.ceil(remaining), options.signal, what);
      } catch (err) {
        // The host timed out the part of the wait it was given (what was left of ours): the
        // caller's error carries the timeout the caller gave.
        if (err instanceof Empty || err instanceof TimeoutError) throw getTimedOut(this.noun, what, options.timeout);
        throw err;
      }
    }
  }

  poll(timeout: number | undefined, what: string, signal?: AbortSignal): Promise<boolean> {
    if (this.#rcount > 0) return Promise.resolve(true);
    this.flushSoon();
    return this.client.call(this.obj, 'poll', [timeout], { lost: this.lost(what), signal }) as Promise<boolean>;
  }

  // -- producer --

  /** Buffer one item (unbounded) or put it now (bounded: waits for room at the host). */
  #reportSticky(): Promise<never> {
    this.#stickyReported = true;
    return Promise.reject(this.#sticky);
  }

  put(item: unknown, wait: boolean, options: WaiterOptions, what: string): Promise<void> {
    if (this.#shutDown) return Promise.reject(putAfterShutdown(what));
    if (this.#sticky) return this.#reportSticky();
    // The host is gone (and we know it): nothing put now could arrive.
    if (this.client.closed) return Promise.reject(this.client.failure(this.lost(what)));
    if (this.maxsize > 0) {
      let seg: Segment;
      try {
        seg = packOne(item, what);
      } catch (err) {
        return Promise.reject(err);
      }
      this.flushSoon();
      const request: PutRequest = { wait, timeout: options.timeout };
      return this.client.call(this.obj, 'put', [seg.buf.subarray(seg.pos, seg.end), 1, request], { signal: options.signal, lost: this.lost(what) }).then(noop, this.#noteShutDown);
    }
    const before = this.#wbuf.bytes;
    try {
      this.#wbuf.write(item, what);
    } catch (err) {
      return Promise.reject(err);
    }
    defer(this);
    // A big item that pushes the batch past the frame cap goes in a batch of its own.
    if (before > 0 && this.#wbuf.bytes > MAX_ITEM) this.#sendPuts(this.#wbuf.take(true));
    if (this.#wbuf.count < FLUSH_ITEMS && this.#wbuf.bytes < FLUSH_BYTES) {
      this.#queueFlush();
      // Resolved means accepted: from here the item reaches the host even if this process
      // exits at once (the exit hooks write it), which needs an open connection. Only puts
      // made while the first connection to the host is still authenticating wait for it.
      return this.client.open ? RESOLVED : this.client.whenOpen(this.lost(what));
    }
    this.flushSoon();
    // Backpressure for an unbounded queue: resolve once buffered, unless the host is far
    // behind (many bytes sent and not yet acknowledged).
    if (this.#outstanding > MAX_OUTSTANDING) return new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    if (!this.client.open) return this.client.whenOpen(this.lost(what));
    // A full batch just left: yield one event-loop turn so the socket actually writes it and
    // acknowledgements come in. Without this, a producer looping on `await put()` only runs
    // microtasks and the batches pile up unsent until it stops (Python's feeder thread
    // writes concurrently; this is the single-threaded equivalent).
    return new Promise<void>((resolve) => setImmediate(resolve));
  }

  putBytes(data: Buffer, what: string): Promise<void> {
    return this.put(data, true, {}, what);
  }

  taskDone(): Promise<void> {
    if (this.#sticky) return this.#reportSticky();
    return new Promise<void>((resolve, reject) => {
      this.#tdCount++;
      this.#tdWaiters.push({ resolve, reject });
        defer(this);
      this.#queueFlush();
    });
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // One frame per event-loop turn, as Python's feeder thread drains its buffer.
    setImmediate(() => this.flushSoon());
  }

  #sendPuts(seg: Segment): void {
    const bytes = seg.end - seg.pos;
    this.#outstanding += bytes;
    // A ByteChain: the batch's bytes go to the socket from the writer's buffer, not copied
    // into the frame (the writer never writes bytes it handed out again).
    const call = this.client.call(this.obj, 'put', [new ByteChain([seg.buf.subarray(seg.pos, seg.end)]), seg.count, {}], { lost: this.lost('queue.put()') });
    this.#track(
      call,
      () => {
        // Answered (or the link is gone): the frame left the socket writer, its bytes are free.
        this.#wbuf.settled(seg);
        this.#outstanding -= bytes;
        if (this.#outstanding <= MAX_OUTSTANDING / 2 && this.#drainWaiters.length > 0) {
          const waiters = this.#drainWaiters;
          this.#drainWaiters = [];
          for (const w of waiters) w();
        }
      },
      seg.count,
    );
  }

  /** Send buffered puts, taskDone()s and the acknowledgement now (in that order). */
  flushSoon(): void {
    this.#flushQueued = false;
    // First, so that the sends below (which send every deferred message first) do not come
    // back here and send the taskDone()s ahead of the puts.
    undefer(this);
    if (this.#wbuf.count > 0) this.#sendPuts(this.#wbuf.take());
    if (this.#tdCount > 0) {
      const n = this.#tdCount;
      const waiters = this.#tdWaiters;
      this.#tdCount = 0;
      this.#tdWaiters = [];
      const call = this.client.call(this.obj, 'taskDone', [n], { lost: this.lost('taskDone()') });
      call.then(
        (applied) => {
          waiters.forEach((w, i) => (i < (applied as number) ? w.resolve() : w.reject(tooManyTaskDone())));
        },
        (err: Error) => waiters.forEach((w) => w.reject(err)),
      );
      this.#track(call, noop, 0);
    }
    this.#ack();
  }

  #track(call: Promise<unknown>, done: () => void, items: number): void {
    this.#inFlightPuts.add(call);
    call.then(
      () => {
        this.#inFlightPuts.delete(call);
        done();
      },
      (err: Error) => {
        this.#inFlightPuts.delete(call);
        done();
        if (err instanceof ShutDown) this.#shutDown = true;
        if (items > 0 && !this.#sticky) {
          // These puts already resolved (they were buffered): the next put/close/flush
          // rejects with the error; if nothing reports it soon, a process warning does, so
          // the loss is never silent.
          this.#sticky = err;
          setImmediate(() => {
            if (!this.#stickyReported) warn('MP_PUT_LOST', `multiproc (pid ${process.pid}): ${items} item(s) put on a ${this.noun} could not be delivered: ${err.message}`);
          });
        }
        const waiters = this.#drainWaiters;
        this.#drainWaiters = [];
        for (const w of waiters) w();
      },
    );
  }

  /**
   * Send what is buffered (puts, taskDone()s, acknowledgements) and wait until the host has
   * processed it. Rejects with a delivery failure of buffered puts.
   */
  async flush(): Promise<void> {
    this.flushSoon();
    while (this.#inFlightPuts.size > 0) await Promise.allSettled([...this.#inFlightPuts]);
    await this.client.sync(this.lost('flush()')).catch(noop);
    if (this.#sticky) return this.#reportSticky();
  }

  /** Remember a ShutDown the host answered with (later puts then fail here at once), and pass it on. */
  #noteShutDown = (err: unknown): never => {
    if (err instanceof ShutDown) this.#shutDown = true;
    throw err;
  };

  /**
   * Shut the queue down at its host (after this process's buffered puts, which it accepts
   * first). `immediate`: what this process prefetched goes back first, to be dropped there
   * with the rest.
   */
  shutdown(immediate: boolean): Promise<void> {
    this.#shutDown = true;
    if (immediate) this.release();
    return this.call('shutdown', [immediate], {}, 'shutdown()').then(noop);
  }

  qsize(): Promise<number> {
    return this.call('qsize', [], {}, 'qsize()') as Promise<number>;
  }

  join(options: WaiterOptions): Promise<void> {
    return this.call('join', [], options, 'join()').then(noop);
  }

  /** A call that must come after our buffered puts (qsize, join, …). */
  call(method: string, args: unknown[], options: WaiterOptions & { late?: (v: unknown) => void }, what: string): Promise<unknown> {
    this.flushSoon();
    return this.client.call(this.obj, method, args, { signal: options.signal, lost: this.lost(what), late: options.late });
  }

  /** One more public object of this process uses this channel (it releases the channel when collected or closed). */
  attach(): void {
    this.faces++;
  }

  /** A public object of this process let go of this channel; the last one gives back what was prefetched. */
  detach(): void {
    if (--this.faces === 0) this.dispose();
  }

  /** The last face of this channel in this process is gone. */
  dispose(): void {
    this.release();
    if (this.#idle) clearTimeout(this.#idle);
  }
}

export function tooManyTaskDone(): InvalidStateError {
  return new InvalidStateError('taskDone() called too many times: more calls than items put (Python: ValueError: task_done() called too many times)');
}

/** Await `promise`, but reject at `deadline` (from deadlineAfter: with `timedOut()`) or when `signal` fires. */
function raceDeadline(promise: Promise<void>, deadline: number, signal: AbortSignal | undefined, what: string, timedOut: () => Error): Promise<void> {
  if (deadline === Infinity && !signal) return promise;
  return new Promise<void>((resolve, reject) => {
    const w = new Waiter<void>(resolve, reject, noop);
    const timeout = timeLeft(deadline);
    w.arm({ timeout, signal }, () => w.reject(timedOut()), what);
    promise.then(() => w.resolve());
  });
}

