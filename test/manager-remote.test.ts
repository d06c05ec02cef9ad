// BaseManager over sockets: registered types, TCP with an authkey, clients in other
// processes (connect), Python's distributed-queue example with getServer(), wrong authkeys,
// and hostile peers (garbage, oversized frames) that must not stop the server.
import { suite } from 'uvu';
import { createHmac, randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationError, ManagerError, RemoteError } from '../src/errors.ts';
import { BaseManager, ListProxy, Manager, ManagerServer, ObjectProxy, type MethodProxy } from '../src/manager/index.ts';
import { Process } from '../src/process/process.ts';
import { tasks } from '../src/process/task.ts';
import { toHandle } from '../src/remote/handle.ts';
import { Queue } from '../src/queue/queue.ts';
import { PROTOCOL } from '../src/protocol/index.ts';
import type { Counter } from './fixtures/manager-work.ts';
import { assert, disposeAllAndCheckLeaks, rejection, track, waitFor, withinMs } from './helpers.ts';

const work = tasks<typeof import('./fixtures/manager-work.ts')>(new URL('./fixtures/manager-work.ts', import.meta.url));
const test = suite('manager-remote');

class CounterManager extends BaseManager {}
interface CounterManager {
  Counter(start?: number): Promise<MethodProxy<Counter>>;
}
CounterManager.register('Counter', work.makeCounter);

function start(target: (...args: any[]) => unknown, args: unknown[]): Process<any> {
  const p = track(new Process({ target, args }));
  p.start();
  return p;
}

/** A raw socket to `address`, and a promise that settles when the server closes it. */
function raw(address: { host: string; port: number } | string): { socket: Socket; closed: Promise<void>; frames: Buffer[]; next: () => Promise<Buffer> } {
  const socket = typeof address === 'string' ? createConnection({ path: address }) : createConnection({ host: address.host, port: address.port });
  const frames: Buffer[] = [];
  let buffered = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
      const n = buffered.readUInt32BE(0);
      frames.push(buffered.subarray(4, 4 + n));
      buffered = buffered.subarray(4 + n);
    }
    wake?.();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const next = async () => {
    while (frames.length === 0) await new Promise<void>((r) => (wake = r));
    return frames.shift()!;
  };
  return { socket, closed, frames, next };
}

function frame(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** Run the client side of the handshake by hand (as src/remote/link.ts documents it). */
async function handshake(conn: ReturnType<typeof raw>, key: string): Promise<void> {
  const hello = await withinMs(conn.next(), 10_000, 'the host greeting');
  const sep = hello.indexOf(0);
  assert.is(hello.subarray(0, sep).toString('latin1'), PROTOCOL);
  const hostNonce = hello.subarray(sep + 1);
  const answer = createHmac('sha256', Buffer.from(key)).update('multiproc proxy').update(hostNonce).digest();
  conn.socket.write(frame(Buffer.concat([answer, randomBytes(32)])));
  const reply = await withinMs(conn.next(), 10_000, 'the host answer');
  assert.is(reply.length, 36, 'the host accepted the key');
}

test('register + start() on TCP 127.0.0.1 port 0 with an authkey: a method proxy of the registered type', async () => {
  const m = track(await withinMs(CounterManager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: 'sesame' }), 30_000, 'start'));
  const address = m.address as { host: string; port: number };
  assert.is(address.host, '127.0.0.1');
  assert.ok(address.port > 0, 'a real port was picked');
  const counter = await m.Counter(5);
  assert.instance(counter, ObjectProxy);
  assert.is(counter.typeid, 'Counter');
  assert.is(await counter.increment(), 6);
  assert.is(await counter.increment(10), 16);
  assert.is(await counter.slowValue(), 16);
  assert.is((counter as unknown as Record<string, unknown>)._hidden, undefined, 'methods starting with _ are not exposed');
  const err = await rejection(counter.fail(), RangeError, 'a method that throws');
  assert.match(err.message, /counter says no/);
  assert.is((err as RangeError & { code?: string }).code, 'E_COUNTER');
  assert.is(await counter.value(), 16, 'still serving after the error');
  // The same object through create(), typed by the caller.
  const other = await m.create<MethodProxy<Counter>>('Counter');
  assert.is(await other.value(), 0);
});

test('a client in another process connect()s with the authkey and uses the registered type', async () => {
  const m = track(await CounterManager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: 'sesame' }));
  const out = new Queue<{ pid: number; value: number; typeid: string }>();
  const clients = [start(work.counterClient, [m.address, 'sesame', 25, out]), start(work.counterClient, [m.address, 'sesame', 5, out])];
  const got = [await withinMs(out.get(), 30_000, 'client 1'), await withinMs(out.get(), 30_000, 'client 2')];
  await Promise.all(clients.map((p) => p.join()));
  assert.equal(got.map((g) => g.value).sort((a, b) => a - b), [105, 125]);
  assert.ok(got.every((g) => g.typeid === 'Counter'));
  assert.equal(clients.map((p) => p.exitCode), [0, 0]);
});

