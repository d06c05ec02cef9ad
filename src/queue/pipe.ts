// Pipe and Connection. Host side (PipeEnd, in the process that called Pipe()) and proxy side.
//
// A Connection is one face over two kinds of channel (src/queue/ops.ts's ChannelOps): an end
// of a Pipe (hosted, like a queue, by the process that called Pipe(); it can be passed to
// other processes), or a socket of its own (src/queue/socket-channel.ts: what a Listener
// accepts and Client() opens, src/queue/listener.ts; it stays in the process that owns it).
// send/recv/poll and the bytes forms (sendBytes, recvBytes, recvBytesInto: a bytes message
// is a Buffer value, so recv() of one returns a Buffer) behave the same over both.
//
// A pipe is two one-way channels (src/queue/queue.ts `Channel`) hosted by the process that
// created it; each end is a hosted object that writes to one channel and reads the other
// (`Pipe(false)`: one channel, a read-only end and a write-only end). The ends cross to other
// processes as handles, like queues, and reuse the queue machinery: batched sends, prefetched
// receives acknowledged once handed to user code.
//
// End of file follows Python: an end is closed when every copy of it is closed (close(), its
// process exiting, or the object being garbage collected). Then the other end's recv() drains
// what was sent and rejects with QueueClosed (Python's EOFError), and its send() rejects too
// (Python's BrokenPipeError). As in Python, a process that keeps its own copy of an end it
// handed to a child must close that copy for the other side to ever see EOF.

import { BufferTooShort, invalidArg, invalidRange, InvalidStateError, MessageTooLong, QueueClosed, SerializationError } from '../errors.ts';
import { checkOptionNames, checkSignal, checkTimeout, optionNames } from '../options.ts';
import type { Handle } from '../protocol/index.ts';
import { moduleFile } from '../runtime.ts';
import { noteShareable, registerReviver, toHandle, type Shareable } from '../remote/handle.ts';
import { localHost, type CallContext, type Host } from '../remote/host.ts';
import { Reference, type ReferenceOptions } from '../remote/reference.ts';
import { Channel, type PutRequest, type TakeRequest } from './channel.ts';
import { attachOps, type ChannelOps, type ChannelsOf } from './ops.ts';
import type { SocketChannel } from './socket-channel.ts';
import { readyWhen, type Waitable } from './wait.ts';

/** This module, named in the handles of the kinds it revives (see registerReviver). */
const here = moduleFile();
import type { Packed } from './packing.ts';

const KIND = 'pipe-connection';
const EOF = 'recv(): the other end of the pipe was closed and everything it sent has been received (Python: EOFError)';
const BROKEN = 'send(): the other end of the pipe was closed (Python: BrokenPipeError)';
const END_METHODS = ['put', 'take', 'ack', 'giveBack', 'poll', 'qsize'] as const;

/** One end, as hosted: speaks the Channel protocol, writing `outbox` and reading `inbox`. */
class PipeEnd {
  readonly inbox: Channel | null;
  readonly outbox: Channel | null;

  constructor(inbox: Channel | null, outbox: Channel | null) {
    this.inbox = inbox;
    this.outbox = outbox;
  }

  #reader(): Channel {
    if (!this.inbox) throw new InvalidStateError('this end of the pipe is write-only (Pipe(false) gives [readEnd, writeEnd])');
    return this.inbox;
  }

  #writer(): Channel {
    if (!this.outbox) throw new InvalidStateError('this end of the pipe is read-only (Pipe(false) gives [readEnd, writeEnd])');
    return this.outbox;
  }

  put(ctx: CallContext, data: Buffer, count: number, request?: PutRequest): number | Promise<number> {
    return this.#writer().put(ctx, data, count, request);
  }

  take(ctx: CallContext, request: TakeRequest): Packed | Promise<Packed> {
    return this.#reader().take(ctx, request);
  }

  ack(ctx: CallContext, n: number): void {
    this.inbox?.ack(ctx, n);
  }

  giveBack(ctx: CallContext, ack: number, back: number): void {
    this.inbox?.giveBack(ctx, ack, back);
  }

  poll(ctx: CallContext, timeout?: number): boolean | Promise<boolean> {
    return this.#reader().poll(ctx, timeout);
  }

  qsize(_ctx: CallContext): number {
    return this.inbox?.size ?? 0;
  }

  /** Every copy of this end is gone: the peer sees EOF, and its sends fail. */
  closed(): void {
    this.outbox?.endOfFile(EOF);
    this.inbox?.breakReader(BROKEN);
  }
}

