// Process as Python's (issue 14), over real child processes: what a process knows of itself
// and of its parent, a closed Process, subclasses with run() overridden, and a child that
// ends when its target has settled and its event loop has drained.
import { suite } from 'uvu';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentProcess, InvalidStateError, parentProcess, Pool, Process, Queue, SerializationError, tasks } from '../src/index.ts';
import { Counter, FunctionField, InstanceField, LoudCounter, Wrapped } from './fixtures/process-parity-classes.ts';
import { assert, disposeAllAndCheckLeaks, rememberPid, track, waitFor, withinMs } from './helpers.ts';

const work = tasks<typeof import('./fixtures/process-parity-work.ts')>(new URL('./fixtures/process-parity-work.ts', import.meta.url));
const test = suite('process-parity');
const dir = mkdtempSync(join(tmpdir(), 'mp-parity-'));
let files = 0;
const file = (label: string) => join(dir, `${label}-${++files}.json`);
const read = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** Run a process to its end; fail naming it if it hangs. */
async function finish(p: Process<any>, what: string, ms = 15_000): Promise<void> {
  p.start();
  await withinMs(p.join(), ms, what);
}

/** Run `script` under this process's loader (tsx); resolve with its output and exit code. */
function runScript(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return withinMs(new Promise((resolve) => child.once('close', (code: number | null) => resolve({ code, stdout, stderr }))), 30_000, `the script ${script}`);
}

// ---------------------------------------------------------------------------------------
// currentProcess() and parentProcess()

test('the main process: currentProcess() is a full object, parentProcess() is null', () => {
  const me = currentProcess();
  assert.is(me.name, 'MainProcess');
  assert.is(me.pid, process.pid);
  assert.is(me.ident, process.pid);
  assert.is(me.daemon, false);
  assert.is(me.exitCode, null);
  assert.is(me.isAlive(), true);
  assert.is(currentProcess(), me, 'the same object each time, as in Python');
  assert.is(parentProcess(), null);
});

test('a Process child: parentProcess() is MainProcess (its real name), alive; currentProcess() is the Process', async () => {
  const out = file('facts');
  const p = track(new Process({ target: work.reportFacts, args: [out], name: 'Child-A', daemon: true }));
  await finish(p, 'the reporting child');
  assert.is(p.exitCode, 0);
  const seen = read(out);
  assert.equal(seen.current, { name: 'Child-A', pid: p.pid, ident: p.pid, daemon: true, exitCode: null, alive: true });
  assert.equal(seen.parent, { name: 'MainProcess', pid: process.pid, ident: process.pid, daemon: false, exitCode: null, alive: true });
});

test('a pool worker: parentProcess() is MainProcess; currentProcess() is the worker, a daemon', async () => {
  const pool = track(new Pool(1));
  const seen = await withinMs(pool.apply(work.facts), 15_000, 'pool.apply(facts)');
  assert.match(seen.current!.name, /^PoolWorker-\d+$/);
  assert.is(seen.current!.daemon, true);
  assert.is(seen.current!.alive, true);
  assert.is(seen.current!.exitCode, null);
  assert.is(seen.parent!.name, 'MainProcess');
  assert.is(seen.parent!.pid, process.pid);
  assert.is(seen.parent!.alive, true);
});

test("a grandchild's parentProcess() is the Process that started it, by its name", async () => {
  const out = file('grandchild');
  const p = track(new Process({ target: work.startInner, args: ['Inner', out], name: 'Outer' }));
  await finish(p, 'Outer and its Inner');
  assert.is(p.exitCode, 0);
  const seen = read(out);
  assert.is(seen.current.name, 'Inner');
  assert.is(seen.current.daemon, false);
  assert.is(seen.parent.name, 'Outer');
  assert.is.not(seen.parent.pid, process.pid);
});

test('parentProcess().join(timeout) returns with the parent alive; join() returns once the parent is SIGKILLed', async () => {
  const pidFile = file('watcher-pid');
  const out = file('orphan');
  const middle = track(new Process({ target: work.startOrphanWatcher, args: [pidFile, out], name: 'Middle' }));
  middle.start();
  await waitFor(() => existsSync(pidFile), 'Middle to start its Watcher and report its pid', 15_000);
  rememberPid(Number(readFileSync(pidFile, 'utf8')));
  await waitFor(() => existsSync(`${out}.waiting`), 'the Watcher to be past its join(100) and waiting for its parent', 15_000);
  middle.kill();
  await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').length > 0, "the Watcher to report its parent's death", 10_000);
  const seen = read(out);
  assert.equal(seen.before, { name: 'Middle', pid: middle.pid, alive: true });
  assert.is(seen.afterTimeout, true, 'join(100) returned while the parent still ran');
  assert.is(seen.afterJoin, false, 'join() returned because the parent was gone');
});

test('a process-wide state made first by an older copy of the library: this copy fills in its fields and starts a Process', async () => {
  const out = await runScript(new URL('./fixtures/process-parity-old-state.ts', import.meta.url).pathname);
  assert.is(out.code, 0, out.stderr);
  assert.equal(JSON.parse(out.stdout.trim().split('\n').pop()!), { exitCode: 0 });
});

// ---------------------------------------------------------------------------------------
// close()