test('a wrong authkey is an AuthenticationError, in this process and in another; the server keeps serving', async () => {
  const m = track(await CounterManager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: 'right key' }));
  const intruder = new CounterManager({ address: m.address, authkey: 'wrong key' });
  const err = await rejection(intruder.connect(), AuthenticationError, 'connect with a wrong key');
  assert.is((err as AuthenticationError).code, 'MP_AUTH');
  await intruder.shutdown();
  const out = new Queue<{ name: string; code?: string }>();
  const p = start(work.tryConnect, [m.address, 'also wrong', out]);
  const report = await withinMs(out.get(), 30_000, 'the child to report');
  await p.join();
  assert.is(report.name, 'AuthenticationError');
  assert.is(report.code, 'MP_AUTH');
  const good = new CounterManager({ address: m.address, authkey: 'right key' });
  await good.connect();
  assert.is(await (await good.Counter(1)).value(), 1);
});

test("Python's distributed-queue example: getServer() with factories over local queues, workers connect()", async () => {
  const jobs = new Queue<number | null>();
  const results = new Queue<[number, number, number]>();
  class QueueManager extends BaseManager {}
  interface QueueManager {
    getJobQueue(): Promise<Queue<number | null>>;
  }
  QueueManager.register('getJobQueue', () => jobs);
  QueueManager.register('getResultQueue', () => results);
  const authkey = randomBytes(16).toString('hex');
  const server = new QueueManager({ address: { host: '127.0.0.1', port: 0 }, authkey }).getServer();
  assert.instance(server, ManagerServer);
  const serving = server.serveForever();
  await waitFor(() => typeof server.address !== 'string' && server.address.port > 0, 'the server to listen');
  try {
    // Handles the server hands out point at its TCP address (the local queues are served there too).
    const probe = new QueueManager({ address: server.address, authkey });
    await probe.connect();
    const viaServer = await probe.getJobQueue();
    assert.equal(viaServer[toHandle]().address, server.address);
    await probe.shutdown();

    const workers = [start(work.queueWorker, [server.address, authkey]), start(work.queueWorker, [server.address, authkey])];
    const xs = Array.from({ length: 50 }, (_, i) => i);
    for (const x of xs) await jobs.put(x);
    for (const _ of workers) await jobs.put(null);
    const got: [number, number, number][] = [];
    for (const _ of xs) got.push(await withinMs(results.get(), 30_000, 'a result'));
    await withinMs(Promise.all(workers.map((p) => p.join())), 30_000, 'the workers');
    assert.equal(workers.map((p) => p.exitCode), [0, 0]);
    assert.equal(got.map((r) => r[0]).sort((a, b) => a - b), xs);
    assert.ok(got.every(([x, sq]) => sq === x * x));
    assert.ok(got.every(([, , pid]) => workers.some((w) => w.pid === pid)));
  } finally {
    await server.close();
  }
  await withinMs(serving, 10_000, 'serveForever() to settle after close()');
});

test('a garbage frame and an oversized frame close that connection only; the server keeps serving another client', async () => {
  const m = track(await CounterManager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: 'k', maxFrameSize: 64 * 1024 }));
  const address = m.address as { host: string; port: number };
  const counter = await m.Counter(1);

  // Garbage before the handshake.
  const garbage = raw(address);
  garbage.socket.write(randomBytes(300));
  await withinMs(garbage.closed, 10_000, 'the server to close a garbage connection');
  assert.is(await counter.increment(), 2);

  // An oversized header before the handshake (the handshake cap is 1 KiB).
  const early = raw(address);
  early.socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
  await withinMs(early.closed, 10_000, 'the server to close an oversized pre-handshake frame');

  // An authenticated peer announcing a 2 GiB frame.
  const big = raw(address);
  await handshake(big, 'k');
  big.socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]));
  await withinMs(big.closed, 10_000, 'the server to close an oversized frame');

  // An authenticated peer sending a well-sized frame that is not a message.
  const junk = raw(address);
  await handshake(junk, 'k');
  junk.socket.write(frame(randomBytes(50)));
  await withinMs(junk.closed, 10_000, 'the server to close an undecodable frame');

  // Frames that start like real messages (src/remote/codec.ts) but lie about their contents:
  // truncated fields, a string or array count far beyond the frame, garbage where v8 bytes
  // belong, stray bytes after a whole message. Each closes its own connection, allocates
  // nothing huge, and leaves the server serving.
  const id = Buffer.alloc(8);
  const str = (s: string) => Buffer.concat([Buffer.from([3]), Buffer.from(new Uint32Array([s.length]).buffer), Buffer.from(s)]);
  const call = (args: Buffer) => Buffer.concat([Buffer.from([1, 0]), id, str('manager'), str('hello'), args]);
  const lies = [
    Buffer.from([1]),
    Buffer.concat([Buffer.from([1, 0]), id, Buffer.from([3, 0xff, 0xff, 0xff, 0x7f])]),
    call(Buffer.from([10, 0xff, 0xff, 0xff, 0xff])),
    call(Buffer.from([0, 0xde, 0xad, 0xbe, 0xef])),
    Buffer.concat([call(Buffer.from([10, 0, 0, 0, 0])), Buffer.from([7])]),
    Buffer.concat([Buffer.from([6, 0]), id, Buffer.from([7])]),
  ];
  for (const body of lies) {
    const liar = raw(address);
    await handshake(liar, 'k');
    liar.socket.write(frame(body));
    await withinMs(liar.closed, 10_000, `the server to close a frame that lies (${body.toString('hex')})`);
  }
  assert.is(await counter.increment(), 3);

  // A real client (another process: connections are per process) whose message exceeds the
  // server's cap loses its connection, and its call rejects with ManagerError.
  const out = new Queue<{ name: string; message: string }>();
  const heavy = start(work.oversizedCall, [address, 'k', 100 * 1024, out]);
  const report = await withinMs(out.get(), 30_000, 'the heavy client to report');
  await heavy.join();
  assert.is(report.name, 'ManagerError', report.message);

  // Everyone else is still served.
  assert.is(await counter.increment(), 4);
  const fresh = new CounterManager({ address, authkey: 'k' });
  await fresh.connect();
  assert.is(await (await fresh.Counter(7)).value(), 7);
});

