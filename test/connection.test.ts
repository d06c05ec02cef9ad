// multiprocessing.connection over real processes: a Connection's bytes forms (sendBytes,
// recvBytes with maxlength, recvBytesInto and BufferTooShort) on pipes and sockets, and
// Listener / Client / wait on the framed, authenticated link the manager uses.
import { suite } from 'uvu';
import { existsSync } from 'node:fs';
import {
  AuthenticationError,
  BufferTooShort,
  Client,
  Connection,
  connection,
  Event,
  HostBusyError,
  InvalidStateError,
  Listener,
  type ListenerOptions,
  MessageTooLong,
  Pipe,
  Queue,
  QueueClosed,
  SerializationError,
  TimeoutError,
  tasks,
} from '../src/index.ts';
import { assert, disposeAllAndCheckLeaks, track, waitFor, withinMs, startProcess as start, failure } from './helpers.ts';

const work = tasks<typeof import('./fixtures/connection-work.ts')>(new URL('./fixtures/connection-work.ts', import.meta.url));
const test = suite('connection');
const KEY = 'connection-test-key';

/** A Listener closed at the end of the file. */
function listener(...args: [ListenerOptions] | [string | { host: string; port: number }, ListenerOptions]): Listener {
  return track(args.length === 1 ? new Listener(args[0]) : new Listener(args[0], args[1]));
}

// ---------------------------------------------------------------------------------------
// Bytes on a Connection

test('sendBytes/recvBytes across processes: offset and size, typed arrays as their bytes, empty messages', async () => {
  const [here, there] = Pipe();
  const p = start(work.bytesEcho, [there]);
  await here.sendBytes(Buffer.from('hello world'), 6, 5);
  assert.is((await withinMs(here.recvBytes(), 20_000, 'the echo of "world"')).toString(), 'world');
  await here.sendBytes(new Float64Array([1.5]));
  const echoed = await withinMs(here.recvBytes(), 20_000, 'the echo of a Float64Array');
  assert.is(new Float64Array(echoed.buffer.slice(echoed.byteOffset, echoed.byteOffset + 8))[0], 1.5);
  await here.sendBytes(new Uint8Array(10).fill(7).buffer, 8); // an ArrayBuffer, from offset 8
  assert.equal([...(await here.recvBytes())], [7, 7]);
  await here.sendBytes(Buffer.alloc(0)); // the echo's signal to stop
  await p.join();
  assert.is(p.exitCode, 0);
  await here.close();
});

test('recvBytes(maxlength), recvBytesInto(buffer, offset), BufferTooShort and a value that is not bytes, from another process', async () => {
  const [here, there] = Pipe();
  const p = start(work.sendMixed, [there]);
  await there.close();
  const buf = Buffer.alloc(8, '.');
  assert.is(await withinMs(here.recvBytesInto(buf, 2), 20_000, 'recvBytesInto at offset 2'), 3);
  assert.is(buf.toString(), '..234...');
  const u16 = await here.recvBytes(4);
  assert.equal([...new Uint16Array(u16.buffer.slice(u16.byteOffset, u16.byteOffset + 4))], [1, 2]);
  const notBytes = await failure(here.recvBytes(), 'recvBytes() of a value sent with send()');
  assert.instance(notBytes, InvalidStateError);
  const tooLong = await failure(here.recvBytes(10), 'recvBytes(10) of a 31-byte message');
  assert.instance(tooLong, MessageTooLong);
  assert.is(tooLong.code, 'MP_MESSAGE_TOO_LONG');
  assert.is(tooLong.length, 31);
  assert.is(tooLong.maxlength, 10);
  assert.is((await here.recvBytes(10)).toString(), 'fits', 'the connection stays usable; the long message was dropped');
  const small = Buffer.alloc(10);
  const short = await failure(here.recvBytesInto(small, 2), 'recvBytesInto a buffer too short');
  assert.instance(short, BufferTooShort);
  assert.is(short.code, 'MP_BUFFER_TOO_SHORT');
  assert.is(short.data.toString(), 'too long for the buffer', 'the whole message travels in err.data');
  assert.is((await here.recvBytes()).toString(), 'after', 'the message that did not fit is not delivered again');
  const viaSend = await here.recvBytes();
  assert.ok(Buffer.isBuffer(viaSend));
  assert.is(viaSend.toString(), 'sent with send()', 'recvBytes() of a Buffer sent with send()');
  assert.instance(await failure(here.recvBytes(), 'recvBytes() at EOF'), QueueClosed);
  await p.join();
  await here.close();
});

