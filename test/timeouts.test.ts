// Timeouts of every waiting API, over real processes, as one table: an infinite or huge
// timeout (Node clamps a timer delay above 2**31-1 ms to 1 ms) must not fire early and the
// wait must still complete when the other side acts; 0 and -1 are an immediate timeout; NaN
// is a RangeError and a non-number a TypeError, both with code MP_INVALID_ARG. Each API is
// run on a locally hosted object and, where it applies, on one hosted by a manager or by a
// child process (the timeout then crosses the wire and the host applies it).
import { suite } from 'uvu';
import {
  asCompleted,
  Barrier,
  Empty,
  Condition,
  Event,
  Full,
  Future,
  Lock,
  Manager,
  Pipe,
  Pool,
  Process,
  ProcessPoolExecutor,
  Queue,
  Semaphore,
  tasks,
  TimeoutError,
  wait,
  type Connection,
} from '../src/index.ts';
import { checkTimeout, setLongTimeout } from '../src/options.ts';
import { assert, collect, disposeAllAndCheckLeaks, rejection, track, withinMs } from './helpers.ts';

const work = tasks<typeof import('./fixtures/timeouts-work.ts')>(new URL('./fixtures/timeouts-work.ts', import.meta.url));
const test = suite('timeouts');

const HUGE = [Infinity, 2 ** 31, 2 ** 40];
const IMMEDIATE = [0, -1];
/** How long a huge timeout must keep a wait pending. The old code fired after ~1 ms. */
const PENDING_MS = 150;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Every process warning of the file: a timer Node clamped shows up as TimeoutOverflowWarning.
const warnings: Error[] = [];
process.on('warning', (w) => warnings.push(w));
const overflowWarnings = () => warnings.filter((w) => w.name === 'TimeoutOverflowWarning');

/** One situation in which the wait under test cannot finish until `act()`. */
interface Case {
  /** Start the wait under test with this timeout. */
  wait(timeout: unknown): Promise<unknown>;
  /** The other side acts: the wait can now complete normally. */
  act(): Promise<unknown>;
  /** Let go of what the case holds once its wait ended otherwise (timed out, refused). @default act */
  cleanup?(): Promise<unknown>;
}

type Expect = { rejects: typeof TimeoutError | typeof Empty | typeof Full } | { resolves: (value: unknown) => boolean };

interface Row {
  name: string;
  /** A fresh case. */
  make(): Promise<Case>;
  /** A normal completion, after `act()`. */
  done: (value: unknown) => boolean;
  /** The result of timeout 0 or -1 while the other side has not acted. */
  expired: Expect;
}

let executor: ProcessPoolExecutor;
let pool: Pool;
let manager: Manager;
/** Pipes hosted by a child process, handed out one pair per case. */
let childPipes: Queue<[Connection<string>, Connection<string>]>;
let stopPipeHost: Event;

const timedOut: Expect = { rejects: TimeoutError };
/** A queue's get/put whose timeout passes: Python's queue.Empty / queue.Full. */
const emptied: Expect = { rejects: Empty };
const filled: Expect = { rejects: Full };
const resolvesTo = (expected: unknown): Expect => ({ resolves: (v) => Object.is(v, expected) });

/** An executor future that finishes with 'done' once its gate is set. */
function gatedFuture(): { future: Future<string>; gate: Event } {
  const gate = new Event();
  return { future: executor.submit(work.gated, gate), gate };
}

