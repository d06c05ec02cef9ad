// The queue itself, in the process that created it (host side): a Channel stores packed
// items (src/queue/packing.ts), serves waiting consumers in arrival order, admits waiting
// producers of a bounded queue, and tracks what each remote consumer holds but has not handed
// to user code, so that a consumer that dies loses nothing. One direction of a Pipe is a
// Channel too (`eof` / `broken` are the pipe's states). Other processes call its exposed
// methods through the host (CallContext first); the creating process calls putLocal/getLocal.
//
// A wait that times out rejects as the face's Python twin does: a queue's get() with Empty
// and its put() with Full (Python's queue.Empty / queue.Full, carrying `timeout`), a pipe's
// recv() with TimeoutError. A queue can be shut down (Python 3.13's Queue.shutdown): puts
// fail with ShutDown, gets drain what is queued and then fail with ShutDown; `immediate`
// drops what is queued (counting each dropped item as done, so join() can return). Items a
// consumer in another process has prefetched count as taken by it, as an item Python's get()
// returned just before the shutdown; any that come back to the queue after an immediate
// shutdown (the consumer died or went idle) are dropped the same way.

import { Deque } from '../deque.ts';
import { Empty, Full, QueueClosed, ShutDown, TimeoutError } from '../errors.ts';
import type { CallContext } from '../remote/host.ts';
import { abortError, Waiter, type WaiterOptions } from '../remote/waiter.ts';
import { advance, chained, FrameItems, itemBytes, joined, NOTHING, packOne, PackWriter, readItem, takeFrom, type Batch, type Packed, type Segment } from './packing.ts';

const RESOLVED = Promise.resolve();
const noop = (): void => {};

/** Options of Channel.put / Channel.take, as they cross the wire. */
export interface PutRequest {
  /** Wait for room (bounded queue); false: reject with Full. @default true */
  wait?: boolean;
  timeout?: number;
}
export interface TakeRequest {
  /** Items wanted (the host may give fewer, never more). */
  max: number;
  /** Items handed to user code since the last request: acknowledged first. */
  ack?: number;
  /** Wait for an item; false: return what is there, possibly nothing. */
  wait: boolean;
  timeout?: number;
  /** Bytes wanted at most (one item always fits). @default 1 MiB */
  budget?: number;
}

interface InFlight {
  segs: Deque<Segment>;
  count: number;
}

type Getter = { max: number; budget: number; conn: number; local: boolean; w: Waiter<Packed> };
type Putter = { seg: Segment; conn: number; w: Waiter<number> };

const DEFAULT_BUDGET = 1024 * 1024;
/** Local puts between two event-loop turns (see putLocal). */
const LOCAL_BURST = 2048;
export const CHANNEL_METHODS = ['put', 'take', 'ack', 'giveBack', 'qsize', 'taskDone', 'join', 'poll', 'shutdown'] as const;

/** What a Channel serves: a queue (timeouts are Empty / Full) or one direction of a pipe (TimeoutError). */
export type ChannelKind = 'queue' | 'pipe';

/**
 * The error of a get that waited `timeout` ms in vain: Python's queue.Empty for a queue, a
 * TimeoutError for a pipe's recv(). The one wording, for the host and for RemoteChannel.
 */
export function getTimedOut(kind: ChannelKind, what: string, timeout: number | undefined): Error {
  if (kind === 'pipe') return new TimeoutError(`${what} timed out after ${timeout} ms: nothing arrived`, { timeout });
  return new Empty(`${what} timed out after ${timeout} ms: the queue stayed empty (Python: queue.Empty)`, { timeout });
}

/** The error of a put that waited `timeout` ms for room in vain: Python's queue.Full (a pipe never waits for room). */
export function putTimedOut(what: string, timeout: number | undefined): Error {
  return new Full(`${what} timed out after ${timeout} ms: the queue stayed full (Python: queue.Full)`, { timeout });
}

/** The ShutDown of a put on a queue that was shut down. */
export function putAfterShutdown(what: string): ShutDown {
  return new ShutDown(`${what} on a queue that was shut down (Python: queue.ShutDown)`);
}

/** The ShutDown of a get on a queue that was shut down and holds nothing more. */
export function getAfterShutdown(what: string, immediate: boolean): ShutDown {
  return new ShutDown(`${what}: the queue was shut down${immediate ? ' (immediate)' : ''} and holds no more items (Python: queue.ShutDown)`);
}

