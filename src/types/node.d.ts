// Compile-time declarations for the Node.js built-ins this library uses.
//
// Why this file exists: the project allows exactly three dev dependencies (typescript, tsx,
// uvu), so @types/node is not installed. These declarations describe only what the library
// calls, with Node 20's real signatures. They are not emitted: the published .d.ts files name
// `node:*` modules, which a consumer's own @types/node resolves. Other files under
// src/types/ may add to these modules (ambient module declarations merge).

interface ErrorConstructor {
  captureStackTrace(target: object, constructorOpt?: Function): void;
  prepareStackTrace?: ((err: Error, stackTraces: NodeCallSite[]) => unknown) | undefined;
  stackTraceLimit: number;
}
interface NodeCallSite {
  getFileName(): string | undefined | null;
  getLineNumber(): number | null;
  getFunctionName(): string | null;
  isConstructor(): boolean;
}
interface ErrorOptions { cause?: unknown }
interface Error { cause?: unknown }

interface NodeTimeout {
  ref(): this;
  unref(): this;
  hasRef(): boolean;
  refresh(): this;
  [Symbol.toPrimitive](): number;
}
interface NodeImmediate { ref(): this; unref(): this; hasRef(): boolean }
declare function setTimeout(cb: (...args: any[]) => void, ms?: number, ...args: any[]): NodeTimeout;
declare function clearTimeout(t: NodeTimeout | string | number | undefined | null): void;
declare function setInterval(cb: (...args: any[]) => void, ms?: number, ...args: any[]): NodeTimeout;
declare function clearInterval(t: NodeTimeout | string | number | undefined | null): void;
declare function setImmediate(cb: (...args: any[]) => void, ...args: any[]): NodeImmediate;
declare function clearImmediate(t: NodeImmediate | undefined | null): void;
declare function queueMicrotask(cb: () => void): void;
declare function structuredClone<T>(value: T, options?: { transfer?: unknown[] }): T;