const futureRows: Row[] = [
  {
    name: 'Future.result',
    async make() {
      const { future, gate } = gatedFuture();
      return { wait: (t) => future.result(t as number), act: () => gate.set() };
    },
    done: (v) => v === 'done',
    expired: timedOut,
  },
  {
    name: 'Future.exception',
    async make() {
      const { future, gate } = gatedFuture();
      return { wait: (t) => future.exception(t as number), act: () => gate.set() };
    },
    done: (v) => v === undefined,
    expired: timedOut,
  },
  {
    name: 'wait(fs, { timeout })',
    async make() {
      const { future, gate } = gatedFuture();
      return { wait: (t) => wait([future], { timeout: t as number }).then(({ done, notDone }) => `${done.size} done, ${notDone.size} not done`), act: () => gate.set() };
    },
    done: (v) => v === '1 done, 0 not done',
    expired: resolvesTo('0 done, 1 not done'),
  },
  {
    name: 'asCompleted(fs, { timeout })',
    async make() {
      const { future, gate } = gatedFuture();
      return {
        wait: async (t) => {
          const yielded = [];
          for await (const f of asCompleted([future], { timeout: t as number })) yielded.push(await f.result());
          return yielded.join();
        },
        act: () => gate.set(),
      };
    },
    done: (v) => v === 'done',
    expired: timedOut,
  },
];

/** A pool call that finishes with 'done' once its gate is set. */
const poolRows: Row[] = [
  {
    name: 'AsyncResult.get',
    async make() {
      const gate = new Event();
      const r = pool.applyAsync(work.gated, [gate]);
      return { wait: (t) => r.get(t as number), act: () => gate.set() };
    },
    done: (v) => v === 'done',
    expired: timedOut,
  },
  {
    name: 'AsyncResult.wait',
    async make() {
      const gate = new Event();
      const r = pool.applyAsync(work.gated, [gate]);
      return { wait: (t) => r.wait(t as number).then(() => r.ready()), act: () => gate.set() };
    },
    done: (v) => v === true,
    expired: resolvesTo(false),
  },
  {
    name: 'pool.apply { timeout }',
    async make() {
      const gate = new Event();
      return { wait: (t) => pool.apply(work.gated, [gate], { timeout: t as number }), act: () => gate.set() };
    },
    done: (v) => v === 'done',
    expired: timedOut,
  },
  {
    name: 'pool.map { timeout }',
    async make() {
      const gate = new Event();
      return { wait: (t) => pool.map(work.gated, [gate], { timeout: t as number }).then((r) => r.join()), act: () => gate.set() };
    },
    done: (v) => v === 'done',
    expired: timedOut,
  },
  {
    name: 'pool.imap { timeout }',
    async make() {
      const gate = new Event();
      return { wait: (t) => collect(pool.imap(work.gated, [gate], { timeout: t as number }), 'pool.imap', 60_000).then((r) => r.join()), act: () => gate.set() };
    },
    done: (v) => v === 'done',
    expired: timedOut,
  },
  {
    name: 'executor.map { timeout }',
    async make() {
      const gate = new Event();
      return { wait: (t) => collect(executor.map(work.gated, [gate], { timeout: t as number }), 'executor.map', 60_000).then((r) => r.join()), act: () => gate.set() };
    },
    done: (v) => v === 'done',
    expired: timedOut,
  },
  {
    name: 'Process.join',
    async make() {
      const gate = new Event();
      const p = track(new Process({ target: work.gated, args: [gate] }));
      p.start();
      // Resolves with the exit code: null means join() returned while the process runs.
      return { wait: (t) => p.join(t as number).then(() => p.exitCode), act: () => gate.set() };
    },
    done: (v) => v === 0,
    expired: resolvesTo(null),
  },
];

function queueRows(where: string, queue: (maxsize: number) => Promise<Queue<string>>): Row[] {
  return [
    {
      name: `queue.get (${where})`,
      async make() {
        const q = await queue(0);
        return { wait: (t) => q.get({ timeout: t as number }), act: () => q.put('item') };
      },
      done: (v) => v === 'item',
      expired: emptied,
    },
    {
      name: `queue.put on a full queue (${where})`,
      async make() {
        const q = await queue(1);
        await q.put('first');
        return { wait: (t) => q.put('second', { timeout: t as number }), act: () => q.get() };
      },
      done: (v) => v === undefined,
      expired: filled,
    },
  ];
}

interface SyncMakers {
  lock: () => Promise<Lock>;
  semaphore: (value: number) => Promise<Semaphore>;
  condition: () => Promise<Condition>;
  event: () => Promise<Event>;
  barrier: (parties: number) => Promise<Barrier>;
}

