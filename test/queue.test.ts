// Queue, JoinableQueue, SimpleQueue over real processes: sentinels, many producers and
// consumers, backpressure, timeouts, join, a killed consumer, a host that exits, hostile peers.
import { suite } from 'uvu';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuthenticationError,
  CancelledError,
  Empty,
  Event,
  Full,
  InvalidStateError,
  JoinableQueue,
  Pool,
  Queue,
  QueueClosed,
  RemoteError,
  SerializationError,
  SimpleQueue,
  TimeoutError,
  tasks,
} from '../src/index.ts';
import { connect } from '../src/remote/link.ts';
import { Host, HostClient } from '../src/remote/host.ts';
import { toHandle } from '../src/remote/handle.ts';
import { assert, disposeAllAndCheckLeaks, rejection, track, waitFor, withinMs, startProcess as start } from './helpers.ts';
import { docPayload } from './fixtures/queue-work.ts';

const work = tasks<typeof import('./fixtures/queue-work.ts')>(new URL('./fixtures/queue-work.ts', import.meta.url));
const test = suite('queue');


// ---------------------------------------------------------------------------------------
// In one process

test('FIFO, qsize/empty/full, nowait forms, timeouts and signals in the creating process', async () => {
  const q = new Queue<number>(2);
  assert.is(q.maxsize, 2);
  assert.ok(await q.empty());
  await q.put(1);
  await q.putNowait(2);
  assert.is(await q.qsize(), 2);
  assert.ok(await q.full());
  assert.is((await rejection(q.putNowait(3), Full, 'putNowait on a full queue')).code, 'MP_FULL');
  assert.is((await rejection(q.put(3, { timeout: 30 }), Full, 'put with timeout on a full queue')).code, 'MP_FULL');
  const ac = new AbortController();
  const blocked = q.put(3, { signal: ac.signal });
  ac.abort(new Error('stop'));
  const err = await rejection(blocked, CancelledError, 'put cancelled by its signal');
  assert.is(err.code, 'MP_CANCELLED');
  assert.is((err.cause as Error).message, 'stop');
  assert.is(await q.get(), 1);
  assert.is(await q.getNowait(), 2);
  assert.is((await rejection(q.getNowait(), Empty, 'getNowait on an empty queue')).code, 'MP_EMPTY');
  assert.is((await rejection(q.get({ timeout: 30 }), Empty, 'get with timeout on an empty queue')).code, 'MP_EMPTY');
  assert.is((await rejection(q.get({ timeout: NaN }), RangeError, 'NaN timeout')).code, 'MP_INVALID_ARG');
});

test('values cross by structured clone; an unserializable item is a SerializationError at put()', async () => {
  const q = new SimpleQueue<unknown>();
  const item = { a: [1, 'two', { three: 3n }], m: new Map([[1, new Set(['x'])]]), d: new Date(7), b: Buffer.from('hi'), s: 'lone \ud800', n: -0 };
  await q.put(item);
  item.a.push('mutated after put');
  const got = (await q.get()) as typeof item;
  assert.equal(got.a, [1, 'two', { three: 3n }]);
  assert.ok(got.m.get(1)!.has('x'));
  assert.is(got.d.getTime(), 7);
  assert.ok(Buffer.isBuffer(got.b));
  assert.is(got.s, 'lone \ud800');
  assert.ok(Object.is(got.n, -0));
  assert.is((await rejection(q.put(() => 1), SerializationError, 'put of a function')).argIndex, 0);
  assert.is(await q.qsize(), 0, 'nothing was queued by the failed put');
});

test('close(): later puts reject with QueueClosed, items already put are still delivered', async () => {
  const q = new Queue<string>();
  await q.put('a');
  await q.put('b');
  await q.close();
  assert.is((await rejection(q.put('c'), QueueClosed, 'put after close')).code, 'MP_QUEUE_CLOSED');
  assert.is(await q.get(), 'a');
  assert.is(await q.get(), 'b');
});

