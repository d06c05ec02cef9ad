// multiprocessing.connection's Listener and Client: two processes (related or not) talk over
// a socket of their own, a unix path or TCP, authenticated with a shared key. Runs in the
// process that listens (Listener) and in the one that connects (Client).
//
// Both ends are src/remote/link.ts's Link: the same framing, frame cap and challenge-response
// handshake on the authkey as a manager's connections (so a wrong key is AuthenticationError
// at the client, and a listener busy with too many unaccepted connections refuses new ones
// with HostBusyError). What travels once the link is open is src/protocol/connection.ts's
// ConnectionMessage, read by a SocketChannel (src/queue/socket-channel.ts) behind an ordinary
// Connection (src/queue/pipe.ts). Not wire-compatible with Python's multiprocessing.connection
// (another handshake, structured clone instead of pickle).
//
// The listening socket accepts and authenticates eagerly: accept() hands out connections that
// passed the handshake, in arrival order; a client that fails it is dropped (a process
// warning, MP_HOST_DROPPED) and accept() keeps waiting. The server is unref'd unless an
// accept() (or a wait() on the listener) is pending: a forgotten Listener never keeps a
// program alive. A unix socket path is removed by close() and at exit (src/remote/socket-dir.ts).

import { createServer, type Server, type Socket } from 'node:net';
import { debug, warn } from '../diagnostics.ts';
import { invalidArg, invalidRange, InvalidStateError, TimeoutError } from '../errors.ts';
import { checkOptionNames, checkSignal, checkTimeout, optionNames } from '../options.ts';
import { accept, connect, DEFAULT_HANDSHAKE_TIMEOUT, formatAddress, refuse, toKey, type Address } from '../remote/link.ts';
import { boundSocket, privateSocketPath, restrictSocket, type SocketFile } from '../remote/socket-dir.ts';
import { abortError, Waiter } from '../remote/waiter.ts';
import { overSocket, type Connection } from './pipe.ts';
import { SocketChannel } from './socket-channel.ts';
import { readyWhen, type Waitable } from './wait.ts';

/** Options of `new Listener()`. */
export interface ListenerOptions {
  /** The key clients must prove they know (never sent). Required: every link authenticates. */
  authkey: Buffer | Uint8Array | string;
  /**
   * Most connections accepted by the socket and not yet returned by accept() (still
   * authenticating, or waiting for it); beyond it a new one is refused and its Client()
   * rejects with HostBusyError. @default 128
   */
  backlog?: number;
  /** Largest message accepted or sent, in bytes. @default 67108864 (64 MiB) */
  maxFrameSize?: number;
  /** Drop a client that has not completed the handshake within this many ms. @default 20000 */
  handshakeTimeout?: number;
}

/** Options of `Client()`. */
export interface ClientOptions {
  /** The key the Listener uses. Required. */
  authkey: Buffer | Uint8Array | string;
  /** Largest message accepted or sent, in bytes. @default 67108864 (64 MiB) */
  maxFrameSize?: number;
  /** Give up when the handshake has not completed within this many ms. @default 20000 */
  handshakeTimeout?: number;
}

/** Options of `accept()`. */
export interface AcceptOptions {
  /** Wait at most this long (ms), then reject with TimeoutError. @default no limit */
  timeout?: number;
  /** Stop waiting: rejects with CancelledError. */
  signal?: AbortSignal;
}

const DEFAULT_BACKLOG = 128;

function checkAddress(address: unknown, what: string): Address {
  if (typeof address === 'string') {
    if (address.length === 0) throw invalidArg(`${what}: address must not be empty`);
    return address;
  }
  if (typeof address === 'object' && address !== null) {
    const { host, port } = address as { host?: unknown; port?: unknown };
    if (typeof host === 'string' && typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535) return { host, port };
  }
  throw invalidArg(`${what}: address must be a unix socket path or { host: string, port: integer 0-65535 }`);
}

