// The child entry: the only file that runs as main in a forked process. Child side.
//
// Load, run, reply, repeat. Messages from the parent are handled one at a time, in order:
//   init    name this process, run the initializer, reply 'ready' (or 'init-failed', exit 1)
//   run     Process target: run it once, flush, exit 0 (or print the error and exit 1)
//   define  remember how to load function `key` (by source or by module)
//   call    run a batch of items through function `key`, reply 'result' or 'error'
// The child leaves when the parent disconnects or dies; a failure becomes a reply or an exit
// code, never an escaped exception.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SerializationError } from '../errors.ts';
import { checkVersion, encodeError, findUncloneable, isBranded, PROTOCOL, type FnSpec, type FromChild, type ToChild } from '../protocol.ts';
import { encodeHandles, reviveHandles } from '../queue/handle.ts';
import { flushAll, runtime } from './runtime.ts';

runtime.child = true;

type Fn = (...args: unknown[]) => unknown;
const functions = new Map<number, { spec: FnSpec; fn?: Fn; error?: unknown }>();
const inbox: ToChild[] = [];
let pumping = false;

function send(message: FromChild): void {
  // A parent that closed the pool while this worker was starting is gone: nothing to tell.
  if (!process.connected) return;
  process.send!(message, undefined, undefined, (err) => {
    // EPIPE: the parent disconnected between the check and the write; the 'disconnect'
    // handler ends this process. Without this callback the error would be unhandled.
    if (err && process.connected) process.stderr.write(`multiproc worker ${process.pid}: cannot reply to the parent: ${err.message}\n`);
  });
}

/**
 * A real dynamic import(). Written through Function because the CommonJS build would
 * otherwise compile `import(url)` into `require(url)`, which cannot load ES modules or file
 * URLs.
 */
const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;

/** `require` for by-source functions: resolves from the working directory, like a script there. */
const taskRequire = createRequire(join(process.cwd(), '[multiproc task]'));

/**
 * esbuild (which tsx uses) rewrites nested named functions and classes as
 * `__name(fn, "fn")`; by-source functions written in .ts files carry those calls, so the
 * evaluation scope provides the helper.
 */
function __name<T>(target: T, value: string): T {
  return Object.defineProperty(target, 'name', { value, configurable: true });
}

async function load(spec: FnSpec): Promise<Fn> {
  if (spec.kind === 'source') {
    const factory = new Function('require', '__name', `return (${spec.source}\n);`) as (r: unknown, n: unknown) => unknown;
    const fn = factory(taskRequire, __name);
    if (typeof fn !== 'function') throw new TypeError(`the source of ${spec.name}() did not evaluate to a function`);
    return fn as Fn;
  }
  // Importing a user module runs its top level; while it does, starting a pool or a process
  // is refused (src/process/spawn.ts), which is what turns an unguarded module into a clear
  // error instead of a fork bomb.
  runtime.importing++;
  let mod: Record<string, unknown>;
  try {
    mod = (await importModule(spec.url)) as Record<string, unknown>;
  } finally {
    runtime.importing--;
  }
  let fn = mod[spec.exportName];
  // A CommonJS module imported from ESM exposes its exports under `default`.
  if (fn === undefined && typeof mod.default === 'object' && mod.default !== null) fn = (mod.default as Record<string, unknown>)[spec.exportName];
  if (typeof fn !== 'function') {
    throw new TypeError(`${spec.url} has no exported function '${spec.exportName}' (found ${typeof fn}); check the export name`);
  }
  return fn as Fn;
}

/**
 * A by-source function that reads a variable of the scope it was written in fails here with
 * "x is not defined"; say what happened and how to fix it.
 */
function explain(err: unknown, spec: FnSpec): unknown {
  if (spec.kind !== 'source' || !(err instanceof ReferenceError)) return err;
  const m = /^([\w$]+) is not defined$/.exec(err.message);
  if (!m) return err;
  const name = spec.name;
  const better = new ReferenceError(
    `${name}() was sent to the worker by source, but reads \`${m[1]}\` from the scope it was written in, which does not exist in the worker. ` +
      `Pass \`${m[1]}\` as an argument (or require/import it inside the function), or move ${name} to a module and pass tasks(url).${name}.`,
    { cause: err },
  );
  better.stack = `${better.name}: ${better.message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`;
  return better;
}

