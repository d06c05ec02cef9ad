// The child entry: the only file that runs as main in a forked process. Child side.
//
// Load, run, reply, repeat. Messages from the parent are handled one at a time, in order:
//   init    name this process, run the initializer, reply 'ready' (or 'init-failed', exit 1)
//   run     Process target (or a Process subclass's run()): run it once; when it has settled
//           and the event loop has drained, leave with the code it set in process.exitCode
//           (default 0), or with 1 after printing the error it threw
//   define  remember how to load function `key` (by source or by module)
//   call    run a batch of items through function `key`, reply 'result' or 'error'; a batch
//           whose large binary values follow it on the byte channel runs once they have
//           arrived, and large results go back the same way
// A pool worker forked with a byte channel (src/process/byte-channel.ts) opens it on first
// need. Each direction moves to it once, marked by its last IPC message: the parent sends
// 'switch' with the first batch that gains from the channel, then every later message on it;
// the worker sends 'switched' when the parent switched or when a reply of its own gains from
// the channel (large binary values, many numbers), then every later message on it
// (src/protocol/child-frames.ts).
// One exception to the order: 'drop' is handled on arrival, since the batch it takes back
// waits in the inbox (the parent pipelines a second batch behind a running one):
//   drop    remove that batch from the inbox if it is still there, and reply 'dropped'
//           saying whether it was; for a batch that already finished, say nothing (its
//           reply went first, and the parent may have let this worker go since)
// The child leaves when the parent disconnects or dies, always through leave(), which first
// sends what queues and proxies buffered; a failure becomes a reply or an exit code, never
// an escaped exception. A parent that dies without a word (SIGKILL) while this child spins
// in a CPU-bound task cannot be noticed from here: the parent's watcher kills this process
// then (src/process/spawn.ts), so a child costs no watchdog thread of its own.

import { fstatSync } from 'node:fs';
import { Deque } from '../deque.ts';
import type { FnSpec, FromChild, ProcessClassSpec, ToChild } from '../protocol/index.ts';
import { encodeMessage } from '../protocol/child-frames.ts';
import { decodeRecords, encodeRecords, type EncodedRecords } from '../protocol/records.ts';
import { checkVersion, EXIT_PROTOCOL, isBranded, PROTOCOL } from '../protocol/version.ts';
import { flushAll, registerFlusher, runtime } from '../runtime.ts';
import { isThenable, pollOnce } from '../util.ts';
import { explain, importLibraryModule, loadClass, loadFunction, taskName, useCompiledTwins, WORKER_SITE, type LoadedFn } from './loader.ts';
import { ByteChannel, frameCount, insertBinary, extractBinary, MIN_CHANNEL_BYTES, type Claim } from './byte-channel.ts';
import { bytesOf, NumberPacker, numbersOf, ScratchPool } from './numbers.ts';

runtime.child = true;
/** The parent's pid, read first thing: once the parent is gone, process.ppid names another process. */
const parentPid = process.ppid;

const functions = new Map<number, { spec: FnSpec; fn?: LoadedFn; error?: unknown }>();
type Queued = Exclude<ToChild, { type: 'drop' | 'switch' }>;
/** Messages waiting to be handled, in arrival order (the FIFO the engine and the queues use too). */
const inbox = new Deque<Queued>();
let pumping = false;
/** The id of the batch running now, or -1 between batches (free, even with more queued). */
let running = -1;
/** 'init' offered a byte channel on fd 4 (a pool worker not on Windows), opened on first need (openChannel). */
let channelOffered = false;
/** The byte channel, once opened. */
let channel: ByteChannel | null = null;
/** This side sent 'switched': every message to the parent goes on the channel (sendOnChannel). */
let sendingOnChannel = false;
/** The frames of each queued batch that has some, claimed when its message arrived (claims follow message order). */
const claims = new Map<number, Claim>();