function syncRows(where: string, make: SyncMakers): Row[] {
  return [
    {
      name: `Lock.acquire (${where})`,
      async make() {
        const lock = await make.lock();
        await lock.acquire();
        return { wait: (t) => lock.acquire({ timeout: t as number }), act: () => lock.release() };
      },
      done: (v) => v === true,
      expired: resolvesTo(false),
    },
    {
      name: `Semaphore.acquire (${where})`,
      async make() {
        const sem = await make.semaphore(0);
        return { wait: (t) => sem.acquire({ timeout: t as number }), act: () => sem.release() };
      },
      done: (v) => v === true,
      expired: resolvesTo(false),
    },
    {
      name: `Condition.wait (${where})`,
      async make() {
        const cond = await make.condition();
        await cond.acquire();
        return {
          wait: (t) => cond.wait(t as number),
          act: async () => {
            await cond.acquire();
            await cond.notify();
            await cond.release();
          },
        };
      },
      done: (v) => v === true,
      expired: resolvesTo(false),
    },
    {
      name: `Event.wait (${where})`,
      async make() {
        const ev = await make.event();
        return { wait: (t) => ev.wait(t as number), act: () => ev.set() };
      },
      done: (v) => v === true,
      expired: resolvesTo(false),
    },
    {
      name: `Barrier.wait (${where})`,
      async make() {
        const barrier = await make.barrier(2);
        return { wait: (t) => barrier.wait(t as number), act: () => barrier.wait(), cleanup: () => barrier.abort() };
      },
      // The waiter under test arrived first.
      done: (v) => v === 0,
      expired: timedOut,
    },
  ];
}

function pipeRows(where: string, pipe: () => Promise<[Connection<string>, Connection<string>]>): Row[] {
  return [
    {
      name: `Connection.recv (${where})`,
      async make() {
        const [a, b] = await pipe();
        return { wait: (t) => b.recv({ timeout: t as number }), act: () => a.send('hello') };
      },
      done: (v) => v === 'hello',
      expired: timedOut,
    },
    {
      name: `Connection.poll (${where})`,
      async make() {
        const [a, b] = await pipe();
        return { wait: (t) => b.poll(t as number), act: () => a.send('hello') };
      },
      done: (v) => v === true,
      expired: resolvesTo(false),
    },
  ];
}

let rows: Row[] = [];

function describe(t: unknown): string {
  return typeof t === 'number' ? (Number.isInteger(Math.log2(t)) && t > 1 ? `2**${Math.log2(t)}` : String(t)) : JSON.stringify(t);
}

/** Settles with a description of the outcome, so that many waits can be inspected at once. */
function watch(p: Promise<unknown>): { settled: boolean; outcome: Promise<{ ok: boolean; value: any }> } {
  const w = {
    settled: false,
    outcome: p.then(
      (value) => ({ ok: true, value }),
      (value) => ({ ok: false, value }),
    ),
  };
  void w.outcome.then(() => (w.settled = true));
  return w;
}

function isInvalid(e: unknown, Class: typeof RangeError | typeof TypeError): boolean {
  return e instanceof Class && (e as { code?: string }).code === 'MP_INVALID_ARG';
}

function outcomeText(o: { ok: boolean; value: any }): string {
  return o.ok ? `resolved ${JSON.stringify(o.value)}` : `rejected ${o.value?.name}: ${o.value?.message}`;
}

