// The byte channel of a pool worker: a socketpair beside the IPC channel that carries large
// binary values and packed numbers as raw bytes. Runs on both sides (the engine's worker in
// the parent, child.ts in the child).
//
// Node's IPC channel copies a payload three times: the parent's serializer copies it into
// the message, the child joins the 64 KiB reads of a large message with Buffer.concat, and
// the deserializer copies it out again. Case 7 of the benchmarks (4 MiB Buffers) ran at
// the speed of bare process.send (~700 MB/s on the 2-core VM); a second stdio pipe (on Unix
// a socketpair, duplex) written with the caller's own Buffers and read straight into the
// memory the receiver keeps moved 2.3-2.5 GB/s in the same probe.
//
// Two kinds of frame, each an 8-byte header (flags, message tag, length) and its bytes:
//   - a message frame: one message of src/protocol/child.ts, encoded by
//     src/protocol/child-frames.ts. Each direction moves its messages here once, marked by
//     its last IPC message ('switch' from the parent, 'switched' from the worker, each sent
//     with the first message that gains from the channel); from then on one FIFO stream
//     orders that direction's messages: 'define' before the 'call' that uses it, a reply
//     before the 'dropped' that follows it, every reply before the end of file that tells
//     the parent the child is gone. A message frame is decoded and handed to `onMessage`
//     the moment it is complete, before the next frame is parsed; until the owner has seen
//     the other side's marker (openMessages), complete message frames wait here, in order.
//   - a value frame: the bytes of one value a message announces (`frames`, see
//     src/protocol/child.ts), written right after that message. The owner claims a
//     message's value frames when `onMessage` hands it over (one claim per announcing
//     message), so frames go to claims in order. A value frame read before its claim waits
//     in `#ready` (its message may itself wait for the other side's switch to be seen).
//
// Why messages left Node's IPC channel (issue 15, bench case 8): Node's IPC serializer and
// deserializer keep every message they handled alive until the next scavenge (~670 B per
// round trip), which over a long imap grew the parent's young generation from 8 to 32 MB
// (peak RSS 86 MB; on the channel 64 MB, the young generation staying at 8 MB). The hot
// messages (a batch of packed numbers, a reply of numbers) are laid out by hand and
// allocate nothing that outlives them.
//
// Memory: a 'keep' frame is read into a fresh ArrayBuffer of exactly its length (a value
// the task or the caller keeps); a 'pool' frame (packed numbers, read by index during one
// batch or one reply) into a reused buffer of BytePool, given back by the claim's owner.
// Where a frame's remaining bytes fill a read, either side reads straight into the frame's
// memory (onread with a buffer function; the parent moves the stdio socket child_process made
// into a socket of its own to get one, see adoptReads): the one copy a receiver must make is
// the kernel's, and no read allocates.
//
// Writes: the writer's own memory is handed to the socket (no copy), so it must stay
// untouched until the write's callback: each owner says how (src/process/engine/transfer.ts,
// child.ts). A peer that dies mid-frame makes a write fail (EPIPE, ECONNRESET): the socket's
// 'error' is swallowed here and the failure reaches the write's callback; the worker's end
// is decided by its exit, as for the IPC channel.

import { Socket } from 'node:net';
import { decodeMessage } from '../protocol/child-frames.ts';
import type { BinaryKind, FrameSlot, FromChild, ToChild } from '../protocol/index.ts';
import { adoptReads } from '../remote/adopt.ts';

/**
 * Values of at least this many bytes travel on the byte channel; smaller ones stay in the
 * IPC message, where a frame of their own (a header, a socket write, a claim) costs about
 * what it saves. Measured with pool.map(byteLength, ~64 MB of Buffers of one size) on 2
 * workers, interleaved, MB/s of the warm runs, channel vs IPC: 8 KiB 680-789 vs 542-766
 * (even), 16 KiB 1007-1133 vs 619-841, 32 KiB 1078-1206 vs 593-617, 64 KiB 1363 vs 471,
 * 128 KiB 1770 vs 660.
 */
export const MIN_CHANNEL_BYTES = 16 * 1024;

