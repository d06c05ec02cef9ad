// One process's hold on one hosted object, and the one way every shared type reaches it.
// Runs on every side. A Queue (and its kin), each end of a Pipe, Lock … Barrier, and every
// manager proxy holds a Reference; a reviver makes one from the handle that arrived
// (Reference.revive) and gives it to the public class's constructor.
//
//   Reference.hosted(host, id, options)   an object this process has just registered
//   Reference.revive(handle, options)     the object a handle that arrived names
//   ref.bind(owner)        hold the object for as long as `owner` (the public object) lives
//   ref.call(method, args, { signal?, late? })     call it, wherever it lives
//   ref.notify(method, args)                       a one-way call
//   ref.toHandle()         the handle to send on (takes a transit lease)
//   ref.release()          drop the hold now (a pipe end closed); GC does it otherwise
//
// Local or remote: a reference to an object of a Host of this very process calls it
// through Host.callLocal: the same checks, call context and errors as a remote call (and,
// with `copy`, the same copies of arguments and results), with no socket. Any other goes
// through this process's one HostClient for that host (src/remote/client.ts).
// Holding (Python's BaseProxy._incref/_decref): a local reference is one of the host's local
// references (host.bind), a remote one an 'incref' on the connection that claims the transit
// lease its handle came with; either is dropped when the owner is garbage collected (the
// host's FinalizationRegistry, or the one below) or released explicitly.
// Lost: a remote call that cannot reach the host (it exited, the connection broke) rejects
// with `options.lost(message, cause)`: the kind's own error (QueueClosed for the queue
// family, ManagerError for a manager's objects).
// Exit: what the caller sent one way is confirmed by HostClient.sync() before a graceful
// exit and written by the exit hooks on any exit (src/runtime.ts); nothing to do here.

import type { Handle } from '../protocol/index.ts';
import { HostClient, type RemoteCallOptions } from './client.ts';
import { Host } from './host.ts';
import { formatAddress } from './link.ts';

/** Builds the error a call rejects with when the host cannot be reached: the kind's own. */
export type LostError = (message: string, cause: Error | undefined, method?: string) => Error;

/** Options of a reference, fixed by the kind of object it points at. */
export interface ReferenceOptions {
  /** The error for a host that cannot be reached (see the header). */
  lost: LostError;
  /**
   * Copy arguments and results of local calls as the wire would (manager objects: a local
   * caller must not alias the stored data). @default false (queues and locks pass primitives
   * and Buffers they do not keep)
   */
  copy?: boolean;
  /** Turns every error a call rejects with into what the caller should see (a manager's translate()). */
  mapError?: (err: unknown, method: string) => Error;
}

/** Options of one call. */
export interface RefCallOptions {
  /** Abandon the call: it rejects with CancelledError (cause: the signal's reason). */
  signal?: AbortSignal;
  /** Receives a result that arrives after the call was abandoned (remote only: a lock granted too late). */
  late?: (value: unknown) => void;
}

const noop = (): void => {};

/** What the finalizer needs to drop a collected owner's remote reference (never the owner). */
interface Held {
  client: HostClient;
  id: string;
  held: boolean;
  onRelease: (() => void) | null;
}

const remoteFinalizer = new FinalizationRegistry<Held>(dropRemote);

function dropRemote(held: Held): void {
  if (!held.held) return;
  held.held = false;
  held.client.decref(held.id);
  held.onRelease?.();
}

/**
 * A hold on one hosted object (see the header). Internal: the public classes hold one.
 * Throws InvalidStateError (from `bind`) for a local object that was released meanwhile.
 */
export abstract class Reference {
  /** The object's id on its host. */
  readonly id: string;
  readonly options: ReferenceOptions;

  protected constructor(id: string, options: ReferenceOptions) {
    this.id = id;
    this.options = options;
  }

  /** A reference to object `id` that this process has just registered on `host`. */
  static hosted(host: Host, id: string, options: ReferenceOptions): Reference {
    return new LocalReference(host, id, options, false);
  }

  /**
   * The reference a handle that arrived stands for: local when the object lives on a Host
   * of this very process (a queue that came back to its creator), remote otherwise.
   */
  static revive(handle: Handle, options: ReferenceOptions): Reference {
    const host = Host.find(handle.address);
    if (host && host.lookup(handle.id) !== undefined) return new LocalReference(host, handle.id, options, true);
    return new RemoteReference(handle, options);
  }

