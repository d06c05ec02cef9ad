// ProcessPoolExecutor, Future, wait and asCompleted over real worker processes.
import { suite } from 'uvu';
import { CancelledError, InvalidStateError, RemoteError, SerializationError, tasks, TimeoutError, WorkerLostError } from '../src/index.ts';
import { ALL_COMPLETED, asCompleted, FIRST_COMPLETED, FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait } from '../src/process/index.ts';
import { Barrier } from '../src/queue/index.ts';
import { assert, collect, disposeAllAndCheckLeaks, rejection, rememberPid, track, withinMs } from './helpers.ts';

const math = tasks<typeof import('./fixtures/math.ts')>(new URL('./fixtures/math.ts', import.meta.url));
const failing = tasks<typeof import('./fixtures/throw-custom.ts')>(new URL('./fixtures/throw-custom.ts', import.meta.url));
const sleepy = tasks<typeof import('./fixtures/sleep.ts')>(new URL('./fixtures/sleep.ts', import.meta.url));
const crash = tasks<typeof import('./fixtures/crash.ts')>(new URL('./fixtures/crash.ts', import.meta.url));
const table = tasks<typeof import('./fixtures/init-table.ts')>(new URL('./fixtures/init-table.ts', import.meta.url));
const trace = tasks<typeof import('./fixtures/trace.ts')>(new URL('./fixtures/trace.ts', import.meta.url));
const test = suite('executor');

const T = 20_000;


/**
 * The tests that only submit work (no shutdown, initializer or worker count of their own)
 * share one executor of 2 workers, and those that need one worker an executor of 1: each
 * executor made is one process start per worker, most of what such a test costs.
 */
let sharedExecutors: { two: ProcessPoolExecutor; one: ProcessPoolExecutor } | null = null;
function shared(maxWorkers: 1 | 2): ProcessPoolExecutor {
  sharedExecutors ??= { two: track(new ProcessPoolExecutor({ maxWorkers: 2 })), one: track(new ProcessPoolExecutor({ maxWorkers: 1 })) };
  return maxWorkers === 2 ? sharedExecutors.two : sharedExecutors.one;
}

/**
 * Every one of the `n` workers of `ex` started and idle again: n calls that meet at a
 * Barrier of n parties can only finish running in n workers at once. (n quick calls could
 * all be answered by the first worker up, and a later task then sent on into a busy worker,
 * behind another: the order tests below would see that wait, not the tasks' durations.)
 */
async function allStarted(ex: ProcessPoolExecutor, n: number): Promise<void> {
  const barrier = new Barrier(n);
  const met = await withinMs(Promise.all(Array.from({ length: n }, () => ex.submit(table.initRunsTogether, barrier))), T, `warm-up: ${n} calls meeting at a barrier`);
  met.forEach(({ pid }) => rememberPid(pid));
  assert.is(new Set(met.map((r) => r.pid)).size, n, `warm-up: ${n} workers answered`);
}

test('submit gives a thenable Future: result, exception, done, running, addDoneCallback', async () => {
  const ex = shared(2);
  const f = ex.submit(math.add, 2, 3);
  assert.instance(f, Future);
  const seen: Future<number>[] = [];
  f.addDoneCallback((done) => seen.push(done));
  assert.is(await withinMs(f.result(), T, 'result'), 5);
  assert.is(await f, 5);
  assert.ok(f.done());
  assert.not.ok(f.running());
  assert.not.ok(f.cancelled());
  assert.is(await f.exception(), undefined);
  assert.equal(seen, [f]);
  let late: Future<number> | null = null;
  f.addDoneCallback((d) => (late = d));
  assert.is(late, f, 'a callback added after completion runs at once');

  const bad = ex.submit(failing.failWithQuota, 4);
  const err = await withinMs(bad.exception(), T, 'exception()');
  assert.instance(err, RemoteError);
  await bad.result().then(
    () => assert.unreachable(),
    (e) => assert.is(e, err),
  );

  const slow = ex.submit(sleepy.sleep, 1000, 'x');
  await rejection(slow.result(10), TimeoutError, 'result(10) of a 1 s task');
  assert.is(await withinMs(slow.result(), T, 'slow result'), 'x');
});

