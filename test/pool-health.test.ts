// A pool's health over a long life: workers killed while they start are replaced (only
// workers that can never start break a pool), a busy pool holds a flat heap, a worker's
// death is reported with consistent fields, map over an endless input fails fast, and class
// instances are refused at the call instead of arriving as plain objects.
import { suite } from 'uvu';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BrokenProcessPool, Process, RemoteError, SerializationError, tasks, WorkerLostError } from '../src/index.ts';
import { Pool, ProcessPoolExecutor } from '../src/process/index.ts';
import { liveChildren, pidAlive } from '../src/process/spawn.ts';
import { assert, disposeAllAndCheckLeaks, rejection, rememberPid, track, withinMs } from './helpers.ts';

const math = tasks<typeof import('./fixtures/math.ts')>(new URL('./fixtures/math.ts', import.meta.url));
const crash = tasks<typeof import('./fixtures/crash.ts')>(new URL('./fixtures/crash.ts', import.meta.url));
const table = tasks<typeof import('./fixtures/init-table.ts')>(new URL('./fixtures/init-table.ts', import.meta.url));
const exitAtImport = tasks<typeof import('./fixtures/exit-at-import.ts')>(new URL('./fixtures/exit-at-import.ts', import.meta.url));
const test = suite('pool-health');

const T = 20_000; // guards hangs only

/**
 * Tests that neither break nor end their pool share one: the heap and endless-input tests a
 * Pool(2), the two serialization tests a Pool(1) (each pool made is a process start per
 * worker).
 */
const sharedPools = new Map<number, Pool>();
function shared(processes: 1 | 2): Pool {
  let pool = sharedPools.get(processes);
  if (!pool) sharedPools.set(processes, (pool = track(new Pool(processes))));
  return pool;
}

