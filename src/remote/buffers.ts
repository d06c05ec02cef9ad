// Large buffers reused within a process. Runs on every side: a queue's producer packs its put
// batches into them (src/queue/packing.ts PackWriter), and a link reads large frames into
// them (src/remote/frame.ts), at the host that relays the items and at their consumer.
//
// Why: a queue moves ~1 KB items in 256 KiB put batches and 1 MiB take replies. A fresh
// buffer for each costs the process a page fault for every 4 KiB on first touch and, as
// external memory, garbage collections that V8 starts for nothing but that memory (scavenges
// and full collections "for external memory pressure" in a producer, ~30 ms per 100 MB in
// the host). Reused, a stream of batches lives in a handful of buffers.
//
// A buffer comes back only through recycle(), from code that knows nothing reads or writes it
// any more (its own bytes, or a frame whose every item is done: src/remote/frame.ts
// claimFrame()); anything else is left to the garbage collector. Spares are capped in bytes
// and dropped after a while unused, so an idle process keeps no memory for them.

/** Spare buffers are kept up to this many bytes, all together. */
const SPARE_BYTES = 8 * 1024 * 1024;
/** A spare serves a request for at least this part of its size (no more is wasted). */
const SPARE_FIT = 0.5;
/** New buffers are allocated in multiples of this, so that a slightly larger request later fits. */
const STEP = 64 * 1024;
/** Spares not used for this long are dropped, ms. */
const IDLE_MS = 5000;

const spare: Buffer[] = [];
let spareBytes = 0;
let used = false;
let timer: NodeTimeout | null = null;

/**
 * A buffer of at least `length` bytes (its length may be larger): the most recently recycled
 * spare that fits without wasting more than half of it, else a new one of `length` rounded up
 * to 64 KiB. Its content is whatever it held before.
 */
export function largeBuffer(length: number): Buffer {
  for (let i = spare.length - 1; i >= 0; i--) {
    const b = spare[i]!;
    if (b.length >= length && b.length * SPARE_FIT <= length) {
      spare[i] = spare[spare.length - 1]!;
      spare.pop();
      spareBytes -= b.length;
      used = true;
      return b;
    }
  }
  return Buffer.allocUnsafe(Math.ceil(length / STEP) * STEP);
}

/**
 * Nothing reads or writes `buf` (a whole buffer, not a view of one) any more, nor ever will:
 * it may serve a later largeBuffer() request. Kept while the spares stay under their cap.
 */
export function recycle(buf: Buffer): void {
  if (spareBytes + buf.length > SPARE_BYTES) return;
  spare.push(buf);
  spareBytes += buf.length;
  if (timer === null) {
    timer = setTimeout(dropIdle, IDLE_MS);
    // Bookkeeping only: it must not keep the process alive.
    timer.unref();
  }
}

function dropIdle(): void {
  timer = null;
  if (!used) {
    spare.length = 0;
    spareBytes = 0;
    return;
  }
  used = false;
  if (spare.length > 0) {
    timer = setTimeout(dropIdle, IDLE_MS);
    timer.unref();
  }
}
