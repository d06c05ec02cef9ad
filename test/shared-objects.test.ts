// One table of queue and synchronization behaviours, run against the same kind of object in
// three places, as CPython runs its queue and lock suites against a local, a child-held and
// a Manager-hosted object:
//   local        created in this process (served by this process's host);
//   child-held   created by a child Process (test/fixtures/shared-objects.ts), which sends
//                it back on a queue and keeps running, serving it, while the test uses it;
//   manager      created by a Manager (served by the manager process).
// The behaviours are called from this process; the object answers the same wherever it lives.
import { suite } from 'uvu';
import {
  Barrier,
  BoundedSemaphore,
  CancelledError,
  Condition,
  Empty,
  Event,
  Full,
  InvalidStateError,
  JoinableQueue,
  Lock,
  Manager,
  Process,
  Queue,
  QueueClosed,
  RLock,
  Semaphore,
  tasks,
  TimeoutError,
} from '../src/index.ts';
import { formatAddress } from '../src/remote/link.ts';
import { toHandle } from '../src/remote/handle.ts';
import { localHost } from '../src/remote/host.ts';
import type { Request } from './fixtures/shared-objects.ts';
import { assert, disposeAllAndCheckLeaks, rejection, track, withinMs } from './helpers.ts';

const holder = tasks<typeof import('./fixtures/shared-objects.ts')>(new URL('./fixtures/shared-objects.ts', import.meta.url));
const test = suite('shared-objects');
const T = 20_000;

/** Makes each kind of object in one place. */
interface Maker {
  queue<T>(maxsize?: number): Promise<Queue<T>>;
  joinableQueue<T>(maxsize?: number): Promise<JoinableQueue<T>>;
  lock(): Promise<Lock>;
  rlock(): Promise<RLock>;
  semaphore(value: number): Promise<Semaphore>;
  boundedSemaphore(value: number): Promise<BoundedSemaphore>;
  event(): Promise<Event>;
  /** A Condition on a plain Lock of the same place (two waiters of one process take turns). */
  condition(): Promise<Condition>;
  barrier(parties: number, options?: { timeout?: number }): Promise<Barrier>;
}

/** Nothing crossed yet: give a promise a moment (and a round trip) to settle if it wrongly would. */
const settle = () => new Promise((r) => setTimeout(r, 30));

// ---------------------------------------------------------------------------------------
// The behaviours