/** The child forked after `before` was taken, once it exists (polled every millisecond). */
async function nextChild(before: ReadonlySet<unknown>, what: string): Promise<number> {
  const deadline = Date.now() + T;
  for (;;) {
    const fresh = liveChildren().find((c) => !before.has(c));
    if (fresh?.pid !== undefined) return fresh.pid;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

// ---------------------------------------------------------------------------------------
// Workers killed while they start

test('workers killed while they start are replaced: every innocent task succeeds, the pool is not broken', async () => {
  const pool = track(new Pool(2));
  for (let round = 0; round < 6; round++) {
    // Both workers ready and idle: each ran one of two slow tasks.
    const pids = await withinMs(pool.map(crash.pidAfter, [100, 100], { chunksize: 1 }), T, `round ${round}: both workers answering`);
    pids.forEach(rememberPid);
    assert.is(new Set(pids).size, 2, 'two ready workers');
    const [victim, healthy] = round % 2 === 0 ? pids : [pids[1]!, pids[0]!];
    let before = new Set<unknown>(liveChildren());
    process.kill(victim!, 'SIGKILL');
    // Kill the replacement as soon as it exists (as the OOM killer did, ~7 ms later), with
    // tasks sent to it while it starts; every other round kill two starters in a row.
    const tasksOfRound: Promise<number>[] = [];
    for (let k = 0; k < 1 + (round % 2); k++) {
      const starter = await nextChild(before, `round ${round}: replacement ${k + 1}`);
      rememberPid(starter);
      before = new Set(liveChildren());
      for (let i = 0; i < 6; i++) tasksOfRound.push(pool.apply(math.square, [round * 100 + k * 10 + i]));
      process.kill(starter, 'SIGKILL');
    }
    const results = await withinMs(Promise.allSettled(tasksOfRound), T, `round ${round}: its tasks`);
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    assert.equal(failed, [], `round ${round}: no innocent task failed`);
    assert.ok(pidAlive(healthy!), `round ${round}: the healthy worker was left alone`);
  }
  assert.equal(await pool.map(math.square, [1, 2, 3]), [1, 4, 9]);

  // The executor too: submit keeps working after a starter was killed.
  const ex = track(new ProcessPoolExecutor({ maxWorkers: 1 }));
  const pid = await withinMs(ex.submit(math.pid).result(), T, 'the executor worker');
  rememberPid(pid);
  const before = new Set<unknown>(liveChildren());
  process.kill(pid, 'SIGKILL');
  const starter = await nextChild(before, 'the executor worker replacement');
  const futures = [1, 2, 3].map((x) => ex.submit(math.square, x));
  process.kill(starter, 'SIGKILL');
  assert.equal(await withinMs(Promise.all(futures), T, 'futures sent to a killed starter'), [1, 4, 9]);
  assert.is(await ex.submit(math.square, 5), 25, 'submit still works');
});

test('workers that can never start still break the pool, after a few tries, saying what was seen', async () => {
  const pool = track(new Pool({ processes: 2, initializer: exitAtImport.init }));
  const err = await rejection(pool.apply(math.square, [2]), BrokenProcessPool, 'apply on a pool whose workers exit while importing the initializer', T);
  assert.match(err.message, /exited with exit code 1 before it was ready, the last of 3 workers in a row that ended while starting/);
  assert.not.match(err.message, /initializer failed/);
  const later = await rejection(pool.map(math.square, [1]), BrokenProcessPool, 'a later map');
  assert.match(later.message, /in a row/);
  await withinMs(pool.terminate(), T, 'terminate');

  // An initializer that throws still breaks the pool at its first failure.
  const ex = track(new ProcessPoolExecutor({ maxWorkers: 1, initializer: table.failingInit, initargs: ['nope'] }));
  const initErr = await rejection(ex.submit(math.square, 2).result(), RemoteError, 'a future on an executor whose initializer throws', T);
  assert.match(initErr.message, /nope/);
  assert.throws(() => ex.submit(math.square, 2), (e: unknown) => e instanceof BrokenProcessPool && /initializer failed/.test((e as Error).message));
  await ex.shutdown();
});

// ---------------------------------------------------------------------------------------
// Memory

test('a busy pool holds a flat heap over 10^5 apply calls (same function, or a new closure per call)', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heapAfterGc = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const pool = shared(2);
  // 64 calls in flight, each replaced as it settles: the pool's queue never drains. The heap
  // is measured between calls 20,000 (everything warmed up) and 120,000. Before the fix the
  // queue kept a slot per call (8 B, plus its array's spare capacity: 0.4-1.1 MB measured
  // over 10^5 calls), and a closure per call cost a function key that every worker kept
  // (1.7-2.2 MB). With the fix the growth measured under 20 KB; 256 KB is under a third of
  // one pointer per call, and far above that noise.
  const BOUND = 256 * 1024;
  for (const shape of ['the same function', 'a new closure per call'] as const) {
    const marks = [20_000, 120_000];
    const heap: number[] = [];
    let started = 0;
    const lane = async () => {
      while (started < marks[1]!) {
        started++;
        if (marks.includes(started)) heap.push(heapAfterGc());
        if (shape === 'the same function') await pool.apply(math.square, [3]);
        else await pool.apply((x: number) => x * 2, [3]);
      }
    };
    await withinMs(Promise.all(Array.from({ length: 64 }, lane)), 120_000, `10^5 apply calls with ${shape}`);
    const growth = heap[1]! - heap[0]!;
    assert.ok(growth < BOUND, `heap grew by ${(growth / 1024).toFixed(0)} KB over 10^5 calls with ${shape} (bound ${BOUND / 1024} KB)`);
  }
});

// ---------------------------------------------------------------------------------------
// How a worker's death is reported

test('a worker killed by a signal: WorkerLostError has exitCode -N and signal, as Process, and the message says both', async () => {
  const pool = track(new Pool(1));
  for (const [signal, code] of [
    ['SIGKILL', -9],
    ['SIGTERM', -15],
  ] as const) {
    const err = await rejection(pool.apply(crash.killSelf, [signal]), WorkerLostError, `a task that sends itself ${signal}`, T);
    assert.is(err.signal, signal);
    assert.is(err.exitCode, code);
    assert.match(err.message, new RegExp(`by signal ${signal} \\(exit code ${code}\\)`));
  }
  const exited = await rejection(pool.apply(crash.exitNow, [4]), WorkerLostError, 'a task that exits', T);
  assert.is(exited.exitCode, 4);
  assert.is(exited.signal, null);
  assert.match(exited.message, /with exit code 4/);
  assert.is(await pool.apply(math.square, [3]), 9);
});

// ---------------------------------------------------------------------------------------
// map over an endless input

test('map over an endless sync or async generator rejects early with a RangeError pointing to imap; the pool still works', async () => {
  const pool = shared(2);
  let closed = 0;
  function* naturals() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      closed++;
    }
  }
  async function* asyncNaturals() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      closed++;
    }
  }
  const calls: [string, () => Promise<unknown>][] = [
    ['map(sync generator)', () => pool.map(math.square, naturals())],
    ['map(async generator)', () => pool.map(math.square, asyncNaturals())],
    ['starmapAsync(sync generator)', async () => pool.starmapAsync(math.add, (function* () { for (const i of naturals()) yield [i, 1] as [number, number]; })()).get()],
  ];
  for (const [what, run] of calls) {
    const err = await rejection(run(), RangeError, what, 60_000);
    assert.is(err.code, 'MP_INVALID_ARG');
    assert.match(err.message, /list their whole input/);
    assert.match(err.message, /had not ended after \d+ items/);
    assert.match(err.message, /imap\(\) or imapUnordered\(\)/);
  }
  assert.is(closed, 3, 'each generator was closed (its finally ran)');
  assert.equal(await pool.map(math.square, [1, 2, 3]), [1, 4, 9]);
  // Long inputs that end are listed as before.
  const n = 100_000;
  const out = await pool.map(math.square, (function* () { for (let i = 0; i < n; i++) yield i; })());
  assert.is(out.length, n);
  assert.is(out[n - 1], (n - 1) * (n - 1));
});