test('until(sentinel) ends at the sentinel, by Object.is or deep equality', async () => {
  const q = new Queue<unknown>();
  for (const v of [1, 2, { stop: true }, 3, 'STOP', 4, NaN, 5]) await q.put(v);
  const first: unknown[] = [];
  for await (const v of q.until({ stop: true })) first.push(v);
  assert.equal(first, [1, 2]);
  const second: unknown[] = [];
  for await (const v of q.until('STOP')) second.push(v);
  assert.equal(second, [3]);
  const third: unknown[] = [];
  for await (const v of q.until(NaN)) third.push(v);
  assert.equal(third, [4]);
  assert.is(await q.get(), 5);
});

test('JoinableQueue in one process: join waits for taskDone; too many taskDone is an InvalidStateError', async () => {
  const q = new JoinableQueue<number>();
  await q.put(1);
  await q.put(2);
  let joined = false;
  const j = q.join().then(() => (joined = true));
  await q.get();
  await q.taskDone();
  await new Promise((r) => setTimeout(r, 20));
  assert.not.ok(joined, 'join() resolved with a task still unfinished');
  await q.get();
  await q.taskDone();
  await withinMs(j, 2000, 'join after the last taskDone');
  assert.is((await rejection(q.taskDone(), InvalidStateError, 'one taskDone too many')).code, 'MP_INVALID_STATE');
});

// ---------------------------------------------------------------------------------------
// Across processes

test('a put() from a getter of an item being put on the same queue is refused; the items around it arrive intact in a child', async () => {
  const q = new Queue<unknown>();
  const out = new Queue<{ got: unknown[] }>();
  const c = start(work.collect, [q, out, 'END']);
  const inner: Promise<void>[] = [];
  const plain = {
    get x(): number {
      inner.push(q.put(99), q.put('inner'));
      return 1;
    },
  };
  const cloned = {
    m: new Map([[1, 2]]), // not plain data: packed through v8, which reads the getter too
    get y(): number {
      inner.push(q.put(98));
      return 2;
    },
  };
  await q.put(plain);
  await q.put(cloned);
  await q.put('END');
  for (const r of await Promise.allSettled(inner)) {
    assert.is(r.status, 'rejected');
    assert.instance((r as PromiseRejectedResult).reason, InvalidStateError);
  }
  const report = await withinMs(out.get(), 20_000, 'the consumer child reporting');
  assert.equal(report.got, [{ x: 1 }, { m: new Map([[1, 2]]), y: 2 }]);
  await c.join();
});

test('producer child -> consumer parent with a sentinel, and parent -> consumer child', async () => {
  const q = new Queue<number | null>();
  const p = start(work.produce, [q, 0, 1000, null, 1]);
  const got: unknown[] = [];
  for await (const v of q.until(null)) got.push(v);
  assert.equal(got, Array.from({ length: 1000 }, (_, i) => i), 'FIFO from one producer');
  await p.join();
  assert.is(p.exitCode, 0);

  const out = new Queue<{ got: unknown[] }>();
  const c = start(work.collect, [q, out, 'END']);
  for (let i = 0; i < 500; i++) await q.put(i);
  await q.put('END' as never);
  const report = await withinMs(out.get(), 20_000, 'the consumer child reporting');
  assert.equal(report.got, Array.from({ length: 500 }, (_, i) => i));
  await c.join();
});

test('until() in a child: next() calls made together stop at the sentinel; return() before next() takes nothing; what follows a loop left early stays for another process', async () => {
  const q = new Queue<unknown>();
  const out = new Queue<Record<string, unknown>>();
  for (const v of [1, 2, 3, 'END', 4, 5, 6, 7, 8, 'END2']) await q.put(v);
  const c = start(work.untilOrder, [q, out]);
  const report = await withinMs(out.get(), 20_000, 'the child reporting');
  assert.equal(report.together, [
    { value: 1, done: false },
    { value: 2, done: false },
    { value: 3, done: false },
    { value: undefined, done: true },
    { value: undefined, done: true },
  ]);
  assert.is(report.afterSentinel, 4, 'the item after the sentinel is still queued');
  assert.equal(report.returned, { value: undefined, done: true });
  assert.equal(report.looped, [5, 6]);
  assert.equal([await q.get(), await q.get(), await q.get()], [7, 8, 'END2']);
  await c.join();
  assert.is(c.exitCode, 0);
});

