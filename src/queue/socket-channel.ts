// A Connection's channel over its own socket: what a Listener accepts and Client() opens
// (src/queue/listener.ts). Runs on both ends of such a link, in the two processes that own
// it; nothing is hosted and nothing else can reach it.
//
// The link is src/remote/link.ts's Link, with its framing, its size cap and its authkey
// handshake; what travels is src/protocol/connection.ts's ConnectionMessage: a value packed
// as a queue item (src/queue/packing.ts, so send() has a Pipe's rules: structured clone,
// handles revived) or raw bytes (sendBytes). Received messages wait in an inbox until recv();
// EOF (the peer closed, or the link broke) is reported once the inbox is drained, as a
// Pipe's. A send resolves once framed; what is framed leaves before a graceful close, and at
// exit the 'links' hook writes it (as a proxy's link does). There is no flow control: like a
// Pipe, an end that never receives lets the other end's messages pile up in its memory.
//
// Liveness: the socket is unref'd unless a recv()/poll() of this process waits on it, so a
// connection nobody reads never keeps a program alive.

import { Deque } from '../deque.ts';
import { InvalidStateError, QueueClosed } from '../errors.ts';
import type { ConnectionMessage } from '../protocol/index.ts';
import type { LinkMessage } from '../remote/codec.ts';
import type { Link, LinkOptions } from '../remote/link.ts';
import { abortError, Waiter, type WaiterOptions } from '../remote/waiter.ts';
import { onExit } from '../runtime.ts';
import { getTimedOut } from './channel.ts';
import type { ChannelOps } from './ops.ts';
import { packOne, readItem } from './packing.ts';

const RESOLVED = Promise.resolve();
const EOF = 'recv(): the other end of the connection was closed and everything it sent has been received (Python: EOFError)';
const BROKEN = 'send(): the other end of the connection was closed (Python: BrokenPipeError)';
const CLOSED = 'the connection was closed here';
/** At exit, how long the links of socket connections may block writing what they hold, in ms. */
const EXIT_FLUSH_MS = 10_000;

type Getter = Waiter<unknown>;

/** Socket channels whose link is open: what they hold is written at exit. */
const open = new Set<SocketChannel>();
let unhookExit: (() => void) | null = null;

function flushAtExit(): void {
  const deadline = performance.now() + EXIT_FLUSH_MS;
  for (const channel of open) channel.flushSync(deadline);
}

/**
 * The ChannelOps of a Connection that owns a socket (Listener.accept(), Client()). `make`
 * opens or adopts the Link with the handlers this channel gives it.
 */
export class SocketChannel implements ChannelOps {
  readonly maxsize = 0;
  readonly link: Link;
  readonly #inbox = new Deque<ConnectionMessage>();
  readonly #getters = new Set<Getter>();
  readonly #pollers = new Set<Waiter<boolean>>();
  /** The link ended (peer closed, or broke: `#cause`); set once. */
  #ended = false;
  #cause: Error | null = null;
  /** close() was called here. */
  #closed = false;
  #holds = 0;

