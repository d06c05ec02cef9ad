// Process and the process-level helpers. Parent side (currentProcess etc. work anywhere).

import type { ChildProcess } from 'node:child_process';
import { availableParallelism, constants } from 'node:os';
import { InvalidStateError, invalidArg } from '../errors.ts';
import { checkTimeout, setLongTimeout } from '../options.ts';
import { assertSendable, PROTOCOL, type ToChild } from '../protocol/index.ts';
import { encodeHandles } from '../remote/handle.ts';
import { runtime } from '../runtime.ts';
import { spawnChild } from './spawn.ts';
import { toFnSpec, type Task } from './task.ts';

/** Options of `new Process()`. */
export interface ProcessOptions<A extends unknown[] = unknown[]> {
  /** The function to run in the new process: self-contained (sent by source) or `tasks(url).fn`. */
  target: Task<A, unknown>;
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

type State = 'initial' | 'started' | 'closed';

const active = new Set<Process<any>>();

/** Reads a process's exit promise; assigned in Process's static block. */
let exitOf: (p: Process<any>) => Promise<void>;

/**
 * A function running in its own operating-system process.
 *
 * Python: multiprocessing.Process — `target` must be self-contained or a `tasks(url)`
 * reference (there is no fork of the parent's memory); `exitCode` is `exitcode`.
 * Throws InvalidStateError (start twice, close while running), SerializationError
 * (an argument that cannot cross).
 *
 * @example
 * const p = new Process({ target: (n: number) => console.log('hello', n), args: [42] });
 * p.start();
 * await p.join();
 * console.log(p.exitCode); // 0
 */
export class Process<A extends unknown[] = unknown[]> {
  readonly #target: Task<A, unknown>;
  readonly #args: A;
  #name: string;
  #daemon: boolean;
  #state: State = 'initial';
  #child: ChildProcess | null = null;
  #exitCode: number | null = null;
  #exited: Promise<void> | null = null;

  constructor(options: ProcessOptions<A>) {
    if (typeof options !== 'object' || options === null) throw invalidArg('new Process() expects an options object: { target, args?, name?, daemon? }');
    toFnSpec(options.target, 'Process target');
    if (options.args !== undefined && !Array.isArray(options.args)) throw invalidArg('Process args must be an array');
    this.#target = options.target;
    this.#args = (options.args ?? []) as A;
    this.#name = options.name ?? `Process-${++runtime.processCounter}`;
    this.#daemon = options.daemon ?? false;
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
    if (this.#state !== 'initial') throw new InvalidStateError('daemon can only be set before start()');
    this.#daemon = Boolean(value);
  }
  /** The OS process id, or undefined before start(). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }
  /** null while running (or before start); the exit code; minus the signal number when killed by a signal. */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /**
   * Start the process. Python: Process.start().
   * Throws InvalidStateError when called twice or after close(); SerializationError when an
   * argument cannot be sent.
   */
  start(): void {
    if (this.#state === 'closed') throw new InvalidStateError(`${this.#name}: start() after close()`);
    if (this.#state !== 'initial') throw new InvalidStateError(`${this.#name}: a process can only be started once`);
    const fn = toFnSpec(this.#target, 'Process target');
    const encoded = encodeHandles(this.#args);
    // Check the arguments before forking, so a bad argument costs no process. A class
    // instance would clone without complaint and arrive as a plain object: refused too.
    assertSendable(`${this.#name}.start()`, encoded.value, 'another process');
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
    send({ mp: PROTOCOL, type: 'init', name: this.#name, role: 'process' });
    send({ mp: PROTOCOL, type: 'run', fn, args: encoded.value, handles: encoded.handles });
  }

  /**
   * Wait for the process to end; with `timeout` (ms), resolve when it passes even if the
   * process is still running (check `exitCode`/`isAlive()`), as Python does.
   * Python: Process.join(timeout) — Infinity or undefined wait for the end, a negative
   * timeout is 0. Rejects with InvalidStateError (before start()), TypeError/RangeError
   * (MP_INVALID_ARG) for a timeout that is not a number, or NaN.
   */
  async join(timeout?: number): Promise<void> {
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

  #holdForJoin(delta: number): void {
    const child = this.#child;
    if (!this.#daemon || !child) return;
    this.#joins += delta;
    if (this.#joins === 1 && delta > 0) child.ref();
    else if (this.#joins === 0 && this.#exitCode === null) child.unref();
  }

  /** Python: Process.is_alive(). */
  isAlive(): boolean {
    return this.#state === 'started' && this.#exitCode === null;
  }

  /** Send SIGTERM. Python: Process.terminate(). */
  terminate(): void {
    this.#signal('SIGTERM');
  }

  /** Send SIGKILL. Python: Process.kill(). */
  kill(): void {
    this.#signal('SIGKILL');
  }

  #signal(signal: 'SIGTERM' | 'SIGKILL'): void {
    if (this.#state === 'closed') throw new InvalidStateError(`${this.#name}: process is closed`);
    if (this.#child && this.#exitCode === null) this.#child.kill(signal);
  }

  /**
   * Release the process object. Throws InvalidStateError while it is still running.
   * Python: Process.close().
   */
  close(): void {
    if (this.isAlive()) throw new InvalidStateError(`${this.#name}: cannot close a process that is still running; join() or terminate() it first`);
    this.#state = 'closed';
  }

  /** Terminate if running, then wait for the exit: `await using p = new Process(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
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
    const status = this.#state === 'initial' ? 'initial' : this.isAlive() ? 'started' : `stopped exitCode=${this.#exitCode}`;
    return `<Process name='${this.#name}' pid=${this.pid ?? 'none'} ${status}${this.#daemon ? ' daemon' : ''}>`;
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

/** What `currentProcess()` and `parentProcess()` describe. */
export interface ProcessInfo {
  name: string;
  pid: number;
}

/** This process: `{ name: 'MainProcess', pid }` in the main process. Python: current_process(). */
export function currentProcess(): ProcessInfo {
  return { name: runtime.name, pid: process.pid };
}

/** The process that started this one, or null in the main process. Python: parent_process(). */
export function parentProcess(): ProcessInfo | null {
  return runtime.child ? { name: 'parent', pid: process.ppid } : null;
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