test('getServer() on a unix socket path; stats through a client; serveForever settles on a client shutdown', async () => {
  const path = join(tmpdir(), `multiproc-test-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  class Numbers {
    items = [1, 2];
    total(): number {
      return this.items.reduce((a, b) => a + b, 0);
    }
    push(x: number): number {
      return this.items.push(x);
    }
  }
  class ListManager extends BaseManager {}
  ListManager.register('numbers', () => new Numbers());
  const server = new ListManager({ address: path, authkey: 'unix' }).getServer();
  const serving = server.serveForever();
  await waitFor(() => server.address === path, 'listening');
  await new Promise((r) => setTimeout(r, 50));
  const client = new ListManager({ address: path, authkey: 'unix' });
  await client.connect();
  const nums = await client.create<{ total(): Promise<number>; push(x: number): Promise<number> }>('numbers');
  await nums.push(3);
  assert.is(await nums.total(), 6);
  const stats = await client.stats();
  assert.is(stats.pid, process.pid);
  assert.is(stats.byTypeid.numbers, 1);
  await server.close();
  await withinMs(serving, 10_000, 'serveForever()');
  await rejection(nums.total(), ManagerError, 'a call after the server closed');
});

test('errors: unknown typeid, factory errors, a closure sent by source, a primitive result, bad registrations, nothing to connect to', async () => {
  class Misc extends BaseManager {}
  const captured = 41;
  Misc.register('broken', () => {
    throw new Error('factory failed');
  });
  Misc.register('closure', () => ({ value: captured + 1 }));
  Misc.register('primitive', () => 42);
  const m = track(await Misc.start());
  const unknown = await rejection(m.create('nope'), TypeError, 'an unknown typeid');
  assert.match(unknown.message, /no typeid 'nope'/);
  const broken = await rejection(m.create('broken'), RemoteError, 'a throwing factory');
  assert.match(broken.message, /factory failed/);
  const closure = await rejection(m.create('closure'), RemoteError, 'a closure factory');
  assert.match(closure.message, /sent to the manager process by source, but reads `captured`/);
  const primitive = await rejection(m.create('primitive'), TypeError, 'a primitive result');
  assert.match(primitive.message, /returned number/);
  assert.is((m as unknown as Record<string, unknown>).list, undefined, 'a BaseManager has no built-in factories');
  assert.throws(() => Misc.register('start'), /already has a member named 'start'/);
  assert.throws(() => Misc.register('not an id'), /identifier-like/);
  const nowhere = new BaseManager({ address: join(tmpdir(), 'multiproc-no-such.sock'), authkey: 'x' });
  await rejection(nowhere.connect(), ManagerError, 'connect to nothing');
  await rejection(new BaseManager({ address: { host: '127.0.0.1', port: 1 } }).connect(), TypeError, 'connect without authkey');
  assert.throws(() => new BaseManager({ address: { host: 'x', port: -1 } }), /manager address/);
});

test('a Manager on TCP: manager proxies passed to a child work there', async () => {
  const m = track(await Manager.start({ address: { host: '127.0.0.1', port: 0 } }));
  const lst = await m.list<number>();
  const p = start(work.appendRange, [lst, 0, 100]);
  await withinMs(p.join(), 30_000, 'the child');
  assert.instance(lst, ListProxy);
  assert.is(await lst.len(), 100);
});

test.after(async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
