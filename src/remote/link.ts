// A framed, authenticated socket link between a proxy and a host. Runs on both sides:
// `connect()` in the process that uses a shared object, `accept()` in the process that
// hosts it (src/remote/host.ts). Whoever created the socket owns it: the Link closes it.
//
// Framing: every frame is a 4-byte big-endian length, then that many bytes. The length is
// checked against a cap (64 MiB by default) before anything is buffered, and a large frame's
// buffer grows with the bytes that actually arrive (not with the length its header claims),
// so a peer cannot make us allocate without limit or hold memory it never sent. Handshake
// frames are raw bytes (capped at 1 KiB); every later frame is one message of
// src/protocol/host.ts (ToHost / FromHost), or of src/protocol/connection.ts between a Listener
// and a Client, in the byte layout of src/remote/codec.ts. A frame that
// breaks these rules (too long, empty, undecodable) closes its link with a protocol error.
//
// Handshake (challenge-response both ways, as Python's multiprocessing.connection does; the
// key itself never crosses):
//   host  -> proxy   PROTOCOL, 0x00, hostNonce(32)
//   proxy -> host    HMAC-SHA256(key, "multiproc proxy" + hostNonce), proxyNonce(32)
//   host  -> proxy   HMAC-SHA256(key, "multiproc host" + proxyNonce), hostPid(u32)    or "FAIL"
// The labels make the two answers differ, so a peer cannot reflect our own challenge back.
// A proxy whose key is wrong gets AuthenticationError; so does a proxy that reached a host
// which cannot prove it knows the key. A host with too many connections still in the
// handshake (src/remote/host.ts caps them) sends, instead of the greeting,
//   host  -> proxy   "BUSY", 0x00, reason (UTF-8)
// and closes (refuse()); the proxy's handshake fails with HostBusyError quoting the reason.
// Either side drops a handshake that has not completed within `handshakeTimeout`.
//
// Writes are coalesced: messages sent in one synchronous burst leave in one writev (flushed
// on a microtask), and 256 KiB of pending frames are flushed at once. They go through a
// SocketWriter (src/remote/writer.ts), never libuv's write queue, so what a link holds can
// still be written at process exit: a proxy-side link writes everything it holds from the
// 'links' exit hook (src/runtime.ts), after the queues moved their buffers into it.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { writeSync } from 'node:fs';
import { createConnection, Socket } from 'node:net';
import { AuthenticationError, HostBusyError, invalidRange, ProtocolError, SerializationError } from '../errors.ts';
import { PROTOCOL, versionMismatch } from '../protocol/index.ts';
import { onExit } from '../runtime.ts';
import { decodeMessage, MessageEncoder, type LinkMessage } from './codec.ts';
import { FrameReader, frame } from './frame.ts';
import { SocketWriter } from './writer.ts';
import { formatAddress, type Address } from './address.ts';
import { adoptReads, type OnRead } from './adopt.ts';

/** Default cap on one frame, in bytes: 64 MiB (the `maxFrameSize` option changes it). */
export const DEFAULT_MAX_FRAME = 64 * 1024 * 1024;
/** Default time a handshake may take before its connection is dropped, in ms (`handshakeTimeout`). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 20_000;
const HANDSHAKE_MAX = 1024;
const NONCE = 32;
const FLUSH_BYTES = 256 * 1024;
const FAIL = Buffer.from('FAIL');
/** Starts the frame a host sends instead of its greeting when it refuses a connection. */
const BUSY = Buffer.from('BUSY\0', 'latin1');
/** Longest refusal reason sent or shown (the frame must fit the 1 KiB handshake cap). */
const BUSY_REASON_MAX = 400;
/** Receive buffer of a client socket (read into directly by libuv, reused for every read). */
const RECV_BUFFER = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/** At exit, how long proxy-side links may block writing what they hold, in ms (all links together). */
const EXIT_FLUSH_MS = 10_000;

export { addressKey, formatAddress, type Address } from './address.ts';

