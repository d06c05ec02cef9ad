// Pipe and Connection. Host side (PipeEnd, in the process that called Pipe()) and proxy side.
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

import { invalidArg, InvalidStateError, QueueClosed } from '../errors.ts';
import { checkSignal, checkTimeout } from '../options.ts';
import type { Handle } from '../protocol/index.ts';
import { moduleFile } from '../runtime.ts';
import { noteShareable, registerReviver, toHandle, type Shareable } from '../remote/handle.ts';
import { localHost, type CallContext, type Host } from '../remote/host.ts';
import { Reference, type ReferenceOptions } from '../remote/reference.ts';
import { Channel, type PutRequest, type TakeRequest } from './channel.ts';
import { attachOps, type ChannelOps, type ChannelsOf } from './ops.ts';

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

/** The channels a pipe end reads and writes. */
const endChannels: ChannelsOf = (target) => (target instanceof PipeEnd ? { inbox: target.inbox, outbox: target.outbox } : null);

/** The Reference options of a pipe end (RemoteChannel builds the lost errors of its own calls). */
const PIPE_REFERENCE: ReferenceOptions = {
  lost: (message, cause, method) => new QueueClosed(`pipe ${method ?? 'call'}(): ${message}; a pipe lives in the process that created it`, cause ? { cause } : undefined),
};

/** Pipe() and the reviver pass this to `new Connection()`; nothing else can. */
const CREATE: unique symbol = Symbol('multiproc.Connection');

/**
 * One end of a Pipe: send values to the other end, receive what it sends. Works from any
 * process that receives it (pass it as a Process argument, a task argument…).
 *
 * Python: multiprocessing.connection.Connection — send/recv/poll/close are async; values
 * cross by structured clone instead of pickle; recv() takes `{ timeout }`; there is no
 * send_bytes/recv_bytes (send a Buffer). EOF and a broken pipe are QueueClosed.
 * Rejects with: QueueClosed (closed here, other end closed, or the pipe's host exited),
 * TimeoutError, CancelledError, SerializationError, InvalidStateError (wrong direction).
 * Not constructible directly: use Pipe().
 *
 * @example
 * const [a, b] = Pipe<string>();
 * await a.send('ping');
 * console.log(await b.recv()); // 'ping'
 */
export class Connection<T = unknown> implements Shareable {
  readonly #ref: Reference;
  readonly #b: ChannelOps;
  readonly #readable: boolean;
  readonly #writable: boolean;
  #closed = false;

  /** @internal Use Pipe(). */
  constructor(token: typeof CREATE, ref: Reference) {
    if (token !== CREATE || !(ref instanceof Reference)) throw invalidArg('Connection objects come from Pipe(): const [a, b] = Pipe()');
    this.#ref = ref;
    this.#readable = ref.meta.readable !== false;
    this.#writable = ref.meta.writable !== false;
    this.#b = attachOps(ref, this, 'pipe', endChannels);
    noteShareable();
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
      const timeout = checkTimeout(options?.timeout, 'recv()');
      const signal = checkSignal(options?.signal, 'recv()');
      return this.#b.get(true, { timeout, signal }, 'recv()') as Promise<T>;
    } catch (err) {
      return Promise.reject(err);
    }
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
    try {
      await this.#b.flush();
    } finally {
      this.#b.release();
      this.#ref.release();
    }
  }

  /** `await using conn = ...`: close(). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The handle another process revives into a working Connection. */
  [toHandle](): Handle {
    if (this.#closed) throw new QueueClosed('a closed connection cannot be sent to another process');
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

registerReviver(KIND, (handle) => new Connection(CREATE, Reference.revive(handle, PIPE_REFERENCE)), here);