test("bad offsets, sizes and maxlength are RangeError (MP_INVALID_ARG), as Python's ValueError", async () => {
  const [a, b] = Pipe();
  const buf = Buffer.from('abc');
  for (const [what, call] of [
    ['sendBytes offset -1', () => a.sendBytes(buf, -1)],
    ['sendBytes offset past the end', () => a.sendBytes(buf, 4)],
    ['sendBytes size -1', () => a.sendBytes(buf, 0, -1)],
    ['sendBytes offset + size past the end', () => a.sendBytes(buf, 1, 3)],
    ['recvBytes maxlength -1', () => b.recvBytes(-1)],
    ['recvBytesInto offset -1', () => b.recvBytesInto(Buffer.alloc(4), -1)],
    ['recvBytesInto offset past the end', () => b.recvBytesInto(Buffer.alloc(4), 5)],
  ] as const) {
    const err = await failure(call(), what);
    assert.instance(err, RangeError, what);
    assert.is(err.code, 'MP_INVALID_ARG', what);
  }
  const notBytes = await failure(a.sendBytes('text' as never), 'sendBytes of a string');
  assert.instance(notBytes, TypeError);
  assert.is(notBytes.code, 'MP_INVALID_ARG');
  await a.sendBytes(buf, 3); // offset == length: an empty message, as Python allows
  assert.is((await b.recvBytes()).length, 0);
  await a.close();
  await b.close();
});

// ---------------------------------------------------------------------------------------
// Listener / Client

test('a child connects with Client to a Listener on a unix socket: values and bytes both ways, EOF when it closes', async () => {
  const l = listener({ authkey: KEY });
  await l.ready;
  assert.type(l.address, 'string');
  const out = new Queue<Record<string, any>>();
  const p = start(work.echoClient, [l.address, KEY, out]);
  const conn = await withinMs(l.accept<unknown>(), 20_000, 'accept()');
  assert.instance(conn, Connection);
  assert.is(l.lastAccepted, null, 'a unix socket has no peer address');
  const hello = (await conn.recv()) as { hello: number };
  assert.is(hello.hello, p.pid);
  await conn.send({ n: 1, nested: new Map([[1, 'one']]) });
  assert.equal(await conn.recv(), { echo: { n: 1, nested: new Map([[1, 'one']]) } });
  await conn.sendBytes(Buffer.from('raw'));
  assert.is((await conn.recvBytes()).toString(), 'echo:raw');
  assert.ok(await conn.poll(0) === false, 'nothing more to read');
  await conn.close();
  assert.equal((await withinMs(out.get(), 20_000, "the client's report")).end.name, 'QueueClosed', 'EOF in the client when the listener side closes');
  await p.join();
  assert.is(p.exitCode, 0);
});

test("a Listener on TCP port 0 reports its real port; lastAccepted is the client's address; a client's exit is EOF", async () => {
  const l = listener({ host: '127.0.0.1', port: 0 }, { authkey: KEY });
  await l.ready;
  const address = l.address as { host: string; port: number };
  assert.ok(address.port > 0, `a real port: ${address.port}`);
  const p = start(work.sendOnceAndExit, [address, KEY, 'bye']);
  const conn = await withinMs(l.accept(), 20_000, 'accept()');
  assert.is((l.lastAccepted as { host: string }).host, '127.0.0.1');
  assert.is(await conn.recv(), 'bye');
  const eof = await failure(conn.recv(), 'recv() after the client exited');
  assert.instance(eof, QueueClosed);
  assert.match(eof.message, /EOFError/);
  assert.instance(await failure(conn.send('late'), 'send() after the client exited'), QueueClosed, "Python's BrokenPipeError");
  await p.join();
});

test('a Listener in a child; this process is the Client', async () => {
  const out = new Queue<unknown>();
  const p = start(work.listenOnce, [KEY, out]);
  const address = (await withinMs(out.get(), 20_000, "the child's listener address")) as { host: string; port: number };
  await using conn = await Client(address, { authkey: KEY });
  await conn.send('ping');
  assert.equal(await withinMs(conn.recv(), 20_000, 'the reply'), { got: 'ping', pid: p.pid });
  await p.join();
  assert.is(p.exitCode, 0);
});

