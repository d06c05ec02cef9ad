// Queue items as bytes. Runs on every side: producers pack, the host moves byte ranges without
// decoding them, consumers unpack.
//
// Items are serialized once, when they are put (so a value that cannot cross fails at the
// call, and a later mutation does not change what was queued, as with Python's pickling).
// item := u32le byteLength, value (src/remote/codec.ts: plain data written directly, anything
// else through v8.serialize, i.e. structured clone). A Segment is a run of items in one
// buffer; a take hands a run over as Packed bytes. Items that arrived in a received frame
// (a put batch at the host, a take reply at a consumer) carry its FrameItems: the frame's
// buffer is reused for a later frame once every item of it is done.

import { serialize } from 'node:v8';
import type { Deque } from '../deque.ts';
import { InvalidStateError, SerializationError } from '../errors.ts';
import { unsendable } from '../protocol/index.ts';
import { ByteChain, decodeValue, Encoder, NeedsRevive, putU32, T_NUM } from '../remote/codec.ts';
import { encodeHandles, reviveHandlesSoon } from '../remote/handle.ts';
import { largeBuffer, recycle } from '../remote/buffers.ts';
import { claimFrame, type FrameLease } from '../remote/frame.ts';
import { DEFAULT_MAX_FRAME } from '../remote/link.ts';

/** Largest packed item: one must fit in a frame with room for the message around it. */
export const MAX_ITEM = DEFAULT_MAX_FRAME - 64 * 1024;

/** A run of packed items: `count` items in `buf[pos, end)`. `pos`/`count` advance as items leave. */
export interface Segment {
  buf: Buffer;
  pos: number;
  end: number;
  count: number;
  /** The received frame the items lie in, when its buffer is to be reused once they are done. */
  frame: FrameItems | null;
}

/**
 * The items of one received frame (a put batch at the host, a take reply at a consumer) that
 * are still to be read: the frame's buffer is reused (src/remote/frame.ts) once every one is
 * done, i.e. decoded in this process, or acknowledged by the process that took it (which
 * received the whole reply holding it, so no write of its bytes is pending either). Items
 * dropped (a queue shut down, a pipe end closed) are never done: their frame is left to the
 * garbage collector, as is one whose items left in a way nobody tracks (escape()). A peer that
 * acknowledges items before it received them can garble only what is being sent to itself:
 * the frame is reused once every item of it is acknowledged, by whichever consumers took them.
 */
export class FrameItems {
  #left: number;
  #lease: FrameLease | null;

  constructor(lease: FrameLease, count: number) {
    this.#lease = lease;
    this.#left = count;
  }

  /** The frame of `data` (a queue's put batch or take reply of `count` items) if it can be reused, else null. */
  static claim(data: Buffer, count: number): FrameItems | null {
    const lease = claimFrame(data);
    return lease === null ? null : new FrameItems(lease, count);
  }

  /** `n` of the items were read, or acknowledged by the process that took them. */
  done(n: number): void {
    this.#left -= n;
    if (this.#left <= 0 && this.#lease !== null) {
      this.#lease.release();
      this.#lease = null;
    }
  }

  /** Some of the items were handed over with no account of when they are read: never reuse the buffer. */
  escape(): void {
    this.#lease = null;
  }
}

/**
 * Packed items handed over in one reply (a take's result). The host answers a remote take
 * with a ByteChain; the taker decodes it as one Buffer.
 */
export interface Packed {
  data: Buffer | ByteChain;
  count: number;
}

/** What ChannelOps.getNow() returns when no item is ready (an item may be any value, undefined too). */
export const NOTHING: unique symbol = Symbol('multiproc.nothing');

/** Bytes of the item starting at `pos` (header included). */
export function itemBytes(buf: Buffer, pos: number): number {
  return 4 + buf.readUInt32LE(pos);
}

/**
 * Decode the item starting at `pos`. An item holding handles of a kind whose reviver this
 * process has not loaded yet (a manager proxy sent through a queue to a child that never
 * saw one) comes back as a promise, resolved once the reviver's module is loaded.
 */
