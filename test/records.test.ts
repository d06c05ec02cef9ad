// Tables of rows (src/protocol/records.ts) over real workers: a map whose batch holds one long
// array of same-shape plain objects sends it by columns, and the worker's result the same
// way; what the task and the caller get is exactly what structured clone would have given.
// The codec itself is tested without processes in test/unit/records.test.ts.
import { suite } from 'uvu';
import { deserialize, serialize } from 'node:v8';
import { Pool, RemoteError } from '../src/index.ts';
import { MIN_RECORDS } from '../src/protocol/records.ts';
import { assert, disposeAllAndCheckLeaks, rejection, track, withinMs } from './helpers.ts';
import { cloneDifference } from './unit/clone-equal.ts';

const test = suite('records');
const T = 60_000;
const cross = <T>(value: T): T => deserialize(serialize(value)) as T;
const N = MIN_RECORDS * 3;
const regions = ['north', 'south', 'east', 'west'];
/** A table like a DataFrame chunk: numbers (-0 and NaN among them), repeated and unique strings, other primitives. */
const table = (n: number, seed = 0) =>
  Array.from({ length: n }, (_, i) => ({
    id: i + seed,
    price: i % 11 === 0 ? [-0, NaN, Infinity][i % 3]! : (i * 37) % 500 + 0.99,
    region: regions[i % 4]!,
    note: `row ${i + seed}`,
    ok: i % 2 === 0,
    missing: i % 5 === 0 ? null : undefined,
    big: BigInt(i) << 64n,
  }));

let pool: Pool | null = null;
const shared = (): Pool => (pool ??= track(new Pool(2)));

test('a map over tables: each reaches the task and comes back exactly as structured clone gives it', async () => {
  const chunks = [table(N), table(N + 7, 100_000)];
  const echoed = await withinMs(shared().map((rows: unknown) => rows, chunks), T, 'map(echo) over two tables');
  assert.is(cloneDifference(echoed, cross(chunks)), null);
  // In the worker: plain objects, the keys in order, the values exact.
  const seen = await withinMs(
    shared().map(
      (rows: Record<string, unknown>[]) => ({
        n: rows.length,
        plain: rows.every((r) => Object.getPrototypeOf(r) === Object.prototype),
        keys: Object.keys(rows[0]!),
        negativeZero: Object.is(rows[0]!.price, -0),
        nan: Number.isNaN(rows[22]!.price),
        big: rows[3]!.big,
        missing: [rows[5]!.missing, 'missing' in rows[1]!, rows[1]!.missing],
      }),
      [table(N)],
    ),
    T,
    'map(inspect)',
  );
  assert.equal(seen[0], { n: N, plain: true, keys: ['id', 'price', 'region', 'note', 'ok', 'missing', 'big'], negativeZero: true, nan: true, big: 3n << 64n, missing: [null, true, undefined] });
});

test('a task that enriches each row (example 06): every row and value in order', async () => {
  const rows = table(N);
  const out = await withinMs(
    shared().map((chunk: { id: number; price: number; region: string }[]) => chunk.map((r) => ({ ...r, total: r.price * 2, band: r.price < 100 ? 'small' : 'large' })), [rows]),
    T,
    'map(enrich)',
  );
  const want = rows.map((r) => ({ ...r, total: r.price * 2, band: r.price < 100 ? 'small' : 'large' }));
  assert.is(cloneDifference(out[0], cross(want)), null);
});

test('two items of one batch that are the same table stay one object, as structured clone keeps them', async () => {
  const rows = table(N);
  // Both items in one batch: the worker sees the second as the very object of the first.
  const same = await withinMs(
    shared().map(
      (r: unknown) => {
        const g = globalThis as { lastTable?: unknown };
        const wasLast = g.lastTable === r;
        g.lastTable = r;
        return wasLast;
      },
      [rows, rows],
      { chunksize: 2 },
    ),
    T,
    'map(sameAsLast) with chunksize 2',
  );
  assert.equal(same, [false, true]);
});

test('imap over tables, and a task that fails on one: the results in order, the error at its item', async () => {
  const chunks = [table(N), table(N, 1), table(N, 2)];
  const got: unknown[] = [];
  for await (const r of shared().imap((rows: { id: number }[]) => rows.length + rows[0]!.id, chunks, { chunksize: 1 })) got.push(r);
  assert.equal(got, [N, N + 1, N + 2]);
  const err = await rejection(
    shared().map(
      (rows: { id: number }[]) => {
        if (rows[0]!.id === 1) throw new RangeError('bad table');
        return rows;
      },
      chunks,
      { chunksize: 1 },
    ),
    RemoteError,
    'map that throws on the second table',
  );
  assert.is(err.remoteName, 'RangeError');
  assert.match(err.message, 'bad table');
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
