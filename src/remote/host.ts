// Serves the shared objects this process owns to other processes. Host side; the proxy side
// is src/remote/client.ts, the socket's place and cleanup src/remote/socket-dir.ts.
//
// API, for the objects of src/queue/ and for src/manager/:
//
//   Host side
//     const host = localHost();            per-process host on a unix socket in a private
//                                          directory (listens once its first handle is made;
//                                          unref'd, random authkey, removed at exit)
//     const host = new Host({ address?, authkey?, keepAlive?, maxPendingHandshakes?, … });
//     await host.listen();                 any other host: a unix path or { host, port }
//                                          (port 0 picks one; read host.address after listen)
//     const id = host.register(target, { kind, exposed: ['get', 'put'], context?, meta?, onRelease? })
//                                          remote callers may invoke exactly the `exposed`
//                                          methods of `target`, by name. With `context: true`
//                                          each call receives a CallContext first:
//                                          { connection, signal, onClose(fn) }. A method may
//                                          return a Promise; the reply goes out when it settles.
//     host.handle(id)                      the serializable Handle (takes a transit lease)
//     host.bind(owner, id) -> release      a local reference held while `owner` is reachable
//     host.mirror(source, id)              serve another host's object here too (a manager
//                                          re-serving a Queue its factory made)
//     host.callLocal(id, method, args)     a call from this very process, as a remote one
//     host.lookup(id), host.unregister(id), host.close(), Host.find(address)
//
// Reference counting, so a long-running host does not leak: an object is released (dropped,
// `onRelease` called) when its count reaches zero. The count is the sum of
//   local refs      host.bind(owner, id): the owner object in this process, dropped when the
//                   owner is garbage collected (FinalizationRegistry) or released explicitly;
//   remote refs     'incref' / 'decref' per connection; a connection that closes drops its refs;
//   transit leases  taken when a handle is serialized (host.handle(), or a proxy's 'lease'),
//                   so an object stays alive while its handle travels to another process;
//                   the receiver claims the lease ('incref' with claim), or it expires.
//
// Leases cost no timer each (src/remote/leases.ts): bounded by objects, not by messages.
// Liveness: the listening server and every accepted connection are unref'd (unless
// `keepAlive`), so hosting objects never keeps a process alive; a client socket is ref'd only
// while one of its calls awaits a reply. When a connection closes, the signals of its pending
// calls abort (blocked waiters drop out and nothing is handed to a dead peer) and its onClose
// hooks run (a lock held by a process that died is released there).
//
// What a peer can make a host do (anyone who can connect, and an authenticated client):
//   before authenticating  at most maxPendingHandshakes connections (and maxPendingPerAddress
//                          per TCP peer address) wait in the handshake; more are refused with
//                          a "BUSY" frame (the client gets HostBusyError) and closed at once;
//                          a waiting one is dropped after handshakeTimeout. Authenticated
//                          connections are never refused.
//   frames                 capped at maxFrameSize, and buffered as they arrive
//                          (src/remote/link.ts), never preallocated from a header.
//   handles in call args   revived (a proxy, maybe a new connection) only when they point at
//                          a Host of this process or at a host this process already has a live
//                          connection to (with the same key); any other handle stays an opaque
//                          ForeignHandle that is sent on as the same handle. So a client cannot
//                          make a host dial an address of its choosing.
// Unix sockets: a default host listens in a private directory (0700, socket 0600) removed at
// close and exit; see src/remote/socket-dir.ts.
// Diagnostics go through src/diagnostics.ts: NODE_DEBUG=multiproc for every event,
// rate-limited process warnings (MP_HOST_*) for what nobody else can be told.

import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { debug, warn } from '../diagnostics.ts';
import { CancelledError, invalidArg, invalidRange, InvalidStateError, QueueClosed, ReleasedError } from '../errors.ts';
import { decodeError, encodeError, PROTOCOL, unsendable, type FromHost, type Handle, type ToHost } from '../protocol/index.ts';
import { isThenable } from '../util.ts';
import { HostClient } from './client.ts';
import { encodeHandles, ForeignHandle, noteShareable, reviveHandles, reviverModuleOf, toHandle, type Shareable } from './handle.ts';
export { ForeignHandle } from './handle.ts';
export type { CallContext } from './context.ts';
import { LocalWaits, type CallContext } from './context.ts';
import { Leases, type Leased } from './leases.ts';
import { accept, addressKey, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_FRAME, formatAddress, refuse, toKey, type Address, type Link } from './link.ts';
import { boundSocket, privateSocketPath, restrictSocket, sweepStaleSockets, type SocketFile } from './socket-dir.ts';