const HEADER = 8;
/** Header flags: the receiver reads into a pooled buffer it gives back (else memory of its own). */
const POOL = 1;
/** Header flags: a message frame, whose tag is the header's second byte (else a value frame). */
const MESSAGE = 2;
/** Message frames up to this many bytes are written as one buffer, header included (one socket write). */
const COALESCE = 4096;
/** Reads smaller than this go through the staging buffer (several frames per read). */
const STAGING = 64 * 1024;
/** Largest frame: the length is a 32-bit field. Larger values stay in the IPC message. */
export const MAX_FRAME_BYTES = 0xffffffff;

/**
 * Reused buffers for 'pool' frames, by size class (a power of two, at least 64 KiB): a
 * frame read into memory touched before costs no page faults (about 2 ms per MB on the
 * benchmark VM). A class keeps at most POOL_KEEP buffers: as many as frames in flight.
 */
export class BytePool {
  readonly #free = new Map<number, ArrayBuffer[]>();
  acquire(n: number): Uint8Array {
    const size = classOf(n);
    const buf = this.#free.get(size)?.pop() ?? new ArrayBuffer(size);
    return new Uint8Array(buf, 0, n);
  }
  release(bytes: Uint8Array): void {
    const size = bytes.buffer.byteLength;
    let list = this.#free.get(size);
    if (list === undefined) this.#free.set(size, (list = []));
    if (list.length < POOL_KEEP) list.push(bytes.buffer as ArrayBuffer);
  }
}
const POOL_KEEP = 4;

function classOf(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(n, STAGING)));
}

