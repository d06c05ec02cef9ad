// Node.js declarations that src/queue/ needs beyond src/types/node.d.ts (which this file
// extends by declaration merging; see the note there on why @types/node is not used).

interface Buffer {
  readDoubleLE(offset?: number): number;
  writeDoubleLE(value: number, offset?: number): number;
}

interface String {
  /** ES2024; in Node since 20. */
  isWellFormed(): boolean;
}

declare module 'node:net' {
  /**
   * `onread`: read into `buffer` (reused for every read; a function: called for the buffer of
   * each read, after the previous read's callback) and call `callback` with the byte count,
   * instead of emitting 'data' with a fresh Buffer. Client sockets only (Node >= 12).
   */
  export function createConnection(
    options: { path?: string; port?: number; host?: string; timeout?: number; noDelay?: boolean; onread?: { buffer: Uint8Array | (() => Uint8Array); callback: (nread: number, buf: Buffer) => boolean | void } },
    cb?: () => void,
  ): Socket;
}