/**
 * The diagnostics channel's debug(), loaded on first use: only failures print through it,
 * and a worker that never fails does not pay for loading it.
 */
function debug(message: string, ...args: unknown[]): Promise<void> {
  return import('../diagnostics.ts').then((d) => d.debug(message, ...args));
}

/**
 * Send `message` to the parent: on the byte channel once this side switched to it, else by
 * IPC. `done` is called once the memory of `message` may change again: at once by IPC (it is
 * serialized inside process.send) or when nothing is sent, after the write on the channel.
 * Throws what the serializer throws for a value that cannot be cloned, before anything is sent.
 */
function send(message: FromChild, done?: () => void): void {
  // A parent that closed the pool while this worker was starting is gone: nothing to tell.
  if (!process.connected) return done?.();
  if (!sendingOnChannel) {
    process.send!(message, undefined, undefined, onSent);
    return done?.();
  }
  const e = encodeMessage(message);
  channel!.writeMessage(e.tag, e.parts, e.pooled, done === undefined ? onSent : (err) => (onSent(err), done()));
}

/**
 * A reply that cannot be written: the parent disconnected between the check and the write
 * (a pool shutting down while this worker answers, EPIPE). That is no error, the 'disconnect'
 * handler ends this process; the diagnostics channel has it. Without this callback the
 * error would be unhandled.
 */
function onSent(err: Error | null): void {
  if (err) void debug('worker %d: a reply to the parent was not written: %s', process.pid, err.message);
}

async function fnFor(key: number): Promise<{ fn: LoadedFn; spec: FnSpec }> {
  const entry = functions.get(key);
  if (!entry) throw new Error(`multiproc internal error: function #${key} was never defined in this worker`);
  if (!entry.fn && entry.error === undefined) {
    try {
      entry.fn = await loadFunction(entry.spec);
    } catch (err) {
      entry.error = err;
    }
  }
  if (entry.error !== undefined) throw entry.error;
  return { fn: entry.fn!, spec: entry.spec };
}

/**
 * What only failures and handles need: error encoding (src/protocol/errors.ts, values.ts)
 * and handle encoding and reviving (src/remote/handle.ts). Loaded on first need, not at
 * start: a worker loads about a millisecond per module before it can run its first task,
 * and a pool of plain tasks that succeed never needs these nine modules (issue 15: ~10 ms
 * of a worker's start).
 */
interface Wire {
  encodeError: typeof import('../protocol/index.ts').encodeError;
  findUncloneable: typeof import('../protocol/index.ts').findUncloneable;
  unsendable: typeof import('../protocol/index.ts').unsendable;
  encodeHandles: typeof import('../remote/handle.ts').encodeHandles;
  reviveHandlesAsync: typeof import('../remote/handle.ts').reviveHandlesAsync;
}
let wire: Wire | null = null;
let wireLoading: Promise<Wire> | null = null;

function loadWire(): Promise<Wire> {
  wireLoading ??= wireModules().then(([p, h]) => {
    wire = { encodeError: p.encodeError, findUncloneable: p.findUncloneable, unsendable: p.unsendable, encodeHandles: h.encodeHandles, reviveHandlesAsync: h.reviveHandlesAsync };
    return wire;
  });
  return wireLoading;
}

/**
 * The wire's modules, from the build user code imports (runtime.libraryRoot, when this entry
 * is another build's): a handle must revive into the Queue class that a task module's
 * `instanceof` knows, and a reviver module loads from its own build's root.
 */
function wireModules(): Promise<[typeof import('../protocol/index.ts'), typeof import('../remote/handle.ts')]> {
  const root = runtime.libraryRoot;
  if (root === null) return Promise.all([import('../protocol/index.ts'), import('../remote/handle.ts')]);
  return Promise.all([importLibraryModule(root, 'protocol/index'), importLibraryModule(root, 'remote/handle')]) as Promise<[typeof import('../protocol/index.ts'), typeof import('../remote/handle.ts')]>;
}

