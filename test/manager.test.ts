// Manager over real processes: factories and proxy semantics, atomicity under concurrency
// (4 processes, pool workers), nesting, grandchildren, server errors, shutdown and server
// death (never a hang), owner death, and reference counting that frees objects.
import { suite } from 'uvu';
import { spawn } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InvalidStateError, ManagerError, QueueClosed, RemoteError, SerializationError } from '../src/errors.ts';
import { ArrayProxy, DictProxy, ListProxy, Manager, NamespaceProxy, ValueProxy } from '../src/manager/index.ts';
import { Pool } from '../src/process/pool.ts';
import { Process } from '../src/process/process.ts';
import { pidAlive } from '../src/process/spawn.ts';
import { tasks } from '../src/process/task.ts';
import { Queue } from '../src/queue/queue.ts';
import { assert, disposeAllAndCheckLeaks, rejection, rememberPid, track, waitFor, withinMs } from './helpers.ts';

const work = tasks<typeof import('./fixtures/manager-work.ts')>(new URL('./fixtures/manager-work.ts', import.meta.url));
const test = suite('manager');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let manager: Manager;


/**
 * The server's object count once garbage from earlier tests has been collected here and
 * freed there: collect until two successive counts agree.
 */
async function settledObjects(m: Manager): Promise<number> {
  let last = -1;
  for (;;) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
    const now = (await m.stats()).objects;
    if (now === last) return now;
    last = now;
  }
}

async function run(target: (...args: any[]) => unknown, args: unknown[]): Promise<Process<any>> {
  const p = track(new Process({ target, args }));
  p.start();
  await withinMs(p.join(), 60_000, `process ${p.name} to finish`);
  return p;
}

test.before(async () => {
  manager = track(await withinMs(Manager.start(), 30_000, 'Manager.start()'));
});

test('start: a separate server process with an address; toString says so', async () => {
  assert.type(manager.pid, 'number');
  assert.is.not(manager.pid, process.pid);
  assert.ok(pidAlive(manager.pid!));
  assert.type(manager.address, 'string');
  assert.match(String(manager), /started at /);
});

test('list: append, extend, get/set with negative indices, pop, insert, remove, index, count, toArray, iteration', async () => {
  const lst = await manager.list<number>([1, 2]);
  assert.instance(lst, ListProxy);
  await lst.append(3);
  await lst.extend([4, 5]);
  await lst.extend(new Set([6]));
  assert.is(await lst.len(), 6);
  assert.is(await lst.get(0), 1);
  assert.is(await lst.get(-1), 6);
  await lst.set(-2, 50);
  assert.is(await lst.pop(), 6);
  assert.is(await lst.pop(0), 1);
  await lst.insert(0, 0);
  await lst.insert(100, 99); // clamped, as in Python
  await lst.append(2);
  await lst.remove(2);
  assert.equal(await lst.toArray(), [0, 3, 4, 50, 99, 2]);
  assert.is(await lst.index(2), 5);
  assert.is(await lst.count(2), 1);
  assert.ok(await lst.includes(50));
  assert.equal(await lst.slice(1, 3), [3, 4]);
  const seen: number[] = [];
  for await (const x of lst) seen.push(x);
  assert.equal(seen, [0, 3, 4, 50, 99, 2]);
  await lst.reverse();
  assert.is(await lst.get(0), 2);
  await lst.clear();
  assert.is(await lst.len(), 0);
});

test('list of objects: deep equality for remove/index/count; values are copies', async () => {
  const lst = await manager.list<{ a: number[] }>();
  const item = { a: [1, 2] };
  await lst.append(item);
  item.a.push(3); // a later mutation does not reach the server (the value was copied)
  assert.equal(await lst.get(0), { a: [1, 2] });
  assert.is(await lst.count({ a: [1, 2] }), 1);
  await lst.remove({ a: [1, 2] });
  assert.is(await lst.len(), 0);
});

test('async iteration crosses slice boundaries', async () => {
  const lst = await manager.list<number>(Array.from({ length: 2500 }, (_, i) => i));
  let n = 0;
  let sum = 0;
  for await (const x of lst) {
    n++;
    sum += x;
  }
  assert.is(n, 2500);
  assert.is(sum, (2499 * 2500) / 2);
});