  /** True when the object lives in this process (`target` and `host` are set). */
  abstract readonly local: boolean;
  /** The hosted object itself, for a local reference; null for a remote one. */
  abstract readonly target: object | null;
  /** The host it lives on, for a local reference; null for a remote one. */
  abstract readonly host: Host | null;
  /** The connection to its host, for a remote reference; null for a local one. */
  abstract readonly client: HostClient | null;
  /** The facts its handle carries (`handle.meta`: maxsize, typecode…). */
  abstract readonly meta: Readonly<Record<string, unknown>>;
  /** `address#id`: the same string for every reference to one hosted object, in any process. */
  abstract readonly identity: string;

  /**
   * Hold the object for as long as `owner` lives; `onRelease` runs once when the hold is
   * dropped (collected or released). Called once, by the owner's constructor.
   */
  abstract bind(owner: object, onRelease?: () => void): void;
  /** Call `method` with `args`. Rejects with what it threw, CancelledError, or the lost error. */
  abstract call(method: string, args: unknown[], options?: RefCallOptions): Promise<unknown>;
  /** Call `method` without waiting for a reply (local: at once). Throws SerializationError for an argument that cannot cross. */
  abstract notify(method: string, args: unknown[]): void;
  /** The handle to send to another process: takes a transit lease so the object survives the trip. */
  abstract toHandle(): Handle;
  /** Drop the hold now (idempotent). */
  abstract release(): void;
}

class LocalReference extends Reference {
  readonly local = true;
  readonly identity: string;
  readonly host: Host;
  readonly target: object;
  readonly client = null;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly #claim: boolean;
  #release: () => void = noop;

  constructor(host: Host, id: string, options: ReferenceOptions, claim: boolean) {
    super(id, options);
    this.host = host;
    this.target = host.lookup(id)!;
    this.meta = host.metaOf(id);
    this.#claim = claim;
    this.identity = `${formatAddress(host.address)}#${id}`;
  }

  bind(owner: object, onRelease?: () => void): void {
    this.#release = this.host.bind(owner, this.id, this.#claim, onRelease);
  }

  call(method: string, args: unknown[], options?: RefCallOptions): Promise<unknown> {
    const reply = this.host.callLocal(this.id, method, args, options?.signal, this.options.copy === true);
    const mapError = this.options.mapError;
    return mapError ? reply.catch((err: unknown) => Promise.reject(mapError(err, method))) : reply;
  }

  notify(method: string, args: unknown[]): void {
    this.host.callLocal(this.id, method, args, undefined, this.options.copy === true).catch(noop);
  }

  toHandle(): Handle {
    return this.host.handle(this.id);
  }

  release(): void {
    const release = this.#release;
    this.#release = noop;
    release();
  }
}

class RemoteReference extends Reference {
  readonly local = false;
  readonly identity: string;
  readonly host = null;
  readonly target = null;
  readonly client: HostClient;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly #handle: Handle;
  /** The same options for every call: no allocation per call. */
  readonly #callOptions: RemoteCallOptions;
  #held: Held | null = null;

  constructor(handle: Handle, options: ReferenceOptions) {
    super(handle.id, options);
    this.#handle = handle;
    this.meta = handle.meta ?? {};
    this.identity = `${formatAddress(handle.address)}#${handle.id}`;
    const hostPid = typeof handle.meta?.hostPid === 'number' ? handle.meta.hostPid : undefined;
    this.client = HostClient.for(handle.address, handle.authkey, hostPid);
    this.#callOptions = { lost: options.lost, mapError: options.mapError };
  }

  bind(owner: object, onRelease?: () => void): void {
    // Claim the lease the sender took when it serialized the handle: from here on this
    // reference keeps the object alive.
    this.client.incref(this.id, true);
    const held: Held = { client: this.client, id: this.id, held: true, onRelease: onRelease ?? null };
    this.#held = held;
    remoteFinalizer.register(owner, held, held);
  }

  call(method: string, args: unknown[], options?: RefCallOptions): Promise<unknown> {
    if (options === undefined) return this.client.call(this.id, method, args, this.#callOptions);
    return this.client.call(this.id, method, args, { ...this.#callOptions, signal: options.signal, late: options.late });
  }

  notify(method: string, args: unknown[]): void {
    this.client.notify(this.id, method, args);
  }

  toHandle(): Handle {
    // The object must outlive the trip to the next process even if this one drops its
    // reference before the receiver claims it; the lease goes out before any later decref on
    // the same ordered connection.
    this.client.lease(this.id);
    return this.#handle;
  }

  release(): void {
    const held = this.#held;
    if (!held?.held) return;
    remoteFinalizer.unregister(held);
    dropRemote(held);
  }
}
