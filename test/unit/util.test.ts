// The small shared helpers (src/util.ts): how a value is shown in a message, the iterable
// and thenable tests, the keep-alive timer. No processes.
import { suite } from 'uvu';
import { describe, describeKey, isAsyncIterable, isIterable, isThenable, keepAlive, nameOf } from '../../src/util.ts';
import { assert, disposeAllAndCheckLeaks } from '../helpers.ts';

const test = suite('util');

test('describe: every kind of value, never throwing', () => {
  class Point {}
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const rows: [unknown, string][] = [
    ['abc', '"abc"'],
    ['x'.repeat(50), `"${'x'.repeat(40)}…"`],
    [5, '5'],
    [NaN, 'NaN'],
    [-Infinity, '-Infinity'],
    [true, 'true'],
    [undefined, 'undefined'],
    [null, 'null'],
    [10n, '10n'],
    [Symbol('s'), 'Symbol(s)'],
    [function named() {}, 'function named'],
    [() => {}, 'function (anonymous)'],
    [[1, 2, 3], 'an array of length 3'],
    [{ a: 1 }, 'an object (Object)'],
    [Object.create(null), 'an object (null prototype)'],
    [new Map(), 'an object (Map)'],
    [new Point(), 'an object (Point)'],
    [revoked.proxy, 'an object'],
  ];
  for (const [value, shown] of rows) assert.is(describe(value), shown);
});

test('describeKey: a key in full, strings quoted, bigints with n', () => {
  assert.is(describeKey('a b'), '"a b"');
  assert.is(describeKey('x'.repeat(60)), JSON.stringify('x'.repeat(60)), 'never cut');
  assert.is(describeKey(7n), '7n');
  assert.is(describeKey(-0), '0');
  assert.is(describeKey(null), 'null');
  assert.is(describeKey(true), 'true');
});

test('nameOf: a function by name, anything else by type', () => {
  assert.is(nameOf(function square() {}), 'square');
  assert.is(nameOf(() => {}), 'anonymous');
  assert.is(nameOf('f'), 'string');
  assert.is(nameOf(null), 'object');
});

test('isIterable and isAsyncIterable', () => {
  async function* agen() {}
  function* gen() {}
  for (const it of [[], new Set(), new Map(), 'str', gen(), new Uint8Array(2)]) assert.ok(isIterable(it), String(it));
  for (const it of [null, undefined, 5, {}, agen()]) assert.not.ok(isIterable(it), String(it));
  assert.ok(isAsyncIterable(agen()));
  for (const it of [null, [], gen(), {}]) assert.not.ok(isAsyncIterable(it), String(it));
});

test('isThenable: promises and anything with a then method, as await treats them', () => {
  assert.ok(isThenable(Promise.resolve(1)));
  assert.ok(isThenable({ then() {} }));
  assert.ok(isThenable(Object.assign(() => {}, { then() {} })), 'a function with then is a thenable for await too');
  for (const v of [null, undefined, 1, 'then', { then: 1 }, {}]) assert.not.ok(isThenable(v), String(v));
});

test('keepAlive: a timer holds the event loop until released; release is idempotent', () => {
  const timers = () => (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const release = keepAlive();
  assert.is(timers(), before + 1, 'one more timer while held');
  release();
  assert.is(timers(), before, 'gone once released');
  release();
  assert.is(timers(), before, 'a second release changes nothing');
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