test('4 producers x 4 consumers move 200,000 numbered items: none lost, none duplicated', async () => {
  const q = new Queue<number | null>();
  const out = new Queue<{ pid: number; got: number[] }>();
  const per = 50_000;
  const producers = [0, 1, 2, 3].map((k) => start(work.produce, [q as Queue<unknown>, k * per, (k + 1) * per, null, 0]));
  const consumers = [0, 1, 2, 3].map(() => start(work.collect, [q, out, null]));
  await withinMs(Promise.all(producers.map((p) => p.join())), 60_000, 'producers');
  for (const p of producers) assert.is(p.exitCode, 0);
  for (let i = 0; i < 4; i++) await q.put(null);
  const seen = new Set<number>();
  let total = 0;
  for (let i = 0; i < 4; i++) {
    const { got } = await withinMs(out.get(), 60_000, 'a consumer report');
    total += got.length;
    for (const n of got) seen.add(n);
  }
  await Promise.all(consumers.map((c) => c.join()));
  assert.is(total, 4 * per, 'items received');
  assert.is(seen.size, 4 * per, 'distinct items received');
  assert.is(await q.qsize(), 0);
});

test('items keep their bytes while the buffers of the frames they came in are reused: 2 producers, 2 consumers and gets in the host', async () => {
  // The host reuses a put batch's buffer once every item of it was acknowledged or taken
  // here, and each consumer a take reply's once it took every item: items read from a
  // buffer reused too early would carry another item's bytes.
  const q = new Queue<{ id: number; payload: string } | null>();
  const out = new Queue<{ ids: number[]; bad: number }>();
  const per = 10_000;
  const producers = [0, 1].map((k) => start(work.produceDocs, [q as Queue<unknown>, k * per, (k + 1) * per]));
  const consumers = [0, 1].map(() => start(work.collectDocs, [q, out]));
  const ids: number[] = [];
  let bad = 0;
  for (let i = 0; i < 3000; i++) {
    const doc = (await withinMs(q.get(), 30_000, 'a get in the host'))!;
    if (doc.payload !== docPayload(doc.id)) bad++;
    ids.push(doc.id);
  }
  await withinMs(Promise.all(producers.map((p) => p.join())), 60_000, 'producers');
  await q.put(null);
  await q.put(null);
  for (let i = 0; i < 2; i++) {
    const report = await withinMs(out.get(), 60_000, 'a consumer report');
    ids.push(...report.ids);
    bad += report.bad;
  }
  await Promise.all(consumers.map((c) => c.join()));
  assert.is(bad, 0, 'items whose payload is not theirs');
  assert.is(ids.length, 2 * per, 'items received');
  assert.is(new Set(ids).size, 2 * per, 'distinct items received');
});

test('backpressure: a producer blocked on a full queue resumes when a consumer gets', async () => {
  const q = new Queue<number>(2);
  const progress = new Queue<number>();
  const p = start(work.boundedProducer, [q, 5, progress]);
  await waitFor(async () => (await q.qsize()) === 2, 'the queue to fill up', 20_000);
  // The producer has put 2 items and is now blocked on the third: its progress stops at 1.
  await new Promise((r) => setTimeout(r, 200));
  assert.is(await q.qsize(), 2, 'never above maxsize');
  assert.is(await progress.get({ timeout: 5000 }), 0);
  assert.is(await progress.get({ timeout: 5000 }), 1);
  await rejection(progress.get({ timeout: 100 }), Empty, 'no progress while full');
  const got: number[] = [];
  for (let i = 0; i < 5; i++) {
    got.push(await q.get({ timeout: 10_000 }));
    assert.ok((await q.qsize()) <= 2, 'never above maxsize');
  }
  assert.equal(got, [0, 1, 2, 3, 4]);
  await p.join();
  assert.is(p.exitCode, 0);
});