/**
 * Whether a result may hold a shareable (a Queue, a Lock, a proxy) to encode as a handle:
 * src/remote/handle.ts counts them in a global record (keyed by Symbol.for, as there), which
 * exists once that module is loaded; every shareable's constructor loads it.
 */
function mayHoldHandles(): boolean {
  const state = (globalThis as Record<symbol, { shareables: number } | undefined>)[Symbol.for('multiproc.handleState')];
  return state !== undefined && state.shareables > 0;
}

/**
 * Revive the handles in `value` into queues, locks, pipes and manager proxies. Each handle
 * names the module that registers its reviver; those not loaded yet are imported now (on
 * first need: most pools never receive a handle, and loading them all cost a worker ~40 ms).
 */
async function revive<T>(value: T): Promise<T> {
  return (await loadWire()).reviveHandlesAsync(value);
}

/**
 * Send results; a result that cannot be cloned becomes a SerializationError naming it.
 * Returns a promise when the modules of a failure or of handles had to be loaded first (the
 * pump waits for it, so replies keep their order).
 */
function reply(id: number, values: unknown[], failure?: { index: number; error: unknown }, fnName = 'task'): Promise<void> | undefined {
  const handles = mayHoldHandles();
  if ((failure || handles) && wire === null) return loadWire().then((): Promise<void> | undefined => reply(id, values, failure, fnName));
  try {
    // The parent scans results for handles only when told to (a walk of every object).
    const encoded = handles ? wire!.encodeHandles(values) : null;
    const out = encoded === null ? values : encoded.value;
    const scan = encoded?.handles === true ? ({ handles: true } as const) : null;
    // A batch's only result that is a table of rows goes by columns (records.ts).
    const records = failure || scan !== null || out.length !== 1 ? null : encodeRecords(out[0]);
    if (records !== null) send({ mp: PROTOCOL, type: 'result', id, values: [records], records: true });
    else if (failure) send({ mp: PROTOCOL, type: 'error', id, index: failure.index, values: out, error: wire!.encodeError(failure.error), ...scan });
    else if (channelOffered && process.connected) return replyFrames(id, out, scan);
    else send({ mp: PROTOCOL, type: 'result', id, values: out, ...scan });
    return undefined;
  } catch (err) {
    if (!process.connected) return undefined;
    if (wire === null) return loadWire().then(() => replyUnsendable(id, values, failure, fnName, err));
    replyUnsendable(id, values, failure, fnName, err);
    return undefined;
  }
}

/**
 * Send results, their large binary values on the byte channel. The socket reads those
 * values' own memory until each write calls back, and a task may keep and change what it
 * returned (a buffer it reuses): the promise returned resolves then, and the pump starts
 * nothing before (this also bounds what waits to be written to one batch's results).
 */
function replyFrames(id: number, values: unknown[], scan: { handles: true } | null): Promise<void> | undefined {
  const ex = extractBinary(values, false);
  const ch = ex === null ? null : sendOnChannel();
  if (ex === null || ch === null) {
    send({ mp: PROTOCOL, type: 'result', id, values, ...scan });
    return undefined;
  }
  // Throws (to reply's catch) before any frame is written when the rest cannot be cloned.
  send({ mp: PROTOCOL, type: 'result', id, values: ex.values, frames: ex.slots, ...scan });
  let left = ex.frames.length;
  return new Promise<void>((resolve) => {
    for (const frame of ex.frames) ch.write(frame, false, () => --left === 0 && resolve());
  });
}

/** The results of batch `id` could not be sent (`err`): say which one, as a SerializationError. */
function replyUnsendable(id: number, values: unknown[], failure: { index: number } | undefined, fnName: string, err: unknown): void {
  const { findUncloneable, unsendable, encodeError } = wire!;
  const bad = findUncloneable(values);
  const index = bad === -1 ? (failure?.index ?? 0) : bad;
  const error = unsendable(`${fnName}()`, `the result for item ${index}`, 'the parent', err, index);
  send({ mp: PROTOCOL, type: 'error', id, index, values: values.slice(0, index), error: encodeError(error) });
}

