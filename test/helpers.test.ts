// repeat (itertools.repeat) and collect (list() of an async iterator): alone, and feeding real
// pools and executors, where `executor.map` zips its iterables and must stop at the shortest.
import { suite } from 'uvu';
import { asCompleted, collect, Pool, ProcessPoolExecutor, RemoteError, repeat, tasks } from '../src/index.ts';
import { assert, disposeAllAndCheckLeaks, rejection, track, withinMs } from './helpers.ts';

const math = tasks<typeof import('./fixtures/math.ts')>(new URL('./fixtures/math.ts', import.meta.url));
const failing = tasks<typeof import('./fixtures/throw-custom.ts')>(new URL('./fixtures/throw-custom.ts', import.meta.url));
const test = suite('helpers');
const T = 20_000;

/** The two tests that use an executor share one of 2 workers (each made is two process starts). */
let sharedExecutor: ProcessPoolExecutor | null = null;
const executor = (): ProcessPoolExecutor => (sharedExecutor ??= track(new ProcessPoolExecutor({ maxWorkers: 2 })));

test('repeat(value, times) yields the value times times, again on every iteration', () => {
  const three = repeat('x', 3);
  assert.equal([...three], ['x', 'x', 'x']);
  assert.equal([...three], ['x', 'x', 'x'], 're-iterable: a second for…of starts over');
  assert.equal([...repeat(1, 0)], []);
  const obj = { a: 1 };
  assert.ok([...repeat(obj, 2)].every((o) => o === obj), 'the same value, not copies');
});

test('repeat(value) without times is endless; Infinity means the same', () => {
  for (const endless of [repeat(7), repeat(7, Infinity)]) {
    const it = endless[Symbol.iterator]();
    for (let i = 0; i < 10_000; i++) assert.equal(it.next(), { value: 7, done: false });
  }
});

test('repeat refuses a count that is not an integer >= 0, naming it', () => {
  for (const bad of [-1, 1.5, NaN, -Infinity]) {
    let err: (Error & { code?: string }) | undefined;
    try {
      repeat('x', bad);
    } catch (e) {
      err = e as Error & { code?: string };
    }
    assert.instance(err, RangeError, `repeat('x', ${bad})`);
    assert.is(err!.code, 'MP_INVALID_ARG');
    assert.match(err!.message, /repeat\(\) times must be an integer >= 0/);
  }
  let err: (Error & { code?: string }) | undefined;
  try {
    repeat('x', '3' as unknown as number);
  } catch (e) {
    err = e as Error & { code?: string };
  }
  assert.instance(err, TypeError);
  assert.is(err!.code, 'MP_INVALID_ARG');
  assert.match(err!.message, /got "3"/);
});

test('collect drains sync and async iterables in order, awaiting promised items', async () => {
  assert.equal(await collect([1, 2, 3]), [1, 2, 3]);
  assert.equal(await collect(new Set(['a', 'b'])), ['a', 'b']);
  assert.equal(await collect([Promise.resolve(1), 2, Promise.resolve(3)]), [1, 2, 3]);
  async function* slow(): AsyncGenerator<number> {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 5));
      yield i;
    }
  }
  assert.equal(await collect(slow()), [0, 1, 2]);
  assert.equal(await collect(repeat('z', 2)), ['z', 'z']);
});

test('collect rejects (never throws) for a value that is not iterable', async () => {
  for (const bad of [null, undefined, 42, { length: 2 }]) {
    let result: Promise<unknown> | undefined;
    assert.not.throws(() => (result = collect(bad as unknown as number[])));
    const err = await rejection(result!, TypeError, `collect(${String(bad)})`);
    assert.is(err.code, 'MP_INVALID_ARG');
    assert.match(err.message, /collect\(\) needs a sync or async iterable/);
  }
});

test('collect rejects with what the iterable throws and closes it', async () => {
  let closed = false;
  async function* breaks(): AsyncGenerator<number> {
    try {
      yield 1;
      throw new Error('boom');
    } finally {
      closed = true;
    }
  }
  const err = await rejection(collect(breaks()), Error, 'collect(breaks())');
  assert.is(err.message, 'boom');
  assert.ok(closed);
});

test('executor.map(fn, xs, repeat(c)) stops at the shortest iterable, whichever side repeat is on', async () => {
  const ex = executor();
  assert.equal(await withinMs(collect(ex.map(math.add, [1, 2, 3], repeat(10))), T, 'map with repeat last'), [11, 12, 13]);
  assert.equal(await withinMs(collect(ex.map(math.add, repeat(100), [1, 2])), T, 'map with repeat first'), [101, 102]);
  assert.equal(await withinMs(collect(ex.map(math.add, repeat(1), [5, 6], { chunksize: 8 })), T, 'map with chunksize'), [6, 7]);
  // The endless repeat is closed when the shortest runs out (a generator's finally runs).
  let closed = false;
  function* tracked(): Generator<number> {
    try {
      yield* repeat(0);
    } finally {
      closed = true;
    }
  }
  assert.equal(await withinMs(collect(ex.map(math.add, [1], tracked())), T, 'map with a tracked repeat'), [1]);
  assert.ok(closed, 'the endless iterable was closed');
  // A by-source function with a constant extra argument: the itertools.repeat idiom.
  const label = (dir: string, n: number) => `${dir}/${n}.json`;
  assert.equal(await withinMs(collect(ex.map(label, repeat('/out'), [1, 2])), T, 'by-source map'), ['/out/1.json', '/out/2.json']);
});

test('pool.starmap, imap and asCompleted work with repeat and collect', async () => {
  const pool = track(new Pool(2));
  assert.equal(await withinMs(pool.starmap(math.add, repeat([2, 3] as [number, number], 4)), T, 'starmap over repeat'), [5, 5, 5, 5]);
  assert.equal(await withinMs(collect(pool.imap(math.square, repeat(3, 5))), T, 'collect(imap)'), [9, 9, 9, 9, 9]);
  const unordered = await withinMs(collect(pool.imapUnordered(math.square, [1, 2, 3])), T, 'collect(imapUnordered)');
  assert.equal(unordered.sort(), [1, 4, 9]);
  const ex = executor();
  const done = await withinMs(collect(asCompleted([1, 2].map((n) => ex.submit(math.square, n)))), T, 'collect(asCompleted)');
  assert.equal((await Promise.all(done.map((f) => f.result()))).sort(), [1, 4]);
  await rejection(collect(pool.imap(failing.failWithQuota, [1, 2])), RemoteError, 'collect(imap) of a failing task');
  assert.equal(await withinMs(pool.map(math.square, [4]), T, 'the pool after a failure'), [16]);
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