test('timeouts and nowait forms in a child reject with Empty and Full, as Python\'s queue module', async () => {
  const empty = new Queue<number>();
  const full = new Queue<number>(1);
  await full.put(1);
  const out = new Queue<Record<string, unknown>>();
  const p = start(work.timeouts, [empty, full, out]);
  const report = await withinMs(out.get(), 20_000, 'the timeouts report');
  assert.equal(report, {
    get: ['Empty', 'MP_EMPTY'],
    put: ['Full', 'MP_FULL'],
    getNowait: ['Empty', 'MP_EMPTY'],
    putNowait: ['Full', 'MP_FULL'],
  });
  await p.join();
});

test('JoinableQueue.join() across processes resolves when every item is marked done', async () => {
  const q = new JoinableQueue<number | null>();
  const results = new Queue<number>();
  const workers = [0, 1].map(() => start(work.joinWorker, [q, results]));
  for (let i = 0; i < 20; i++) await q.put(i);
  await q.put(null);
  await q.put(null);
  await withinMs(q.join(), 30_000, 'JoinableQueue.join()');
  assert.is(await results.qsize(), 20, 'every task finished before join() resolved');
  const doubled: number[] = [];
  for (let i = 0; i < 20; i++) doubled.push(await results.get());
  assert.equal(doubled.sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => 2 * i));
  await Promise.all(workers.map((w) => w.join()));
});

test('a SIGKILLed consumer loses nothing; the other consumer is unaffected', async () => {
  const file = join(tmpdir(), `mp-killed-consumer-${process.pid}.txt`);
  writeFileSync(file, '');
  try {
    const q = new Queue<number | null>();
    const ready = new Queue<number>();
    const out = new Queue<{ got: number[] }>();
    for (let i = 0; i < 300; i++) await q.put(i);
    const victim = start(work.slowConsumer, [q, file, ready]);
    await ready.get();
    const survivor = start(work.collect, [q, out, null, 5]);
    await waitFor(() => readFileSync(file, 'utf8').split('\n').filter(Boolean).length >= 10, 'the victim to take 10 items', 20_000);
    victim.kill();
    await victim.join();
    assert.is(victim.exitCode, -9);
    await q.put(null);
    const { got } = await withinMs(out.get(), 30_000, 'the surviving consumer');
    await survivor.join();
    const taken = readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
    assert.is(new Set(got).size, got.length, 'the survivor got no item twice');
    const all = new Set([...got, ...taken]);
    assert.is(all.size, 300, 'every item reached user code in one of the consumers');
    // An item the victim took in the instant before SIGKILL, before its acknowledgement
    // left, may be delivered again: at most that one.
    const both = taken.filter((n) => got.includes(n));
    assert.ok(both.length <= 1, `items delivered to both consumers: ${both}`);
  } finally {
    rmSync(file, { force: true });
  }
});

test('when the process hosting a queue exits, a blocked get() rejects with QueueClosed', async () => {
  const out = new Queue<{ queue: Queue<number>; pid: number }>();
  const go = new Event();
  const host = start(work.hostThenExit, [out, go]);
  const { queue, pid } = await withinMs(out.get(), 20_000, 'the queue from the child');
  assert.ok(queue instanceof Queue);
  const blocked = queue.get();
  await go.set();
  const err = await rejection(blocked, QueueClosed, 'the blocked get on a queue whose host exited', 20_000);
  assert.is(err.code, 'MP_QUEUE_CLOSED');
  assert.match(err.message, String(pid));
  await host.join();
  await rejection(queue.put(1).then(() => queue.close()), QueueClosed, 'put to a queue whose host exited');
});

test('a queue reaches a grandchild (a handle passed on by a child)', async () => {
  const q = new Queue<number>();
  const p = start(work.viaGrandchild, [q, 100]);
  const got: number[] = [];
  for await (const v of q.until(-1)) got.push(v);
  assert.equal(got, Array.from({ length: 100 }, (_, i) => i));
  await p.join();
  assert.is(p.exitCode, 0);
});

