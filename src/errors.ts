// Every error a multiproc user can catch. Runs on every side (parent, child, host).
//
// Each class has a stable `code` and `name` equal to the class name. Instances are branded
// with a `Symbol.for` key so `instanceof` holds across the ESM build, the CJS build and a
// child's own copy of the library (three copies of this module can coexist in one process).
// This module imports nothing from the library.

const BRAND = Symbol.for('multiproc.error');

/** Codes of every multiproc error class, for `switch (err.code)`. */
export type MultiprocErrorCode =
  | 'MP_REMOTE'
  | 'MP_WORKER_LOST'
  | 'MP_BROKEN_POOL'
  | 'MP_TIMEOUT'
  | 'MP_CANCELLED'
  | 'MP_SERIALIZATION'
  | 'MP_EMPTY'
  | 'MP_FULL'
  | 'MP_QUEUE_CLOSED'
  | 'MP_AUTH'
  | 'MP_HOST_BUSY'
  | 'MP_MANAGER'
  | 'MP_INVALID_STATE'
  | 'MP_RELEASED'
  | 'MP_PROTOCOL'
  | 'MP_SHUTDOWN'
  | 'MP_BUFFER_TOO_SHORT'
  | 'MP_MESSAGE_TOO_LONG';

/**
 * Does `value` carry the brand of class `cls` (the code `cls.CODE`, or the code of one of its
 * subclasses: a ReleasedError is an InvalidStateError)? The base class has no CODE and
 * accepts every brand. A subclass is looked up by its code in this copy's `errorClasses`, so
 * the answer is the same whichever copy of this module made the value.
 */
function hasBrand(value: unknown, cls: Function): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const brand = (value as { [BRAND]?: string })[BRAND];
  if (brand === undefined) return false;
  const code = (cls as { CODE?: string }).CODE;
  if (code === undefined || brand === code) return true;
  const sub = (errorClasses as Record<string, Function | undefined>)[brand];
  // isPrototypeOf, not instanceof: that would call this very check on a prototype object.
  return sub !== undefined && Object.prototype.isPrototypeOf.call(cls.prototype, sub.prototype);
}

/**
 * Base class of every multiproc error.
 * Python: no single base; multiprocessing.ProcessError is the closest.
 */
export class MultiprocError extends Error {
  readonly code: MultiprocErrorCode;
  constructor(code: MultiprocErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, BRAND, { value: code, enumerable: false });
    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: false, configurable: true, writable: true });
  }
  static override [Symbol.hasInstance](value: unknown): boolean {
    // `this` is the class `instanceof` was asked about; its code (and its subclasses') decides.
    return hasBrand(value, this);
  }
}

/**
 * A task threw in another process. Keeps the original `name`, `message`, the remote stack
 * (`remoteStack`), every own property the error had (such as `code`) under `properties`,
 * and the remote `cause`.
 * Python: the original exception re-raised with a RemoteTraceback as its __cause__.
 */
export class RemoteError extends MultiprocError {
  static readonly CODE = 'MP_REMOTE';
  /** The `name` of the error thrown in the child (`TypeError`, `MyError`…). */
  readonly remoteName: string;
  /** The stack trace as printed in the child. */
  readonly remoteStack: string | undefined;
  /** Own enumerable properties of the remote error (its own `code`, custom fields). */
  readonly properties: Record<string, unknown>;
  /** Pid of the process the error was thrown in, when known. */
  readonly pid: number | undefined;
  constructor(
    message: string,
    init: { remoteName: string; remoteStack?: string; properties?: Record<string, unknown>; pid?: number; cause?: unknown },
  ) {
    super('MP_REMOTE', message, init.cause === undefined ? undefined : { cause: init.cause });
    this.remoteName = init.remoteName;
    this.remoteStack = init.remoteStack;
    this.properties = init.properties ?? {};
    this.pid = init.pid;
    if (init.remoteStack) this.stack = `${this.name}: ${init.remoteName}: ${message}\n    [remote stack, pid ${init.pid ?? '?'}]\n${init.remoteStack}`;
  }
}

