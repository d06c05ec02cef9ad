// Every message that crosses a process boundary, as typed unions. Runs on every side.
//
// Two channels carry messages:
//   parent <-> child   Node's IPC channel of a forked process (advanced serialization).
//                      ToChild / FromChild below.
//   proxy  <-> host    a framed, authenticated socket (src/queue/connection.ts).
//                      ToHost / FromHost below; their byte layout is in src/queue/codec.ts.
// Every IPC message carries `mp: PROTOCOL`: anything else on the IPC channel is a user
// message and passes untouched, and a child of a different multiproc build fails loudly
// instead of misreading a message. A host link says PROTOCOL once, in its handshake greeting
// (a mismatch fails the connection), so its messages carry no brand. Requests carry a
// numeric `id`; replies echo it.
// This module imports nothing from the library but errors.ts (for decodeError).

import { errorClasses, MultiprocError, RemoteError, type MultiprocErrorCode } from './errors.ts';

/** Protocol brand and version; bump the number on any incompatible change. */
export const PROTOCOL = 'multiproc/2' as const;
export type Brand = { mp: typeof PROTOCOL };

// ---------------------------------------------------------------------------------------
// Errors on the wire

/** An error as a plain record: never a live Error object across processes. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** A multiproc error code when the error is one of ours (decoded back into its class). */
  mpCode?: MultiprocErrorCode;
  /** Own enumerable properties (`code`, `errno`, custom fields) that survive cloning. */
  props: Record<string, unknown>;
  cause?: WireError | { value: unknown };
  pid?: number;
}

/** Can `value` cross a process boundary (structured clone)? */
export function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** Index of the first value that cannot be cloned, or -1: to name it in a SerializationError. */
export function findUncloneable(values: ArrayLike<unknown>): number {
  for (let i = 0; i < values.length; i++) if (!cloneable(values[i])) return i;
  return -1;
}

/** Turn anything thrown into a WireError (recursively for `cause`, depth-limited). */
export function encodeError(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error) && !(typeof err === 'object' && err !== null && 'message' in err && 'name' in err)) {
    return { name: 'Error', message: `a non-Error value was thrown: ${describe(err)}`, props: { thrown: cloneable(err) ? err : String(err) }, pid: process.pid };
  }
  const e = err as Error & Record<string, unknown>;
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(e)) {
    if (key === 'cause' || key === 'stack' || key === 'message' || key === 'name') continue;
    const v = e[key];
    props[key] = cloneable(v) ? v : String(v);
  }
  const wire: WireError = { name: String(e.name ?? 'Error'), message: String(e.message ?? ''), stack: typeof e.stack === 'string' ? e.stack : undefined, props, pid: process.pid };
  if (e instanceof MultiprocError) wire.mpCode = e.code;
  if (e.cause !== undefined && depth < 8) {
    wire.cause = e.cause instanceof Error ? encodeError(e.cause, depth + 1) : { value: cloneable(e.cause) ? e.cause : String(e.cause) };
  }
  return wire;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

function decodeCause(cause: WireError['cause']): unknown {
  if (cause === undefined) return undefined;
  return 'value' in cause ? cause.value : decodeError(cause);
}

/**
 * Rebuild an error from the wire. multiproc's own errors come back as their class (an
 * `Empty` from a queue host is an `Empty` here); anything else becomes a `RemoteError`
 * carrying the original name, message, stack, own properties and cause.
 */
