// Pool over real worker processes: apply/map/starmap and their Async forms, chunking,
// initializer, maxTasksPerChild, errors that stay with their call, serialization errors,
// close/join/terminate, progress bars, processMap, and a forgotten pool not pinning Node.
import { suite } from 'uvu';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BrokenProcessPool,
  CancelledError,
  InvalidStateError,
  RemoteError,
  SerializationError,
  tasks,
  TimeoutError,
} from '../src/index.ts';
import { Barrier } from '../src/queue/index.ts';
import { AsyncResult, Pool, ProcessPoolExecutor, processMap } from '../src/process/index.ts';
import type { ProgressStream } from '../src/process/progress.ts';
import { assert, disposeAllAndCheckLeaks, rejection, rememberPid, track, withinMs } from './helpers.ts';

const math = tasks<typeof import('./fixtures/math.ts')>(new URL('./fixtures/math.ts', import.meta.url));
const failing = tasks<typeof import('./fixtures/throw-custom.ts')>(new URL('./fixtures/throw-custom.ts', import.meta.url));
const table = tasks<typeof import('./fixtures/init-table.ts')>(new URL('./fixtures/init-table.ts', import.meta.url));
const sleepy = tasks<typeof import('./fixtures/sleep.ts')>(new URL('./fixtures/sleep.ts', import.meta.url));
const test = suite('pool');

const T = 20_000; // guards hangs only

/**
 * The tests that only use a pool (no close, terminate, initializer or worker lifecycle of
 * their own) share one Pool(2), and those that need a single worker one Pool(1): each pool
 * made is one process start per worker, most of what such a test costs.
 */
let sharedPools: { two: Pool; one: Pool } | null = null;
function shared(processes: 1 | 2): Pool {
  sharedPools ??= { two: track(new Pool(2)), one: track(new Pool(1)) };
  return processes === 2 ? sharedPools.two : sharedPools.one;
}

function fakeStream(): ProgressStream & { text: string } {
  const s = { isTTY: false, text: '', write: (chunk: string) => void (s.text += chunk) };
  return s;
}

test('apply, map and starmap return results in order, by source and by module', async () => {
  const pool = shared(2);
  assert.is(pool.processes, 2);
  assert.is(await withinMs(pool.apply(math.square, [7]), T, 'apply'), 49);
  assert.is(await pool.apply(() => 42), 42);
  assert.is(await pool.apply(async (a: number, b: number) => a * b, [6, 7]), 42);
  assert.equal(await pool.map((x: number) => x * 2, [1, 2, 3]), [2, 4, 6]);
  assert.equal(await pool.map(math.square, []), []);
  assert.equal(await pool.starmap(math.add, [[1, 2], [3, 4], [5, 6]]), [3, 7, 11]);
  assert.equal(await pool.map(math.slowDouble, [1, 2, 3]), [2, 4, 6]);
});

test('map chunks any iterable and keeps input order for every chunksize', async () => {
  const pool = shared(2);
  const xs = Array.from({ length: 10_001 }, (_, i) => i);
  const want = xs.map((x) => x * x);
  for (const chunksize of [undefined, 1, 7, 4096, 5000, 20_000]) {
    assert.equal(await withinMs(pool.map(math.square, xs, { chunksize }), T, `map chunksize ${chunksize}`), want, `chunksize ${chunksize}`);
  }
  function* gen() {
    yield* [1, 2, 3];
  }
  async function* agen() {
    yield* [4, 5];
  }
  assert.equal(await pool.map(math.square, gen()), [1, 4, 9]);
  assert.equal(await pool.map(math.square, new Set([3, 3, 4])), [9, 16]);
  assert.equal(await pool.map(math.square, agen()), [16, 25]);
  // An array of holey kind and one with real holes (holes arrive as undefined, as they clone).
  assert.equal(await pool.map(math.square, new Array(3).fill(2)), [4, 4, 4]);
  assert.equal(await pool.map(math.square, new Int32Array([1, 2])), [1, 4]);
});

