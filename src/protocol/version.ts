// The protocol's brand and version, and the checks every receiver makes. Runs on every side.
//
// Every IPC message between a parent and a multiproc child carries `mp: PROTOCOL`: anything
// else on that channel is a user message and passes untouched, and a message of another
// multiproc build is recognised as such instead of being misread. A host link says PROTOCOL
// once, in its handshake greeting (src/remote/link.ts), so its messages carry no brand.
// Imports nothing.

/** Protocol brand and version; bump the number on any incompatible change. */
export const PROTOCOL = 'multiproc/3' as const;
export type Brand = { mp: typeof PROTOCOL };

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