/**
 * The worker process running a task died (process.exit, a signal, out of memory).
 * Python: no Pool equivalent (Pool hangs); concurrent.futures raises BrokenProcessPool.
 */
export class WorkerLostError extends MultiprocError {
  static readonly CODE = 'MP_WORKER_LOST';
  /** The worker's exit code; minus the signal number when a signal killed it (-9 for SIGKILL), as `Process.exitCode`. */
  readonly exitCode: number | null;
  /** The signal that killed the worker ('SIGKILL'), or null when it exited by itself. */
  readonly signal: string | null;
  readonly pid: number | undefined;
  constructor(message: string, init: { exitCode: number | null; signal: string | null; pid?: number }) {
    super('MP_WORKER_LOST', message);
    this.exitCode = init.exitCode;
    this.signal = init.signal;
    this.pid = init.pid;
  }
}

/**
 * The executor can no longer run work.
 * Python: concurrent.futures.process.BrokenProcessPool.
 */
export class BrokenProcessPool extends MultiprocError {
  static readonly CODE = 'MP_BROKEN_POOL';
  constructor(message: string, options?: ErrorOptions) {
    super('MP_BROKEN_POOL', message, options);
  }
}

/**
 * A `timeout` (milliseconds) passed before the operation finished.
 * Python: multiprocessing.TimeoutError / concurrent.futures.TimeoutError.
 */
export class TimeoutError extends MultiprocError {
  static readonly CODE = 'MP_TIMEOUT';
  /** The timeout that expired, in milliseconds. */
  readonly timeout: number | undefined;
  constructor(message: string, init?: { timeout?: number; cause?: unknown }) {
    super('MP_TIMEOUT', message, init?.cause === undefined ? undefined : { cause: init.cause });
    this.timeout = init?.timeout;
  }
}

/**
 * The operation was cancelled (AbortSignal, Future.cancel(), pool terminate).
 * `cause` is the signal's reason when a signal did it.
 * Python: concurrent.futures.CancelledError.
 */
export class CancelledError extends MultiprocError {
  static readonly CODE = 'MP_CANCELLED';
  constructor(message: string, options?: ErrorOptions) {
    super('MP_CANCELLED', message, options);
  }
}

/**
 * A value cannot cross a process boundary (a function, a socket, a class with private state).
 * `argIndex` names the offending argument when there is one.
 * Python: pickle.PicklingError ("Can't pickle <function <lambda>>").
 */
export class SerializationError extends MultiprocError {
  static readonly CODE = 'MP_SERIALIZATION';
  readonly argIndex: number | undefined;
  constructor(message: string, init?: { argIndex?: number; cause?: unknown }) {
    super('MP_SERIALIZATION', message, init?.cause === undefined ? undefined : { cause: init.cause });
    this.argIndex = init?.argIndex;
  }
}

/**
 * `getNowait()` on an empty queue, or `get({ timeout })` that expired (then `timeout` says
 * how long it waited). Python: queue.Empty (not a TimeoutError, in Python as here).
 */
export class Empty extends MultiprocError {
  static readonly CODE = 'MP_EMPTY';
  /** The timeout that expired, in milliseconds; undefined for `getNowait()`. */
  readonly timeout: number | undefined;
  constructor(message = 'the queue is empty', init?: { timeout?: number }) {
    super('MP_EMPTY', message);
    this.timeout = init?.timeout;
  }
}

/**
 * `putNowait()` on a full queue, or `put({ timeout })` that expired (then `timeout` says how
 * long it waited). Python: queue.Full.
 */
export class Full extends MultiprocError {
  static readonly CODE = 'MP_FULL';
  /** The timeout that expired, in milliseconds; undefined for `putNowait()`. */
  readonly timeout: number | undefined;
  constructor(message = 'the queue is full', init?: { timeout?: number }) {
    super('MP_FULL', message);
    this.timeout = init?.timeout;
  }
}

/**
 * The queue (or pipe) was closed, or the process hosting it exited.
 * Python: ValueError("Queue is closed") / EOFError / BrokenPipeError.
 */