/**
 * An authkey as bytes: a Buffer (or Uint8Array) copied, a string as UTF-8.
 * Python: the `authkey` bytes of BaseManager / multiprocessing.connection.
 * Throws RangeError (MP_INVALID_ARG) for an empty key or a value of another type.
 *
 * @example
 * const key = toKey('secret'); // <Buffer 73 65 63 72 65 74>
 */
export function toKey(authkey: Buffer | Uint8Array | string): Buffer {
  if (typeof authkey === 'string') {
    if (authkey.length === 0) throw invalidRange('authkey must not be empty');
    return Buffer.from(authkey, 'utf8');
  }
  if (authkey instanceof Uint8Array) {
    if (authkey.length === 0) throw invalidRange('authkey must not be empty');
    return Buffer.from(authkey);
  }
  throw invalidRange('authkey must be a Buffer or a string');
}

function hmac(key: Buffer, label: string, nonce: Buffer): Buffer {
  return createHmac('sha256', key).update(label).update(nonce).digest();
}

/** Encodes every message this process sends on any link (messages are encoded one at a time). */
let encoder: MessageEncoder | null = null;

/** Options of a Link. */
export interface LinkOptions {
  /** Largest frame accepted or sent, in bytes. @default 67108864 (64 MiB) */
  maxFrameSize?: number;
  /** Drop the connection when the handshake has not completed within this many ms. @default 20000 */
  handshakeTimeout?: number;
  /** Called with every message received (decoded; a malformed frame closes the link instead). */
  onMessage: (message: LinkMessage) => void;
  /**
   * Called once when the link closes: `error` is null for an orderly close by either side,
   * otherwise what broke it (a bad frame, a socket error, a failed handshake).
   */
  onClose: (error: Error | null) => void;
}

type LinkState = 'handshake' | 'open' | 'closed';

/**
 * One framed, authenticated connection. Create it with `connect()` (proxy side) or
 * `accept()` (host side). Messages may be sent right away: they are serialized at once (so a
 * bad value fails at the caller and the caller may reuse its buffers) and leave when the
 * handshake has succeeded.
 * Python: multiprocessing.connection.Connection over a Listener/Client socket, with
 * deliver_challenge/answer_challenge done both ways.
 * Throws SerializationError from send() (a value that cannot be serialized, or a frame over
 * the cap); `ready` rejects with AuthenticationError or the socket error.
 *
 * @example
 * const link = connect('/tmp/host.sock', key, { onMessage: (m) => console.log(m), onClose: () => {} });
 * await link.ready;
 * link.send({ type: 'call', id: 1, obj: 'queue-1', method: 'qsize', args: [] });
 */
export class Link {
  readonly #socket: Socket;
  readonly #reader: FrameReader;
  readonly #options: LinkOptions;
  readonly #max: number;
  #state: LinkState = 'handshake';
  readonly #writer: SocketWriter;
  /** Frames (in pieces: MessageEncoder.pieces) sent before the handshake finished, or since the last flush. */
  #out: Buffer[] = [];
  #outBytes = 0;
  #flushQueued = false;
  #ready: Promise<void>;
  #settleReady!: (error: Error | null) => void;
  #handshakeStep: ((frame: Buffer) => void) | null = null;
  #handshakeTimer: NodeTimeout | null = null;
  #refd = true;
  /** Pid the peer reported during the handshake (proxy side), if any. */
  peerPid: number | undefined;

