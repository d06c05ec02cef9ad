// Frames on a socket: a 4-byte big-endian length, then that many bytes. Runs on every side
// (src/remote/link.ts reads and writes them). The length is checked against a cap before
// anything is buffered, and a large frame's buffer grows with the bytes that actually arrive
// (not with the length its header claims), so a peer cannot make us allocate without limit
// or hold memory it never sent. A socket may read a large frame's bytes straight into
// its buffer (room() / filled(), src/remote/link.ts: connect() and accept()), so they are not copied at
// all. Imports nothing of the library outside src/remote/.
//
// Large frames' buffers are reused (src/remote/buffers.ts): a queue's put batches and take
// replies would otherwise each cost a fresh buffer. A frame's buffer is reused only when the
// code that took its bytes over claimed it (claimFrame()) and says when nothing reads them
// any more; any other frame is left to the garbage collector.

import { ProtocolError } from '../errors.ts';
import { largeBuffer, recycle } from './buffers.ts';

/** A frame at least this large, arriving in pieces, is assembled in place (one copy). */
const BIG_FRAME = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/** A read goes straight into a frame being assembled when at least this much of it is missing. */
const DIRECT_MIN = 16 * 1024;


/**
 * Large frames handed to their readers and not claimed yet: their whole buffer, by its memory
 * (a frame is a view of it). Weak: a frame nobody claims goes with its last view.
 */
const unclaimed = new WeakMap<ArrayBufferLike, Buffer>();

/**
 * A buffer for a large frame of `length` bytes, registered as unclaimed: a reused one
 * (src/remote/buffers.ts) of `size` bytes, the longest frame of its link, so that the frames
 * of a link, short or long, keep coming in buffers of one size.
 */
function frameBuffer(length: number, size: number): Buffer {
  const whole = largeBuffer(size);
  unclaimed.set(whole.buffer, whole);
  return whole.subarray(0, length);
}

/**
 * The right to reuse the buffer of a large frame once nothing reads its bytes any more
 * (release()). Only one holder: claimFrame() gives it once per frame.
 */
export class FrameLease {
  #whole: Buffer | null;

  constructor(whole: Buffer) {
    this.#whole = whole;
  }

  /**
   * Nothing reads this frame's bytes any more, nor ever will (no view of it is kept, none is
   * waiting to be written): its buffer may hold the next frame. Idempotent.
   */
  release(): void {
    const whole = this.#whole;
    if (whole === null) return;
    this.#whole = null;
    recycle(whole);
  }
}

/**
 * Claim the frame `view` lies in, to reuse its buffer once its bytes are no longer read:
 * null when it is not a large frame read by this process, or was claimed already. Claim only
 * a frame whose every reader you control: a message whose one Buffer you take over (a
 * queue's put batch or take reply), not one whose values other code may keep.
 */
export function claimFrame(view: Buffer): FrameLease | null {
  const whole = unclaimed.get(view.buffer);
  if (whole === undefined) return null;
  unclaimed.delete(view.buffer);
  return new FrameLease(whole);
}

/**
 * Reassembles frames from socket chunks without quadratic copying: chunks are kept in a
 * list and each frame is copied at most once (not at all when it lies inside one chunk).
 * A large frame that arrives in pieces is copied into its own buffer as the pieces come;
 * that buffer starts small and doubles as bytes arrive (up to the frame's length), so the
 * memory a frame holds follows what the peer sent, not what its header claims: a 4-byte
 * header announcing 60 MiB costs 64 KiB until the bytes come. Doubling keeps the copying
 * linear (each byte is moved at most about twice more). A peer that has already sent whole
 * frames of some size gets a buffer of the full length at once for frames up to that size
 * (it proved it sends them): a queue's 256 KiB put batches and 1 MiB take replies are then
 * copied once, not three times over growing buffers (which cost the ~1 KB-object queue a
 * fifth of its throughput, mostly in garbage collection).
 * Throws ProtocolError (fault 'frame') (from next()) for a frame over the cap; a frame of length 0 is returned
 * as an empty Buffer, for the caller to judge.
 */
export class FrameReader {
  readonly #chunks: Buffer[] = [];
  #head = 0; // read offset inside #chunks[0]
  #bytes = 0; // unread bytes over all chunks
  #need = -1; // body length of the frame being read, -1 while reading its header
  #body: Buffer | null = null; // a big frame being assembled: [0, #filled) holds its bytes so far
  #filled = 0;
  /** What room() last handed out for a read, until filled() is told about it. */
  #room: Buffer | null = null;
  /** The longest frame completed so far: frames up to it get their whole buffer at once. */
  #largest = 0;
  max: number;

  constructor(max: number) {
    this.max = max;
  }

  /**
   * Where the next read may land directly: the unfilled rest of the large frame being
   * assembled (at least DIRECT_MIN bytes), or null. Its bytes count once filled() is told.
   */
  room(): Buffer | null {
    const body = this.#body;
    this.#room = body !== null && body.length - this.#filled >= DIRECT_MIN ? body.subarray(this.#filled) : null;
    return this.#room;
  }