type Call = Extract<ToChild, { type: 'call' }>;

/**
 * The typed arrays results are packed into, reused batch after batch (see PackScratch):
 * batches run one at a time, and a reply is serialized inside send(), so a scratch is free
 * again once the reply is sent; one whose numbers went on the byte channel, once that
 * write has called back (the next batch packs into another meanwhile).
 */
const scratches = new ScratchPool();

/**
 * Run a batch and reply. Returns undefined when it ran to the end synchronously (the
 * function is loaded, no handles to revive, no task returned a promise): then a stream of
 * small batches, or a sequence of `apply` calls, pays no promise or microtask per batch.
 * A batch with values on the byte channel waits for them first; its pooled frames (packed
 * numbers) are given back once it has replied.
 */
function runCall(m: Call): Promise<void> | undefined {
  // A table of rows sent by columns (records.ts): the batch's one item, rebuilt.
  if (m.records === true) m.items = [decodeRecords((m.items as unknown[])[0] as EncodedRecords)];
  if (m.frames === undefined) return runReady(m);
  const claim = claims.get(m.id);
  if (claim === undefined) return reply(m.id, [], { index: 0, error: new Error(`multiproc internal error: batch ${m.id} announced values on a byte channel this worker does not have`) });
  if (!claim.done) return new Promise<void>((resolve) => claim.whenDone(resolve)).then(() => runCall(m));
  claims.delete(m.id);
  const slots = m.frames;
  // Packed numbers: viewed in place as the parent reads a 'numbers' reply (numbersOf; copied
  // into the pool's current scratch only if misaligned: results pack into scratches taken).
  if (slots[0]!.i === -1) m.items = numbersOf(claim.frames[0]!, slots[0]!.k === 'Int32Array', scratches.current);
  else insertBinary(m.items as unknown[], slots, claim.frames);
  const r = runReady(m);
  if (r !== undefined) return r.finally(() => claim.release());
  claim.release();
  return undefined;
}

/** runCall once the batch's items are all here. */
function runReady(m: Call): Promise<void> | undefined {
  const entry = functions.get(m.key);
  if (entry?.fn !== undefined && !m.handles) return runItems(m, entry.fn, entry.spec, m.items);
  return prepareAndRun(m);
}

/** runCall when the function must be loaded first, or handles revived. */
async function prepareAndRun(m: Call): Promise<void> {
  let target: { fn: LoadedFn; spec: FnSpec };
  try {
    target = await fnFor(m.key);
  } catch (err) {
    return reply(m.id, [], { index: 0, error: err });
  }
  let items: ArrayLike<unknown>;
  try {
    items = m.handles ? await revive(m.items as unknown[]) : m.items;
  } catch (err) {
    // A handle that cannot be revived fails this batch, not the worker.
    return reply(m.id, [], { index: 0, error: err });
  }
  return runItems(m, target.fn, target.spec, items);
}

/**
 * The items of a batch through `fn`, synchronously while tasks return plain values; the
 * first task that returns a promise hands the rest of the batch to `runRest`.
 */
function runItems(m: Call, fn: LoadedFn, spec: FnSpec, items: ArrayLike<unknown>): Promise<void> | undefined {
  const n = items.length;
  const results = new NumberPacker(n, scratches.take());
  let i = 0;
  try {
    const direct = m.spread ? null : results.direct;
    if (direct !== null) {
      // The commonest batch by far, a map of numbers: results stored straight into the
      // packer's array, no call per result but the task's (see NumberPacker.direct). On
      // the first result that is not a number, the loop below takes over from that item.
      let v: unknown;
      for (; i < n; i++) {
        v = fn(items[i]);
        if (typeof v !== 'number') break;
        direct[i] = v;
      }
      if (i < n) {
        if (isThenable(v)) return runRest(m, fn, spec, items, results, i, v);
        results.set(i++, v);
      }
    }
    for (; i < n; i++) {
      const v = m.spread ? fn(...(items[i] as unknown[])) : fn(items[i]);
      if (isThenable(v)) return runRest(m, fn, spec, items, results, i, v);
      results.set(i, v);
    }
  } catch (err) {
    return replyFailed(m.id, spec, results, i, err);
  }
  return replyDone(m.id, spec, results);
}