// The names each options object may have (checkOptionNames: any other is refused, not ignored).
const LISTENER_OPTIONS = optionNames<ListenerOptions>({ authkey: true, backlog: true, maxFrameSize: true, handshakeTimeout: true });
const CLIENT_OPTIONS = optionNames<ClientOptions>({ authkey: true, maxFrameSize: true, handshakeTimeout: true });
const ACCEPT_OPTIONS = optionNames<AcceptOptions>({ timeout: true, signal: true });

function checkOptions<O extends { authkey: unknown; maxFrameSize?: unknown; handshakeTimeout?: unknown }>(options: O | undefined, what: string, names: readonly string[]): O & { key: Buffer } {
  checkOptionNames(options, names, what);
  if (typeof options !== 'object' || options === null || options.authkey === undefined) {
    throw invalidArg(`${what} needs { authkey }: every multiproc connection authenticates (Python's Listener/Client without an authkey accept anyone)`);
  }
  for (const name of ['maxFrameSize', 'handshakeTimeout'] as const) {
    const v = options[name];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) throw invalidRange(`${what}: ${name} must be a positive integer, got ${String(v)}`);
  }
  return { ...options, key: toKey(options.authkey as Buffer | string) };
}

/**
 * Listens on a unix socket path or a TCP address for Client() connections that know the
 * authkey; accept() hands each one out as a Connection.
 * Python: multiprocessing.connection.Listener(address, family, backlog, authkey) — async
 * accept(); an authkey is required; a client with the wrong key is dropped here (its Client()
 * rejects with AuthenticationError) instead of making accept() raise; no address: a fresh
 * private unix socket (read `listener.address`); TCP with port 0 picks a free port (known once
 * `ready` resolved). Not wire-compatible with Python's Client.
 * Rejects with: InvalidStateError (accept() after close()), TimeoutError, CancelledError, the
 * socket's error from `ready` and accept() (EADDRINUSE…). Throws TypeError / RangeError
 * (MP_INVALID_ARG) for a bad address or options.
 *
 * @example
 * await using listener = new Listener({ host: '127.0.0.1', port: 0 }, { authkey: 'secret' });
 * await listener.ready;
 * // elsewhere: const conn = await Client(listener.address, { authkey: 'secret' });
 * await using conn = await listener.accept();
 * console.log(await conn.recv());
 */
export class Listener implements Waitable, AsyncDisposable {
  #address: Address;
  readonly #key: Buffer;
  readonly #backlog: number;
  readonly #maxFrame: number | undefined;
  readonly #handshakeTimeout: number;
  readonly #server: Server;
  /** The unix socket file to remove at close() and exit, once bound. */
  #socketFile: SocketFile | null = null;
  /** Authenticated connections not yet handed out by accept(), oldest first. */
  readonly #ready: Array<{ link: SocketChannel; from: Address | null }> = [];
  readonly #acceptors = new Set<Waiter<void>>();
  /** Connections still in the handshake. */
  #handshaking = 0;
  #closed = false;
  #closing: Promise<void> | null = null;
  #lastAccepted: Address | null = null;
  #refs = 0;
  #listenError: Error | null = null;
  /** Resolves once the socket listens (then `address` is final); rejects with the listen error. */
  readonly ready: Promise<void>;

