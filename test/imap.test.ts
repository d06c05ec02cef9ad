// imap and imapUnordered: lazy over sync, async and infinite inputs, bounded in flight,
// ordered vs completion order, errors at their position, early exit cancelling work.
import { suite } from 'uvu';
import { spawn } from 'node:child_process';
import { CancelledError, InvalidStateError, RemoteError, tasks, TimeoutError } from '../src/index.ts';
import { Pool } from '../src/process/index.ts';
import { Barrier } from '../src/queue/index.ts';
import { assert, collect, disposeAllAndCheckLeaks, rejection, rememberPid, track, withinMs } from './helpers.ts';

const math = tasks<typeof import('./fixtures/math.ts')>(new URL('./fixtures/math.ts', import.meta.url));
const table = tasks<typeof import('./fixtures/init-table.ts')>(new URL('./fixtures/init-table.ts', import.meta.url));
const test = suite('imap');

const T = 20_000;


/**
 * The tests that neither close nor join their pool share one Pool(2): each pool made is two
 * process starts, most of what such a test costs. (Tests that cancel running work have
 * workers replaced, as they would in a pool of their own.)
 */
let sharedPool: Pool | null = null;
const shared = (): Pool => (sharedPool ??= track(new Pool(2)));

test('imap yields in input order for every chunksize; sync, async and Set inputs', async () => {
  const pool = shared();
  const xs = Array.from({ length: 500 }, (_, i) => i);
  for (const chunksize of [undefined, 1, 3, 64, 1000]) {
    assert.equal(await collect(pool.imap(math.square, xs, { chunksize }), `imap chunksize ${chunksize}`), xs.map((x) => x * x));
  }
  async function* slowInput() {
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 5));
      yield i;
    }
  }
  assert.equal(await collect(pool.imap(math.square, slowInput()), 'async input'), [0, 1, 4, 9, 16]);
  assert.equal(await collect(pool.imap(math.square, new Set([2, 3])), 'set input'), [4, 9]);
  assert.equal(await collect(pool.imap(math.square, []), 'empty input'), []);
});

test('an infinite generator through imap: first 1,000 results, then the pool is closed', async () => {
  const pool = track(new Pool(2));
  let pulled = 0;
  let closedInput = false;
  function* naturals() {
    try {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    } finally {
      closedInput = true;
    }
  }
  const got: number[] = [];
  await withinMs(
    (async () => {
      for await (const y of pool.imap(math.square, naturals(), { chunksize: 10 })) {
        got.push(y);
        if (got.length === 1000) break;
      }
    })(),
    T,
    'taking 1,000 results from an infinite imap',
  );
  assert.is(got.length, 1000);
  assert.equal(got.slice(0, 4), [0, 1, 4, 9]);
  assert.is(got[999], 999 * 999);
  assert.ok(closedInput, 'the input generator was closed (its finally ran)');
  assert.ok(pulled < 1000 + 200, `only a bounded number of items beyond those consumed were pulled (${pulled})`);
  pool.close();
  await withinMs(pool.join(), T, 'join after close');
});

test('items in flight stay bounded while the consumer is slow', async () => {
  const pool = shared();
  let pulled = 0;
  function* counting() {
    for (let i = 0; ; i++) {
      pulled++;
      yield i;
    }
  }
  const it = pool.imap(math.square, counting());
  assert.is(pulled, 0, 'nothing is pulled before the first next()');
  assert.equal(await withinMs(it.next(), T, 'first next'), { value: 0, done: false });
  // Let the pipeline fill up; then the count must stop growing.
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20));
  const high = pulled;
  assert.ok(high <= 64, `pulled ${high} items with one consumed (a bounded window)`);
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20));
  assert.is(pulled, high, 'no more items pulled while nobody consumes');
  await it.return();
});

test('imapUnordered yields in completion order, imap in input order', async () => {
  const pool = shared();
  // Both workers started and idle (two calls meeting at a barrier run in two workers at
  // once), so the order depends only on the tasks' durations.
  const barrier = new Barrier(2);
  const met = await withinMs(pool.map(table.initRunsTogether, [barrier, barrier], { chunksize: 1 }), T, 'warm-up: two calls meeting at a barrier');
  met.forEach(({ pid }) => rememberPid(pid));
  assert.is(new Set(met.map((r) => r.pid)).size, 2, 'warm-up: two workers answered');
  const jobs: [number, string][] = [
    [1500, 'slow'],
    [0, 'fast'],
  ];
  const unordered = await collect(pool.imapUnordered((a: [number, string]) => new Promise((r) => setTimeout(() => r(a[1]), a[0])), jobs), 'imapUnordered');
  assert.equal(unordered, ['fast', 'slow']);
  const ordered = await collect(pool.imap((a: [number, string]) => new Promise((r) => setTimeout(() => r(a[1]), a[0])), jobs), 'imap');
  assert.equal(ordered, ['slow', 'fast']);
});