  /** `nread` bytes were read into `buf`: true when it is the last room() (they are in place now). */
  filled(buf: Buffer, nread: number): boolean {
    if (buf !== this.#room || this.#room === null) return false;
    this.#room = null;
    this.#filled += nread;
    return true;
  }

  /** True when nothing is buffered (no partial frame). */
  get empty(): boolean {
    return this.#bytes === 0 && this.#need < 0;
  }

  /**
   * Add bytes. `transient`: `chunk` is reused by the caller after this returns, so what is
   * kept must be copied.
   */
  push(chunk: Buffer, transient = false): void {
    if (chunk.length === 0) return;
    if (this.#body !== null) {
      const count = this.complete(chunk, chunk.length);
      if (count === chunk.length) return;
      chunk = chunk.subarray(count);
    } else if (transient && this.#bytes === 0 && this.#need < 0 && this.#begin(chunk)) {
      return;
    }
    if (transient) chunk = Buffer.from(chunk);
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  /**
   * Copy into the large frame being assembled what it still lacks of `buf[0, end)`; returns
   * how many bytes that took (0 when no large frame is being assembled). What follows them
   * in `buf` is the start of the next frame.
   */
  complete(buf: Buffer, end: number): number {
    let body = this.#body;
    if (body === null) return 0;
    const count = Math.min(end, this.#need - this.#filled);
    if (this.#filled + count > body.length) {
      // Grow geometrically, never past the frame's length.
      const grown = Buffer.allocUnsafe(Math.min(this.#need, Math.max(body.length * 2, this.#filled + count)));
      body.copy(grown, 0, 0, this.#filled);
      this.#body = body = grown;
    }
    buf.copy(body, this.#filled, 0, count);
    this.#filled += count;
    return count;
  }

  /**
   * `chunk` (about to be overwritten by the caller) starts a frame, with nothing buffered:
   * when it is the head of a large frame, copy its bytes straight into that frame's own
   * buffer (once, instead of into a copy of the chunk and then from there) and return true.
   */
  #begin(chunk: Buffer): boolean {
    if (chunk.length < 4) return false;
    const length = chunk.readUInt32BE(0);
    // Too long: next() reports it, as for any frame.
    if (length < BIG_FRAME || length > this.max || chunk.length - 4 >= length) return false;
    const have = chunk.length - 4;
    const body = this.#bodyFor(length, have);
    chunk.copy(body, 0, 4);
    this.#body = body;
    this.#filled = have;
    this.#need = length;
    return true;
  }

  /**
   * The buffer a large frame of `length` bytes is assembled in, `have` of them arrived:
   * sized by what has arrived, not by `length` (see the class comment).
   */
  #bodyFor(length: number, have: number): Buffer {
    // A frame no longer than one the peer sent already: all of it at once, in a reused buffer.
    if (length <= this.#largest) return frameBuffer(length, this.#largest);
    return Buffer.allocUnsafe(Math.min(length, Math.max(BIG_FRAME, have * 2, this.#largest)));
  }

  /** The next complete frame, or null. Throws ProtocolError (fault 'frame') for an oversized frame. */
  next(): Buffer | null {
    if (this.#body !== null) {
      // Once full, the body's capacity equals the frame length (growth stops there).
      if (this.#filled < this.#need) return null;
      const out = this.#body;
      this.#body = null;
      if (this.#need > this.#largest) this.#largest = this.#need;
      this.#need = -1;
      return out;
    }
    if (this.#need < 0) {
      if (this.#bytes < 4) return null;
      const header = this.#take(4);
      const length = header.readUInt32BE(0);
      if (length > this.max) throw new ProtocolError(`frame of ${length} bytes exceeds the ${this.max}-byte cap`, { fault: 'frame' });
      this.#need = length;
    }
    if (this.#bytes < this.#need) {
      if (this.#need >= BIG_FRAME) {
        // Assemble it in its own buffer: later chunks are copied straight into it. Sized by
        // what has arrived, not by #need (see the class comment).
        const have = this.#bytes;
        const body = this.#bodyFor(this.#need, have);
        if (have > 0) this.#take(have).copy(body, 0);
        this.#body = body;
        this.#filled = have;
      }
      return null;
    }
    const frame = this.#take(this.#need);
    if (this.#need > this.#largest) this.#largest = this.#need;
    this.#need = -1;
    return frame;
  }

  #take(n: number): Buffer {
    // A frame of length 0: there may be no chunk left at all (its header came in pieces).
    if (n === 0) return EMPTY;
    this.#bytes -= n;
    const first = this.#chunks[0]!;
    if (first.length - this.#head >= n) {
      const out = first.subarray(this.#head, this.#head + n);
      this.#head += n;
      if (this.#head === first.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0;
    while (filled < n) {
      const chunk = this.#chunks[used]!;
      const start = used === 0 ? this.#head : 0;
      const count = Math.min(chunk.length - start, n - filled);
      chunk.copy(out, filled, start, start + count);
      filled += count;
      if (start + count === chunk.length) {
        used++;
        this.#head = 0;
      } else {
        this.#head = start + count;
      }
    }
    this.#chunks.splice(0, used);
    return out;
  }
}

/** `body` with its 4-byte big-endian length in front: one frame on the wire. */
export function frame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(body.length + 4);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