test('handles travel inside items: a queue sent to a child and back is the same queue', async () => {
  const q = new Queue<unknown>();
  const inner = new Queue<string>();
  const out = new Queue<{ got: unknown[] }>();
  const c = start(work.collect, [q, out, null]);
  await q.put({ reply: inner });
  await q.put(null);
  const { got } = await withinMs(out.get(), 20_000, 'the child echoing the queue');
  const back = (got[0] as { reply: Queue<string> }).reply;
  assert.ok(back instanceof Queue && back !== inner);
  await back.put('round trip');
  assert.is(await inner.get(), 'round trip', 'both objects reach the same queue (directly, in its own process)');
  await c.join();
});

test('a queue is a Pool task argument (Python refuses this) and a Pool initarg', async () => {
  const results = new Queue<[number, number]>();
  const kept = new Queue<number>();
  const pool = track(new Pool({ processes: 2, initializer: work.keepQueue, initargs: [kept] }));
  const pids = await withinMs(pool.starmap(work.squareOnto, [1, 2, 3, 4].map((x) => [results, x] as [Queue<[number, number]>, number])), 20_000, 'starmap with a queue argument');
  assert.is(pids.length, 4);
  const got = new Map<number, number>();
  for (let i = 0; i < 4; i++) {
    const [x, sq] = await withinMs(results.get(), 10_000, 'results from pool workers');
    got.set(x, sq);
  }
  assert.equal([...got.entries()].sort((a, b) => a[0] - b[0]), [[1, 1], [2, 4], [3, 9], [4, 16]]);
  await withinMs(pool.map(work.putOnKept, [1, 2, 3]), 20_000, 'map putting onto the initarg queue');
  const tens = [await kept.get({ timeout: 10_000 }), await kept.get({ timeout: 10_000 }), await kept.get({ timeout: 10_000 })];
  assert.equal(tens.sort((a, b) => a - b), [10, 20, 30]);
  await pool.terminate();
});

test('a pool task may return a queue it made, inside an object or as the value: the parent gets a working proxy', async () => {
  const pool = track(new Pool(1));
  const [made] = await withinMs(pool.map(work.madeHere, ['first']), 20_000, 'map returning a queue inside an object');
  assert.ok(made!.q instanceof Queue, 'the handle was revived, not left a plain record');
  assert.is(await withinMs(made!.q.get(), 10_000, 'get from the queue the worker hosts'), 'first');
  const bare = await withinMs(pool.apply(work.madeHereBare, ['second']), 20_000, 'apply returning a queue');
  assert.ok(bare instanceof Queue);
  assert.is(await withinMs(bare.get(), 10_000, 'get from the second queue'), 'second');
  await pool.terminate();
});

test('Host: method dispatch by allow-list, reference counts, leases and closed connections release objects', async () => {
  const host = new Host({ leaseTimeout: 100 });
  await host.listen();
  const released: string[] = [];
  const thing = { ping: (x: number) => x + 1, slow: () => new Promise((r) => setTimeout(() => r('late'), 10)), secret: () => 'no' };
  const id = host.register(thing, { kind: 'thing', exposed: ['ping', 'slow'], onRelease: () => released.push('a') });
  const handle = host.handle(id); // a transit lease
  const client = HostClient.for(handle.address, handle.authkey);
  client.incref(id, true); // claims the lease
  assert.is(await client.call(id, 'ping', [41]), 42);
  assert.is(await client.call(id, 'slow', []), 'late', 'a method may return a Promise');
  // A TypeError (MP_INVALID_ARG) thrown at the host: it crosses as a RemoteError keeping its name and code.
  const hidden = await rejection(client.call(id, 'secret', []), RemoteError, 'a method that is not exposed');
  assert.is(hidden.remoteName, 'TypeError');
  assert.is(hidden.properties.code, 'MP_INVALID_ARG');
  await new Promise((r) => setTimeout(r, 200));
  assert.is(await client.call(id, 'ping', [1]), 2, 'the connection reference outlives the lease');
  client.decref(id);
  await waitFor(() => released.includes('a'), 'the object to be released after its last reference', 5000);
  // Its exact class and code (ReleasedError, MP_RELEASED) are checked in protocol-version.test.ts.
  await rejection(client.call(id, 'ping', [1]), InvalidStateError, 'a call to a released object');

  host.register({}, { kind: 'thing', exposed: [], id: 'b', onRelease: () => released.push('b') });
  host.handle('b'); // never claimed
  await waitFor(() => released.includes('b'), 'an unclaimed lease to expire', 5000);

  host.register({}, { kind: 'thing', exposed: [], id: 'c', onRelease: () => released.push('c') });
  client.incref('c', false);
  await client.call('c', 'ping', []).catch(() => {}); // a round trip: the incref has arrived
  assert.not.ok(released.includes('c'));
  client.close();
  await waitFor(() => released.includes('c'), 'a closed connection to drop its references', 5000);
  await host.close();
});

