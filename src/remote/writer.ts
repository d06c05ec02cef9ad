// Writes a socket's outgoing bytes with write(2) on its file descriptor instead of through
// the stream. Runs on every side: every Link (src/remote/link.ts) writes through one.
//
// Why not socket.write(): a byte the kernel does not take at once waits in libuv's write
// queue, and how much of that queue libuv has written since is invisible to JavaScript.
// When the process exits, no event loop runs any more and that queue is dropped, and we
// could not finish it ourselves without knowing where libuv stopped. Written here, every
// byte is either in the kernel or in this writer's queue, exactly. So `flushSync()` can
// finish the job from a process 'exit' listener (src/runtime.ts): the items of every put()
// that resolved reach their host even when the process ends with process.exit() right
// after.
//
// While the kernel's buffer is full (the peer reads slower than we write), the writer hands
// libuv ONE byte, the next one of the stream, with socket.write(): libuv writes it as soon as
// the socket is writable again and calls back at once, and the writer goes on from there.
// One byte is written whole or not at all, and Node lowers socket.writableLength in the
// same callback that reports the write, so at any moment JavaScript runs, that byte is in
// the kernel exactly when writableLength is 0: the exit path knows whether to write it
// itself. (A timer would guess: polling every millisecond cost the ~1 KB-item queue
// benchmark a fifth of its throughput; the probe wakes exactly when the peer has read.)
// A process 'exit' listener calls `flushSync()`, which blocks (sleeping 1 ms between
// attempts) until everything is written or its deadline passes. Where the socket exposes
// no file descriptor (not a POSIX system), the writer hands bytes to socket.write() and
// flushSync() can only do its best.

import { writevSync } from 'node:fs';
import type { Socket } from 'node:net';

/** Most buffers one writev call takes (Linux allows 1024). */
const MAX_IOV = 512;
/** Compact the queue array once this many written buffers sit at its front. */
const COMPACT_AT = 1024;
/** Atomics.wait needs an Int32Array on shared memory; nothing ever notifies it. */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

