// Serves the shared objects this process owns to other processes (host side), and the
// client those processes use to reach them (proxy side).
//
// API, for the objects of src/queue/ and for src/manager/:
//
//   Host side
//     const host = localHost();            per-process host on a unix socket in os.tmpdir()
//                                          (listens once its first handle is made; unref'd,
//                                          random authkey, the socket file removed at exit)
//     const host = new Host({ address?, authkey?, keepAlive? });  await host.listen();
//                                          any other host: a unix path or { host, port }
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
//     host.lookup(id), host.unregister(id), host.close(), Host.find(address)
//
//   Proxy side
//     const client = HostClient.for(address, authkey);   one connection per host per process
//     await client.call(id, 'get', [args], { signal?, lost?, late? })
//     client.notify(id, 'ack', [n])        one-way (no reply)
//     client.incref(id, claim) / decref(id) / lease(id)
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
// Liveness: the listening server and every accepted connection are unref'd (unless
// `keepAlive`), so hosting objects never keeps a process alive; a client socket is ref'd only
// while one of its calls awaits a reply. When a connection closes, the signals of its pending
// calls abort (blocked waiters drop out and nothing is handed to a dead peer) and its onClose
// hooks run (a lock held by a process that died is released there).

import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationError, CancelledError, invalidArg, InvalidStateError, QueueClosed, SerializationError } from '../errors.ts';
import { decodeError, encodeError, PROTOCOL, type FromHost, type Handle, type ToHost } from '../protocol.ts';
import { accept, connect, DEFAULT_MAX_FRAME, formatAddress, toKey, type Address, type Link } from './connection.ts';
import { encodeHandles, reviveHandles } from './handle.ts';

export { formatAddress, type Address } from './connection.ts';

/** What a hosted method learns about its caller (passed first when registered with `context: true`). */
export interface CallContext {
  /** The caller's connection: 0 for a call made inside the host's own process. */
  readonly connection: number;
  /**
   * Aborted when the caller's connection closes or the caller cancels this call. A method
   * that waits must stop waiting then, and must not hand anything over.
   */
  readonly signal: AbortSignal;
  /**
   * Run `fn` once when the caller's connection closes (its process died or dropped us).
   * Returns a function that unregisters it. Never runs for in-process calls.
   */
  onClose(fn: () => void): () => void;
}

/** Options of `host.register()`. */
export interface RegisterOptions {
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
   * @default a fresh socket path in os.tmpdir()
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
  /** How long a serialized handle keeps its object alive before a process claims it, ms. @default 60000 */
  leaseTimeout?: number;
}

interface Entry {
  readonly id: string;
  readonly target: object;
  readonly kind: string;
  readonly exposed: ReadonlySet<string>;
  readonly context: boolean;
  readonly meta: Record<string, unknown> | undefined;
  readonly onRelease: (() => void) | undefined;
  local: number;
  remote: number;
  readonly leases: NodeTimeout[];
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

const NEVER = new AbortController().signal;
const noop = (): void => {};
const hosts = new Map<string, Host>();
/**
 * Connection numbers are unique in the process, not per host: an object served by two hosts
 * (Host.mirror) tells its callers apart by CallContext.connection.
 */
let nextConn = 0;

function addressKey(address: Address): string {
  return typeof address === 'string' ? `unix:${address}` : `tcp:${address.host}:${address.port}`;
}

/** Call arguments with nothing to encode (the common case): no walk, no allocation. */
function primitives(args: unknown[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a === 'object' ? a !== null : typeof a === 'function') return false;
  }
  return true;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Errors worth a line on stderr: a peer that simply died (reset, broken pipe) is not. */
function worthLogging(err: Error | null): err is Error {
  if (!err) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return code !== 'ECONNRESET' && code !== 'EPIPE' && code !== 'ETIMEDOUT';
}

const finalizer = new FinalizationRegistry<() => void>((release) => release());

const STALE_SOCKET = /^multiproc-(\d+)-[0-9a-f]{12}\.sock$/;
let swept = false;

/**
 * Remove socket files that hosts of dead processes left in os.tmpdir(). A host unlinks its
 * socket at exit, but a SIGKILLed or crashed process cannot; once per process, the first
 * default-path host removes the files whose owner pid is gone. A live process's socket is
 * never touched (the pid in the name is its owner's).
 */
async function sweepStaleSockets(): Promise<void> {
  if (swept) return;
  swept = true;
  try {
    const dir = tmpdir();
    for (const name of await readdir(dir)) {
      const m = STALE_SOCKET.exec(name);
      if (!m || Number(m[1]) === process.pid) continue;
      try {
        process.kill(Number(m[1]), 0);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ESRCH') await unlink(join(dir, name)).catch(() => {});
      }
    }
  } catch {
    // Housekeeping only: an unreadable tmpdir changes nothing for this host.
  }
}

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
  #address: Address;
  readonly #authkey: Buffer;
  readonly #maxFrame: number;
  readonly #keepAlive: boolean;
  readonly #leaseTimeout: number;
  readonly #objects = new Map<string, Entry>();
  readonly #conns = new Set<Conn>();
  #server: Server | null = null;
  #listening: Promise<void> | null = null;
  #closed = false;
  #nextId = 0;
  #unlinkAtExit: (() => void) | null = null;
  #defaultPath: boolean;

