// The byte channel beside a pool worker's IPC channel (src/process/byte-channel.ts): large
// binary values and packed numbers travel on it as raw bytes, both ways. Over real workers:
// every kind and size around the threshold arrives intact and in order among small and
// non-binary items, as a value owning exactly its memory; arguments of apply, starmap and
// submit; large results; packed numbers exact to the bit; workers recycled (maxTasksPerChild)
// and an imap left early; a worker killed while a payload is being written (its batch runs
// elsewhere, exactly once) or while it replies; terminate() in the middle of a transfer.
// A bare channel to a forked child: the parent's end reads frames of every size whole and in
// order into memory of their own (pooled ones into the channel's reused buffers), and the
// child process still reports 'close' once it has gone.
import { suite } from 'uvu';
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, ProcessPoolExecutor, tasks, WorkerLostError } from '../src/index.ts';
import { Pool } from '../src/process/index.ts';
import { ByteChannel, MIN_CHANNEL_BYTES } from '../src/process/byte-channel.ts';
import { pidAlive } from '../src/process/spawn.ts';
import { assert, disposeAllAndCheckLeaks, rejection, rememberPid, track, waitFor, withinMs } from './helpers.ts';
import type { Described } from './fixtures/bytes-work.ts';

const work = tasks<typeof import('./fixtures/bytes-work.ts')>(new URL('./fixtures/bytes-work.ts', import.meta.url));
const test = suite('byte-channel');
const T = 30_000;
const MIB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'mp-bytes-'));

let sharedPool: Pool | null = null;
const shared = (): Pool => (sharedPool ??= track(new Pool(2)));

/** A value of `kind`, `bytes` long, content from `seed` (a view at an offset when `offset`). */
function make(kind: string, bytes: number, seed: number, offset = 0): ArrayBuffer | ArrayBufferView {
  const buf = new ArrayBuffer(bytes + offset + 8);
  const u8 = new Uint8Array(buf, offset, bytes);
  for (let i = 0; i < bytes; i++) u8[i] = (i * 31 + seed * 7) & 0xff;
  if (kind === 'ArrayBuffer') return buf.slice(offset, offset + bytes);
  if (kind === 'Buffer') return Buffer.from(buf, offset, bytes);
  if (kind === 'DataView') return new DataView(buf, offset, bytes);
  const Ctor = (globalThis as unknown as Record<string, new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView & { BYTES_PER_ELEMENT: number }>)[kind]!;
  const size = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  return new Ctor(buf, offset, bytes / size);
}