/** Options of `Pipe()` beyond `duplex`. */
export interface PipeOptions {
  /** The host serving the pipe to other processes. @default this process's host (localHost()) */
  host?: Host;
}

/** Options of `recv()`. */
export interface RecvOptions {
  /** Wait at most this long (ms), then reject with TimeoutError. @default no limit */
  timeout?: number;
  /** Stop waiting: rejects with CancelledError. */
  signal?: AbortSignal;
}

// The names each options object may have (checkOptionNames: any other is refused, not ignored).
const PIPE_OPTIONS = optionNames<PipeOptions>({ host: true });
const RECV_OPTIONS = optionNames<RecvOptions>({ timeout: true, signal: true });

/** The channels a pipe end reads and writes. */
const endChannels: ChannelsOf = (target) => (target instanceof PipeEnd ? { inbox: target.inbox, outbox: target.outbox } : null);

/** The Reference options of a pipe end (RemoteChannel builds the lost errors of its own calls). */
const PIPE_REFERENCE: ReferenceOptions = {
  lost: (message, cause, method) => new QueueClosed(`pipe ${method ?? 'call'}(): ${message}; a pipe lives in the process that created it`, cause ? { cause } : undefined),
};

/** Pipe(), the reviver and overSocket() pass this to `new Connection()`; nothing else can. */
const CREATE: unique symbol = Symbol('multiproc.Connection');

/** Bytes of a bytes-like value (Buffer, typed array, DataView, ArrayBuffer), without copying; null for anything else. */
function bytesOf(value: unknown): Buffer | null {
  if (Buffer.isBuffer(value)) return value;
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return Buffer.from(value);
  return null;
}

/** A non-negative integer argument, or a RangeError / TypeError (MP_INVALID_ARG) worded as Python's ValueError. */
function byteCount(value: unknown, what: string, name: string, negative: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidArg(`${what}: ${name} must be an integer, got ${typeof value === 'number' ? value : typeof value}`);
  if (value < 0) throw invalidRange(`${what}: ${negative} (${name} ${value})`);
  return value;
}

/**
 * One end of a Pipe: send values to the other end, receive what it sends. Works from any
 * process that receives it (pass it as a Process argument, a task argument…).
 *
 * Python: multiprocessing.connection.Connection — send/recv/poll/close and the bytes forms
 * are async; values cross by structured clone instead of pickle; recv() takes `{ timeout }`;
 * a bytes message is a Buffer value (recv() of one returns a Buffer, recvBytes() of a sent
 * Buffer returns it). EOF and a broken pipe are QueueClosed.
 * Rejects with: QueueClosed (closed here, other end closed, or the pipe's host exited),
 * TimeoutError, CancelledError, SerializationError, InvalidStateError (wrong direction),
 * BufferTooShort, MessageTooLong.
 * Not constructible directly: use Pipe(), Listener.accept() or Client().
 *
 * @example
 * const [a, b] = Pipe<string>();
 * await a.send('ping');
 * console.log(await b.recv()); // 'ping'
 */
export class Connection<T = unknown> implements Shareable, Waitable {
  /** The pipe end's reference; null for a socket connection. */
  readonly #ref: Reference | null;
  /** The socket of a Listener/Client connection; null for a pipe end. */
  readonly #socket: SocketChannel | null;
  readonly #b: ChannelOps;
  readonly #readable: boolean;
  readonly #writable: boolean;
  #closed = false;