/** The rest of a batch from item `i`, whose task returned `pending`; awaits only promises. */
async function runRest(m: Call, fn: LoadedFn, spec: FnSpec, items: ArrayLike<unknown>, results: NumberPacker, i: number, pending: PromiseLike<unknown>): Promise<void> {
  try {
    results.set(i, await pending);
    for (i++; i < items.length; i++) {
      let v = m.spread ? fn(...(items[i] as unknown[])) : fn(items[i]);
      if (isThenable(v)) v = await v;
      results.set(i, v);
    }
  } catch (err) {
    return replyFailed(m.id, spec, results, i, err);
  }
  return replyDone(m.id, spec, results);
}

/** Reply that item `i` of batch `id` failed with `err`, with the results of the items before it. */
function replyFailed(id: number, spec: FnSpec, results: NumberPacker, i: number, err: unknown): Promise<void> | undefined {
  const values = results.list(i);
  scratches.give(results.scratch!);
  return reply(id, values, { index: i, error: explain(err, spec, WORKER_SITE) }, taskName(spec));
}

/** Reply with every result of batch `id`: packed when all are numbers (src/process/numbers.ts). */
function replyDone(id: number, spec: FnSpec, results: NumberPacker): Promise<void> | undefined {
  const packed = results.packed();
  const scratch = results.scratch!;
  if (packed === null) {
    const values = results.list();
    scratches.give(scratch);
    return reply(id, values, undefined, taskName(spec));
  }
  const ints = packed instanceof Int32Array;
  try {
    // Many numbers are worth moving to the channel for; a few go the way messages go now.
    if (packed.byteLength >= MIN_CHANNEL_BYTES && process.connected) sendOnChannel();
    // The scratch is free again once the message no longer reads it (on the channel, when the
    // write calls back: the next batch packs into another one meanwhile).
    send({ mp: PROTOCOL, type: 'numbers', id, values: bytesOf(packed), ints }, () => scratches.give(scratch));
    return undefined;
  } catch {
    // A typed array always clones, so only a closed channel gets here; whatever it was,
    // the generic path reports it.
    if (process.connected) return reply(id, results.list(), undefined, taskName(spec));
  }
  scratches.give(scratch);
  return undefined;
}

