// Records (src/protocol/records.ts), without processes: which arrays go by columns, and that
// a table sent by columns and rebuilt is exactly what structured clone (v8 serialization, as
// the IPC channel does it) would have given, values, key order and sharing included.
import { suite } from 'uvu';
import { deserialize, serialize } from 'node:v8';
import { decodeRecords, encodeRecords, MIN_RECORDS, type EncodedRecords } from '../../src/protocol/records.ts';
import { assert, disposeAllAndCheckLeaks } from '../helpers.ts';
import { cloneDifference } from './clone-equal.ts';

const test = suite('records');

/** What the IPC channel does to a message. */
const cross = <T>(value: T): T => deserialize(serialize(value)) as T;
/** By columns across the channel and rebuilt: what a worker gets for `rows`. */
const byColumns = (rows: unknown): unknown => {
  const encoded = encodeRecords(rows);
  assert.ok(encoded !== null, 'the table goes by columns');
  return decodeRecords(cross(encoded) as EncodedRecords);
};
const table = (n: number, row: (i: number) => Record<string, unknown>): Record<string, unknown>[] => Array.from({ length: n }, (_, i) => row(i));
const N = MIN_RECORDS + 500;

test('a table of numbers, strings and other primitives comes back as structured clone gives it', () => {
  const regions = ['north', 'south', 'east', 'west'];
  const specials = [-0, NaN, Infinity, -Infinity, 2 ** 53, 5e-324, 0.1];
  const rows = table(N, (i) => ({
    id: i,
    price: i % 7 === 0 ? specials[i % specials.length]! : i * 1.25,
    region: regions[i % 4]!,
    unique: `row-${i}`,
    flag: i % 3 === 0,
    nothing: i % 2 === 0 ? null : undefined,
    big: BigInt(i) * 10n ** 20n,
    // Numbers first, a string from row 700 on: the column becomes a plain array there.
    mixed: i < 700 ? i : `s${i}`,
    '10': 'an integer-like key, enumerated first',
    'with "quotes" and spaces': i,
  }));
  const got = byColumns(rows);
  assert.is(cloneDifference(got, cross(rows)), null);
  assert.equal(Object.keys((got as Record<string, unknown>[])[0]!), Object.keys(rows[0]!));
});

test('what does not go by columns: short arrays, holes, own properties of the array, subclasses, shared rows, other rows', () => {
  const plain = () => table(N, (i) => ({ a: i, b: 'x' }));
  assert.is(encodeRecords(table(MIN_RECORDS - 1, (i) => ({ a: i }))), null, 'fewer rows than MIN_RECORDS');
  assert.is(encodeRecords('not an array'), null);
  const holes = plain();
  delete holes[5];
  assert.is(encodeRecords(holes), null, 'a hole');
  const named = Object.assign(plain(), { total: 3 });
  assert.is(encodeRecords(named), null, 'an own named property of the array');
  class Rows extends Array {}
  assert.is(encodeRecords(Rows.from(plain())), null, 'an Array subclass');
  const shared = plain();
  shared[9] = shared[3]!;
  assert.is(encodeRecords(shared), null, 'one row object twice');
  const cases: [string, (rows: Record<string, unknown>[]) => void][] = [
    ['a row with another key', (r) => (r[800] = { a: 1, c: 'x' })],
    ['a row with its keys in another order', (r) => (r[800] = { b: 'x', a: 1 })],
    ['a row with one more key', (r) => (r[800] = { a: 1, b: 'x', c: 2 })],
    ['a row with one key less', (r) => (r[800] = { a: 1 })],
    ['a nested object', (r) => (r[800] = { a: { deep: 1 }, b: 'x' })],
    ['an array value', (r) => (r[800] = { a: [1], b: 'x' })],
    ['a Date value', (r) => (r[800] = { a: new Date(0), b: 'x' })],
    ['a symbol value', (r) => (r[800] = { a: Symbol('s'), b: 'x' })],
    ['a function value', (r) => (r[800] = { a: () => 1, b: 'x' })],
    ['a row of a class', (r) => (r[800] = new (class { a = 1; b = 'x'; })() as unknown as Record<string, unknown>)],
    ['a row without a prototype', (r) => (r[800] = Object.assign(Object.create(null), { a: 1, b: 'x' }))],
    ['a row that is an array', (r) => ((r as unknown[])[800] = [1, 'x'])],
    ['a row that is a number', (r) => ((r as unknown[])[800] = 7)],
    ['a Proxy row (structured clone refuses it)', (r) => (r[800] = new Proxy({ a: 1, b: 'x' }, {}))],
    ['a row with an inherited enumerable key', (r) => (r[800] = Object.assign(Object.create({ a: 0, b: '' }), { a: 1, b: 'x' }))],
  ];
  for (const [what, change] of cases) {
    const rows = plain();
    change(rows);
    assert.is(encodeRecords(rows), null, what);
  }
  assert.is(encodeRecords(table(N, (i) => JSON.parse(`{"__proto__": ${i}}`) as Record<string, unknown>)), null, 'a __proto__ key');
});

test('a getter among the keys is read once per row, and its value travels', () => {
  let reads = 0;
  const rows = table(N, (i) => ({
    a: i,
    get b() {
      reads++;
      return `v${i % 3}`;
    },
  }));
  const got = byColumns(rows) as Record<string, unknown>[];
  assert.is(reads, N, 'one read per row');
  assert.is(got[4]!.b, 'v1');
  assert.equal(Object.getOwnPropertyDescriptor(got[4], 'b'), { value: 'v1', writable: true, enumerable: true, configurable: true }, 'a data property, as structured clone makes it');
});

test('without code generation from strings, rows are built by assignment, the same', () => {
  const rows = table(N, (i) => ({ x: i, y: `y${i % 5}`, z: i % 2 === 0 }));
  const encoded = cross(encodeRecords(rows)!) as EncodedRecords;
  const Fn = globalThis.Function;
  // Stand in for node --disallow-code-generation-from-strings: the Function constructor throws.
  (globalThis as { Function: unknown }).Function = function refuse() {
    throw new EvalError('Code generation from strings disallowed for this context');
  };
  let got: unknown;
  try {
    got = decodeRecords(encoded);
  } finally {
    (globalThis as { Function: unknown }).Function = Fn;
  }
  assert.is(cloneDifference(got, cross(rows)), null);
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