test.before(async () => {
  executor = track(new ProcessPoolExecutor({ maxWorkers: 2 }));
  pool = track(new Pool(2));
  manager = track(await withinMs(Manager.start(), 30_000, 'Manager.start()'));
  childPipes = new Queue();
  stopPipeHost = new Event();
  const host = track(new Process({ target: work.hostPipes, args: [24, childPipes, stopPipeHost] }));
  host.start();
  const m = manager;
  rows = [
    ...futureRows,
    ...poolRows,
    ...queueRows('local', async (maxsize) => new Queue<string>(maxsize)),
    ...queueRows('manager', (maxsize) => m.queue<string>(maxsize)),
    ...syncRows('local', {
      lock: async () => new Lock(),
      semaphore: async (v) => new Semaphore(v),
      condition: async () => new Condition(),
      event: async () => new Event(),
      barrier: async (n) => new Barrier(n),
    }),
    ...syncRows('manager', {
      lock: () => m.lock(),
      semaphore: (v) => m.semaphore(v),
      condition: () => m.condition(),
      event: () => m.event(),
      barrier: (n) => m.barrier(n),
    }),
    ...pipeRows('local', async () => Pipe<string>()),
    ...pipeRows('hosted by a child', () => withinMs(childPipes.get(), 30_000, 'a pipe from the child host')),
  ];
});

test('checkTimeout: undefined/null/Infinity no limit, negative 0, NaN RangeError, non-number TypeError', () => {
  for (const t of [undefined, null, Infinity]) assert.is(checkTimeout(t, 'x'), undefined, String(t));
  assert.is(checkTimeout(2 ** 40, 'x'), 2 ** 40);
  assert.is(checkTimeout(0, 'x'), 0);
  assert.is(checkTimeout(-1, 'x'), 0);
  assert.is(checkTimeout(-Infinity, 'x'), 0);
  assert.throws(() => checkTimeout(NaN, 'x'), (e: unknown) => isInvalid(e, RangeError));
  for (const bad of ['100', {}, 10n, true, Symbol('t')]) {
    assert.throws(() => checkTimeout(bad, 'x'), (e: unknown) => isInvalid(e, TypeError), String(typeof bad));
  }
});

test('setLongTimeout: a huge delay neither fires early nor warns; clear() stops it', async () => {
  let fired = 0;
  const timers = [2 ** 31, 2 ** 40, Infinity].map((ms) => setLongTimeout(() => fired++, ms));
  const soon = setLongTimeout(() => fired++, -5);
  await sleep(50);
  assert.is(fired, 1, 'only the negative delay fired');
  for (const t of timers) t.clear();
  soon.clear();
  assert.equal(overflowWarnings(), []);
});

test('Infinity, 2**31 and 2**40 do not fire early; the wait completes when the other side acts', async () => {
  const started = await Promise.all(
    rows.flatMap((row) =>
      HUGE.map(async (t) => {
        const c = await row.make();
        return { row, t, c, w: watch(c.wait(t)) };
      }),
    ),
  );
  await sleep(PENDING_MS);
  const early: string[] = [];
  for (const s of started) if (s.w.settled) early.push(`${s.row.name} with ${describe(s.t)}: ${outcomeText(await s.w.outcome)}`);
  // Act even for the waits that ended early, so that a failure leaves nothing blocked.
  const wrong: string[] = [];
  await Promise.all(
    started.map((s) =>
      (s.w.settled ? (s.c.cleanup ?? s.c.act)() : s.c.act()).catch((err) => wrong.push(`${s.row.name} with ${describe(s.t)}: the other side failed: ${err}`)),
    ),
  );
  await Promise.all(
    started.map(async (s) => {
      const o = await withinMs(s.w.outcome, 60_000, `${s.row.name} with ${describe(s.t)} after the other side acted`);
      if (!o.ok || !s.row.done(o.value)) wrong.push(`${s.row.name} with ${describe(s.t)}: ${outcomeText(o)}`);
    }),
  );
  assert.equal(early, [], 'waits that ended before the other side acted');
  assert.equal(wrong, [], 'waits that did not complete normally');
  assert.equal(overflowWarnings().map((w) => w.message), [], 'TimeoutOverflowWarning');
});

