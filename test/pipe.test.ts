// Pipe and Connection over real processes: ping-pong between two children, EOF, directions.
import { suite } from 'uvu';
import { Connection, InvalidStateError, Pipe, Queue, QueueClosed, TimeoutError, tasks } from '../src/index.ts';
import { assert, disposeAllAndCheckLeaks, rejection, withinMs, startProcess as start } from './helpers.ts';

const work = tasks<typeof import('./fixtures/pipe-work.ts')>(new URL('./fixtures/pipe-work.ts', import.meta.url));
const test = suite('pipe');


test('in one process: send/recv both ways, poll, recv timeout, EOF after close', async () => {
  const [a, b] = Pipe<unknown>();
  assert.ok(a instanceof Connection && a.readable && a.writable);
  assert.is(await b.poll(), false);
  await a.send({ hello: 'world' });
  assert.is(await b.poll(), true);
  assert.equal(await b.recv(), { hello: 'world' });
  await b.send([1, 2, 3]);
  assert.equal(await a.recv(), [1, 2, 3]);
  await rejection(b.recv({ timeout: 20 }), TimeoutError, 'recv({ timeout: 20 }) with nothing sent');
  assert.is(await b.poll(20), false);
  await a.send('last');
  await a.close();
  assert.ok(a.closed);
  await rejection(a.send('x'), QueueClosed, 'send on a closed end');
  assert.is(await b.recv(), 'last', 'what was sent before close() is delivered');
  assert.is(await b.poll(), true, 'poll reports EOF so that recv() can raise it');
  const eof = await rejection(b.recv(), QueueClosed, 'recv() once the other end closed and its data was read');
  assert.match(eof.message, /EOFError/);
  const broken = await rejection(b.send('y'), QueueClosed, 'send() to an end that closed');
  assert.match(broken.message, /BrokenPipeError/);
});

test('Pipe(false) gives [readEnd, writeEnd]; the wrong direction is an InvalidStateError', async () => {
  const [r, w] = Pipe<number>(false);
  assert.ok(r.readable && !r.writable);
  assert.ok(w.writable && !w.readable);
  await w.send(7);
  assert.is(await r.recv(), 7);
  await rejection(r.send(1), InvalidStateError, 'send() on the read end');
  await rejection(w.recv(), InvalidStateError, 'recv() on the write end');
  assert.throws(() => Pipe('yes' as never), (e: unknown) => (e as { code?: string }).code === 'MP_INVALID_ARG');
  assert.throws(() => new (Connection as unknown as new () => Connection)(), (e: unknown) => (e as { code?: string }).code === 'MP_INVALID_ARG');
});

test('ping-pong between two children over a Pipe', async () => {
  const [a, b] = Pipe<string>();
  const out = new Queue<{ pongs: string[] }>();
  const ping = start(work.pinger, [a, 200, out]);
  const pong = start(work.ponger, [b]);
  const { pongs } = await withinMs(out.get(), 30_000, 'the ping-pong');
  assert.equal(pongs, Array.from({ length: 200 }, (_, i) => `pong ${i}`));
  await Promise.all([ping.join(), pong.join()]);
  assert.is(ping.exitCode, 0);
  assert.is(pong.exitCode, 0);
});

test('EOF crosses processes: when every copy of an end is closed, the other side drains then gets QueueClosed', async () => {
  const [a, b] = Pipe<number>();
  const out = new Queue<{ got: number[]; end: unknown }>();
  const reader = start(work.drain, [b, out]);
  const writer = start(work.sendAndClose, [a, 50]);
  // Python's rule: the parent must close its own copy of `a` too, or the reader never sees EOF.
  await a.close();
  const report = await withinMs(out.get(), 30_000, 'the reader hitting EOF');
  assert.equal(report.got, Array.from({ length: 50 }, (_, i) => i));
  assert.equal(report.end, ['QueueClosed', 'MP_QUEUE_CLOSED']);
  await Promise.all([reader.join(), writer.join()]);
  await b.close();
});

test('a writer that dies without close() also ends the stream (its copy is dropped)', async () => {
  const [a, b] = Pipe<number>();
  const out = new Queue<{ got: number[]; end: unknown }>();
  // The child's target returns without closing `a`: its process exits, its copy goes away.
  const writer = start(work.sendOnly, [a, 5]);
  await a.close();
  await writer.join();
  const reader = start(work.drain, [b, out]);
  const report = await withinMs(out.get(), 30_000, 'the reader hitting EOF');
  assert.equal(report.got, [0, 1, 2, 3, 4]);
  assert.equal(report.end, ['QueueClosed', 'MP_QUEUE_CLOSED']);
  await reader.join();
});

test.after(disposeAllAndCheckLeaks);
test.run();
