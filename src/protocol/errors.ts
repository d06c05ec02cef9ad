// Errors on the wire: a plain record, never a live Error object across processes. Runs on
// every side. multiproc's own errors come back as their class; anything else as a
// RemoteError keeping the original name, message, stack, own properties and cause.
// Imports only src/errors.ts and src/util.ts.

import { errorClasses, MultiprocError, RemoteError, type MultiprocErrorCode } from '../errors.ts';
import { describe } from '../util.ts';
import { cloneable } from './values.ts';

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
  // A code this build does not know (the peer's library is newer) becomes a RemoteError too.
  const Cls = wire.mpCode && wire.mpCode !== 'MP_REMOTE' ? (errorClasses as Record<string, (new (message: string, init?: unknown) => MultiprocError) | undefined>)[wire.mpCode] : undefined;
  if (Cls !== undefined) {
    const err = Object.create(Cls.prototype) as MultiprocError & Record<string, unknown>;
    // Rebuild without running constructors whose signatures differ; copy the facts over.
    const fresh = new MultiprocError(wire.mpCode!, wire.message, cause === undefined ? undefined : { cause });
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