test('numbers arrive exactly as sent (-0, NaN, fractions) and results are not coerced', async () => {
  const pool = shared(2);
  const xs = [-0, NaN, 1.5, -Infinity, 2 ** 53, ...Array.from({ length: 100 }, (_, i) => i)];
  const describe = (x: number) => (Object.is(x, -0) ? 'minus zero' : { text: String(x), type: typeof x });
  const want = xs.map(describe);
  assert.equal(await pool.map(describe, xs), want);
  assert.equal(await pool.map(describe, xs, { chunksize: 50 }), want);
  const streamed: unknown[] = [];
  for await (const y of pool.imap(describe, xs, { chunksize: 40 })) streamed.push(y);
  assert.equal(streamed, want);
  // Integers travel packed as 32-bit integers until a number that is not one (-0, 2 ** 31, a
  // fraction) switches the batch to doubles; results alike (-x of 0 is -0).
  const ints = Array.from({ length: 100 }, (_, i) => (i - 50) * 4e7);
  const mixed = [...ints, -(2 ** 31), -0, 2 ** 31, 0.5, ...ints];
  const same = (x: number) => x;
  const negate = (x: number) => -x;
  assert.equal((await pool.map(same, mixed)).map(describe), mixed.map(describe));
  assert.equal((await pool.map(same, ints)).map(describe), ints.map(describe));
  assert.equal((await pool.map(negate, ints)).map(describe), ints.map(negate).map(describe));
});

test('a map whose first items are numbers, then others: each batch as it is, class instances refused by index', async () => {
  // Such a map packs each range of numbers when its batch is sent; a range that holds
  // something else travels as a plain array, checked as any batch is.
  const pool = track(new Pool(2));
  const xs: unknown[] = Array.from({ length: 300 }, (_, i) => i);
  xs[150] = 'a string';
  xs[299] = [1.5];
  const kind = (x: unknown) => (typeof x === 'number' ? x * 2 : String(x));
  const want = xs.map(kind);
  for (const chunksize of [undefined, 40, 150]) {
    assert.equal(await withinMs(pool.map(kind, xs, { chunksize }), T, `mixed map, chunksize ${chunksize}`), want, `chunksize ${chunksize}`);
  }
  class Point {
    x = 1;
  }
  const withInstance: unknown[] = Array.from({ length: 300 }, (_, i) => i);
  withInstance[250] = new Point();
  const err = await rejection(pool.map(kind, withInstance, { chunksize: 100 }), SerializationError, 'a class instance among numbers');
  assert.match(err.message, /input item 250/);
});

test('a batch of numbers whose task returns something else, a promise, or throws part-way: exact results, the failure at its item', async () => {
  // A worker stores a batch's number results straight into a packed array until one is not
  // a number (NumberPacker.storeAll); from there the general loop, or the async one, goes on.
  const pool = track(new Pool(2));
  const xs = Array.from({ length: 200 }, (_, i) => i);
  const mixed = (x: number) => (x === 70 ? 'seventy' : x === 130 ? null : x * 1.5);
  assert.equal(await withinMs(pool.map(mixed, xs, { chunksize: 100 }), T, 'a map whose results turn into strings and null'), xs.map(mixed));
  const later = (x: number) => (x >= 60 && x < 65 ? Promise.resolve(-x) : -x);
  assert.equal(await withinMs(pool.map(later, xs, { chunksize: 100 }), T, 'a map whose task returns promises part-way'), xs.map((x) => -x));
  const failAt137 = (x: number) => {
    if (x === 137) throw new RangeError(`item ${x} is bad`);
    return x * 2;
  };
  const got: number[] = [];
  const err = await rejection(
    (async () => {
      for await (const y of pool.imap(failAt137, xs, { chunksize: 100 })) got.push(y);
    })(),
    RemoteError,
    'an imap whose item 137 throws in the middle of a packed batch',
    T,
  );
  assert.match(err.message, /item 137 is bad/);
  assert.equal(got, xs.slice(0, 137).map((x) => x * 2), 'the results before the failure, none after');
});

