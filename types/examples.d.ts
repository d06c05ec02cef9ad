// Compile-time declarations for the Node.js built-ins that examples/ (and test/examples.test.ts)
// use beyond what the library itself needs. Same rule as src/types/node.d.ts: there is no
// @types/node, so this describes only what the examples call, with Node 20's real signatures.
// Ambient module blocks merge with the ones in src/types/ and types/node.d.ts. Type-checked
// by tsconfig.json only: the build (tsconfig.build.json) never sees it, and it is not packed.

declare module 'node:fs' {
  import { Readable, Writable } from 'node:stream';
  export function createReadStream(path: string, options?: { encoding?: BufferEncoding; highWaterMark?: number; start?: number; end?: number }): Readable;
  export function createWriteStream(path: string, options?: { flags?: string; encoding?: BufferEncoding }): Writable;
}

declare module 'node:stream/promises' {
  /** Pipes the streams into each other and settles when the last one finishes (or one fails). */
  export function pipeline(...streams: unknown[]): Promise<void>;
}

declare module 'node:zlib' {
  import { Duplex } from 'node:stream';
  export interface ZlibOptions { level?: number; chunkSize?: number; memLevel?: number }
  export class Gzip extends Duplex {}
  export class Gunzip extends Duplex {}
  export function createGzip(options?: ZlibOptions): Gzip;
  /** Decompresses every member of a multi-member gzip stream, as `gzip -d` does. */
  export function createGunzip(options?: ZlibOptions): Gunzip;
  export function gzipSync(data: string | Uint8Array, options?: ZlibOptions): Buffer;
  export function gunzipSync(data: Uint8Array, options?: ZlibOptions): Buffer;
  export const constants: { Z_BEST_SPEED: number; Z_DEFAULT_COMPRESSION: number; Z_BEST_COMPRESSION: number };
}

declare module 'node:readline' {
  import { EventEmitter } from 'node:events';
  import { Readable } from 'node:stream';
  export interface Interface extends EventEmitter, AsyncIterable<string> {
    close(): void;
  }
  export function createInterface(options: { input: Readable; crlfDelay?: number; terminal?: boolean }): Interface;
}

declare module 'node:http' {
  import { EventEmitter } from 'node:events';
  import { Readable, Writable } from 'node:stream';
  import type { AddressInfo } from 'node:net';
  export class IncomingMessage extends Readable {
    url?: string;
    method?: string;
    headers: Record<string, string | string[] | undefined>;
  }
  export class ServerResponse extends Writable {
    statusCode: number;
    setHeader(name: string, value: string | number): this;
    writeHead(statusCode: number, headers?: Record<string, string | number>): this;
  }
  export class Server extends EventEmitter {
    listening: boolean;
    listen(port: number, host: string, cb?: () => void): this;
    close(cb?: (err?: Error) => void): this;
    closeAllConnections(): void;
    address(): AddressInfo | string | null;
    unref(): this;
  }
  export function createServer(listener: (req: IncomingMessage, res: ServerResponse) => void): Server;
}

/** What the examples read of a fetch() response (Node 20's global fetch is undici's). */
interface ExampleFetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly url: string;
  text(): Promise<string>;
  json(): Promise<unknown>;
}
declare function fetch(input: string | URL, init?: { method?: string; headers?: Record<string, string>; signal?: AbortSignal }): Promise<ExampleFetchResponse>;

declare module 'node:os' {
  /** The 1, 5 and 15 minute load averages (runnable processes); [0, 0, 0] on Windows. */
  export function loadavg(): number[];
}