  constructor(make: (handlers: Pick<LinkOptions, 'onMessage' | 'onClose'>) => Link) {
    this.link = make({ onMessage: (m) => this.#onMessage(m), onClose: (err) => this.#onClose(err) });
    this.link.unref();
    open.add(this);
    unhookExit ??= onExit('links', flushAtExit);
  }

  /** Keeps the socket ref'd while a recv()/poll() of this process waits (the Waiter's hold). */
  #hold = (): (() => void) => {
    if (this.#holds++ === 0) this.link.ref();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.#holds === 0) this.link.unref();
    };
  };

  #onMessage(m: LinkMessage): void {
    if (m.type !== 'value' && m.type !== 'bytes') {
      // Thrown here, the link closes with it: a host or proxy message is not ours.
      throw new Error(`unexpected '${m.type}' message on a Listener/Client connection (the peer is not a multiproc Connection)`);
    }
    const getter = this.#getters.values().next().value;
    if (getter && this.#inbox.length === 0) {
      this.#getters.delete(getter);
      this.#deliver(m, getter);
      return;
    }
    this.#inbox.push(m);
    for (const p of [...this.#pollers]) p.resolve(true);
  }

  #deliver(m: ConnectionMessage, getter: Getter): void {
    try {
      getter.resolve(decode(m));
    } catch (err) {
      getter.reject(err as Error);
    }
  }

  #onClose(err: Error | null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#cause = err;
    open.delete(this);
    for (const g of [...this.#getters]) g.reject(this.#eof());
    for (const p of [...this.#pollers]) p.resolve(!this.#closed);
  }

  #eof(): QueueClosed {
    if (this.#closed) return new QueueClosed(`recv(): ${CLOSED}`);
    return new QueueClosed(this.#cause ? `${EOF}; the link broke: ${this.#cause.message}` : EOF, this.#cause ? { cause: this.#cause } : undefined);
  }

  #checkWritable(): void {
    if (this.#closed) throw new QueueClosed(`send(): ${CLOSED}`);
    if (this.#ended) throw new QueueClosed(this.#cause ? `${BROKEN}; the link broke: ${this.#cause.message}` : BROKEN, this.#cause ? { cause: this.#cause } : undefined);
  }

  put(item: unknown, _wait: boolean, _options: WaiterOptions, what: string): Promise<void> {
    try {
      this.#checkWritable();
      const seg = packOne(item, what);
      this.link.send({ type: 'value', data: seg.buf.subarray(seg.pos, seg.end) });
      return RESOLVED;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  putBytes(data: Buffer, _what: string): Promise<void> {
    try {
      this.#checkWritable();
      this.link.send({ type: 'bytes', data });
      return RESOLVED;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  get(wait: boolean, options: WaiterOptions, what: string): Promise<unknown> {
    const m = this.#inbox.shift();
    if (m !== undefined) {
      try {
        return Promise.resolve(decode(m));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.#closed || this.#ended) return Promise.reject(this.#eof());
    if (!wait) return Promise.reject(getTimedOut('pipe', what, 0));
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal, what));
    return new Promise<unknown>((resolve, reject) => {
      const g: Getter = new Waiter(resolve, reject, () => this.#getters.delete(g));
      this.#getters.add(g);
      g.arm({ timeout: options.timeout, signal: options.signal, hold: this.#hold }, () => g.reject(getTimedOut('pipe', what, options.timeout)), what);
    });
  }

  poll(timeout: number | undefined, what: string, signal?: AbortSignal): Promise<boolean> {
    if (this.#inbox.length > 0 || (this.#ended && !this.#closed)) return Promise.resolve(true);
    if (this.#closed) return Promise.reject(new QueueClosed(`${what}: ${CLOSED}`));
    if (timeout === 0) return Promise.resolve(false);
    if (signal?.aborted) return Promise.reject(abortError(signal, what));
    return new Promise<boolean>((resolve, reject) => {
      const w: Waiter<boolean> = new Waiter(resolve, reject, () => this.#pollers.delete(w));
      this.#pollers.add(w);
      w.arm({ timeout, signal, hold: this.#hold }, () => w.resolve(false), what);
    });
  }

  qsize(): Promise<number> {
    return Promise.resolve(this.#inbox.length);
  }

  taskDone(): Promise<void> {
    return Promise.reject(new InvalidStateError('taskDone() is not an operation of a connection'));
  }

  join(): Promise<void> {
    return Promise.reject(new InvalidStateError('join() is not an operation of a connection'));
  }

  shutdown(): Promise<void> {
    return Promise.reject(new InvalidStateError('shutdown() is not an operation of a connection'));
  }

  /** Sends are framed at once; close() writes them before ending the socket. */
  flush(): Promise<void> {
    return RESOLVED;
  }

  release(): void {}

  /** Write what the link holds, blocking until `deadline` (exit hook only). */
  flushSync(deadline: number): void {
    this.link.flushSync(deadline);
  }

  /**
   * Close this end: what was sent is written first, then the socket ends (the peer sees
   * EOF). Waiting recv()/poll() calls of this process reject. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox.clear();
    this.link.close();
    for (const g of [...this.#getters]) g.reject(new QueueClosed(`recv(): ${CLOSED}`));
    for (const p of [...this.#pollers]) p.reject(new QueueClosed(`poll(): ${CLOSED}`));
  }
}

/** A received message as the value recv() returns: a value unpacked, bytes as a Buffer. */
function decode(m: ConnectionMessage): unknown {
  return m.type === 'bytes' ? m.data : readItem(m.data, 0);
}
