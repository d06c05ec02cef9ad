// Workers that die: SIGKILL from outside during a map, process.exit() inside a task, a
// crashing initializer. The call that lost its worker rejects with WorkerLostError, work
// queued behind it still runs, a fresh worker takes over, nothing hangs.
import { suite } from 'uvu';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokenProcessPool, tasks, WorkerLostError } from '../src/index.ts';
import { Pool } from '../src/process/index.ts';
import { pidAlive } from '../src/process/spawn.ts';
import { assert, disposeAllAndCheckLeaks, rejection, rememberPid, track, waitFor, withinMs } from './helpers.ts';

const math = tasks<typeof import('./fixtures/math.ts')>(new URL('./fixtures/math.ts', import.meta.url));
const crash = tasks<typeof import('./fixtures/crash.ts')>(new URL('./fixtures/crash.ts', import.meta.url));
const sleepy = tasks<typeof import('./fixtures/sleep.ts')>(new URL('./fixtures/sleep.ts', import.meta.url));
const table = tasks<typeof import('./fixtures/init-table.ts')>(new URL('./fixtures/init-table.ts', import.meta.url));
const trace = tasks<typeof import('./fixtures/trace.ts')>(new URL('./fixtures/trace.ts', import.meta.url));
const test = suite('pool-crash');

const T = 20_000;

/**
 * The last two crash tests share one Pool(2) (each pool made is two process starts; each
 * crash has its worker replaced either way). The first test leaves a 30 s task running in a
 * worker, so it keeps a pool of its own.
 */
let sharedPool: Pool | null = null;
const shared = (): Pool => (sharedPool ??= track(new Pool(2)));

test('a worker SIGKILLed during a map: that map rejects with WorkerLostError, the next map succeeds', async () => {
  const pool = track(new Pool(2));
  const pids = [...new Set(await pool.map(math.pid, [1, 2, 3, 4], { chunksize: 1 }))];
  pids.forEach(rememberPid);
  assert.is(pids.length, 2, 'both workers answered');
  // One long task per worker; each is the running batch of its worker.
  const doomed = pool.starmap(sleepy.sleep, [
    [30_000, 'a'],
    [30_000, 'b'],
  ], { chunksize: 1 });
  const outcome = doomed.then(
    () => null,
    (e: unknown) => e,
  );
  process.kill(pids[0]!, 'SIGKILL');
  const err = await withinMs(outcome, T, 'the map whose worker was killed');
  assert.instance(err, WorkerLostError);
  const lost = err as WorkerLostError;
  assert.is(lost.signal, 'SIGKILL');
  assert.is(lost.exitCode, -9, 'minus the signal number, as Process.exitCode');
  assert.is(lost.pid, pids[0]);
  assert.match(lost.message, /SIGKILL/);
  // The other worker still runs its (now unwanted) task; the pool serves the next map anyway.
  assert.equal(await withinMs(pool.map(math.square, [1, 2, 3, 4, 5, 6]), T, 'the next map'), [1, 4, 9, 16, 25, 36]);
  const after = await pool.map(math.pid, [1, 2, 3, 4], { chunksize: 1 });
  after.forEach(rememberPid);
  assert.not.ok(after.includes(pids[0]!), 'the killed worker was replaced');
  await waitFor(() => !pidAlive(pids[0]!), 'the killed worker to be reaped');
});

test('process.exit() in a task: WorkerLostError with the exit code; work queued behind it still runs', async () => {
  const pool = track(new Pool(1));
  const before = await pool.apply(math.pid);
  rememberPid(before);
  const results = Promise.allSettled([pool.apply(crash.exitNow, [3]), pool.apply(math.square, [4]), pool.apply(math.square, [5])]);
  const [a, b, c] = await withinMs(results, T, 'calls around a crashing task');
  assert.is(a.status, 'rejected');
  const err = (a as PromiseRejectedResult).reason as WorkerLostError;
  assert.instance(err, WorkerLostError);
  assert.is(err.exitCode, 3);
  assert.is(err.signal, null);
  assert.is(err.pid, before);
  assert.equal(b, { status: 'fulfilled', value: 16 });
  assert.equal(c, { status: 'fulfilled', value: 25 });
  const after = await pool.apply(math.pid);
  rememberPid(after);
  assert.is.not(after, before);
});

test('a worker dies with calls sent on behind the fatal one: that call alone fails, every other runs exactly once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'multiproc-crash-'));
  try {
    for (const processes of [1, 2]) {
      const pool = track(new Pool(processes));
      (await pool.map(math.pid, [1, 2, 3, 4], { chunksize: 1 })).forEach(rememberPid);
      const file = join(dir, `ran-${processes}`);
      writeFileSync(file, '');
      // More calls queued than workers: calls are sent on into busy workers, behind the
      // fatal one too. The calls before it may have run on the worker that dies.
      const before = [0, 1, 2, 3].map((i) => pool.apply(trace.logAfter, [file, i, 20]));
      const fatal = pool.apply(crash.exitAfter, [300, 3]);
      const after = Array.from({ length: 12 }, (_, i) => pool.apply(trace.logAfter, [file, 4 + i, 20]));
      const err = await rejection(fatal, WorkerLostError, 'the fatal call');
      assert.is(err.exitCode, 3);
      const all = Array.from({ length: 16 }, (_, i) => i);
      assert.equal(await withinMs(Promise.all([...before, ...after]), T, `the other calls (${processes} workers)`), all);
      const ran = readFileSync(file, 'utf8').trim().split('\n').map(Number);
      assert.equal(ran.sort((a, b) => a - b), all, 'every other call ran exactly once');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a crash in the middle of a chunked map rejects the map, not the pool', async () => {
  const pool = shared();
  const xs = Array.from({ length: 40 }, (_, i) => [i, 17] as [number, number]);
  const err = await rejection(pool.starmap(crash.squareOrCrash, xs, { chunksize: 5 }), WorkerLostError, 'crashing map', T);
  assert.is(err.exitCode, 3);
  assert.match(err.message, /batch of 5 items \(from item 15\)/);
  assert.equal(await pool.starmap(crash.squareOrCrash, [[2, -1]]), [4]);
});

test('a task that kills its own worker with a signal, repeatedly: each call fails alone', async () => {
  const pool = shared();
  for (let i = 0; i < 3; i++) {
    const err = await rejection(pool.apply(crash.killSelf, ['SIGKILL']), WorkerLostError, `self-kill #${i}`, T);
    assert.is(err.signal, 'SIGKILL');
  }
  assert.equal(await pool.map(math.square, [3, 4]), [9, 16]);
});

test('an initializer that exits the worker breaks the pool instead of looping', async () => {
  const pool = track(new Pool({ processes: 2, initializer: table.exitingInit }));
  const err = await rejection(pool.apply(math.square, [2]), BrokenProcessPool, 'apply on a pool whose workers cannot start', T);
  assert.match(err.message, /exited with exit code 5 before it was ready/);
  await rejection(pool.map(math.square, [1]), BrokenProcessPool, 'map on the broken pool');
  await withinMs(pool.terminate(), T, 'terminate');
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