test('a task that cannot be sent or that crashes fails only its own future; the executor goes on', async () => {
  const ex = shared(2);
  const unsendable = ex.submit(math.add, 1, (() => 1) as unknown as number);
  assert.instance(await unsendable.exception(), SerializationError);
  const crashed = ex.submit(crash.exitNow, 9);
  const fine = [1, 2, 3].map((x) => ex.submit(math.square, x));
  const lost = await withinMs(crashed.exception(), T, 'crashed future');
  assert.instance(lost, WorkerLostError);
  assert.is((lost as WorkerLostError).exitCode, 9);
  assert.equal(await Promise.all(fine), [1, 4, 9]);
  assert.is(await ex.submit(math.square, 6), 36);
});

test('map zips iterables, stops at the shortest, keeps order, takes trailing options', async () => {
  const ex = shared(2);
  assert.equal(await collect(ex.map(math.square, [1, 2, 3]), 'map one iterable'), [1, 4, 9]);
  assert.equal(await collect(ex.map(math.add, [1, 2, 3], [10, 20]), 'map two iterables'), [11, 22]);
  async function* asyncNums() {
    yield 100;
    yield 200;
  }
  assert.equal(await collect(ex.map(math.add, asyncNums(), [1, 2, 3], { chunksize: 2 }), 'map with an async iterable and options'), [101, 202]);
  const xs = Array.from({ length: 300 }, (_, i) => i);
  assert.equal(await collect(ex.map(math.square, xs, { chunksize: 16 }), 'chunked map'), xs.map((x) => x * x));
  await rejection(collect(ex.map(failing.failWithQuota, [1]), 'failing map'), RemoteError, 'a map whose task throws');
  const notIterable = await rejection(collect(ex.map(math.square, 5 as unknown as number[]), 'bad map'), TypeError, 'a map over a number');
  assert.is(notIterable.code, 'MP_INVALID_ARG');
});

test('wait: FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, timeout', async () => {
  const ex = shared(2);
  // Both workers started and idle, so outcomes depend only on the tasks' durations.
  await allStarted(ex, 2);
  const fast = ex.submit(sleepy.sleep, 0, 'fast');
  const slow = ex.submit(sleepy.sleep, 1500, 'slow');
  const first = await withinMs(wait([fast, slow], { returnWhen: FIRST_COMPLETED }), T, 'FIRST_COMPLETED');
  assert.ok(first.done.has(fast));
  assert.ok(first.notDone.has(slow));
  const all = await withinMs(wait([fast, slow, fast], { returnWhen: ALL_COMPLETED }), T, 'ALL_COMPLETED');
  assert.is(all.done.size, 2);
  assert.is(all.notDone.size, 0);

  const boom = ex.submit(failing.failWithQuota, 1);
  const longer = ex.submit(sleepy.sleep, 1500, 'long');
  const exc = await withinMs(wait([longer, boom], { returnWhen: FIRST_EXCEPTION }), T, 'FIRST_EXCEPTION');
  assert.ok(exc.done.has(boom));
  assert.ok(exc.notDone.has(longer));
  // With no failure, FIRST_EXCEPTION waits for all.
  const ok = await withinMs(wait([ex.submit(math.square, 2), ex.submit(math.square, 3)], { returnWhen: FIRST_EXCEPTION }), T, 'FIRST_EXCEPTION without failures');
  assert.is(ok.done.size, 2);

  const hang = ex.submit(sleepy.sleep, 1500, 'later');
  const timed = await wait([hang], { timeout: 10 });
  assert.is(timed.done.size, 0);
  assert.ok(timed.notDone.has(hang), 'timeout returns the sets as they are');
  await hang;
  await longer;
});

