// Compile-time declarations for the Node.js built-ins that test/, examples/ and bench/ use
// beyond what the library itself needs (src/types/). Same rule as src/types/node.d.ts: there
// is no @types/node, so this describes only what is called, with Node 20's real signatures.
// Global interfaces and ambient module blocks merge with the ones in src/types/. Type-checked
// by tsconfig.json only: the build (tsconfig.build.json) never sees it, and it is not packed.
// A declaration the library starts to use moves back to src/types/ (the build then needs it).

interface Console {
  log(...data: unknown[]): void;
  error(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  info(...data: unknown[]): void;
  debug(...data: unknown[]): void;
  table(data: unknown, columns?: string[]): void;
}
declare var console: Console;

declare class TextEncoder { encode(input?: string): Uint8Array }
declare class TextDecoder { constructor(label?: string); decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string }

declare class DOMException extends Error {
  constructor(message?: string, name?: string);
  readonly code: number;
}

interface ImportMeta { url: string; dirname?: string; filename?: string; resolve(specifier: string): string }

declare namespace NodeJS {
  interface ReadableStream { isTTY?: boolean; fd?: number }
  interface MemoryUsage { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }
  interface Process {
    argv: string[];
    execPath: string;
    exitCode: number | undefined | string;
    arch: string;
    version: string;
    versions: Record<string, string | undefined>;
    stdin: ReadableStream;
    channel?: { ref(): void; unref(): void };
    disconnect?(): void;
    hrtime: { bigint(): bigint; (time?: [number, number]): [number, number] };
    memoryUsage(): MemoryUsage;
    cpuUsage(previous?: { user: number; system: number }): { user: number; system: number };
    uptime(): number;
    removeListener(event: string, listener: (...args: any[]) => void): this;
    listenerCount(event: string): number;
    emit(event: string, ...args: unknown[]): boolean;
  }
}
declare var __filename: string | undefined;
declare var __dirname: string | undefined;
// Declared as always present: by-source task functions get a `require` from the child entry.
declare var require: NodeRequire;

declare module 'node:events' {
  export function once(emitter: EventEmitter, event: string): Promise<any[]>;
  export default EventEmitter;
  /** The listeners registered on an EventEmitter or EventTarget (an AbortSignal) for `name`. */
  export function getEventListeners(emitter: EventTarget | EventEmitter, name: string | symbol): Function[];
}

declare module 'node:net' {
  interface Socket {
    /** The local address to connect from (TCP). */
    localAddress?: string;
  }
  export function createServer(options: { allowHalfOpen?: boolean; pauseOnConnect?: boolean; noDelay?: boolean }, listener?: (socket: Socket) => void): Server;
  export function createConnection(options: { path?: string; port?: number; host?: string; timeout?: number; noDelay?: boolean }, cb?: () => void): Socket;
  export function createConnection(options: { port: number; host: string; localAddress?: string; noDelay?: boolean }, cb?: () => void): Socket;
  export function createConnection(path: string, cb?: () => void): Socket;
  export function connect(options: { path?: string; port?: number; host?: string; noDelay?: boolean }, cb?: () => void): Socket;
  export function isIP(input: string): number;
}

declare module 'node:child_process' {
  type SpawnStdio = 'pipe' | 'ignore' | 'inherit' | 'ipc' | 'overlapped' | number | null | undefined;
  export function execFileSync(file: string, args?: readonly string[], options?: { encoding?: BufferEncoding; cwd?: string; env?: Record<string, string | undefined>; stdio?: SpawnStdio | SpawnStdio[]; timeout?: number; input?: string }): string;
  export function execFile(file: string, args: readonly string[], options: { encoding?: BufferEncoding; cwd?: string; env?: Record<string, string | undefined>; timeout?: number; maxBuffer?: number }, cb: (error: (Error & { code?: number | string }) | null, stdout: string, stderr: string) => void): ChildProcess;
}

declare module 'node:v8' {
  const v8: { serialize: typeof serialize; deserialize: typeof deserialize };
  export default v8;
  /** What v8.serialize() uses: Buffers and typed arrays as host objects. */
  export class DefaultSerializer {
    writeHeader(): void;
    writeValue(value: unknown): boolean;
    writeRawBytes(buffer: ArrayBufferView): void;
    releaseBuffer(): Buffer;
  }
  /** Set V8 flags at run time (the manager tests use it to reach `gc()`). */
  export function setFlagsFromString(flags: string): void;
}

declare module 'node:vm' {
  /** Run `code` in a fresh context and return its value. */
  export function runInNewContext(code: string, context?: object): any;
  /** Compiled code: test/worker-cost.test.ts makes a code cache of the compile alone. */
  export class Script {
    constructor(code: string, options?: { filename?: string; cachedData?: Uint8Array });
    createCachedData(): Buffer;
  }
}

declare module 'node:os' {
  export function cpus(): Array<{ model: string; speed: number }>;
  export function hostname(): string;
  export function totalmem(): number;
  export function freemem(): number;
  export function platform(): string;
  export function release(): string;
  export const EOL: string;
}

declare module 'node:path' {
  const path: { join: typeof join; resolve: typeof resolve; dirname: typeof dirname; basename: typeof basename; extname: typeof extname; relative: typeof relative; isAbsolute: typeof isAbsolute; sep: string };
  export default path;
}

declare module 'node:module' {
  export const builtinModules: string[];
}

declare module 'node:crypto' {
  interface Hash { update(data: string | Uint8Array): Hash; digest(): Buffer; digest(encoding: BufferEncoding): string }
  export function randomUUID(): string;
  export function createHash(algorithm: string): Hash;
}

declare module 'node:fs' {
  interface Stats {
    /** File type and permission bits. */
    mode: number;
  }
  export function existsSync(path: string): boolean;
  export function readFileSync(path: string | URL): Buffer;
  export function writeFileSync(path: string | URL, data: string | Uint8Array): void;
  export function appendFileSync(path: string | URL, data: string | Uint8Array): void;
  export function rmSync(path: string, options?: { recursive?: boolean; force?: boolean }): void;
  export function mkdirSync(path: string, options?: { recursive?: boolean }): string | undefined;
  export function readdirSync(path: string): string[];
  export function statSync(path: string): Stats;
  export function cpSync(source: string, destination: string, options?: { recursive?: boolean }): void;
  export function copyFileSync(source: string, destination: string): void;
  export function utimesSync(path: string, atime: Date | number, mtime: Date | number): void;
  export function openSync(path: string, flags: string): number;
  export function closeSync(fd: number): void;
}

declare module 'node:fs/promises' {
  export function readFile(path: string | URL): Promise<Buffer>;
  export function readFile(path: string | URL, encoding: BufferEncoding): Promise<string>;
  export function writeFile(path: string | URL, data: string | Uint8Array): Promise<void>;
  export function appendFile(path: string | URL, data: string | Uint8Array): Promise<void>;
  export function mkdir(path: string, options?: { recursive?: boolean }): Promise<string | undefined>;
  export function mkdtemp(prefix: string): Promise<string>;
  export function rm(path: string, options?: { recursive?: boolean; force?: boolean }): Promise<void>;
}

declare module 'node:worker_threads' {
  export const isMainThread: boolean;
  export const workerData: any;
}

declare module 'node:util' {
  export function inspect(value: unknown, options?: { depth?: number | null; colors?: boolean; breakLength?: number; compact?: boolean | number }): string;
}

declare module 'node:diagnostics_channel' {
  export function subscribe(name: string, onMessage: (message: unknown, name: string) => void): void;
  export function unsubscribe(name: string, onMessage: (message: unknown, name: string) => void): boolean;
}

declare module 'node:timers/promises' {
  export function setTimeout<T = void>(ms?: number, value?: T, options?: { signal?: AbortSignal; ref?: boolean }): Promise<T>;
  export function setImmediate<T = void>(value?: T): Promise<T>;
}

declare module 'node:assert' {
  function assert(value: unknown, message?: string | Error): asserts value;
  namespace assert {
    function ok(value: unknown, message?: string | Error): asserts value;
    function equal(actual: unknown, expected: unknown, message?: string | Error): void;
    function strictEqual<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T;
    function deepStrictEqual<T>(actual: unknown, expected: T, message?: string | Error): asserts actual is T;
  }
  export default assert;
}