export function decodeError(wire: WireError): Error {
  const cause = decodeCause(wire.cause);
  if (wire.mpCode && wire.mpCode !== 'MP_REMOTE') {
    const Cls = errorClasses[wire.mpCode] as unknown as new (message: string, init?: unknown) => MultiprocError;
    const err = Object.create(Cls.prototype) as MultiprocError & Record<string, unknown>;
    // Rebuild without running constructors whose signatures differ; copy the facts over.
    const fresh = new MultiprocError(wire.mpCode, wire.message, cause === undefined ? undefined : { cause });
    Object.assign(err, fresh, wire.props);
    Object.defineProperty(err, Symbol.for('multiproc.error'), { value: wire.mpCode, enumerable: false });
    Object.defineProperty(err, 'name', { value: wire.name, enumerable: false, configurable: true, writable: true });
    Object.defineProperty(err, 'message', { value: wire.message, enumerable: false, configurable: true, writable: true });
    err.stack = wire.stack ?? `${wire.name}: ${wire.message}`;
    if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
    return err;
  }
  const err = new RemoteError(wire.message, { remoteName: wire.name, remoteStack: wire.stack, properties: wire.props, pid: wire.pid, cause });
  // Own properties (a custom `code`, `statusCode`…) are also readable on the error itself,
  // so `err.code === 'ENOENT'` style checks keep working; multiproc's `code` wins.
  for (const [k, v] of Object.entries(wire.props)) if (!(k in err)) (err as unknown as Record<string, unknown>)[k] = v;
  return err;
}

// ---------------------------------------------------------------------------------------
// Task references

/** How a child finds a function: by its source text, or by module URL and export name. */
export type FnSpec =
  | { kind: 'source'; source: string; name: string }
  | { kind: 'module'; url: string; exportName: string };

// ---------------------------------------------------------------------------------------
// Shared-object handles

/**
 * The serializable reference to an object hosted by some process (a Queue, a Lock, a
 * manager list). Crosses processes inside arguments; the receiver revives it into a proxy.
 * The `__mpHandle` key is a string, not a symbol, because symbol keys do not survive
 * structured clone.
 */