test('dict: get/set/has/delete, keys/values/items in insertion order, update, setdefault, pop, popitem, toObject/toMap', async () => {
  const d = await manager.dict<string | number, number>({ a: 1 });
  assert.instance(d, DictProxy);
  await d.set('b', 2);
  await d.set(3, 3);
  assert.is(await d.get('a'), 1);
  assert.is(await d.get('missing', -1), -1);
  assert.ok(await d.has(3));
  assert.not.ok(await d.has('3')); // keys keep their type, like Python's
  assert.equal(await d.keys(), ['a', 'b', 3]);
  assert.equal(await d.values(), [1, 2, 3]);
  assert.equal(await d.items(), [['a', 1], ['b', 2], [3, 3]]);
  await d.update({ c: 4 });
  await d.update(new Map<string | number, number>([['d', 5]]));
  await d.update([['e', 6]]);
  assert.is(await d.setdefault('a', 100), 1);
  assert.is(await d.setdefault('f', 7), 7);
  assert.is(await d.pop('f'), 7);
  assert.is(await d.pop('f', 0), 0);
  assert.equal(await d.popitem(), ['e', 6]);
  await d.delete('d');
  assert.is(await d.len(), 4);
  assert.equal(await d.toObject(), { a: 1, b: 2, 3: 3, c: 4 } as Record<string, number>);
  assert.equal(await d.toMap(), new Map<string | number, number>([['a', 1], ['b', 2], [3, 3], ['c', 4]]));
  await d.clear();
  assert.is(await d.len(), 0);
});


test('many calls in flight on one connection: each reply reaches its own call, errors included, values of every shape', async () => {
  const d = await manager.dict<number, unknown>();
  const shapes = (i: number): unknown => [i, `s${i}`, { i, nested: [i, null, true] }, new Map([[i, i]]), Buffer.from([i & 255]), 2n ** BigInt(i % 70), undefined][i % 7];
  for (let i = 0; i < 700; i++) await d.set(i, shapes(i));
  // Every third key is missing: those gets reject with KeyError while their neighbours resolve.
  const calls = Array.from({ length: 1050 }, (_, i) => (i % 3 === 2 ? d.get(700 + i) : d.get(i % 700)));
  const settled = await withinMs(Promise.allSettled(calls), 30_000, '1,050 concurrent gets');
  settled.forEach((r, i) => {
    if (i % 3 === 2) {
      assert.is(r.status, 'rejected', `get ${i}`);
      assert.is(((r as PromiseRejectedResult).reason as RemoteError).remoteName, 'KeyError');
    } else {
      assert.is(r.status, 'fulfilled', `get ${i}`);
      assert.equal((r as PromiseFulfilledResult<unknown>).value, shapes(i % 700), `get ${i}`);
    }
  });
});
test('namespace, value and array', async () => {
  const ns = await manager.namespace<{ x: number; label: string }>();
  assert.instance(ns, NamespaceProxy);
  await ns.set('x', 10);
  await ns.set('label', 'hi');
  assert.is(await ns.get('x'), 10);
  assert.ok(await ns.has('label'));
  assert.equal(await ns.toObject(), { x: 10, label: 'hi' });
  const missing = await rejection(ns.get('nope' as 'x'), RemoteError, 'namespace get of a missing attribute');
  assert.is(missing.remoteName, 'AttributeError');

  const v = await manager.value('d', 1.5);
  assert.instance(v, ValueProxy);
  assert.is(v.typecode, 'd');
  assert.is(await v.get(), 1.5);
  await v.set(2.5);
  assert.is(await v.get(), 2.5);

  const a = await manager.array('i', [1, 2, 3]);
  assert.instance(a, ArrayProxy);
  assert.is(a.typecode, 'i');
  await a.set(0, 7.9); // Int32Array conversion, as array('i') would refuse but C would truncate
  assert.equal(await a.toArray(), [7, 2, 3]);
  assert.is(await a.get(-1), 3);
  assert.is(await a.len(), 3);
  const zeros = await manager.array('d', 4);
  assert.equal(await zeros.toArray(), [0, 0, 0, 0]);
  const big = await manager.array<bigint>('q', [1n, 2]);
  assert.equal(await big.toArray(), [1n, 2n]);
  const bad = await rejection(manager.array('z', [1]), TypeError, 'array with an unknown typecode');
  assert.match(bad.message, /unknown typecode "z"/);
});