function wouldBlock(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

/** The file descriptor behind a net.Socket, or -1 when there is none to write to. */
function fdOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/**
 * The outgoing side of one socket. The owner pushes whole buffers, then calls `drain()` (or
 * `flushSync()` at exit); a write error (EPIPE: the peer is gone) is reported once to
 * `onError` and everything still queued is dropped.
 */
export class SocketWriter {
  readonly #socket: Socket;
  readonly #onError: (err: Error) => void;
  readonly #queue: Buffer[] = [];
  #head = 0;
  #bytes = 0;
  /** The byte handed to libuv while the kernel's buffer is full (see the header), or null. */
  #probe: Buffer | null = null;
  #done = false;
  #onEmpty: (() => void) | null = null;

  constructor(socket: Socket, onError: (err: Error) => void) {
    this.#socket = socket;
    this.#onError = onError;
  }

  /** Bytes queued and not yet in the kernel (a probe byte counts until libuv wrote it). */
  get pending(): number {
    return this.#bytes + (this.#probe === null ? 0 : 1);
  }

  /** Queue `buf` behind what is queued; call `drain()` to write. */
  push(buf: Buffer): void {
    if (this.#done || buf.length === 0) return;
    this.#queue.push(buf);
    this.#bytes += buf.length;
  }

  /** Write what the kernel takes now, without blocking; a probe waits for room for the rest. */
  drain(): void {
    if (this.#bytes === 0 || this.#done || this.#probe !== null) return;
    this.#attempt();
  }

  /**
   * Write everything queued, blocking while the kernel's buffer is full, until `deadline`
   * (a performance.now() time). Returns true when nothing is left. For 'exit' listeners only:
   * it stops the whole process while it waits.
   */
  flushSync(deadline: number): boolean {
    const probe = this.#probe;
    if (probe !== null) {
      this.#probe = null;
      // Still in libuv's queue, which no event loop will write any more: it goes first.
      if (this.#socket.writableLength > 0) this.#unshift(probe);
    }
    while (this.#bytes > 0 && !this.#done) {
      if (this.#writeSome() === 'blocked') {
        if (performance.now() >= deadline) return false;
        Atomics.wait(SLEEPER, 0, 0, 1);
      }
    }
    return this.#bytes === 0;
  }

  /** Call `fn` once everything queued is written (at once when nothing is): a graceful end. */
  whenEmpty(fn: () => void): void {
    if (this.pending === 0 || this.#done) fn();
    else this.#onEmpty = fn;
  }

  /** Drop what is queued and stop: the socket is being destroyed. */
  dispose(): void {
    this.#done = true;
    this.#probe = null;
    this.#queue.length = 0;
    this.#head = 0;
    this.#bytes = 0;
    this.#onEmpty = null;
  }

  #attempt(): void {
    while (this.#writeSome() === 'blocked' && !this.#done) {
      // The kernel's buffer is full: hand libuv the next byte (see the header).
      const first = this.#queue[this.#head]!;
      const probe = first.subarray(0, 1);
      this.#consume(1);
      this.#probe = probe;
      this.#socket.write(probe, (err?: Error | null) => this.#probed(probe, err));
      // Room appeared meanwhile and libuv wrote it at once: go on writing ourselves (its
      // callback, deferred to the next tick, then finds another probe or none, and does
      // nothing).
      if (this.#socket.writableLength > 0) return;
      this.#probe = null;
    }
    this.#emptied();
  }

  /** libuv wrote `probe`: the kernel takes bytes again. */
  #probed(probe: Buffer, err: Error | null | undefined): void {
    if (this.#probe !== probe || this.#done) return;
    this.#probe = null;
    if (err) this.#fail(err);
    else this.#attempt();
  }

  #emptied(): void {
    if (this.pending !== 0) return;
    const onEmpty = this.#onEmpty;
    this.#onEmpty = null;
    onEmpty?.();
  }

  /** Put `buf` back at the front of the queue. */
  #unshift(buf: Buffer): void {
    if (this.#head > 0) this.#queue[--this.#head] = buf;
    else this.#queue.unshift(buf);
    this.#bytes += buf.length;
  }

  /** Write until the queue is empty or the kernel takes no more. */
  #writeSome(): 'done' | 'blocked' {
    const fd = this.#socket.destroyed ? -1 : fdOf(this.#socket);
    if (fd < 0) {
      if (this.#socket.destroyed) this.#fail(new Error('the socket was destroyed'));
      else this.#handToStream();
      return 'done';
    }
    while (this.#bytes > 0) {
      const end = Math.min(this.#queue.length, this.#head + MAX_IOV);
      const batch = this.#head === 0 && end === this.#queue.length ? this.#queue : this.#queue.slice(this.#head, end);
      let wanted = 0;
      for (const b of batch) wanted += b.length;
      let n: number;
      try {
        n = writevSync(fd, batch);
      } catch (err) {
        if (wouldBlock(err)) return 'blocked';
        this.#fail(err as Error);
        return 'done';
      }
      this.#consume(n);
      // A short write: the kernel's buffer is full.
      if (n < wanted) return 'blocked';
    }
    return 'done';
  }

  /** No file descriptor (not POSIX): let the stream write, as a plain socket would. */
  #handToStream(): void {
    const socket = this.#socket;
    socket.cork();
    for (let i = this.#head; i < this.#queue.length; i++) socket.write(this.#queue[i]!);
    socket.uncork();
    this.#queue.length = 0;
    this.#head = 0;
    this.#bytes = 0;
  }

  #consume(n: number): void {
    this.#bytes -= n;
    const q = this.#queue;
    while (n > 0) {
      const first = q[this.#head]!;
      if (first.length <= n) {
        n -= first.length;
        q[this.#head++] = undefined as unknown as Buffer;
      } else {
        q[this.#head] = first.subarray(n);
        n = 0;
      }
    }
    if (this.#head === q.length) {
      q.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AT) {
      q.splice(0, this.#head);
      this.#head = 0;
    }
  }

  #fail(err: Error): void {
    if (this.#done) return;
    this.dispose();
    this.#onError(err);
  }
}
