// Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier over real processes.
import { suite } from 'uvu';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Barrier, BoundedSemaphore, CancelledError, Condition, Event, InvalidStateError, Lock, Queue, RLock, Semaphore, TimeoutError, tasks } from '../src/index.ts';
import { assert, disposeAllAndCheckLeaks, rejection, withinMs, startProcess as start } from './helpers.ts';

const work = tasks<typeof import('./fixtures/sync-work.ts')>(new URL('./fixtures/sync-work.ts', import.meta.url));
const test = suite('sync');

const tmp = (name: string) => join(tmpdir(), `mp-sync-${process.pid}-${name}`);


// ---------------------------------------------------------------------------------------
// In one process

test('Lock: acquire/release, timeout and non-blocking give false, release unheld is MP_INVALID_STATE', async () => {
  const lock = new Lock();
  assert.is(await lock.acquire(), true);
  assert.ok(await lock.locked());
  assert.is(await lock.acquire({ timeout: 20 }), false);
  assert.is(await lock.acquire({ blocking: false }), false);
  const ac = new AbortController();
  const waiting = lock.acquire({ signal: ac.signal });
  ac.abort();
  await rejection(waiting, CancelledError, 'acquire() whose signal fired');
  await lock.release();
  assert.not.ok(await lock.locked());
  const err = await rejection(lock.release(), InvalidStateError, 'release() of an unlocked Lock');
  assert.is(err.code, 'MP_INVALID_STATE');
  assert.is(await lock.withLock(() => 42), 42);
  {
    await using _held = await lock.hold();
    assert.ok(await lock.locked());
  }
  assert.not.ok(await lock.locked(), 'released when the `await using` block ended');
});

test('RLock is re-entrant for its owner; Semaphore and BoundedSemaphore count', async () => {
  const r = new RLock();
  await r.acquire();
  assert.is(await r.acquire({ timeout: 0 }), true, 're-entrant');
  await r.release();
  assert.ok(await r.locked());
  await r.release();
  assert.not.ok(await r.locked());
  await rejection(r.release(), InvalidStateError, 'release() of an RLock not held');

  const s = new Semaphore(2);
  assert.is(await s.acquire(), true);
  assert.is(await s.acquire(), true);
  assert.is(await s.acquire({ timeout: 10 }), false);
  assert.is(await s.getValue(), 0);
  await s.release(2);
  assert.is(await s.getValue(), 2);
  await s.release();
  assert.is(await s.getValue(), 3, 'a plain Semaphore may exceed its initial value');

  const b = new BoundedSemaphore(1);
  await b.acquire();
  await b.release();
  const err = await rejection(b.release(), InvalidStateError, 'release() of a BoundedSemaphore past its value');
  assert.match(err.message, /too many times/);
});

test('Condition in one process: notify(1) wakes one waiter, notifyAll the rest; wait needs the lock', async () => {
  const cond = new Condition(new Lock());
  await rejection(cond.wait(10), InvalidStateError, 'wait without the lock');
  await rejection(cond.notify(), InvalidStateError, 'notify without the lock');
  let woke = 0;
  // Two waiters in this process: with a plain Lock each must hold it in turn.
  const waiter = () =>
    cond.withLock(async () => {
      await cond.wait();
      woke++;
    });
  const a = waiter();
  const b = waiter();
  await new Promise((r) => setTimeout(r, 20));
  await cond.withLock(() => cond.notify(1));
  await new Promise((r) => setTimeout(r, 20));
  assert.is(woke, 1);
  await cond.withLock(() => cond.notifyAll());
  await withinMs(Promise.all([a, b]), 2000, 'both waiters');
  assert.is(woke, 2);
  assert.is(await cond.withLock(() => cond.wait(10)), false, 'wait(timeout) without a notify resolves false');
});

test('Event and Barrier in one process', async () => {
  const e = new Event();
  assert.is(await e.isSet(), false);
  assert.is(await e.wait(10), false);
  const waiting = e.wait();
  await e.set();
  assert.is(await waiting, true);
  await e.clear();
  assert.is(await e.isSet(), false);

  let tripped = 0;
  const barrier = new Barrier(3, { action: () => tripped++ });
  assert.is(barrier.parties, 3);
  const indexes = await Promise.all([barrier.wait(), barrier.wait(), barrier.wait()]);
  assert.equal(indexes.sort(), [0, 1, 2]);
  assert.is(tripped, 1);
  const lone = barrier.wait();
  await new Promise((r) => setTimeout(r, 10));
  assert.is(await barrier.nWaiting(), 1);
  await barrier.abort();
  const err = await rejection(lone, InvalidStateError, 'a wait() on an aborted barrier');
  assert.match(err.message, /broken/);
  assert.ok(await barrier.broken());
  await barrier.reset();
  assert.not.ok(await barrier.broken());
  await rejection(barrier.wait(20), TimeoutError, 'a timed-out party');
  assert.ok(await barrier.broken(), 'and the barrier is broken');
});

// ---------------------------------------------------------------------------------------
// Across processes

