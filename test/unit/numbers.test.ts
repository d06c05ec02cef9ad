// Packed-number transport (src/process/numbers.ts), both halves, without processes: the
// parent's packNumbers/batchItems choice (Int32Array, Float64Array or a plain array), the
// child's NumberPacker, and round trips through v8 serialization (what the IPC channel does)
// that keep every number as it was, -0 and NaN included.
import { suite } from 'uvu';
import { deserialize, serialize } from 'node:v8';
import { allNumbers, batchItems, bytesOf, isInt32, MIN_PACKED_NUMBERS, NumberPacker, numbersOf, packNumbers, PackScratch, unpack } from '../../src/process/numbers.ts';
import { assert, disposeAllAndCheckLeaks } from '../helpers.ts';

const test = suite('numbers');

/** What the IPC channel does to a message (advanced serialization is v8's). */
const cross = <T>(value: T): T => deserialize(serialize(value)) as T;

/** Same numbers, one by one, telling -0 from 0 and NaN from anything (Object.is). */
function sameNumbers(actual: ArrayLike<unknown>, expected: ArrayLike<unknown>, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Object.is(actual[i], expected[i]), `${what}: item ${i} is ${String(actual[i])}, expected ${Object.is(expected[i], -0) ? '-0' : String(expected[i])}`);
  }
}

const range = (n: number, f: (i: number) => unknown = (i) => i): unknown[] => Array.from({ length: n }, (_, i) => f(i));

test('isInt32: exactly the numbers an Int32Array gives back unchanged', () => {
  for (const v of [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 123456]) assert.ok(isInt32(v), `${v} is an int32`);
  for (const v of [-0, 0.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, 1e-300]) {
    assert.not.ok(isInt32(v), `${Object.is(v, -0) ? '-0' : v} is not an int32`);
  }
  // The definition, checked against the typed array itself.
  for (const v of [0, -0, 1.5, 2 ** 31, -(2 ** 31), NaN, 7]) assert.is(isInt32(v), Object.is(new Int32Array([v])[0], v), `isInt32(${v}) agrees with Int32Array`);
});

test('packNumbers: Int32Array when every number is a 32-bit integer', () => {
  const xs = [...range(40), 2 ** 31 - 1, -(2 ** 31), -5];
  const packed = packNumbers(xs, 0, xs.length);
  assert.instance(packed, Int32Array);
  sameNumbers(packed!, xs, 'ints');
});

test('packNumbers: Float64Array as soon as one number is not an int32 (-0, NaN, 2**31, fractions), wherever it is', () => {
  for (const odd of [-0, NaN, 2 ** 31, -(2 ** 31) - 1, 0.5, Infinity, -Infinity, 1e300]) {
    for (const at of [0, 17, 39]) {
      const xs = range(40);
      xs[at] = odd;
      const packed = packNumbers(xs, 0, xs.length);
      assert.instance(packed, Float64Array, `${String(odd)} at ${at}`);
      sameNumbers(packed!, xs, `${String(odd)} at ${at}`);
    }
  }
});

test('packNumbers: null at the first value that is not a number, before or after the switch to doubles', () => {
  for (const bad of ['1', null, undefined, 1n, {}, [1], true]) {
    for (const xs of [[bad, ...range(39)], [...range(20), bad, ...range(19)], [0.5, ...range(20), bad, ...range(18)]]) {
      assert.is(packNumbers(xs, 0, xs.length), null, `${typeof bad} among numbers`);
    }
  }
});

test('packNumbers: the range [start, end) only', () => {
  const xs = ['x', ...range(50), 'y', 0.5];
  const packed = packNumbers(xs, 1, 51);
  assert.instance(packed, Int32Array);
  sameNumbers(packed!, xs.slice(1, 51), 'range');
  assert.is(packNumbers(xs, 40, 52), null, 'a string in range');
  assert.is(packNumbers(xs, 0, 0)!.length, 0, 'an empty range packs to nothing');
});