export interface Handle {
  __mpHandle: typeof PROTOCOL;
  /** What proxy to build: 'queue', 'lock', 'manager.list'… */
  kind: string;
  /** Where the host listens: a unix socket path, or TCP host and port. */
  address: string | { host: string; port: number };
  /** Object id inside that host. */
  id: string;
  /** Hex auth key the host's connections require. */
  authkey: string;
  /** Kind-specific facts (maxsize, duplex…) the proxy needs without a round trip. */
  meta?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------
// parent -> child (IPC)

/** Numbers packed as raw bytes: read by index, as an array would be. */
export type PackedNumbers = Int32Array | Float64Array;

/** Does `v` survive an Int32Array unchanged? (-0 does not: it would come back as 0.) */
export function isInt32(v: number): boolean {
  return (v | 0) === v && (v !== 0 || 1 / v > 0);
}

export type ToChild = Brand &
  (
    | {
        /** First message: who the child is and what to run before any task. */
        type: 'init';
        name: string;
        role: 'process' | 'worker';
        initializer?: FnSpec;
        initargs?: unknown[];
        /** Arguments contain handles to revive. */
        handles?: boolean;
      }
    | {
        /** Process target: run once, then exit with 0 (or 1 when it throws). */
        type: 'run';
        fn: FnSpec;
        args: unknown[];
        handles?: boolean;
      }
    | {
        /** Make `fn` callable as `key` in later `call` messages (sent once per worker). */
        type: 'define';
        key: number;
        fn: FnSpec;
      }
    | {
        /**
         * Run a batch: for each item call fn(item) (`spread: false`) or fn(...item)
         * (`spread: true`). Items run one after another; async tasks are awaited.
         */
        type: 'call';
        id: number;
        key: number;
        /**
         * Arguments, one per item. A batch of numbers may travel packed: an Int32Array when
         * every one is a 32-bit integer (and none is -0), otherwise a Float64Array.
         */
        items: unknown[] | PackedNumbers;
        spread: boolean;
        handles?: boolean;
      }
    | {
        /**
         * Take back batch `id` if it has not started: it waits in the child's inbox behind
         * the running batch (the parent pipelines up to two per worker). Handled on arrival,
         * not in inbox order, and answered with one 'dropped' unless the batch has finished
         * (its own reply went first). `steal`: the parent wants to run it on an idle worker,
         * which only helps while another batch runs here; a child that is free to start it
         * keeps it.
         */
        type: 'drop';
        id: number;
        steal?: boolean;
      }
  );

// ---------------------------------------------------------------------------------------
// child -> parent (IPC)

export type FromChild = Brand &
  (
    | { /** init finished, initializer (if any) ran. */ type: 'ready'; pid: number }
    | { /** the initializer threw; the child exits after sending this. */ type: 'init-failed'; error: WireError }
    | { /** a batch finished: one value per item. */ type: 'result'; id: number; values: unknown[] }
    | {
        /**
         * A batch finished and every value is a number: 'result' with the values packed
         * (raw bytes on the wire; every JS number, -0 and NaN included, survives a
         * Float64Array; an Int32Array carries 32-bit integers in half the bytes).
         */
        type: 'numbers';
        id: number;
        values: PackedNumbers;
      }
    | {
        /**
         * A batch failed at item `index`: `values` holds results of the items before it.
         * The rest of the batch was not run.
         */
        type: 'error';
        id: number;
        index: number;
        values: unknown[];
        error: WireError;
      }
    | {
        /**
         * The answer to a 'drop' of batch `id`. `taken`: it was removed before it started and
         * will never run. Otherwise it is running (or it was a `steal` the child declined):
         * its own 'result'/'error' reply follows.
         */
        type: 'dropped';
        id: number;
        taken: boolean;
      }
    | { /** the Process target finished or threw (then `error` is set). */ type: 'done'; error?: WireError }
  );

/** True when `m` is one of ours (branded), not a user message on the same channel. */
export function isBranded(m: unknown): m is Brand & { type: string } {
  return typeof m === 'object' && m !== null && (m as { mp?: unknown }).mp === PROTOCOL;
}

/** Thrown for a branded message of another protocol version (a different multiproc build). */
export function checkVersion(m: unknown): void {
  if (typeof m === 'object' && m !== null && typeof (m as { mp?: unknown }).mp === 'string') {
    const mp = (m as { mp: string }).mp;
    if (mp.startsWith('multiproc/') && mp !== PROTOCOL) {
      throw new Error(`multiproc protocol mismatch: this side speaks ${PROTOCOL}, the other ${mp}; both processes must load the same multiproc version`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// proxy -> host and host -> proxy (framed socket). Owned by src/queue/; see host.ts.
//
// After the handshake (src/queue/connection.ts) every frame is one v8-serialized message of
// these unions. A proxy calls a method of a hosted object by name; the host replies with the
// value the method returned (or resolved to) or the error it threw. `id` 0 asks for no reply
// (acknowledgements and other one-way notes); any other id is echoed by exactly one reply.
// `handles: true` says the sender found shareable objects in `args` / `value`, so the
// receiver must revive handles there (src/queue/handle.ts); otherwise it skips that walk.

export type ToHost =
  (
    | {
        /** Call `method` of hosted object `obj` with `args`. */
        type: 'call';
        id: number;
        obj: string;
        method: string;
        args: unknown[];
        handles?: boolean;
      }
    | {
        /** The caller gave up on request `id` (its AbortSignal fired): abort the call's signal. */
        type: 'cancel';
        id: number;
      }
    | {
        /**
         * This connection holds one more reference to `obj`. `claim: true` converts one of the
         * object's transit leases (taken when its handle was serialized) into this reference.
         */
        type: 'incref';
        obj: string;
        claim: boolean;
      }
    | { /** This connection drops one reference to `obj`. */ type: 'decref'; obj: string }
    | {
        /**
         * A proxy of `obj` serialized its handle for a third process: keep the object alive
         * (one transit lease) until that process claims it or the lease expires.
         */
        type: 'lease';
        obj: string;
      }
  );

export type FromHost =
  (
    | { /** Request `id` returned `value`. */ type: 'result'; id: number; value: unknown; handles?: boolean }
    | { /** Request `id` failed. */ type: 'error'; id: number; error: WireError }
  );
