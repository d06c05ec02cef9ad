// The protocol's brand and version, and the checks every receiver makes. Runs on every side.
//
// Every IPC message between a parent and a multiproc child carries `mp: PROTOCOL`: anything
// else on that channel is a user message and passes untouched, and a message of another
// multiproc build is recognised as such instead of being misread. A host link says PROTOCOL
// once, in its handshake greeting (src/remote/link.ts), so its messages carry no brand.
// Imports only src/errors.ts.

import { ProtocolError } from '../errors.ts';

/** Protocol brand and version; bump the number on any incompatible change. */
export const PROTOCOL = 'multiproc/5' as const;
export type Brand = { mp: typeof PROTOCOL };

/** True when `m` is one of ours (branded), not a user message on the same channel. */
export function isBranded(m: unknown): m is Brand & { type: string } {
  return typeof m === 'object' && m !== null && (m as { mp?: unknown }).mp === PROTOCOL;
}

/**
 * Exit code of a child that received a message of another protocol version (sysexits.h's
 * EX_PROTOCOL): the parent tells a build mismatch from a crash by it.
 */
export const EXIT_PROTOCOL = 76;

/**
 * The version mismatch `m` shows, or null: a ProtocolError (fault 'version', `peerVersion`)
 * when `m` is branded by another multiproc build ('multiproc/1'), null when it is ours or
 * not multiproc's at all (a user message on the same channel). Never throws: it runs inside
 * message listeners, where a throw is an uncaught exception. The caller reports the error
 * (a child warns and exits with EXIT_PROTOCOL; a parent breaks the pool, with the error as
 * the cause) so a mismatch fails loudly.
 */
export function checkVersion(m: unknown): ProtocolError | null {
  if (typeof m !== 'object' || m === null) return null;
  const mp = (m as { mp?: unknown }).mp;
  if (typeof mp !== 'string' || !mp.startsWith('multiproc/') || mp === PROTOCOL) return null;
  return versionMismatch(mp, 'the other side');
}

/**
 * The ProtocolError for a peer that announced protocol `peerVersion` (a branded message, a
 * host's greeting); `peer` names it in the message ('the host', 'worker PoolWorker-3').
 */
export function versionMismatch(peerVersion: string, peer: string): ProtocolError {
  return new ProtocolError(
    `multiproc protocol mismatch: this side speaks ${PROTOCOL}, ${peer} ${peerVersion}; both processes must load the same multiproc version`,
    { fault: 'version', peerVersion },
  );
}
