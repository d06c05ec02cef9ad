// The proxy side of the shared-object layer: one HostClient per host per process, over one
// framed, authenticated Link (src/remote/link.ts). Runs in any process that uses an object
// another process hosts (src/remote/host.ts serves them).
//
//   const client = HostClient.for(address, authkey);   one connection per host per process
//   await client.call(id, 'get', [args], { signal?, lost?, late?, mapError? })
//   client.notify(id, 'ack', [n])        one-way (no reply)
//   client.incref(id, claim) / decref(id) / lease(id)
//
// Calls are pipelined (many in flight), replies matched by id; the socket is ref'd only while
// a call awaits its reply. The connection is ordered and a host handles a connection's frames
// in order, so any reply confirms every frame sent before its request: the client counts
// frames sent and confirmed, and `sync()` (one 'sync' round trip, only when something is
// unconfirmed) makes sure the host has handled everything sent so far. That is how one-way
// calls (a queue's acknowledgements, a manager's pipelined writes) are confirmed before a
// graceful exit: one flusher (src/runtime.ts) syncs every client with unconfirmed frames. Messages a process holds back to send together (a queue's
// buffered puts and acknowledgements: `defer()`) leave before anything else it sends, and
// from the 'buffers' exit hook; see Deferred below.

import { AuthenticationError, CancelledError, HostBusyError, ProtocolError, QueueClosed } from '../errors.ts';
import { decodeError, type FromHost, type ToHost } from '../protocol/index.ts';
import { warn } from '../diagnostics.ts';
import { onExit, registerFlusher } from '../runtime.ts';
import { encodeHandles, reviveHandlesSoon } from './handle.ts';
import { addressKey, connect, formatAddress, type Address, type Link } from './link.ts';

const noop = (): void => {};

/** Call arguments with nothing to encode (the common case): no walk, no allocation. */
function primitives(args: unknown[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a === 'object' ? a !== null : typeof a === 'function') return false;
  }
  return true;
}

/** Options of `HostClient.call()`. */
export interface RemoteCallOptions {
  /** Abandon the call: it rejects with CancelledError (cause: the signal's reason) and the host is told. */
  signal?: AbortSignal;
  /**
   * Build the error the call rejects with when the host cannot be reached or the connection
   * breaks. @default a QueueClosed saying the hosting process has exited
   */
  lost?: (message: string, cause: Error | undefined, method?: string) => Error;
  /** Receives a result that arrives after the call was abandoned (a lock granted too late). */
  late?: (value: unknown) => void;
  /** Turns every error the call rejects with into what the caller should see (saves a `.catch` layer). */
  mapError?: (err: unknown, method: string) => Error;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  method: string;
  mapError: RemoteCallOptions['mapError'];
  lost: RemoteCallOptions['lost'];
  late: RemoteCallOptions['late'];
  abandoned: boolean;
  cleanup: () => void;
  /** Frames sent up to and including this request: its reply confirms them all. */
  mark: number;
}

/**
 * Something that holds messages back to send them together later: a queue's buffered puts,
 * its taskDone()s and acknowledgements (src/queue/queue.ts RemoteChannel). `sendDeferred()`
 * sends them now.
 *
 * Whatever this process sends to any host first sends every deferred message. So hosts see
 * what a process did in the order it did it: an item taken by get() is acknowledged before
 * an event.set() made after that get(), and the process the event wakes never finds the
 * item still counted in the queue (CPython's _TestQueue.test_put); an item put before the
 * set() is already in the queue. On one connection the order is then exact; across two
 * hosts the deferred bytes are in the kernel before the later message is written.
 * At exit, the 'buffers' hook (src/runtime.ts) sends everything deferred into the
 * connections, which the 'links' hook then writes.
 */
export interface Deferred {
  sendDeferred(): void;
}

const deferred = new Set<Deferred>();
let sendingDeferred = false;

/** `d` holds messages to send later: they leave before anything else this process sends. */
export function defer(d: Deferred): void {
  deferred.add(d);
}

/** `d` sent what it held by itself. */
export function undefer(d: Deferred): void {
  deferred.delete(d);
}

