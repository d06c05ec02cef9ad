// Exit paths and queue state across processes (issue 12, points 1-5 and 11): what a process
// did just before it left must not be lost or undone, whichever way it leaves.
//   1  items a resolved put() accepted survive process.exit(), exitCode + return and an
//      uncaught exception, in a Process target, a pool task and a standalone script on TCP,
//      for a queue of this process, of a Manager, and of a BaseManager server; a put on a
//      queue of a dead manager rejects
//   2  an item get() handed to user code is acknowledged before the process can exit
//   3  a daemon's last puts and a pool's initializer are not cut off by a disconnect
//   4  an awaited join()/get()/wait() keeps a program alive; an idle pool and an un-awaited
//      daemon do not
//   5  a Process target keeps the process.exitCode it set
//   11 empty()/qsize()/full() reflect what another process did before a later event
// Standalone programs (test/fixtures/exit-script.ts, exit-await.ts) are started with
// child_process.spawn, so they leave exactly as a user's script would.
import { suite } from 'uvu';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Empty, Full, TimeoutError, WorkerLostError } from '../src/errors.ts';
import { BaseManager, Manager, type ManagerServer } from '../src/manager/index.ts';
import { Pool, Process, tasks } from '../src/process/index.ts';
import { pidAlive } from '../src/process/spawn.ts';
import { Queue } from '../src/queue/queue.ts';
import { Event, Lock } from '../src/queue/sync.ts';
import type { ExitHow } from './fixtures/exit-work.ts';
import { itemsOf } from './fixtures/exit-work.ts';
import { assert, disposeAllAndCheckLeaks, rejection, rememberPid, startProcess, track, waitFor, withinMs } from './helpers.ts';

