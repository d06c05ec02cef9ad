// Cancellation and time limits: AbortSignal and timeout stop running work for real (the
// worker is killed and replaced), drop queued work, and leave the pool serving.
import { suite } from 'uvu';
import { getEventListeners } from 'node:events';
import { CancelledError, tasks, TimeoutError } from '../src/index.ts';
import { Pool } from '../src/process/index.ts';
import { assert, disposeAllAndCheckLeaks, rejection, rememberPid, track, waitFor, withinMs } from './helpers.ts';
import { pidAlive } from '../src/process/spawn.ts';

const math = tasks<typeof import('./fixtures/math.ts')>(new URL('./fixtures/math.ts', import.meta.url));
const sleepy = tasks<typeof import('./fixtures/sleep.ts')>(new URL('./fixtures/sleep.ts', import.meta.url));
const trace = tasks<typeof import('./fixtures/trace.ts')>(new URL('./fixtures/trace.ts', import.meta.url));
const test = suite('cancel');

const T = 20_000;

/**
 * The tests that kill no worker and do not terminate share one Pool(1): each pool made is a
 * process start, most of what such a test costs.
 */
let sharedPool: Pool | null = null;
const shared = (): Pool => (sharedPool ??= track(new Pool(1)));

test('an AbortSignal stops a task that loops forever; the pool keeps serving', async () => {
  const pool = track(new Pool(1));
  const before = await pool.apply(math.pid);
  rememberPid(before);
  const ac = new AbortController();
  const spinning = pool.apply(sleepy.spinForever, [], { signal: ac.signal });
  const outcome = rejection(spinning, CancelledError, 'the aborted spin', T);
  // Make sure the loop is running (the worker is busy) before aborting.
  const probe = pool.applyAsync(math.square, [2]);
  await new Promise((r) => setTimeout(r, 100));
  assert.not.ok(probe.ready(), 'the worker is stuck in the loop');
  ac.abort(new Error('enough'));
  const err = await outcome;
  assert.is((err.cause as Error).message, 'enough');
  // The call queued behind the loop runs on the fresh worker.
  assert.is(await withinMs(probe.get(), T, 'work queued behind the loop'), 4);
  const after = await pool.apply(math.pid);
  rememberPid(after);
  assert.is.not(after, before, 'the looping worker was replaced');
  await waitFor(() => !pidAlive(before), 'the looping worker to die');
});

test('timeout stops a running task with TimeoutError; map and apply alike', async () => {
  const pool = track(new Pool(2));
  const err = await rejection(pool.apply(sleepy.spinForever, [], { timeout: 200 }), TimeoutError, 'apply with timeout', T);
  assert.is(err.timeout, 200);
  await rejection(pool.map(sleepy.spinForever as (x: number) => never, [1, 2, 3], { timeout: 200 }), TimeoutError, 'map with timeout', T);
  assert.equal(await withinMs(pool.map(math.square, [1, 2, 3]), T, 'map after timeouts'), [1, 4, 9]);
  // A call that finishes in time is unaffected by its timeout.
  assert.is(await pool.apply(math.square, [3], { timeout: 10_000 }), 9);
});

test('an already-aborted signal rejects at once and runs nothing', async () => {
  const pool = shared();
  const reason = new Error('too late');
  const err = await rejection(pool.apply(math.square, [2], { signal: AbortSignal.abort(reason) }), CancelledError, 'apply with an aborted signal');
  assert.is(err.cause, reason);
  await rejection(pool.map(math.square, [2], { signal: AbortSignal.abort() }), CancelledError, 'map with an aborted signal');
});

test('cancelling a queued call drops it without disturbing the running one', async () => {
  const pool = shared();
  const pid = await pool.apply(math.pid);
  rememberPid(pid);
  const running = pool.apply(sleepy.sleep, [300, 'kept']);
  await new Promise((r) => setTimeout(r, 50));
  const ac = new AbortController();
  const queued = pool.apply(math.square, [5], { signal: ac.signal });
  const outcome = rejection(queued, CancelledError, 'the cancelled queued call', T);
  ac.abort();
  await outcome;
  assert.is(await withinMs(running, T, 'the running call'), 'kept');
  assert.is(await pool.apply(math.pid), pid, 'no worker was killed');
});

test('an AbortSignal on a call sent on into a busy worker drops it there: it never runs, no worker is killed', async () => {
  const pool = shared();
  const pid = await pool.apply(math.pid);
  rememberPid(pid);
  // A long task that lets the worker's event loop turn (sleep) and one that does not (spin).
  for (const long of [sleepy.sleep, sleepy.spinFor] as ((ms: number, value: string) => unknown)[]) {
    const running = pool.apply(long, [800, 'long']);
    const ac = new AbortController();
    const doomed = pool.apply(trace.mark, ['cancelled'], { signal: ac.signal });
    // More calls queued than workers: the doomed one is sent on into the busy worker.
    const kept = [pool.apply(trace.mark, ['kept 1']), pool.apply(trace.mark, ['kept 2'])];
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await rejection(doomed, CancelledError, 'the aborted call');
    assert.is(await withinMs(running, T, 'the long task'), 'long');
    assert.equal(await withinMs(Promise.all(kept), T, 'the calls behind it'), ['kept 1', 'kept 2']);
  }
  assert.is(await pool.apply(math.pid), pid, 'no worker was killed');
  assert.equal(await pool.apply(trace.marks), ['kept 1', 'kept 2', 'kept 1', 'kept 2'], 'the aborted call never ran');
});

test('terminate rejects running and queued work with CancelledError', async () => {
  const pool = track(new Pool(1));
  const settled = Promise.allSettled([pool.apply(sleepy.spinForever), pool.apply(math.square, [1]), pool.map(math.square, [1, 2])]);
  await new Promise((r) => setTimeout(r, 50));
  await withinMs(pool.terminate(), T, 'terminate with a spinning worker');
  const results = await settled;
  for (const r of results) {
    assert.is(r.status, 'rejected');
    assert.instance((r as PromiseRejectedResult).reason, CancelledError);
  }
});

test('the abort listener is removed once a call settles', async () => {
  const pool = shared();
  const ac = new AbortController();
  for (let i = 0; i < 20; i++) await pool.apply(math.square, [i], { signal: ac.signal });
  await pool.map(math.square, [1, 2, 3], { signal: ac.signal, timeout: 10_000 });
  for await (const _ of pool.imap(math.square, [1, 2], { signal: ac.signal })) void _;
  assert.is(getEventListeners(ac.signal, 'abort').length, 0, 'no abort listener left behind');
  // Aborting now affects nothing: no call is pending, and no worker is killed.
  const pid = await pool.apply(math.pid);
  ac.abort();
  assert.is(await pool.apply(math.pid), pid);
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
