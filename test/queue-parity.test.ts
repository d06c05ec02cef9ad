// Queue errors as Python's queue module raises them, over real processes: a get({ timeout })
// that expires is queue.Empty and a put({ timeout }) queue.Full (each carrying `timeout`),
// wherever the queue lives; and Python 3.13's Queue.shutdown({ immediate }) with ShutDown,
// called from any process, waking blocked getters and putters everywhere.
import { suite } from 'uvu';
import { Empty, Event, Full, JoinableQueue, Manager, Pipe, Queue, ShutDown, TimeoutError, tasks } from '../src/index.ts';
import { assert, disposeAllAndCheckLeaks, track, waitFor, withinMs, startProcess as start, failure } from './helpers.ts';

const work = tasks<typeof import('./fixtures/queue-parity-work.ts')>(new URL('./fixtures/queue-parity-work.ts', import.meta.url));
const test = suite('queue-parity');

const emptyAfter = (timeout: number) => ({ name: 'Empty', code: 'MP_EMPTY', timeout, empty: true, full: false, shutDown: false, timeoutError: false });
const fullAfter = (timeout: number) => ({ name: 'Full', code: 'MP_FULL', timeout, empty: false, full: true, shutDown: false, timeoutError: false });
const nowait = (name: 'Empty' | 'Full') => ({ ...(name === 'Empty' ? emptyAfter(0) : fullAfter(0)), timeout: undefined });
const shutDown = { name: 'ShutDown', code: 'MP_SHUTDOWN', timeout: undefined, empty: false, full: false, shutDown: true, timeoutError: false };

// ---------------------------------------------------------------------------------------
// queue.Empty / queue.Full on timeouts

test('get({ timeout }) that expires rejects with Empty and put({ timeout }) with Full, carrying the timeout (creating process)', async () => {
  const q = new Queue<number>(1);
  const got = await failure(q.get({ timeout: 30 }), 'get({ timeout: 30 }) on an empty queue');
  assert.instance(got, Empty);
  assert.is(got.code, 'MP_EMPTY');
  assert.is(got.timeout, 30);
  assert.not.instance(got, TimeoutError, 'Python: queue.Empty is not a TimeoutError');
  assert.match(got.message, /timed out after 30 ms/);
  assert.instance(await failure(q.get({ timeout: 0 }), 'get({ timeout: 0 })'), Empty);
  await q.put(1);
  const put = await failure(q.put(2, { timeout: 30 }), 'put({ timeout: 30 }) on a full queue');
  assert.instance(put, Full);
  assert.is(put.code, 'MP_FULL');
  assert.is(put.timeout, 30);
  assert.not.instance(put, TimeoutError);
  assert.instance(await failure(q.put(2, { timeout: 0 }), 'put({ timeout: 0 })'), Full);
  assert.is((await failure(q.getNowait().then(() => q.getNowait()), 'getNowait() twice')).timeout, undefined, 'getNowait: no timeout');
});

test('a child sees Empty and Full for timeouts on a queue another process hosts', async () => {
  const empty = new Queue<number>();
  const full = new Queue<number>(1);
  await full.put(1);
  const out = new Queue<Record<string, unknown>>();
  const p = start(work.timeouts, [empty, full, out]);
  const report = await withinMs(out.get(), 20_000, 'the timeouts report');
  assert.equal(report, {
    get: emptyAfter(100),
    get0: emptyAfter(0),
    put: fullAfter(100),
    put0: fullAfter(0),
    getNowait: nowait('Empty'),
    putNowait: nowait('Full'),
  });
  await p.join();
  assert.is(p.exitCode, 0);
});

test("a Manager's queue times out with Empty and Full too", async () => {
  const m = track(await Manager.start());
  const q = await m.queue<number>(1);
  const got = await failure(q.get({ timeout: 50 }), "manager queue get({ timeout: 50 })");
  assert.instance(got, Empty);
  assert.is(got.timeout, 50);
  await q.put(1);
  const put = await failure(q.put(2, { timeout: 50 }), 'manager queue put({ timeout: 50 }) when full');
  assert.instance(put, Full);
  assert.is(put.timeout, 50);
});

test("a pipe's recv({ timeout }) still rejects with TimeoutError (a Connection is not a queue)", async () => {
  const [a, b] = Pipe<number>();
  const err = await failure(b.recv({ timeout: 20 }), 'recv({ timeout: 20 })');
  assert.instance(err, TimeoutError);
  assert.not.instance(err, Empty);
  await a.close();
  await b.close();
});

// ---------------------------------------------------------------------------------------
// shutdown({ immediate }) and ShutDown

test('after shutdown() puts fail with ShutDown; gets drain what is left, then fail (getNowait too)', async () => {
  const q = new Queue<number>();
  await q.put(1);
  await q.put(2);
  await q.shutdown();
  const put = await failure(q.put(3), 'put() after shutdown()');
  assert.instance(put, ShutDown);
  assert.is(put.code, 'MP_SHUTDOWN');
  assert.instance(await failure(q.putNowait(3), 'putNowait() after shutdown()'), ShutDown);
  assert.is(await q.get(), 1);
  assert.is(await q.getNowait(), 2);
  assert.instance(await failure(q.get(), 'get() on an empty shut-down queue'), ShutDown);
  assert.instance(await failure(q.getNowait(), 'getNowait() on an empty shut-down queue'), ShutDown, 'ShutDown wins over Empty, as in Python');
  assert.instance(await failure(q.get({ timeout: 1000 }), 'get({ timeout }) on an empty shut-down queue'), ShutDown);
  await q.shutdown(); // idempotent
});