test('server errors reach the caller as matching errors, and the server keeps serving', async () => {
  const lst = await manager.list<number>([1, 2, 3]);
  const range = await rejection(lst.get(10), RangeError, 'get out of range');
  assert.match(range.message, /list\.get\(\): list index 10 out of range \(length 3\)/);
  assert.instance(range.cause, RemoteError);
  await rejection(lst.remove(42), RangeError, 'remove of a missing value');
  await rejection(lst.index(42), RangeError, 'index of a missing value');
  await rejection(lst.pop(7), RangeError, 'pop out of range');
  await rejection(lst.get(1.5), TypeError, 'a fractional index');

  const d = await manager.dict<string, number>();
  const key = await rejection(d.get('nope'), RemoteError, 'get of a missing key');
  assert.is(key.remoteName, 'KeyError');
  assert.is(key.key, 'nope');
  assert.match(key.message, /dict has no key "nope"/);
  assert.is((await rejection(d.delete('nope'), RemoteError, 'delete of a missing key')).remoteName, 'KeyError');
  assert.is((await rejection(d.pop('nope'), RemoteError, 'pop of a missing key')).remoteName, 'KeyError');
  const badKey = await rejection(d.set({ x: 1 } as unknown as string, 1), TypeError, 'an object key');
  assert.match(badKey.message, /must be a string, number/);

  // Still serving, on the same connection and on new objects.
  assert.is(await lst.len(), 3);
  await d.set('ok', 1);
  assert.is(await d.get('ok'), 1);
  assert.instance(await manager.list(), ListProxy);
});

test('a getter that calls the manager while its value is being encoded: both messages arrive intact', async () => {
  const d = await manager.dict<string, unknown>();
  const inner: Promise<number>[] = [];
  const value = {
    get x(): number {
      inner.push(d.len());
      return 1;
    },
  };
  await d.set('k', value);
  assert.ok(inner.length > 0);
  for (const n of await Promise.all(inner)) assert.type(n, 'number');
  assert.equal(await d.get('k'), { x: 1 });
});

test('a value that cannot cross is a SerializationError at the call; the proxy keeps working', async () => {
  const lst = await manager.list<unknown>();
  const err = await rejection(lst.append(() => 1), SerializationError, 'append of a function');
  assert.is(err.name, 'SerializationError');
  await lst.append(1);
  assert.equal(await lst.toArray(), [1]);
});

test('40,000 concurrent appends from 4 processes are counted exactly', async () => {
  const lst = await manager.list<number>();
  const procs = [0, 1, 2, 3].map((k) => track(new Process({ target: work.appendRange, args: [lst, k * 10_000, 10_000] })));
  for (const p of procs) p.start();
  await withinMs(Promise.all(procs.map((p) => p.join())), 120_000, 'the 4 appending processes');
  assert.equal(procs.map((p) => p.exitCode), [0, 0, 0, 0]);
  assert.is(await lst.len(), 40_000);
  const items = await lst.toArray();
  const distinct = new Set(items);
  assert.is(distinct.size, 40_000);
  for (let i = 0; i < 40_000; i += 997) assert.ok(distinct.has(i), `item ${i} present`);
  // Each process's own appends stay in its order.
  const firstBlock = items.filter((x) => x < 10_000);
  assert.equal(firstBlock, [...firstBlock].sort((a, b) => a - b));
});

test('dict increments under a manager lock from 4 processes lose no update', async () => {
  const d = await manager.dict<string, number>({ count: 0 });
  const lock = await manager.lock();
  const procs = [0, 1, 2, 3].map(() => track(new Process({ target: work.incrementUnderLock, args: [d, lock, 'count', 250] })));
  for (const p of procs) p.start();
  await withinMs(Promise.all(procs.map((p) => p.join())), 120_000, 'the 4 incrementing processes');
  assert.equal(procs.map((p) => p.exitCode), [0, 0, 0, 0]);
  assert.is(await d.get('count'), 1000);
});