test('an error is thrown at the position of the item that failed', async () => {
  const pool = shared();
  const failAt3 = (x: number) => {
    if (x === 3) throw new TypeError(`item ${x} is bad`);
    return x * 10;
  };
  for (const chunksize of [1, 2, 10]) {
    const got: number[] = [];
    const err = await rejection(
      (async () => {
        for await (const y of pool.imap(failAt3, [1, 2, 3, 4, 5], { chunksize })) got.push(y);
      })(),
      RemoteError,
      `failing imap, chunksize ${chunksize}`,
      T,
    );
    assert.match(err.message, /item 3 is bad/);
    assert.equal(got, [10, 20], `results before the failure, chunksize ${chunksize}`);
  }
  // An input that throws: its error comes after the items it produced.
  function* brokenInput() {
    yield 1;
    yield 2;
    throw new RangeError('input broke');
  }
  const got: number[] = [];
  const err = await rejection(
    (async () => {
      for await (const y of pool.imap(math.square, brokenInput())) got.push(y);
    })(),
    RangeError,
    'imap over an input that throws',
  );
  assert.match(err.message, /input broke/);
  assert.equal(got, [1, 4]);
  assert.equal(await pool.map(math.square, [2]), [4], 'the pool is still fine');
});

test('leaving the loop early stops running work for real (workers replaced)', async () => {
  const pool = shared();
  const before = await pool.map(math.pid, [1, 2, 3, 4], { chunksize: 1 });
  before.forEach(rememberPid);
  // Item 0 is quick; the others would sleep for a minute on both workers.
  const it = pool.imap((ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), [0, 60_000, 60_000, 60_000]);
  for await (const v of it) {
    assert.is(v, 0);
    break;
  }
  const after = await withinMs(pool.map(math.pid, [1, 2, 3, 4], { chunksize: 1 }), T, 'map after an abandoned imap');
  after.forEach(rememberPid);
  assert.ok(after.some((p) => !before.includes(p)), 'at least one worker running an abandoned task was replaced');
});

test('imap made before close() still runs; join waits for it', async () => {
  const pool = track(new Pool(2));
  const it = pool.imap(math.square, [1, 2, 3]);
  pool.close();
  assert.equal(await collect(it, 'imap after close'), [1, 4, 9]);
  await withinMs(pool.join(), T, 'join');
  const late = pool.imap(math.square, [1]);
  await late.next().then(
    () => assert.unreachable('imap after close'),
    (e) => assert.instance(e, InvalidStateError),
  );
});

test('signal and timeout on imap', async () => {
  const pool = shared();
  const ac = new AbortController();
  const got: string[] = [];
  const err = await rejection(
    (async () => {
      for await (const v of pool.imap((a: [number, string]) => new Promise((r) => setTimeout(() => r(a[1]), a[0])), [[0, 'a'] as [number, string], [60_000, 'b']], { signal: ac.signal })) {
        got.push(v as string);
        ac.abort(new Error('user stop'));
      }
    })(),
    CancelledError,
    'aborted imap',
    T,
  );
  assert.is((err.cause as Error).message, 'user stop');
  assert.equal(got, ['a']);
  const timedOut = await rejection(collect(pool.imap((ms: number) => new Promise((r) => setTimeout(r, ms)), [60_000], { timeout: 200 }), 'imap with timeout'), TimeoutError, 'imap with timeout 200 over a 60 s task');
  assert.is(timedOut.name, 'TimeoutError');
});

test('a long imap keeps no completed batch alive in the parent (built package, plain node)', async () => {
  // Node's IPC serializer keeps each message it sent alive until the next scavenge; a 'call'
  // built as an object literal was then pretenured by V8, and every later one, allocated in
  // the old generation, kept its batch's items (a typed array) until a full GC: 1.6 MB of
  // ArrayBuffers over these 480,000 items, growing with the run (engine/transfer.ts, CallMessage).
  const root = new URL('../', import.meta.url).pathname;
  const fixture = new URL('./fixtures/imap-retention.mjs', import.meta.url).pathname;
  const lib = new URL('../dist/esm/index.js', import.meta.url).href;
  const out = await withinMs(
    new Promise<string>((resolve, reject) => {
      const child = track(spawn(process.execPath, ['--min-semi-space-size=1', '--max-semi-space-size=1', fixture, lib, '600000'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] }));
      let stdout = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d));
      child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`imap-retention.mjs exited with code ${code}: ${stdout}`))));
    }),
    60_000,
    'imap-retention.mjs (600,000 items through imap with plain node)',
  );
  const report = JSON.parse(out) as { items: number; oldGrowthMb: number; arrayBufferGrowthMb: number };
  assert.is(report.items, 600_000);
  assert.ok(report.arrayBufferGrowthMb < 0.8, `ArrayBuffer memory grew by ${report.arrayBufferGrowthMb.toFixed(2)} MB over the last 480,000 items (batches retained)`);
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