  constructor(options: HostOptions = {}) {
    this.#defaultPath = options.address === undefined;
    this.#address = options.address ?? join(tmpdir(), `multiproc-${process.pid}-${randomBytes(6).toString('hex')}.sock`);
    if (typeof this.#address !== 'string') {
      const { host, port } = this.#address;
      if (typeof host !== 'string' || !Number.isInteger(port) || port < 0 || port > 65535) throw invalidArg('Host address must be a socket path or { host: string, port: integer 0-65535 }');
      this.#address = { host, port };
    }
    this.#authkey = options.authkey === undefined ? randomBytes(32) : toKey(options.authkey);
    this.#maxFrame = options.maxFrameSize ?? DEFAULT_MAX_FRAME;
    this.#keepAlive = options.keepAlive ?? false;
    this.#leaseTimeout = options.leaseTimeout ?? 60_000;
  }

  /** The host registered in this process at `address`, if any: calls to it need no socket. */
  static find(address: Address): Host | undefined {
    return hosts.get(addressKey(address));
  }

  /** Where this host listens (for TCP with port 0, the real port once listening). */
  get address(): Address {
    return this.#address;
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
    const server = createServer((socket) => this.#onConnection(socket));
    this.#server = server;
    this.#listening = new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        hosts.delete(addressKey(this.#address));
        reject(err);
      };
      server.once('error', onError);
      const onListening = () => {
        server.off('error', onError);
        // A listening server that fails later (rare: EMFILE on accept) must not crash the
        // process; connections already open keep working.
        server.on('error', (err: Error) => process.stderr.write(`multiproc host (pid ${process.pid}): ${err.message}\n`));
        const bound = server.address();
        if (typeof this.#address !== 'string' && bound && typeof bound === 'object') {
          hosts.delete(addressKey(this.#address));
          this.#address = { host: this.#address.host, port: bound.port };
          hosts.set(addressKey(this.#address), this);
        }
        resolve();
      };
      if (typeof this.#address === 'string') {
        const path = this.#address;
        // For a unix socket, listen() binds synchronously: the path accepts connections as
        // soon as this returns, which lets localHost() hand out handles without awaiting.
        server.listen(path, onListening);
        this.#unlinkAtExit = () => {
          try {
            unlinkSync(path);
          } catch {}
        };
        process.on('exit', this.#unlinkAtExit);
        if (this.#defaultPath) void sweepStaleSockets();
      } else {
        server.listen(this.#address.port, this.#address.host, onListening);
      }
    });
    hosts.set(addressKey(this.#address), this);
    if (!this.#keepAlive) server.unref();
    return this.#listening;
  }

  /**
   * Serve `target`: remote callers may invoke its `exposed` methods by name. Returns the
   * object id. Throws TypeError (MP_INVALID_ARG) for a duplicate id or a bad option.
   */
  register(target: object, options: RegisterOptions): string {
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
      released: false,
    });
    return id;
  }

  /** Forget object `id` now, whatever its references (later calls fail). */
  unregister(id: string): void {
    const entry = this.#objects.get(id);
    if (entry) this.#release(entry);
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
    if (!entry) throw new InvalidStateError(`Host.handle(): no object '${id}' on this host (it was released)`);
    if (!this.#listening && typeof this.#address !== 'string') {
      throw new InvalidStateError('Host.handle() on a TCP host that is not listening: await host.listen() first (the port is known only then)');
    }
    if (!this.#listening) void this.listen().catch((err: Error) => process.stderr.write(`multiproc host (pid ${process.pid}): cannot listen at ${formatAddress(this.#address)}: ${err.message}\n`));
    this.#addLease(entry);
    return {
      __mpHandle: PROTOCOL,
      kind: entry.kind,
      address: this.#address,
      id,
      authkey: this.#authkey.toString('hex'),
      meta: { ...entry.meta, ...meta, hostPid: process.pid },
    };
  }

  /**
   * Hold a local reference to `id` for as long as `owner` is reachable (the user-facing
   * object of this process). `claim` converts a transit lease when there is one (a handle
   * that came back to its host). Returns a function that drops the reference at once
   * (idempotent).
   */
  bind(owner: object, id: string, claim = false): () => void {
    const entry = this.#objects.get(id);
    if (!entry) throw new InvalidStateError(`Host.bind(): no object '${id}' on this host (it was released)`);
    if (claim && entry.leases.length > 0) clearTimeout(entry.leases.shift()!);
    entry.local++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      finalizer.unregister(token);
      entry.local--;
      this.#maybeRelease(entry);
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
    if (!entry) throw new InvalidStateError(`Host.mirror(): no object '${id}' on the source host (it was released)`);
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
    return { connection: 0, signal: signal ?? NEVER, onClose: () => noop };
  }

  /** Stop listening, close every connection, forget every object. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    hosts.delete(addressKey(this.#address));
    for (const conn of this.#conns) conn.link.close();
    for (const entry of [...this.#objects.values()]) this.#release(entry);
    const server = this.#server;
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.#unlinkAtExit) {
      this.#unlinkAtExit();
      process.off('exit', this.#unlinkAtExit);
    }
  }

  #addLease(entry: Entry): void {
    const timer = setTimeout(() => {
      const i = entry.leases.indexOf(timer);
      if (i !== -1) entry.leases.splice(i, 1);
      this.#maybeRelease(entry);
    }, this.#leaseTimeout);
    // A lease is bookkeeping: it must never keep the host process alive.
    timer.unref();
    entry.leases.push(timer);
  }

  #maybeRelease(entry: Entry): void {
    if (!entry.released && entry.local + entry.remote + entry.leases.length <= 0) this.#release(entry);
  }

  #release(entry: Entry): void {
    if (entry.released) return;
    entry.released = true;
    for (const t of entry.leases) clearTimeout(t);
    entry.leases.length = 0;
    this.#objects.delete(entry.id);
    try {
      entry.onRelease?.();
    } catch (err) {
      process.stderr.write(`multiproc host (pid ${process.pid}): releasing ${entry.kind} '${entry.id}' failed: ${(err as Error).message}\n`);
    }
  }

  #onConnection(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const conn: Conn = { id: ++nextConn, link: null as unknown as Link, open: true, refs: new Map(), calls: new Map(), hooks: new Set() };
    conn.link = accept(socket, this.#authkey, {
      maxFrameSize: this.#maxFrame,
      onMessage: (m) => this.#onMessage(conn, m as ToHost),
      onClose: (err) => this.#onClose(conn, err),
    });
    this.#conns.add(conn);
  }

  #onClose(conn: Conn, err: Error | null): void {
    if (!conn.open) return;
    conn.open = false;
    this.#conns.delete(conn);
    if (worthLogging(err)) process.stderr.write(`multiproc host (pid ${process.pid}): dropped connection #${conn.id}: ${err.message}\n`);
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
        process.stderr.write(`multiproc host (pid ${process.pid}): a close hook failed: ${(e as Error).message}\n`);
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
      case 'incref': {
        const entry = this.#objects.get(m.obj);
        if (!entry) return; // released already: the proxy's next call reports it
        if (m.claim && entry.leases.length > 0) clearTimeout(entry.leases.shift()!);
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
        if (entry) this.#addLease(entry);
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
    };
  }

  #dispatch(conn: Conn, m: Extract<ToHost, { type: 'call' }>): void {
    const entry = this.#objects.get(m.obj);
    if (!entry) {
      this.#replyError(conn, m.id, new InvalidStateError(`object '${m.obj}' no longer exists on the host (pid ${process.pid}): every reference to it was dropped`));
      return;
    }
    const fn = entry.exposed.has(m.method) ? (entry.target as Record<string, unknown>)[m.method] : undefined;
    if (typeof fn !== 'function') {
      this.#replyError(conn, m.id, invalidArg(`${entry.kind} '${m.obj}' has no exposed method '${m.method}'`));
      return;
    }
    let result: unknown;
    try {
      const args = m.handles ? reviveHandles(m.args) : m.args;
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
      this.#replyError(conn, id, new SerializationError(`${entry.kind}.${method}() returned a value that cannot be sent to another process: ${(err as Error).message}`, { cause: err }));
    }
  }

  #replyError(conn: Conn, id: number, err: unknown): void {
    if (id === 0) {
      // A one-way call has nobody to reject; say so rather than drop the error.
      process.stderr.write(`multiproc host (pid ${process.pid}): a one-way call failed: ${(err as Error)?.message ?? err}\n`);
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
 * This process's own host: a unix socket in os.tmpdir() with a random name and a random
 * authkey, listening from the first handle it makes, removed at exit, unref'd. Queues, pipes
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

// ---------------------------------------------------------------------------------------
// Proxy side

/** Options of `HostClient.call()`. */
export interface CallOptions {
  /** Abandon the call: it rejects with CancelledError (cause: the signal's reason) and the host is told. */
  signal?: AbortSignal;
  /**
   * Build the error the call rejects with when the host cannot be reached or the connection
   * breaks. @default a QueueClosed saying the hosting process has exited
   */
  lost?: (message: string, cause: Error | undefined) => Error;
  /** Receives a result that arrives after the call was abandoned (a lock granted too late). */
  late?: (value: unknown) => void;
  /** Turns every error the call rejects with into what the caller should see (saves a `.catch` layer). */
  mapError?: (err: unknown, method: string) => Error;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  method: string;
  mapError: CallOptions['mapError'];
  lost: CallOptions['lost'];
  late: CallOptions['late'];
  abandoned: boolean;
  cleanup: () => void;
}

const CLIENTS_KEY = Symbol.for('multiproc.hostClients');
// One connection per host per process, shared by every copy of this module.
const clients = ((globalThis as Record<symbol, unknown>)[CLIENTS_KEY] ??= new Map()) as Map<string, HostClient>;

/** A call that failed before it was sent: rejected with its error, mapped as the caller asked. */
function failed(err: unknown, method: string, mapError: CallOptions['mapError']): Promise<never> {
  return Promise.reject(mapError ? mapError(err, method) : err);
}

function defaultLost(message: string, cause: Error | undefined): Error {
  return new QueueClosed(message, cause ? { cause } : undefined);
}

/**
 * The connection of this process to one host. Calls are pipelined (many in flight), replies
 * matched by id. The socket is ref'd only while a call awaits its reply.
 * Python: multiprocessing.managers.BaseProxy's connection (one per thread there).
 *
 * @example
 * const client = HostClient.for(handle.address, handle.authkey);
 * const n = await client.call(handle.id, 'qsize', []);
 */
export class HostClient {
  readonly #address: Address;
  readonly #authkey: string | Buffer;
  readonly #key: string;
  readonly #hostPid: number | undefined;
  readonly #pending = new Map<number, Pending>();
  #link: Link | null = null;
  #dead: Error | null = null;
  #nextId = 1;
  #live = 0; // pending calls not abandoned: decides ref/unref

  private constructor(address: Address, authkey: string | Buffer, key: string, hostPid?: number) {
    this.#address = address;
    this.#authkey = authkey;
    this.#key = key;
    this.#hostPid = hostPid;
  }

  /**
   * The client for the host at `address` (created on first use; a closed one is replaced).
   * `authkey` is the hex string of a Handle or raw bytes.
   */
  static for(address: Address, authkey: string | Buffer, hostPid?: number): HostClient {
    const keyHex = typeof authkey === 'string' ? authkey : authkey.toString('hex');
    const key = `${addressKey(address)}|${keyHex}`;
    let client = clients.get(key);
    if (!client || client.#dead) {
      client = new HostClient(address, typeof authkey === 'string' ? Buffer.from(authkey, 'hex') : authkey, key, hostPid);
      clients.set(key, client);
    }
    return client;
  }

  /** True once the connection broke; every later call rejects. */
  get closed(): boolean {
    return this.#dead !== null;
  }

  /** Pid of the hosting process, once known. */
  get hostPid(): number | undefined {
    return this.#link?.peerPid ?? this.#hostPid;
  }

  /**
   * Call `method` of object `obj` on the host. Resolves with its result; rejects with the
   * error it threw (decoded: multiproc errors keep their class), CancelledError when
   * `signal` fires, the `lost` error when the host is gone, SerializationError when an
   * argument cannot be sent.
   */
  call(obj: string, method: string, args: unknown[], options: CallOptions = {}): Promise<unknown> {
    const lost = options.lost ?? defaultLost;
    const mapError = options.mapError;
    if (this.#dead) return failed(this.#lostError(lost, this.#dead), method, mapError);
    const signal = options.signal;
    if (signal?.aborted) return failed(new CancelledError(`${method}() was cancelled`, { cause: signal.reason }), method, mapError);
    const id = this.#nextId++;
    try {
      this.#sendCall(id, obj, method, args);
    } catch (err) {
      return failed(err, method, mapError);
    }
    return new Promise<unknown>((resolve, reject) => {
      const pending: Pending = { resolve, reject, method, mapError, lost, late: options.late, abandoned: false, cleanup: noop };
      if (signal) {
        const onAbort = () => {
          if (pending.abandoned) return;
          pending.abandoned = true;
          this.#setLive(-1);
          this.#link?.send({ type: 'cancel', id } satisfies ToHost);
          const err = new CancelledError(`${method}() was cancelled`, { cause: signal.reason });
          reject(mapError ? mapError(err, method) : err);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        pending.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.#pending.set(id, pending);
      this.#setLive(+1);
    });
  }

  /** Call `method` without waiting for (or getting) a reply; failures are logged by the host. */
  notify(obj: string, method: string, args: unknown[]): void {
    if (this.#dead) return;
    this.#sendCall(0, obj, method, args);
  }

  /** A 'call' frame (`id` 0: one-way). Handles in `args` are encoded; primitives skip that walk. Throws SerializationError. */
  #sendCall(id: number, obj: string, method: string, args: unknown[]): void {
    if (primitives(args)) {
      this.#ensureLink().send({ type: 'call', id, obj, method, args } satisfies ToHost);
      return;
    }
    const encoded = encodeHandles(args);
    this.#ensureLink().send({ type: 'call', id, obj, method, args: encoded.value, handles: encoded.handles || undefined } satisfies ToHost);
  }

  /** This process holds one more reference to `obj` (claiming a transit lease when `claim`). */
  incref(obj: string, claim: boolean): void {
    if (!this.#dead) this.#ensureLink().send({ type: 'incref', obj, claim } satisfies ToHost);
  }

  /** This process drops one reference to `obj`. */
  decref(obj: string): void {
    if (!this.#dead && this.#link) this.#link.send({ type: 'decref', obj } satisfies ToHost);
  }

  /** A handle of `obj` is being sent to another process: keep `obj` alive until it is claimed. */
  lease(obj: string): void {
    if (!this.#dead) this.#ensureLink().send({ type: 'lease', obj } satisfies ToHost);
  }

  /** Close the connection: pending calls reject with their `lost` error. */
  close(): void {
    this.#link?.close();
  }

  #setLive(delta: number): void {
    const before = this.#live;
    this.#live += delta;
    if (before === 0 && this.#live > 0) this.#link?.ref();
    else if (before > 0 && this.#live === 0) this.#link?.unref();
  }

  #ensureLink(): Link {
    if (this.#link) return this.#link;
    const link = connect(this.#address, this.#authkey, {
      // Nothing waits on a fresh connection unless a call is pending (increfs go first).
      unref: this.#live === 0,
      onMessage: (m) => this.#onMessage(m as FromHost),
      onClose: (err) => this.#onClose(err),
    });
    this.#link = link;
    return link;
  }

  #onMessage(m: FromHost): void {
    const pending = this.#pending.get(m.id);
    if (!pending) return;
    this.#pending.delete(m.id);
    pending.cleanup();
    switch (m.type) {
      case 'result': {
        const value = m.handles ? reviveHandles(m.value) : m.value;
        if (pending.abandoned) pending.late?.(value);
        else {
          this.#setLive(-1);
          pending.resolve(value);
        }
        return;
      }
      case 'error':
        if (!pending.abandoned) {
          this.#setLive(-1);
          const err = decodeError(m.error);
          pending.reject(pending.mapError ? pending.mapError(err, pending.method) : err);
        }
        return;
      default: {
        const never: never = m;
        throw new Error(`unknown message type ${(never as { type: string }).type}`);
      }
    }
  }

  #lostError(lost: NonNullable<CallOptions['lost']>, cause: Error): Error {
    if (cause instanceof AuthenticationError) return cause;
    const pid = this.hostPid;
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ECONNREFUSED' ? 'is no longer running' : `closed the connection (${cause.message})`;
    return lost(`the process hosting this object${pid ? ` (pid ${pid})` : ''} at ${formatAddress(this.#address)} ${why}`, cause);
  }

  #onClose(err: Error | null): void {
    this.#dead = err ?? new Error('connection closed');
    if (clients.get(this.#key) === this) clients.delete(this.#key);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#live = 0;
    for (const p of pending) {
      p.cleanup();
      if (p.abandoned) continue;
      const err = this.#lostError(p.lost ?? defaultLost, this.#dead);
      p.reject(p.mapError ? p.mapError(err, p.method) : err);
    }
  }
}