test('manager sync primitives: rlock, semaphores, event, condition on a manager lock, barrier', async () => {
  const rlock = await manager.rlock();
  assert.ok(await rlock.acquire());
  assert.ok(await rlock.acquire());
  await rlock.release();
  await rlock.release();
  const sem = await manager.semaphore(2);
  assert.ok(await sem.acquire());
  assert.ok(await sem.acquire());
  assert.not.ok(await sem.acquire({ blocking: false }));
  await sem.release();
  const bounded = await manager.boundedSemaphore(1);
  await bounded.acquire();
  await bounded.release();
  const tooMany = await rejection(bounded.release(), InvalidStateError, 'release of a bounded semaphore past its value');
  assert.match(tooMany.message, /released too many times/);
  const ev = await manager.event();
  assert.not.ok(await ev.isSet());
  await ev.set();
  assert.ok(await ev.wait(1000));
  const lock = await manager.lock();
  const cond = await manager.condition(lock);
  await cond.acquire();
  assert.ok(await lock.locked(), 'the condition shares the manager lock');
  assert.not.ok(await cond.wait(10));
  await cond.release();
  const barrier = await manager.barrier(1);
  assert.is(await barrier.wait(), 0);
});

test('pipelined writes: a process told through another channel sees them (the writer still running)', async () => {
  const lst = await manager.list<number>();
  const signal = new Queue<unknown>();
  const hold = new Queue<unknown>();
  const p = track(new Process({ target: work.appendThenSignal, args: [lst, 5000, signal, hold] }));
  p.start();
  assert.is(await withinMs(signal.get(), 60_000, 'the writer to signal'), 'appended');
  assert.ok(p.isAlive(), 'the writer has not exited (no exit flush involved)');
  assert.is(await lst.len(), 5000);
  assert.equal((await lst.slice(-3)), [4997, 4998, 4999]);
  await hold.put(1);
  await withinMs(p.join(), 30_000, 'the writer');
  assert.is(p.exitCode, 0);
});

test('a Manager list filled by pool workers (the proxy as a task argument)', async () => {
  const lst = await manager.list<number>();
  const pool = track(new Pool(4));
  const xs = Array.from({ length: 200 }, (_, i) => i);
  const pids = await withinMs(pool.starmap(work.appendSquare, xs.map((x) => [lst, x] as [ListProxy<number>, number])), 60_000, 'pool.starmap');
  await pool.terminate();
  assert.ok(new Set(pids).size >= 1);
  assert.equal((await lst.toArray()).sort((a, b) => a - b), xs.map((x) => x * x));
});

test('nested managed objects: a list of dicts, changed through the list in a child', async () => {
  const a = await manager.dict<string, number>({ n: 1 });
  const b = await manager.dict<string, number>({ n: 2 });
  const outer = await manager.list<DictProxy<string, number>>([a]);
  await outer.append(b);
  const p = await run(work.setNested, [outer, 1, 'seen', 42]);
  assert.is(p.exitCode, 0);
  assert.equal(await b.toObject(), { n: 2, seen: 42 });
  const back = await outer.get(0);
  assert.instance(back, DictProxy);
  await back.set('via', 7);
  assert.equal(await a.toObject(), { n: 1, via: 7 });
  assert.ok(await outer.includes(b), 'two proxies of one dict compare equal in the server');
  const copies = await outer.toArray();
  assert.is(copies.length, 2);
  assert.instance(copies[1], DictProxy);
  assert.is(await copies[1]!.get('seen'), 42);
  // A dict holding a list.
  const holder = await manager.dict<string, ListProxy<number>>();
  await holder.set('items', await manager.list([1, 2]));
  await (await holder.get('items')).append(3);
  assert.equal(await (await holder.get('items')).toArray(), [1, 2, 3]);
});

test('proxies work in grandchildren', async () => {
  const lst = await manager.list<string>();
  const p = await run(work.viaGrandchild, [lst, 'from the grandchild']);
  assert.is(p.exitCode, 0);
  assert.equal(await lst.toArray(), ['from the grandchild']);
});

test('manager queue and joinable queue are multiproc queues served by the manager process', async () => {
  const q = await manager.queue<number>();
  assert.is(Object.prototype.toString.call(q), '[object Queue]');
  const lst = await manager.list<number>();
  const consumer = track(new Process({ target: work.appendLater, args: [lst, q, 5] }));
  consumer.start();
  await q.put(1);
  await withinMs(consumer.join(), 30_000, 'the consumer');
  assert.equal(await lst.toArray(), [5]);
  const jq = await manager.joinableQueue<string>();
  await jq.put('job');
  assert.is(await jq.get(), 'job');
  await jq.taskDone();
  await withinMs(jq.join(), 10_000, 'joinableQueue.join()');
});