/** The frames of one announcing message, filled in order as they arrive. */
export class Claim {
  readonly frames: Uint8Array[] = [];
  /** Which frames came from the pool (given back by release()). */
  readonly #pooled: boolean[] = [];
  #waiter: (() => void) | null = null;
  #abandoned = false;
  constructor(
    readonly count: number,
    readonly pool: BytePool,
  ) {}
  get done(): boolean {
    return this.frames.length === this.count;
  }
  /**
   * Call `cb` once every frame has arrived: now if they have, else synchronously when the
   * last one is read (before the socket's later events, 'end' and 'close', are emitted).
   */
  whenDone(cb: () => void): void {
    if (this.done) cb();
    else this.#waiter = cb;
  }
  /** @internal ByteChannel: the next frame. */
  fill(frame: Uint8Array, pooled: boolean): void {
    this.frames.push(frame);
    this.#pooled.push(pooled);
    if (!this.done) return;
    if (this.#abandoned) this.release();
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }
  /** Give the pooled frames back: their values are no longer read. */
  release(): void {
    for (let i = 0; i < this.frames.length; i++) if (this.#pooled[i]) this.pool.release(this.frames[i]!);
    this.#pooled.length = 0;
  }
  /** Nobody will read these frames (a batch taken back): give them back once they have all arrived. */
  abandon(): void {
    this.#abandoned = true;
    if (this.done) this.release();
  }
}

/** One side of a byte channel over a duplex socket (see the header). */
export class ByteChannel {
  readonly socket: Socket;
  readonly pool = new BytePool();
  /** Claims waiting for frames, oldest first (none while #ready holds frames). */
  readonly #claims: Claim[] = [];
  /** Frames read before their message arrived, oldest first (none while #claims holds claims). */
  readonly #ready: { frame: Uint8Array; pooled: boolean }[] = [];
  // Reading: the header being assembled, then the frame being filled.
  readonly #head = new Uint8Array(HEADER);
  #headGot = 0;
  #frame: Uint8Array | null = null;
  #pooled = false;
  /** The tag of the message frame being read, or -1 for a value frame. */
  #tag = -1;
  #got = 0;
  /** onread: the buffer handed to the last read is the frame itself (not the staging buffer). */
  #direct = false;
  readonly #staging: Uint8Array;
  /** Writes not yet called back. */
  #writing = 0;
  #drained: (() => void)[] = [];
  /**
   * Receives each message the other side wrote on this channel, decoded
   * (src/protocol/child-frames.ts), in stream order, once messages are open (openMessages),
   * with the claim of the numbers it carried in itself (else null).
   */
  onMessage: ((message: ToChild | FromChild, own: Claim | null) => void) | null = null;
  /**
   * Message frames complete before openMessages(), in order; null once open. A side reads
   * the other side's channel messages only after the IPC message that marks its switch
   * ('switch' from the parent, 'switched' from the worker), which may arrive after them.
   */
  #held: [tag: number, frame: Uint8Array, pooled: boolean][] | null = [];

  /**
   * Over a socket Node made (the parent's `child.stdio[4]`, whose reading moves into a socket
   * of our own, see adoptReads), or over file descriptor `fd` (the child's end). Either way
   * a read lands in the frame it belongs to when the frame's remaining bytes fill it.
   */
  constructor(from: Socket | number) {
    this.#staging = new Uint8Array(STAGING);
    const onread = { buffer: () => this.#nextBuffer(), callback: (n: number, buf: Buffer) => this.#onRead(n, buf) };
    if (typeof from === 'number') this.socket = new Socket({ fd: from, readable: true, writable: true, onread });
    else {
      const own = adoptReads(from, onread);
      if (own !== null) this.socket = own;
      else {
        this.socket = from;
        from.on('data', (chunk: Buffer) => this.#consume(chunk, 0, chunk.length));
      }
    }
    // A peer that dies makes reads and writes fail; its exit is what counts (see the header).
    this.socket.on('error', () => {});
  }

  /** The next `count` frames, for the message that announced them (call in message order). */
  claim(count: number): Claim {
    const claim = new Claim(count, this.pool);
    const ready = this.#ready;
    while (ready.length > 0 && !claim.done) {
      const f = ready.shift()!;
      claim.fill(f.frame, f.pooled);
    }
    if (!claim.done) this.#claims.push(claim);
    return claim;
  }

  /** The other side's switch has been seen: hand over the messages held so far, and every later one as it completes. */
  openMessages(): void {
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    for (const [tag, frame, pooled] of held) this.#deliver(tag, frame, pooled);
  }

  /** A complete message frame to `onMessage`: its numbers as a claim that owns them, other pooled memory given back. */
  #deliver(tag: number, frame: Uint8Array, pooled: boolean): void {
    const { message, numbers } = decodeMessage(tag, frame);
    let own: Claim | null = null;
    if (numbers !== null) {
      own = new Claim(1, this.pool);
      own.fill(numbers, pooled);
    } else if (pooled) this.pool.release(frame);
    if (this.onMessage !== null) this.onMessage(message, own);
    // A channel without a receiver of messages gives pooled memory straight back.
    else own?.release();
  }

  /**
   * Write `bytes` as one value frame: `pooled` when the receiver may read it into reused
   * memory (packed numbers), else it gets fresh memory of its own. `bytes` is handed to the
   * socket as it is and must not change until `done` is called (with an error when the peer
   * went away before it was all written).
   */
  write(bytes: Uint8Array, pooled: boolean, done?: (err: Error | null) => void): void {
    this.#writeFrame(pooled ? POOL : 0, 0, [bytes], done);
  }

  /**
   * Write one message frame of tag `tag` whose bytes are `parts` joined (see
   * src/protocol/child-frames.ts); `pooled` and `done` as for write(). A small message is
   * copied into one buffer with its header (its parts are free at once; `done` still waits
   * for the write).
   */
  writeMessage(tag: number, parts: Uint8Array[], pooled: boolean, done?: (err: Error | null) => void): void {
    this.#writeFrame(MESSAGE | (pooled ? POOL : 0), tag, parts, done);
  }

  #writeFrame(flags: number, tag: number, parts: Uint8Array[], done: ((err: Error | null) => void) | undefined): void {
    let length = 0;
    for (const p of parts) length += p.byteLength;
    const small = (flags & MESSAGE) !== 0 && length <= COALESCE;
    const head = new Uint8Array(small ? HEADER + length : HEADER);
    head[0] = flags;
    head[1] = tag;
    new DataView(head.buffer).setUint32(4, length, true);
    if (small) {
      let at = HEADER;
      for (const p of parts) {
        head.set(p, at);
        at += p.byteLength;
      }
    }
    this.#writing++;
    const socket = this.socket;
    if (!small) {
      socket.cork();
      socket.write(head);
      for (let i = 0; i < parts.length - 1; i++) socket.write(parts[i]!);
    }
    socket.write(small ? head : parts[parts.length - 1]!, (err) => {
      this.#writing--;
      // Node calls back without an error when the socket was destroyed first (the peer
      // died: end of file, then destroy): whether every byte got across is not known then,
      // and an owner must not count the frame as written (transfer.ts).
      done?.(err ?? (socket.destroyed ? new Error('the byte channel closed before this frame was written') : null));
      if (this.#writing === 0) for (const resolve of this.#drained.splice(0)) resolve();
    });
    if (!small) socket.uncork();
  }

  /** Resolves once every frame written so far has been handed to the OS (or failed). */
  drained(): Promise<void> {
    if (this.#writing === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #nextBuffer(): Uint8Array {
    const frame = this.#frame;
    if (frame !== null && frame.byteLength - this.#got >= STAGING) {
      this.#direct = true;
      return frame.subarray(this.#got);
    }
    this.#direct = false;
    return this.#staging;
  }

  #onRead(n: number, buf: Uint8Array): void {
    if (!this.#direct) return this.#consume(buf, 0, n);
    this.#got += n;
    if (this.#got === this.#frame!.byteLength) this.#complete();
  }

  /** Parse `chunk[off, end)`: headers, and frame bytes copied into their frames. */
  #consume(chunk: Uint8Array, off: number, end: number): void {
    while (off < end) {
      const frame = this.#frame;
      if (frame === null) {
        const k = Math.min(HEADER - this.#headGot, end - off);
        this.#head.set(chunk.subarray(off, off + k), this.#headGot);
        this.#headGot += k;
        off += k;
        if (this.#headGot < HEADER) return;
        this.#headGot = 0;
        const flags = this.#head[0]!;
        this.#start((flags & POOL) !== 0, (flags & MESSAGE) !== 0 ? this.#head[1]! : -1, new DataView(this.#head.buffer).getUint32(4, true));
        continue;
      }
      const k = Math.min(frame.byteLength - this.#got, end - off);
      frame.set(chunk.subarray(off, off + k), this.#got);
      this.#got += k;
      off += k;
      if (this.#got === frame.byteLength) this.#complete();
    }
  }

  #start(pooled: boolean, tag: number, length: number): void {
    this.#pooled = pooled;
    this.#tag = tag;
    this.#got = 0;
    // A 'keep' frame is not zero-filled (allocUnsafeSlow: its own ArrayBuffer of exactly
    // `length` bytes, from malloc): every byte is written before anyone sees it (a frame cut
    // short by a dying peer is never delivered), and memory malloc reuses costs no page
    // faults, where zero-filled memory (calloc) of this size is fresh every time: 4 MiB
    // Buffers were read ~1.4x faster so. A message frame that is not pooled (a structured
    // clone) gets memory of its own too: v8.deserialize returns a typed array of the message
    // that sits aligned as a view of it, which should hold this message's bytes only, not a
    // slice of Node's shared Buffer slab.
    this.#frame = pooled ? this.pool.acquire(length) : Buffer.allocUnsafeSlow(length);
    if (length === 0) this.#complete();
  }

  #complete(): void {
    const frame = this.#frame!;
    this.#frame = null;
    if (this.#tag !== -1) {
      if (this.#held !== null) this.#held.push([this.#tag, frame, this.#pooled]);
      else this.#deliver(this.#tag, frame, this.#pooled);
      return;
    }
    const claim = this.#claims[0];
    if (claim === undefined) {
      this.#ready.push({ frame, pooled: this.#pooled });
      return;
    }
    claim.fill(frame, this.#pooled);
    if (claim.done) this.#claims.shift();
  }
}

// ---------------------------------------------------------------------------------------
// Values on the channel: which values of a list go, and how their bytes become values again

/** Typed array constructors by kind, and kinds by exact prototype (a subclass stays inline). */
const VIEWS: Record<Exclude<BinaryKind, 'Buffer' | 'ArrayBuffer' | 'DataView'>, new (buffer: ArrayBuffer) => ArrayBufferView> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};
const KIND_OF = new Map<object, BinaryKind>([
  [Buffer.prototype, 'Buffer'],
  [ArrayBuffer.prototype, 'ArrayBuffer'],
  [DataView.prototype, 'DataView'],
  ...Object.entries(VIEWS).map(([kind, ctor]) => [ctor.prototype as object, kind as BinaryKind] as const),
]);

/**
 * The kind of `v` when it goes on the channel: a Buffer, typed array, DataView or
 * ArrayBuffer of at least MIN_CHANNEL_BYTES, of exactly a built-in class, over a plain
 * (not shared, not resizable) ArrayBuffer; else undefined (it stays in the IPC message,
 * which handles every other case as before).
 */
export function channelKind(v: unknown): BinaryKind | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const kind = KIND_OF.get(Object.getPrototypeOf(v) as object);
  if (kind === undefined) return undefined;
  const buffer = (kind === 'ArrayBuffer' ? v : (v as ArrayBufferView).buffer) as ArrayBuffer & { resizable?: boolean };
  const bytes = (v as ArrayBuffer | ArrayBufferView).byteLength;
  if (bytes < MIN_CHANNEL_BYTES || bytes > MAX_FRAME_BYTES) return undefined;
  if (!(buffer instanceof ArrayBuffer) || buffer.resizable === true) return undefined;
  return kind;
}

/** The bytes of a value channelKind accepted. */
export function bytesOfValue(v: ArrayBuffer | ArrayBufferView): Uint8Array {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** The value of kind `kind` over a 'keep' frame (fresh memory of exactly its length). */
export function valueOfFrame(kind: BinaryKind, frame: Uint8Array): unknown {
  const buffer = frame.buffer as ArrayBuffer;
  switch (kind) {
    case 'ArrayBuffer':
      return buffer;
    case 'Buffer':
      return Buffer.from(buffer, 0, buffer.byteLength);
    case 'DataView':
      return new DataView(buffer);
    default:
      return new VIEWS[kind](buffer);
  }
}

/** A list with its large binary values taken out (null in their place), and what replaces them. */
export interface Extracted {
  values: unknown[];
  slots: FrameSlot[];
  /** The bytes of each frame, in slot order (a repeated value has a slot and no frame). */
  frames: Uint8Array[];
}

/**
 * Take the large binary values out of `values` (each item, or with `spread` each argument of
 * each item): null when there are none, the common case, which costs a typeof per value
 * and allocates nothing (an apply in a loop is a hot path). `values` itself is left as it
 * is (a batch keeps its items to send them again should its worker die); the copy holds
 * null where a value was taken out. The same object twice is sent once, as structured
 * clone would (the receiver gets one object in both places).
 */
export function extractBinary(values: unknown[], spread: boolean): Extracted | null {
  let out: Taking | null = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'object' || v === null) continue;
    if (spread && Array.isArray(v)) {
      for (let a = 0; a < v.length; a++) {
        const kind = channelKind(v[a]);
        if (kind !== undefined) out = take(out, values, v[a], kind, i, a);
      }
    } else {
      const kind = channelKind(v);
      if (kind !== undefined) out = take(out, values, v, kind, i, undefined);
    }
  }
  return out;
}

interface Taking extends Extracted {
  /** Each value taken so far, with the index of its slot. */
  seen: Map<unknown, number>;
}

/** Take `v` (item `i`, argument `a`) out of the copy of `values`, started on the first. */
function take(out: Taking | null, values: unknown[], v: unknown, kind: BinaryKind, i: number, a: number | undefined): Taking {
  out ??= { values: values.slice(), slots: [], frames: [], seen: new Map() };
  const slot: FrameSlot = { i, k: kind };
  const earlier = out.seen.get(v);
  if (earlier !== undefined) slot.same = earlier;
  else {
    out.seen.set(v, out.slots.length);
    out.frames.push(bytesOfValue(v as ArrayBuffer | ArrayBufferView));
  }
  if (a === undefined) out.values[i] = null;
  else {
    slot.a = a;
    // The argument list is copied on its first value taken out (the caller's stays whole).
    let args = out.values[i] as unknown[];
    if (args === values[i]) out.values[i] = args = args.slice();
    args[a] = null;
  }
  out.slots.push(slot);
  return out;
}

/** Put the values of `slots` back into `values` (freshly deserialized: changed in place) from the claim's frames. */
export function insertBinary(values: unknown[], slots: FrameSlot[], frames: Uint8Array[]): void {
  const made: unknown[] = [];
  let f = 0;
  for (const slot of slots) {
    const v = slot.same !== undefined ? made[slot.same] : valueOfFrame(slot.k, frames[f++]!);
    made.push(v);
    if (slot.a === undefined) values[slot.i] = v;
    else (values[slot.i] as unknown[])[slot.a] = v;
  }
}

/** How many frames follow a message with these slots (a repeated value has none). */
export function frameCount(slots: FrameSlot[]): number {
  let n = 0;
  for (const slot of slots) if (slot.same === undefined) n++;
  return n;
}