test('0 and -1 are an immediate timeout', async () => {
  const started = await Promise.all(
    rows.flatMap((row) =>
      IMMEDIATE.map(async (t) => {
        const c = await row.make();
        return { row, t, c, w: watch(c.wait(t)) };
      }),
    ),
  );
  const wrong: string[] = [];
  await Promise.all(
    started.map(async (s) => {
      const o = await withinMs(s.w.outcome, 30_000, `${s.row.name} with timeout ${s.t}`);
      const ok = 'rejects' in s.row.expired ? !o.ok && o.value instanceof s.row.expired.rejects : o.ok && s.row.expired.resolves(o.value);
      if (!ok) wrong.push(`${s.row.name} with ${s.t}: ${outcomeText(o)}`);
    }),
  );
  // Let whatever is still waiting on the other side (tasks, processes) finish.
  await Promise.all(started.map((s) => (s.c.cleanup ?? s.c.act)().catch((err) => wrong.push(`${s.row.name} with ${s.t}: cleanup failed: ${err}`))));
  assert.equal(wrong, [], 'waits that did not time out at once as expected');
});

test('NaN is a RangeError and a string a TypeError, both MP_INVALID_ARG', async () => {
  const cases = await Promise.all(rows.map(async (row) => ({ row, c: await row.make() })));
  const wrong: string[] = [];
  await Promise.all(
    cases.map(async ({ row, c }) => {
      for (const [t, Class] of [
        [NaN, RangeError],
        ['100', TypeError],
      ] as const) {
        // Every row is checked before failing: a wrong outcome (another class, a value, a
        // hang) is collected with what rejection() says about it.
        try {
          const err = await rejection(c.wait(t), Class, `${row.name} with ${describe(t)}`);
          if (!isInvalid(err, Class)) wrong.push(`${row.name} with ${describe(t)}: ${err.name} without code MP_INVALID_ARG: ${err.message}`);
        } catch (e) {
          wrong.push((e as Error).message);
        }
      }
      await (c.cleanup ?? c.act)().catch((err) => wrong.push(`${row.name}: cleanup failed: ${err}`));
    }),
  );
  assert.equal(wrong, [], 'invalid timeouts not reported as MP_INVALID_ARG');
});

test('asCompleted with 2**40 neither warns nor spins, and yields when the future finishes', async () => {
  const f = new Future<number>();
  const before = warnings.length;
  // Count the timers armed while the iterator waits: the old code re-armed a clamped 1 ms
  // timer about a thousand times a second.
  let armed = 0;
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms?: number, ...args: unknown[]) => {
    if ((ms ?? 0) > 2 ** 30) armed++;
    return realSetTimeout(fn, ms, ...args);
  }) as typeof setTimeout;
  try {
    const it = asCompleted([f], { timeout: 2 ** 40 });
    const next = watch(it.next());
    await sleep(PENDING_MS);
    assert.not.ok(next.settled, 'asCompleted yielded or threw before the future finished');
    f.setResult(7);
    const o = await withinMs(next.outcome, 5_000, 'asCompleted after setResult');
    assert.ok(o.ok && (await o.value.value.result()) === 7, outcomeText(o));
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assert.equal(warnings.slice(before).map((w) => w.message), [], 'warnings while waiting');
  assert.ok(armed <= 1, `asCompleted armed ${armed} long timers while waiting once`);
});

test('Barrier: wait(Infinity) waits without limit even when the barrier has a default timeout', async () => {
  const local = new Barrier(2, { timeout: 50 });
  const managed = await manager.barrier(2, { timeout: 50 });
  for (const [where, b] of [
    ['local', local],
    ['manager', managed],
  ] as const) {
    const first = watch(b.wait(Infinity));
    await sleep(PENDING_MS);
    assert.not.ok(first.settled, `${where}: wait(Infinity) ended early: ${first.settled && outcomeText(await first.outcome)}`);
    assert.is(await b.wait(), 1, `${where}: the second party`);
    const o = await withinMs(first.outcome, 5_000, `${where}: the first party`);
    assert.ok(o.ok && o.value === 0, outcomeText(o));
  }
  // Without a timeout, the barrier's default still applies (Python's None).
  await rejection(local.wait(), TimeoutError, 'wait() with the default timeout');
});

test('no leaks', async () => {
  await stopPipeHost.set();
  await disposeAllAndCheckLeaks();
});

test.run();