/** Send every deferred message now (re-entrant calls, from the senders themselves, return). */
function sendAllDeferred(): void {
  if (sendingDeferred || deferred.size === 0) return;
  sendingDeferred = true;
  try {
    for (const d of deferred) {
      deferred.delete(d);
      d.sendDeferred();
    }
  } finally {
    sendingDeferred = false;
  }
}

onExit('buffers', sendAllDeferred);

/** Clients with frames no reply has confirmed yet: synced before a graceful exit. */
const unconfirmed = new Set<HostClient>();

registerFlusher(async () => {
  sendAllDeferred();
  await Promise.all(
    [...unconfirmed].map((client) =>
      client.sync().catch((err: Error) => warn('MP_UNCONFIRMED', `multiproc (pid ${process.pid}): what this process sent to another may not have been handled: ${err.message}`)),
    ),
  );
});

const CLIENTS_KEY = Symbol.for('multiproc.hostClients');
// One connection per host per process, shared by every copy of this module.
const clients = ((globalThis as Record<symbol, unknown>)[CLIENTS_KEY] ??= new Map()) as Map<string, HostClient>;

/** A call that failed before it was sent: rejected with its error, mapped as the caller asked. */
function failed(err: unknown, method: string, mapError: RemoteCallOptions['mapError']): Promise<never> {
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
  /** Frames sent on this connection, and how many of them a reply has confirmed. */
  #sent = 0;
  #confirmed = 0;

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

  /**
   * Is this process connected (or connecting) to the host at `address` with `authkey`
   * (hex)? A host revives handles only for such hosts and its own.
   */
  static isConnected(address: Address, authkey: string): boolean {
    const client = clients.get(`${addressKey(address)}|${authkey}`);
    return client !== undefined && !client.closed;
  }

  /** One string per host and key: the same for every object this client reaches. */
  get key(): string {
    return this.#key;
  }

  /** True once the connection broke; every later call rejects. */
  get closed(): boolean {
    return this.#dead !== null;
  }

  /** True once the handshake is done: frames sent now leave at once (and at exit). */
  get open(): boolean {
    return this.#link !== null && this.#link.open;
  }

  /**
   * Resolves once the connection is open (connecting if needed); rejects with the `lost`
   * error when it cannot be (the host is gone, a wrong authkey, a refusal).
   */
  whenOpen(lost: RemoteCallOptions['lost'] = defaultLost): Promise<void> {
    if (this.#dead) return Promise.reject(this.#lostError(lost, this.#dead));
    return this.#ensureLink().ready.then(undefined, (err: Error) => Promise.reject(this.#lostError(lost, this.#dead ?? err)));
  }

  /** Frames sent that no reply has confirmed yet (the host may not have handled them). */
  get unconfirmed(): number {
    return this.#sent - this.#confirmed;
  }

  /**
   * Resolves once the host has handled every frame this process sent it so far (a 'sync'
   * round trip, or none when nothing is unconfirmed). Sends what is deferred first. Rejects
   * with the `lost` error when the host is gone.
   */
  sync(lost: RemoteCallOptions['lost'] = defaultLost): Promise<void> {
    sendAllDeferred();
    if (this.#sent === this.#confirmed && this.#pending.size === 0) return Promise.resolve();
    if (this.#dead) return Promise.reject(this.#lostError(lost, this.#dead));
    const id = this.#nextId++;
    this.#ensureLink().send({ type: 'sync', id } satisfies ToHost);
    return this.#awaitReply(id, 'sync', { lost }).then(noop);
  }

  /** The error a call would reject with now that the connection is closed, or null while it is not. */
  failure(lost: RemoteCallOptions['lost'] = defaultLost): Error | null {
    return this.#dead === null ? null : this.#lostError(lost, this.#dead);
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
  call(obj: string, method: string, args: unknown[], options: RemoteCallOptions = {}): Promise<unknown> {
    const lost = options.lost ?? defaultLost;
    const mapError = options.mapError;
    if (this.#dead) return failed(this.#lostError(lost, this.#dead, method), method, mapError);
    sendAllDeferred();
    const signal = options.signal;
    if (signal?.aborted) return failed(new CancelledError(`${method}() was cancelled`, { cause: signal.reason }), method, mapError);
    const id = this.#nextId++;
    try {
      this.#sendCall(id, obj, method, args);
    } catch (err) {
      return failed(err, method, mapError);
    }
    return this.#awaitReply(id, method, options);
  }

  /** The promise of request `id`'s reply (the request was sent, and counted, just before). */
  #awaitReply(id: number, method: string, options: RemoteCallOptions): Promise<unknown> {
    const lost = options.lost ?? defaultLost;
    const mapError = options.mapError;
    const signal = options.signal;
    return new Promise<unknown>((resolve, reject) => {
      const pending: Pending = { resolve, reject, method, mapError, lost, late: options.late, abandoned: false, cleanup: noop, mark: this.#sent };
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
    sendAllDeferred();
    this.#sendCall(0, obj, method, args);
  }

  /** A 'call' frame (`id` 0: one-way). Handles in `args` are encoded; primitives skip that walk. Throws SerializationError. */
  #sendCall(id: number, obj: string, method: string, args: unknown[]): void {
    if (primitives(args)) {
      this.#ensureLink().send({ type: 'call', id, obj, method, args } satisfies ToHost);
    } else {
      const encoded = encodeHandles(args);
      this.#ensureLink().send({ type: 'call', id, obj, method, args: encoded.value, handles: encoded.handles || undefined } satisfies ToHost);
    }
    if (this.#sent++ === this.#confirmed) unconfirmed.add(this);
  }

  /** This process holds one more reference to `obj` (claiming a transit lease when `claim`). */
  incref(obj: string, claim: boolean): void {
    if (this.#dead) return;
    sendAllDeferred();
    this.#ensureLink().send({ type: 'incref', obj, claim } satisfies ToHost);
  }

  /** This process drops one reference to `obj`. */
  decref(obj: string): void {
    if (this.#dead || !this.#link) return;
    sendAllDeferred();
    this.#link.send({ type: 'decref', obj } satisfies ToHost);
  }

  /** A handle of `obj` is being sent to another process: keep `obj` alive until it is claimed. */
  lease(obj: string): void {
    if (this.#dead) return;
    sendAllDeferred();
    this.#ensureLink().send({ type: 'lease', obj } satisfies ToHost);
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
    if (pending.mark > this.#confirmed) {
      this.#confirmed = pending.mark;
      if (this.#confirmed === this.#sent) unconfirmed.delete(this);
    }
    switch (m.type) {
      case 'result': {
        // A handle of a kind not loaded here makes this a promise (its reviver's module loads first).
        const value = m.handles ? reviveHandlesSoon(m.value) : m.value;
        if (pending.abandoned) {
          if (pending.late) void Promise.resolve(value).then(pending.late, noop);
        } else {
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

  #lostError(lost: NonNullable<RemoteCallOptions['lost']>, cause: Error, method?: string): Error {
    // Neither is a lost host: its message says what happened and what to do.
    if (cause instanceof AuthenticationError || cause instanceof HostBusyError || (cause instanceof ProtocolError && (cause.fault === 'version' || cause.fault === 'handshake'))) return cause;
    const pid = this.hostPid;
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ECONNREFUSED' ? 'is no longer running' : `closed the connection (${cause.message})`;
    return lost(`the process hosting this object${pid ? ` (pid ${pid})` : ''} at ${formatAddress(this.#address)} ${why}`, cause, method);
  }

  #onClose(err: Error | null): void {
    this.#dead = err ?? new Error('connection closed');
    if (clients.get(this.#key) === this) clients.delete(this.#key);
    unconfirmed.delete(this);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#live = 0;
    for (const p of pending) {
      p.cleanup();
      if (p.abandoned) continue;
      const err = this.#lostError(p.lost ?? defaultLost, this.#dead, p.method);
      p.reject(p.mapError ? p.mapError(err, p.method) : err);
    }
  }
}
