// Value, Array, RawValue, RawArray (Python's multiprocessing.sharedctypes) over real
// processes: C conversions per typecode, the lock honoured by every access from any process,
// Python's counter tutorial with and without the lock, arrays, Pool initargs and task
// arguments, a value whose creating process exited.
import { suite } from 'uvu';
import {
  Array as SharedArrayOf,
  Barrier,
  Event,
  InvalidStateError,
  Lock,
  Pool,
  Queue,
  QueueClosed,
  RawArray,
  RawValue,
  RLock,
  SharedArray,
  SharedValue,
  tasks,
  Value,
} from '../src/index.ts';
import { Host } from '../src/remote/host.ts';
import { assert, disposeAllAndCheckLeaks, track, withinMs, startProcess as start, failure } from './helpers.ts';

const work = tasks<typeof import('./fixtures/sharedctypes-work.ts')>(new URL('./fixtures/sharedctypes-work.ts', import.meta.url));
const test = suite('sharedctypes');

function throwsInvalidArg(fn: () => unknown, what: string, pattern?: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'MP_INVALID_ARG', what);
    if (pattern) assert.match((err as Error).message, pattern, what);
    return;
  }
  assert.unreachable(`${what} should throw`);
}

test('Value converts as the C type of its typecode: integers wrap, f rounds to float32, 64-bit codes are bigint', async () => {
  const i = Value('i', 2 ** 31);
  assert.is(await i.get(), -(2 ** 31), "c_int(2**31) is -2**31");
  await i.set(-1);
  assert.is(await i.get(), -1);
  const B = Value('B', -1);
  assert.is(await B.get(), 255, 'c_ubyte(-1) is 255');
  const f = Value('f', 0.1);
  assert.is(await f.get(), Math.fround(0.1));
  const d = Value('d');
  assert.is(await d.get(), 0, 'the default is 0');
  const q = Value('q', 2n ** 63n);
  assert.is(await q.get(), -(2n ** 63n), 'q wraps like a C long long');
  await q.set(5);
  assert.is(await q.get(), 5n, 'a safe integer is accepted for a 64-bit code, and read back as bigint');
  const Q = RawValue('Q', -1n);
  assert.is(await Q.get(), 2n ** 64n - 1n);
  assert.is(i.typecode, 'i');
});