const work = tasks<typeof import('./fixtures/exit-work.ts')>(new URL('./fixtures/exit-work.ts', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const putScript = fileURLToPath(new URL('./fixtures/exit-script.ts', import.meta.url));
const awaitScript = fileURLToPath(new URL('./fixtures/exit-await.ts', import.meta.url));
const test = suite('exit-paths');

/** Guards a hang of a process start, a join, a pool call. */
const T = 30_000;
/** How long items still missing may take to arrive before they count as lost. */
const DRAIN_MS = 10_000;
const scratch = mkdtempSync(join(tmpdir(), 'mp-exit-paths-'));

function start<A extends unknown[]>(target: (...args: A) => unknown, args: A, options: { daemon?: boolean } = {}): Process<A> {
  const p = startProcess(target, args, options);
  rememberPid(p.pid);
  return p;
}

async function joined(p: Process<any>, what: string): Promise<void> {
  await withinMs(p.join(), T, `${what}: join()`);
}

/**
 * Take items from `q` until every one of `expected` arrived (waiting at most DRAIN_MS in
 * all), then check that each arrived exactly once and nothing else is queued.
 */
async function expectExactly(q: Queue<string>, expected: readonly string[], what: string): Promise<void> {
  const got: string[] = [];
  const deadline = Date.now() + DRAIN_MS;
  try {
    while (got.length < expected.length) got.push(await q.get({ timeout: Math.max(1, deadline - Date.now()) }));
  } catch (err) {
    if (!(err instanceof Empty)) throw err;
  }
  const seen = new Set(got);
  const missing = expected.filter((x) => !seen.has(x));
  const duplicates = got.length - seen.size;
  assert.ok(
    missing.length === 0 && duplicates === 0,
    `${what}: received ${seen.size} of ${expected.length} items within ${DRAIN_MS} ms (${duplicates} duplicates); missing ${missing.length}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
  );
  const extra = await q.getNowait().then(
    (v) => v,
    (err: unknown) => (err instanceof Empty ? null : Promise.reject(err)),
  );
  assert.is(extra, null, `${what}: an item arrived beyond those put: ${extra}`);
}

/** How a promise settled, or 'hung' after `ms`. */
async function settled(promise: Promise<unknown>, ms: number): Promise<{ resolved: true } | { resolved: false; name: string; message: string }> {
  try {
    await withinMs(promise, ms, 'the call');
    return { resolved: true };
  } catch (err) {
    return { resolved: false, name: (err as Error).name, message: (err as Error).message };
  }
}

// ---------------------------------------------------------------------------------------
// Servers shared by the tests of point 1: a Manager, a BaseManager server process on TCP,
// and a getServer() in this process on TCP whose factory hands out queues of this process
// (and the Manager's queues, for the standalone scripts, which reach nothing else).

class QueueServer extends BaseManager {}
QueueServer.register('queueNamed', work.queueNamed);

/** Queues the in-process server hands out by name. */
const served = new Map<string, Queue<string>>();
class LocalServer extends BaseManager {}
LocalServer.register('queueNamed', (name: string) => served.get(name));

let servers: { manager: Manager; remote: QueueServer; local: ManagerServer; localKey: string; remoteKey: string } | null = null;

async function getServers(): Promise<NonNullable<typeof servers>> {
  if (servers) return servers;
  const manager = track(await withinMs(Manager.start(), T, 'Manager.start()'));
  rememberPid(manager.pid);
  const remoteKey = randomBytes(16).toString('hex');
  const remote = track(await withinMs(QueueServer.start({ address: { host: '127.0.0.1', port: 0 }, authkey: remoteKey }), T, 'QueueServer.start() on TCP'));
  rememberPid(remote.pid);
  const localKey = randomBytes(16).toString('hex');
  const local = new LocalServer({ address: { host: '127.0.0.1', port: 0 }, authkey: localKey }).getServer();
  const serving = local.serveForever();
  track({
    async [Symbol.asyncDispose]() {
      await local.close();
      await serving;
    },
  });
  await waitFor(() => typeof local.address !== 'string' && local.address.port > 0, 'the in-process server to listen');
  servers = { manager, remote, local, localKey, remoteKey };
  return servers;
}

/** A client of the in-process TCP server, as another process would be: its queues go over TCP. */
async function viaLocalTcp(name: string, q: Queue<string>): Promise<Queue<string>> {
  const { local, localKey } = await getServers();
  served.set(name, q);
  const client = track(new LocalServer({ address: local.address, authkey: localKey }));
  await withinMs(client.connect(), T, 'connect to the in-process server');
  return client.create<Queue<string>>('queueNamed', name);
}

// ---------------------------------------------------------------------------------------
// Standalone programs

interface Script {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** SIGKILL the program and every child it reported, if still alive. */
  kill(): void;
}

/** Start `node --import tsx <file> ...args` from the repository root, tracked for disposal. */
function runScript(file: string, args: string[]): Script {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  rememberPid(child.pid);
  let out = '';
  let err = '';
  const pids = new Set<number>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const line of out.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const report = JSON.parse(line) as { pid?: number; children?: number[] };
        for (const pid of [report.pid, ...(report.children ?? [])]) {
          if (pid && pid !== child.pid && !pids.has(pid)) {
            pids.add(pid);
            rememberPid(pid);
          }
        }
      } catch {
        // A partial line: read again with the next chunk.
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const pid of pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  };
  track({
    async [Symbol.asyncDispose]() {
      kill();
      await exited;
    },
  });
  return { child, stdout: () => out, stderr: () => err, exited, kill };
}

/** Run exit-script.ts with `config` and wait for it to end. */
async function putFromScript(config: { address: unknown; authkey: string; typeid: string; args: unknown[]; tag: string; n: number; how: string }, what: string): Promise<{ code: number | null; stderr: string }> {
  const script = runScript(putScript, [JSON.stringify(config)]);
  try {
    const { code } = await withinMs(script.exited, T, `${what}: the script to end`);
    return { code, stderr: script.stderr() };
  } finally {
    script.kill();
  }
}

// ---------------------------------------------------------------------------------------
// 1. Items a resolved put() accepted survive the exit that follows

async function processCase(kind: 'local' | 'manager' | 'server', n: number, how: ExitHow): Promise<void> {
  const tag = `process-${kind}-${how}-${n}`;
  let q: Queue<string>;
  let drain: Queue<string>;
  if (kind === 'local') q = drain = new Queue<string>();
  else if (kind === 'manager') q = drain = await (await getServers()).manager.queue<string>();
  else q = drain = await (await getServers()).remote.create<Queue<string>>('queueNamed', tag);
  const p = start(work.putThenLeave, [q, tag, n, how]);
  await joined(p, tag);
  await expectExactly(drain, itemsOf(tag, n), `${tag} (exit code ${p.exitCode})`);
  // The code a target sets itself (exitCode = 3) is point 5's test, not this one's.
  if (how !== 'exitCode') assert.is(p.exitCode, how === 'exit' ? 0 : 1, `${tag}: the exit code`);
}

test('1. Process target, queue of this process: 1 item, then process.exit(0): the item arrives', () => processCase('local', 1, 'exit'));
test('1. Process target, queue of this process: 1000 items, then process.exit(0): all arrive, once', () => processCase('local', 1000, 'exit'));
test('1. Process target, queue of this process: 1 item, then an uncaught exception: the item arrives', () => processCase('local', 1, 'throw'));
test('1. Process target, Manager queue: 1000 items, then process.exitCode = 3 and return: all arrive, once', () => processCase('manager', 1000, 'exitCode'));
test('1. Process target, BaseManager start() queue on TCP: 1000 items, then an uncaught exception: all arrive, once', () => processCase('server', 1000, 'throw'));

async function poolCase(kind: 'local' | 'manager' | 'tcp', n: number, how: 'exit' | 'throw'): Promise<void> {
  const tag = `pool-${kind}-${how}-${n}`;
  const drain = kind === 'manager' ? await (await getServers()).manager.queue<string>() : new Queue<string>();
  const q = kind === 'tcp' ? await viaLocalTcp(tag, drain) : drain;
  const pool = track(new Pool(1));
  await rejection(pool.apply(work.putThenLeave, [q, tag, n, how]), WorkerLostError, `${tag}: the task whose worker left`, T);
  await expectExactly(drain, itemsOf(tag, n), tag);
  await pool.terminate();
}

test('1. pool task, queue of this process: 1000 items, then process.exit(0): WorkerLostError, all arrive, once', () => poolCase('local', 1000, 'exit'));
test('1. pool task, Manager queue: 1 item, then an uncaught exception: WorkerLostError, the item arrives', () => poolCase('manager', 1, 'throw'));
test('1. pool task, getServer() queue on TCP: 1000 items, then an uncaught exception: WorkerLostError, all arrive, once', () => poolCase('tcp', 1000, 'throw'));

async function scriptCase(kind: 'local' | 'manager' | 'server', n: number, how: 'exit' | 'exitCode' | 'reject' | 'timer'): Promise<void> {
  const tag = `script-${kind}-${how}-${n}`;
  const s = await getServers();
  let drain: Queue<string>;
  let config: { address: unknown; authkey: string; typeid: string; args: unknown[] };
  if (kind === 'server') {
    drain = await s.remote.create<Queue<string>>('queueNamed', tag);
    config = { address: s.remote.address, authkey: s.remoteKey, typeid: 'queueNamed', args: [tag] };
  } else {
    drain = kind === 'manager' ? await s.manager.queue<string>() : new Queue<string>();
    served.set(tag, drain);
    config = { address: s.local.address, authkey: s.localKey, typeid: 'queueNamed', args: [tag] };
  }
  const { code, stderr } = await putFromScript({ ...config, tag, n, how }, tag);
  await expectExactly(drain, itemsOf(tag, n), `${tag} (exit code ${code})`);
  assert.is(code, { exit: 0, exitCode: 3, reject: 1, timer: 1 }[how], `${tag}: the script's exit code; stderr: ${stderr}`);
}

test('1. script on TCP, queue of this process (getServer here): 1000 items, then process.exit(0): all arrive, once', () => scriptCase('local', 1000, 'exit'));
test('1. script on TCP, queue of this process (getServer here): 1 item, then a throw in a setTimeout: the item arrives', () => scriptCase('local', 1, 'timer'));
test('1. script on TCP, Manager queue (handed out by getServer here): 1000 items, then process.exitCode = 3 and the end: all arrive, once', () => scriptCase('manager', 1000, 'exitCode'));
test('1. script on TCP, BaseManager start() queue: 1000 items, then a rejected top-level await: all arrive, once', () => scriptCase('server', 1000, 'reject'));

test('1. a put on a queue of a SIGKILLed manager rejects with QueueClosed or ManagerError, never resolves', async () => {
  const m = track(await withinMs(Manager.start(), T, 'Manager.start()'));
  const pid = m.pid!;
  rememberPid(pid);
  const q1 = await m.queue<number>();
  const q2 = await m.queue<number>();
  await q1.put(1);
  await q2.put(1);
  assert.is(await q1.qsize(), 1);
  process.kill(pid, 'SIGKILL');
  await waitFor(() => !pidAlive(pid), 'the SIGKILLed manager to be gone');
  await new Promise((r) => setTimeout(r, 300));
  // Once the death is plain (the process is gone), and once a first call failed on it.
  const afterDeath = await settled(q1.put(2), 10_000);
  const firstCall = await settled(q2.qsize(), 10_000);
  const afterFailure = await settled(q2.put(2), 10_000);
  const ok = (s: Awaited<ReturnType<typeof settled>>) => !s.resolved && (s.name === 'QueueClosed' || s.name === 'ManagerError');
  assert.ok(
    ok(firstCall) && ok(afterDeath) && ok(afterFailure),
    `on a SIGKILLed manager's queues: put() once the process is gone: ${JSON.stringify(afterDeath)}; qsize(): ${JSON.stringify(firstCall)}; put() after that failed call: ${JSON.stringify(afterFailure)}`,
  );
});

// ---------------------------------------------------------------------------------------
// 2. An item handed to user code is acknowledged before the process can exit

async function getOneCase(how: 'exit' | 'throw'): Promise<void> {
  const q = new Queue<number>();
  for (let i = 0; i < 100; i++) await q.put(i);
  const file = join(scratch, `taken-${how}.json`);
  // Items a dead consumer held come back when the host sees its connection close. The
  // consumer also leaves holding `held`, a Lock of this process on the same connection: the
  // host releases a dead holder's lock in the same handling of the closed connection that
  // puts back what the consumer had not acknowledged (src/remote/host.ts, #onClose runs every
  // close hook of the connection at once). So once this process holds the lock, every item
  // that could come back is back, and a 100th item would be queued now.
  const held = new Lock();
  const p = start(work.getOneThenLeave, [q, file, how, held]);
  await joined(p, `the consumer (${how})`);
  assert.ok(await withinMs(held.acquire(), T, `the lock the consumer (${how}) held, released when the host saw its connection close`));
  assert.ok(existsSync(file), `the consumer recorded the item it took (exit code ${p.exitCode})`);
  const taken = JSON.parse(readFileSync(file, 'utf8')) as number;
  const remaining: number[] = [];
  const deadline = Date.now() + DRAIN_MS;
  try {
    while (remaining.length < 99) remaining.push(await q.get({ timeout: Math.max(1, deadline - Date.now()) }));
    // A 100th item, if one came back (see `held` above), is queued by now.
    remaining.push(await q.getNowait());
  } catch (err) {
    if (!(err instanceof Empty)) throw err;
  }
  assert.not.ok(remaining.includes(taken), `the item the consumer took and recorded (${taken}) was delivered again (${remaining.length} items remained)`);
  assert.is(remaining.length, 99, 'items left after the consumer took one');
  assert.equal(new Set(remaining).size, 99, 'no item delivered twice');
}

test('2. get() then process.exit(0): the item taken is not delivered again; 99 remain', () => getOneCase('exit'));
test('2. get() then an uncaught exception: the item taken is not delivered again; 99 remain', () => getOneCase('throw'));

// ---------------------------------------------------------------------------------------
// 3. A disconnect does not cut off a daemon's last puts or a pool's initializer

test('3. a daemon Process that puts 50 items and returns: all 50 arrive, 10 runs (5 at a time)', async () => {
  const q = new Queue<string>();
  const expected: string[] = [];
  for (let round = 0; round < 2; round++) {
    const procs = Array.from({ length: 5 }, (_, i) => {
      const tag = `daemon-${round}-${i}`;
      expected.push(...itemsOf(tag, 50));
      return start(work.putAndReturn, [q, tag, 50], { daemon: true });
    });
    await withinMs(Promise.all(procs.map((p) => p.join())), T, `daemon round ${round}: join()`);
    assert.equal(procs.map((p) => p.exitCode), [0, 0, 0, 0, 0], `daemon round ${round}: exit codes`);
  }
  await expectExactly(q, expected, '10 daemons × 50 items');
});

test('3. new Pool({ processes: 2, initializer }) then close() + join() at once: the initializer ran in both workers', async () => {
  const file = join(scratch, 'initialized.txt');
  const pool = track(new Pool({ processes: 2, initializer: work.slowInit, initargs: [file] }));
  pool.close();
  await withinMs(pool.join(), T, 'pool.join() after close()');
  const pids = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
  assert.is(new Set(pids).size, 2, `workers that ran the initializer: ${pids.length} (${pids.join(', ')})`);
});

// ---------------------------------------------------------------------------------------
// 4. An awaited call keeps the program alive; an idle pool or daemon does not

/** How a run of exit-await.ts ended. */
interface AwaitRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run exit-await.ts `mode` to its end (guarded by T). */
async function runAwaitScript(mode: string): Promise<AwaitRun> {
  const script = runScript(awaitScript, [mode]);
  try {
    const { code } = await withinMs(script.exited, T, `exit-await.ts ${mode}: the script to end`);
    return { code, stdout: script.stdout(), stderr: script.stderr() };
  } finally {
    script.kill();
  }
}

/**
 * The programs of 4a-4c start together, when the first of those tests runs: each spends most
 * of its time starting node and its daemon, then 300 ms asleep, so they overlap well. Each
 * test checks its own. (4d is timed from its own start, so it runs alone.)
 */
let awaitRuns: Map<string, Promise<AwaitRun>> | null = null;

async function awaitCase(mode: 'join' | 'get' | 'event', line: string): Promise<void> {
  if (!awaitRuns) {
    awaitRuns = new Map((['join', 'get', 'event'] as const).map((m) => [m, runAwaitScript(m)]));
    // A failure is reported by the test that awaits it; this keeps it from being "unhandled"
    // while an earlier test is still running.
    for (const run of awaitRuns.values()) run.catch(() => {});
  }
  const { code, stdout, stderr } = await awaitRuns.get(mode)!;
  const lines = stdout.trim().split('\n');
  assert.ok(lines.includes(line), `exit-await.ts ${mode}: expected the line '${line}' (exit code ${code}); stdout: ${JSON.stringify(stdout)}; stderr: ${stderr}`);
  assert.is(code, 0, `exit-await.ts ${mode}: the exit code`);
}

test('4a. a script awaiting join() of a daemon sleeping 300 ms: prints `joined 0`, exits 0', () => awaitCase('join', 'joined 0'));
test('4b. a script awaiting q.get() of an item a daemon puts after 300 ms: prints it, exits 0', () => awaitCase('get', 'got late item'));
test('4c. a script awaiting ev.wait() of an Event a daemon sets after 300 ms: prints `waited true`, exits 0', () => awaitCase('event', 'waited true'));

test('4d. a script with an idle Pool(2), a daemon sleeping 10 min and a used Manager, awaiting nothing: exits 0 by itself, no child survives', async () => {
  const script = runScript(awaitScript, ['idle']);
  try {
    // T is far below the daemon's 10 min: ending within it is ending without waiting for the
    // daemon (the guard used to be 8 s against a 10 s daemon, which a loaded machine's process
    // starts alone could exceed).
    const { code } = await withinMs(script.exited, T, 'exit-await.ts idle to end by itself (its daemon sleeps 10 min, its pool is idle)');
    assert.is(code, 0, `the exit code; stderr: ${script.stderr()}`);
    assert.ok(script.stdout().includes('done'), 'the script ran to its end');
    const report = script.stdout().split('\n').find((l) => l.startsWith('{'));
    const children = report ? (JSON.parse(report) as { children: number[] }).children : [];
    assert.ok(children.length >= 3, `the script had its 2 pool workers and its daemon: ${JSON.stringify(children)}`);
    await waitFor(() => children.every((pid) => !pidAlive(pid)), 'every child of the idle script to be gone', 5000).catch(() => {});
    assert.equal(children.filter(pidAlive), [], 'children of the idle script still alive');
  } finally {
    script.kill();
  }
});

// ---------------------------------------------------------------------------------------
// 5. A Process target keeps the exit code it set

test('5. a target that sets process.exitCode = 7 and returns: exitCode 7 (sync, and after an await)', async () => {
  const sync = start(work.setExitCode, [7]);
  const later = start(work.setExitCodeLater, [7]);
  await joined(sync, 'setExitCode');
  await joined(later, 'setExitCodeLater');
  assert.equal({ sync: sync.exitCode, async: later.exitCode }, { sync: 7, async: 7 }, `exit codes of targets that set process.exitCode = 7: sync ${sync.exitCode}, after an await ${later.exitCode}`);
});

// ---------------------------------------------------------------------------------------
// 11. What one process did is visible to a later observation ordered after it

test("11. CPython's _TestQueue.test_put: after the child took all 6 and set an Event, empty() is true, full() false (5 rounds)", async () => {
  const rounds = 5;
  const qs = Array.from({ length: rounds }, () => new Queue<number>(6));
  const canStart = Array.from({ length: rounds }, () => new Event());
  const canContinue = Array.from({ length: rounds }, () => new Event());
  const p = start(work.takeSixRounds, [qs, canStart, canContinue]);
  const seen: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const q = qs[r]!;
    await q.put(1);
    await q.put(2, { block: true });
    await q.put(3, { timeout: 1000 });
    await q.put(4, { block: false });
    await q.putNowait(5);
    await q.putNowait(6);
    assert.is(await q.empty(), false, `round ${r}: empty() on the filled queue`);
    assert.is(await q.full(), true, `round ${r}: full() on the filled queue`);
    for (const [what, call] of [
      ['putNowait(7)', () => q.putNowait(7)],
      ['put(7, { block: false })', () => q.put(7, { block: false })],
    ] as const) {
      await rejection(call(), Full, `round ${r}: ${what} on a full queue`);
    }
    await rejection(q.put(7, { timeout: 50 }), Full, `round ${r}: put(7, { timeout }) on a full queue`);
    await canStart[r]!.set();
    await withinMs(canContinue[r]!.wait(), T, `round ${r}: parent_can_continue`);
    const state = { qsize: await q.qsize(), empty: await q.empty(), full: await q.full() };
    seen.push(`round ${r}: ${JSON.stringify(state)}`);
    assert.equal(state, { qsize: 0, empty: true, full: false }, `round ${r}: the queue right after the child took all six and set the Event; so far ${seen.join('; ')}`);
  }
  await joined(p, 'the test_put child');
  assert.is(p.exitCode, 0);
});

test('11. a child puts 3 items then sets an Event: after wait(), qsize() is 3 and getNowait() succeeds 3 times (5 rounds)', async () => {
  const rounds = 5;
  const qs = Array.from({ length: rounds }, () => new Queue<number>());
  const go = Array.from({ length: rounds }, () => new Event());
  const done = Array.from({ length: rounds }, () => new Event());
  const p = start(work.putThreeRounds, [qs, go, done]);
  for (let r = 0; r < rounds; r++) {
    const q = qs[r]!;
    await go[r]!.set();
    await withinMs(done[r]!.wait(), T, `round ${r}: the child's Event`);
    const size = await q.qsize();
    const got: unknown[] = [];
    for (let i = 0; i < 3; i++) got.push(await q.getNowait().catch((err: Error) => err.name));
    assert.equal({ size, got }, { size: 3, got: [r * 10, r * 10 + 1, r * 10 + 2] }, `round ${r}: the queue right after the child's Event was set`);
  }
  await joined(p, 'the putting child');
  assert.is(p.exitCode, 0);
});

// ---------------------------------------------------------------------------------------
// 10. A reply racing a disconnect is not an error

test('10. a worker whose reply meets a parent that already disconnected prints nothing and exits 0 (5 runs, 2 at a time)', async () => {
  // Each run is its own program and worker; two run at once (each spends most of its time
  // starting node, one process after the other, so two keep both cores busy).
  const one = async (run: number) => {
    const script = runScript(fileURLToPath(new URL('./fixtures/exit-reply-race.ts', import.meta.url)), []);
    try {
      const { code } = await withinMs(script.exited, T, `run ${run}: the reply-race script`);
      const worker = JSON.parse(script.stdout().trim().split('\n').pop()!) as { code: number | null; signal: string | null };
      assert.is(code, 0, `run ${run}: the script's exit code; stderr: ${script.stderr()}`);
      assert.equal(worker, { ...worker, code: 0, signal: null }, `run ${run}: the worker's exit`);
      assert.is(script.stderr(), '', `run ${run}: nothing on stderr`);
    } finally {
      script.kill();
    }
  };
  const runs = [0, 1, 2, 3, 4];
  const lane = async () => {
    for (let run = runs.shift(); run !== undefined; run = runs.shift()) await one(run);
  };
  await Promise.all([lane(), lane()]);
});

test('no leaks', async () => {
  await disposeAllAndCheckLeaks();
  rmSync(scratch, { recursive: true, force: true });
});

test.run();