export class QueueClosed extends MultiprocError {
  static readonly CODE = 'MP_QUEUE_CLOSED';
  constructor(message: string, options?: ErrorOptions) {
    super('MP_QUEUE_CLOSED', message, options);
  }
}

/** The peer did not prove it knows the authkey. Python: multiprocessing.AuthenticationError. */
export class AuthenticationError extends MultiprocError {
  static readonly CODE = 'MP_AUTH';
  constructor(message: string, options?: ErrorOptions) {
    super('MP_AUTH', message, options);
  }
}

/**
 * A host (a manager server, or the process serving a queue or lock) refused the connection
 * before the handshake: too many connections were waiting to authenticate there (its
 * `maxPendingHandshakes` / `maxPendingPerAddress` caps). The host is alive; nothing was
 * sent, and a new attempt later may succeed.
 * Python: ConnectionRefusedError (what a Client gets from a Listener whose backlog is full).
 */
export class HostBusyError extends MultiprocError {
  static readonly CODE = 'MP_HOST_BUSY';
  constructor(message: string, options?: ErrorOptions) {
    super('MP_HOST_BUSY', message, options);
  }
}

/**
 * The manager is shut down, unreachable, or refused the call.
 * Python: multiprocessing.managers.RemoteError / EOFError / ConnectionRefusedError.
 */
export class ManagerError extends MultiprocError {
  static readonly CODE = 'MP_MANAGER';
  constructor(message: string, options?: ErrorOptions) {
    super('MP_MANAGER', message, options);
  }
}

/**
 * A lifecycle method was called at the wrong time (start twice, submit after shutdown).
 * Python: ValueError / AssertionError / RuntimeError, depending on the class.
 */
export class InvalidStateError extends MultiprocError {
  /** 'MP_INVALID_STATE'; a subclass (ReleasedError) has a code of its own. */
  static readonly CODE: MultiprocErrorCode = 'MP_INVALID_STATE';
  constructor(message: string, options?: ErrorOptions) {
    super((new.target as typeof InvalidStateError).CODE, message, options);
  }
}

/**
 * A call reached a shared object that no longer exists: every reference to it was dropped
 * and its host released it (a manager's object freed, a queue or lock of a process whose
 * handles were all collected). Recognise it by its class or `code`, never by its text.
 * It is an InvalidStateError (`instanceof InvalidStateError` holds) with a code of its own.
 * Python: no name of its own; a manager answers with a RemoteError around a KeyError for
 * the object's id (weakref's ReferenceError is the closest built-in).
 */
export class ReleasedError extends InvalidStateError {
  static override readonly CODE: MultiprocErrorCode = 'MP_RELEASED';
  /** Id of the released object inside its host, when known. */
  readonly objectId: string | undefined;
  /** Pid of the process that hosted it, when known. */
  readonly hostPid: number | undefined;
  constructor(message: string, init?: { objectId?: string; hostPid?: number; cause?: unknown }) {
    super(message, init?.cause === undefined ? undefined : { cause: init.cause });
    this.objectId = init?.objectId;
    this.hostPid = init?.hostPid;
  }
}

/** What a ProtocolError is about (see ProtocolError). */
export type ProtocolFault = 'version' | 'handshake' | 'frame' | 'codec';

/**
 * The other side does not speak this build's protocol. `fault` says how:
 * 'version'   a message or greeting of another multiproc version (`peerVersion` names it):
 *             the two processes loaded different builds of the library;
 * 'handshake' a greeting that is not multiproc's, or a malformed one;
 * 'frame'     a frame that breaks the framing rules (over the size cap, empty);
 * 'codec'     bytes that do not decode into a message or value.
 * The link or channel it arrived on is closed (one bad peer never affects the others); a
 * pool whose worker speaks another version breaks with a BrokenProcessPool whose `cause` is
 * this error.
 * Python: no twin (pickle.UnpicklingError is the closest, for 'codec').
 */