// ---------------------------------------------------------------------------------------
// Class instances

class Point {
  #secret = 42;
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  get norm(): number {
    return Math.hypot(this.x, this.y) + this.#secret * 0;
  }
}

test('a class instance with #private fields is refused at the call, naming the argument and the class; no worker is harmed', async () => {
  const pool = shared(1);
  const pid = await pool.apply(math.pid);
  rememberPid(pid);
  const point = new Point(3, 4);

  const applyErr = await rejection(pool.apply(math.add, [1, point as unknown as number]), SerializationError, 'apply with a Point');
  assert.is(applyErr.argIndex, 1);
  assert.match(applyErr.message, /pool\.apply\(add\): argument 1 cannot be sent to a worker: it is an instance of class Point/);
  assert.match(applyErr.message, /#private fields/);

  const nested = await rejection(pool.apply(math.add, [1, { at: [0, { p: point }] } as unknown as number]), SerializationError, 'apply with a nested Point');
  assert.is(nested.argIndex, 1);
  assert.match(nested.message, /argument 1 \(args\[1\]\.at\[1\]\.p\)/);

  const items = Array.from({ length: 10 }, (_, i) => (i === 3 ? point : { x: i, y: i }));
  const mapErr = await rejection(pool.map((p: { x: number }) => p.x, items), SerializationError, 'map with a Point as item 3 of 10');
  assert.is(mapErr.argIndex, 3);
  assert.match(mapErr.message, /input item 3 cannot be sent to a worker: it is an instance of class Point/);

  const ex = track(new ProcessPoolExecutor({ maxWorkers: 1 }));
  const futureErr = await rejection(ex.submit(math.add, 1, new Map([['k', point]]) as unknown as number).result(), SerializationError, 'submit with a Point in a Map');
  assert.match(futureErr.message, /argument 1 \(args\[1\]\.get\("k"\)\) cannot be sent/);

  const proc = new Process({ target: (p: unknown) => p, args: [point] });
  assert.throws(
    () => proc.start(),
    (e: unknown) => e instanceof SerializationError && e.argIndex === 0 && /start\(\): argument 0 cannot be sent to another process: it is an instance of class Point/.test(e.message),
  );
  assert.is(proc.pid, undefined, 'no process was forked');

  assert.throws(
    () => new Pool({ processes: 1, initializer: table.initTable, initargs: [[['k', 1]], { origin: point }] as unknown as [[string, number][]] }),
    (e: unknown) => e instanceof SerializationError && e.argIndex === 1 && /initargs: argument 1 \(initargs\[1\]\.origin\) cannot be sent to the workers: it is an instance of class Point/.test(e.message),
  );

  assert.is(await pool.apply(math.pid), pid, 'the same worker, unharmed');

  // imap throws at the item's position. (The iteration then ends early, which cancels the
  // batches still running, as leaving any imap loop does.)
  const seen: number[] = [];
  const imapErr = await rejection(
    (async () => {
      for await (const x of pool.imap((p: { x: number }) => p.x, items)) seen.push(x);
    })(),
    SerializationError,
    'imap with a Point',
  );
  assert.is(imapErr.argIndex, 3);
  assert.match(imapErr.message, /pool\.imap\(anonymous\): input item 3 cannot be sent/);
  assert.equal(await pool.map(math.square, [2, 3]), [4, 9]);
});

test('Map, Set, Date, Error, Buffer, typed arrays, boxed primitives, null-prototype objects and nested plain data still cross', async () => {
  const pool = shared(1);
  class QuotaError extends Error {}
  const value = {
    map: new Map<unknown, unknown>([['a', 1], [{ k: 1 }, [new Date(5)]]]),
    set: new Set([1, 'two', { three: 3 }]),
    date: new Date(1000),
    error: new TypeError('bad'),
    custom: new QuotaError('over'),
    buffer: Buffer.from('hi'),
    floats: new Float64Array([1.5]),
    regexp: /x+/g,
    boxed: Object('s'),
    bare: Object.assign(Object.create(null) as Record<string, unknown>, { n: 1 }),
    nested: { a: [{ b: [1, 2, { c: 'd' }] }] },
  };
  const echo = (v: unknown) => v;
  const back = (await withinMs(pool.apply(echo, [value]), T, 'echo of built-in values')) as typeof value;
  assert.equal([...back.map.keys()][0], 'a');
  assert.equal([...back.set].length, 3);
  assert.is(back.date.getTime(), 1000);
  assert.instance(back.error, Error);
  assert.is(back.error.message, 'bad');
  assert.instance(back.custom, Error);
  assert.equal([...back.buffer], [104, 105]);
  assert.equal([...back.floats], [1.5]);
  assert.is(back.regexp.source, 'x+');
  assert.is(String(back.boxed), 's');
  assert.is(back.bare.n, 1);
  assert.equal(back.nested, value.nested);
  assert.equal(await pool.map(echo, [value.nested, value.date]), [value.nested, value.date]);
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