const behaviours: Array<[string, (make: Maker) => Promise<void>]> = [
  [
    'Queue: put/get keep FIFO order; values cross by structured clone',
    async (make) => {
      const q = await make.queue<unknown>();
      const items = [1, 'two', { three: [3] }, new Map([[4, new Set([4])]]), -0, null];
      for (const item of items) await q.put(item);
      const got: unknown[] = [];
      for (let i = 0; i < items.length; i++) got.push(await withinMs(q.get(), T, `get #${i}`));
      assert.equal(got, items);
      assert.ok(Object.is(got[4], -0), '-0 stays -0');
    },
  ],
  [
    'Queue(2): qsize/empty/full; putNowait on a full queue is Full, getNowait on an empty one Empty',
    async (make) => {
      const q = await make.queue<number>(2);
      assert.is(q.maxsize, 2);
      assert.ok(await q.empty());
      await q.put(1);
      await q.putNowait(2);
      assert.is(await q.qsize(), 2);
      assert.ok(await q.full());
      await rejection(q.putNowait(3), Full, 'putNowait on a full queue');
      await rejection(q.put(3, { block: false }), Full, 'put(block: false) on a full queue');
      assert.is(await q.getNowait(), 1);
      assert.is(await q.get({ block: false }), 2);
      await rejection(q.getNowait(), Empty, 'getNowait on an empty queue');
      await rejection(q.get({ block: false }), Empty, 'get(block: false) on an empty queue');
      assert.ok(await q.empty());
    },
  ],
  [
    'Queue: a timeout rejects with Full / Empty (Python\'s queue module), a signal that fires during the wait with CancelledError; the queue is unchanged',
    async (make) => {
      const q = await make.queue<number>(1);
      await q.put(1);
      await rejection(q.put(2, { timeout: 30 }), Full, 'put with a timeout on a full queue');
      assert.is(await q.get({ timeout: 1000 }), 1);
      await rejection(q.get({ timeout: 30 }), Empty, 'get with a timeout on an empty queue');
      const ac = new AbortController();
      const blocked = rejection(q.get({ signal: ac.signal }), CancelledError, 'a blocked get whose signal fires', T);
      await settle();
      ac.abort(new Error('stop'));
      assert.is(((await blocked).cause as Error).message, 'stop');
      await q.put(7);
      assert.is(await q.get(), 7, 'the cancelled get took nothing');
    },
  ],
  [
    'JoinableQueue: join() waits for one taskDone() per item; one taskDone() too many is InvalidStateError',
    async (make) => {
      const q = await make.joinableQueue<string>();
      await q.put('a');
      await q.put('b');
      let joined = false;
      const join = q.join().then(() => (joined = true));
      await q.get();
      await q.taskDone();
      await settle();
      assert.not.ok(joined, 'join() resolved with a task unfinished');
      await q.get();
      await q.taskDone();
      await withinMs(join, T, 'join() after the last taskDone()');
      await rejection(q.taskDone(), InvalidStateError, 'one taskDone() too many');
    },
  ],
  [
    'Lock: held, a timed or non-blocking acquire fails; release frees it; releasing it unlocked is InvalidStateError',
    async (make) => {
      const lock = await make.lock();
      assert.is(await lock.acquire(), true);
      assert.ok(await lock.locked());
      assert.is(await lock.acquire({ timeout: 20 }), false, 'not re-entrant');
      assert.is(await lock.acquire({ blocking: false }), false);
      await lock.release();
      assert.not.ok(await lock.locked());
      await rejection(lock.release(), InvalidStateError, 'release of an unlocked Lock');
      assert.is(await lock.withLock(() => 42), 42);
      assert.not.ok(await lock.locked(), 'withLock released it');
    },
  ],
  [
    'RLock: re-entrant for its owner; locked until as many releases; releasing it unheld is InvalidStateError',
    async (make) => {
      const r = await make.rlock();
      assert.is(await r.acquire(), true);
      assert.is(await r.acquire({ timeout: 0 }), true, 're-entrant');
      await r.release();
      assert.ok(await r.locked(), 'still held after one of two releases');
      await r.release();
      assert.not.ok(await r.locked());
      await rejection(r.release(), InvalidStateError, 'release of an RLock not held');
    },
  ],
  [
    'Semaphore(2): two acquire, the third times out; release(n) raises the value; a BoundedSemaphore refuses a release past it',
    async (make) => {
      const s = await make.semaphore(2);
      assert.is(await s.acquire(), true);
      assert.is(await s.acquire(), true);
      assert.is(await s.acquire({ timeout: 20 }), false);
      assert.is(await s.getValue(), 0);
      await s.release(2);
      assert.is(await s.getValue(), 2);
      await s.release();
      assert.is(await s.getValue(), 3, 'a plain Semaphore may exceed its initial value');
      const b = await make.boundedSemaphore(1);
      await b.acquire();
      await b.release();
      const err = await rejection(b.release(), InvalidStateError, 'a BoundedSemaphore released past its value');
      assert.match(err.message, /too many times/);
    },
  ],
  [
    'Event: wait(timeout) is false while clear; set() wakes a waiter; clear()',
    async (make) => {
      const e = await make.event();
      assert.is(await e.isSet(), false);
      assert.is(await e.wait(20), false);
      const waiting = e.wait();
      await settle();
      await e.set();
      assert.is(await withinMs(waiting, T, 'a waiter after set()'), true);
      assert.is(await e.isSet(), true);
      assert.is(await e.wait(0), true);
      await e.clear();
      assert.is(await e.isSet(), false);
    },
  ],
  [
    'Condition: wait and notify need the lock; notify(1) wakes one waiter, notifyAll the rest; wait(timeout) is false without a notify',
    async (make) => {
      const cond = await make.condition();
      await rejection(cond.wait(10), InvalidStateError, 'wait without the lock');
      await rejection(cond.notify(), InvalidStateError, 'notify without the lock');
      let woke = 0;
      const waiter = () =>
        cond.withLock(async () => {
          await cond.wait();
          woke++;
        });
      const a = waiter();
      const b = waiter();
      // Awaited below; a failure meanwhile must fail this test, not the whole run.
      a.catch(() => {});
      b.catch(() => {});
      await settle();
      await cond.withLock(() => cond.notify(1));
      await settle();
      assert.is(woke, 1, 'notify(1) woke one');
      await cond.withLock(() => cond.notifyAll());
      await withinMs(Promise.all([a, b]), T, 'both waiters');
      assert.is(woke, 2);
      assert.is(await cond.withLock(() => cond.wait(10)), false);
    },
  ],
  [
    'Barrier(2): the parties get indexes 0 and 1; abort() breaks it (InvalidStateError); reset(); a timed-out wait breaks it (TimeoutError)',
    async (make) => {
      const barrier = await make.barrier(2);
      assert.is(barrier.parties, 2);
      const indexes = await withinMs(Promise.all([barrier.wait(), barrier.wait()]), T, 'two parties');
      assert.equal(indexes.sort(), [0, 1]);
      const lone = rejection(barrier.wait(), InvalidStateError, 'a wait on an aborted barrier', T);
      await settle();
      assert.is(await barrier.nWaiting(), 1);
      await barrier.abort();
      assert.match((await lone).message, /broken/);
      assert.ok(await barrier.broken());
      await barrier.reset();
      assert.not.ok(await barrier.broken());
      await rejection(barrier.wait(20), TimeoutError, 'a timed-out party');
      assert.ok(await barrier.broken(), 'a timeout breaks the barrier');
      const timed = await make.barrier(2, { timeout: 20 });
      await rejection(timed.wait(), TimeoutError, 'a wait under the barrier-wide timeout');
    },
  ],
  [
    'an already-aborted signal rejects at once with CancelledError and changes nothing, wherever the object lives',
    async (make) => {
      // The rule of every call that can wait (a remote call checks it before sending): the
      // wait is not even started, whether it would have had to wait or not.
      // Every case is tried before failing, so one run lists every divergence.
      const wrong: string[] = [];
      const aborted = () => AbortSignal.abort(new Error('already'));
      const cancelled = async (p: Promise<unknown>, what: string) => {
        try {
          const err = await rejection(p, CancelledError, `${what} with an aborted signal`, 2000);
          if ((err.cause as Error)?.message !== 'already') wrong.push(`${what}: the cause is not the signal's reason`);
        } catch (e) {
          wrong.push((e as Error).message);
        }
      };
      const expect = async (actual: Promise<unknown>, expected: unknown, what: string) => {
        const value = await actual;
        if (value !== expected) wrong.push(`${what}: ${String(value)}, expected ${String(expected)}`);
      };
      const q = await make.queue<number>(1);
      await cancelled(q.put(1, { signal: aborted() }), 'put on a queue with room');
      await expect(q.qsize(), 0, 'qsize() after that put (nothing put)');
      await q.getNowait().catch(() => {}); // whatever a wrong put left
      await q.put(1);
      await cancelled(q.put(2, { signal: aborted() }), 'put on a full queue');
      await cancelled(q.get({ signal: aborted() }), 'get on a queue holding an item');
      await expect(q.qsize(), 1, 'qsize() after that get (nothing taken)');
      await cancelled((await make.queue()).get({ signal: aborted() }), 'get on an empty queue');
      const jq = await make.joinableQueue();
      await jq.put('x');
      await cancelled(jq.join({ signal: aborted() }), 'join with a task unfinished');
      const lock = await make.lock();
      await cancelled(lock.acquire({ signal: aborted() }), 'acquire of a free lock');
      await expect(lock.locked(), false, 'locked() after that acquire (not taken)');
      if (await lock.locked()) await lock.release();
      await lock.acquire();
      await cancelled(lock.acquire({ signal: aborted() }), 'acquire of a held lock');
      await lock.release();
      await cancelled((await make.semaphore(0)).acquire({ signal: aborted() }), 'acquire of a semaphore at 0');
      await cancelled((await make.event()).wait({ signal: aborted() }), 'wait on a clear event');
      const barrier = await make.barrier(2);
      await cancelled(barrier.wait({ signal: aborted() }), 'wait on a barrier');
      await expect(barrier.nWaiting(), 0, 'nWaiting() after that wait');
      assert.equal(wrong, [], 'calls with an already-aborted signal that did not reject at once with CancelledError');
    },
  ],
];