test('batchItems: below MIN_PACKED_NUMBERS a plain packed array; from it, typed when all are numbers', () => {
  const short = range(MIN_PACKED_NUMBERS - 1);
  const a = batchItems(short, 0, short.length);
  assert.ok(Array.isArray(a), 'short: an array');
  sameNumbers(a, short, 'short');
  const exact = range(MIN_PACKED_NUMBERS);
  assert.instance(batchItems(exact, 0, exact.length), Int32Array);
  const doubles = range(MIN_PACKED_NUMBERS, (i) => i + 0.25);
  assert.instance(batchItems(doubles, 0, doubles.length), Float64Array);
  const mixed = [...range(40), 'z'];
  const m = batchItems(mixed, 0, mixed.length);
  assert.ok(Array.isArray(m), 'mixed: an array');
  assert.equal(m, mixed);
  // The result is never holey, whatever the input (new Array(n) is).
  const holey = new Array(40);
  holey[3] = 1;
  const h = batchItems(holey, 0, holey.length);
  for (let i = 0; i < h.length; i++) assert.ok(i in h, `slot ${i} present`);
});

test('NumberPacker: below MIN_PACKED_NUMBERS results stay a plain array', () => {
  const p = new NumberPacker(3);
  [1, 2, 3].forEach((v, i) => p.set(i, v));
  assert.is(p.packed(), null);
  assert.equal(p.list(), [1, 2, 3]);
});

test('NumberPacker: Int32Array for 32-bit integers, Float64Array otherwise, every number kept', () => {
  const ints = range(64, (i) => (i % 2 ? -i : i * 1000));
  const p = new NumberPacker(ints.length);
  ints.forEach((v, i) => p.set(i, v));
  assert.instance(p.packed(), Int32Array);
  sameNumbers(cross(p.packed()!), ints, 'ints across');
  const odd = range(64, (i) => [-0, NaN, 2 ** 31, 0.1, -(2 ** 31), Infinity][i % 6]);
  const q = new NumberPacker(odd.length);
  odd.forEach((v, i) => q.set(i, v));
  assert.instance(q.packed(), Float64Array);
  sameNumbers(cross(q.packed()!), odd, 'doubles across');
  sameNumbers(q.list(), odd, 'doubles listed');
  sameNumbers(q.list(5), odd.slice(0, 5), 'the first five');
});

test('NumberPacker: a result that is not a number switches to a plain array holding everything so far, in order', () => {
  const values = [...range(40, (i) => (i === 3 ? -0 : i + 0.5)), 'text', { a: 1 }, 7, -0];
  const p = new NumberPacker(values.length);
  values.forEach((v, i) => p.set(i, v));
  assert.is(p.packed(), null);
  const listed = p.list();
  assert.is(listed.length, values.length);
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] === 'number') assert.ok(Object.is(listed[i], values[i]), `item ${i}`);
    else assert.equal(listed[i], values[i]);
  }
  // A failure at item 41 replies with the 41 results before it.
  assert.is(p.list(41).length, 41);
});

test('NumberPacker: results before a failure, while still packed', () => {
  const p = new NumberPacker(100);
  for (let i = 0; i < 10; i++) p.set(i, i * 1.5);
  sameNumbers(p.list(10), range(10, (i) => i * 1.5), 'the ten before the failure');
});

test('allNumbers: only a short plain batch can be all numbers (longer ones come packed)', () => {
  assert.not.ok(allNumbers([]), 'empty');
  assert.ok(allNumbers([1, 2.5, NaN]), 'short numbers');
  assert.not.ok(allNumbers([1, '2']), 'a string');
  assert.not.ok(allNumbers(range(MIN_PACKED_NUMBERS) as number[]), 'long: would have come packed');
});

test('unpack: the first n numbers as a plain array', () => {
  assert.equal(unpack(new Float64Array([1, 2, 3]), 2), [1, 2]);
  sameNumbers(unpack(new Int32Array([5, -6]), 2), [5, -6], 'ints');
});