async function fnFor(key: number): Promise<{ fn: Fn; spec: FnSpec }> {
  const entry = functions.get(key);
  if (!entry) throw new Error(`multiproc internal error: function #${key} was never defined in this worker`);
  if (!entry.fn && entry.error === undefined) {
    try {
      entry.fn = await load(entry.spec);
    } catch (err) {
      entry.error = err;
    }
  }
  if (entry.error !== undefined) throw entry.error;
  return { fn: entry.fn!, spec: entry.spec };
}

let revivers: Promise<unknown> | null = null;

/**
 * Revive the handles in `value` into queues, locks, pipes and manager proxies. The modules
 * that register those revivers (src/queue/handle.ts) are loaded on first need rather than at
 * start-up: they cost a worker ~40 ms of start-up, and most pools never receive a handle.
 */
async function revive<T>(value: T): Promise<T> {
  revivers ??= Promise.all([import('../queue/index.ts'), import('../manager/proxy.ts')]);
  await revivers;
  return reviveHandles(value);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Send results; a result that cannot be cloned becomes a SerializationError naming it. */
function reply(id: number, values: unknown[], failure?: { index: number; error: unknown }, fnName = 'task'): void {
  const encoded = encodeHandles(values);
  try {
    if (failure) send({ mp: PROTOCOL, type: 'error', id, index: failure.index, values: encoded.value, error: encodeError(failure.error) });
    else send({ mp: PROTOCOL, type: 'result', id, values: encoded.value });
    return;
  } catch (err) {
    if (!process.connected) return;
    const bad = findUncloneable(values);
    const index = bad === -1 ? (failure?.index ?? 0) : bad;
    const error = new SerializationError(
      `the result of ${fnName}() for item ${index} cannot be sent back to the parent: ${(err as Error).message}. ` +
        'Return plain data (objects, arrays, Map, Set, Date, typed arrays, Buffers, Errors), not functions, class instances with private state, sockets or handles.',
      { argIndex: index, cause: err },
    );
    send({ mp: PROTOCOL, type: 'error', id, index, values: values.slice(0, index), error: encodeError(error) });
  }
}

async function runCall(m: Extract<ToChild, { type: 'call' }>): Promise<void> {
  let target: { fn: Fn; spec: FnSpec };
  try {
    target = await fnFor(m.key);
  } catch (err) {
    reply(m.id, [], { index: 0, error: err });
    return;
  }
  const { fn, spec } = target;
  let items: ArrayLike<unknown>;
  try {
    items = m.handles ? await revive(m.items as unknown[]) : m.items;
  } catch (err) {
    // A handle that cannot be revived fails this batch, not the worker.
    reply(m.id, [], { index: 0, error: err });
    return;
  }
  // Numbers (the common `map(square, range)` case) go straight into a Float64Array that
  // travels as raw bytes: several times cheaper to serialize here and to deserialize in the
  // parent than an array of doubles, and every JS number (-0 and NaN included) survives it
  // unchanged ('numbers' reply). The parent turns it back into a plain array. The
  // first result that is not a number switches the batch to a plain array.
  let packed: Float64Array | null = items.length >= MIN_PACKED_RESULTS ? new Float64Array(items.length) : null;
  // Grown with push, not preallocated: V8 serializes a holey array (new Array(n)) element
  // by element, several times slower than a packed one.
  let values: unknown[] = [];
  const name = spec.kind === 'source' ? spec.name : spec.exportName;
  for (let i = 0; i < items.length; i++) {
    try {
      // The synchronous path stays free of awaits: a map over a million tiny items must not
      // pay a microtask per item.
      let v = m.spread ? fn(...(items[i] as unknown[])) : fn(items[i]);
      if (isThenable(v)) v = await v;
      if (packed !== null) {
        if (typeof v === 'number') {
          packed[i] = v;
          continue;
        }
        values = unpack(packed, i);
        packed = null;
      }
      values.push(v);
    } catch (err) {
      reply(m.id, packed !== null ? unpack(packed, i) : values.slice(0, i), { index: i, error: explain(err, spec) }, name);
      return;
    }
  }
  if (packed === null) {
    reply(m.id, values, undefined, name);
    return;
  }
  try {
    send({ mp: PROTOCOL, type: 'numbers', id: m.id, values: packed });
  } catch {
    // A Float64Array always clones, so only a closed channel gets here; whatever it was, the
    // generic path reports it.
    if (process.connected) reply(m.id, unpack(packed, packed.length), undefined, name);
  }
}

/** Below this many items a batch's numeric results travel as a plain array. */
const MIN_PACKED_RESULTS = 32;

/** The first `n` numbers of `packed` as a packed plain array. */
function unpack(packed: Float64Array, n: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(packed[i]);
  return out;
}

/** Wait until what this process wrote to stdout/stderr has been handed to the OS. */
function drainStdio(): Promise<void> {
  const drain = (stream: NodeJS.WritableStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  return Promise.all([drain(process.stdout), drain(process.stderr)]).then(() => undefined);
}

async function exitWith(code: number): Promise<never> {
  await flushAll();
  await drainStdio();
  process.exit(code);
}

async function runTarget(m: Extract<ToChild, { type: 'run' }>): Promise<void> {
  let spec = m.fn;
  try {
    const fn = await load(spec);
    const args = m.handles ? await revive(m.args) : m.args;
    await fn(...args);
  } catch (err) {
    const error = explain(err, spec);
    // Python prints "Process Process-1:" and the traceback, then exits with code 1.
    process.stderr.write(`Process ${runtime.name}:\n${error instanceof Error ? (error.stack ?? String(error)) : String(error)}\n`);
    try {
      send({ mp: PROTOCOL, type: 'done', error: encodeError(error) });
    } catch {}
    await exitWith(1);
  }
  try {
    send({ mp: PROTOCOL, type: 'done' });
  } catch {}
  await exitWith(0);
}

async function runInit(m: Extract<ToChild, { type: 'init' }>): Promise<void> {
  runtime.name = m.name;
  if (m.initializer) {
    try {
      const fn = await load(m.initializer);
      const args = m.handles ? await revive(m.initargs ?? []) : (m.initargs ?? []);
      const r = fn(...args);
      if (isThenable(r)) await r;
    } catch (err) {
      process.stderr.write(`initializer of ${runtime.name} failed:\n${err instanceof Error ? err.stack : String(err)}\n`);
      send({ mp: PROTOCOL, type: 'init-failed', error: encodeError(explain(err, m.initializer)) });
      await exitWith(1);
    }
  }
  send({ mp: PROTOCOL, type: 'ready', pid: process.pid });
  watchParent();
}

function handle(m: ToChild): Promise<void> | void {
  switch (m.type) {
    case 'init':
      return runInit(m);
    case 'run':
      return runTarget(m);
    case 'define':
      functions.set(m.key, { spec: m.fn });
      return;
    case 'call':
      return runCall(m);
    default: {
      const never: never = m;
      throw new Error(`multiproc: unknown message ${JSON.stringify(never)}`);
    }
  }
}

async function pump(): Promise<void> {
  pumping = true;
  try {
    while (inbox.length > 0) {
      const r = handle(inbox.shift()!);
      if (r) await r;
    }
  } finally {
    pumping = false;
  }
}

/**
 * The 'disconnect' event cannot fire while a task keeps the event loop busy (a CPU loop),
 * and a SIGKILLed parent sends nothing. A tiny watchdog thread notices the parent is gone
 * (this process was re-parented) and ends the process, so no orphan outlives its parent by
 * more than a fraction of a second. It is unref'd: it never keeps the child alive.
 */
function watchParent(): void {
  const source = `
    const { workerData } = require('node:worker_threads');
    setInterval(() => { if (process.ppid !== workerData.ppid) process.kill(workerData.pid, 'SIGKILL'); }, 200);`;
  try {
    const watchdog = new Worker(source, { eval: true, workerData: { ppid: process.ppid, pid: process.pid }, execArgv: [], stdout: true, stderr: true });
    watchdog.on('error', () => {});
    watchdog.unref();
  } catch {
    // Without threads (a resource limit), the 'disconnect' handler below still covers the
    // common case of a parent that exits normally.
  }
}

process.on('message', (m: unknown) => {
  if (!isBranded(m)) {
    checkVersion(m);
    return;
  }
  inbox.push(m as ToChild);
  if (!pumping) void pump();
});
process.on('disconnect', () => process.exit(0));
