// Compile-time declarations for the Node.js built-ins this library uses.
//
// Why this file exists: the project allows exactly three dev dependencies (typescript, tsx,
// uvu), so @types/node is not installed. These declarations describe only what the library
// (src/) calls, with Node 20's real signatures: the build (tsconfig.build.json) compiles src/
// with nothing else. They are not emitted: the published .d.ts files name `node:*` modules,
// which a consumer's own @types/node resolves. Other files under src/types/ may add to these
// modules (ambient module declarations merge); what only tests, examples and benchmarks use
// is declared in types/ at the repository root, which only tsconfig.json (typecheck) includes.

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
  allocUnsafeSlow(size: number): Buffer;
  concat(list: readonly Uint8Array[], totalLength?: number): Buffer;
  byteLength(s: string | ArrayBufferView | ArrayBuffer, encoding?: BufferEncoding): number;
  isBuffer(obj: unknown): obj is Buffer;
}
declare var Buffer: BufferConstructor;

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
  interface Process {
    pid: number;
    ppid: number;
    execArgv: string[];
    env: Record<string, string | undefined>;
    connected: boolean;
    stdout: WritableStream;
    stderr: WritableStream;
    send?(message: unknown, sendHandle?: unknown, options?: { keepOpen?: boolean }, callback?: (error: Error | null) => void): boolean;
    cwd(): string;
    exitCode?: number | string | undefined;
    exit(code?: number): never;
    kill(pid: number, signal?: string | number): true;
    nextTick(cb: (...args: unknown[]) => void, ...args: unknown[]): void;
    emitWarning(warning: string | Error, type?: string, code?: string): void;
    platform: string;
    on(event: string, listener: (...args: any[]) => void): this;
    once(event: string, listener: (...args: any[]) => void): this;
    off(event: string, listener: (...args: any[]) => void): this;
    /** Node >= 20.16: a built-in module, loaded now if it was not (synchronous, in either module system). */
    getBuiltinModule?(id: 'node:module'): typeof import('node:module');
  }
}
declare var process: NodeJS.Process;
interface NodeRequire { (id: string): any; resolve(id: string): string; main?: unknown; cache?: unknown; extensions?: unknown }

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
    /** `onread`: as in net.createConnection (src/types/queue.d.ts), for a socket over `fd` too. */
    constructor(options?: { fd?: number; readable?: boolean; writable?: boolean; allowHalfOpen?: boolean; onread?: { buffer: Uint8Array | (() => Uint8Array); callback: (nread: number, buf: Buffer) => boolean | void } });
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
  export interface SpawnOptions {
    cwd?: string;
    env?: Record<string, string | undefined>;
    stdio?: StdioOption | StdioOption[];
    detached?: boolean;
    shell?: boolean | string;
    timeout?: number;
    serialization?: 'json' | 'advanced';
  }
  export function spawn(command: string, args?: readonly string[], options?: SpawnOptions): ChildProcess;
}

declare module 'node:v8' {
  export function serialize(value: unknown): Buffer;
  export function deserialize(buffer: ArrayBufferView): any;
}

declare module 'node:os' {
  export function availableParallelism(): number;
  export function tmpdir(): string;
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
}

declare module 'node:url' {
  export function fileURLToPath(url: string | URL): string;
  export function pathToFileURL(path: string): URL;
}

declare module 'node:module' {
  export function createRequire(path: string | URL): NodeRequire;
  /** Node >= 20.6: register module customization hooks (a loader) in this process. */
  export function register(specifier: string | URL, parentURL?: string | URL): void;
  /** `data` reaches the hooks module's `initialize` export (structured clone). */
  export function register(specifier: string | URL, options: { parentURL?: string | URL; data?: unknown }): void;
  export const builtinModules: string[];
}

declare module 'node:crypto' {
  interface Hmac { update(data: string | Uint8Array): Hmac; digest(): Buffer; digest(encoding: BufferEncoding): string }
  export function randomBytes(size: number): Buffer;
  export function createHmac(algorithm: string, key: string | Uint8Array): Hmac;
  export function timingSafeEqual(a: ArrayBufferView, b: ArrayBufferView): boolean;
}

declare module 'node:fs' {
  export interface Stats { size: number; mtimeMs: number; isFile(): boolean; isDirectory(): boolean; isSocket(): boolean }
  export function readFileSync(path: string | URL, encoding: BufferEncoding): string;
  export function statSync(path: string | URL, options: { throwIfNoEntry: false }): Stats | undefined;
  export function fstatSync(fd: number): Stats;
  export interface Dirent { name: string; isFile(): boolean; isDirectory(): boolean }
  export function readdirSync(path: string, options: { withFileTypes: true }): Dirent[];
  export function unlinkSync(path: string): void;
  export function renameSync(from: string, to: string): void;
  export function mkdtempSync(prefix: string): string;
  export function writeSync(fd: number, data: string | Uint8Array): number;
  export function writevSync(fd: number, buffers: readonly ArrayBufferView[], position?: number | null): number;
}

declare module 'node:fs/promises' {
  import type { Stats } from 'node:fs';
  export function readdir(path: string): Promise<string[]>;
  export function unlink(path: string): Promise<void>;
  export function stat(path: string): Promise<Stats>;
}

declare module 'node:worker_threads' {
  import { EventEmitter } from 'node:events';
  export class Worker extends EventEmitter {
    constructor(filename: string | URL, options?: { eval?: boolean; execArgv?: string[]; workerData?: unknown; stdout?: boolean; stderr?: boolean; resourceLimits?: Record<string, number> });
    unref(): void;
    ref(): void;
    terminate(): Promise<number>;
    postMessage(value: unknown): void;
  }
}

declare module 'node:util' {
  export function isDeepStrictEqual(a: unknown, b: unknown): boolean;
  export function format(format?: unknown, ...params: unknown[]): string;
  export const types: { isNativeError(v: unknown): v is Error; isProxy(v: unknown): boolean; isPromise(v: unknown): v is Promise<unknown> };
}