// ---------------------------------------------------------------------------------------
// The places

const local: Maker = {
  queue: async (maxsize) => new Queue(maxsize),
  joinableQueue: async (maxsize) => new JoinableQueue(maxsize),
  lock: async () => new Lock(),
  rlock: async () => new RLock(),
  semaphore: async (value) => new Semaphore(value),
  boundedSemaphore: async (value) => new BoundedSemaphore(value),
  event: async () => new Event(),
  condition: async () => new Condition(new Lock()),
  barrier: async (parties, options) => new Barrier(parties, options),
};

/** The child holding objects, started by the first child-held test. */
let held: { process: Process<any>; requests: Queue<Request>; replies: Queue<unknown>; maker: Maker; last: Promise<unknown> } | null = null;

function childHeld(): Maker {
  if (held) return held.maker;
  const requests = new Queue<Request>();
  const replies = new Queue<unknown>();
  const process = track(new Process({ target: holder.holdObjects, args: [requests, replies], name: 'Holder' }));
  process.start();
  // One request at a time: each reply answers the request before it.
  const ask = (kind: string, args: unknown[]) => {
    const next = held!.last.then(async () => {
      await requests.put({ kind, args });
      return withinMs(replies.get(), T, `the holder child to create a ${kind}`);
    });
    held!.last = next.catch(() => {});
    return next as Promise<never>;
  };
  const maker: Maker = {
    queue: (maxsize) => ask('queue', [maxsize ?? 0]),
    joinableQueue: (maxsize) => ask('joinableQueue', [maxsize ?? 0]),
    lock: () => ask('lock', []),
    rlock: () => ask('rlock', []),
    semaphore: (value) => ask('semaphore', [value]),
    boundedSemaphore: (value) => ask('boundedSemaphore', [value]),
    event: () => ask('event', []),
    condition: () => ask('condition', []),
    barrier: (parties, options) => ask('barrier', [parties, options ?? {}]),
  };
  held = { process, requests, replies, maker, last: Promise.resolve() };
  return maker;
}