test('a Lock serializes read-modify-write of a counter file from 4 processes (no lost update)', async () => {
  const file = tmp('counter');
  writeFileSync(file, '0');
  try {
    const lock = new Lock();
    const ps = [0, 1, 2, 3].map(() => start(work.increment, [lock, file, 25]));
    await withinMs(Promise.all(ps.map((p) => p.join())), 60_000, 'the incrementing processes');
    for (const p of ps) assert.is(p.exitCode, 0);
    assert.is(readFileSync(file, 'utf8'), '100');
  } finally {
    rmSync(file, { force: true });
  }
});

test('a lock held by a process that is killed is released (Python would keep it held)', async () => {
  for (const lock of [new Lock(), new RLock()]) {
    const out = new Queue<unknown>();
    const holder = start(work.holdForever, [lock, out]);
    await withinMs(out.get(), 20_000, 'the holder reporting');
    assert.is(await lock.acquire({ timeout: 50 }), false, 'held by the child');
    holder.kill();
    await holder.join();
    assert.is(await withinMs(lock.acquire({ timeout: 10_000 }), 15_000, 'acquire after the holder died'), true);
    await lock.release();
  }
});

test('RLock: another process cannot release it (MP_INVALID_STATE)', async () => {
  const r = new RLock();
  await r.acquire();
  const out = new Queue<unknown>();
  const p = start(work.releaseForeign, [r, out]);
  assert.equal(await withinMs(out.get(), 20_000, 'the report'), ['InvalidStateError', 'MP_INVALID_STATE']);
  await p.join();
  await r.release();
});

test('Semaphore(2) admits at most two of four processes at a time', async () => {
  const file = tmp('sem');
  writeFileSync(file, JSON.stringify({ active: 0, max: 0 }));
  try {
    const sem = new Semaphore(2);
    const lock = new Lock();
    const ps = [0, 1, 2, 3].map(() => start(work.throughSemaphore, [sem, lock, file, 5]));
    await withinMs(Promise.all(ps.map((p) => p.join())), 60_000, 'the semaphore users');
    const state = JSON.parse(readFileSync(file, 'utf8'));
    assert.is(state.active, 0);
    assert.ok(state.max >= 1 && state.max <= 2, `at most 2 inside at once, saw ${state.max}`);
    assert.is(await sem.getValue(), 2);
  } finally {
    rmSync(file, { force: true });
  }
});

test('Event across processes: waiters wake on set(); wait(timeout) resolves false', async () => {
  const e = new Event();
  const out = new Queue<unknown>();
  const ps = [0, 1, 2].map(() => start(work.waitEvent, [e, out]));
  for (let i = 0; i < 3; i++) assert.is(await withinMs(out.get(), 20_000, 'a waiter starting'), 'waiting');
  await e.set();
  for (let i = 0; i < 3; i++) assert.is(await withinMs(out.get(), 20_000, 'a waiter waking'), true);
  await Promise.all(ps.map((p) => p.join()));
  await e.clear();
  const late = start(work.waitEvent, [e, out, 50]);
  assert.is(await out.get(), 'waiting');
  assert.is(await withinMs(out.get(), 20_000, 'the timed wait'), false);
  await late.join();
});

test('Condition across processes: waiters wake on notifyAll() once the predicate holds', async () => {
  const file = tmp('flag');
  rmSync(file, { force: true });
  try {
    const cond = new Condition();
    const out = new Queue<unknown>();
    const ps = [0, 1].map(() => start(work.waitCondition, [cond, file, out]));
    for (let i = 0; i < 2; i++) assert.is(await withinMs(out.get(), 20_000, 'a waiter starting'), 'waiting');
    // A notify before the predicate holds wakes them, and they wait again.
    await cond.withLock(() => cond.notifyAll());
    await cond.withLock(async () => {
      writeFileSync(file, 'go');
      await cond.notifyAll();
    });
    for (let i = 0; i < 2; i++) assert.is(await withinMs(out.get(), 20_000, 'a waiter waking'), 'woke');
    await Promise.all(ps.map((p) => p.join()));
  } finally {
    rmSync(file, { force: true });
  }
});

test('Barrier across processes: each party gets a distinct arrival index', async () => {
  const barrier = new Barrier(4);
  const out = new Queue<unknown>();
  const ps = [0, 1, 2].map(() => start(work.atBarrier, [barrier, out]));
  const mine = await withinMs(barrier.wait(), 20_000, 'the barrier to trip');
  const theirs = [await out.get(), await out.get(), await out.get()] as number[];
  assert.equal([mine, ...theirs].sort(), [0, 1, 2, 3]);
  await Promise.all(ps.map((p) => p.join()));
});

test('a party killed while waiting breaks the barrier instead of hanging the others', async () => {
  const barrier = new Barrier(3);
  const out = new Queue<unknown>();
  const victim = start(work.atBarrier, [barrier, out]);
  await withinMs(
    (async () => {
      while ((await barrier.nWaiting()) < 1) await new Promise((r) => setTimeout(r, 20));
    })(),
    20_000,
    'the victim to arrive',
  );
  victim.kill();
  await victim.join();
  const err = await rejection(barrier.wait(), InvalidStateError, 'wait on a broken barrier', 10_000);
  assert.match(err.message, /broken/);
});

test.after(disposeAllAndCheckLeaks);
test.run();
