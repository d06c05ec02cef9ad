// src/remote/codec.ts alone, no process: values written by the Encoder (tree form or v8
// form, as queue items and as host-link values) decode to exactly what v8.serialize and
// v8.deserialize (structured clone) give for the same value; every ToHost / FromHost message
// survives MessageEncoder.frame and decodeMessage; malformed bytes raise the codec's error,
// never a TypeError or RangeError from a read past the end. (Which class that error is, a
// ProtocolError, is checked in test/protocol-version.test.ts.)
import { suite } from 'uvu';
import { deserialize, serialize } from 'node:v8';
import type { FromHost, ToHost, WireError } from '../../src/protocol/index.ts';
import { ByteChain, decodeMessage, decodeValue, Encoder, MessageEncoder, NeedsRevive, T_NUM, T_V8, T_V8_HANDLES } from '../../src/remote/codec.ts';
import { assert, disposeAllAndCheckLeaks } from '../helpers.ts';
import { cloneDifference } from './clone-equal.ts';
import { malformed } from './codec-cases.ts';

const test = suite('unit/codec');

/** The Encoder as its users drive it: one value, written from a fresh start. */
class ValueWriter extends Encoder {
  /** `buffers`: the host-link form (Buffers as raw bytes); queue items are written without. */
  constructor(buffers: boolean) {
    super(16, buffers);
  }
  write(v: unknown): Buffer {
    this.start = 0;
    this.end = 0;
    this.value(v);
    return Buffer.from(this.buf.subarray(this.start, this.end));
  }
}

const queueForm = new ValueWriter(false);
const linkForm = new ValueWriter(true);

function decodeAll(bytes: Buffer): unknown {
  return decodeValue(bytes, 0, bytes.length);
}

// ---------------------------------------------------------------------------------------
// Values

const lone = 'a\ud800b\udc00c';
const long = `${'é'.repeat(3000)}😀${'x'.repeat(2000)}`; // > 4096 UTF-16 units, multi-byte UTF-8
const shared = { n: 1 };
const cyclic: Record<string, unknown> = { name: 'loop' };
cyclic.self = cyclic;
const cyclicArray: unknown[] = [1];
cyclicArray.push(cyclicArray);
const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
const withExtra = Object.assign([1, 2], { extra: 'kept' });
const nested = (depth: number): unknown => (depth === 0 ? 'bottom' : { d: nested(depth - 1) });
const protoKey = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as unknown;
const nullProto = Object.assign(Object.create(null) as object, { a: 1, b: [2] });