test('after close(), everything but name and pid throws InvalidStateError; close() again is harmless', async () => {
  const p = track(new Process({ target: () => {}, name: 'Closing' }));
  await finish(p, 'the process to close');
  const pid = p.pid;
  p.close();
  const isClosedError = (e: unknown) => e instanceof InvalidStateError && (e as InvalidStateError).code === 'MP_INVALID_STATE' && /closed/.test((e as Error).message);
  assert.throws(() => p.isAlive(), isClosedError, 'isAlive()');
  assert.throws(() => p.exitCode, isClosedError, 'exitCode');
  assert.throws(() => p.start(), isClosedError, 'start()');
  assert.throws(() => p.terminate(), isClosedError, 'terminate()');
  assert.throws(() => p.kill(), isClosedError, 'kill()');
  try {
    await p.join();
    assert.unreachable('join() after close() resolved');
  } catch (err) {
    assert.ok(isClosedError(err), `join(): ${err}`);
  }
  assert.is(p.name, 'Closing');
  assert.is(p.pid, pid);
  p.close();
  await p[Symbol.asyncDispose]();
  assert.match(String(p), /closed/);
});

// ---------------------------------------------------------------------------------------
// Subclassing

test('a subclass exported from a module: constructor state arrives, run() runs with this an instance of it', async () => {
  const out = file('counter');
  const q = new Queue<string>();
  const c = track(new Counter(out, 5, q));
  await finish(c, 'Counter');
  assert.is(c.exitCode, 0);
  const seen = read(out);
  assert.equal(seen, {
    isCounter: true,
    isProcess: true,
    name: 'Counter-5',
    pid: c.pid,
    ownPid: c.pid,
    alive: true,
    exitCode: null,
    count: 5,
    triple: 15,
    list: [1, 2, 3],
    map: [['k', 7]],
    when: true,
    current: 'Counter-5',
    joinSelf: 'MP_INVALID_STATE',
  });
  assert.is(await withinMs(q.get(), 10_000, 'the item Counter put on the queue field'), 'from Counter-5');
  await q.close();
});

test("a subclass of a subclass (no constructor of its own) runs its own methods; run() around super.run() calls the target", async () => {
  const out = file('loud');
  const loud = track(new LoudCounter(out, 2));
  await finish(loud, 'LoudCounter');
  assert.is(loud.exitCode, 0);
  assert.is(read(out).triple, 60);
  const marked = file('wrapped');
  const w = track(new Wrapped({ target: work.reportFacts as (...args: unknown[]) => void, args: [marked], name: 'Wrapped-1' }));
  await finish(w, 'Wrapped');
  assert.is(w.exitCode, 0, 'the field initializer value arrived');
  assert.is(read(marked).current.name, 'Wrapped-1');
});

test('a subclass its module does not export: the child exits 1 saying to export it', async () => {
  const out = await runScript(new URL('./fixtures/process-parity-hidden.ts', import.meta.url).pathname);
  assert.is(out.code, 0, out.stderr);
  assert.equal(JSON.parse(out.stdout.trim().split('\n').pop()!), { exitCode: 1 });
  assert.match(out.stderr, /has no export named Hidden/);
  assert.match(out.stderr, /export class Hidden extends Process/);
});

test('a subclass that cannot be imported, or whose fields cannot cross: SerializationError at start(), no process', () => {
  const Evil = new Function('Process', 'return class Evil extends Process { run() {} }')(Process) as new () => Process;
  const evil = new Evil();
  assert.throws(() => evil.start(), (e: unknown) => e instanceof SerializationError && /Evil/.test((e as Error).message) && /export/.test((e as Error).message));
  assert.throws(() => new FunctionField().start(), (e: unknown) => e instanceof SerializationError && /field callback/.test((e as Error).message) && /method/.test((e as Error).message));
  assert.throws(() => new InstanceField().start(), (e: unknown) => e instanceof SerializationError && /this\.at\.point/.test((e as Error).message) && /Point/.test((e as Error).message));
  assert.is(evil.pid, undefined);
});

// ---------------------------------------------------------------------------------------
// A child ends when its target has settled and its event loop has drained

test('a ref\'d timer left by the target runs before the child exits', async () => {
  const out = file('timer');
  const p = track(new Process({ target: work.leaveTimer, args: [out] }));
  await finish(p, 'the child with a pending timer');
  assert.is(p.exitCode, 0);
  assert.ok(existsSync(out), 'the timer ran');
});

test('a later process.exitCode is the exit code; a target that throws still drains, then exits 1', async () => {
  const a = track(new Process({ target: work.leaveExitCode }));
  const out = file('thrown');
  const b = track(new Process({ target: work.throwAfterTimer, args: [out] }));
  await Promise.all([finish(a, 'the exitCode child'), finish(b, 'the throwing child')]);
  assert.is(a.exitCode, 3);
  assert.is(b.exitCode, 1);
  assert.ok(existsSync(out), 'the timer ran after the target threw');
});

test("unref'd timers do not keep the child alive; an endless interval does until terminate()", async () => {
  const idle = track(new Process({ target: work.leaveUnrefTimer }));
  await finish(idle, "the child with only unref'd timers");
  assert.is(idle.exitCode, 0);
  const returned = file('interval');
  const busy = track(new Process({ target: work.leaveInterval, args: [returned] }));
  busy.start();
  await waitFor(() => existsSync(returned), 'the interval child to run its target', 15_000);
  await busy.join(500);
  assert.ok(busy.isAlive(), 'an interval keeps it alive after its target returned, as it would a Node script');
  busy.terminate();
  await withinMs(busy.join(), 5000, 'the terminated child');
  assert.is(busy.exitCode, -15);
});

test('what the child puts on a queue after its target returned arrives (flushed at its end)', async () => {
  const q = new Queue<string>();
  const p = track(new Process({ target: work.putLater, args: [q] }));
  p.start();
  assert.is(await withinMs(q.get(), 10_000, 'the late item'), 'put after the target returned');
  await withinMs(p.join(), 10_000, 'the child after its late put');
  assert.is(p.exitCode, 0);
  await q.close();
});

test('no leaks', async () => {
  await disposeAllAndCheckLeaks();
  rmSync(dir, { recursive: true, force: true });
});

test.run();