function described(v: ArrayBuffer | ArrayBufferView): Omit<Described, 'own'> {
  const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return {
    kind: Buffer.isBuffer(v) ? 'Buffer' : v.constructor.name,
    length: bytes.byteLength,
    hash: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** Assert the worker's description `got` of `sent`: same class, length, content; owned memory when it was large. */
function sameValue(got: unknown, sent: ArrayBuffer | ArrayBufferView, what: string): void {
  const d = got as Described;
  const { own, ...rest } = d;
  assert.equal(rest, described(sent), `${what}: class, length and content`);
  // A value that went on the channel is read into memory of its own; one that went by IPC
  // is a view into the message it came in (Node's deserializer), unless it is an ArrayBuffer.
  if (rest.length >= MIN_CHANNEL_BYTES) assert.ok(own, `${what}: owns exactly its memory (it came on the byte channel)`);
}

test('large binary items of every kind, around the threshold, arrive intact and in order among small and non-binary items', async () => {
  const pool = shared();
  const kinds = ['Buffer', 'Uint8Array', 'Int16Array', 'Float64Array', 'BigInt64Array', 'DataView', 'ArrayBuffer'];
  const sizes = [MIN_CHANNEL_BYTES - 8, MIN_CHANNEL_BYTES, MIN_CHANNEL_BYTES + 8, 3 * MIB + 8];
  const items: unknown[] = [];
  let seed = 0;
  for (const kind of kinds) {
    for (const size of sizes) {
      items.push(make(kind, size, ++seed, seed % 2 === 0 ? 8 : 0));
      items.push(seed % 3 === 0 ? { note: 'plain', seed } : `text ${seed}`);
      items.push(make('Buffer', 100, seed));
    }
  }
  for (const chunksize of [1, 5]) {
    const out = await withinMs(pool.map(work.describe, items, { chunksize }), T, `map of ${items.length} mixed items, chunksize ${chunksize}`);
    assert.is(out.length, items.length);
    items.forEach((item, i) => {
      if (item instanceof ArrayBuffer || ArrayBuffer.isView(item)) sameValue(out[i], item, `item ${i} (chunksize ${chunksize})`);
      else assert.equal(out[i], item, `item ${i}`);
    });
  }
});

test('an apply, a starmap and executor.submit with large Buffer arguments (the same Buffer twice stays one object)', async () => {
  const pool = shared();
  const big = make('Buffer', 2 * MIB, 1) as Buffer;
  const other = make('Float32Array', MIB, 2) as Float32Array;
  const r = (await withinMs(pool.apply(work.describeArgs, [1, big, 'x', other, big]), T, 'apply')) as { args: unknown[]; same: [number, number][] };
  assert.is(r.args[0], 1);
  sameValue(r.args[1], big, 'apply argument 1');
  assert.is(r.args[2], 'x');
  sameValue(r.args[3], other, 'apply argument 3');
  assert.equal(r.same, [[1, 4]], 'the Buffer passed twice arrives as one object');

  const rows = await withinMs(pool.starmap(work.describeArgs, [[big, 1], [2, other], ['s', 3]]), T, 'starmap');
  sameValue(rows[0]!.args[0], big, 'starmap row 0');
  sameValue(rows[1]!.args[1], other, 'starmap row 1');
  assert.equal(rows[2]!.args, ['s', 3]);

  const executor = track(new ProcessPoolExecutor({ maxWorkers: 1 }));
  const s = await withinMs(executor.submit(work.describeArgs, big, other).result(), T, 'executor.submit');
  sameValue(s.args[0], big, 'submit argument 0');
  sameValue(s.args[1], other, 'submit argument 1');
});

test('large binary results come back intact, each owning its memory, from a pool whose calls sent nothing large', async () => {
  // A pool of its own: no batch so far gained from the channel, so the parent never moved
  // its messages there; the worker moves its replies on its own at the first large result.
  const pool = track(new Pool(2));
  const specs: [string, number, number][] = [
    ['Buffer', 4 * MIB, 1],
    ['Uint8Array', MIN_CHANNEL_BYTES, 2],
    ['Float64Array', MIN_CHANNEL_BYTES - 8, 3],
    ['ArrayBuffer', MIB, 4],
    ['DataView', 200_000, 5],
    ['BigUint64Array', 80_000, 6],
  ];
  const out = (await withinMs(pool.starmap(work.make, specs), T, 'starmap(make)')) as (ArrayBuffer | ArrayBufferView)[];
  specs.forEach(([kind, bytes, seed], i) => {
    const want = make(kind, bytes, seed);
    const got = out[i]!;
    assert.equal(described(got), described(want), `result ${i} (${kind}, ${bytes} bytes)`);
    const u8 = got instanceof ArrayBuffer ? new Uint8Array(got) : new Uint8Array(got.buffer, got.byteOffset, got.byteLength);
    if (bytes >= MIN_CHANNEL_BYTES) assert.ok(u8.byteOffset === 0 && u8.buffer.byteLength === bytes, `result ${i} owns exactly its memory (it came on the byte channel)`);
  });
  // A result echoed with a large argument: both directions in one call.
  const big = make('Buffer', 3 * MIB, 9) as Buffer;
  assert.equal(described((await withinMs(pool.apply(work.echo, [big]), T, 'apply(echo)')) as Buffer), described(big));
});

test('a small Uint8Array result of a worker on the channel is a view of its own message, not of a slab shared with other data', async () => {
  const pool = track(new Pool(1));
  // A map of many numbers moves both directions to the channel.
  const squares = await withinMs(pool.map((x: number) => x * x, Array.from({ length: 20_000 }, (_, i) => i)), T, 'map of numbers');
  assert.is(squares[19_999], 19_999 * 19_999);
  const got = (await withinMs(pool.apply(work.make, ['Uint8Array', 64, 3]), T, 'apply(make) of 64 bytes')) as Uint8Array;
  assert.equal(described(got), described(make('Uint8Array', 64, 3)));
  // A small value stays inside the structured clone, whose deserializer returns a byte array
  // as a view of the message: that memory must be the message's alone (Node's 8 KiB Buffer
  // slab would also hold other Buffers of this process).
  assert.ok(got.buffer.byteLength < 1024, `the view's buffer is ${got.buffer.byteLength} bytes`);
});

test('maps over packed numbers stay exact (ints, floats, -0, NaN), inputs and results on the channel', async () => {
  const pool = shared();
  const n = 200_000;
  const ints = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? -i : i * 3));
  const floats = Array.from({ length: n }, (_, i) => (i % 1000 === 0 ? -0 : i % 999 === 0 ? NaN : i % 5 === 0 ? 2 ** 40 + i : i / 7));
  for (const [name, xs] of [['ints', ints], ['floats', floats]] as const) {
    const out = await withinMs(pool.map(work.echo, xs), T, `map(echo) over ${name}`);
    assert.is(out.length, n);
    const bad = xs.findIndex((x, i) => !Object.is(out[i], x));
    assert.is(bad, -1, `${name}: first item that came back different: ${bad} (${xs[bad]} -> ${out[bad]})`);
  }
  const typed = new Float64Array(floats);
  const out = await withinMs(pool.map(work.echo, typed), T, 'map(echo) over a Float64Array');
  assert.ok(out.every((v, i) => Object.is(v, typed[i])), 'a typed array input');
});

