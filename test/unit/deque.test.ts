// The ring-buffer Deque (src/deque.ts) used by the engine's batch queue, the child's inbox
// and the queues: order, growth, wrap-around, removal inside, and random operations checked
// against an array model. No processes.
import { suite } from 'uvu';
import { Deque } from '../../src/deque.ts';
import { assert, disposeAllAndCheckLeaks } from '../helpers.ts';

const test = suite('deque');

/** Every item, front to back, through the public API only. */
function contents<T>(d: Deque<T>): T[] {
  const out: T[] = [];
  for (let i = 0; i < d.length; i++) out.push(d.at(i) as T);
  return out;
}

test('push/shift is first in, first out; peek shows the front without taking it', () => {
  const d = new Deque<number>();
  assert.is(d.length, 0);
  assert.is(d.shift(), undefined, 'shift of an empty deque');
  assert.is(d.peek(), undefined, 'peek of an empty deque');
  for (let i = 0; i < 5; i++) d.push(i);
  assert.is(d.peek(), 0);
  assert.is(d.length, 5);
  assert.equal([d.shift(), d.shift()], [0, 1]);
  assert.is(d.peek(), 2);
  assert.equal(contents(d), [2, 3, 4]);
});

test('unshift puts items in front, in reverse order of the calls', () => {
  const d = new Deque<string>();
  d.push('b');
  d.unshift('a');
  d.unshift('z');
  assert.equal(contents(d), ['z', 'a', 'b']);
  assert.is(d.shift(), 'z');
});

test('growth keeps the order, from any head position (wrapped around the ring)', () => {
  for (const offset of [0, 1, 7, 15, 16, 17]) {
    const d = new Deque<number>();
    // Move the head `offset` places so the items wrap around the end of the 16-slot ring.
    for (let i = 0; i < offset; i++) d.push(-1);
    for (let i = 0; i < offset; i++) d.shift();
    for (let i = 0; i < 100; i++) d.push(i);
    assert.equal(contents(d), Array.from({ length: 100 }, (_, i) => i), `offset ${offset}`);
    for (let i = 0; i < 100; i++) assert.is(d.shift(), i, `offset ${offset}, item ${i}`);
    assert.is(d.length, 0);
  }
});

test('growth while the front was filled by unshift (head wrapped below 0)', () => {
  const d = new Deque<number>();
  for (let i = 0; i < 40; i++) d.unshift(i);
  assert.equal(contents(d), Array.from({ length: 40 }, (_, i) => 39 - i));
});

test('at, findIndex and removeAt address items from the front, also across the wrap', () => {
  const d = new Deque<number>();
  for (let i = 0; i < 12; i++) d.push(-1);
  for (let i = 0; i < 12; i++) d.shift();
  for (let i = 0; i < 10; i++) d.push(i); // occupies slots 12..15 then 0..5
  assert.is(d.at(0), 0);
  assert.is(d.at(9), 9);
  assert.is(d.at(10), undefined, 'past the back');
  assert.is(d.at(-1), undefined, 'before the front');
  assert.is(d.findIndex((v) => v === 6), 6);
  assert.is(d.findIndex((v) => v === 42), -1);
  assert.is(d.removeAt(5), 5, 'an item inside, across the wrap');
  assert.equal(contents(d), [0, 1, 2, 3, 4, 6, 7, 8, 9]);
  assert.is(d.removeAt(0), 0, 'the front');
  assert.is(d.removeAt(d.length - 1), 9, 'the back');
  assert.is(d.removeAt(99), undefined, 'outside');
  assert.equal(contents(d), [1, 2, 3, 4, 6, 7, 8]);
  d.push(10);
  assert.equal(contents(d), [1, 2, 3, 4, 6, 7, 8, 10], 'a push after removals goes to the back');
});

test('clear empties it and it works afterwards', () => {
  const d = new Deque<number>();
  for (let i = 0; i < 50; i++) d.push(i);
  d.clear();
  assert.is(d.length, 0);
  assert.is(d.shift(), undefined);
  d.push(1);
  d.unshift(0);
  assert.equal(contents(d), [0, 1]);
});

test('random operations agree with an array model', () => {
  let seed = 2024;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const d = new Deque<number>();
  const model: number[] = [];
  let next = 0;
  let most = 0;
  for (let step = 0; step < 20_000; step++) {
    // Phases of 2,500 steps that add more than they take, then take more than they add, so
    // the deque grows (several times), drains, wraps around and grows again.
    const growing = Math.floor(step / 2500) % 2 === 0;
    const op = rand(100);
    if (op < (growing ? 40 : 20)) {
      d.push(next);
      model.push(next++);
    } else if (op < 45) {
      d.unshift(next);
      model.unshift(next++);
    } else if (op < 85) {
      assert.is(d.shift(), model.shift(), `step ${step}: shift`);
    } else if (op < 92) {
      const i = model.length === 0 ? 0 : rand(model.length);
      const expected = i < model.length ? model.splice(i, 1)[0] : undefined;
      assert.is(d.removeAt(i), expected, `step ${step}: removeAt(${i})`);
    } else if (op < 97) {
      const target = model.length === 0 ? -1 : model[rand(model.length)]!;
      assert.is(d.findIndex((v) => v === target), model.indexOf(target), `step ${step}: findIndex`);
    } else if (op < 99) {
      const i = rand(model.length + 2) - 1;
      assert.is(d.at(i), i >= 0 ? model[i] : undefined, `step ${step}: at(${i})`);
    } else {
      assert.is(d.peek(), model[0], `step ${step}: peek`);
    }
    assert.is(d.length, model.length, `step ${step}: length`);
    most = Math.max(most, model.length);
  }
  assert.ok(most > 64, `the deque grew past its first sizes (most held at once: ${most})`);
  assert.equal(contents(d), model, 'the same items at the end');
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