/**
 * The queue itself, in the process that created it. Stores packed items; serves waiting
 * consumers (local or remote) in arrival order, each a fair share; tracks what each remote
 * consumer holds but has not taken, and requeues it at the front when that consumer's
 * connection closes. Also one direction of a Pipe (`eof`/`broken` are the pipe's states).
 */
export class Channel {
  readonly maxsize: number;
  readonly kind: ChannelKind;
  readonly #segs = new Deque<Segment>();
  #count = 0; // items in #segs
  readonly #tail = new PackWriter(64 * 1024); // local puts not yet moved into #segs
  readonly #inflight = new Map<number, InFlight>();
  #inflightCount = 0;
  readonly #hooked = new Map<number, () => void>();
  readonly #getters = new Set<Getter>();
  readonly #putters = new Set<Putter>();
  readonly #pollers = new Set<Waiter<boolean>>();
  readonly #joiners = new Set<Waiter<void>>();
  #unfinished = 0;
  #serveQueued = false;
  #burst = 0; // local puts since the last event-loop turn
  /** No writer is left (a pipe end closed): once empty, takes reject with QueueClosed. */
  #eof: string | null = null;
  /** No reader is left (a pipe end closed): puts reject with QueueClosed. */
  #broken: string | null = null;
  /** shutdown() was called: puts fail, gets fail once nothing is queued. */
  #shutDown = false;
  /** shutdown({ immediate: true }): what is queued, or comes back, is dropped. */
  #immediate = false;

  constructor(maxsize: number, kind: ChannelKind = 'queue') {
    this.maxsize = maxsize;
    this.kind = kind;
  }

  /** Items put and not yet taken by user code anywhere (queued + prefetched by consumers). */
  get size(): number {
    return this.#count + this.#tail.count + this.#inflightCount;
  }