test("typecodes of Python's array module only; values of the wrong kind are TypeError (MP_INVALID_ARG)", async () => {
  for (const code of ['b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', 'f', 'd']) assert.is(RawValue(code as 'i').typecode, code);
  throwsInvalidArg(() => Value('u' as 'i', 0), "Value('u')", /not supported/);
  throwsInvalidArg(() => Value('c' as 'i', 0), "Value('c')", /not supported/);
  throwsInvalidArg(() => Value('x' as 'i', 0), "Value('x')", /typecode of Python's array module/);
  throwsInvalidArg(() => Value('i', 1.5), "Value('i', 1.5)", /int expected instead of float/);
  throwsInvalidArg(() => new SharedArray('d', ['x' as never]), "Array('d', ['x'])");
  throwsInvalidArg(() => Value('i', 0, { lock: 'yes' as never }), 'lock: "yes"');
  const v = Value('i', 0);
  assert.is((await failure(v.set('7' as never), "set('7')")).code, 'MP_INVALID_ARG');
  assert.is((await failure(Value('q').set(2 ** 60), 'set(2 ** 60) on q')).code, 'MP_INVALID_ARG', 'an unsafe integer number is refused for a 64-bit code');
});

test("Python's tutorial: four processes each add 1 under getLock() 300 times: exactly 1200", async () => {
  const v = Value('i', 0);
  const ps = [0, 1, 2, 3].map(() => start(work.incrementLocked, [v, 300]));
  await withinMs(Promise.all(ps.map((p) => p.join())), 120_000, 'the four locked incrementers');
  assert.equal(ps.map((p) => p.exitCode), [0, 0, 0, 0]);
  assert.is(await v.get(), 1200);
});

test('without the lock, read-modify-write loses updates, as in Python: 4 processes reading before any writes count 25 rounds once each', async () => {
  const v = Value('i', 0);
  const barrier = new Barrier(4);
  const ps = [0, 1, 2, 3].map(() => start(work.incrementRacing, [v, 25, barrier]));
  await withinMs(Promise.all(ps.map((p) => p.join())), 120_000, 'the four racing incrementers');
  assert.equal(ps.map((p) => p.exitCode), [0, 0, 0, 0]);
  assert.is(await v.get(), 25, '100 increments, 75 lost');
});

test("an access waits while another process holds the value's lock; getObj() does not", async () => {
  const v = Value('i', 0);
  const held = new Event();
  const release = new Event();
  const p = start(work.holdLock, [v, held, release]);
  await withinMs(held.wait(), 20_000, 'the child to take the lock');
  let done = false;
  const set = v.set(5).then(() => (done = true));
  const raw = v.getObj();
  await withinMs(raw.set(3), 20_000, 'a raw write while the lock is held elsewhere');
  assert.is(await raw.get(), 3);
  assert.not.ok(done, 'the synchronized set() waits for the lock');
  await release.set();
  await withinMs(set, 20_000, 'set() once the lock is released');
  assert.is(await v.get(), 5, "our set() came after the holder's write of 1");
  await p.join();
  assert.is(p.exitCode, 0);
  await withinMs(v.getLock().withLock(async () => v.set((await v.get()) + 1)), 20_000, 'an access inside our own withLock() does not wait');
  assert.is(await v.get(), 6);
});

test('Array: get/set with negative indexes, slice, setSlice, toArray and length, here and in a child; IndexError and a wrong size are RangeError', async () => {
  const a = SharedArrayOf('d', 4);
  assert.instance(a, SharedArray);
  assert.is(a.length, 4);
  const out = new Queue<Record<string, unknown>>();
  const p = start(work.arrayOps, [a, out]);
  assert.equal(await withinMs(out.get(), 20_000, "the child's report"), {
    length: 4,
    typecode: 'd',
    all: [1, 2, 0, 9.5],
    tail: [0, 9.5],
    errors: ['RangeError:MP_INVALID_ARG', 'RangeError:MP_INVALID_ARG'],
    locked: false,
  });
  await p.join();
  assert.equal(await a.slice(1, -1), [2, 0]);
  assert.equal(await a.slice(-100, 100), [1, 2, 0, 9.5], 'slices clamp as in Python');
  assert.is(await a.get(-4), 1);
  const ints = new SharedArray('i', [1, 2, 3], { lock: false });
  assert.equal(await ints.toArray(), [1, 2, 3]);
  const big = RawArray('Q', 2);
  await big.set(0, -1n);
  assert.equal(await big.toArray(), [2n ** 64n - 1n, 0n]);
  assert.is((await failure(ints.get(3), 'get(3) of 3')).code, 'MP_INVALID_ARG');
});

test('Raw objects have no lock: getLock() and getObj() throw InvalidStateError (Python: AttributeError)', async () => {
  for (const raw of [RawValue('i'), Value('i', 0, { lock: false }), RawArray('i', 2), Value('i').getObj()]) {
    assert.throws(() => raw.getLock(), (e: unknown) => e instanceof InvalidStateError && /AttributeError/.test((e as Error).message));
  }
  assert.throws(() => RawValue('i').getObj(), (e: unknown) => e instanceof InvalidStateError);
  assert.instance(await failure(RawValue('i').acquire(), 'acquire() of a raw value'), InvalidStateError);
});

test('a given Lock or RLock is the lock; one hosted elsewhere is refused', async () => {
  const lock = new Lock();
  const v = Value('i', 0, { lock });
  assert.is(v.getLock(), lock);
  assert.instance(Value('i').getLock(), RLock, 'the default is a new RLock, as in Python');
  await v.acquire();
  assert.ok(await lock.locked());
  await v.release();
  const other = new Host();
  try {
    throwsInvalidArg(() => Value('i', 0, { lock: new Lock({ host: other }) }), 'a lock on another host', /created in this process/);
  } finally {
    await other.close();
  }
});

test('a value and an array pass to Pool initargs and task arguments, with their lock', async () => {
  const squares = SharedArrayOf('i', 8);
  const total = Value('q', 0n);
  const pool = track(new Pool({ processes: 2, initializer: work.init, initargs: [squares] }));
  await pool.map(work.square, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(await squares.toArray(), [0, 1, 4, 9, 16, 25, 36, 49]);
  await pool.starmap(work.addTo, Array.from({ length: 20 }, (_, i) => [total, i] as [SharedValue<'q'>, number]));
  assert.is(await total.get(), 190n);
  await pool.terminate();
});

test('a value whose creating process exited rejects with QueueClosed', async () => {
  const out = new Queue<unknown>();
  const p = start(work.makeAndLeave, [out]);
  const v = (await withinMs(out.get(), 20_000, 'the value')) as SharedValue<'i'>;
  assert.instance(v, SharedValue);
  assert.is(await withinMs(out.get(), 20_000, "the child's own read"), 42);
  await p.join();
  assert.instance(await failure(v.get(), 'get() of a value whose host exited'), QueueClosed);
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