test('packed numeric results kept by imap and imapUnordered until read stay intact', async () => {
  // Numeric results may arrive as views of memory the engine reuses for the next reply; a
  // stream that keeps them until they are read must hold its own copy.
  const pool = track(new Pool(2));
  const xs = Array.from({ length: 4000 }, (_, i) => i + 0.5);
  const want = xs.map((x) => x * x);
  const ordered: number[] = [];
  for await (const y of pool.imap(math.square, xs, { chunksize: 64 })) {
    ordered.push(y);
    // Read slowly so that later replies arrive while earlier ones wait.
    if (ordered.length % 500 === 0) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(ordered, want);
  const unordered: number[] = [];
  for await (const y of pool.imapUnordered(math.square, xs, { chunksize: 64 })) {
    unordered.push(y);
    if (unordered.length % 500 === 0) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(unordered.sort((a, b) => a - b), want);
});

test('bad arguments reject with MP_INVALID_ARG errors', async () => {
  const pool = shared(1);
  const isInvalid = (e: unknown) => (e as { code?: string }).code === 'MP_INVALID_ARG';
  await pool.map(math.square, [1], { chunksize: 0 }).then(
    () => assert.unreachable('chunksize 0 accepted'),
    (e) => assert.ok(isInvalid(e) && e instanceof RangeError, String(e)),
  );
  await pool.apply('nope' as unknown as () => number).then(
    () => assert.unreachable('a string accepted as a task'),
    (e) => assert.ok(isInvalid(e) && e instanceof TypeError, String(e)),
  );
  await pool.map(math.square, 5 as unknown as number[]).then(
    () => assert.unreachable('a number accepted as an iterable'),
    (e) => assert.ok(isInvalid(e), String(e)),
  );
  await pool.apply(math.square, [1], { timeout: NaN }).then(
    () => assert.unreachable('NaN timeout accepted'),
    (e) => assert.ok(isInvalid(e), String(e)),
  );
  assert.throws(() => new Pool(0), (e: unknown) => isInvalid(e) && e instanceof RangeError);
  assert.throws(() => new Pool({ maxTasksPerChild: 1.5 }), isInvalid);
  assert.throws(() => new Pool({ initializer: table.initTable, initargs: [[['a', () => 1]]] as never }), (e: unknown) => e instanceof SerializationError);
});

test('maxTasksPerChild: 0 is refused as the message says (>= 1), by Pool and ProcessPoolExecutor (issue 14)', async () => {
  const isRange = (e: unknown) => e instanceof RangeError && (e as { code?: string }).code === 'MP_INVALID_ARG' && /maxTasksPerChild must be an integer >= 1/.test(e.message);
  const made: { [Symbol.asyncDispose](): Promise<void> }[] = [];
  const attempt = (make: () => { [Symbol.asyncDispose](): Promise<void> }) => () => {
    // Before the fix the constructor accepted 0 and started workers: dispose them too.
    made.push(track(make()));
  };
  assert.throws(attempt(() => new Pool({ processes: 1, maxTasksPerChild: 0 })), isRange, 'Pool accepted maxTasksPerChild: 0');
  assert.throws(attempt(() => new ProcessPoolExecutor({ maxWorkers: 1, maxTasksPerChild: 0 })), isRange, 'ProcessPoolExecutor accepted maxTasksPerChild: 0');
  assert.is(made.length, 0);
  // Leaving it out (or null, Python's None) still means no limit.
  const pool = track(new Pool({ processes: 1, maxTasksPerChild: null as unknown as undefined }));
  assert.equal(await withinMs(pool.map(math.square, [1, 2, 3]), T, 'map with maxTasksPerChild null'), [1, 4, 9]);
});

test('the initializer runs once per worker and tasks see its state', async () => {
  const entries: [string, number][] = [
    ['one', 1],
    ['two', 2],
  ];
  const pool = track(new Pool({ processes: 2, initializer: table.initTable, initargs: [entries] }));
  assert.equal(await withinMs(pool.map(table.lookup, ['one', 'two', 'three', 'one']), T, 'lookup map'), [1, 2, null, 1]);
  // Two calls that wait for each other run in both workers at once: each ran the initializer once.
  const barrier = new Barrier(2);
  const both = await withinMs(pool.map(table.initRunsTogether, [barrier, barrier], { chunksize: 1 }), T, 'one call in each worker, meeting at a barrier');
  both.forEach(({ pid }) => rememberPid(pid));
  assert.is(new Set(both.map((r) => r.pid)).size, 2, `two workers answered: ${JSON.stringify(both)}`);
  assert.equal(both.map((r) => r.runs), [1, 1], 'the initializer ran once in each worker');
  // More tasks later do not run it again.
  const later = await withinMs(pool.map(table.initRuns, [1, 2, 3, 4, 5, 6, 7, 8], { chunksize: 1 }), T, 'initRuns map');
  const pids = new Set(both.map((r) => r.pid));
  assert.ok(later.every((r) => pids.has(r.pid)), `no new worker: ${JSON.stringify(later)}`);
  assert.equal(later.map((r) => r.runs), [1, 1, 1, 1, 1, 1, 1, 1], 'still once per worker after more tasks');
});

test('new Pool(processes, options): the options count (the initializer runs); Python positional arguments and extra ones are refused, not ignored', async () => {
  // Before: the second argument was ignored, so this pool ran without its initializer.
  const pool = track(new Pool(1, { initializer: table.initTable, initargs: [[['one', 1]]] }));
  assert.is(pool.processes, 1);
  assert.equal(await withinMs(pool.map(table.lookup, ['one', 'two']), T, 'lookup map'), [1, null]);
  const made: Pool[] = [];
  const refused = (make: () => Pool, message: RegExp, what: string) =>
    assert.throws(
      () => made.push(track(make())),
      (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'MP_INVALID_ARG' && message.test((e as Error).message),
      what,
    );
  const anyPool = Pool as unknown as new (...args: unknown[]) => Pool;
  refused(() => new anyPool(2, table.initTable, [[]]), /Python's positional initializer and initargs go in the options object: new Pool\(processes\?, \{ initializer\?/, 'positional initializer');
  refused(() => new anyPool(2, { initializer: table.initTable }, 5), /at most two arguments/, 'a third argument');
  refused(() => new anyPool({ processes: 2 }, { initializer: table.initTable }), /takes one options object/, 'options twice');
  refused(() => new anyPool(2, { processes: 3 }), /must not name it again/, 'processes twice');
  refused(() => new anyPool(2, 'fast'), /second argument is the options object/, 'a string as options');
  assert.is(made.length, 0, 'no refused pool started workers');
});

test('a failing initializer rejects pending work with its RemoteError and breaks the pool', async () => {
  const pool = track(new Pool({ processes: 2, initializer: table.failingInit, initargs: ['disk on fire'] }));
  const err = await rejection(pool.map(math.square, [1, 2, 3]), RemoteError, 'map on a pool whose initializer throws', T);
  assert.is(err.remoteName, 'TypeError');
  assert.match(err.message, /disk on fire/);
  const later = await rejection(pool.apply(math.square, [2]), BrokenProcessPool, 'apply on the broken pool');
  assert.match(later.message, /initializer failed/);
  assert.is(later.cause, err);
  await withinMs(pool.terminate(), T, 'terminate a broken pool');
});

test('maxTasksPerChild replaces workers (pids change) and work continues', async () => {
  const pool = track(new Pool({ processes: 1, maxTasksPerChild: 2 }));
  const pids: number[] = [];
  for (let i = 0; i < 6; i++) pids.push(await withinMs(pool.apply(math.pid), T, `apply #${i}`));
  pids.forEach(rememberPid);
  assert.is(new Set(pids).size, 3, `pids ${pids}`);
  assert.is(pids[0], pids[1]);
  assert.is.not(pids[1], pids[2]);
  // A map with chunksize 1 counts each chunk as a task.
  const mapped = await withinMs(pool.map(math.pid, [1, 2, 3, 4, 5, 6], { chunksize: 1 }), T, 'map with recycling');
  mapped.forEach(rememberPid);
  assert.ok(new Set(mapped).size >= 3, `map pids ${mapped}`);
});

test('applyAsync / mapAsync / starmapAsync: AsyncResult get, wait, ready, successful, callbacks', async () => {
  const pool = shared(2);
  const seen: unknown[] = [];
  const r = pool.applyAsync(math.square, [9], { callback: (v) => seen.push(v) });
  assert.instance(r, AsyncResult);
  assert.is(r.ready(), false);
  assert.throws(() => r.successful(), (e: unknown) => e instanceof InvalidStateError);
  assert.is(await withinMs(r.get(), T, 'get'), 81);
  assert.is(r.ready(), true);
  assert.is(r.successful(), true);
  assert.equal(seen, [81]);
  assert.is(await r, 81, 'thenable');

  const m = pool.mapAsync(math.square, [1, 2, 3]);
  await m.wait();
  assert.equal(await m.get(5000), [1, 4, 9]);
  assert.equal(await pool.starmapAsync(math.add, [[1, 1]]), [2]);

  const errors: Error[] = [];
  const bad = pool.applyAsync(failing.failWithQuota, [5], { errorCallback: (e) => errors.push(e) });
  await withinMs(bad.wait(), T, 'wait for a failure');
  assert.is(bad.successful(), false);
  assert.instance(errors[0], RemoteError);
  await bad.get().then(
    () => assert.unreachable(),
    (e) => assert.is(e, errors[0]),
  );

  // get(timeout) gives up without stopping the work; wait(timeout) just returns.
  const slow = pool.applyAsync(sleepy.sleep, [1500, 'late']);
  const timedOut = await rejection(slow.get(10), TimeoutError, 'get(10) of a 1.5 s task');
  assert.is(timedOut.name, 'TimeoutError');
  await slow.wait(10);
  assert.is(slow.ready(), false);
  assert.is(await withinMs(slow.get(), T, 'slow result'), 'late');
});

test('work sent on into a worker busy with a long task moves to a worker that becomes free', async () => {
  const pool = track(new Pool(2));
  (await pool.map(math.pid, [1, 2, 3, 4], { chunksize: 1 })).forEach(rememberPid);
  const long = pool.apply(sleepy.sleep, [5000, 'long']);
  // More batches than workers: one is sent on into the worker running the long task.
  const quick = pool.map(math.square, Array.from({ length: 16 }, (_, i) => i), { chunksize: 1 });
  const first = await withinMs(Promise.race([long.then(() => 'long'), quick.then(() => 'quick')]), T, 'a map beside a long task');
  assert.is(first, 'quick', 'no item waited for the long task');
  assert.equal(await quick, Array.from({ length: 16 }, (_, i) => i * i));
  await pool.terminate();
  await rejection(long, CancelledError, 'the long task when the pool terminated');
});

test('a task that throws rejects only its own call; error fields survive; the pool stays usable', async () => {
  const pool = shared(2);
  const [a, b, c] = await Promise.allSettled([pool.apply(math.square, [3]), pool.apply(failing.failWithQuota, [10]), pool.map(math.square, [1, 2])]);
  assert.equal(a, { status: 'fulfilled', value: 9 });
  assert.equal(c, { status: 'fulfilled', value: [1, 4] });
  assert.is(b.status, 'rejected');
  const err = (b as PromiseRejectedResult).reason as RemoteError & { limit?: number };
  assert.instance(err, RemoteError);
  assert.is(err.remoteName, 'QuotaError');
  assert.is(err.properties.limit, 10);
  assert.is(err.properties.code, 'E_QUOTA');
  assert.match(err.message, /quota of 10 exceeded/);
  assert.instance(err.cause, RemoteError);
  // map rejects with the first error, as Python's does.
  const failingMap = pool.map((x: number) => {
    if (x === 3) throw new RangeError(`bad item ${x}`);
    return x;
  }, [1, 2, 3, 4, 5], { chunksize: 1 });
  const mapErr = await rejection(failingMap, RemoteError, 'a map whose item 3 throws');
  assert.is(mapErr.remoteName, 'RangeError');
  assert.match(mapErr.message, /bad item 3/);
  assert.equal(await pool.map(math.square, [4]), [16]);
});

test('a by-source function reading its enclosing scope gets the explanatory RemoteError', async () => {
  const pool = shared(1);
  const factor = 3;
  const scale = (x: number) => x * factor;
  const err = await rejection(pool.map(scale, [1, 2]), RemoteError, 'closure map', T);
  assert.match(err.message, /sent to the worker by source/);
  assert.match(err.message, /`factor`/);
  assert.match(err.message, /tasks\(url\)\.scale/);
  assert.is(await pool.apply(math.square, [5]), 25);
});

test('an argument that cannot be cloned is a SerializationError naming it; the worker is fine', async () => {
  const pool = shared(1);
  const pidBefore = await pool.apply(math.pid);
  const err = await rejection(pool.apply(math.add, [1, (() => 2) as unknown as number]), SerializationError, 'apply with a function argument');
  assert.is(err.argIndex, 1);
  assert.match(err.message, /argument 1/);
  const mapErr = await rejection(pool.map(math.square, [1, 2, 3, Symbol('x') as unknown as number, 5], { chunksize: 2 }), SerializationError, 'map with a symbol as item 3');
  assert.is(mapErr.argIndex, 3);
  assert.match(mapErr.message, /input item 3/);
  assert.is(await pool.apply(math.pid), pidBefore, 'same worker, still alive');
  assert.equal(await pool.map(math.square, [2, 3]), [4, 9]);
});

test('close() lets queued work finish; join() waits; new work is refused', async () => {
  const pool = track(new Pool(2));
  await rejection(pool.join(), InvalidStateError, 'join before close');
  const pending = pool.starmap(sleepy.sleep, [
    [50, 'a'],
    [50, 'b'],
  ]);
  const queued = [1, 2, 3, 4, 5].map((x) => pool.apply(sleepy.sleep, [30, x]));
  pool.close();
  await rejection(pool.apply(math.square, [1]), InvalidStateError, 'apply after close');
  await withinMs(pool.join(), T, 'join after close');
  assert.equal(await Promise.all(queued), [1, 2, 3, 4, 5]);
  assert.equal(await pending, ['a', 'b']);
});

test('terminate() rejects pending work with CancelledError and stops the workers', async () => {
  const pool = track(new Pool(1));
  const running = pool.apply(sleepy.sleep, [60_000, 'never']);
  const queued = pool.map(math.square, [1, 2, 3]);
  const settled = Promise.allSettled([running, queued]);
  await withinMs(pool.terminate(), T, 'terminate');
  const [a, b] = await settled;
  assert.instance((a as PromiseRejectedResult).reason, CancelledError);
  assert.instance((b as PromiseRejectedResult).reason, CancelledError);
  await rejection(pool.apply(math.square, [1]), InvalidStateError, 'apply after terminate');
  await pool.terminate(); // idempotent
  await pool[Symbol.asyncDispose]();
});

test('await using disposes the pool (terminate)', async () => {
  let pids: number[] = [];
  {
    await using pool = new Pool(2);
    pids = await pool.map(math.pid, [1, 2, 3, 4], { chunksize: 1 });
  }
  pids.forEach(rememberPid);
  assert.ok(pids.length === 4);
});

test('progress: map draws a bar that reaches n/n', async () => {
  const pool = shared(2);
  const stream = fakeStream();
  assert.equal(await pool.map(math.square, [1, 2, 3, 4, 5], { progress: { desc: 'squares', stream } }), [1, 4, 9, 16, 25]);
  assert.match(stream.text, /squares: 100%.* 5\/5/);
  const stream2 = fakeStream();
  const out: number[] = [];
  for await (const y of pool.imap(math.square, [1, 2, 3], { progress: { stream: stream2 } })) out.push(y);
  assert.equal(out, [1, 4, 9]);
  assert.match(stream2.text, /3\/3/);
});

test('processMap maps with a fresh pool and leaves no worker behind', async () => {
  const out = await withinMs(processMap(math.square, [1, 2, 3, 4], { maxWorkers: 2, disable: true }), T, 'processMap');
  assert.equal(out, [1, 4, 9, 16]);
  const err = await rejection(processMap(failing.failWithQuota, [1], { maxWorkers: 1, disable: true }), RemoteError, 'processMap whose task throws');
});

test('a forgotten pool does not keep Node alive once idle', async () => {
  // A script file, not `node -e`: eval flags would be inherited by the workers' execArgv.
  const dir = mkdtempSync(join(tmpdir(), 'multiproc-forgotten-'));
  const file = join(dir, 'forgotten-pool.mjs');
  writeFileSync(
    file,
    `import { Pool, tasks } from ${JSON.stringify(new URL('../src/process/index.ts', import.meta.url).href)};
     const math = tasks(${JSON.stringify(new URL('./fixtures/math.ts', import.meta.url).href)});
     const pool = new Pool(2);
     console.log(JSON.stringify(await pool.map(math.square, [1, 2, 3])));\n`,
  );
  // Under `uvu -r tsx` the loader is registered in-process, so the script gets it explicitly.
  const loader = process.execArgv.some((a) => a.includes('tsx')) ? [] : ['--import', 'tsx'];
  const child = track(spawn(process.execPath, [...process.execArgv, ...loader, file], { stdio: ['ignore', 'pipe', 'inherit'] }));
  let out = '';
  child.stdout!.on('data', (d: Uint8Array) => (out += String(d)));
  try {
    const code = await withinMs(
      new Promise<number | null>((resolve) => child.on('exit', (c: number | null) => resolve(c))),
      T,
      'a script with a forgotten pool to exit by itself',
    );
    assert.is(code, 0);
    assert.is(out.trim(), '[1,4,9]');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