  /**
   * @internal Use connect() or accept(). `reads`: the socket was made with an `onread`
   * buffer whose callback calls `onRead` of the function passed back (no 'data' events), and
   * whose buffer function asks `room` where the next read may land (null: the reused buffer).
   */
  constructor(socket: Socket, options: LinkOptions, reads?: (onRead: (nread: number, buf: Buffer) => void, room: () => Buffer | null) => void) {
    this.#socket = socket;
    this.#options = options;
    this.#max = options.maxFrameSize ?? DEFAULT_MAX_FRAME;
    this.#reader = new FrameReader(HANDSHAKE_MAX);
    this.#writer = new SocketWriter(socket, (err) => this.#close(err));
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#settleReady = (error) => (error ? reject(error) : resolve());
    });
    // A failed handshake is reported through onClose too; nobody has to await `ready`.
    this.#ready.catch(() => {});
    if (reads) reads((nread, buf) => this.#onRead(nread, buf), () => (this.#state === 'closed' ? null : this.#reader.room()));
    else socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err: Error) => this.#close(err));
    socket.on('close', () => this.#close(null));
    const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    this.#handshakeTimer = setTimeout(() => this.#close(new ProtocolError(`the handshake did not complete within ${timeout} ms`, { fault: 'handshake' })), timeout);
    // The timer must not keep a process alive on its own; the socket decides that.
    this.#handshakeTimer.unref();
  }

  /** Resolves when the handshake succeeded; rejects with what failed (AuthenticationError…). */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** True once the handshake succeeded and until the link closes. */
  get open(): boolean {
    return this.#state === 'open';
  }

  /** True once closed (by either side or by an error). */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /**
   * Queue `message` for sending. Throws SerializationError when it cannot be serialized or
   * its frame would exceed the size cap; does nothing once the link is closed.
   */
  send(message: LinkMessage): void {
    if (this.#state === 'closed') return;
    let pieces: Buffer[];
    try {
      pieces = (encoder ??= new MessageEncoder()).pieces(message);
    } catch (err) {
      throw new SerializationError(`a value cannot be sent to another process: ${(err as Error).message}`, { cause: err });
    }
    let bytes = 0;
    for (const p of pieces) bytes += p.length;
    if (bytes - 4 > this.#max) {
      throw new SerializationError(`a message of ${bytes - 4} bytes exceeds the ${this.#max}-byte frame cap (maxFrameSize); send smaller values`);
    }
    for (const p of pieces) this.#out.push(p);
    this.#outBytes += bytes;
    if (this.#state !== 'open') return;
    if (this.#outBytes >= FLUSH_BYTES) this.#flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    }
  }

  /** Keep the process alive while this socket is open (a request is waiting on it). */
  ref(): void {
    if (!this.#refd && this.#state !== 'closed') this.#socket.ref();
    this.#refd = true;
  }

  /** Let the process exit even though this socket is open (nothing is waiting on it). */
  unref(): void {
    if (this.#refd && this.#state !== 'closed') this.#socket.unref();
    this.#refd = false;
  }

  /** Frames queued and not yet handed to the kernel, in bytes (0 when all went out). */
  get pending(): number {
    return this.#writer.pending + this.#outBytes;
  }

  /**
   * Write everything queued now, blocking while the kernel's buffer is full, until
   * `deadline` (performance.now() time). For process 'exit' listeners only. Returns true when
   * nothing is left; false when the link is not open (frames sent before the handshake
   * finished cannot leave) or the deadline passed.
   */
  flushSync(deadline: number): boolean {
    if (this.#state !== 'open') return this.pending === 0;
    this.#flush();
    return this.#writer.flushSync(deadline);
  }

  /** Close the link after writing what is queued. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'open') this.#flush();
    this.#close(null, true);
  }

  /** Close the link at once, reporting `error` to onClose. */
  destroy(error: Error): void {
    this.#close(error);
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#out.length === 0 || this.#state !== 'open') return;
    const out = this.#out;
    this.#out = [];
    this.#outBytes = 0;
    for (const b of out) this.#writer.push(b);
    this.#writer.drain();
  }

  #writeRaw(body: Buffer): void {
    this.#writer.push(frame(body));
    this.#writer.drain();
  }

  /**
   * A read into the socket's reused receive buffer: frames that lie whole inside it are
   * copied out one by one (a message's Buffers may point into its frame), the rest is kept
   * by the reader (copied, since `buf` is overwritten by the next read): the head of a large
   * frame straight into the buffer that frame is assembled in, so each of its bytes is
   * copied once (a queue's 256 KiB put batches and 1 MiB take replies mostly begin and end
   * inside such reads).
   */
  #onRead(nread: number, buf: Buffer): void {
    if (this.#state === 'closed') return;
    // The read landed in the frame being assembled (FrameReader.room()): nothing to copy.
    if (this.#reader.filled(buf, nread)) return this.#onData(EMPTY);
    let off = 0;
    if (!this.#reader.empty) {
      // The head of the read finishes the large frame being assembled: copied into it, that
      // frame delivered, and the rest read below as if it had come on its own (its frames
      // copied out one by one, the head of a large one straight into that one's buffer).
      off = this.#reader.complete(buf, nread);
      if (off > 0) this.#onData(EMPTY);
      if ((this.#state as LinkState) === 'closed' || off === nread) return;
    }
    if (this.#reader.empty) {
      while (nread - off >= 4) {
        // Read each time: the handshake raises the cap.
        const max = this.#reader.max;
        const length = buf.readUInt32BE(off);
        if (length > max) {
          this.#close(new ProtocolError(`frame of ${length} bytes exceeds the ${max}-byte cap`, { fault: 'frame' }));
          return;
        }
        if (nread - off - 4 < length) break;
        const f = Buffer.allocUnsafe(length);
        buf.copy(f, 0, off + 4, off + 4 + length);
        off += 4 + length;
        try {
          this.#deliver(f);
        } catch (err) {
          this.#close(err as Error);
          return;
        }
        if ((this.#state as LinkState) === 'closed') return;
      }
      if (off === nread) return;
    }
    this.#onData(buf.subarray(off, nread), true);
  }

  #deliver(f: Buffer): void {
    if (this.#state === 'handshake') {
      this.#handshakeStep!(f);
      return;
    }
    if (f.length === 0) throw new ProtocolError('an empty frame (length 0) is not a message', { fault: 'frame' });
    let message: LinkMessage;
    try {
      message = decodeMessage(f);
    } catch (err) {
      throw new ProtocolError(`undecodable frame (${(err as Error).message})`, { fault: 'codec', cause: err });
    }
    this.#options.onMessage(message);
  }

  #onData(chunk: Buffer, transient = false): void {
    if (this.#state === 'closed') return;
    this.#reader.push(chunk, transient);
    try {
      for (;;) {
        // A handler (handshake step or onMessage) may have closed the link meanwhile.
        if ((this.#state as LinkState) === 'closed') return;
        const f = this.#reader.next();
        if (f === null) return;
        this.#deliver(f);
      }
    } catch (err) {
      this.#close(err as Error);
    }
  }

  #open(): void {
    if (this.#state !== 'handshake') return;
    this.#state = 'open';
    this.#reader.max = this.#max;
    this.#handshakeStep = null;
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#settleReady(null);
    this.#flush();
  }

  /**
   * `graceful`: end the socket after what was written instead of destroying it, so a last
   * frame (a handshake "FAIL", queued replies) still reaches the peer; an unref'd timer
   * destroys it if the peer never closes its side.
   */
  #close(error: Error | null, graceful = false): void {
    if (this.#state === 'closed') return;
    const wasHandshake = this.#state === 'handshake';
    this.#state = 'closed';
    proxyLinks.delete(this);
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#out = [];
    if (graceful && !this.#socket.destroyed) {
      // End after the writer has written what it holds (a last reply, a handshake "FAIL").
      this.#writer.whenEmpty(() => this.#socket.end());
      setTimeout(() => {
        this.#writer.dispose();
        this.#socket.destroy();
      }, 2000).unref();
    } else {
      this.#writer.dispose();
      if (!this.#socket.destroyed) this.#socket.destroy();
    }
    if (wasHandshake) {
      this.#settleReady(error ?? new ProtocolError('the connection closed during the handshake', { fault: 'handshake' }));
    }
    this.#options.onClose(error);
  }

  /** @internal Proxy side of the handshake; `where` names the host in messages. */
  startClient(key: Buffer, where: string): void {
    this.#handshakeStep = (hello) => {
      if (hello.length >= BUSY.length && hello.subarray(0, BUSY.length).equals(BUSY)) {
        // The reason is the peer's text: shown printable and bounded, never interpreted.
        const reason = hello.subarray(BUSY.length, BUSY.length + BUSY_REASON_MAX).toString('utf8').replace(/[^\x20-\x7e]/g, '?');
        throw new HostBusyError(
          `the host at ${where} refused the connection: ${reason || 'too many connections are waiting to authenticate there'}. ` +
            'It is running; try again later, or raise its maxPendingHandshakes / maxPendingPerAddress if that many clients are legitimate',
        );
      }
      const sep = hello.indexOf(0);
      const version = sep === -1 ? '' : hello.subarray(0, sep).toString('latin1');
      if (version !== PROTOCOL) {
        if (version.startsWith('multiproc/')) {
          throw versionMismatch(version, 'the host');
        }
        throw new ProtocolError('the peer is not a multiproc host (unexpected greeting)', { fault: 'handshake' });
      }
      const hostNonce = hello.subarray(sep + 1);
      if (hostNonce.length !== NONCE) throw new ProtocolError('malformed greeting from the host', { fault: 'handshake' });
      const proxyNonce = randomBytes(NONCE);
      this.#writeRaw(Buffer.concat([hmac(key, 'multiproc proxy', hostNonce), proxyNonce]));
      this.#handshakeStep = (answer) => {
        if (answer.equals(FAIL)) {
          throw new AuthenticationError('the host rejected our authkey: this handle or address was given a different key than the host uses (Python: AuthenticationError: digest received was wrong)');
        }
        const expected = hmac(key, 'multiproc host', proxyNonce);
        if (answer.length !== NONCE + 4 || !timingSafeEqual(answer.subarray(0, NONCE), expected)) {
          throw new AuthenticationError('the host could not prove it knows the authkey; refusing to talk to it');
        }
        this.peerPid = answer.readUInt32BE(NONCE);
        this.#open();
      };
    };
  }

  /** @internal Host side of the handshake. */
  startServer(key: Buffer): void {
    const hostNonce = randomBytes(NONCE);
    const greeting = Buffer.concat([Buffer.from(PROTOCOL, 'latin1'), Buffer.from([0]), hostNonce]);
    this.#writeRaw(greeting);
    this.#handshakeStep = (answer) => {
      const expected = hmac(key, 'multiproc proxy', hostNonce);
      if (answer.length !== 2 * NONCE || !timingSafeEqual(answer.subarray(0, NONCE), expected)) {
        this.#writeRaw(FAIL);
        this.#close(new AuthenticationError('a client failed the authkey challenge (wrong authkey)'), true);
        return;
      }
      const reply = Buffer.allocUnsafe(NONCE + 4);
      hmac(key, 'multiproc host', answer.subarray(NONCE)).copy(reply, 0);
      reply.writeUInt32BE(process.pid, NONCE);
      this.#writeRaw(reply);
      this.#open();
    };
  }
}

/** Options of connect(). */
export interface ConnectOptions extends LinkOptions {
  /**
   * Start with the socket unref'd (nothing waits on it yet); call `ref()` when a request
   * is pending. @default false
   */
  unref?: boolean;
}

/**
 * Connect to a host and run the proxy side of the handshake. Returns at once; `link.ready`
 * settles when the handshake is done. A wrong key rejects `ready` with AuthenticationError
 * (and calls onClose with it); a host that is gone rejects it with the socket error
 * (ENOENT / ECONNREFUSED).
 * Python: multiprocessing.connection.Client(address, authkey=...).
 *
 * @example
 * const link = connect({ host: '127.0.0.1', port: 50000 }, 'secret', { onMessage, onClose });
 * await link.ready;
 */
export function connect(address: Address, authkey: Buffer | string, options: ConnectOptions): Link {
  const key = toKey(authkey);
  // Reads land in one reused buffer and go straight to the link, bypassing the Readable
  // stream machinery ('data' events, a fresh buffer per read). While a large frame is being
  // assembled, they land in that frame's own buffer instead (node asks for the buffer of each
  // read after the previous one), so its bytes are not copied out of the reused one.
  const reads = directReads();
  const { onread } = reads;
  const socket = typeof address === 'string' ? createConnection({ path: address, onread }) : createConnection({ host: address.host, port: address.port, noDelay: true, onread });
  const link = new Link(socket, options, reads.bind);
  if (options.unref) link.unref();
  link.startClient(key, formatAddress(address));
  proxyLinks.add(link);
  unhookExit ??= onExit('links', flushProxyLinks);
  return link;
}


/**
 * An `onread` option for a socket, and the Link constructor's `reads` argument that plugs
 * the Link into it: reads land in one reused buffer, or in the frame being assembled.
 */
function directReads(): { onread: OnRead; bind: (onRead: (nread: number, buf: Buffer) => void, room: () => Buffer | null) => void } {
  let onRead: (nread: number, buf: Buffer) => void = () => {};
  let room: () => Buffer | null = () => null;
  const recv = Buffer.allocUnsafe(RECV_BUFFER);
  return {
    onread: { buffer: () => room() ?? recv, callback: (nread, buf) => onRead(nread, buf) },
    bind: (fn, target) => {
      onRead = fn;
      room = target;
    },
  };
}

/** Proxy-side links not closed yet: what they hold is written at exit. */
const proxyLinks = new Set<Link>();
let unhookExit: (() => void) | null = null;

/**
 * The 'links' exit hook: write what every proxy-side link holds (the queues' buffered puts
 * and acknowledgements were moved into them by the 'buffers' hooks just before). A host
 * that does not read within EXIT_FLUSH_MS costs what is left, said on stderr: at exit there
 * is no event loop left for a process warning.
 */
function flushProxyLinks(): void {
  const deadline = performance.now() + EXIT_FLUSH_MS;
  let left = 0;
  for (const link of proxyLinks) if (!link.flushSync(deadline)) left += link.pending;
  if (left > 0) {
    try {
      writeSync(2, `multiproc (pid ${process.pid}): ${left} bytes of messages to other processes could not be written before exit (a host did not read them within ${EXIT_FLUSH_MS} ms, or a connection was still authenticating)\n`);
    } catch {}
  }
}

/**
 * Run the host side of the handshake on an accepted socket. The link starts unref'd: a host
 * never keeps its process alive for a client's sake. A client with the wrong key gets "FAIL"
 * and the link closes with AuthenticationError (reported to onClose); one that has not
 * answered within `handshakeTimeout` is dropped (onClose with a protocol error).
 * Python: multiprocessing.connection.Listener(address, authkey=...).accept().
 *
 * @example
 * createServer((socket) => accept(socket, key, { onMessage, onClose }));
 */
export function accept(socket: Socket, authkey: Buffer | string, options: LinkOptions): Link {
  const reads = directReads();
  const own = adoptReads(socket, reads.onread);
  const link = own === null ? new Link(socket, options) : new Link(own, options, reads.bind);
  link.unref();
  link.startServer(toKey(authkey));
  return link;
}

/**
 * Turn a client away before the handshake: send the refusal frame ("BUSY", 0, `reason`) in
 * place of the greeting, then close. The client's handshake fails with HostBusyError quoting
 * `reason`. The socket is destroyed as soon as the frame is handed to the kernel, so a
 * refused connection holds its file descriptor no longer than one write.
 * Python: no equivalent (a Listener's backlog refuses at the TCP level).
 *
 * @example
 * createServer((socket) => (tooMany ? refuse(socket, 'too many connections are waiting') : accept(socket, key, options)));
 */
export function refuse(socket: Socket, reason: string): void {
  // The peer may reset meanwhile: that error ends nothing but this socket.
  socket.on('error', () => socket.destroy());
  socket.unref();
  socket.end(frame(Buffer.concat([BUSY, Buffer.from(reason, 'utf8').subarray(0, BUSY_REASON_MAX)])), () => socket.destroy());
}