  constructor(options: ListenerOptions);
  constructor(address: Address | null | undefined, options: ListenerOptions);
  constructor(addressOrOptions: Address | ListenerOptions | null | undefined, maybeOptions?: ListenerOptions) {
    const optionsFirst = maybeOptions === undefined && typeof addressOrOptions === 'object' && addressOrOptions !== null && 'authkey' in addressOrOptions;
    const options = checkOptions(optionsFirst ? (addressOrOptions as ListenerOptions) : maybeOptions, 'new Listener()', LISTENER_OPTIONS);
    const given = optionsFirst ? undefined : (addressOrOptions as Address | null | undefined);
    const backlog = options.backlog ?? DEFAULT_BACKLOG;
    if (!Number.isInteger(backlog) || backlog < 1) throw invalidRange(`new Listener(): backlog must be a positive integer, got ${String(backlog)}`);
    this.#backlog = backlog;
    this.#key = options.key;
    this.#maxFrame = options.maxFrameSize;
    this.#handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    let address: Address;
    if (given === undefined || given === null) {
      // Python picks a fresh address too; here a unix socket in a private 0700 directory.
      this.#socketFile = privateSocketPath();
      address = this.#socketFile.path;
    } else {
      address = checkAddress(given, 'new Listener(address)');
    }
    this.#address = address;
    const server = createServer((socket) => this.#onConnection(socket));
    this.#server = server;
    this.ready = new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        this.#listenError = err;
        this.#socketFile?.remove();
        for (const w of [...this.#acceptors]) w.reject(err);
        reject(err);
      };
      server.once('error', onError);
      const onListening = () => {
        server.off('error', onError);
        server.on('error', (err: Error) => warn('MP_HOST_LISTEN', `multiproc Listener (pid ${process.pid}) at ${formatAddress(this.#address)}: the listening socket failed: ${err.message}`));
        const bound = server.address();
        if (typeof this.#address !== 'string' && bound && typeof bound === 'object') this.#address = { host: this.#address.host, port: bound.port };
        resolve();
      };
      if (typeof address === 'string') {
        server.listen(address, onListening);
        if (this.#socketFile) restrictSocket(address);
        else if (server.listening) this.#socketFile = boundSocket(address);
      } else {
        server.listen(address.port, address.host, onListening);
      }
    });
    // Reported by accept() and by whoever awaits `ready`; never an unhandled rejection.
    this.ready.catch(() => {});
    server.unref();
  }

  /** Where the listener listens: the path, or `{ host, port }` (the real port once `ready`). Python: Listener.address. */
  get address(): Address {
    return this.#address;
  }

  /** The peer address of the last connection accept() returned (TCP `{ host, port }`; null for a unix socket). Python: Listener.last_accepted. */
  get lastAccepted(): Address | null {
    return this.#lastAccepted;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Keep the process alive while `n` accept()/wait() calls wait here. */
  #hold = (): (() => void) => {
    if (this.#refs++ === 0) this.#server.ref();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.#refs === 0) this.#server.unref();
    };
  };

  #onConnection(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    // Each connection holds a descriptor and a timer until it authenticates and is taken:
    // beyond the backlog, new ones are told why and closed at once.
    if (this.#handshaking + this.#ready.length >= this.#backlog) {
      const reason = `the Listener has ${this.#backlog} connections not accepted yet (its backlog)`;
      refuse(socket, reason);
      warn('MP_HOST_REFUSED', `multiproc Listener (pid ${process.pid}) at ${formatAddress(this.#address)} refused a connection: ${reason}`);
      return;
    }
    const from: Address | null = socket.remoteAddress && socket.remotePort !== undefined ? { host: socket.remoteAddress, port: socket.remotePort } : null;
    this.#handshaking++;
    const channel = new SocketChannel((handlers) => accept(socket, this.#key, { ...handlers, maxFrameSize: this.#maxFrame, handshakeTimeout: this.#handshakeTimeout }));
    channel.link.ready.then(
      () => {
        this.#handshaking--;
        if (this.#closed) {
          channel.close();
          return;
        }
        this.#ready.push({ link: channel, from });
        const acceptor = this.#acceptors.values().next().value;
        if (acceptor) acceptor.resolve();
      },
      (err: Error) => {
        this.#handshaking--;
        const line = `multiproc Listener (pid ${process.pid}) at ${formatAddress(this.#address)}: dropped a connection${from ? ` from ${formatAddress(from)}` : ''} that failed the handshake: ${err.message}`;
        if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') debug('%s', line);
        else warn('MP_HOST_DROPPED', line);
      },
    );
  }

  /** Wait until a connection is ready to be taken (or the listener closes / `timeout` passes). */
  #whenReady(timeout: number | undefined, signal: AbortSignal | undefined, what: string, onTimeout: (w: Waiter<void>) => void): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError(what));
    if (this.#listenError) return Promise.reject(this.#listenError);
    if (this.#ready.length > 0) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(abortError(signal, what));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter<void> = new Waiter(resolve, reject, () => this.#acceptors.delete(w));
      this.#acceptors.add(w);
      w.arm({ timeout, signal, hold: this.#hold }, () => onTimeout(w), what);
    });
  }

  #closedError(what: string): InvalidStateError {
    return new InvalidStateError(`${what}: the Listener was closed (Python: OSError)`);
  }

  /**
   * The next connection from a Client that passed the authkey handshake, waiting for one.
   * Python: Listener.accept().
   * Rejects with InvalidStateError (closed), TimeoutError (`timeout`), CancelledError
   * (`signal`), the listen error (EADDRINUSE…).
   */
  async accept<T = unknown>(options: AcceptOptions = {}): Promise<Connection<T>> {
    if (typeof options !== 'object' || options === null) throw invalidArg('accept(options): options must be an object like { timeout: 1000 }');
    checkOptionNames(options, ACCEPT_OPTIONS, 'accept()');
    const timeout = checkTimeout(options.timeout, 'accept()');
    const signal = checkSignal(options.signal, 'accept()');
    for (;;) {
      await this.#whenReady(timeout, signal, 'accept()', (w) => w.reject(new TimeoutError(`accept() timed out after ${timeout} ms: no client connected`, { timeout })));
      const next = this.#ready.shift();
      // Another accept() took it between the wake-up and here: wait again.
      if (!next) continue;
      this.#lastAccepted = next.from;
      return overSocket<T>(next.link);
    }
  }

  /** For wait(): a connection is waiting to be accepted, waiting up to `timeout` ms. */
  [readyWhen](timeout: number | undefined, signal?: AbortSignal): Promise<boolean> {
    if (this.#ready.length > 0) return Promise.resolve(true);
    if (timeout === 0 && !this.#closed) return Promise.resolve(false);
    let timedOut = false;
    return this.#whenReady(timeout, signal, 'wait()', (w) => {
      timedOut = true;
      w.resolve();
    }).then(() => !timedOut);
  }

  /**
   * Stop listening: the socket (and a unix socket's file) goes away, connections not accepted
   * yet are closed, pending accept() calls reject with InvalidStateError. Connections already
   * accepted stay open. Idempotent.
   * Python: Listener.close().
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    for (const { link } of this.#ready.splice(0)) link.close();
    for (const w of [...this.#acceptors]) w.reject(this.#closedError('accept()'));
    // The listening socket closes now; the server's callback would wait for the connections
    // already accepted, which stay open (as Python's Listener.close() leaves them).
    if (this.#server.listening) this.#server.close(() => {});
    this.#socketFile?.remove();
    this.#closing = Promise.resolve();
    return this.#closing;
  }

  /** `await using listener = new Listener(...)`: close(). Python: `with Listener(...) as listener:`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  get [Symbol.toStringTag](): string {
    return 'Listener';
  }
}

/**
 * Connect to a Listener at `address` and authenticate with `authkey`; resolves with the
 * Connection once the handshake succeeded.
 * Python: multiprocessing.connection.Client(address, family, authkey) — async; an authkey is
 * required. Not wire-compatible with Python's Listener.
 * Rejects with AuthenticationError (wrong authkey), HostBusyError (the listener's backlog is
 * full), the socket's error (ENOENT, ECONNREFUSED: nothing listens there). Throws TypeError /
 * RangeError (MP_INVALID_ARG) for a bad address or options.
 *
 * @example
 * await using conn = await Client({ host: '127.0.0.1', port: 6000 }, { authkey: 'secret' });
 * await conn.send({ hello: 'world' });
 */
export async function Client<T = unknown>(address: Address, options: ClientOptions): Promise<Connection<T>> {
  const where = checkAddress(address, 'Client(address)');
  const { key, maxFrameSize, handshakeTimeout } = checkOptions(options, 'Client()', CLIENT_OPTIONS);
  const channel = new SocketChannel((handlers) => connect(where, key, { ...handlers, maxFrameSize, handshakeTimeout, unref: true }));
  // The handshake is what this call waits for: keep the process alive meanwhile.
  channel.link.ref();
  try {
    await channel.link.ready;
  } finally {
    channel.link.unref();
  }
  return overSocket<T>(channel);
}