const values: Array<[string, unknown]> = [
  ['0', 0],
  ['-0', -0],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['a fraction', 1.5],
  ['2^53 + 2', 2 ** 53 + 2],
  ['the smallest double', Number.MIN_VALUE],
  ['-1e308', -1e308],
  ['true', true],
  ['false', false],
  ['null', null],
  ['undefined', undefined],
  ['an empty string', ''],
  ['ASCII', 'hello'],
  ['NUL characters', 'a\u0000b'],
  ['accents and an astral emoji', 'é😀'],
  ['lone surrogates', lone],
  ['a lone high surrogate at the end', 'x\ud83d'],
  ['a string longer than 4096 units with multi-byte UTF-8', long],
  ['bigint 0n', 0n],
  ['a bigint beyond 64 bits', -(2n ** 70n) - 1n],
  ['an empty object', {}],
  ['nested objects', { a: { b: { c: [1, 'two', null, undefined, -0] } }, e: '' }],
  ['integer-like keys (enumerated first)', { b: 1, 2: 'two', a: 3, 1: 'one', '01': 'not an index' }],
  ['a "__proto__" own key', protoKey],
  ['an object with a null prototype', nullProto],
  ['undefined values', { u: undefined, arr: [undefined] }],
  ['an empty array', []],
  ['a mixed array', [1, 'a', null, true, { x: 1 }, [2]]],
  ['64 items (the largest tree array)', Array.from({ length: 64 }, (_, i) => i)],
  ['65 items (v8 form)', Array.from({ length: 65 }, (_, i) => `${i}`)],
  ['a sparse array', sparse],
  ['an array with a named property', withExtra],
  ['nesting 32 deep (tree form)', nested(32)],
  ['nesting 40 deep (v8 form)', nested(40)],
  ['a shared reference', { a: shared, b: shared, list: [shared] }],
  ['a shared reference after 20 other objects', { many: Array.from({ length: 20 }, (_, i) => ({ i })), again: shared, last: [shared] }],
  ['20 distinct objects, none shared', Array.from({ length: 20 }, (_, i) => ({ i, inner: { i } }))],
  ['an object cycle', cyclic],
  ['an array cycle', cyclicArray],
  ['a Map', new Map<unknown, unknown>([['k', 1], [2, { v: [3] }]])],
  ['a Map with object keys', new Map<object, unknown>([[{ key: 1 }, 'one'], [shared, shared]])],
  ['a Set', new Set([1, 'a', { o: 1 }])],
  ['a Date', new Date(1_700_000_000_123)],
  ['an invalid Date', new Date(NaN)],
  ['a RegExp', /a+b?/giu],
  ['Int8Array', new Int8Array([-128, 0, 127])],
  ['Uint8Array', new Uint8Array([0, 255])],
  ['Uint8ClampedArray', new Uint8ClampedArray([0, 255])],
  ['Int16Array', new Int16Array([-32768, 32767])],
  ['Uint16Array', new Uint16Array([65535])],
  ['Int32Array', new Int32Array([-(2 ** 31), 2 ** 31 - 1])],
  ['Uint32Array', new Uint32Array([2 ** 32 - 1])],
  ['Float32Array', new Float32Array([1.5, -0, NaN])],
  ['Float64Array', new Float64Array([Math.PI, -0, NaN, Infinity])],
  ['BigInt64Array', new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n])],
  ['BigUint64Array', new BigUint64Array([2n ** 64n - 1n])],
  ['a typed array over part of a buffer', new Uint16Array(new ArrayBuffer(16), 4, 3)],
  ['a DataView', new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2)],
  ['an ArrayBuffer', new Uint8Array([9, 8, 7]).buffer],
  ['a Buffer', Buffer.from('bytes \u00ff')],
  ['an empty Buffer', Buffer.alloc(0)],
  ['a Buffer slice', Buffer.from('0123456789').subarray(3, 7)],
  ['Buffers inside an object', { head: Buffer.from([1]), body: [Buffer.from('two')] }],
  ['boxed primitives', [Object(1), Object('s'), Object(false), Object(5n)]],
  ['an Error', new RangeError('out of range')],
  ['everything at once', { m: new Map([[1, new Set(['x'])]]), d: new Date(7), b: Buffer.from('hi'), s: lone, n: -0, big: 3n, t: new Float64Array([1]) }],
];

for (const [form, writer] of [
  ['queue-item form', queueForm],
  ['host-link form', linkForm],
] as const) {
  test(`${form}: every value decodes to what v8.serialize + v8.deserialize give`, () => {
    const wrong: string[] = [];
    for (const [name, value] of values) {
      const expected = deserialize(serialize(value));
      let got: unknown;
      try {
        got = decodeAll(writer.write(value));
      } catch (err) {
        wrong.push(`${name}: threw ${(err as Error).name}: ${(err as Error).message}`);
        continue;
      }
      const difference = cloneDifference(got, expected);
      if (difference !== null) wrong.push(`${name}: ${difference}`);
    }
    assert.equal(wrong, [], 'values whose decoded form differs from structured clone');
  });
}

test('values the tree form writes are not v8 payloads; those it cannot (bigint, Map, cycles, 65 items) are', () => {
  const tag = (v: unknown) => linkForm.write(v)[0];
  for (const v of [1, 'a', lone, null, true, undefined, { a: [1] }, [], Buffer.from('x'), nested(32)]) assert.is.not(tag(v), T_V8, `${String(v)} in tree form`);
  assert.is(tag(-0), T_NUM, '-0 is a number in tree form (a double keeps its sign)');
  const manyThenShared = { many: Array.from({ length: 20 }, (_, i) => ({ i })), a: shared, b: shared };
  assert.is.not(tag(Array.from({ length: 20 }, (_, i) => ({ i }))), T_V8, '20 distinct objects in tree form');
  for (const v of [1n, new Map(), new Set(), cyclic, { a: shared, b: shared }, manyThenShared, new Date(0), Array.from({ length: 65 }, () => 0), nested(40), sparse, withExtra]) {
    assert.is(tag(v), T_V8, `${Object.prototype.toString.call(v)} goes to v8`);
  }
  // A Buffer is raw bytes on the host link only; a queue item carries it in v8 form.
  assert.is(queueForm.write(Buffer.from('x'))[0], T_V8);
});