test('reference counting: dropped proxies free their objects in the server', async () => {
  const base = await settledObjects(manager);
  await (async () => {
    const lists = await Promise.all(Array.from({ length: 20 }, () => manager.list([1])));
    const d = await manager.dict({ a: 1 });
    assert.is((await manager.stats()).objects, base + 21);
    assert.is(await lists[3]!.len(), 1);
    assert.is(await d.len(), 1);
  })();
  await waitFor(
    async () => {
      gc();
      await new Promise((r) => setTimeout(r, 20));
      return (await manager.stats()).objects === base;
    },
    'the server to free the 21 dropped objects',
    20_000,
  );
});

test('reference counting: a handle in transit keeps its object alive after the sender dropped it; freed once its receiver exits', async () => {
  const base = await settledObjects(manager);
  const mailbox = new Queue<ListProxy<number>>();
  // The list's only proxy is dropped when this function returns; its handle waits in the queue.
  await (async () => {
    const lst = await manager.list<number>([1]);
    await mailbox.put(lst);
  })();
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.is((await manager.stats()).objects, base + 1, 'the list in transit is still alive');
  const p = await run(work.takeAndAppend, [mailbox, 2]);
  assert.is(p.exitCode, 0, 'the receiver could use the list');
  await waitFor(async () => (await manager.stats()).objects === base, 'the list to be freed once its receiver exited', 20_000);
});

test('owner death: the manager process exits when the process that started it is SIGKILLed', async () => {
  const script = new URL('./fixtures/manager-owner.ts', import.meta.url).pathname;
  const owner = track(spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] }));
  let out = '';
  owner.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('\n'), 'the owner to report its manager pid', 30_000);
  const { server } = JSON.parse(out.split('\n')[0]!) as { server: number };
  rememberPid(server);
  assert.ok(pidAlive(server));
  owner.kill('SIGKILL');
  await waitFor(() => !pidAlive(server), 'the orphaned manager process to exit', 15_000);
});

test('the server SIGKILLed under a blocked queue get: the get rejects (here and in a child), proxies reject with ManagerError', async () => {
  const m = track(await Manager.start());
  const q = await m.queue<number>();
  const lst = await m.list<number>([1]);
  const out = new Queue<unknown>();
  const child = track(new Process({ target: work.blockedGet, args: [q, out] }));
  child.start();
  assert.is(await withinMs(out.get(), 30_000, 'the child to block'), 'waiting');
  const blocked = q.get();
  await new Promise((r) => setTimeout(r, 100));
  process.kill(m.pid!, 'SIGKILL');
  await rejection(blocked, [QueueClosed, ManagerError], 'a get blocked on a killed manager');
  const report = (await withinMs(out.get(), 30_000, 'the child to report')) as { name: string };
  assert.ok(report.name === 'QueueClosed' || report.name === 'ManagerError', `child saw ${JSON.stringify(report)}`);
  await withinMs(child.join(), 30_000, 'the child');
  await rejection(lst.len(), ManagerError, 'a proxy of a dead manager');
  await rejection(m.list(), ManagerError, 'a factory of a dead manager');
  await withinMs(m.shutdown(), 10_000, 'shutdown of a dead manager');
});

test('shutdown: then proxies and factories reject with ManagerError; shutdown is idempotent; asyncDispose does it', async () => {
  const m = await Manager.start();
  const lst = await m.list<number>([1]);
  const pid = m.pid!;
  await withinMs(m.shutdown(), 15_000, 'shutdown');
  await withinMs(m.shutdown(), 15_000, 'second shutdown');
  assert.not.ok(pidAlive(pid), 'the manager process is gone');
  const err = await rejection(lst.append(2), ManagerError, 'append after shutdown');
  assert.is(err.code, 'MP_MANAGER');
  assert.match(err.message, /manager/);
  await rejection(m.dict(), ManagerError, 'dict() after shutdown');
  await rejection(m.stats(), ManagerError, 'stats() after shutdown');
  {
    await using disposable = await Manager.start();
    assert.ok(pidAlive(disposable.pid!));
    rememberPid(disposable.pid);
  }
});

test('start() twice is an InvalidStateError; factories before start reject with ManagerError', async () => {
  const m = new Manager();
  await rejection(m.list(), ManagerError, 'list() before start');
  await m.start();
  track(m);
  const again = await rejection(m.start(), InvalidStateError, 'second start');
  assert.is(again.name, 'InvalidStateError');
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