let manager: Manager | null = null;

async function managed(): Promise<Maker> {
  const m = (manager ??= track(await withinMs(Manager.start(), T, 'Manager.start()')));
  return {
    queue: (maxsize) => m.queue(maxsize),
    joinableQueue: (maxsize) => m.joinableQueue(maxsize),
    lock: () => m.lock(),
    rlock: () => m.rlock(),
    semaphore: (value) => m.semaphore(value),
    boundedSemaphore: (value) => m.boundedSemaphore(value),
    event: () => m.event(),
    condition: async () => m.condition(await m.lock()),
    barrier: (parties, options) => m.barrier(parties, options),
  };
}

/** Where an object is served from: its handle's address. */
function servedAt(object: { [toHandle](): { address: Parameters<typeof formatAddress>[0] } }): string {
  return formatAddress(object[toHandle]().address);
}

const places: Array<[string, () => Maker | Promise<Maker>]> = [
  ['local', () => local],
  ['child-held', childHeld],
  ['manager', managed],
];

test('each place serves its objects from where it says: this process, the holder child, the manager', async () => {
  const here = formatAddress(localHost().address);
  assert.is(servedAt(await local.queue()), here);
  const inChild = servedAt(await childHeld().queue());
  const inManager = servedAt(await (await managed()).queue());
  assert.is.not(inChild, here, 'a child-held queue is served by the child');
  assert.is(inManager, formatAddress(manager!.address!), 'a manager queue is served by the manager');
});

for (const [place, maker] of places) {
  for (const [name, behaviour] of behaviours) {
    test(`${place}: ${name}`, async () => behaviour(await maker()));
  }
}

test('child-held: the holder ends when asked; its objects then reject with QueueClosed (their host is gone)', async () => {
  const maker = childHeld();
  const q = await maker.queue<number>();
  await q.put(1);
  await held!.requests.put(null);
  assert.match(String(await withinMs(held!.replies.get(), T, 'the holder to say goodbye')), /^held \d+ objects in pid \d+$/);
  await withinMs(held!.process.join(), T, 'the holder child to exit');
  assert.is(held!.process.exitCode, 0);
  await rejection(q.get({ timeout: 5000 }), QueueClosed, 'a get on a queue whose holder exited');
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
