// Process and the process-level helpers. Parent side, except what a process asks about
// itself: currentProcess(), parentProcess(), and a Process subclass instance whose run() a
// child runs (see "Subclassing" below), which work in any process.
//
// Subclassing. Python's spawn start method pickles a Process subclass instance: its class
// travels by module and name, its `__dict__` by value, and the child calls run() on the
// rebuilt object without running `__init__`. The same here: the constructor notes the module
// file the subclass's constructor was defined in (a call-site lookup, as moduleFile() does);
// start() sends that module URL, the class name and the instance's own enumerable fields
// (structured clone, queues and locks as handles); the child imports the module, takes the
// export of that name, builds an instance of it through Process's own constructor (so its
// private state exists) and calls run() with `this` that instance.

import type { ChildProcess } from 'node:child_process';
import { availableParallelism, constants } from 'node:os';
import { pathToFileURL } from 'node:url';
import { InvalidStateError, invalidArg, SerializationError } from '../errors.ts';
import { checkOptionNames, checkTimeout, optionNames, setLongTimeout } from '../options.ts';
import { assertSendable, classInstanceError, findClassInstance, PROTOCOL, unsendable, type ProcessClassSpec, type ToChild } from '../protocol/index.ts';
import { encodeHandles } from '../remote/handle.ts';
import { runtime } from '../runtime.ts';
import { initMessage, spawnChild } from './spawn.ts';
import { toFnSpec, type Task } from './task.ts';

/** Options of `new Process()`. */
export interface ProcessOptions<A extends unknown[] = unknown[]> {
  /**
   * The function to run in the new process: self-contained (sent by source) or
   * `tasks(url).fn`. Without one (and without a run() override) the process runs nothing.
   */
  target?: Task<A, unknown>;
  /** Arguments for `target`; queues, locks and manager proxies among them arrive working. @default [] */
  args?: A;
  /** @default `Process-N` */
  name?: string;
  /**
   * A daemon process is killed when its parent exits; a non-daemon one keeps the parent's
   * event loop alive until it ends (Python joins it at exit).
   * @default false
   */
  daemon?: boolean;
}

const PROCESS_OPTIONS = optionNames<ProcessOptions>({ target: true, args: true, name: true, daemon: true });

/** initial → started → (exits) → closed; `self`: the object a child runs (see the header). */
type State = 'initial' | 'started' | 'closed' | 'self';

const active = new Set<Process<any>>();

/** Reads a process's exit promise; assigned in Process's static block. */
let exitOf: (p: Process<any>) => Promise<void>;

/**
 * The static a child calls to rebuild a subclass instance (src/process/child.ts). A
 * Symbol.for key, so that the child finds it on a class whatever copy of the library the
 * class's module imported: the static is inherited from that copy's Process.
 */
const REVIVE = Symbol.for('multiproc.Process.revive');

/** What a child hands to REVIVE: the process's facts and the state of the instance. */
export interface RevivedProcess {
  name: string;
  daemon: boolean;
  fields: Record<string, unknown>;
  target?: (...args: unknown[]) => unknown;
  args: unknown[];
}

/** Set while REVIVE constructs an instance: the constructor then neither validates nor looks up its module. */
let reviving = false;

/**
 * A function running in its own operating-system process.
 *
 * Python: multiprocessing.Process — `target` must be self-contained or a `tasks(url)`
 * reference (there is no fork of the parent's memory); `exitCode` is `exitcode`, `ident`
 * and `pid` as in Python. A subclass overriding run() must be exported from a module, which
 * the child imports (see the README's "Subclassing Process"); private `#fields` do not cross.
 * Throws InvalidStateError (start twice, any use but `name`/`pid` after close()),
 * SerializationError (an argument or field that cannot cross, a subclass that cannot be
 * imported).
 *
 * @example
 * const p = new Process({ target: (n: number) => console.log('hello', n), args: [42] });
 * p.start();
 * await p.join();
 * console.log(p.exitCode); // 0
 */
export class Process<A extends unknown[] = unknown[]> {
  readonly #target: Task<A, unknown> | undefined;
  readonly #args: A;
  #name: string;
  #daemon: boolean;
  #state: State = 'initial';
  #child: ChildProcess | null = null;
  #exitCode: number | null = null;
  #exited: Promise<void> | null = null;
  /** The module that defines this instance's class, when it is a subclass (see the header). */
  readonly #module: string | undefined;

