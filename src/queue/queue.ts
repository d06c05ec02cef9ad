// Queue, JoinableQueue, SimpleQueue. Host side and proxy side.
//
// A queue lives in the process that created it: a `Channel` registered on that process's
// host (src/remote/host.ts). In that process the public object calls the Channel directly; in
// any other process it talks to it through a `RemoteChannel`, one per queue per process,
// shared by every object reviving that queue's handle there.
//
// Items are serialized once, when they are put (so a value that cannot cross fails at the
// call, and a later mutation does not change what was queued, as with Python's pickling),
// and travel as packed bytes: the host never deserializes user data, it only moves byte
// ranges. Packed item: u32le length, tag byte, payload (a float64 for numbers, UTF-8 for
// strings, v8.serialize for everything else).
//
// Data flow between processes:
//
//   producer process           host (creator) process            consumer process
//   put() -> PackWriter ------> Channel.put  [segments ...] ------> RemoteChannel buffer -> get()
//            one 'put' frame    serves waiting 'take's;      'take' batches (adaptive size,
//            per tick (buffered  tracks what each connection   acks piggybacked); un-taken
//            like Python's       holds but has not handed to   items go back when idle and
//            feeder thread)      user code ("in flight")       when the connection dies
//
// Delivery guarantee: an item counts as taken only when get() hands it to user code (the
// consumer acknowledges it, batched). Items a consumer had prefetched but not taken return to
// the front of the queue when its connection closes, so a killed consumer loses nothing.

import { isDeepStrictEqual } from 'node:util';
import { serialize } from 'node:v8';
import { CancelledError, Empty, Full, invalidArg, invalidRange, InvalidStateError, QueueClosed, SerializationError, TimeoutError } from '../errors.ts';
import { checkSignal, checkTimeout, deadlineAfter, timeLeft } from '../options.ts';
import { abortError, Waiter, type WaitOptions } from '../remote/waiter.ts';
import type { Handle } from '../protocol/index.ts';
import { registerFlusher } from '../runtime.ts';
import { encodeHandles, noteShareable, registerReviver, reviveHandles, toHandle, type Shareable } from '../remote/handle.ts';
import { decodeValue, Encoder, NeedsRevive, T_NUM } from '../remote/codec.ts';
import { DEFAULT_MAX_FRAME } from '../remote/link.ts';
import { Deque } from '../deque.ts';
import { defer, Host, HostClient, localHost, undefer, type CallContext } from '../remote/host.ts';

// ---------------------------------------------------------------------------------------
// Packed items
//
// item := u32le byteLength, value (src/remote/codec.ts: plain data written directly, anything
// else through v8.serialize, i.e. structured clone).

/** Largest packed item: one must fit in a frame with room for the message around it. */
const MAX_ITEM = DEFAULT_MAX_FRAME - 64 * 1024;

/** A run of packed items: `count` items in `buf[pos, end)`. `pos`/`count` advance as items leave. */
export interface Segment {
  buf: Buffer;
  pos: number;
  end: number;
  count: number;
}

/** Packed items handed over in one reply. */
export interface Batch {
  data: Buffer;
  count: number;
}

/** Bytes of the item starting at `pos` (header included). */
function itemBytes(buf: Buffer, pos: number): number {
  return 4 + buf.readUInt32LE(pos);
}

/** Decode the item starting at `pos`. */
export function readItem(buf: Buffer, pos: number): unknown {
  const value = decodeValue(buf, pos + 4, pos + 4 + buf.readUInt32LE(pos));
  return value instanceof NeedsRevive ? reviveHandles(value.value) : value;
}

/**
 * Appends packed items to a growing buffer. Bytes already handed out by `take()` are never
 * written again (growth allocates a new buffer), so a taken segment stays valid while it is
 * queued, in flight or being sent.
 */
export class PackWriter extends Encoder {
  #busy = false;
  #count = 0;
  #lastRel = 0; // where the last item written starts, relative to start

  /** @param capacity Smallest buffer to allocate: about the bytes one batch holds. */
  constructor(capacity = 4096) {
    super(capacity);
  }