export class ProtocolError extends MultiprocError {
  static readonly CODE = 'MP_PROTOCOL';
  readonly fault: ProtocolFault;
  /** For `fault: 'version'`: the protocol the other side announced ('multiproc/1'). */
  readonly peerVersion: string | undefined;
  constructor(message: string, init: { fault: ProtocolFault; peerVersion?: string; cause?: unknown }) {
    super('MP_PROTOCOL', message, init?.cause === undefined ? undefined : { cause: init.cause });
    this.fault = init?.fault;
    this.peerVersion = init?.peerVersion;
  }
}

// -- queue shutdown, connection bytes (issue 14) --

/**
 * The queue was shut down (`shutdown()`): puts fail, and gets fail once it is empty (at once
 * after `shutdown({ immediate: true })`).
 * Python: queue.ShutDown (3.13).
 */
export class ShutDown extends MultiprocError {
  static readonly CODE = 'MP_SHUTDOWN';
  constructor(message = 'the queue was shut down', options?: ErrorOptions) {
    super('MP_SHUTDOWN', message, options);
  }
}

/**
 * `recvBytesInto(buffer)`: the message does not fit in `buffer` from `offset`. The message
 * was received (it is not delivered again): `data` holds all of it.
 * Python: multiprocessing.BufferTooShort, whose `args[0]` is the message.
 */
export class BufferTooShort extends MultiprocError {
  static readonly CODE = 'MP_BUFFER_TOO_SHORT';
  /** The whole message that did not fit. */
  readonly data: Buffer;
  constructor(message: string, init: { data: Buffer }) {
    super('MP_BUFFER_TOO_SHORT', message);
    this.data = init.data;
  }
}

/**
 * `recvBytes(maxlength)`: the message is longer than `maxlength` bytes. It was received and
 * dropped; the connection stays usable (Python's does not).
 * Python: OSError("bad message length").
 */
export class MessageTooLong extends MultiprocError {
  static readonly CODE = 'MP_MESSAGE_TOO_LONG';
  /** Length of the message, in bytes. */
  readonly length: number;
  /** The `maxlength` it exceeded. */
  readonly maxlength: number;
  constructor(message: string, init: { length: number; maxlength: number }) {
    super('MP_MESSAGE_TOO_LONG', message);
    this.length = init.length;
    this.maxlength = init.maxlength;
  }
}

/** A `TypeError` with `code: 'MP_INVALID_ARG'`, as Node core reports bad arguments. */
export function invalidArg(message: string): TypeError & { code: 'MP_INVALID_ARG' } {
  const err = new TypeError(message) as TypeError & { code: 'MP_INVALID_ARG' };
  err.code = 'MP_INVALID_ARG';
  return err;
}

/** A `RangeError` with `code: 'MP_INVALID_ARG'`. */
export function invalidRange(message: string): RangeError & { code: 'MP_INVALID_ARG' } {
  const err = new RangeError(message) as RangeError & { code: 'MP_INVALID_ARG' };
  err.code = 'MP_INVALID_ARG';
  return err;
}

/** The error classes by code, for decoding a `WireError` back into its class. */
export const errorClasses = {
  MP_REMOTE: RemoteError,
  MP_WORKER_LOST: WorkerLostError,
  MP_BROKEN_POOL: BrokenProcessPool,
  MP_TIMEOUT: TimeoutError,
  MP_CANCELLED: CancelledError,
  MP_SERIALIZATION: SerializationError,
  MP_EMPTY: Empty,
  MP_FULL: Full,
  MP_QUEUE_CLOSED: QueueClosed,
  MP_AUTH: AuthenticationError,
  MP_HOST_BUSY: HostBusyError,
  MP_MANAGER: ManagerError,
  MP_INVALID_STATE: InvalidStateError,
  MP_RELEASED: ReleasedError,
  MP_PROTOCOL: ProtocolError,
  MP_SHUTDOWN: ShutDown,
  MP_BUFFER_TOO_SHORT: BufferTooShort,
  MP_MESSAGE_TOO_LONG: MessageTooLong,
} as const;