interface Console {
  log(...data: unknown[]): void;
  error(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  info(...data: unknown[]): void;
  debug(...data: unknown[]): void;
  table(data: unknown, columns?: string[]): void;
}
declare var console: Console;

interface Performance { now(): number; timeOrigin: number }
declare var performance: Performance;

declare class URL {
  constructor(input: string | URL, base?: string | URL);
  href: string;
  protocol: string;
  pathname: string;
  search: string;
  hash: string;
  host: string;
  hostname: string;
  port: string;
  origin: string;
  toString(): string;
  toJSON(): string;
}

declare class TextEncoder { encode(input?: string): Uint8Array }
declare class TextDecoder { constructor(label?: string); decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string }

interface EventListenerOptionsLike { once?: boolean; signal?: AbortSignal; passive?: boolean }
declare class EventTarget {
  addEventListener(type: string, listener: (event: Event) => void, options?: EventListenerOptionsLike | boolean): void;
  removeEventListener(type: string, listener: (event: Event) => void, options?: { capture?: boolean } | boolean): void;
  dispatchEvent(event: Event): boolean;
}
declare class Event { constructor(type: string); readonly type: string }
declare class AbortSignal extends EventTarget {
  readonly aborted: boolean;
  readonly reason: unknown;
  onabort: ((ev: Event) => void) | null;
  throwIfAborted(): void;
  static abort(reason?: unknown): AbortSignal;
  static timeout(ms: number): AbortSignal;
  static any(signals: AbortSignal[]): AbortSignal;
}
declare class AbortController {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}
declare class DOMException extends Error {
  constructor(message?: string, name?: string);
  readonly code: number;
}

type BufferEncoding = 'utf8' | 'utf-8' | 'hex' | 'base64' | 'base64url' | 'latin1' | 'binary' | 'ascii' | 'utf16le';
interface Buffer extends Uint8Array {
  toString(encoding?: BufferEncoding, start?: number, end?: number): string;
  readUInt32LE(offset?: number): number;
  readUInt32BE(offset?: number): number;
  writeUInt32LE(value: number, offset?: number): number;
  writeUInt32BE(value: number, offset?: number): number;
  readUInt8(offset?: number): number;
  writeUInt8(value: number, offset?: number): number;
  subarray(start?: number, end?: number): Buffer;
  equals(other: Uint8Array): boolean;
  copy(target: Uint8Array, targetStart?: number, sourceStart?: number, sourceEnd?: number): number;
  write(string: string, offset?: number, encoding?: BufferEncoding): number;
  fill(value: number | string, offset?: number, end?: number): this;
}
interface BufferConstructor {
  readonly prototype: Buffer;
  from(data: string, encoding?: BufferEncoding): Buffer;
  from(data: ArrayBuffer | SharedArrayBuffer, byteOffset?: number, length?: number): Buffer;
  from(data: Uint8Array | readonly number[]): Buffer;
  alloc(size: number, fill?: number | string): Buffer;
  allocUnsafe(size: number): Buffer;
  concat(list: readonly Uint8Array[], totalLength?: number): Buffer;
  byteLength(s: string | ArrayBufferView | ArrayBuffer, encoding?: BufferEncoding): number;
  isBuffer(obj: unknown): obj is Buffer;
}
declare var Buffer: BufferConstructor;

interface ImportMeta { url: string; dirname?: string; filename?: string }

declare namespace NodeJS {
  type Signals =
    | 'SIGABRT' | 'SIGALRM' | 'SIGBUS' | 'SIGCHLD' | 'SIGCONT' | 'SIGFPE' | 'SIGHUP' | 'SIGILL'
    | 'SIGINT' | 'SIGIO' | 'SIGIOT' | 'SIGKILL' | 'SIGPIPE' | 'SIGPOLL' | 'SIGPROF' | 'SIGPWR'
    | 'SIGQUIT' | 'SIGSEGV' | 'SIGSTKFLT' | 'SIGSTOP' | 'SIGSYS' | 'SIGTERM' | 'SIGTRAP'
    | 'SIGTSTP' | 'SIGTTIN' | 'SIGTTOU' | 'SIGUNUSED' | 'SIGURG' | 'SIGUSR1' | 'SIGUSR2'
    | 'SIGVTALRM' | 'SIGWINCH' | 'SIGXCPU' | 'SIGXFSZ' | 'SIGBREAK' | 'SIGLOST' | 'SIGINFO';
  interface ErrnoException extends Error { errno?: number; code?: string; path?: string; syscall?: string }
  interface WritableStream {
    write(chunk: string | Uint8Array, cb?: (err?: Error | null) => void): boolean;
    isTTY?: boolean;
    columns?: number;
    fd?: number;
  }
  interface ReadableStream { isTTY?: boolean; fd?: number }
  interface MemoryUsage { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }
  interface Process {
    pid: number;
    ppid: number;
    argv: string[];
    execArgv: string[];
    execPath: string;
    env: Record<string, string | undefined>;
    exitCode: number | undefined | string;
    platform: string;
    arch: string;
    version: string;
    versions: Record<string, string | undefined>;
    connected: boolean;
    stdout: WritableStream;
    stderr: WritableStream;
    stdin: ReadableStream;
    channel?: { ref(): void; unref(): void };
    send?(message: unknown, sendHandle?: unknown, options?: { keepOpen?: boolean }, callback?: (error: Error | null) => void): boolean;
    disconnect?(): void;
    cwd(): string;
    exit(code?: number): never;
    kill(pid: number, signal?: string | number): true;
    hrtime: { bigint(): bigint; (time?: [number, number]): [number, number] };
    memoryUsage(): MemoryUsage;
    cpuUsage(previous?: { user: number; system: number }): { user: number; system: number };
    uptime(): number;
    nextTick(cb: (...args: unknown[]) => void, ...args: unknown[]): void;
    emitWarning(warning: string | Error, type?: string, code?: string): void;
    on(event: string, listener: (...args: any[]) => void): this;
    once(event: string, listener: (...args: any[]) => void): this;
    off(event: string, listener: (...args: any[]) => void): this;
    removeListener(event: string, listener: (...args: any[]) => void): this;
    listenerCount(event: string): number;
    emit(event: string, ...args: unknown[]): boolean;
  }
}
declare var process: NodeJS.Process;
declare var __filename: string | undefined;
declare var __dirname: string | undefined;
// Declared as always present: by-source task functions get a `require` from the child entry.
declare var require: NodeRequire;
interface NodeRequire { (id: string): any; resolve(id: string): string; main?: unknown }

declare module 'node:events' {
  type Listener = (...args: any[]) => void;
  export class EventEmitter {
    on(event: string | symbol, listener: Listener): this;
    once(event: string | symbol, listener: Listener): this;
    off(event: string | symbol, listener: Listener): this;
    addListener(event: string | symbol, listener: Listener): this;
    removeListener(event: string | symbol, listener: Listener): this;
    removeAllListeners(event?: string | symbol): this;
    emit(event: string | symbol, ...args: any[]): boolean;
    listenerCount(event: string | symbol): number;
    setMaxListeners(n: number): this;
  }
  export function once(emitter: EventEmitter, event: string): Promise<any[]>;
  export default EventEmitter;
}

declare module 'node:stream' {
  import { EventEmitter } from 'node:events';
  export class Readable extends EventEmitter {
    readable: boolean;
    destroyed: boolean;
    pipe<T>(destination: T, options?: { end?: boolean }): T;
    pause(): this;
    resume(): this;
    destroy(error?: Error): this;
    setEncoding(enc: BufferEncoding): this;
    [Symbol.asyncIterator](): AsyncIterableIterator<any>;
  }
  export class Writable extends EventEmitter {
    writable: boolean;
    destroyed: boolean;
    writableLength: number;
    writableNeedDrain: boolean;
    write(chunk: string | Uint8Array, cb?: (err?: Error | null) => void): boolean;
    end(cb?: () => void): this;
    end(chunk: string | Uint8Array, cb?: () => void): this;
    destroy(error?: Error): this;
  }
  export class Duplex extends Readable {
    writable: boolean;
    writableLength: number;
    writableNeedDrain: boolean;
    write(chunk: string | Uint8Array, cb?: (err?: Error | null) => void): boolean;
    end(cb?: () => void): this;
    end(chunk: string | Uint8Array, cb?: () => void): this;
  }
}

declare module 'node:net' {
  import { Duplex } from 'node:stream';
  import { EventEmitter } from 'node:events';
  export interface AddressInfo { address: string; family: string; port: number }
  export class Socket extends Duplex {
    constructor(options?: { fd?: number; readable?: boolean; writable?: boolean; allowHalfOpen?: boolean });
    remoteAddress?: string;
    remotePort?: number;
    bytesRead: number;
    bytesWritten: number;
    connecting: boolean;
    ref(): this;
    unref(): this;
    setNoDelay(noDelay?: boolean): this;
    setKeepAlive(enable?: boolean, initialDelay?: number): this;
    cork(): void;
    uncork(): void;
    address(): AddressInfo | {};
  }
  export interface ListenOptions { port?: number; host?: string; path?: string; backlog?: number; exclusive?: boolean }
  export class Server extends EventEmitter {
    listening: boolean;
    listen(options: ListenOptions, cb?: () => void): this;
    listen(path: string, cb?: () => void): this;
    listen(port: number, host?: string, cb?: () => void): this;
    close(cb?: (err?: Error) => void): this;
    address(): AddressInfo | string | null;
    ref(): this;
    unref(): this;
    getConnections(cb: (err: Error | null, count: number) => void): void;
  }
  export function createServer(listener?: (socket: Socket) => void): Server;
  export function createServer(options: { allowHalfOpen?: boolean; pauseOnConnect?: boolean; noDelay?: boolean }, listener?: (socket: Socket) => void): Server;
  export function createConnection(options: { path?: string; port?: number; host?: string; timeout?: number; noDelay?: boolean }, cb?: () => void): Socket;
  export function createConnection(path: string, cb?: () => void): Socket;
  export function connect(options: { path?: string; port?: number; host?: string; noDelay?: boolean }, cb?: () => void): Socket;
  export function isIP(input: string): number;
}

declare module 'node:child_process' {
  import { EventEmitter } from 'node:events';
  import { Readable, Writable } from 'node:stream';
  type StdioOption = 'pipe' | 'ignore' | 'inherit' | 'ipc' | 'overlapped' | number | null | undefined;
  export interface ForkOptions {
    cwd?: string;
    env?: Record<string, string | undefined>;
    execPath?: string;
    execArgv?: string[];
    silent?: boolean;
    stdio?: StdioOption | StdioOption[];
    detached?: boolean;
    serialization?: 'json' | 'advanced';
    signal?: AbortSignal;
    killSignal?: string | number;
    timeout?: number;
    windowsHide?: boolean;
  }
  export interface SpawnOptions {
    cwd?: string;
    env?: Record<string, string | undefined>;
    stdio?: StdioOption | StdioOption[];
    detached?: boolean;
    shell?: boolean | string;
    timeout?: number;
    serialization?: 'json' | 'advanced';
  }
  export class ChildProcess extends EventEmitter {
    readonly pid?: number;
    readonly connected: boolean;
    readonly exitCode: number | null;
    readonly signalCode: NodeJS.Signals | null;
    readonly killed: boolean;
    readonly stdin: Writable | null;
    readonly stdout: Readable | null;
    readonly stderr: Readable | null;
    readonly stdio: Array<Readable | Writable | null | undefined>;
    readonly channel?: { ref(): void; unref(): void } | null;
    send(message: unknown, callback?: (error: Error | null) => void): boolean;
    send(message: unknown, sendHandle?: unknown, callback?: (error: Error | null) => void): boolean;
    disconnect(): void;
    kill(signal?: NodeJS.Signals | number): boolean;
    ref(): void;
    unref(): void;
  }
  export function fork(modulePath: string | URL, args?: readonly string[], options?: ForkOptions): ChildProcess;
  export function spawn(command: string, args?: readonly string[], options?: SpawnOptions): ChildProcess;
  export function execFileSync(file: string, args?: readonly string[], options?: { encoding?: BufferEncoding; cwd?: string; env?: Record<string, string | undefined>; stdio?: StdioOption | StdioOption[]; timeout?: number; input?: string }): string;
  export function execFile(file: string, args: readonly string[], options: { encoding?: BufferEncoding; cwd?: string; env?: Record<string, string | undefined>; timeout?: number; maxBuffer?: number }, cb: (error: (Error & { code?: number | string }) | null, stdout: string, stderr: string) => void): ChildProcess;
}

declare module 'node:v8' {
  export function serialize(value: unknown): Buffer;
  export function deserialize(buffer: ArrayBufferView): any;
  const v8: { serialize: typeof serialize; deserialize: typeof deserialize };
  export default v8;
}

declare module 'node:os' {
  export function cpus(): Array<{ model: string; speed: number }>;
  export function availableParallelism(): number;
  export function tmpdir(): string;
  export function hostname(): string;
  export function totalmem(): number;
  export function freemem(): number;
  export function platform(): string;
  export function release(): string;
  export const EOL: string;
  export const constants: { signals: Record<string, number>; errno: Record<string, number> };
}

declare module 'node:path' {
  export function join(...paths: string[]): string;
  export function resolve(...paths: string[]): string;
  export function dirname(p: string): string;
  export function basename(p: string, ext?: string): string;
  export function extname(p: string): string;
  export function relative(from: string, to: string): string;
  export function isAbsolute(p: string): boolean;
  export const sep: string;
  const path: { join: typeof join; resolve: typeof resolve; dirname: typeof dirname; basename: typeof basename; extname: typeof extname; relative: typeof relative; isAbsolute: typeof isAbsolute; sep: string };
  export default path;
}

declare module 'node:url' {
  export function fileURLToPath(url: string | URL): string;
  export function pathToFileURL(path: string): URL;
}

declare module 'node:module' {
  export function createRequire(path: string | URL): NodeRequire;
  /** Node >= 20.6: register module customization hooks (a loader) in this process. */
  export function register(specifier: string | URL, parentURL?: string | URL): void;
  export const builtinModules: string[];
}

declare module 'node:crypto' {
  interface Hmac { update(data: string | Uint8Array): Hmac; digest(): Buffer; digest(encoding: BufferEncoding): string }
  interface Hash { update(data: string | Uint8Array): Hash; digest(): Buffer; digest(encoding: BufferEncoding): string }
  export function randomBytes(size: number): Buffer;
  export function randomUUID(): string;
  export function createHmac(algorithm: string, key: string | Uint8Array): Hmac;
  export function createHash(algorithm: string): Hash;
  export function timingSafeEqual(a: ArrayBufferView, b: ArrayBufferView): boolean;
}

declare module 'node:fs' {
  export interface Stats { size: number; mtimeMs: number; isFile(): boolean; isDirectory(): boolean; isSocket(): boolean }
  export function existsSync(path: string): boolean;
  export function readFileSync(path: string | URL): Buffer;
  export function readFileSync(path: string | URL, encoding: BufferEncoding): string;
  export function writeFileSync(path: string | URL, data: string | Uint8Array): void;
  export function appendFileSync(path: string | URL, data: string | Uint8Array): void;
  export function unlinkSync(path: string): void;
  export function rmSync(path: string, options?: { recursive?: boolean; force?: boolean }): void;
  export function mkdirSync(path: string, options?: { recursive?: boolean }): string | undefined;
  export function mkdtempSync(prefix: string): string;
  export function readdirSync(path: string): string[];
  export function statSync(path: string): Stats;
  export function openSync(path: string, flags: string): number;
  export function closeSync(fd: number): void;
  export function writeSync(fd: number, data: string | Uint8Array): number;
  export function writevSync(fd: number, buffers: readonly ArrayBufferView[], position?: number | null): number;
}

declare module 'node:fs/promises' {
  import type { Stats } from 'node:fs';
  export function readFile(path: string | URL): Promise<Buffer>;
  export function readFile(path: string | URL, encoding: BufferEncoding): Promise<string>;
  export function writeFile(path: string | URL, data: string | Uint8Array): Promise<void>;
  export function appendFile(path: string | URL, data: string | Uint8Array): Promise<void>;
  export function readdir(path: string): Promise<string[]>;
  export function mkdir(path: string, options?: { recursive?: boolean }): Promise<string | undefined>;
  export function mkdtemp(prefix: string): Promise<string>;
  export function rm(path: string, options?: { recursive?: boolean; force?: boolean }): Promise<void>;
  export function unlink(path: string): Promise<void>;
  export function stat(path: string): Promise<Stats>;
}

declare module 'node:worker_threads' {
  import { EventEmitter } from 'node:events';
  export const isMainThread: boolean;
  export class Worker extends EventEmitter {
    constructor(filename: string | URL, options?: { eval?: boolean; execArgv?: string[]; workerData?: unknown; stdout?: boolean; stderr?: boolean; resourceLimits?: Record<string, number> });
    unref(): void;
    ref(): void;
    terminate(): Promise<number>;
    postMessage(value: unknown): void;
  }
  export const workerData: any;
}

declare module 'node:util' {
  export function inspect(value: unknown, options?: { depth?: number | null; colors?: boolean; breakLength?: number; compact?: boolean | number }): string;
  export function isDeepStrictEqual(a: unknown, b: unknown): boolean;
  export function format(format?: unknown, ...params: unknown[]): string;
  export const types: { isNativeError(v: unknown): v is Error; isProxy(v: unknown): boolean; isPromise(v: unknown): v is Promise<unknown> };
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