  #tooBig(rel: number, what: string): void {
    const size = this.end - (this.start + rel);
    if (size <= MAX_ITEM) return;
    this.end = this.start + rel;
    throw new SerializationError(`${what}: the item takes ${size} bytes serialized, more than the ${MAX_ITEM}-byte limit of one message (64 MiB frames); send it in parts`, { argIndex: 0 });
  }

  /** Items written since the last take(). */
  get count(): number {
    return this.#count;
  }

  /** Bytes written since the last take(). */
  get bytes(): number {
    return this.end - this.start;
  }

  #v8(item: unknown, what: string): void {
    let body: Buffer;
    let handles = false;
    try {
      const encoded = encodeHandles(item);
      handles = encoded.handles;
      body = serialize(encoded.value);
    } catch (err) {
      throw new SerializationError(
        `${what}: the item cannot be sent to another process (${(err as Error).message}). ` +
          'Queue items cross by structured clone: plain data, Map, Set, Date, typed arrays, Buffers, Errors, or multiproc handles; not functions, symbols, sockets or class instances with private state.',
        { argIndex: 0, cause: err },
      );
    }
    this.v8(body, handles);
  }

  /** Write `item` in tree form, else in v8 form, after its header at `rel`; on failure rewind. */
  #item(item: unknown, rel: number, what: string): void {
    let ok = false;
    try {
      ok = this.tree(item);
    } catch (err) {
      // A getter threw while the item was read: the caller's error to see.
      this.end = this.start + rel;
      throw new SerializationError(`${what}: reading the item failed (${(err as Error).message})`, { argIndex: 0, cause: err });
    }
    if (ok) return;
    this.end = this.start + rel + 4;
    try {
      this.#v8(item, what);
    } catch (err) {
      this.end = this.start + rel;
      throw err;
    }
  }

  /**
   * Append one item. Throws SerializationError when it cannot cross a process boundary
   * (`what` names the call, for the message). Nothing is written then.
   */
  write(item: unknown, what: string): void {
    if (this.#busy) {
      // A getter of the item being written put() to this same queue: its bytes would land
      // inside the outer item's.
      throw new InvalidStateError(`${what} was called from a getter of an item that is being put on the same queue; put the inner item after the outer put() returns`);
    }
    if (typeof item === 'number') {
      // The common case (and the benchmark's), without the general path's bookkeeping.
      this.ensure(13);
      const at = this.end;
      this.#lastRel = at - this.start;
      this.buf.writeUInt32LE(9, at);
      this.buf[at + 4] = T_NUM;
      this.buf.writeDoubleLE(item, at + 5);
      this.end = at + 13;
      this.#count++;
      return;
    }
    // Offsets relative to start survive ensure() moving the run to a bigger buffer.
    const rel = this.end - this.start;
    this.ensure(4);
    this.end += 4;
    this.#busy = true;
    try {
      this.#item(item, rel, what);
    } finally {
      this.#busy = false;
    }
    this.#tooBig(rel, what);
    this.#lastRel = rel;
    const at = this.start + rel;
    this.buf.writeUInt32LE(this.end - at - 4, at);
    this.#count++;
  }

  /**
   * The items written since the last take(), as a segment; the writer starts a new run.
   * `exceptLast`: leave the last item written in the writer (it starts the next run).
   */
  take(exceptLast = false): Segment {
    const end = exceptLast ? this.start + this.#lastRel : this.end;
    const count = exceptLast ? this.#count - 1 : this.#count;
    const seg: Segment = { buf: this.buf, pos: this.start, end, count };
    this.start = end;
    this.#count -= count;
    this.#lastRel = 0;
    return seg;
  }
}

/** Pack one item on its own. Throws SerializationError. */
function packOne(item: unknown, what: string): Segment {
  const w = new PackWriter(64);
  w.write(item, what);
  return w.take();
}

/** Drop `n` items from the front of `seg`; returns the bytes they occupied. */
function advance(seg: Segment, n: number): void {
  let p = seg.pos;
  for (let i = 0; i < n; i++) p += itemBytes(seg.buf, p);
  seg.pos = p;
  seg.count -= n;
}

// Deque moved to src/deque.ts (the pool engine uses it too); re-exported for importers of this module.
export { Deque };

/** Take up to `n` items (at least one, at most ~`budget` bytes) from the front of `segs`. */
function takeFrom(segs: Deque<Segment>, n: number, budget: number): Batch {
  const parts: Array<[Buffer, number, number]> = [];
  let taken = 0;
  let bytes = 0;
  while (taken < n) {
    const seg = segs.peek();
    if (!seg) break;
    const start = seg.pos;
    let p = seg.pos;
    let k = 0;
    while (k < seg.count && taken + k < n) {
      const size = itemBytes(seg.buf, p);
      if (bytes + size > budget && taken + k > 0) break;
      p += size;
      bytes += size;
      k++;
    }
    if (k === 0) break;
    parts.push([seg.buf, start, p]);
    seg.pos = p;
    seg.count -= k;
    taken += k;
    if (seg.count === 0) segs.shift();
    if (bytes >= budget) break;
  }
  if (parts.length === 1) return { data: parts[0]![0].subarray(parts[0]![1], parts[0]![2]), count: taken };
  const data = Buffer.allocUnsafe(bytes);
  let o = 0;
  for (const [buf, s, e] of parts) {
    buf.copy(data, o, s, e);
    o += e - s;
  }
  return { data, count: taken };
}

// The option checks live in src/options.ts; re-exported for the modules importing them from here.
export { checkSignal, checkTimeout };