test('asCompleted yields futures in completion order; done ones first; timeout', async () => {
  const ex = track(new ProcessPoolExecutor({ maxWorkers: 3 }));
  await allStarted(ex, 3);
  const done = ex.submit(math.square, 1);
  await done;
  const slow = ex.submit(sleepy.sleep, 1500, 'slow');
  const mid = ex.submit(sleepy.sleep, 500, 'mid');
  const quick = ex.submit(sleepy.sleep, 0, 'quick');
  const order: unknown[] = [];
  await withinMs(
    (async () => {
      for await (const f of asCompleted([slow, mid, quick, done])) order.push(await f.result());
    })(),
    T,
    'asCompleted',
  );
  assert.equal(order, [1, 'quick', 'mid', 'slow']);
  // A failed future is yielded, not thrown: awaiting it throws.
  const bad = ex.submit(failing.failWithQuota, 2);
  for await (const f of asCompleted([bad])) assert.instance(await f.exception(), RemoteError);

  const never = ex.submit(sleepy.sleep, 2000, 'late');
  await rejection(
    (async () => {
      for await (const f of asCompleted([never], { timeout: 50 })) void f;
    })(),
    TimeoutError,
    'asCompleted with timeout 50 over a 2 s task',
  );
  await never;
});

test('cancel(): a pending future is cancelled, a running one is not', async () => {
  const ex = shared(1);
  const running = ex.submit(sleepy.sleep, 800, 'ran');
  await new Promise((r) => setTimeout(r, 100));
  const queued = ex.submit(math.square, 3);
  assert.ok(running.running(), 'the first task is running');
  assert.not.ok(queued.running());
  assert.is(queued.cancel(), true);
  assert.is(queued.cancel(), true, 'cancel() again still reports cancelled');
  assert.ok(queued.cancelled());
  assert.ok(queued.done());
  await rejection(queued.result(), CancelledError, 'result() of a cancelled future');
  await rejection(queued.exception(), CancelledError, 'exception() of a cancelled future');
  assert.is(running.cancel(), false);
  assert.is(await withinMs(running.result(), T, 'running task'), 'ran');
  assert.is(running.cancel(), false, 'a finished future cannot be cancelled');
});

test('a future sent on into a worker busy with a long task is still pending: cancel() keeps it from running, no worker is killed', async () => {
  const ex = shared(1);
  const pid = await ex.submit(math.pid);
  rememberPid(pid);
  // A long task that lets the worker's event loop turn (sleep) and one that does not (spin).
  for (const long of [sleepy.sleep, sleepy.spinFor] as ((ms: number, value: string) => unknown)[]) {
    const first = ex.submit(long, 800, 'long');
    // More futures queued than workers: the next one is sent on into the busy worker.
    const behind = ['a', 'b', 'c', 'd'].map((tag) => ex.submit(trace.mark, tag));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(first.running(), 'the long task is running');
    assert.not.ok(behind[0]!.running(), 'a future waiting behind it is not');
    assert.ok(behind[0]!.cancel(), 'cancel() succeeds on a future waiting inside the worker');
    assert.ok(behind[2]!.cancel());
    assert.is(await withinMs(first.result(), T, 'the long task'), 'long');
    assert.equal(await withinMs(Promise.all([behind[1]!, behind[3]!]), T, 'the futures not cancelled'), ['b', 'd']);
  }
  assert.is(await ex.submit(math.pid), pid, 'no worker was killed');
  assert.equal(await ex.submit(trace.marks), ['b', 'd', 'b', 'd'], 'the cancelled futures never ran');
});