// ---------------------------------------------------------------------------------------
// Hostile peers

test('garbage and oversized frames close that connection only; the host keeps serving', async () => {
  const q = new Queue<number>();
  const handle = q[toHandle]();
  const address = handle.address as string;
  // Every dropped connection is an event on the library's diagnostics channel (on stderr
  // they are rate-limited warnings, src/diagnostics.ts).
  const logged: string[] = [];
  const onEvent = (e: unknown) => void ((e as { code?: string }).code === 'MP_HOST_DROPPED' && logged.push((e as { message: string }).message));
  subscribe('multiproc', onEvent);
  try {
    for (const payload of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])]) {
      await withinMs(
        new Promise<void>((resolve) => {
          const s = netConnect({ path: address }, () => s.write(payload));
          s.resume(); // read, so that the host closing the connection is noticed
          s.on('error', () => {});
          s.on('close', () => resolve());
        }),
        5000,
        'the host closing a hostile connection',
      );
    }
  } finally {
    unsubscribe('multiproc', onEvent);
  }
  assert.ok(logged.length >= 1 && logged.every((l) => l.includes('multiproc host')), `logged: ${logged.join('')}`);
  const p = start(work.produce, [q, 0, 10, -1, 1]);
  const got: number[] = [];
  for await (const v of q.until(-1)) got.push(v);
  assert.equal(got, Array.from({ length: 10 }, (_, i) => i));
  await p.join();
});

test('a wrong authkey fails with AuthenticationError, in this process and in a child', async () => {
  const q = new Queue<number>();
  const handle = q[toHandle]();
  const wrong = Buffer.alloc(32, 7);
  const logged: string[] = [];
  const onEvent = (e: unknown) => void ((e as { code?: string }).code === 'MP_HOST_DROPPED' && logged.push((e as { message: string }).message));
  subscribe('multiproc', onEvent);
  try {
    const link = connect(handle.address, wrong, { onMessage: () => {}, onClose: () => {} });
    assert.is((await rejection(link.ready, AuthenticationError, 'handshake with a wrong key')).code, 'MP_AUTH');
    await waitFor(() => logged.some((l) => l.includes('authkey')), 'the host to log the refused connection', 5000);
    const out = new Queue<unknown>();
    const p = start(work.getWithHandle, [{ ...handle, authkey: wrong.toString('hex') }, out]);
    logged.length = 0;
    assert.equal(await withinMs(out.get(), 20_000, 'the child report'), ['AuthenticationError', 'MP_AUTH']);
    await p.join();
    await waitFor(() => logged.length > 0, 'the host to log the refused child', 5000);
  } finally {
    unsubscribe('multiproc', onEvent);
  }
  assert.is(logged.length, 1, `one line per refused connection: ${logged.join('')}`);
  await q.put(5);
  assert.is(await q.get(), 5, 'the host still serves');
});

test.after(disposeAllAndCheckLeaks);
test.run();