export { formatAddress, type Address } from './link.ts';
export { HostClient, defer, undefer, type RemoteCallOptions, type Deferred } from './client.ts';

/** Options of `host.register()`. */
export interface HostRegisterOptions {
  /** The kind recorded in handles ('queue', 'lock', 'manager.list'…): picks the proxy class. */
  kind: string;
  /** Method names a remote caller may invoke; anything else is refused. */
  exposed: readonly string[];
  /** Pass a CallContext as the first argument of every remote call. @default false */
  context?: boolean;
  /** An id to use instead of a generated one; must be unused on this host. */
  id?: string;
  /** Facts copied into every handle (`handle.meta`): what a proxy needs without a round trip. */
  meta?: Record<string, unknown>;
  /** Called once when the last reference is dropped and the object is forgotten. */
  onRelease?: () => void;
}

/** Options of `new Host()`. */
export interface HostOptions {
  /**
   * A unix socket path, or `{ host, port }` for TCP (port 0 picks a free port).
   * @default `host.sock` in a fresh directory `multiproc-<pid>-XXXXXX` under os.tmpdir(),
   * the directory 0700 and the socket 0600, both removed at close() or exit
   */
  address?: Address;
  /** The key clients must prove they know. @default 32 random bytes */
  authkey?: Buffer | string;
  /** Largest frame accepted, in bytes. @default 67108864 (64 MiB) */
  maxFrameSize?: number;
  /**
   * Keep the process alive while listening (a manager server process); by default a host
   * never does, so hosting a queue does not stop a program from exiting. @default false
   */
  keepAlive?: boolean;
  /**
   * How long a serialized handle keeps its object alive before a process claims it, ms (a
   * lease ends within two sweep steps after this: 2 s at the default). @default 60000
   */
  leaseTimeout?: number;
  /**
   * Most connections waiting in the handshake at once (not yet authenticated). Beyond it a
   * new connection is refused: it gets a "BUSY" frame instead of the greeting and is closed,
   * and the client's call rejects with HostBusyError. Authenticated clients are never
   * refused. @default 256
   */
  maxPendingHandshakes?: number;
  /** Most connections from one TCP peer address waiting in the handshake at once. @default 64 */
  maxPendingPerAddress?: number;
  /** Drop a connection that has not completed the handshake within this many ms. @default 20000 */
  handshakeTimeout?: number;
}

/** Default of HostOptions.maxPendingHandshakes. */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 256;
/** Default of HostOptions.maxPendingPerAddress. */
export const DEFAULT_MAX_PENDING_PER_ADDRESS = 64;

interface Entry extends Leased {
  readonly id: string;
  readonly target: object;
  readonly kind: string;
  readonly exposed: ReadonlySet<string>;
  readonly context: boolean;
  readonly meta: Record<string, unknown> | undefined;
  readonly onRelease: (() => void) | undefined;
  local: number;
  remote: number;
  released: boolean;
}

interface Conn {
  readonly id: number;
  link: Link;
  open: boolean;
  /** References this connection holds, by object id. */
  readonly refs: Map<string, number>;
  /** Pending calls whose method asked for a signal, by request id. */
  readonly calls: Map<number, AbortController>;
  readonly hooks: Set<() => void>;
}

/** CallContext.keepAlive of a remote caller: its own connection keeps it alive. */
const keepNothing = (): (() => void) => noop;
const noop = (): void => {};
const hosts = new Map<string, Host>();
/**
 * Connection numbers are unique in the process, not per host: an object served by two hosts
 * (Host.mirror) tells its callers apart by CallContext.connection.
 */
let nextConn = 0;

/** Structured clone with handles, as a value crossing a process boundary is copied. */
function copyValue<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const encoded = encodeHandles(value);
  const cloned = structuredClone(encoded.value);
  return encoded.handles ? reviveHandles(cloned) : cloned;
}