test('a value that cannot be cloned throws what v8.serialize throws, and the writer stays usable', () => {
  for (const bad of [() => 1, Symbol('s'), { f() {} }, [1, () => 2]]) {
    assert.throws(() => linkForm.write(bad), (err: Error) => err instanceof Error && /could not be cloned/.test(err.message), `${String(bad)}`);
  }
  assert.equal(decodeAll(linkForm.write({ after: 'a failure' })), { after: 'a failure' });
});

test('a Buffer decoded from the host link is a view into the received bytes (no copy)', () => {
  const bytes = linkForm.write({ b: Buffer.from('view') });
  const got = decodeAll(bytes) as { b: Buffer };
  assert.is(got.b.toString(), 'view');
  assert.is(got.b.buffer, bytes.buffer, 'same memory as the frame');
});

test('a v8 payload written with handles decodes wrapped in NeedsRevive, for the caller to revive', () => {
  class HandleWriter extends Encoder {
    write(v: unknown): Buffer {
      this.start = 0;
      this.end = 0;
      this.v8(serialize(v), true);
      return Buffer.from(this.buf.subarray(this.start, this.end));
    }
  }
  const bytes = new HandleWriter(16).write({ h: 1 });
  assert.is(bytes[0], T_V8_HANDLES);
  const got = decodeAll(bytes);
  assert.instance(got, NeedsRevive);
  assert.equal((got as NeedsRevive).value, { h: 1 });
});

// ---------------------------------------------------------------------------------------
// Messages

const wire: WireError = {
  name: 'QuotaError',
  message: 'quota of 5 exceeded',
  stack: 'QuotaError: quota of 5 exceeded\n    at x (y.ts:1:1)',
  mpCode: undefined,
  props: { code: 'E_QUOTA', limit: 5 },
  cause: { name: 'RangeError', message: 'inner', props: {} },
  pid: 1234,
};

const messages: Array<ToHost | FromHost> = [
  { type: 'call', id: 1, obj: 'q1', method: 'put', args: [] },
  { type: 'call', id: 2 ** 53 - 1, obj: 'lone \ud800 id', method: 'get', args: [1, 'two', { three: [3] }, null, undefined, -0], handles: true },
  { type: 'call', id: 0, obj: 'o', method: 'notify', args: [new Map([[1, 2]]), 5n, Buffer.from('raw')] },
  { type: 'cancel', id: 7 },
  { type: 'cancel', id: 2 ** 32 + 5 },
  { type: 'sync', id: 3 },
  { type: 'incref', obj: 'abc', claim: true },
  { type: 'incref', obj: 'abc', claim: false },
  { type: 'decref', obj: 'é😀' },
  { type: 'lease', obj: '' },
  { type: 'result', id: 9, value: undefined },
  { type: 'result', id: 10, value: { items: [Buffer.from('a'), Buffer.alloc(0)], n: NaN }, handles: true },
  { type: 'result', id: 11, value: cyclic },
  { type: 'result', id: 12, value: 'x'.repeat(100_000) }, // a frame over 64 KiB: handed over, not copied
  { type: 'error', id: 13, error: wire },
];

/** What decodeMessage gives back for `m`: the flag fields are always present. */
function expectedOf(m: ToHost | FromHost): unknown {
  if (m.type === 'call' || m.type === 'result') return { ...m, handles: m.handles === true };
  return m;
}

test('every ToHost and FromHost message survives frame() and decodeMessage', () => {
  const encoder = new MessageEncoder();
  const seen = new Set<string>();
  for (const m of messages) {
    seen.add(m.type);
    const frame = encoder.frame(m);
    assert.is(frame.readUInt32BE(0), frame.length - 4, `${m.type}: the length header counts the body`);
    const back = decodeMessage(frame.subarray(4));
    const difference = cloneDifference(back, deserialize(serialize(expectedOf(m))));
    assert.is(difference, null, `${m.type} #${(m as { id?: number }).id ?? ''}: ${difference}`);
  }
  // A new message type must be added to this table (and to the codec) to pass.
  assert.equal([...seen].sort(), ['call', 'cancel', 'decref', 'error', 'incref', 'lease', 'result', 'sync']);
});

