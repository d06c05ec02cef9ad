// Reading a socket Node made into our own memory. Runs on every side: the byte channel's
// parent end (src/process/byte-channel.ts) and a host's accepted connections
// (src/remote/link.ts). Imports only node:net.
//
// Why: a socket Node makes for us (a server's accepted socket, a stdio socket of
// child_process) takes no `onread` option on Node 20, so each read lands in a fresh 64 KiB
// buffer emitted as 'data', and a frame larger than that is copied out of those buffers
// into its own. Measured: a host relaying 100k ~1 KB queue items received ~200 MB of
// short-lived buffers and copied 100 MB (host CPU per 100k items 0.50 s -> 0.35 s once
// adopted); a parent receiving a million numbers touched 8 MB of fresh buffers and copied
// them (parent fresh memory 17-19.5 -> 11.4 MB).
//
// How: before anything is read (the socket was made in this same tick; its first read comes
// from a later turn of the event loop), reading stops and its libuv handle moves into a new
// Socket made with `onread` (net.Socket's `handle` option, as Node's own child_process and
// cluster hand sockets over). This relies on Node internals (`_handle`, `readStop`,
// `useUserBuffer`), each checked before use: without them the caller keeps reading the
// original by 'data'. The emptied original stays open until the new one closes, then is
// destroyed: a server counts its connections by the sockets it made (server.close() waits
// for them), and a child process emits 'close' only after each of its stdio sockets did.

import { Socket } from 'node:net';

/** What a socket's `onread` option is given. */
export interface OnRead {
  buffer: () => Uint8Array;
  callback: (nread: number, buf: Buffer) => void;
}

/** The parts of a net.Socket's libuv stream handle that adoptReads uses. */
interface StreamHandle {
  reading?: boolean;
  readStop?: () => number;
  useUserBuffer?: (buf: Uint8Array) => void;
}

/**
 * The connection of `socket` (made by Node, nothing read yet) in a new Socket made with
 * `onread`; null when that cannot be done here (the caller keeps reading `socket`).
 */
export function adoptReads(socket: Socket, onread: OnRead): Socket | null {
  const shell = socket as unknown as { _handle?: StreamHandle | null };
  const handle = shell._handle;
  if (!handle || typeof handle.readStop !== 'function' || typeof handle.useUserBuffer !== 'function') return null;
  if (socket.destroyed || socket.bytesRead > 0) return null;
  if (handle.readStop() !== 0) return null;
  // The new Socket starts reading only if the handle says it is not reading already.
  handle.reading = false;
  shell._handle = null;
  const own = new Socket({ handle, onread, readable: true, writable: true } as unknown as ConstructorParameters<typeof Socket>[0]);
  own.once('close', () => socket.destroy());
  return own;
}
