// Node.js declarations that src/diagnostics.ts and src/remote/ need beyond
// src/types/node.d.ts (ambient module blocks merge with the ones there; see the note
// there on why @types/node is not used). Nothing here is emitted.

declare module 'node:util' {
  interface DebugLogger {
    (message: string, ...args: unknown[]): void;
    /** True when NODE_DEBUG names this section. */
    readonly enabled: boolean;
  }
  /** A logger writing to stderr when NODE_DEBUG includes `section` (a no-op otherwise). */
  export function debuglog(section: string): DebugLogger;
}

declare module 'node:diagnostics_channel' {
  export interface Channel {
    readonly name: string;
    /** True while at least one subscriber listens: publishing is skipped otherwise. */
    readonly hasSubscribers: boolean;
    publish(message: unknown): void;
  }
  export function channel(name: string): Channel;
}

declare module 'node:fs' {
  export function chmodSync(path: string, mode: number): void;
  export function rmdirSync(path: string): void;
}

declare module 'node:fs/promises' {
  export function rmdir(path: string): Promise<void>;
}

/**
 * Buffer's per-encoding string methods (on Buffer.prototype since Node 0.x; `write` and
 * `toString` dispatch to them after checking their arguments and the encoding name). The
 * codec (src/remote/codec.ts) calls them directly: on a ~1 KB queue item the dispatch cost
 * more than the copy.
 */
interface Buffer {
  utf8Write(string: string, offset: number, length?: number): number;
  ucs2Write(string: string, offset: number, length?: number): number;
  utf8Slice(start: number, end: number): string;
  ucs2Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}