test('a wrong authkey: Client rejects with AuthenticationError; the listener drops it and keeps accepting', async () => {
  const l = listener({ host: '127.0.0.1', port: 0 }, { authkey: KEY });
  await l.ready;
  const out = new Queue<Record<string, any>>();
  const bad = start(work.tryClient, [l.address, 'wrong key', out]);
  const report = await withinMs(out.get(), 20_000, 'the wrong-key report');
  assert.is(report.name, 'AuthenticationError');
  assert.is(report.code, 'MP_AUTH');
  await bad.join();
  assert.instance(await failure(Client(l.address, { authkey: 'also wrong' }), 'Client with a wrong key here'), AuthenticationError);
  const good = start(work.tryClient, [l.address, KEY, out]);
  const conn = await withinMs(l.accept(), 20_000, 'accept() of the good client');
  assert.is(await conn.recv(), 'made it');
  assert.equal(await out.get(), { connected: true });
  await good.join();
  await conn.close();
});

test('beyond the backlog, a new client is refused with HostBusyError; accepted ones are unaffected', async () => {
  const l = listener({ authkey: KEY, backlog: 1 });
  await l.ready;
  const first = await Client(l.address, { authkey: KEY });
  const busy = await failure(Client(l.address, { authkey: KEY }), 'a second client over the backlog');
  assert.instance(busy, HostBusyError);
  const accepted = await l.accept();
  const third = await Client(l.address, { authkey: KEY });
  await first.send(1);
  assert.is(await accepted.recv(), 1);
  const acceptedThird = await l.accept();
  await third.send(3);
  assert.is(await acceptedThird.recv(), 3);
  for (const c of [first, accepted, third, acceptedThird]) await c.close();
});

test('accept({ timeout }) rejects with TimeoutError; close() rejects a pending accept() and removes the socket file', async () => {
  const l = new Listener({ authkey: KEY });
  await l.ready;
  const path = l.address as string;
  assert.ok(existsSync(path));
  assert.instance(await failure(l.accept({ timeout: 30 }), 'accept({ timeout: 30 })'), TimeoutError);
  const pending = failure(l.accept(), 'the accept() pending at close()');
  await l.close();
  assert.instance(await pending, InvalidStateError);
  assert.not.ok(existsSync(path), 'the socket file is removed');
  assert.instance(await failure(l.accept(), 'accept() after close()'), InvalidStateError);
  const gone = await failure(Client(path, { authkey: KEY }), 'Client to a closed listener');
  assert.ok(['ENOENT', 'ECONNREFUSED'].includes(gone.code), `the socket error: ${gone.code}`);
});

test('await using closes a Listener and a Connection', async () => {
  let path = '';
  {
    await using l = new Listener({ authkey: KEY });
    await l.ready;
    path = l.address as string;
    await using c = await Client(path, { authkey: KEY });
    await using s = await l.accept();
    await c.send('x');
    assert.is(await s.recv(), 'x');
  }
  assert.not.ok(existsSync(path));
});

test('a Connection from a Listener or Client cannot be sent to another process (SerializationError at the call)', async () => {
  const l = listener({ authkey: KEY });
  await l.ready;
  const c = await Client(l.address, { authkey: KEY });
  const q = new Queue<unknown>();
  const err = await failure(q.put(c), 'putting a socket connection on a queue');
  assert.instance(err, SerializationError);
  assert.match(err.message, /Client\(\)/);
  await c.close();
});

test('a forgotten Listener does not keep its process alive', async () => {
  const out = new Queue<unknown>();
  const p = start(work.forgottenListener, [out]);
  const address = (await withinMs(out.get(), 20_000, 'the address')) as string;
  await withinMs(p.join(), 20_000, 'the child to exit with its Listener open');
  assert.is(p.exitCode, 0);
  await waitFor(() => !existsSync(address), 'the socket file removed at exit', 5000);
});