test('shutdown: waits for pending work, cancelFutures cancels the queued ones, submit afterwards throws', async () => {
  const ex = track(new ProcessPoolExecutor({ maxWorkers: 1 }));
  const a = ex.submit(sleepy.sleep, 300, 'a');
  await new Promise((r) => setTimeout(r, 50));
  const b = ex.submit(math.square, 2);
  const c = ex.submit(math.square, 3);
  await withinMs(ex.shutdown({ cancelFutures: true }), T, 'shutdown');
  assert.is(await a, 'a');
  assert.ok(b.cancelled() && c.cancelled(), 'queued futures were cancelled');
  assert.throws(() => ex.submit(math.square, 1), (e: unknown) => e instanceof InvalidStateError && /after shutdown/.test((e as Error).message));
  await rejection(collect(ex.map(math.square, [1]), 'map after shutdown'), InvalidStateError, 'map after shutdown');
  await ex.shutdown(); // idempotent

  const ex2 = track(new ProcessPoolExecutor({ maxWorkers: 2 }));
  const futures = [1, 2, 3, 4].map((x) => ex2.submit(sleepy.sleep, 50, x));
  await withinMs(ex2.shutdown(), T, 'shutdown(wait)');
  assert.ok(futures.every((f) => f.done()));
  assert.equal(await Promise.all(futures), [1, 2, 3, 4]);
});

test('await using shuts the executor down; initializer and maxTasksPerChild work as in Pool', async () => {
  let pids: number[] = [];
  {
    await using ex = new ProcessPoolExecutor({ maxWorkers: 1, maxTasksPerChild: 1, initializer: table.initTable, initargs: [[['k', 7]]] });
    assert.is(await ex.submit(table.lookup, 'k'), 7);
    for (let i = 0; i < 3; i++) pids.push(await ex.submit(math.pid));
  }
  pids.forEach(rememberPid);
  assert.is(new Set(pids).size, 3, 'one worker per task');
});

test("new ProcessPoolExecutor(4) and (4, options), as Python's positional max_workers; other forms refused, starting nothing", async () => {
  // Before: a number was refused ("expects an options object").
  const ex = track(new ProcessPoolExecutor(2, { initializer: table.initTable, initargs: [[['k', 9]]] }));
  assert.is(await withinMs(ex.submit(table.lookup, 'k').result(), 20_000, 'lookup in an executor made with (2, options)'), 9);
  const napPid = async (ms: number) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return process.pid;
  };
  const pids = await withinMs(Promise.all([0, 1, 2, 3].map(() => ex.submit(napPid, 150).result())), 20_000, 'four tasks on two workers');
  pids.forEach(rememberPid);
  assert.is(new Set(pids).size, 2, `two workers: ${pids}`);
  const made: ProcessPoolExecutor[] = [];
  const anyExecutor = ProcessPoolExecutor as unknown as new (...args: unknown[]) => ProcessPoolExecutor;
  const refused = (args: unknown[], message: RegExp, what: string) =>
    assert.throws(
      () => made.push(track(new anyExecutor(...args))),
      (e: unknown) => e instanceof TypeError && (e as { code?: string }).code === 'MP_INVALID_ARG' && message.test((e as Error).message),
      what,
    );
  refused([2, table.initTable, [[]]], /Python's positional initializer and initargs go in the options object/, 'positional initializer');
  refused([2, { maxWorkers: 3 }], /must not name it again/, 'maxWorkers twice');
  refused([{ maxWorkers: 2 }, {}], /takes one options object/, 'options twice');
  refused([2, { max_tasks_per_child: 1 }], /unknown option "max_tasks_per_child" \(did you mean maxTasksPerChild\?\)/, 'a Python spelling');
  refused(['2'], /expects new ProcessPoolExecutor\(maxWorkers\?/, 'a string');
  assert.is(made.length, 0);
});

test('a broken initializer fails pending futures and makes submit throw BrokenProcessPool', async () => {
  const ex = track(new ProcessPoolExecutor({ maxWorkers: 1, initializer: table.failingInit, initargs: ['nope'] }));
  const f = ex.submit(math.square, 2);
  assert.instance(await withinMs(f.exception(), T, 'future on a broken executor'), RemoteError);
  assert.throws(() => ex.submit(math.square, 2), (e: unknown) => (e as Error).name === 'BrokenProcessPool');
  await ex.shutdown();
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