test('shutdown() wakes a blocked get() and a blocked put() in the creating process', async () => {
  const empty = new Queue<number>();
  const full = new Queue<number>(1);
  await full.put(1);
  const get = failure(empty.get(), 'the blocked get()');
  const put = failure(full.put(2), 'the blocked put()');
  await empty.shutdown();
  await full.shutdown();
  assert.instance(await get, ShutDown);
  assert.instance(await put, ShutDown);
  assert.is(await full.get(), 1, 'a shut-down queue still hands out what it holds');
});

test("shutdown() in the host wakes a child's blocked get() and put() with ShutDown", async () => {
  const empty = new Queue<number>();
  const full = new Queue<number>(1);
  await full.put(1);
  const waiting = new Event();
  const out = new Queue<Record<string, unknown>>();
  const p = start(work.blockedUntilShutdown, [empty, full, waiting, out]);
  await withinMs(waiting.wait(), 20_000, 'the child to block in get() and put()');
  await empty.shutdown();
  await full.shutdown();
  assert.equal(await withinMs(out.get(), 20_000, "the child's report"), { get: shutDown, put: shutDown });
  await p.join();
});

test("shutdown() from a child wakes the host's own blocked get()", async () => {
  const q = new Queue<number>();
  const blocked = failure(q.get(), 'the blocked get() in the host');
  const p = start(work.shutDown, [q, false]);
  assert.instance(await blocked, ShutDown);
  await p.join();
  assert.is(p.exitCode, 0);
});

test('after shutdown() consumers in children drain every item exactly once, then end with ShutDown', async () => {
  const q = new Queue<number>();
  for (let i = 0; i < 40; i++) await q.put(i);
  await q.shutdown();
  const out = new Queue<{ got: number[]; end: Record<string, unknown> }>();
  const ps = [start(work.drainUntilShutDown, [q, out]), start(work.drainUntilShutDown, [q, out])];
  const reports = [await withinMs(out.get(), 30_000, 'consumer report 1'), await withinMs(out.get(), 30_000, 'consumer report 2')];
  const all = reports.flatMap((r) => r.got).sort((a, b) => a - b);
  assert.equal(all, Array.from({ length: 40 }, (_, i) => i), 'every item once');
  for (const r of reports) assert.equal(r.end, shutDown);
  await Promise.all(ps.map((p) => p.join()));
});

test('shutdown({ immediate: true }) from a child drops what is queued, counts it done so join() returns, and gets fail at once', async () => {
  const q = new JoinableQueue<number>();
  for (let i = 0; i < 10; i++) await q.put(i);
  const out = new Queue<number[]>();
  const consumer = start(work.takeAndFinish, [q, 3, out]);
  assert.equal(await withinMs(out.get(), 20_000, 'three items taken and done'), [0, 1, 2]);
  await consumer.join();
  let joined = false;
  const join = q.join().then(() => (joined = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.not.ok(joined, 'join() waits while 7 items are unfinished');
  const stopper = start(work.shutDown, [q, true]);
  await withinMs(join, 20_000, 'join() after the immediate shutdown');
  await stopper.join();
  assert.instance(await failure(q.get(), 'get() after an immediate shutdown'), ShutDown);
  await waitFor(async () => (await q.qsize()) === 0, 'the queue to be empty (items the consumer had prefetched are dropped as they come back)');
  assert.instance(await failure(q.put(1), 'put() after an immediate shutdown'), ShutDown);
});

test('shutdown({ immediate: true }) wakes a blocked get() at once though items were queued before', async () => {
  const q = new JoinableQueue<number>(2);
  await q.put(1);
  await q.put(2);
  const blockedPut = failure(q.put(3), 'the put() blocked on a full queue');
  await q.shutdown({ immediate: true });
  assert.instance(await blockedPut, ShutDown);
  assert.instance(await failure(q.getNowait(), 'getNowait() after an immediate shutdown'), ShutDown);
  await withinMs(q.join(), 5_000, 'join(): the two dropped items count as done');
});

test('a put made in another process after the shutdown never lands: its close() (or next put) rejects with ShutDown', async () => {
  const q = new Queue<number>();
  const go = new Event();
  const out = new Queue<Record<string, any>>();
  const p = start(work.putAfterShutdown, [q, go, out]);
  await q.shutdown();
  await go.set();
  const report = await withinMs(out.get(), 20_000, "the late producer's report");
  // An unbounded put resolves once buffered; the host refuses the batch, and the refusal is
  // reported by the next put or by close(), whichever comes after it arrived.
  for (const key of ['first', 'second'] as const) assert.ok('value' in report[key] || report[key].shutDown, `${key} put: ${JSON.stringify(report[key])}`);
  assert.ok(report.close.shutDown || report.second.shutDown, `close() or the second put reports ShutDown: ${JSON.stringify(report)}`);
  assert.is(await q.qsize(), 0, 'nothing was queued');
  await p.join();
});

test('shutdown() checks its options', async () => {
  const q = new Queue<number>();
  const err = await failure(q.shutdown({ immediate: 'yes' as never }), 'shutdown({ immediate: "yes" })');
  assert.is(err.code, 'MP_INVALID_ARG');
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