test('maxTasksPerChild: workers recycled between large payloads lose nothing; an imap left early over large payloads stops cleanly', async () => {
  const pool = track(new Pool({ processes: 2, maxTasksPerChild: 1 }));
  const payloads = Array.from({ length: 8 }, (_, i) => make('Buffer', MIB + i * 1000, i) as Buffer);
  const out = await withinMs(pool.map(work.describe, payloads, { chunksize: 1 }), T, 'map on a recycling pool');
  payloads.forEach((p, i) => sameValue(out[i], p, `item ${i}`));
  const seen: unknown[] = [];
  for await (const d of pool.imap(work.describe, payloads, { chunksize: 1 })) {
    seen.push(d);
    if (seen.length === 2) break;
  }
  sameValue(seen[1], payloads[1]!, 'the second imap result');
  const again = await withinMs(pool.map(work.describe, payloads.slice(0, 3)), T, 'a map after the imap was left');
  payloads.slice(0, 3).forEach((p, i) => sameValue(again[i], p, `item ${i} after`));
});

test('a worker SIGKILLed while a 64 MiB payload is being written to it: the map completes, every item run exactly once', async () => {
  const pool = track(new Pool(2));
  const pids = [...new Set(await pool.map(work.pid, [1, 2, 3, 4], { chunksize: 1 }))];
  pids.forEach(rememberPid);
  assert.is(pids.length, 2, 'both workers answered');
  const log = join(dir, 'kill-in-transit.log');
  writeFileSync(log, '');
  const payloads = [1, 2, 3, 4].map((seed) => Buffer.alloc(64 * MIB, seed));
  const done = pool.starmap(work.logged, payloads.map((p) => [log, p]), { chunksize: 1 });
  // Both workers are handed a 64 MiB payload synchronously; a socket takes a few hundred
  // KiB at a time, so the first worker's is still being written when it dies.
  process.kill(pids[0]!, 'SIGKILL');
  const out = (await withinMs(done, 60_000, 'the map whose worker was killed mid-transfer')) as Described[];
  const hashes = payloads.map((p) => described(p).hash);
  assert.equal(out.map((d) => d.hash), hashes, 'every result, in order');
  const runs = readFileSync(log, 'utf8').trim().split('\n');
  for (const h of hashes) assert.is(runs.filter((r) => r === h).length, 1, 'each payload ran exactly once');
  await waitFor(() => !pidAlive(pids[0]!), 'the killed worker to be reaped');
});