export function readItem(buf: Buffer, pos: number): unknown {
  const value = decodeValue(buf, pos + 4, pos + 4 + buf.readUInt32LE(pos));
  return value instanceof NeedsRevive ? reviveHandlesSoon(value.value) : value;
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
  /** Recycling writers: buffers with segments handed out, and how many of those are not settled. */
  readonly #lent: Map<Buffer, number> | null;

  /**
   * @param capacity Smallest buffer to allocate: about the bytes one batch holds.
   * @param recycle The owner calls settled() for every segment take() returns, once nothing
   *   reads it any more; a buffer all of whose segments settled goes back to the process's
   *   spare large buffers (src/remote/buffers.ts), where the next runs take theirs. A producer
   *   streaming ~1 KB items then writes a handful of buffers over and over, as many as its
   *   batches in flight, instead of a fresh one per batch (fresh memory costs page faults
   *   and, as external memory, garbage collections).
   */
  constructor(capacity = 4096, recycle = false) {
    super(capacity);
    this.#lent = recycle ? new Map() : null;
  }

  /**
   * A segment take() returned is no longer read (its bytes were written and the host has them).
   * Recycling writers only.
   */
  settled(seg: Segment): void {
    const lent = this.#lent;
    if (lent === null) return;
    const n = (lent.get(seg.buf) ?? 1) - 1;
    if (n > 0) {
      lent.set(seg.buf, n);
      return;
    }
    lent.delete(seg.buf);
    // The buffer being written now is not spare; one grown for a huge item is not kept.
    if (seg.buf !== this.buf && seg.buf.length <= 2 * this.chunk) recycle(seg.buf);
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
      throw unsendable(what, 'the item', 'another process', err, 0);
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
      putU32(this.buf, 9, at);
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
    putU32(this.buf, this.end - at - 4, at);
    this.#count++;
  }

  /**
   * The items written since the last take(), as a segment; the writer starts a new run.
   * `exceptLast`: leave the last item written in the writer (it starts the next run).
   */
  take(exceptLast = false): Segment {
    const end = exceptLast ? this.start + this.#lastRel : this.end;
    const count = exceptLast ? this.#count - 1 : this.#count;
    const seg: Segment = { buf: this.buf, pos: this.start, end, count, frame: null };
    this.start = end;
    this.#count -= count;
    this.#lastRel = 0;
    if (this.#lent !== null) {
      this.#lent.set(seg.buf, (this.#lent.get(seg.buf) ?? 0) + 1);
      this.renew(() => largeBuffer(this.chunk));
    } else {
      this.renew();
    }
    return seg;
  }
}

/** Pack one item on its own. Throws SerializationError. */
export function packOne(item: unknown, what: string): Segment {
  const w = new PackWriter(64);
  w.write(item, what);
  return w.take();
}

/** Drop `n` items from the front of `seg`; returns the bytes they occupied. */
export function advance(seg: Segment, n: number): void {
  let p = seg.pos;
  for (let i = 0; i < n; i++) p += itemBytes(seg.buf, p);
  seg.pos = p;
  seg.count -= n;
}


/** Items taken off a list of segments: `parts` are new segments over the same bytes. */
export interface Batch {
  parts: Segment[];
  count: number;
  bytes: number;
}

/**
 * Take up to `n` items (at least one, at most ~`budget` bytes) from the front of `segs`.
 * Nothing is copied: the parts point into the segments' buffers.
 */
export function takeFrom(segs: Deque<Segment>, n: number, budget: number): Batch {
  const parts: Segment[] = [];
  let taken = 0;
  let bytes = 0;
  while (taken < n) {
    const seg = segs.peek();
    if (!seg) break;
    const start = seg.pos;
    if (seg.count <= n - taken && bytes + (seg.end - start) <= budget) {
      // The whole rest of the segment fits: its size is known without reading each item's
      // header (a put batch of ~1 KB items holds hundreds of them).
      parts.push({ buf: seg.buf, pos: start, end: seg.end, count: seg.count, frame: seg.frame });
      taken += seg.count;
      bytes += seg.end - start;
      segs.shift();
      if (bytes >= budget) break;
      continue;
    }
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
    parts.push({ buf: seg.buf, pos: start, end: p, count: k, frame: seg.frame });
    seg.pos = p;
    seg.count -= k;
    taken += k;
    if (seg.count === 0) segs.shift();
    if (bytes >= budget) break;
  }
  return { parts, count: taken, bytes };
}

/** The bytes of `batch` in one Buffer (copied only when it spans several segments). */
export function joined(batch: Batch): Buffer {
  const { parts } = batch;
  if (parts.length === 1) return parts[0]!.buf.subarray(parts[0]!.pos, parts[0]!.end);
  const data = Buffer.allocUnsafe(batch.bytes);
  let o = 0;
  for (const { buf, pos, end } of parts) {
    buf.copy(data, o, pos, end);
    o += end - pos;
  }
  return data;
}

/**
 * The bytes of `batch` to send to another process: one Buffer on the wire, written from the
 * segments' buffers without joining them (packed bytes are never written again).
 */
export function chained(batch: Batch): ByteChain {
  return new ByteChain(batch.parts.map((s) => s.buf.subarray(s.pos, s.end)));
}