const RESOLVED = Promise.resolve();
const noop = (): void => {};

// ---------------------------------------------------------------------------------------
// Host side: the channel

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

type Getter = { max: number; budget: number; conn: number; local: boolean; w: Waiter<Batch> };
type Putter = { seg: Segment; conn: number; w: Waiter<number> };

const DEFAULT_BUDGET = 1024 * 1024;
/** Local puts between two event-loop turns (see putLocal). */
const LOCAL_BURST = 2048;
const CHANNEL_METHODS = ['put', 'take', 'ack', 'giveBack', 'qsize', 'taskDone', 'join', 'poll'] as const;

/**
 * The queue itself, in the process that created it. Stores packed items; serves waiting
 * consumers (local or remote) in arrival order, each a fair share; tracks what each remote
 * consumer holds but has not taken, and requeues it at the front when that consumer's
 * connection closes. Also one direction of a Pipe (`eof`/`broken` are the pipe's states).
 */
export class Channel {
  readonly maxsize: number;
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

  constructor(maxsize: number) {
    this.maxsize = maxsize;
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

  #hook(ctx: CallContext): void {
    if (ctx.connection === 0 || this.#hooked.has(ctx.connection)) return;
    const conn = ctx.connection;
    this.#hooked.set(conn, ctx.onClose(() => this.#connectionClosed(conn)));
  }

  #record(conn: number, batch: Batch): void {
    let f = this.#inflight.get(conn);
    if (!f) this.#inflight.set(conn, (f = { segs: new Deque(), count: 0 }));
    f.segs.push({ buf: batch.data, pos: 0, end: batch.data.length, count: batch.count });
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
      const k = Math.min(n, seg.count);
      advance(seg, k);
      if (seg.count === 0) f.segs.shift();
      n -= k;
    }
    if (this.maxsize > 0) this.#serve();
  }

  /** Put back `n` in-flight items of `conn` (the oldest first after the acked ones) at the front. */
  #requeue(conn: number, n: number): void {
    const f = this.#inflight.get(conn);
    if (!f || n <= 0) return;
    n = Math.min(n, f.count);
    const back = takeFrom(f.segs, n, Infinity);
    f.count -= back.count;
    this.#inflightCount -= back.count;
    if (back.count > 0) {
      this.#segs.unshift({ buf: back.data, pos: 0, end: back.data.length, count: back.count });
      this.#count += back.count;
    }
    this.#serve();
  }

  #connectionClosed(conn: number): void {
    this.#hooked.delete(conn);
    const f = this.#inflight.get(conn);
    if (f) {
      this.#requeue(conn, f.count);
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
      const batch = this.#take(Math.min(g.max, share), g.budget);
      if (!g.local) this.#record(g.conn, batch);
      g.w.resolve(batch);
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
    const seg: Segment = { buf: data, pos: 0, end: data.length, count };
    if (this.#hasRoom() && this.#putters.size === 0) {
      const n = this.#accept(seg);
      this.#serve();
      return n;
    }
    if (request.wait === false) throw new Full();
    return new Promise<number>((resolve, reject) => {
      const p: Putter = { seg, conn: ctx.connection, w: new Waiter(resolve, reject, () => this.#putters.delete(p)) };
      this.#putters.add(p);
      p.w.arm({ timeout: request.timeout, signal: ctx.signal, hold: ctx.keepAlive }, () => p.w.reject(new TimeoutError(`put() timed out after ${request.timeout} ms: the queue stayed full`, { timeout: request.timeout })), 'put()');
    });
  }

  /** Hand out up to `max` items (acknowledging `ack` first); waits for one when `wait`. */
  take(ctx: CallContext, request: TakeRequest): Batch | Promise<Batch> {
    if (request.ack) this.#ack(ctx.connection, request.ack);
    const budget = request.budget ?? DEFAULT_BUDGET;
    const max = Math.max(1, Math.floor(request.max));
    if (this.#available > 0 && this.#getters.size === 0) {
      const batch = this.#take(max, budget);
      if (ctx.connection !== 0) {
        this.#hook(ctx);
        this.#record(ctx.connection, batch);
      }
      if (this.maxsize > 0) this.#serve();
      return batch;
    }
    if (this.#eof !== null && this.#available === 0) throw new QueueClosed(this.#eof);
    if (!request.wait) return { data: Buffer.alloc(0), count: 0 };
    if (request.timeout === 0) throw new TimeoutError('get() timed out after 0 ms: the queue stayed empty', { timeout: 0 });
    if (ctx.connection !== 0) this.#hook(ctx);
    return new Promise<Batch>((resolve, reject) => {
      const g: Getter = { max, budget, conn: ctx.connection, local: ctx.connection === 0, w: new Waiter(resolve, reject, () => this.#getters.delete(g)) };
      this.#getters.add(g);
      g.w.arm({ timeout: request.timeout, signal: ctx.signal, hold: ctx.keepAlive }, () => g.w.reject(new TimeoutError(`get() timed out after ${request.timeout} ms: the queue stayed empty`, { timeout: request.timeout })), 'get()');
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

  // -- local methods (the creating process) --

  /** Put one item from this process. Throws SerializationError, QueueClosed, Full. */
  putLocal(item: unknown, wait: boolean, options: WaitOptions, what: string, hold?: () => () => void): Promise<void> {
    if (this.#broken !== null) return Promise.reject(new QueueClosed(this.#broken));
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
      p.w.arm({ timeout: options.timeout, signal: options.signal, hold }, () => p.w.reject(new TimeoutError(`${what} timed out after ${options.timeout} ms: the queue stayed full`, { timeout: options.timeout })), what);
    });
  }

  /** Get one item in this process. Rejects Empty, TimeoutError, CancelledError, QueueClosed (EOF). */
  getLocal(wait: boolean, options: WaitOptions, what: string, hold?: () => () => void): Promise<unknown> {
    if (this.#available > 0 && this.#getters.size === 0) {
      // Decode straight from the front segment: no batch, no buffer view.
      if (this.#count === 0) this.#seal();
      const seg = this.#segs.peek()!;
      const at = seg.pos;
      seg.pos += itemBytes(seg.buf, at);
      if (--seg.count === 0) this.#segs.shift();
      this.#count--;
      if (this.maxsize > 0) this.#serve();
      return Promise.resolve(readItem(seg.buf, at));
    }
    if (this.#eof !== null && this.#available === 0) return Promise.reject(new QueueClosed(this.#eof));
    if (!wait) return Promise.reject(new Empty());
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal, what));
    return new Promise<Batch>((resolve, reject) => {
      const g: Getter = { max: 1, budget: Infinity, conn: 0, local: true, w: new Waiter(resolve, reject, () => this.#getters.delete(g)) };
      this.#getters.add(g);
      g.w.arm({ timeout: options.timeout, signal: options.signal, hold }, () => g.w.reject(new TimeoutError(`${what} timed out after ${options.timeout} ms: the queue stayed empty`, { timeout: options.timeout })), what);
    }).then((batch) => readItem(batch.data, 0));
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

// ---------------------------------------------------------------------------------------
// Proxy side: one RemoteChannel per hosted channel per process

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
const unflushed = new Set<RemoteChannel>();

registerFlusher(async () => {
  await Promise.all([...unflushed].map((c) => c.flush().catch(noop)));
});

/**
 * This process's side of a channel hosted elsewhere: buffers puts into one frame per tick,
 * prefetches gets in adaptive batches, acknowledges what user code took.
 */
export class RemoteChannel {
  readonly handle: Handle;
  readonly client: HostClient;
  readonly obj: string;
  readonly maxsize: number;
  readonly noun: string;
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
  readonly #wbuf = new PackWriter(2 * FLUSH_BYTES);
  #flushQueued = false;
  #outstanding = 0;
  readonly #inFlightPuts = new Set<Promise<unknown>>();
  #drainWaiters: Array<() => void> = [];
  #sticky: Error | null = null;
  #stickyReported = false;
  #notes = 0;
  #confirmed = 0;
  #confirmTimer: NodeTimeout | null = null;
  #tdCount = 0;
  #tdWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  private constructor(handle: Handle, noun: string) {
    this.handle = handle;
    this.client = HostClient.for(handle.address, handle.authkey, handle.meta?.hostPid as number | undefined);
    this.obj = handle.id;
    this.maxsize = (handle.meta?.maxsize as number | undefined) ?? 0;
    this.noun = noun;
    if (this.maxsize > 0) this.#batch = Math.min(this.#batch, this.maxsize);
  }

  /** The shared RemoteChannel of `handle` in this process. */
  static for(handle: Handle, noun: string): RemoteChannel {
    const key = `${typeof handle.address === 'string' ? handle.address : `${handle.address.host}:${handle.address.port}`}|${handle.id}`;
    let channel = channels.get(key)?.deref();
    if (!channel || channel.client.closed) {
      channel = new RemoteChannel(handle, noun);
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
    const batch = value as Batch;
    if (!batch || batch.count <= 0) return;
    if (this.#rcount === 0) {
      this.#batchStart = performance.now();
      this.#batchItems = 0;
    }
    this.#rbuf.push({ buf: batch.data, pos: 0, end: batch.data.length, count: batch.count });
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
      unflushed.add(this);
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
    return readItem(seg.buf, at);
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
   * A one-way message (ack, giveBack). flush() later confirms with a round trip that the
   * host has processed it, so a process that exits right after cannot leave items it took
   * unacknowledged (they would be delivered again).
   */
  #note(method: string, args: unknown[]): void {
    this.client.notify(this.obj, method, args);
    this.#notes++;
    unflushed.add(this);
    // Confirm within a second even if no other call does, so this channel leaves
    // `unflushed` (which holds it strongly) in a process that stops using it.
    if (!this.#confirmTimer) {
      this.#confirmTimer = setTimeout(() => {
        this.#confirmTimer = null;
        if (this.#notes > this.#confirmed) void this.#sync();
      }, 1000);
      this.#confirmTimer.unref();
    }
  }

  /** A round trip: once its reply is back, every earlier one-way note was handled. */
  async #sync(): Promise<void> {
    const upTo = this.#notes;
    await this.client.call(this.obj, 'qsize', [], { lost: this.lost('flush()') }).catch(noop);
    this.#confirm(upTo);
  }

  #confirm(upTo: number): void {
    if (upTo > this.#confirmed) this.#confirmed = upTo;
    this.#maybeClean();
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
    const upTo = this.#notes;
    const call = this.client.call(this.obj, 'take', [request], { signal, lost: this.lost(what), late: this.#accept }).then((value) => {
      this.#accept(value);
      this.#confirm(upTo);
      return (value as Batch).count;
    });
    const settled = call.then(noop, noop).then(() => {
      if (this.#fetch === settled) this.#fetch = null;
    });
    this.#fetch = settled;
    return call;
  }

  get(wait: boolean, options: WaitOptions, what: string): Promise<unknown> {
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

  async #fetchAndGet(wait: boolean, options: WaitOptions, what: string): Promise<unknown> {
    this.flushSoon(); // our own puts reach the host before our request for items
    const deadline = deadlineAfter(options.timeout);
    for (;;) {
      if (this.#rcount > 0) return this.#takeOne();
      if (this.#fetch) {
        // Another request of this process is out (a read-ahead or a concurrent get): its
        // items land in the shared buffer. Wait for it, within our own deadline and signal.
        await raceDeadline(this.#fetch, deadline, options.signal, what);
        continue;
      }
      const remaining = deadline - performance.now();
      if (!wait || remaining <= 0) {
        const n = await this.#startFetch(false, undefined, options.signal, what);
        if (n === 0 && this.#rcount === 0) {
          if (!wait) throw new Empty();
          throw new TimeoutError(`${what} timed out after ${options.timeout} ms: the queue stayed empty`, { timeout: options.timeout });
        }
        continue;
      }
      await this.#startFetch(true, remaining === Infinity ? undefined : Math.ceil(remaining), options.signal, what);
    }
  }

  poll(timeout: number | undefined, what: string): Promise<boolean> {
    if (this.#rcount > 0) return Promise.resolve(true);
    this.flushSoon();
    return this.client.call(this.obj, 'poll', [timeout], { lost: this.lost(what) }) as Promise<boolean>;
  }

  // -- producer --

  /** Buffer one item (unbounded) or put it now (bounded: waits for room at the host). */
  #reportSticky(): Promise<never> {
    this.#stickyReported = true;
    return Promise.reject(this.#sticky);
  }

  put(item: unknown, wait: boolean, options: WaitOptions, what: string): Promise<void> {
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
      return this.client.call(this.obj, 'put', [seg.buf.subarray(seg.pos, seg.end), 1, request], { signal: options.signal, lost: this.lost(what) }).then(noop);
    }
    const before = this.#wbuf.bytes;
    try {
      this.#wbuf.write(item, what);
    } catch (err) {
      return Promise.reject(err);
    }
    unflushed.add(this);
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

  taskDone(): Promise<void> {
    if (this.#sticky) return this.#reportSticky();
    return new Promise<void>((resolve, reject) => {
      this.#tdCount++;
      this.#tdWaiters.push({ resolve, reject });
      unflushed.add(this);
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
    const call = this.client.call(this.obj, 'put', [seg.buf.subarray(seg.pos, seg.end), seg.count, {}], { lost: this.lost('queue.put()') });
    this.#track(
      call,
      () => {
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
        this.#maybeClean();
      },
      (err: Error) => {
        this.#inFlightPuts.delete(call);
        done();
        this.#maybeClean();
        if (items > 0 && !this.#sticky) {
          // These puts already resolved (they were buffered): the next put/close/flush
          // rejects with the error; if nothing reports it soon, a process warning does, so
          // the loss is never silent.
          this.#sticky = err;
          setImmediate(() => {
            if (!this.#stickyReported) process.emitWarning(`multiproc: ${items} item(s) put on a ${this.noun} could not be delivered: ${err.message}`, 'MultiprocWarning');
          });
        }
        const waiters = this.#drainWaiters;
        this.#drainWaiters = [];
        for (const w of waiters) w();
      },
    );
  }

  #maybeClean(): void {
    if (this.#inFlightPuts.size === 0 && this.#wbuf.count === 0 && this.#tdCount === 0 && this.#handed === 0 && this.#notes === this.#confirmed) unflushed.delete(this);
  }

  /**
   * Send what is buffered (puts, taskDone()s, acknowledgements) and wait until the host has
   * processed it. Rejects with a delivery failure of buffered puts.
   */
  async flush(): Promise<void> {
    this.flushSoon();
    while (this.#inFlightPuts.size > 0) await Promise.allSettled([...this.#inFlightPuts]);
    if (this.#notes > this.#confirmed) await this.#sync();
    this.#maybeClean();
    if (this.#sticky) return this.#reportSticky();
  }

  /** A call that must come after our buffered puts (qsize, join, …). */
  call(method: string, args: unknown[], options: WaitOptions & { late?: (v: unknown) => void }, what: string): Promise<unknown> {
    this.flushSoon();
    return this.client.call(this.obj, method, args, { signal: options.signal, lost: this.lost(what), late: options.late });
  }

  /** The last face of this channel in this process is gone. */
  dispose(): void {
    this.release();
    if (this.#idle) clearTimeout(this.#idle);
  }
}

function tooManyTaskDone(): InvalidStateError {
  return new InvalidStateError('taskDone() called too many times: more calls than items put (Python: ValueError: task_done() called too many times)');
}

/** Await `promise`, but reject at `deadline` (from deadlineAfter: TimeoutError) or when `signal` fires. */
function raceDeadline(promise: Promise<void>, deadline: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  if (deadline === Infinity && !signal) return promise;
  return new Promise<void>((resolve, reject) => {
    const w = new Waiter<void>(resolve, reject, noop);
    const timeout = timeLeft(deadline);
    w.arm({ timeout, signal }, () => w.reject(new TimeoutError(`${what} timed out: nothing arrived in time`, { timeout })), what);
    promise.then(() => w.resolve());
  });
}

// ---------------------------------------------------------------------------------------
// Backends: what a public object talks to

/** The operations a Queue or a pipe Connection needs, local or remote. */
export interface ChannelBackend {
  readonly maxsize: number;
  put(item: unknown, wait: boolean, options: WaitOptions, what: string): Promise<void>;
  get(wait: boolean, options: WaitOptions, what: string): Promise<unknown>;
  poll(timeout: number | undefined, what: string): Promise<boolean>;
  qsize(): Promise<number>;
  taskDone(): Promise<void>;
  join(options: WaitOptions): Promise<void>;
  /** Buffered puts reach the host. */
  flush(): Promise<void>;
  /** Give back prefetched items (a `for await` ended). */
  release(): void;
  /** The handle to send to another process (takes a lease). */
  handle(): Handle;
  /** Drop this object's reference now (pipe close); GC does it otherwise. */
  drop(): void;
}

/** In the creating process: direct calls, no socket. */
export class LocalBackend implements ChannelBackend {
  readonly #host: Host;
  readonly #id: string;
  readonly #in: Channel | null;
  readonly #out: Channel | null;
  /** Keeps this process alive while one of its own get()/put() calls waits (CallContext.keepAlive). */
  readonly #hold: () => () => void;
  #drop: () => void = noop;

  constructor(host: Host, id: string, inbox: Channel | null, outbox: Channel | null) {
    this.#host = host;
    this.#id = id;
    this.#in = inbox;
    this.#out = outbox;
    this.#hold = host.localContext().keepAlive;
  }

  /** Hold a local reference for as long as `owner` lives. */
  bind(owner: object, claim: boolean): void {
    this.#drop = this.#host.bind(owner, this.#id, claim);
  }

  get maxsize(): number {
    return (this.#out ?? this.#in)!.maxsize;
  }

  put(item: unknown, wait: boolean, options: WaitOptions, what: string): Promise<void> {
    return this.#out!.putLocal(item, wait, options, what, this.#hold);
  }

  get(wait: boolean, options: WaitOptions, what: string): Promise<unknown> {
    return this.#in!.getLocal(wait, options, what, this.#hold);
  }

  poll(timeout: number | undefined, _what: string): Promise<boolean> {
    return Promise.resolve(this.#in!.poll(this.#host.localContext(), timeout));
  }

  qsize(): Promise<number> {
    return Promise.resolve(this.#in!.size);
  }

  taskDone(): Promise<void> {
    return this.#in!.taskDone(this.#host.localContext(), 1) === 1 ? RESOLVED : Promise.reject(tooManyTaskDone());
  }

  join(options: WaitOptions): Promise<void> {
    return Promise.resolve(this.#in!.join(this.#host.localContext(options.signal)));
  }

  flush(): Promise<void> {
    return RESOLVED;
  }

  release(): void {}

  handle(): Handle {
    return this.#host.handle(this.#id);
  }

  drop(): void {
    this.#drop();
  }
}

const faceFinalizer = new FinalizationRegistry<{ channel: RemoteChannel; held: { yes: boolean } }>(({ channel, held }) => {
  if (held.yes) dropRemote(channel, held);
});

function dropRemote(channel: RemoteChannel, held: { yes: boolean }): void {
  held.yes = false;
  channel.client.decref(channel.obj);
  if (--channel.faces === 0) channel.dispose();
}

/** In any other process: through the process's RemoteChannel for that handle. */
export class RemoteBackend implements ChannelBackend {
  readonly #channel: RemoteChannel;
  readonly #held = { yes: false };

  constructor(channel: RemoteChannel) {
    this.#channel = channel;
  }

  /** Take this object's reference (claiming the handle's lease) until `owner` is collected. */
  bind(owner: object): void {
    const channel = this.#channel;
    channel.faces++;
    channel.client.incref(channel.obj, true);
    this.#held.yes = true;
    faceFinalizer.register(owner, { channel, held: this.#held }, this.#held);
  }

  get maxsize(): number {
    return this.#channel.maxsize;
  }

  put(item: unknown, wait: boolean, options: WaitOptions, what: string): Promise<void> {
    return this.#channel.put(item, wait, options, what);
  }

  get(wait: boolean, options: WaitOptions, what: string): Promise<unknown> {
    return this.#channel.get(wait, options, what);
  }

  poll(timeout: number | undefined, what: string): Promise<boolean> {
    return this.#channel.poll(timeout, what);
  }

  qsize(): Promise<number> {
    return this.#channel.call('qsize', [], {}, 'qsize()') as Promise<number>;
  }

  taskDone(): Promise<void> {
    return this.#channel.taskDone();
  }

  join(options: WaitOptions): Promise<void> {
    return this.#channel.call('join', [], options, 'join()').then(noop);
  }

  flush(): Promise<void> {
    return this.#channel.flush();
  }

  release(): void {
    this.#channel.release();
  }

  handle(): Handle {
    // The object must outlive the trip to the next process even if this one drops it.
    this.#channel.client.lease(this.#channel.obj);
    return this.#channel.handle;
  }

  drop(): void {
    if (!this.#held.yes) return;
    faceFinalizer.unregister(this.#held);
    dropRemote(this.#channel, this.#held);
  }
}

/**
 * Build the backend for a revived handle: direct when the handle points at a host of this
 * very process and the object is still there, through a socket otherwise.
 */
export function backendFor(handle: Handle, owner: object, noun: string, channelsOf: (target: object) => { inbox: Channel | null; outbox: Channel | null } | null): ChannelBackend {
  const host = Host.find(handle.address);
  const target = host?.lookup(handle.id);
  const local = target ? channelsOf(target) : null;
  if (host && local) {
    const b = new LocalBackend(host, handle.id, local.inbox, local.outbox);
    b.bind(owner, true);
    return b;
  }
  const b = new RemoteBackend(RemoteChannel.for(handle, noun));
  b.bind(owner);
  return b;
}

// ---------------------------------------------------------------------------------------
// Public classes

/** Options of `put()`. */
export interface PutOptions {
  /** Wait for room at most this long (ms), then reject with TimeoutError. @default no limit */
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
  /** Wait for an item at most this long (ms), then reject with TimeoutError. @default no limit */
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

/**
 * Set by a reviver just before `new Class()`: the constructor then builds its backend from
 * the handle instead of creating a queue (the public constructor signature stays clean).
 */
let adoptingOwner: ((owner: object) => ChannelBackend) | null = null;
/** Reads a queue's backend (for JoinableQueue); assigned in Queue's static block. */
let backendOf: (q: Queue<any>) => ChannelBackend;

function sentinelMatcher(sentinel: unknown): (v: unknown) => boolean {
  if (typeof sentinel === 'object' && sentinel !== null) return (v) => Object.is(v, sentinel) || isDeepStrictEqual(v, sentinel);
  return (v) => Object.is(v, sentinel);
}

const NO_WAIT_OPTIONS: WaitOptions = Object.freeze({});

/** Validate put/get options into the backend's form (no allocation for the common call without options). */
function parseWait(options: PutOptions | GetOptions | undefined, what: string): WaitOptions {
  if (options === undefined) return NO_WAIT_OPTIONS;
  if (typeof options !== 'object' || options === null) throw invalidArg(`${what}: options must be an object like { timeout: 1000 }`);
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
 * calls reject with QueueClosed.
 * Rejects with: Empty, Full (nowait forms), TimeoutError, CancelledError, QueueClosed,
 * SerializationError (an item that cannot cross).
 *
 * @example
 * const q = new Queue<number>();
 * const p = new Process({ target: async (q: Queue<number>) => { for (let i = 0; i < 3; i++) await q.put(i); await q.put(-1); }, args: [q] });
 * p.start();
 * for await (const n of q.until(-1)) console.log(n); // 0 1 2
 * await p.join();
 */
export class Queue<T = unknown> implements Shareable {
  readonly #b: ChannelBackend;
  #closed = false;

  /**
   * @param maxsize Most items the queue holds; `put` waits while it is full. 0 or less: no
   *   limit. Items prefetched by a consumer and not yet taken still count.
   * @default maxsize 0
   * Throws TypeError / RangeError (MP_INVALID_ARG) for a maxsize that is not an integer.
   */
  constructor(maxsize = 0, options: QueueOptions = {}) {
    if (adoptingOwner) {
      const make = adoptingOwner;
      adoptingOwner = null;
      this.#b = make(this);
    } else {
      if (typeof maxsize !== 'number' || Number.isNaN(maxsize)) throw invalidArg(`new Queue(maxsize): maxsize must be a number, got ${typeof maxsize}`);
      if (maxsize !== Infinity && !Number.isInteger(maxsize)) throw invalidRange(`new Queue(maxsize): maxsize must be an integer, got ${maxsize}`);
      const size = maxsize === Infinity || maxsize < 0 ? 0 : maxsize;
      const host = options?.host ?? localHost();
      const channel = new Channel(size);
      const kind = kindOf(new.target);
      const id = host.register(channel, { kind, exposed: CHANNEL_METHODS, context: true, meta: { maxsize: size }, onRelease: () => channel.dispose() });
      const b = new LocalBackend(host, id, channel, channel);
      b.bind(this, false);
      this.#b = b;
    }
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
   * Rejects with QueueClosed (after close(), or the host exited), TimeoutError, CancelledError,
   * Full (`block: false`), SerializationError.
   */
  put(item: T, options?: PutOptions): Promise<void> {
    try {
      if (this.#closed) throw new QueueClosed('put() on a closed queue: close() was called on this queue object (Python: ValueError: Queue is closed)');
      return this.#b.put(item, options?.block !== false, parseWait(options, 'queue.put()'), 'queue.put()');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Put without waiting for room. Python: Queue.put_nowait(). Rejects with Full, QueueClosed. */
  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }

  /**
   * Remove and return the item at the front, waiting for one.
   * Python: Queue.get(block, timeout).
   * Rejects with TimeoutError, CancelledError, Empty (`block: false`), QueueClosed (the host exited).
   */
  get(options?: GetOptions): Promise<T> {
    try {
      return this.#b.get(options?.block !== false, parseWait(options, 'queue.get()'), 'queue.get()') as Promise<T>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Get without waiting. Python: Queue.get_nowait(). Rejects with Empty. */
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
   * Iterate items until `sentinel` arrives (compared with Object.is, and deep equality for
   * objects such as `{ done: true }`). Leaving the loop early gives items this process had
   * prefetched back to the queue.
   * Python: `for item in iter(q.get, sentinel)`.
   * Rejects with QueueClosed when the host exits.
   *
   * @example
   * for await (const job of queue.until(null)) await handle(job);
   */
  async *until<S extends T>(sentinel: S, options?: Omit<GetOptions, 'block'>): AsyncGenerator<Exclude<T, S>, void, undefined> {
    const matches = sentinelMatcher(sentinel);
    try {
      for (;;) {
        const item = await this.get(options);
        if (matches(item)) return;
        // The sentinel is the only value excluded from T, and it never gets here.
        yield item as Exclude<T, S>;
      }
    } finally {
      this.#b.release();
    }
  }

  static {
    backendOf = (q) => q.#b;
  }

  /** The handle another process revives into a working Queue. */
  [toHandle](): Handle {
    return this.#b.handle();
  }

  get [Symbol.toStringTag](): string {
    return 'Queue';
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
    return backendOf(this).taskDone();
  }

  /**
   * Wait until every item put has been marked with taskDone(). Python: JoinableQueue.join().
   * Rejects with CancelledError (`signal`), QueueClosed (host exited).
   */
  join(options: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      return backendOf(this).join({ signal: checkSignal(options?.signal, 'join()') });
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
  constructor(options: QueueOptions = {}) {
    super(0, options);
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

function reviveQueue(Cls: new () => Queue): (handle: Handle) => Queue {
  return (handle) => {
    adoptingOwner = (owner) => backendFor(handle, owner, 'queue', (target) => (target instanceof Channel ? { inbox: target, outbox: target } : null));
    try {
      return new Cls();
    } finally {
      adoptingOwner = null;
    }
  };
}

registerReviver(KIND_QUEUE, reviveQueue(Queue));
registerReviver(KIND_JOINABLE, reviveQueue(JoinableQueue));
registerReviver(KIND_SIMPLE, reviveQueue(SimpleQueue as unknown as new () => Queue));