/** An error thrown by a local call, as a remote call would have rejected with it. */
function asReceived(err: unknown): Error {
  return decodeError(encodeError(err));
}

/** Errors worth a warning: a peer that simply died (reset, broken pipe) is not. */
function worthWarning(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code !== 'ECONNRESET' && code !== 'EPIPE' && code !== 'ETIMEDOUT';
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw invalidRange(`Host option ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

const finalizer = new FinalizationRegistry<() => void>((release) => release());

/**
 * Serves objects of this process to other processes over a framed, authenticated socket.
 * Python: multiprocessing.managers.Server (the object server behind BaseManager), minus the
 * thread per connection: one event loop serves every connection.
 * Rejects/throws: `listen()` rejects with the socket error (EADDRINUSE…); `register()` throws
 * TypeError for a duplicate id.
 *
 * @example
 * const host = new Host({ address: { host: '127.0.0.1', port: 0 }, authkey: 'secret' });
 * await host.listen();
 * const id = host.register(new Map(), { kind: 'map', exposed: ['get', 'set'] });
 * const handle = host.handle(id); // send it to another process
 */
export class Host {
  /** null: a default path, made (with its private directory) when first needed. */
  #address: Address | null;
  readonly #authkey: Buffer;
  readonly #maxFrame: number;
  readonly #keepAlive: boolean;
  /** Leases expiring within one step share a record; the sweep runs every step. */
  readonly #maxPending: number;
  readonly #maxPendingPerAddress: number;
  readonly #handshakeTimeout: number;
  readonly #objects = new Map<string, Entry>();
  readonly #conns = new Set<Conn>();
  readonly #leases: Leases<Entry>;
  /** Connections still in the handshake, overall and by TCP peer address. */
  #pending = 0;
  readonly #pendingFrom = new Map<string, number>();
  #server: Server | null = null;
  #listening: Promise<void> | null = null;
  #closed = false;
  #nextId = 0;
  /** Removes this host's socket (and private directory): at close() or at process exit. */
  /** The socket file to remove at close and exit, once there is one. */
  #socketFile: SocketFile | null = null;
  readonly #defaultPath: boolean;

  constructor(options: HostOptions = {}) {
    this.#defaultPath = options.address === undefined;
    this.#address = options.address ?? null;
    if (this.#address !== null && typeof this.#address !== 'string') {
      const { host, port } = this.#address;
      if (typeof host !== 'string' || !Number.isInteger(port) || port < 0 || port > 65535) throw invalidArg('Host address must be a socket path or { host: string, port: integer 0-65535 }');
      this.#address = { host, port };
    }
    this.#authkey = options.authkey === undefined ? randomBytes(32) : toKey(options.authkey);
    this.#maxFrame = options.maxFrameSize ?? DEFAULT_MAX_FRAME;
    this.#keepAlive = options.keepAlive ?? false;
    this.#leases = new Leases<Entry>(options.leaseTimeout ?? 60_000, (entry) => this.#maybeRelease(entry), () => this.#localWaits.update());
    this.#maxPending = positiveInt(options.maxPendingHandshakes, DEFAULT_MAX_PENDING_HANDSHAKES, 'maxPendingHandshakes');
    this.#maxPendingPerAddress = positiveInt(options.maxPendingPerAddress, DEFAULT_MAX_PENDING_PER_ADDRESS, 'maxPendingPerAddress');
    this.#handshakeTimeout = positiveInt(options.handshakeTimeout, DEFAULT_HANDSHAKE_TIMEOUT, 'handshakeTimeout');
  }

  /** The host registered in this process at `address`, if any: calls to it need no socket. */
  static find(address: Address): Host | undefined {
    return hosts.get(addressKey(address));
  }

  /**
   * Where this host listens (for TCP with port 0, the real port once listening). A default
   * host's private directory is made on first use of its address.
   */
  get address(): Address {
    return this.#where();
  }

  #where(): Address {
    this.#address ??= this.#privatePath();
    return this.#address;
  }

  /**
   * A fresh directory only this user can enter, for the socket. mkdtemp makes it 0700; the
   * chmod makes sure of it under any umask. From here on the directory is removed at exit.
   */
  #privatePath(): string {
    this.#socketFile = privateSocketPath();
    return this.#socketFile.path;
  }

  /** The key clients authenticate with. */
  get authkey(): Buffer {
    return this.#authkey;
  }

  /**
   * Start listening. Resolves once connections are accepted; rejects with the socket error
   * (EADDRINUSE, EACCES). Idempotent.
   */
  listen(): Promise<void> {
    if (this.#closed) return Promise.reject(new InvalidStateError('Host.listen() after close()'));
    if (this.#listening) return this.#listening;
    let address: Address;
    try {
      address = this.#where();
    } catch (err) {
      // No private directory (tmpdir full or not writable): nothing was bound.
      return Promise.reject(err);
    }
    const server = createServer((socket) => this.#onConnection(socket));
    this.#server = server;
    this.#listening = new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        hosts.delete(addressKey(this.#where()));
        reject(err);
      };
      server.once('error', onError);
      const onListening = () => {
        server.off('error', onError);
        // A listening server that fails later (EMFILE on accept: the process is out of file
        // descriptors) must not crash the process; connections already open keep working.
        server.on('error', (err: Error) => warn('MP_HOST_LISTEN', `multiproc host (pid ${process.pid}) at ${formatAddress(this.#where())}: the listening socket failed: ${err.message}`));
        const bound = server.address();
        const current = this.#where();
        if (typeof current !== 'string' && bound && typeof bound === 'object') {
          hosts.delete(addressKey(current));
          this.#address = { host: current.host, port: bound.port };
          hosts.set(addressKey(this.#address), this);
        }
        resolve();
      };
      if (typeof address === 'string') {
        const path = address;
        // For a unix socket, listen() binds synchronously: the path accepts connections as
        // soon as this returns, which lets localHost() hand out handles without awaiting.
        server.listen(path, onListening);
        if (this.#defaultPath) {
          // Removal at exit was arranged with the directory.
          restrictSocket(path);
          void sweepStaleSockets();
        } else if (server.listening) {
          // Bound by us (a path in use fails instead, and must then be left to its owner).
          this.#socketFile = boundSocket(path);
        }
      } else {
        server.listen(address.port, address.host, onListening);
      }
    });
    hosts.set(addressKey(address), this);
    if (!this.#keepAlive) server.unref();
    return this.#listening;
  }

  /**
   * Serve `target`: remote callers may invoke its `exposed` methods by name. Returns the
   * object id. Throws TypeError (MP_INVALID_ARG) for a duplicate id or a bad option.
   */
  register(target: object, options: HostRegisterOptions): string {
    if (typeof target !== 'object' && typeof target !== 'function') throw invalidArg('Host.register() expects an object');
    if (typeof options?.kind !== 'string' || !Array.isArray(options.exposed)) throw invalidArg('Host.register() needs { kind: string, exposed: string[] }');
    const id = options.id ?? `${options.kind}-${++this.#nextId}`;
    if (this.#objects.has(id)) throw invalidArg(`Host.register(): id '${id}' is already in use`);
    this.#objects.set(id, {
      id,
      target,
      kind: options.kind,
      exposed: new Set(options.exposed),
      context: options.context ?? false,
      meta: options.meta,
      onRelease: options.onRelease,
      local: 0,
      remote: 0,
      leases: [],
      leased: 0,
      released: false,
    });
    return id;
  }

  /** Forget object `id` now, whatever its references (later calls fail). */
  unregister(id: string): void {
    const entry = this.#objects.get(id);
    if (entry) this.#release(entry);
  }

  /** The facts registered with object `id` (what its handles carry as `meta`), or {} once released. */
  metaOf(id: string): Readonly<Record<string, unknown>> {
    return this.#objects.get(id)?.meta ?? {};
  }

  /** The object registered as `id`, or undefined once released. */
  lookup(id: string): object | undefined {
    return this.#objects.get(id)?.target;
  }

  /**
   * The handle of object `id`, to send to another process. Takes a transit lease that keeps
   * the object alive until a process claims it or `leaseTimeout` passes. A unix-socket host
   * starts listening if needed (binding is synchronous). Throws InvalidStateError for an
   * unknown id, or a TCP host that is not listening yet.
   */
  handle(id: string, meta?: Record<string, unknown>): Handle {
    const entry = this.#objects.get(id);
    if (!entry) throw new ReleasedError(`Host.handle(): no object '${id}' on this host (it was released)`, { objectId: id, hostPid: process.pid });
    if (!this.#listening && this.#address !== null && typeof this.#address !== 'string') {
      throw new InvalidStateError('Host.handle() on a TCP host that is not listening: await host.listen() first (the port is known only then)');
    }
    if (!this.#listening) void this.listen().catch((err: Error) => warn('MP_HOST_LISTEN', `multiproc host (pid ${process.pid}): cannot listen at ${this.#address === null ? 'a private socket directory' : formatAddress(this.#address)}: ${err.message}`));
    this.#leases.add(entry);
    return {
      __mpHandle: PROTOCOL,
      kind: entry.kind,
      address: this.#where(),
      id,
      authkey: this.#authkey.toString('hex'),
      meta: { ...entry.meta, ...meta, hostPid: process.pid },
      reviver: reviverModuleOf(entry.kind),
    };
  }

  /**
   * Hold a local reference to `id` for as long as `owner` is reachable (the user-facing
   * object of this process). `claim` converts a transit lease when there is one (a handle
   * that came back to its host). Returns a function that drops the reference at once
   * (idempotent).
   */
  bind(owner: object, id: string, claim = false, onRelease?: () => void): () => void {
    const entry = this.#objects.get(id);
    if (!entry) throw new ReleasedError(`Host.bind(): no object '${id}' on this host (it was released)`, { objectId: id, hostPid: process.pid });
    if (claim) this.#leases.claim(entry);
    entry.local++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      finalizer.unregister(token);
      entry.local--;
      this.#maybeRelease(entry);
      onRelease?.();
    };
    const token = {};
    finalizer.register(owner, release, token);
    return release;
  }

  /**
   * Serve object `id` of `source` (another host of this process) from this host too, under
   * a new id: a manager does this with a Queue or Lock its factory returns, so clients that
   * can reach only the manager's address reach the object. The mirror holds one local
   * reference to the original while it lives, and is itself released like any object (its
   * own remote references and leases); the original's `onRelease` stays with the original.
   * Throws InvalidStateError for an unknown id.
   */
  mirror(source: Host, id: string): string {
    const entry = source.#objects.get(id);
    if (!entry) throw new ReleasedError(`Host.mirror(): no object '${id}' on the source host (it was released)`, { objectId: id });
    const holder = {};
    const releaseOriginal = source.bind(holder, id);
    return this.register(entry.target, {
      kind: entry.kind,
      exposed: [...entry.exposed],
      context: entry.context,
      meta: entry.meta,
      onRelease: () => {
        // Mentioning `holder` keeps it reachable, and so the original's reference held, for
        // exactly as long as the mirror is registered.
        void holder;
        releaseOriginal();
      },
    });
  }

  /** A CallContext for a call made inside this process (connection 0, never closes). */
  localContext(signal?: AbortSignal): CallContext {
    let own: AbortSignal | undefined = signal;
    return {
      connection: 0,
      // One signal per call that asks for it, never aborted: a shared one would collect a
      // listener per pending wait (and MaxListenersExceededWarning past ten).
      get signal(): AbortSignal {
        return (own ??= new AbortController().signal);
      },
      onClose: () => noop,
      keepAlive: this.#localWaits.hold,
    };
  }

  /** Waits of this process on its own objects, held while another process could end them. */
  readonly #localWaits = new LocalWaits(() => !this.#closed && (this.#conns.size > 0 || this.#leases.any));

  /** Stop listening, close every connection, forget every object. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#address !== null) hosts.delete(addressKey(this.#address));
    // Ref'd while closing: an awaited close() must not be abandoned by an idle event loop.
    for (const conn of this.#conns) (conn.link.ref(), conn.link.close());
    for (const entry of [...this.#objects.values()]) this.#release(entry);
    this.#leases.stop();
    this.#localWaits.update();
    const server = this.#server;
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.#socketFile?.remove();
  }

  #maybeRelease(entry: Entry): void {
    if (!entry.released && entry.local + entry.remote + entry.leased <= 0) this.#release(entry);
  }

  #release(entry: Entry): void {
    if (entry.released) return;
    entry.released = true;
    this.#leases.drop(entry);
    this.#objects.delete(entry.id);
    try {
      entry.onRelease?.();
    } catch (err) {
      warn('MP_HOST_HOOK', `multiproc host (pid ${process.pid}): releasing ${entry.kind} '${entry.id}' failed: ${(err as Error).message}`);
    }
  }

  #onConnection(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    // Connections that have not authenticated are capped, overall and per TCP peer address
    // (a unix socket has none): each holds a file descriptor and a timer until it answers
    // or times out, and a peer that opens thousands and stays silent must not starve the
    // process of descriptors, nor lock out clients from elsewhere. One over the cap is told
    // why and closed at once; authenticated connections are never refused.
    const from = socket.remoteAddress;
    const fromCount = from === undefined ? 0 : (this.#pendingFrom.get(from) ?? 0);
    if (this.#pending >= this.#maxPending || fromCount >= this.#maxPendingPerAddress) {
      const reason =
        this.#pending >= this.#maxPending
          ? `too many connections are waiting to authenticate there (${this.#pending}, its maxPendingHandshakes)`
          : `too many connections from ${from} are waiting to authenticate there (${fromCount}, its maxPendingPerAddress)`;
      refuse(socket, reason);
      warn('MP_HOST_REFUSED', `multiproc host (pid ${process.pid}) at ${formatAddress(this.#where())} refused a connection${from === undefined ? '' : ` from ${from}`}: ${reason}`);
      return;
    }
    this.#pending++;
    if (from !== undefined) this.#pendingFrom.set(from, fromCount + 1);
    const conn: Conn = { id: ++nextConn, link: null as unknown as Link, open: true, refs: new Map(), calls: new Map(), hooks: new Set() };
    conn.link = accept(socket, this.#authkey, {
      maxFrameSize: this.#maxFrame,
      handshakeTimeout: this.#handshakeTimeout,
      onMessage: (m) => this.#onMessage(conn, m as ToHost),
      onClose: (err) => this.#onClose(conn, err),
    });
    // `ready` settles exactly once: authenticated, or failed/closed/timed out in the handshake.
    const settled = (): void => {
      this.#pending--;
      if (from === undefined) return;
      const n = this.#pendingFrom.get(from)! - 1;
      if (n === 0) this.#pendingFrom.delete(from);
      else this.#pendingFrom.set(from, n);
    };
    conn.link.ready.then(settled, settled);
    this.#conns.add(conn);
    this.#localWaits.update();
  }

  #onClose(conn: Conn, err: Error | null): void {
    if (!conn.open) return;
    conn.open = false;
    this.#conns.delete(conn);
    this.#localWaits.update();
    if (err) {
      // One warning per interval however many connections go (a flood of idle ones timing
      // out is a handful of lines); each is in NODE_DEBUG=multiproc.
      const line = `multiproc host (pid ${process.pid}) at ${formatAddress(this.#where())}: dropped connection #${conn.id}: ${err.message}`;
      if (worthWarning(err)) warn('MP_HOST_DROPPED', line);
      else debug('%s', line);
    }
    // Order matters: first stop every waiter of this connection (so nothing more is handed
    // to it), then run the close hooks (release its locks, requeue what it had not taken),
    // then drop its references (which may release objects the hooks just touched).
    const reason = new QueueClosed('the connection closed');
    for (const controller of conn.calls.values()) controller.abort(reason);
    conn.calls.clear();
    for (const hook of [...conn.hooks]) {
      try {
        hook();
      } catch (e) {
        warn('MP_HOST_HOOK', `multiproc host (pid ${process.pid}): a close hook of connection #${conn.id} failed: ${(e as Error).message}`);
      }
    }
    conn.hooks.clear();
    for (const [id, n] of conn.refs) {
      const entry = this.#objects.get(id);
      if (!entry) continue;
      entry.remote -= n;
      this.#maybeRelease(entry);
    }
    conn.refs.clear();
  }

  #onMessage(conn: Conn, m: ToHost): void {
    switch (m.type) {
      case 'call':
        this.#dispatch(conn, m);
        return;
      case 'cancel':
        conn.calls.get(m.id)?.abort(new CancelledError('the caller cancelled the call'));
        return;
      case 'sync':
        // Every earlier frame of this connection was handled (in order) before this one.
        if (conn.open) conn.link.send({ type: 'result', id: m.id, value: undefined } satisfies FromHost);
        return;
      case 'incref': {
        const entry = this.#objects.get(m.obj);
        if (!entry) return; // released already: the proxy's next call reports it
        if (m.claim) this.#leases.claim(entry);
        entry.remote++;
        conn.refs.set(m.obj, (conn.refs.get(m.obj) ?? 0) + 1);
        return;
      }
      case 'decref': {
        const n = conn.refs.get(m.obj) ?? 0;
        if (n === 0) return;
        if (n === 1) conn.refs.delete(m.obj);
        else conn.refs.set(m.obj, n - 1);
        const entry = this.#objects.get(m.obj);
        if (!entry) return;
        entry.remote--;
        this.#maybeRelease(entry);
        return;
      }
      case 'lease': {
        const entry = this.#objects.get(m.obj);
        if (entry) this.#leases.add(entry);
        return;
      }
      default: {
        const never: never = m;
        throw new Error(`unknown message type ${(never as { type: string }).type}`);
      }
    }
  }

  #context(conn: Conn, id: number): CallContext {
    let controller: AbortController | null = null;
    return {
      connection: conn.id,
      get signal(): AbortSignal {
        if (!controller) {
          controller = new AbortController();
          if (!conn.open) controller.abort(new QueueClosed('the connection closed'));
          else if (id !== 0) conn.calls.set(id, controller);
        }
        return controller.signal;
      },
      onClose: (fn) => {
        if (!conn.open) return noop;
        conn.hooks.add(fn);
        return () => conn.hooks.delete(fn);
      },
      keepAlive: keepNothing,
    };
  }

  /**
   * Call method `method` of object `id` from this very process, as a remote call would: the
   * same checks (released object, exposed method), the same CallContext (connection 0),
   * errors as they would come over the wire (multiproc's own keep their class, others become
   * RemoteError), and with `copy`, arguments and result copied by structured clone (handles
   * included) so that a caller cannot alias the hosted object's data. Src/remote/reference.ts
   * calls it for a reference to an object of this process.
   */
  callLocal(id: string, method: string, args: unknown[], signal: AbortSignal | undefined, copy: boolean): Promise<unknown> {
    // A signal that fired before the call cancels it, as HostClient.call does for a remote one.
    if (signal?.aborted) return Promise.reject(new CancelledError(`${method}() was cancelled`, { cause: signal.reason }));
    try {
      const entry = this.#objects.get(id);
      if (!entry) throw this.#released(id);
      const fn = this.#method(entry, method);
      const input = copy ? copyValue(args) : args;
      const result = entry.context ? fn.call(entry.target, this.localContext(signal), ...input) : fn.apply(entry.target, input);
      if (isThenable(result)) return Promise.resolve(result).then((v) => (copy ? copyValue(v) : v), (err: unknown) => Promise.reject(asReceived(err)));
      return Promise.resolve(copy ? copyValue(result) : result);
    } catch (err) {
      return Promise.reject(asReceived(err));
    }
  }

  #released(id: string): Error {
    return new ReleasedError(`object '${id}' no longer exists on the host (pid ${process.pid}): every reference to it was dropped`, { objectId: id, hostPid: process.pid });
  }

  /** The exposed method `method` of `entry`'s target; throws TypeError (MP_INVALID_ARG) otherwise. */
  #method(entry: Entry, method: string): (...args: unknown[]) => unknown {
    const fn = entry.exposed.has(method) ? (entry.target as Record<string, unknown>)[method] : undefined;
    if (typeof fn !== 'function') throw invalidArg(`${entry.kind} '${entry.id}' has no exposed method '${method}'`);
    return fn as (...args: unknown[]) => unknown;
  }

  #dispatch(conn: Conn, m: Extract<ToHost, { type: 'call' }>): void {
    const entry = this.#objects.get(m.obj);
    if (!entry) {
      this.#replyError(conn, m.id, this.#released(m.obj));
      return;
    }
    let fn: (...args: unknown[]) => unknown;
    try {
      fn = this.#method(entry, m.method);
    } catch (err) {
      this.#replyError(conn, m.id, err);
      return;
    }
    let result: unknown;
    try {
      const args = m.handles ? reviveHandles(m.args, (handle) => this.#keep(conn, handle)) : m.args;
      result = entry.context ? fn.call(entry.target, this.#context(conn, m.id), ...args) : fn.apply(entry.target, args);
    } catch (err) {
      conn.calls.delete(m.id);
      this.#replyError(conn, m.id, err);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => {
          conn.calls.delete(m.id);
          this.#reply(conn, m.id, value, entry, m.method);
        },
        (err: unknown) => {
          conn.calls.delete(m.id);
          this.#replyError(conn, m.id, err);
        },
      );
    } else {
      conn.calls.delete(m.id);
      this.#reply(conn, m.id, result, entry, m.method);
    }
  }

  /** What #dispatch puts in place of a handle it must not revive; undefined: revive it. */
  #keep(conn: Conn, handle: Handle): ForeignHandle | undefined {
    if (this.#mayDial(handle)) return undefined;
    const kept = new ForeignHandle(handle);
    debug('multiproc host (pid %d): connection #%d sent %s, a host this process is not connected to: kept as is, not dialled', process.pid, conn.id, kept);
    return kept;
  }

  /**
   * May a handle a peer sent be revived here (a proxy, which connects to its host)? Only
   * when it points at a Host of this process with this process's key for it, or at a host
   * this process is connected to already with the same key: never at an address a peer
   * chose. Anything malformed is not.
   */
  #mayDial(handle: Handle): boolean {
    const { address, authkey } = handle;
    if (typeof authkey !== 'string') return false;
    if (typeof address !== 'string' && (typeof address !== 'object' || address === null)) return false;
    const host = Host.find(address);
    if (host) return host.#authkey.toString('hex') === authkey;
    return HostClient.isConnected(address, authkey);
  }

  #reply(conn: Conn, id: number, value: unknown, entry: Entry, method: string): void {
    if (id === 0 || !conn.open) return;
    try {
      if (typeof value !== 'object' || value === null) {
        // A primitive holds no handle: skip the walk.
        conn.link.send({ type: 'result', id, value } satisfies FromHost);
        return;
      }
      const encoded = encodeHandles(value);
      conn.link.send({ type: 'result', id, value: encoded.value, handles: encoded.handles || undefined } satisfies FromHost);
    } catch (err) {
      this.#replyError(conn, id, unsendable(`${entry.kind}.${method}()`, 'its return value', 'another process', err));
    }
  }

  #replyError(conn: Conn, id: number, err: unknown): void {
    if (id === 0) {
      // A one-way call has nobody to reject; say so rather than drop the error.
      warn('MP_HOST_ONEWAY', `multiproc host (pid ${process.pid}): a one-way call of connection #${conn.id} failed: ${(err as Error)?.message ?? err}`);
      return;
    }
    if (!conn.open) return;
    try {
      conn.link.send({ type: 'error', id, error: encodeError(err) } satisfies FromHost);
    } catch (e) {
      conn.link.send({ type: 'error', id, error: encodeError(new Error(`an error could not be sent back: ${(e as Error).message}`)) } satisfies FromHost);
    }
  }
}

let local: Host | null = null;

/**
 * This process's own host: a unix socket in a private directory under os.tmpdir() (see
 * HostOptions.address) with a random authkey, listening from the first handle it makes,
 * removed at exit, unref'd. Queues, pipes
 * and locks created in this process are served from it.
 * Python: the feeder thread and pipe behind multiprocessing.Queue; here one socket serves
 * every shared object of the process.
 *
 * @example
 * const id = localHost().register(obj, { kind: 'thing', exposed: ['ping'] });
 */
export function localHost(): Host {
  // It starts listening when its first handle is made (host.handle()): a queue that never
  // leaves this process costs no socket. Binding a unix socket is synchronous, so that
  // handle works at once.
  local ??= new Host();
  return local;
}