test('random batches round-trip through packing and v8 serialization unchanged', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const pick = (): unknown => {
    const r = rand();
    if (r < 0.5) return Math.floor(rand() * 2 ** 32) - 2 ** 31; // any int32
    if (r < 0.6) return [-0, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31) - 1][Math.floor(rand() * 6)];
    if (r < 0.95) return (rand() - 0.5) * 1e6;
    return 'not a number';
  };
  for (let round = 0; round < 300; round++) {
    const n = Math.floor(rand() * 100);
    const onlyNumbers = rand() < 0.7;
    const xs = range(n, () => {
      const v = pick();
      return onlyNumbers && typeof v !== 'number' ? 1 : v;
    });
    const sent = batchItems(xs, 0, n);
    const arrived = cross(sent);
    for (let i = 0; i < n; i++) {
      if (typeof xs[i] === 'number') assert.ok(Object.is(arrived[i], xs[i]), `round ${round} item ${i}: ${String(arrived[i])} vs ${String(xs[i])}`);
      else assert.is(arrived[i], xs[i]);
    }
    const p = new NumberPacker(n);
    xs.forEach((v, i) => p.set(i, v));
    const back = cross(p.packed() ?? p.list());
    assert.is(back.length, n);
    for (let i = 0; i < n; i++) assert.ok(Object.is(back[i], xs[i]), `round ${round} result ${i}`);
    // Packed exactly when there are enough and all are numbers; Int32 exactly when all are int32.
    const allNum = xs.every((v) => typeof v === 'number');
    assert.is(p.packed() !== null, n >= MIN_PACKED_NUMBERS && allNum, `round ${round}: packed or not`);
    if (p.packed() !== null) assert.is(p.packed() instanceof Int32Array, (xs as number[]).every(isInt32), `round ${round}: Int32 or Float64`);
  }
});

test('a reply as bytes: viewed in place when aligned, else copied into the scratch; either way every number kept', () => {
  const scratch = new PackScratch();
  const doubles = new Float64Array([-0, NaN, 1.5, 2 ** 53, -Infinity]);
  const ints = new Int32Array([-(2 ** 31), 0, 7, 2 ** 31 - 1]);
  for (const packed of [doubles, ints]) {
    const isInts = packed instanceof Int32Array;
    const aligned = bytesOf(packed);
    const view = numbersOf(aligned, isInts, scratch);
    assert.is(view.buffer, packed.buffer, 'aligned: a view, no copy');
    // The same bytes at an odd offset, as a message read from the channel leaves them.
    const odd = new Uint8Array(packed.byteLength + 1).subarray(1);
    odd.set(aligned);
    const copy = numbersOf(odd, isInts, scratch);
    assert.is.not(copy.buffer, odd.buffer, 'unaligned: copied');
    assert.is(copy instanceof Int32Array, isInts);
    for (let i = 0; i < packed.length; i++) assert.ok(Object.is(copy[i], packed[i]) && Object.is(view[i], packed[i]), `item ${i}`);
  }
});

test('NumberPacker with a scratch: results land in the reused arrays, Int32 or Float64 as without', () => {
  const scratch = new PackScratch();
  const a = new NumberPacker(64, scratch);
  for (let i = 0; i < 64; i++) a.set(i, i * 3);
  const first = a.packed()!;
  assert.instance(first, Int32Array);
  sameNumbers(unpack(first, 64), range(64, (i) => i * 3), 'ints');
  const b = new NumberPacker(64, scratch);
  for (let i = 0; i < 64; i++) b.set(i, i + 0.5);
  const second = b.packed()!;
  assert.instance(second, Float64Array);
  assert.is(b.packed()!.buffer, second.buffer, 'the scratch, again');
  sameNumbers(unpack(second, 64), range(64, (i) => i + 0.5), 'doubles');
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