test('a worker that dies while its large result is in transit: WorkerLostError, nothing hangs, the task ran once', async () => {
  const pool = track(new Pool(1));
  const log = join(dir, 'die-replying.log');
  writeFileSync(log, '');
  const err = await rejection(pool.apply(work.dieWhileReplying, [log]), WorkerLostError, 'an apply whose worker died mid-reply', T);
  assert.is(err.signal, 'SIGKILL');
  assert.is(readFileSync(log, 'utf8').trim().split('\n').length, 1, 'the task ran once (not requeued after it ran)');
  assert.equal(await withinMs(pool.map(work.echo, [1, 2, 3]), T, 'the next map'), [1, 2, 3]);
});

test('terminate() while payloads are being written: the map is cancelled and no worker is left', async () => {
  const pool = track(new Pool(2));
  const pids = [...new Set(await pool.map(work.pid, [1, 2, 3, 4], { chunksize: 1 }))];
  pids.forEach(rememberPid);
  const payloads = [1, 2, 3, 4].map((seed) => Buffer.alloc(64 * MIB, seed));
  const doomed = rejection(pool.map(work.describe, payloads, { chunksize: 1 }), CancelledError, 'the map cut short by terminate()');
  await withinMs(pool.terminate(), T, 'terminate() mid-transfer');
  await doomed;
  await waitFor(() => pids.every((p) => !pidAlive(p)), 'the terminated workers to be gone');
});

test("a bare channel: the parent's end reads frames whole and in order, small and large, pooled and kept; the child still reports 'close'", async () => {
  // The parent's end is the child process's stdio socket, whose reading the channel takes
  // over (reads land in the frames themselves); child_process counts that socket's 'close'
  // before it emits its own.
  const child = track(fork(new URL('./fixtures/byte-frames.ts', import.meta.url), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'] }));
  rememberPid(child.pid);
  const channel = new ByteChannel(child.stdio[4] as import('node:net').Socket);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // Tiny frames many to a read, frames around a 64 KiB read, and frames over many reads.
  const sizes = [0, 1, 8, 1000, 65_536 - 8, 65_536, 65_536 + 8, 300_000, 3, 5 * MIB, 17];
  for (const pooled of [true, false]) {
    const claim = channel.claim(sizes.length);
    const written = new Promise<unknown>((resolve) => child.once('message', resolve));
    child.send({ sizes, pooled });
    await withinMs(new Promise<void>((resolve) => claim.whenDone(resolve)), T, `the ${pooled ? 'pooled' : 'kept'} frames to arrive`);
    await withinMs(written, T, 'the child to have written them');
    sizes.forEach((n, k) => {
      const frame = claim.frames[k]!;
      assert.is(frame.byteLength, n, `${pooled ? 'pooled' : 'kept'} frame ${k}: its length`);
      let bad = -1;
      for (let i = 0; i < n && bad === -1; i++) if (frame[i] !== ((i * 31 + n) & 0xff)) bad = i;
      assert.is(bad, -1, `${pooled ? 'pooled' : 'kept'} frame ${k} (${n} bytes): first byte that differs`);
      // A kept frame owns exactly its memory; a pooled one is a view of a reused buffer of its size class.
      if (pooled) assert.ok(frame.buffer.byteLength >= Math.max(n, 65_536), `pooled frame ${k}: in a buffer of its size class`);
      else assert.ok(frame.byteOffset === 0 && frame.buffer.byteLength === n, `kept frame ${k}: owns exactly its memory`);
    });
    claim.release();
  }
  // It leaves by itself: a parent-side disconnect() would keep Node from emitting 'close' at all.
  child.send({ exit: true });
  await withinMs(closed, T, "the child process's 'close' once it exited (its IPC channel and stdio sockets all closed)");
  assert.ok(channel.socket.destroyed, "the channel's socket is closed");
});

test('no leaks', async () => {
  await disposeAllAndCheckLeaks();
  rmSync(dir, { recursive: true, force: true });
});

test.run();