test('Listener and Client check their arguments', async () => {
  assert.throws(() => new Listener(undefined as never), (e: any) => e.code === 'MP_INVALID_ARG');
  assert.throws(() => new Listener('/tmp/x.sock', {} as never), (e: any) => e.code === 'MP_INVALID_ARG' && /authkey/.test(e.message));
  assert.throws(() => new Listener({ host: 'localhost', port: 70000 }, { authkey: KEY }), (e: any) => e.code === 'MP_INVALID_ARG');
  assert.throws(() => new Listener({ authkey: KEY, backlog: 0 }), (e: any) => e.code === 'MP_INVALID_ARG');
  assert.is((await failure(Client(42 as never, { authkey: KEY }), 'Client(42)')).code, 'MP_INVALID_ARG');
});

// ---------------------------------------------------------------------------------------
// wait()

test('wait() resolves with the connections ready to read: pipe ends and sockets mixed', async () => {
  const [a1, b1] = Pipe<string>();
  const [a2, b2] = Pipe<string>();
  const l = listener({ authkey: KEY });
  await l.ready;
  const p = start(work.sendOnceAndExit, [l.address, KEY, 'from the socket']);
  const s = await withinMs(l.accept<string>(), 20_000, 'accept()');
  assert.equal(await withinMs(connection.wait([b1, b2, s]), 20_000, 'wait() for the socket message'), [s]);
  assert.is(await s.recv(), 'from the socket');
  assert.equal(await connection.wait([b1, b2], 30), [], 'timeout: nothing ready');
  const waiting = connection.wait([b1, b2]);
  await a2.send('two');
  assert.equal(await withinMs(waiting, 20_000, 'wait() for pipe 2'), [b2]);
  await a1.send('one');
  assert.equal(await withinMs(connection.wait([b1, b2]), 20_000, 'wait() with both ready'), [b1, b2]);
  await p.join();
  assert.equal(await connection.wait([s], 0), [s], 'EOF counts as ready (recv() reports it)');
  for (const c of [a1, b1, a2, b2, s]) await c.close();
});

test('wait(objects, 0) reports what has already arrived, as a poll of the OS would (a message, then the peer\'s close)', async () => {
  const l = listener({ authkey: KEY });
  await l.ready;
  const accepted = l.accept<string>();
  const c = await withinMs(Client<string>(l.address, { authkey: KEY }), 20_000, 'Client()');
  const s = await withinMs(accepted, 20_000, 'accept()');
  await c.send('hello');
  // Let the kernel hold it, with this process not reading in between (a blocking wait).
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  assert.equal(await connection.wait([s], 0), [s], 'a message the kernel holds is ready');
  assert.is(await s.recv(), 'hello');
  await c.close();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  assert.equal(await connection.wait([s], 0), [s], "the peer's close is ready (recv() reports EOF)");
  await s.close();
});

test("wait() over a pipe end hosted by another process: a poll there that lost the race is cancelled, and the end keeps working", async () => {
  const out = new Queue<unknown>();
  const go = new Event();
  const done = new Event();
  const p = start(work.pipeHost, [out, go, done]);
  const remote = (await withinMs(out.get(), 20_000, 'the remote pipe end')) as Connection<string>;
  const [a, local] = Pipe<string>();
  assert.equal(await connection.wait([remote, local], 30), [], 'timeout: nothing ready');
  const first = connection.wait([remote, local]);
  await a.send('local');
  assert.equal(await withinMs(first, 20_000, 'wait() won by the local end'), [local]);
  assert.is(await local.recv(), 'local');
  const second = connection.wait([remote, local]);
  await go.set();
  assert.equal(await withinMs(second, 20_000, 'wait() won by the remote end'), [remote]);
  assert.is(await remote.recv(), 'from the pipe host');
  await done.set();
  await p.join();
  for (const c of [a, local, remote]) await c.close();
});

test('wait() on a Listener: ready when a client waits to be accepted', async () => {
  const l = listener({ authkey: KEY });
  await l.ready;
  assert.equal(await connection.wait([l], 20), []);
  const waiting = connection.wait([l]);
  const c = await Client(l.address, { authkey: KEY });
  assert.equal(await withinMs(waiting, 20_000, 'wait() on the listener'), [l]);
  const s = await l.accept();
  await c.close();
  await s.close();
  const bad = await failure(connection.wait([{}] as never), 'wait() of a plain object');
  assert.is(bad.code, 'MP_INVALID_ARG');
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
