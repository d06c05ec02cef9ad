// src/remote/frame.ts alone, no socket: FrameReader fed the same stream in every way a
// socket may cut it (byte by byte, uneven chunks, chunks the caller reuses), frames of length
// 0, small frames and frames assembled in place (>= 64 KiB, also by reads straight into them),
// the size cap, and memory that follows the bytes that arrived rather than the length a
// header claims. (The reader on a real link is in test/host-limits.test.ts; the class of the
// cap's error, a ProtocolError, is checked in test/protocol-version.test.ts.)
import { suite } from 'uvu';
import { randomBytes } from 'node:crypto';
import { frame, FrameReader } from '../../src/remote/frame.ts';
import { assert, disposeAllAndCheckLeaks } from '../helpers.ts';

const test = suite('unit/frame');
const MiB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

function header(n: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(n, 0);
  return h;
}

/** Push `stream` cut into pieces of the sizes `sizes` yields, collecting every frame. */
function feed(reader: FrameReader, stream: Buffer, sizes: () => number, transient: boolean): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; ) {
    const n = Math.min(sizes(), stream.length - at);
    if (transient) {
      // The caller's receive buffer: reused (overwritten) as soon as push() returns.
      const scratch = Buffer.from(stream.subarray(at, at + n));
      reader.push(scratch, true);
      scratch.fill(0xee);
    } else {
      reader.push(stream.subarray(at, at + n));
    }
    at += n;
    for (let f = reader.next(); f !== null; f = reader.next()) out.push(f);
  }
  return out;
}

test('FrameReader: a length-0 header trickled byte by byte is an empty frame, not a TypeError; an oversized one throws', () => {
  const reader = new FrameReader(1024);
  const frames: number[][] = [];
  for (const b of [0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0]) {
    reader.push(Buffer.from([b]));
    for (let f = reader.next(); f !== null; f = reader.next()) frames.push([...f]);
  }
  assert.equal(frames, [[], [1, 2, 3], []]);
  assert.ok(reader.empty, 'nothing left over');
  const big = new FrameReader(1024);
  for (const b of [0, 0, 4, 1]) big.push(Buffer.from([b]));
  assert.throws(
    () => big.next(),
    (err: Error) => err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError) && /1025 bytes exceeds the 1024-byte cap/.test(err.message),
  );
});

test('FrameReader: the same stream of frames comes out whole however it is cut, caller buffers reused or not', () => {
  const bodies = [0, 1, 3, 0, 100, 65_535, 65_536, 70_000, 7, 200_000, 0, 4].map((n) => randomBytes(n));
  const stream = Buffer.concat(bodies.map((b) => frame(b)));
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
  const cuts: Array<[string, () => number]> = [
    ['one byte at a time', () => 1],
    ['three bytes at a time (headers split)', () => 3],
    ['4,096-byte reads', () => 4096],
    ['64 KiB reads', () => 65_536],
    ['uneven sizes', () => [1, 3, 1000, 70_000, 333_333][random() % 5]!],
    ['random sizes up to 100 KiB', () => 1 + (random() % 100_000)],
    ['the whole stream at once', () => stream.length],
  ];
  for (const [name, sizes] of cuts) {
    for (const transient of [false, true]) {
      const reader = new FrameReader(1024 * 1024);
      const got = feed(reader, stream, sizes, transient);
      const what = `${name}${transient ? ', reused buffers' : ''}`;
      assert.is(got.length, bodies.length, `${what}: frame count`);
      // Compared at the end: a frame handed out earlier must not change as later bytes arrive.
      got.forEach((f, i) => assert.ok(f.equals(bodies[i]!), `${what}: frame ${i} (${bodies[i]!.length} bytes) differs`));
      assert.ok(reader.empty, `${what}: nothing left over`);
    }
  }
});

test('FrameReader: a frame exactly at the cap passes, one byte over throws; the cap may rise between frames', () => {
  const reader = new FrameReader(8);
  reader.push(frame(Buffer.alloc(8, 1)));
  assert.equal([...reader.next()!], [1, 1, 1, 1, 1, 1, 1, 1]);
  reader.max = 16; // as a link does after its handshake
  reader.push(frame(Buffer.alloc(16, 2)));
  assert.is(reader.next()!.length, 16);
  reader.push(header(17));
  assert.throws(() => reader.next(), /17 bytes exceeds the 16-byte cap/);
});

test('FrameReader: a header announcing 60 MiB holds memory as bytes arrive, not 60 MiB at once; the frame still assembles exactly', () => {
  const before = process.memoryUsage().arrayBuffers;
  const readers: FrameReader[] = [];
  for (let i = 0; i < 50; i++) {
    const r = new FrameReader(64 * MiB);
    r.push(Buffer.concat([header(60 * MiB), randomBytes(100)]));
    assert.is(r.next(), null);
    readers.push(r);
  }
  const held = process.memoryUsage().arrayBuffers - before;
  assert.ok(held < 50 * 256 * 1024, `50 readers waiting for 60 MiB frames hold ${mb(held)}`);
  // Correctness across growth steps: a 5 MiB frame in chunks of uneven sizes, then a small one.
  const body = randomBytes(5 * MiB);
  const stream = Buffer.concat([header(body.length), body, header(2), Buffer.from([7, 8])]);
  const r = new FrameReader(64 * MiB);
  let i = 0;
  const out = feed(r, stream, () => [1, 3, 1000, 70_000, 333_333][i++ % 5]!, true);
  assert.is(out.length, 2);
  assert.ok(out[0]!.equals(body), 'the big frame arrived intact');
  assert.equal([...out[1]!], [7, 8]);
  void readers;
});

test('FrameReader: reads that land in room() (a large frame assembled in place) complete the frame with no copy; others are pushed', () => {
  const reader = new FrameReader(64 * MiB);
  const body = randomBytes(300_000);
  assert.is(reader.room(), null, 'no frame being assembled: no room');
  reader.push(Buffer.concat([header(body.length), body.subarray(0, 1000)]));
  assert.is(reader.next(), null);
  let at = 1000;
  let direct = 0;
  for (;;) {
    const room = reader.room();
    if (room === null) {
      // Too little room left in the growing buffer: this piece goes through push().
      const n = Math.min(10_000, body.length - at);
      reader.push(body.subarray(at, at + n));
      at += n;
    } else {
      const n = Math.min(room.length, 50_000, body.length - at);
      body.copy(room, 0, at, at + n);
      assert.ok(reader.filled(room, n), 'filled() knows the buffer room() gave');
      assert.not.ok(reader.filled(room, n), 'once only');
      at += n;
      direct += n;
    }
    const f = reader.next();
    if (f !== null) {
      assert.is(at, body.length);
      assert.ok(f.equals(body), 'the frame is exactly the bytes sent');
      break;
    }
  }
  assert.ok(direct > body.length / 2, `most bytes landed in place (${direct} of ${body.length})`);
  assert.is(reader.room(), null, 'the frame is complete: no room');
  assert.not.ok(reader.filled(Buffer.alloc(10), 10), 'a buffer room() did not give');
});

test('frame(body): a 4-byte big-endian length, then the body', () => {
  assert.equal([...frame(Buffer.from([9, 8, 7]))], [0, 0, 0, 3, 9, 8, 7]);
  assert.equal([...frame(Buffer.alloc(0))], [0, 0, 0, 0]);
  assert.is(frame(Buffer.alloc(70_000)).readUInt32BE(0), 70_000);
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