  constructor(options: ProcessOptions<A> = {}) {
    if (typeof options !== 'object' || options === null) throw invalidArg('new Process() expects an options object: { target?, args?, name?, daemon? }');
    if (!reviving) {
      // A subclass too: as in Python, super() gets only the options Process has.
      checkOptionNames(options, PROCESS_OPTIONS, `new ${new.target.name || 'Process'}(options)`);
      if (options.target !== undefined) toFnSpec(options.target, 'Process target');
      if (options.args !== undefined && !Array.isArray(options.args)) throw invalidArg('Process args must be an array');
    }
    this.#target = options.target;
    this.#args = (options.args ?? []) as A;
    this.#name = options.name === undefined ? `Process-${++runtime.processCounter}` : String(options.name);
    this.#daemon = Boolean(options.daemon);
    this.#module = !reviving && new.target !== Process ? definingModule(new.target) : undefined;
  }

  get name(): string {
    return this.#name;
  }
  set name(value: string) {
    this.#name = String(value);
  }
  get daemon(): boolean {
    return this.#daemon;
  }
  set daemon(value: boolean) {
    if (this.#state !== 'initial') throw new InvalidStateError(`${this.#name}: daemon can only be set before start()`);
    this.#daemon = Boolean(value);
  }
  /** The OS process id, or undefined before start(); in the process it describes, its own pid. */
  get pid(): number | undefined {
    return this.#state === 'self' ? process.pid : this.#child?.pid;
  }
  /** The same as `pid`. Python: Process.ident. */
  get ident(): number | undefined {
    return this.pid;
  }
  /**
   * null while running (or before start); the exit code; minus the signal number when killed
   * by a signal. Throws InvalidStateError after close().
   */
  get exitCode(): number | null {
    this.#checkOpen('exitCode');
    return this.#exitCode;
  }

  /**
   * The process's activity, run in the child: calls `target(...args)`. Override it in a
   * subclass (exported from a module) to run code of your own with `this` the instance, as
   * in Python. Calling it directly runs it here, as Python's does.
   * Python: Process.run().
   */
  run(): unknown {
    const target = this.#target as ((...args: unknown[]) => unknown) | undefined;
    return target?.(...this.#args);
  }

  /**
   * Start the process. Python: Process.start().
   * Throws InvalidStateError when called twice or after close(); SerializationError when an
   * argument or a field cannot be sent, or the subclass cannot be imported by the child.
   */
  start(): void {
    this.#checkOpen('start()');
    if (this.#state === 'self') throw new InvalidStateError(`${this.#name}: a process cannot start itself; only the process that created it can`);
    if (this.#state !== 'initial') throw new InvalidStateError(`${this.#name}: a process can only be started once`);
    const fn = this.#target === undefined ? undefined : toFnSpec(this.#target, 'Process target');
    const cls = this.run === Process.prototype.run ? undefined : this.#classSpec();
    const encoded = encodeHandles({ args: this.#args as unknown[], fields: cls?.fields ?? {} });
    // Check what is sent before forking, so a bad value costs no process. A class instance
    // would clone without complaint and arrive as a plain object: refused too.
    assertSendable(`${this.#name}.start()`, encoded.value.args, 'another process');
    if (cls) {
      cls.fields = encoded.value.fields;
      checkFields(`${this.#name}.start()`, cls.fields);
    }
    const child = spawnChild(`Process ${this.#name}`);
    this.#state = 'started';
    this.#child = child;
    active.add(this);
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exitCode = code ?? -(constants.signals[signal as string] ?? 0);
        active.delete(this);
        resolve();
      });
    });
    // 'done' needs nothing from us: the exit code tells the story, as in Python. (The child
    // leaves by itself after sending what it buffered; disconnecting it here would race that.)
    if (this.#daemon) {
      // A daemon never keeps the parent alive; spawn.ts kills it when the parent exits.
      child.unref();
      child.channel?.unref();
    }
    const send = (m: ToChild) => child.send(m);
    send(initMessage({ name: this.#name, role: 'process', daemon: this.#daemon }));
    const run: ToChild = { mp: PROTOCOL, type: 'run', args: encoded.value.args };
    if (fn) run.fn = fn;
    if (cls) run.cls = cls;
    if (encoded.handles) run.handles = true;
    send(run);
  }

  /** The module, export name and fields a child needs to rebuild this subclass instance. */
  #classSpec(): ProcessClassSpec {
    const Class = this.constructor as Function;
    const name = Class.name;
    const where = this.#module;
    if (!name || where === undefined) {
      throw new SerializationError(
        `${this.#name}.start(): the Process subclass ${name || '(anonymous class)'} cannot be sent to another process: ` +
          `${where === undefined ? 'it was not defined in a module file (the REPL, `node -e`, code built with new Function)' : 'it has no name'}, ` +
          'and a child finds the class by the module that exports it and its name, as Python does. ' +
          `Define it in a module and export it by name (export class ${name || 'Worker'} extends Process { … }).`,
      );
    }
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(this)) fields[key] = (this as Record<string, unknown>)[key];
    return { url: where, exportName: name, fields };
  }

  /**
   * Wait for the process to end; with `timeout` (ms), resolve when it passes even if the
   * process is still running (check `exitCode`/`isAlive()`), as Python does.
   * Python: Process.join(timeout) — Infinity or undefined wait for the end, a negative
   * timeout is 0. Rejects with InvalidStateError (before start(), after close(), in the
   * process itself), TypeError/RangeError (MP_INVALID_ARG) for a timeout that is not a
   * number, or NaN.
   */
  async join(timeout?: number): Promise<void> {
    this.#checkOpen('join()');
    if (this.#state === 'self') throw new InvalidStateError(`${this.#name}: a process cannot join itself`);
    if (this.#state === 'initial') throw new InvalidStateError(`${this.#name}: join() before start()`);
    const limit = checkTimeout(timeout, `${this.#name}: join(timeout)`);
    if (!this.#exited || this.#exitCode !== null) return;
    // A daemon's child is unref'd so that it never keeps this process alive, but a caller
    // awaiting join() is waiting for it: hold the loop until the join settles, or a program
    // whose last step is `await p.join()` would end before the child does.
    this.#holdForJoin(+1);
    try {
      if (limit === undefined) return await this.#exited;
      let passed!: () => void;
      const timeUp = new Promise<void>((resolve) => (passed = resolve));
      const timer = setLongTimeout(passed, limit);
      await Promise.race([this.#exited, timeUp]);
      timer.clear();
    } finally {
      this.#holdForJoin(-1);
    }
  }

  #joins = 0;

  static {
    exitOf = (p) => p.#exited ?? Promise.resolve();
  }

  /**
   * Rebuild a subclass instance in the child that runs it (src/process/child.ts calls this
   * on the imported class, `this`): Process's constructor runs, with the class as new.target,
   * so that the instance has the private state of Process; the subclass's constructor does
   * not (Python does not run `__init__` either); the fields sent are set as own properties.
   * @internal
   */
  static [REVIVE](this: Function, state: RevivedProcess): Process<unknown[]> {
    reviving = true;
    let p: Process<unknown[]>;
    try {
      p = Reflect.construct(Process, [{ name: state.name, daemon: state.daemon, target: state.target, args: state.args }], this) as Process<unknown[]>;
    } finally {
      reviving = false;
    }
    p.#state = 'self';
    for (const [key, value] of Object.entries(state.fields)) Object.defineProperty(p, key, { value, writable: true, enumerable: true, configurable: true });
    return p;
  }

  #holdForJoin(delta: number): void {
    const child = this.#child;
    if (!this.#daemon || !child) return;
    this.#joins += delta;
    if (this.#joins === 1 && delta > 0) child.ref();
    else if (this.#joins === 0 && this.#exitCode === null) child.unref();
  }

  /** Throw InvalidStateError after close(): only `name` and `pid` may still be read, as in Python. */
  #checkOpen(what: string): void {
    if (this.#state === 'closed') throw new InvalidStateError(`${this.#name}: ${what} on a closed process (only name and pid remain readable after close())`);
  }

  /** Python: Process.is_alive(). Throws InvalidStateError after close(). */
  isAlive(): boolean {
    this.#checkOpen('isAlive()');
    if (this.#state === 'self') return true;
    return this.#state === 'started' && this.#exitCode === null;
  }

  /** Send SIGTERM. Python: Process.terminate(). Throws InvalidStateError after close(). */
  terminate(): void {
    this.#signal('SIGTERM', 'terminate()');
  }

  /** Send SIGKILL. Python: Process.kill(). Throws InvalidStateError after close(). */
  kill(): void {
    this.#signal('SIGKILL', 'kill()');
  }

  #signal(signal: 'SIGTERM' | 'SIGKILL', what: string): void {
    this.#checkOpen(what);
    if (this.#state === 'self') throw new InvalidStateError(`${this.#name}: ${what} is for the process that started this one; a process ends itself with process.exit()`);
    if (this.#child && this.#exitCode === null) this.#child.kill(signal);
  }

  /**
   * Release the process object: afterwards only `name` and `pid` may be read. Throws
   * InvalidStateError while it is still running. Calling it again does nothing.
   * Python: Process.close().
   */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'self') throw new InvalidStateError(`${this.#name}: close() is for the process that started this one`);
    if (this.isAlive()) throw new InvalidStateError(`${this.#name}: cannot close a process that is still running; join() or terminate() it first`);
    this.#state = 'closed';
  }

  /** Terminate if running, then wait for the exit: `await using p = new Process(...)`. Does nothing after close(). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state !== 'started') return;
    if (this.isAlive()) {
      this.terminate();
      await this.join(2000);
      if (this.isAlive()) {
        this.kill();
        await this.join();
      }
    }
  }

  toString(): string {
    const s = this.#state;
    const status = s === 'initial' || s === 'closed' ? s : s === 'self' || this.#exitCode === null ? 'started' : `stopped exitCode=${this.#exitCode}`;
    return `<${this.constructor.name || 'Process'} name='${this.#name}' pid=${this.pid ?? 'none'} ${status}${this.#daemon ? ' daemon' : ''}>`;
  }
}

/**
 * The module file where `Class`'s constructor is defined, as a URL: the frame of that
 * constructor in the current stack (Process's constructor runs inside it). An implicit
 * constructor shows as a frame at the class too. undefined when no such frame has a file.
 */
function definingModule(Class: Function): string | undefined {
  const holder: { stack?: unknown } = {};
  const previous = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  Error.prepareStackTrace = (_err, frames) => frames;
  Error.stackTraceLimit = 50;
  let frames: NodeCallSite[];
  try {
    Error.captureStackTrace(holder, Process);
    // Read now: V8 formats the stack on first access, with the prepareStackTrace of then.
    frames = holder.stack as unknown as NodeCallSite[];
  } finally {
    Error.prepareStackTrace = previous;
    Error.stackTraceLimit = limit;
  }
  let file: string | null | undefined;
  for (const frame of frames) {
    if (!frame.isConstructor()) break;
    // The outermost constructor frame, unless one bears the class's own name.
    file = frame.getFileName();
    if (frame.getFunctionName() === Class.name) break;
  }
  if (!file || !/^(file:|\/|[A-Za-z]:[\\/])/.test(file)) return undefined;
  return file.startsWith('file:') ? file : pathToFileURL(file).href;
}

/**
 * Throw the SerializationError of the first field (an own enumerable property of a subclass
 * instance, handles encoded) that cannot cross; a function is named as such, since a method
 * (which comes with the class) is the fix.
 */
function checkFields(what: string, fields: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === 'function') {
      throw new SerializationError(`${what}: field ${key} (this.${key}) holds a function, which cannot be sent to another process; make it a method of the class (methods come with the class, which the child imports)`);
    }
    if (typeof value !== 'object' || value === null) continue;
    const found = findClassInstance(value);
    if (found) throw classInstanceError(what, `field ${key}`, `this.${key}`, found, 'another process');
    try {
      structuredClone(value);
    } catch (err) {
      throw unsendable(what, `field ${key} (this.${key})`, 'another process', err);
    }
  }
}

/**
 * Resolves when `p` (started) has exited. Unlike join(), it does not keep this process
 * alive meanwhile: for the library's own watchers (a manager noticing its server died),
 * which must not turn a daemon into something the program waits for. @internal
 */
export function exited(p: Process<any>): Promise<void> {
  return exitOf(p);
}

// ---------------------------------------------------------------------------------------
// This process and its parent

/** A process seen from inside: what currentProcess() and parentProcess() return. */
export interface ProcessInfo {
  /** 'MainProcess', the Process's name, 'PoolWorker-3'. Settable on currentProcess(), as in Python. */
  name: string;
  readonly pid: number;
  /** The same as `pid`. Python: ident. */
  readonly ident: number;
  /** A daemon Process or a pool worker (Python's pool workers are daemons); false in the main process. */
  readonly daemon: boolean;
  /** null: running (Python's exitcode is None for a process that runs, and for a parent). */
  readonly exitCode: number | null;
  /** Python: is_alive(). */
  isAlive(): boolean;
}

/** The process that started this one: parentProcess(). */
export interface ParentProcessInfo extends ProcessInfo {
  readonly name: string;
  /**
   * Resolve when the parent has ended; with `timeout` (ms), when it passes even if the
   * parent still runs (check isAlive()). Timeout rules as Process.join(). This process itself
   * leaves soon after its parent is gone (see the README), so a wait without a timeout only
   * makes sense to act in that short moment. Python: parent_process().join(timeout).
   */
  join(timeout?: number): Promise<void>;
}

/** currentProcess(): every fact is read live from src/runtime.ts. */
class CurrentProcess implements ProcessInfo {
  get name(): string {
    return runtime.name;
  }
  set name(value: string) {
    runtime.name = String(value);
  }
  get pid(): number {
    return process.pid;
  }
  get ident(): number {
    return process.pid;
  }
  get daemon(): boolean {
    return runtime.daemon;
  }
  get exitCode(): null {
    return null;
  }
  isAlive(): boolean {
    return true;
  }
  toJSON(): { name: string; pid: number } {
    return { name: this.name, pid: this.pid };
  }
  toString(): string {
    return `<CurrentProcess name='${this.name}' pid=${this.pid} started${this.daemon ? ' daemon' : ''}>`;
  }
}

/** How often parentProcess().join() looks whether the parent is still there. */
const PARENT_POLL_MS = 50;

/**
 * parentProcess(). Alive while the IPC channel to it is open and it is still this process's
 * parent. The channel closes when the parent exits or dies (the kernel closes its end), as
 * Python's sentinel pipe does; and a dead parent's children get another parent at once, so
 * process.ppid changes (a reused pid cannot pass for it).
 */
class ParentProcess implements ParentProcessInfo {
  constructor(
    readonly name: string,
    readonly pid: number,
  ) {}
  get ident(): number {
    return this.pid;
  }
  /** Python's _ParentProcess says False: a child is not told. */
  get daemon(): boolean {
    return false;
  }
  get exitCode(): null {
    return null;
  }
  isAlive(): boolean {
    return process.connected !== false && process.ppid === this.pid;
  }
  async join(timeout?: number): Promise<void> {
    const limit = checkTimeout(timeout, 'parentProcess().join(timeout)');
    if (!this.isAlive()) return;
    await new Promise<void>((resolve) => {
      // The channel closing says it first (and this process leaves soon after: see
      // src/process/child.ts); the poll covers a parent gone while the channel looked open.
      // Both timers are ref'd: a process waiting for its parent waits, as Python's join blocks.
      const check = (): void => {
        if (!this.isAlive()) done();
      };
      const poll = setInterval(check, PARENT_POLL_MS);
      const timer = limit === undefined ? null : setLongTimeout(done, limit);
      process.on('disconnect', check);
      function done(): void {
        clearInterval(poll);
        timer?.clear();
        process.off('disconnect', check);
        resolve();
      }
    });
  }
  toJSON(): { name: string; pid: number } {
    return { name: this.name, pid: this.pid };
  }
  toString(): string {
    return `<ParentProcess name='${this.name}' pid=${this.pid} ${this.isAlive() ? 'started' : 'stopped'}>`;
  }
}

const current = new CurrentProcess();
let parent: ParentProcess | null = null;

/**
 * This process: name, pid, daemon, isAlive()… in every process (`name` 'MainProcess' in the
 * main one). Python: current_process().
 */
export function currentProcess(): ProcessInfo {
  return current;
}

/**
 * The process that started this one (its real name: 'MainProcess', or the name of the
 * Process that started it), with isAlive() and join(timeout); null in the main process.
 * Python: parent_process().
 */
export function parentProcess(): ParentProcessInfo | null {
  const facts = runtime.parent;
  if (!runtime.child || !facts) return null;
  if (parent?.pid !== facts.pid || parent.name !== facts.name) parent = new ParentProcess(facts.name, facts.pid);
  return parent;
}

/**
 * Processes started by this one that are still running; finished ones are reaped (dropped).
 * Python: active_children().
 */
export function activeChildren(): Process<any>[] {
  return [...active].filter((p) => p.isAlive());
}

/** Number of CPUs this process may use. Python: os.cpu_count() / multiprocessing.cpu_count(). */
export function cpuCount(): number {
  return availableParallelism();
}

/**
 * True in the main program, false in a process multiproc started. Guard the top-level code
 * of a module that refers to itself with `tasks(import.meta.url)`.
 * Python: `if __name__ == '__main__':`.
 *
 * @example
 * if (isMainProcess()) await main();
 */
export function isMainProcess(): boolean {
  return !runtime.child;
}
