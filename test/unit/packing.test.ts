// Queue item packing (src/queue/packing.ts): takeFrom() hands out items by count and by byte
// budget, whole segments at once or item by item, and always at least one item; the parts
// it returns cover exactly the items taken, in order. Checked against a model that walks
// every item. Received frames (FrameItems) are reused only once all their items are done.
// No processes.
import { suite } from 'uvu';
import { Deque } from '../../src/deque.ts';
import { FrameItems, itemBytes, PackWriter, readItem, takeFrom, type Segment } from '../../src/queue/packing.ts';
import { FrameReader } from '../../src/remote/frame.ts';
import { assert, disposeAllAndCheckLeaks } from '../helpers.ts';

const test = suite('packing');

/** A segment of `values` packed as queue items. */
function segment(values: unknown[]): Segment {
  const w = new PackWriter(64);
  for (const v of values) w.write(v, 'test');
  return w.take();
}

/** Every item of `parts`, decoded in order; checks each part's count against its bytes. */
function decode(parts: Segment[]): unknown[] {
  const out: unknown[] = [];
  for (const part of parts) {
    let p = part.pos;
    for (let i = 0; i < part.count; i++) {
      out.push(readItem(part.buf, p));
      p += itemBytes(part.buf, p);
    }
    assert.is(p, part.end, 'a part ends right after its last item');
  }
  return out;
}

/** Segments of sizes `sizes`, numbered items 0, 1, 2, … of string payloads of `len` characters. */
function segments(sizes: number[], len: number): { segs: Deque<Segment>; items: unknown[] } {
  const segs = new Deque<Segment>();
  const items: unknown[] = [];
  for (const size of sizes) {
    const first = items.length;
    const values = Array.from({ length: size }, (_, i) => ({ id: first + i, payload: 'y'.repeat(len) }));
    items.push(...values);
    segs.push(segment(values));
  }
  return { segs, items };
}

test('whole segments: everything fits, all segments leave in order', () => {
  const { segs, items } = segments([3, 5, 2], 10);
  const batch = takeFrom(segs, 100, 1 << 20);
  assert.is(batch.count, 10);
  assert.is(segs.length, 0, 'every segment was taken');
  assert.equal(decode(batch.parts), items);
  assert.is(batch.bytes, batch.parts.reduce((n, p) => n + p.end - p.pos, 0));
});

test('the count stops inside a segment: the rest stays, with its own count and position', () => {
  const { segs, items } = segments([4, 4], 10);
  const first = takeFrom(segs, 6, 1 << 20);
  assert.is(first.count, 6);
  assert.equal(decode(first.parts), items.slice(0, 6));
  assert.is(segs.length, 1);
  assert.is(segs.peek()!.count, 2);
  const rest = takeFrom(segs, 100, 1 << 20);
  assert.equal(decode(rest.parts), items.slice(6));
  assert.is(segs.length, 0);
});

test('the byte budget stops inside a segment; an item larger than the budget still leaves alone', () => {
  const { segs, items } = segments([5, 5], 100);
  const size = itemBytes(segs.peek()!.buf, segs.peek()!.pos);
  const batch = takeFrom(segs, 100, size * 3 + 1);
  assert.is(batch.count, 3, 'three items fit the budget');
  assert.equal(decode(batch.parts), items.slice(0, 3));
  const one = takeFrom(segs, 100, 1);
  assert.is(one.count, 1, 'at least one item, whatever the budget');
  assert.equal(decode(one.parts), items.slice(3, 4));
  const after = takeFrom(segs, 100, 1 << 20);
  assert.equal(decode(after.parts), items.slice(4));
});

test('random takes by count and budget match a model of the items', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let round = 0; round < 50; round++) {
    const sizes = Array.from({ length: 1 + rand(6) }, () => 1 + rand(20));
    const { segs, items } = segments(sizes, rand(200));
    const got: unknown[] = [];
    while (segs.length > 0) {
      const n = 1 + rand(30);
      const budget = 1 + rand(4000);
      const batch = takeFrom(segs, n, budget);
      assert.ok(batch.count >= 1 && batch.count <= n, `took ${batch.count} of at most ${n}`);
      assert.ok(batch.count === 1 || batch.bytes <= budget, `${batch.bytes} bytes within a budget of ${budget}`);
      got.push(...decode(batch.parts));
    }
    assert.equal(got, items);
  }
});

test('strings of every kind come back as they were put: ASCII short and long (keys too), Latin-1, multi-byte, lone surrogates', () => {
  const longKey = 'k'.repeat(40);
  const values: unknown[] = [
    'x'.repeat(1000),
    'x'.repeat(33),
    'a\u007f'.repeat(20),
    'é'.repeat(40),
    `${'x'.repeat(50)}\u0080`,
    `${'x'.repeat(50)}😀`,
    `${'x'.repeat(50)}\ud800`,
    { [longKey]: 'v', [`${longKey}é`]: 'w', payload: 'y'.repeat(100) },
    ['z'.repeat(64), '', 'short'],
  ];
  assert.equal(decode([segment(values)]), values);
});

/** A large frame (the same length each time) fed to `reader` in three pieces from a reused receive buffer. */
function largeFrame(reader: FrameReader, fill: number): Buffer {
  const stream = Buffer.alloc(4 + 300_000, fill);
  stream.writeUInt32BE(300_000, 0);
  for (const [from, to] of [[0, 1000], [1000, 150_000], [150_000, stream.length]] as const) reader.push(Buffer.from(stream.subarray(from, to)), true);
  const f = reader.next();
  assert.ok(f !== null && f.length === 300_000 && f[0] === fill && f[299_999] === fill, 'the frame arrived whole');
  return f!;
}

test('a large frame is claimed once; its buffer holds a later frame only once all its items are done, never after escape()', () => {
  const reader = new FrameReader(64 * 1024 * 1024);
  const first = largeFrame(reader, 1);
  assert.is(FrameItems.claim(first, 3), null, 'the first frame of its size has a buffer of its own');
  const second = largeFrame(reader, 2);
  const items = FrameItems.claim(second, 3);
  assert.ok(items !== null, 'a frame of a size seen before is claimable');
  assert.is(FrameItems.claim(second, 3), null, 'claimed once only');
  assert.is(FrameItems.claim(Buffer.alloc(300_000), 1), null, 'a buffer that is no received frame');
  items!.done(2);
  const third = largeFrame(reader, 3);
  assert.ok(third.buffer !== second.buffer, 'not reused while an item is not done');
  assert.is(second[0], 2, 'the frame still holds its bytes');
  items!.done(1);
  const fourth = largeFrame(reader, 4);
  assert.ok(fourth.buffer === second.buffer, 'reused once every item is done');
  const escaped = FrameItems.claim(fourth, 1)!;
  escaped.escape();
  escaped.done(1);
  const fifth = largeFrame(reader, 5);
  assert.ok(fifth.buffer !== fourth.buffer, 'never reused after escape()');
  assert.is(fourth[0], 4);
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