  get #available(): number {
    return this.#count + this.#tail.count;
  }

  #hasRoom(): boolean {
    return this.maxsize <= 0 || this.size < this.maxsize;
  }

  #seal(): void {
    if (this.#tail.count > 0) {
      const seg = this.#tail.take();
      this.#segs.push(seg);
      this.#count += seg.count;
    }
  }

  #accept(seg: Segment): number {
    if (seg.count <= 0) return 0;
    this.#seal(); // local puts made earlier stay ahead of this batch
    this.#segs.push(seg);
    this.#count += seg.count;
    this.#unfinished += seg.count;
    return seg.count;
  }

  #take(n: number, budget: number): Batch {
    if (this.#count < n) this.#seal();
    const batch = takeFrom(this.#segs, n, budget);
    this.#count -= batch.count;
    return batch;
  }

  /**
   * A batch as the reply to `conn`: for another process, recorded as in flight and sent
   * without joining its parts; for this process (connection 0), one Buffer.
   */
  #handOut(conn: number, batch: Batch): Packed {
    if (conn === 0) {
      // A get of this process: it decodes them when its promise settles, untracked.
      for (const part of batch.parts) part.frame?.escape();
      return { data: joined(batch), count: batch.count };
    }
    this.#record(conn, batch);
    return { data: chained(batch), count: batch.count };
  }

  #hook(ctx: CallContext): void {
    if (ctx.connection === 0 || this.#hooked.has(ctx.connection)) return;
    const conn = ctx.connection;
    this.#hooked.set(conn, ctx.onClose(() => this.#connectionClosed(conn)));
  }

  #record(conn: number, batch: Batch): void {
    let f = this.#inflight.get(conn);
    if (!f) this.#inflight.set(conn, (f = { segs: new Deque(), count: 0 }));
    // The parts are segments of their own (takeFrom made them): kept as they are.
    for (const part of batch.parts) f.segs.push(part);
    f.count += batch.count;
    this.#inflightCount += batch.count;
  }

  #ack(conn: number, n: number): void {
    const f = this.#inflight.get(conn);
    if (!f || n <= 0) return;
    n = Math.min(n, f.count);
    f.count -= n;
    this.#inflightCount -= n;
    while (n > 0) {
      const seg = f.segs.peek()!;
      if (n >= seg.count) {
        // The whole part was handed to user code: dropped without walking its items.
        n -= seg.count;
        f.segs.shift();
        seg.frame?.done(seg.count);
        continue;
      }
      advance(seg, n);
      seg.frame?.done(n);
      n = 0;
    }
    if (this.maxsize > 0) this.#serve();
  }

  /**
   * Put back `n` in-flight items of `conn` (the oldest first after the acked ones) at the front.
   * `closed`: the connection closed; a reply it was still writing may hold the items' bytes
   * for a while yet (a graceful close writes what is queued), so their frames are never reused.
   */
  #requeue(conn: number, n: number, closed = false): void {
    const f = this.#inflight.get(conn);
    if (!f || n <= 0) return;
    n = Math.min(n, f.count);
    const back = takeFrom(f.segs, n, Infinity);
    f.count -= back.count;
    this.#inflightCount -= back.count;
    if (closed) for (const part of back.parts) part.frame?.escape();
    if (this.#immediate) {
      // Terminated: what comes back is dropped, and done as far as join() is concerned.
      this.#finishDropped(back.count);
    } else if (back.count > 0) {
      for (let i = back.parts.length - 1; i >= 0; i--) this.#segs.unshift(back.parts[i]!);
      this.#count += back.count;
    }
    this.#serve();
  }

  #connectionClosed(conn: number): void {
    this.#hooked.delete(conn);
    const f = this.#inflight.get(conn);
    if (f) {
      this.#requeue(conn, f.count, true);
      this.#inflight.delete(conn);
    }
  }

  /** Serve waiting consumers, then admit waiting producers, then wake pollers. */
  #serve(): void {
    this.#serveQueued = false;
    while (this.#getters.size > 0 && this.#available > 0) {
      const g = this.#getters.values().next().value!;
      this.#getters.delete(g);
      // A fair share: with several consumers waiting, one does not take everything.
      const share = Math.max(1, Math.ceil(this.#available / (this.#getters.size + 1)));
      g.w.resolve(this.#handOut(g.local ? 0 : g.conn, this.#take(Math.min(g.max, share), g.budget)));
    }
    if (this.maxsize > 0) {
      while (this.#putters.size > 0 && this.#hasRoom()) {
        const p = this.#putters.values().next().value!;
        this.#putters.delete(p);
        p.w.resolve(this.#accept(p.seg));
      }
      if (this.#getters.size > 0 && this.#available > 0) return this.#serve();
    }
    if (this.#eof !== null && this.#available === 0) {
      for (const g of [...this.#getters]) g.w.reject(new QueueClosed(this.#eof));
    }
    if (this.#shutDown && this.#available === 0) {
      for (const g of [...this.#getters]) g.w.reject(getAfterShutdown('get()', this.#immediate));
    }
    if (this.#pollers.size > 0 && (this.#available > 0 || this.#eof !== null)) {
      for (const p of [...this.#pollers]) p.resolve(true);
    }
    if (this.#unfinished === 0 && this.#joiners.size > 0) {
      for (const j of [...this.#joiners]) j.resolve();
    }
  }

  /**
   * Local puts come one item at a time: wake consumers at once when one is local or a
   * good batch has piled up, otherwise once per event-loop turn, so a remote consumer gets
   * one reply per batch rather than per item.
   */
  #serveSoon(): void {
    if (this.#getters.size === 0 && this.#pollers.size === 0) return;
    const first = this.#getters.values().next().value;
    if ((first && first.local) || this.#tail.count >= 64 || this.#tail.bytes >= 65536 || this.#pollers.size > 0) {
      this.#serve();
    } else if (!this.#serveQueued) {
      this.#serveQueued = true;
      setImmediate(() => this.#serveQueued && this.#serve());
    }
  }

  // -- remote methods (exposed; each receives the caller's CallContext first) --

  /** Add packed items; resolves with the number accepted. Bounded: waits for room. */
  put(ctx: CallContext, data: Buffer, count: number, request: PutRequest = {}): number | Promise<number> {
    if (this.#broken !== null) throw new QueueClosed(this.#broken);
    if (this.#shutDown) throw putAfterShutdown('put()');
    // The batch's frame is this channel's alone (the message holds no other bytes anyone
    // reads): its buffer is reused once the items are done (see FrameItems).
    const seg: Segment = { buf: data, pos: 0, end: data.length, count, frame: FrameItems.claim(data, count) };
    if (this.#hasRoom() && this.#putters.size === 0) {
      const n = this.#accept(seg);
      this.#serve();
      return n;
    }
    if (request.wait === false) throw new Full();
    return new Promise<number>((resolve, reject) => {
      const p: Putter = { seg, conn: ctx.connection, w: new Waiter(resolve, reject, () => this.#putters.delete(p)) };
      this.#putters.add(p);
      p.w.arm({ timeout: request.timeout, signal: ctx.signal, hold: ctx.keepAlive }, () => p.w.reject(putTimedOut('put()', request.timeout)), 'put()');
    });
  }

  /** Hand out up to `max` items (acknowledging `ack` first); waits for one when `wait`. */
  take(ctx: CallContext, request: TakeRequest): Packed | Promise<Packed> {
    if (request.ack) this.#ack(ctx.connection, request.ack);
    const budget = request.budget ?? DEFAULT_BUDGET;
    const max = Math.max(1, Math.floor(request.max));
    if (this.#available > 0 && this.#getters.size === 0) {
      if (ctx.connection !== 0) this.#hook(ctx);
      const packed = this.#handOut(ctx.connection, this.#take(max, budget));
      if (this.maxsize > 0) this.#serve();
      return packed;
    }
    if (this.#eof !== null && this.#available === 0) throw new QueueClosed(this.#eof);
    if (this.#shutDown && this.#available === 0) throw getAfterShutdown('get()', this.#immediate);
    if (!request.wait) return { data: Buffer.alloc(0), count: 0 };
    if (request.timeout === 0) throw getTimedOut(this.kind, 'get()', 0);
    if (ctx.connection !== 0) this.#hook(ctx);
    return new Promise<Packed>((resolve, reject) => {
      const g: Getter = { max, budget, conn: ctx.connection, local: ctx.connection === 0, w: new Waiter(resolve, reject, () => this.#getters.delete(g)) };
      this.#getters.add(g);
      g.w.arm({ timeout: request.timeout, signal: ctx.signal, hold: ctx.keepAlive }, () => g.w.reject(getTimedOut(this.kind, 'get()', request.timeout)), 'get()');
    });
  }

  /** `n` more delivered items were handed to user code. */
  ack(ctx: CallContext, n: number): void {
    this.#ack(ctx.connection, n);
  }

  /** Acknowledge `ack` items, then put the next `back` delivered items back at the front. */
  giveBack(ctx: CallContext, ack: number, back: number): void {
    this.#ack(ctx.connection, ack);
    this.#requeue(ctx.connection, back);
  }

  qsize(_ctx: CallContext): number {
    return this.size;
  }

  /** Mark up to `n` tasks done; returns how many were outstanding (the rest were too many). */
  taskDone(_ctx: CallContext, n: number): number {
    const applied = Math.min(n, this.#unfinished);
    this.#unfinished -= applied;
    if (this.#unfinished === 0) this.#serve();
    return applied;
  }

  join(ctx: CallContext): void | Promise<void> {
    if (this.#unfinished === 0) return;
    return new Promise<void>((resolve, reject) => {
      const w: Waiter<void> = new Waiter(resolve, reject, () => this.#joiners.delete(w));
      this.#joiners.add(w);
      w.arm({ signal: ctx.signal, hold: ctx.keepAlive }, noop, 'join()');
    });
  }

  /** True when an item is there (or the pipe hit EOF); waits up to `timeout` ms for one. */
  poll(ctx: CallContext, timeout?: number): boolean | Promise<boolean> {
    if (this.#available > 0 || this.#eof !== null) return true;
    if (timeout === 0) return false;
    return new Promise<boolean>((resolve, reject) => {
      const w: Waiter<boolean> = new Waiter(resolve, reject, () => this.#pollers.delete(w));
      this.#pollers.add(w);
      w.arm({ timeout: timeout ?? undefined, signal: ctx.signal, hold: ctx.keepAlive }, () => w.resolve(false), 'poll()');
    });
  }

  /**
   * Shut the queue down (Python 3.13's Queue.shutdown): puts fail with ShutDown from now on,
   * blocked putters at once; gets take what is queued, then fail with ShutDown. `immediate`:
   * drop what is queued now, each dropped item counting as done (join() returns once the
   * rest is done), and blocked getters fail at once. Idempotent; a later immediate call
   * still drops.
   */
  shutdown(_ctx: CallContext, immediate = false): void {
    this.#shutDown = true;
    if (immediate && !this.#immediate) {
      this.#immediate = true;
      this.#seal();
      const dropped = this.#count;
      this.#segs.clear();
      this.#count = 0;
      this.#finishDropped(dropped);
    }
    for (const p of [...this.#putters]) p.w.reject(putAfterShutdown('put()'));
    this.#serve();
  }

  /** `n` items were dropped by an immediate shutdown: Python calls task_done() for each. */
  #finishDropped(n: number): void {
    this.#unfinished = Math.max(0, this.#unfinished - n);
  }

  // -- local methods (the creating process) --

  /** Put one item from this process. Throws SerializationError, QueueClosed, Full. */
  putLocal(item: unknown, wait: boolean, options: WaiterOptions, what: string, hold?: (what: string) => () => void): Promise<void> {
    // A signal that fired before the call cancels it, as for a queue of another process.
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal, what));
    if (this.#broken !== null) return Promise.reject(new QueueClosed(this.#broken));
    if (this.#shutDown) return Promise.reject(putAfterShutdown(what));
    if (this.#hasRoom() && this.#putters.size === 0) {
      this.#tail.write(item, what);
      this.#unfinished++;
      this.#serveSoon();
      // A producer looping on `await put()` here only runs microtasks: without an
      // event-loop turn now and then, consumers in other processes would not even be
      // heard until it stops.
      if (++this.#burst >= LOCAL_BURST) {
        this.#burst = 0;
        return new Promise<void>((resolve) => setImmediate(resolve));
      }
      return RESOLVED;
    }
    const seg = packOne(item, what);
    if (!wait) return Promise.reject(new Full());
    return new Promise<void>((resolve, reject) => {
      const p: Putter = { seg, conn: 0, w: new Waiter(() => resolve(), reject, () => this.#putters.delete(p)) };
      this.#putters.add(p);
      p.w.arm({ timeout: options.timeout, signal: options.signal, hold }, () => p.w.reject(putTimedOut(what, options.timeout)), what);
    });
  }

  /**
   * The front item for this process, if one is there and no other get waits for it (they are
   * served in arrival order); NOTHING otherwise. Throws what decoding it throws (the item is
   * consumed all the same).
   */
  takeLocal(): unknown {
    if (this.#available === 0 || this.#getters.size > 0) return NOTHING;
    // Decode straight from the front segment: no batch, no buffer view.
    if (this.#count === 0) this.#seal();
    const seg = this.#segs.peek()!;
    const at = seg.pos;
    seg.pos += itemBytes(seg.buf, at);
    if (--seg.count === 0) this.#segs.shift();
    this.#count--;
    if (this.maxsize > 0) this.#serve();
    try {
      return readItem(seg.buf, at);
    } finally {
      seg.frame?.done(1);
    }
  }

  /** Get one item in this process. Rejects Empty (nowait or timed out; a pipe's timeout: TimeoutError), CancelledError, QueueClosed (EOF), ShutDown. */
  getLocal(wait: boolean, options: WaiterOptions, what: string, hold?: (what: string) => () => void): Promise<unknown> {
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal, what));
    const item = this.takeLocal();
    if (item !== NOTHING) return Promise.resolve(item);
    if (this.#eof !== null && this.#available === 0) return Promise.reject(new QueueClosed(this.#eof));
    if (this.#shutDown && this.#available === 0) return Promise.reject(getAfterShutdown(what, this.#immediate));
    if (!wait) return Promise.reject(new Empty());
    return new Promise<Packed>((resolve, reject) => {
      const g: Getter = { max: 1, budget: Infinity, conn: 0, local: true, w: new Waiter(resolve, reject, () => this.#getters.delete(g)) };
      this.#getters.add(g);
      g.w.arm({ timeout: options.timeout, signal: options.signal, hold }, () => g.w.reject(getTimedOut(this.kind, what, options.timeout)), what);
    }).then((batch) => readItem(batch.data as Buffer, 0));
  }

  // -- pipe states --

  /** No writer is left: consumers drain what is there, then get QueueClosed(`message`). */
  endOfFile(message: string): void {
    if (this.#eof !== null) return;
    this.#eof = message;
    this.#serve();
  }

  /** No reader is left: drop the items, and puts fail with QueueClosed(`message`). */
  breakReader(message: string): void {
    if (this.#broken !== null) return;
    this.#broken = message;
    this.#segs.clear();
    this.#count = 0;
    this.#tail.take();
    for (const p of [...this.#putters]) p.w.reject(new QueueClosed(message));
  }

  /** Forget everything (the queue was released). */
  dispose(): void {
    for (const unhook of this.#hooked.values()) unhook();
    this.#hooked.clear();
    this.breakReader('the queue was released');
  }
}