/** Wait until what this process wrote to stdout/stderr has been handed to the OS. */
function drainStdio(): Promise<void> {
  const drain = (stream: NodeJS.WritableStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  return Promise.all([drain(process.stdout), drain(process.stderr)]).then(() => undefined);
}

/** Longest wait for hosts to confirm what this process sent, before it exits anyway. */
const LEAVE_FLUSH_MS = 10_000;
let leaving: Promise<never> | null = null;

/**
 * The one way out of a child, whatever ends it (its target returned or threw, the parent
 * disconnected): send what queues and proxies buffered and wait until their hosts confirmed
 * it (so a parent that joins this process then finds every item it put), let stdout and
 * stderr drain, then exit. `code` undefined keeps a code the task set in process.exitCode
 * (Python keeps the 7 of sys.exit(7)), else 0. A path that skips this one (process.exit()
 * called by a task, an uncaught exception) still has the synchronous exit hooks of
 * src/runtime.ts write what is buffered.
 */
function leave(code?: number): Promise<never> {
  leaving ??= (async (): Promise<never> => {
    let timer: NodeTimeout | undefined;
    await Promise.race([flushAll(), new Promise<void>((resolve) => (timer = setTimeout(resolve, LEAVE_FLUSH_MS)))]);
    clearTimeout(timer);
    await drainStdio();
    // Not process.exit(undefined): Node 20 reads an explicit undefined as 0 and drops the
    // code in process.exitCode.
    if (code === undefined) process.exit();
    process.exit(code);
  })();
  return leaving;
}

/** See src/process/process.ts: the static through which a child rebuilds a subclass instance. */
const REVIVE = Symbol.for('multiproc.Process.revive');

/** Rebuild the Process subclass instance `cls` describes (src/process/process.ts, "Subclassing"). */
async function reviveProcess(cls: ProcessClassSpec, target: LoadedFn | undefined, args: unknown[]): Promise<{ run(): unknown }> {
  const what = `Process ${runtime.name} (class ${cls.exportName})`;
  const Class = (await loadClass(cls.url, cls.exportName, what)) as Function & { [REVIVE]?: (state: unknown) => { run(): unknown } };
  if (typeof Class[REVIVE] !== 'function') {
    throw new TypeError(`${what}: the export ${cls.exportName} of ${cls.url} is not a subclass of multiproc's Process; export the class that extends Process under its own name`);
  }
  return Class[REVIVE]({ name: runtime.name, daemon: runtime.daemon, fields: cls.fields, target, args });
}

/**
 * Resolve once the event loop has nothing left to do but this wait, as a Node script ends:
 * pending ref'd timers, sockets and child processes keep the process alive (Python's
 * non-daemon threads, which it joins at the end of a process), unref'd ones do not. Our own
 * IPC listeners go first: Node keeps the channel ref'd while 'message' or 'disconnect' has a
 * listener, so a target that listens to the parent itself keeps the process alive, as it
 * would a forked script. The parent sends a Process nothing after 'run'; a parent that exits
 * kills it (src/process/spawn.ts).
 */
function drained(): Promise<void> {
  process.off('message', onMessage);
  process.off('disconnect', onDisconnect);
  return new Promise((resolve) => process.once('beforeExit', () => resolve()));
}

async function runTarget(m: Extract<ToChild, { type: 'run' }>): Promise<void> {
  const spec = m.fn;
  let code: number | undefined;
  try {
    const fn = spec ? await loadFunction(spec) : undefined;
    let args = m.args;
    let fields = m.cls?.fields;
    if (m.handles) [args, fields] = await revive([args, fields]);
    if (m.cls) await (await reviveProcess({ ...m.cls, fields: fields ?? {} }, fn, args)).run();
    else if (fn) await fn(...args);
    try {
      send({ mp: PROTOCOL, type: 'done' });
    } catch {}
  } catch (err) {
    const error = spec ? explain(err, spec, WORKER_SITE) : err;
    // Python prints "Process Process-1:" and the traceback, then exits with code 1.
    process.stderr.write(`Process ${runtime.name}:\n${error instanceof Error ? (error.stack ?? String(error)) : String(error)}\n`);
    try {
      send({ mp: PROTOCOL, type: 'done', error: (await loadWire()).encodeError(error) });
    } catch {}
    code = 1;
  }
  // Python, too, joins the non-daemon threads after run() returned or raised.
  if (!disconnected) await drained();
  await leave(code);
}

/** The parent disconnected (see the 'disconnect' handler at the end). */
let disconnected = false;
/** The initializer is running: a disconnect waits for it. */
let initializing = false;

async function runInit(m: Extract<ToChild, { type: 'init' }>): Promise<void> {
  runtime.name = m.name;
  runtime.parent = { name: m.parent ?? 'MainProcess', pid: parentPid };
  runtime.daemon = m.daemon ?? m.role === 'worker';
  runtime.loaders = m.loaders ?? [];
  runtime.libraryRoot = m.libraryRoot ?? null;
  useCompiledTwins(m.sourceRoot);
  // A pool starts its next worker when this one's start is over (src/process/engine/engine.ts).
  if (m.role === 'worker') send({ mp: PROTOCOL, type: 'started' });
  if (m.initializer) {
    initializing = true;
    try {
      const fn = await loadFunction(m.initializer);
      const args = m.handles ? await revive(m.initargs ?? []) : (m.initargs ?? []);
      const r = fn(...args);
      if (isThenable(r)) await r;
    } catch (err) {
      // The parent gets the whole error (BrokenProcessPool's cause); this copy is for NODE_DEBUG.
      await debug('the initializer of %s failed: %s', runtime.name, err instanceof Error ? err.stack : String(err));
      send({ mp: PROTOCOL, type: 'init-failed', error: (await loadWire()).encodeError(explain(err, m.initializer, WORKER_SITE)) });
      await leave(1);
    } finally {
      initializing = false;
    }
  }
  // Closed (pool.close() right after new Pool()) while the initializer ran: it ran, as in
  // Python; now leave.
  if (disconnected) return void (await leave());
  send({ mp: PROTOCOL, type: 'ready', pid: process.pid });
}

/**
 * The byte channel 'init' offered on file descriptor 4 (src/process/spawn.ts), opened now if
 * it is not open yet; it throws when it cannot be opened. Opened on first need, not at
 * 'init': opening a socket is ~3 ms of cold code in a fresh process (measured: the first
 * net.Socket, its fd, its first write), and a pool of small values never needs it. It keeps
 * nothing alive (the IPC channel decides when this process leaves), and leave() waits for
 * what it still writes (a flusher), as for replies by IPC.
 */
function openChannel(): ByteChannel {
  if (channel !== null) return channel;
  if (!fstatSync(4).isSocket()) throw new Error('it is not a socket');
  const ch = new ByteChannel(4);
  ch.socket.unref();
  // Held by the channel until the parent's 'switch' arrives (it may not have switched at all).
  ch.onMessage = receive;
  registerFlusher(() => ch.drained());
  channel = ch;
  return ch;
}

/**
 * Move this side's messages to the channel (once): say 'switched' by IPC, the last message
 * that way (the parent reads this worker's channel messages only after it), then send
 * everything on the channel. Returns the channel, or null when it cannot be opened (the
 * messages stay on IPC; the diagnostics channel says why).
 */
function sendOnChannel(): ByteChannel | null {
  if (sendingOnChannel) return channel;
  if (!channelOffered) return null;
  let ch: ByteChannel;
  try {
    ch = openChannel();
  } catch (err) {
    channelOffered = false;
    void debug('worker %d: no byte channel: %s', process.pid, (err as Error).message);
    return null;
  }
  send({ mp: PROTOCOL, type: 'switched' });
  sendingOnChannel = true;
  return ch;
}

/**
 * The parent sent 'switch' (handled on arrival): every message after it comes on the byte
 * channel, read from now on (frames read before waited in the channel, in order). Replies move
 * there too. A channel that cannot be opened (never expected: fd 4 is the socketpair the
 * parent made, unless something in this process closed it) ends this worker with the
 * reason: what the parent sends next is on it.
 */
function switchToChannel(): void {
  try {
    openChannel();
  } catch (err) {
    channelOffered = false;
    const error = new Error(`it could not open its byte channel to the parent on file descriptor 4: ${(err as Error).message}`, { cause: err });
    void loadWire().then((w) => {
      send({ mp: PROTOCOL, type: 'start-failed', error: w.encodeError(error) });
      return leave(1);
    });
    return;
  }
  channel!.openMessages();
  sendOnChannel();
}

function handle(m: Queued): Promise<void> | void {
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

/**
 * After a batch ran this long, messages are read before the next queued batch starts. A
 * synchronous task keeps the event loop from reading the channel, so a 'drop' of the next
 * batch, sent while this one ran, would otherwise arrive only after that batch started (and
 * the parent would kill this worker to stop it). Two event-loop turns cost some
 * microseconds: nothing beside a batch this long, too much between short ones.
 */
const READ_BETWEEN_MS = 20;

/** Handle the inbox in order until it is empty. `pumping` is set by whoever starts it. */
async function pump(): Promise<void> {
  try {
    while (inbox.length > 0) {
      const m = inbox.shift()!;
      const call = m.type === 'call';
      // Date.now(), not performance.now(): the `performance` global loads perf_hooks on first
      // use, about a millisecond of every worker's start (its first batch), and whole
      // milliseconds are enough against READ_BETWEEN_MS.
      const started = call ? Date.now() : 0;
      if (call) running = m.id;
      try {
        const r = handle(m);
        if (r) await r;
      } finally {
        running = -1;
      }
      if (call && inbox.length > 0 && Date.now() - started > READ_BETWEEN_MS) await pollOnce();
    }
  } finally {
    pumping = false;
  }
}

/**
 * Take back a batch still waiting in the inbox (see the header). A steal is declined unless
 * a batch is running: a child free to start the batch now runs it sooner than a round trip
 * to another worker would.
 */
function drop(m: Extract<ToChild, { type: 'drop' }>): void {
  const i = inbox.findIndex((q) => q.type === 'call' && q.id === m.id);
  if (i !== -1 && !(m.steal && running === -1)) {
    inbox.removeAt(i);
    // Its frames still arrive (they follow the message): read and given back, never run.
    claims.get(m.id)?.abandon();
    claims.delete(m.id);
    send({ mp: PROTOCOL, type: 'dropped', id: m.id, taken: true });
  } else if (i !== -1 || m.id === running) {
    send({ mp: PROTOCOL, type: 'dropped', id: m.id, taken: false });
  }
}

function onMessage(m: unknown): void {
  receive(m, null);
}

/** A message from the parent, by IPC or on the byte channel; `own`: the numbers a batch carried in itself (child-frames.ts). */
function receive(m: unknown, own: Claim | null): void {
  if (!isBranded(m)) {
    // Not ours: a user message (ignored), or one of another multiproc build, which this
    // child cannot understand: say so, and exit with the code the parent recognises.
    const mismatch = checkVersion(m);
    if (mismatch) {
      process.exitCode = EXIT_PROTOCOL;
      void import('../diagnostics.ts').then((d) => {
        d.warn('MP_PROTOCOL', `${runtime.name} (pid ${process.pid}): ${mismatch.message}`);
        return leave(EXIT_PROTOCOL);
      });
    }
    return;
  }
  const message = m as ToChild;
  if (message.type === 'drop') drop(message);
  else if (message.type === 'switch') switchToChannel();
  else {
    if (message.type === 'init' && message.bytes) channelOffered = true;
    // Claimed now, in message order, as the frames are written in that order (a batch of
    // numbers laid out by hand brought its own: ByteChannel.onMessage).
    if (message.type === 'call' && message.frames !== undefined) {
      const claim = own ?? channel?.claim(frameCount(message.frames));
      if (claim !== undefined) claims.set(message.id, claim);
    }
    inbox.push(message);
    // Started in a microtask, not now: Node emits each message of one read in its own
    // tick, and microtasks run after them all, so a 'drop' read together with the batch it
    // names (both waited while a synchronous task ran) is seen before that batch starts.
    if (!pumping) {
      pumping = true;
      queueMicrotask(pump);
    }
  }
}
// The parent let go of us (a pool retiring this worker, or the parent exiting or dying).
// An initializer already running finishes first, as Python always runs it (runInit leaves
// after it); otherwise leave now, through the one way out.
function onDisconnect(): void {
  disconnected = true;
  if (!initializing) void leave();
}

process.on('message', onMessage);
process.on('disconnect', onDisconnect);