test('frames handed out earlier keep their bytes while later ones are encoded', () => {
  const encoder = new MessageEncoder();
  const first = encoder.frame({ type: 'result', id: 1, value: 'first' });
  const big = encoder.frame({ type: 'result', id: 2, value: 'y'.repeat(200_000) });
  const third = encoder.frame({ type: 'result', id: 3, value: 'third' });
  assert.equal(decodeMessage(first.subarray(4)), { type: 'result', id: 1, value: 'first', handles: false });
  assert.is((decodeMessage(big.subarray(4)) as { value: string }).value.length, 200_000);
  assert.equal(decodeMessage(third.subarray(4)), { type: 'result', id: 3, value: 'third', handles: false });
});

test('object keys read through the key cache: keys sharing a slot (same length, first and last byte) stay apart', () => {
  const writer = new ValueWriter(false);
  const values = [{ axb: 1 }, { ayb: 2 }, { axb: 3, 'é€b': 4 }, { ayb: 5, ['k'.repeat(40)]: 6 }, { axb: 7 }];
  for (let round = 0; round < 2; round++) {
    for (const v of values) {
      const bytes = writer.write(v);
      assert.equal(decodeValue(bytes, 0, bytes.length), v);
    }
  }
});

test('a ByteChain crosses as one Buffer; its large parts are pieces of the frame, not copied', () => {
  const encoder = new MessageEncoder();
  const small = Buffer.from('ab');
  const large = Buffer.alloc(40_000, 7);
  const tail = Buffer.alloc(30_000, 9);
  const m: FromHost = { type: 'result', id: 9, value: { data: new ByteChain([small, large, small, tail]), count: 4 } };
  const pieces = encoder.pieces(m);
  // The large parts are written from where they lie (same memory), the rest is copied.
  assert.ok(pieces.some((p) => p.buffer === large.buffer && p.byteOffset === large.byteOffset), 'the 40 KB part is a piece of its own');
  assert.ok(pieces.some((p) => p.buffer === tail.buffer), 'the 30 KB part is a piece of its own');
  const frame = Buffer.concat(pieces);
  assert.is(frame.readUInt32BE(0), frame.length - 4, 'the length header counts every piece');
  assert.equal(frame, encoder.frame(m), 'frame() joins the same pieces');
  const back = decodeMessage(frame.subarray(4)) as { value: { data: Buffer; count: number } };
  assert.ok(Buffer.isBuffer(back.value.data));
  assert.equal(back.value.data, Buffer.concat([small, large, small, tail]));
  assert.is(back.value.count, 4);
  // The encoder's own buffer is reused by the next message: the copied pieces must not change.
  encoder.frame({ type: 'result', id: 10, value: 'z'.repeat(100) });
  assert.equal(decodeMessage(Buffer.concat(pieces).subarray(4)), back);
});

test('a getter that sends a message while its value is written gets an encoder of its own', () => {
  const encoder = new MessageEncoder();
  let inner: Buffer | undefined;
  const value = {
    get sneaky() {
      inner = encoder.frame({ type: 'decref', obj: 'inner' });
      return 'outer value';
    },
  };
  const outer = encoder.frame({ type: 'result', id: 5, value });
  assert.equal(decodeMessage(outer.subarray(4)), { type: 'result', id: 5, value: { sneaky: 'outer value' }, handles: false });
  assert.equal(decodeMessage(inner!.subarray(4)), { type: 'decref', obj: 'inner' });
});

test('a message whose value cannot be cloned throws, and the encoder keeps working', () => {
  const encoder = new MessageEncoder();
  assert.throws(() => encoder.frame({ type: 'call', id: 1, obj: 'o', method: 'm', args: [() => 1] }), /could not be cloned/);
  assert.equal(decodeMessage(encoder.frame({ type: 'cancel', id: 2 }).subarray(4)), { type: 'cancel', id: 2 });
});

// ---------------------------------------------------------------------------------------
// Malformed bytes

test('malformed bodies raise the codec error that says what is wrong (never a TypeError or RangeError)', () => {
  for (const [what, bytes, message] of malformed) {
    assert.throws(
      () => decodeMessage(Buffer.from(bytes)),
      (err: Error) => err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError) && message.test(err.message),
      what,
    );
  }
});

test('decodeValue reads only inside [pos, end): bytes after `end` are never read as the value', () => {
  const bytes = Buffer.concat([linkForm.write('abc'), Buffer.from([0xff, 0xff])]);
  assert.is(decodeValue(bytes, 0, bytes.length - 2), 'abc');
  assert.throws(() => decodeValue(bytes, 0, 3), /truncated value/, 'a string cut by `end` is truncated even with bytes after it');
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