  /** @internal Use Pipe(), Listener.accept() or Client(). */
  constructor(token: typeof CREATE, source: Reference | SocketChannel) {
    if (token !== CREATE || typeof source !== 'object' || source === null) throw invalidArg('Connection objects come from Pipe(): const [a, b] = Pipe(), or from Listener.accept() and Client()');
    if (source instanceof Reference) {
      this.#ref = source;
      this.#socket = null;
      this.#readable = source.meta.readable !== false;
      this.#writable = source.meta.writable !== false;
      this.#b = attachOps(source, this, 'pipe', endChannels);
      noteShareable();
    } else {
      this.#ref = null;
      this.#socket = source;
      this.#readable = true;
      this.#writable = true;
      this.#b = source;
    }
  }

  /** True when this end can recv(). */
  get readable(): boolean {
    return this.#readable;
  }

  /** True when this end can send(). */
  get writable(): boolean {
    return this.#writable;
  }

  /** True after close() on this object. */
  get closed(): boolean {
    return this.#closed;
  }

  #check(what: string, need: 'readable' | 'writable'): void {
    if (this.#closed) throw new QueueClosed(`${what} on a closed connection: close() was called on it`);
    if (need === 'readable' && !this.#readable) throw new InvalidStateError(`${what}: this end of the pipe is write-only (Pipe(false) gives [readEnd, writeEnd])`);
    if (need === 'writable' && !this.#writable) throw new InvalidStateError(`${what}: this end of the pipe is read-only (Pipe(false) gives [readEnd, writeEnd])`);
  }

  /**
   * Send a value to the other end. Resolves once it is buffered (values sent in one tick
   * travel as one frame). Python: Connection.send(obj).
   * Rejects with QueueClosed (this end closed; the other end closed: Python's BrokenPipeError,
   * reported by the next send after it is detected), SerializationError, InvalidStateError.
   */
  send(value: T): Promise<void> {
    try {
      this.#check('send()', 'writable');
      return this.#b.put(value, true, {}, 'send()');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Receive the next value, waiting for one. Python: Connection.recv().
   * Rejects with QueueClosed (the other end closed and everything was received: Python's
   * EOFError), TimeoutError, CancelledError, InvalidStateError.
   */
  recv(options: RecvOptions = {}): Promise<T> {
    try {
      this.#check('recv()', 'readable');
      checkOptionNames(options, RECV_OPTIONS, 'recv()');
      const timeout = checkTimeout(options?.timeout, 'recv()');
      const signal = checkSignal(options?.signal, 'recv()');
      return this.#b.get(true, { timeout, signal }, 'recv()') as Promise<T>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Send `buf` (or `size` bytes of it from byte `offset`) as one message: the other end's
   * recvBytes() returns exactly these bytes (its recv() returns them as a Buffer). A typed
   * array is sent as its bytes. The bytes are copied by the time this returns.
   * Python: Connection.send_bytes(buffer, offset, size).
   * Rejects with RangeError (MP_INVALID_ARG: a negative offset or size, or past the end, as
   * Python's ValueError), TypeError (not bytes-like), and as send().
   *
   * @example
   * await a.sendBytes(Buffer.from('hello world'), 6, 5);
   * (await b.recvBytes()).toString(); // 'world'
   */
  sendBytes(buf: ArrayBufferView | ArrayBuffer, offset = 0, size?: number): Promise<void> {
    try {
      this.#check('sendBytes()', 'writable');
      const bytes = bytesOf(buf);
      if (bytes === null) throw invalidArg(`sendBytes(buffer): buffer must be a Buffer, a typed array, a DataView or an ArrayBuffer, got ${typeof buf}`);
      const start = byteCount(offset, 'sendBytes()', 'offset', 'offset is negative');
      if (start > bytes.length) throw invalidRange(`sendBytes(): buffer length < offset (${bytes.length} < ${start})`);
      const n = size === undefined ? bytes.length - start : byteCount(size, 'sendBytes()', 'size', 'size is negative');
      if (start + n > bytes.length) throw invalidRange(`sendBytes(): buffer length < offset + size (${bytes.length} < ${start} + ${n})`);
      return this.#b.putBytes(bytes.subarray(start, start + n), 'sendBytes()');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The next message as bytes: what sendBytes() sent, or a Buffer / typed array send() sent. */
  async #recvBytes(what: string, options: RecvOptions | undefined): Promise<Buffer> {
    this.#check(what, 'readable');
    checkOptionNames(options, RECV_OPTIONS, what);
    const timeout = checkTimeout(options?.timeout, what);
    const signal = checkSignal(options?.signal, what);
    const value = await this.#b.get(true, { timeout, signal }, what);
    const bytes = bytesOf(value);
    if (bytes === null) {
      throw new InvalidStateError(`${what}: the message received is not bytes but ${value === null ? 'null' : typeof value} (it was sent with send()); it is consumed. Receive values with recv(), bytes sent with sendBytes() with recvBytes()`);
    }
    return bytes;
  }

  /**
   * Receive the next message as bytes, waiting for one. A message longer than `maxlength`
   * bytes is consumed and rejected with MessageTooLong (Python raises OSError and the
   * connection becomes unusable; here it stays usable).
   * Python: Connection.recv_bytes(maxlength).
   * Rejects with MessageTooLong, InvalidStateError (the message is a value that is not
   * bytes), RangeError (negative maxlength), and as recv().
   */
  async recvBytes(maxlength?: number | null, options?: RecvOptions): Promise<Buffer> {
    const limit = maxlength === undefined || maxlength === null ? undefined : byteCount(maxlength, 'recvBytes()', 'maxlength', 'negative maxlength');
    const bytes = await this.#recvBytes('recvBytes()', options);
    if (limit !== undefined && bytes.length > limit) {
      throw new MessageTooLong(`recvBytes(maxlength = ${limit}): the message is ${bytes.length} bytes; it was received and dropped (Python: OSError: bad message length)`, { length: bytes.length, maxlength: limit });
    }
    return bytes;
  }

  /**
   * Receive the next message into `buffer` from byte `offset`, waiting for one; resolves with
   * the message's length in bytes. A message that does not fit is consumed and rejected with
   * BufferTooShort, whose `data` holds all of it (Python's `e.args[0]`).
   * Python: Connection.recv_bytes_into(buffer, offset).
   * Rejects with BufferTooShort, RangeError (MP_INVALID_ARG: negative offset, or past the
   * buffer's end), TypeError (not a writable bytes-like object), InvalidStateError (the message
   * is a value that is not bytes), and as recv().
   *
   * @example
   * const buf = Buffer.alloc(64);
   * const n = await b.recvBytesInto(buf);
   * console.log(buf.subarray(0, n));
   */
  async recvBytesInto(buffer: ArrayBufferView | ArrayBuffer, offset = 0, options?: RecvOptions): Promise<number> {
    const target = bytesOf(buffer);
    if (target === null) throw invalidArg(`recvBytesInto(buffer): buffer must be a Buffer, a typed array, a DataView or an ArrayBuffer, got ${typeof buffer}`);
    const start = byteCount(offset, 'recvBytesInto()', 'offset', 'negative offset');
    if (start > target.length) throw invalidRange(`recvBytesInto(): offset too large (${start} > ${target.length} bytes)`);
    const bytes = await this.#recvBytes('recvBytesInto()', options);
    if (bytes.length > target.length - start) {
      throw new BufferTooShort(`recvBytesInto(): the message is ${bytes.length} bytes, the buffer has room for ${target.length - start} from offset ${start}; the whole message is in err.data (Python: BufferTooShort)`, { data: bytes });
    }
    bytes.copy(target, start);
    return bytes.length;
  }

  /**
   * Whether a value is ready to recv(), waiting up to `timeout` ms (null or Infinity: until
   * one is; a negative timeout is 0). Also true at EOF, so that recv() reports it.
   * Python: Connection.poll(timeout).
   * @default timeout 0 (do not wait)
   */
  poll(timeout: number | null = 0): Promise<boolean> {
    try {
      this.#check('poll()', 'readable');
      return this.#b.poll(checkTimeout(timeout, 'poll()'), 'poll()');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Close this copy of the end: sends made so far are delivered first. When every copy is
   * closed (or its process exited), the other end sees EOF. Idempotent.
   * Python: Connection.close().
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#socket) {
      this.#socket.close();
      return;
    }
    try {
      await this.#b.flush();
    } finally {
      this.#b.release();
      this.#ref!.release();
    }
  }

  /** For wait(): readable now (a message, or EOF), waiting up to `timeout` ms. */
  [readyWhen](timeout: number | undefined, signal?: AbortSignal): Promise<boolean> {
    try {
      this.#check('wait()', 'readable');
      return this.#b.poll(timeout, 'wait()', signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** `await using conn = ...`: close(). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The handle another process revives into a working Connection. */
  [toHandle](): Handle {
    if (this.#closed) throw new QueueClosed('a closed connection cannot be sent to another process');
    if (!this.#ref) {
      throw new SerializationError(
        'a Connection from Listener.accept() or Client() is a socket this process owns and cannot be sent to another process; send a Pipe() end instead, or let that process connect with Client() itself',
      );
    }
    return this.#ref.toHandle();
  }

  get [Symbol.toStringTag](): string {
    return 'Connection';
  }
}

/**
 * A pair of connected Connections: what one sends, the other receives.
 * Python: multiprocessing.Pipe(duplex=True) — `Pipe(false)` returns `[readEnd, writeEnd]`
 * as Python's (conn1 receive-only, conn2 send-only). The pipe is hosted by the process that
 * calls Pipe(); when it exits, the ends' calls reject with QueueClosed.
 * Throws TypeError (MP_INVALID_ARG) for a non-boolean `duplex`.
 *
 * @example
 * const [parent, child] = Pipe<string>();
 * const p = new Process({ target: async (c: Connection<string>) => { await c.send(`pong: ${await c.recv()}`); }, args: [child] });
 * p.start();
 * await parent.send('ping');
 * console.log(await parent.recv()); // 'pong: ping'
 * await p.join();
 */
export function Pipe<T = unknown>(duplex = true, options: PipeOptions = {}): [Connection<T>, Connection<T>] {
  if (typeof duplex !== 'boolean') throw invalidArg(`Pipe(duplex): duplex must be a boolean, got ${typeof duplex}`);
  checkOptionNames(options, PIPE_OPTIONS, 'Pipe(duplex, options)');
  const host = options?.host ?? localHost();
  let ends: [PipeEnd, PipeEnd];
  if (duplex) {
    const ab = new Channel(0, 'pipe');
    const ba = new Channel(0, 'pipe');
    ends = [new PipeEnd(ba, ab), new PipeEnd(ab, ba)];
  } else {
    const ch = new Channel(0, 'pipe');
    ends = [new PipeEnd(ch, null), new PipeEnd(null, ch)];
  }
  const make = (end: PipeEnd): Connection<T> => {
    const readable = end.inbox !== null;
    const writable = end.outbox !== null;
    const id = host.register(end, { kind: KIND, exposed: END_METHODS, context: true, meta: { readable, writable }, onRelease: () => end.closed() });
    return new Connection<T>(CREATE, Reference.hosted(host, id, PIPE_REFERENCE));
  };
  return [make(ends[0]), make(ends[1])];
}

/** @internal The Connection of a socket (src/queue/listener.ts). */
export function overSocket<T>(channel: SocketChannel): Connection<T> {
  return new Connection<T>(CREATE, channel);
}

registerReviver(KIND, (handle) => new Connection(CREATE, Reference.revive(handle, PIPE_REFERENCE)), here);
