// Protocol faults and released objects, by class and code, never by message text. Each
// side that meets another multiproc build fails loudly and says so: a child warns and exits
// with EXIT_PROTOCOL, a parent's pool breaks with the ProtocolError as the cause, a proxy's
// handshake rejects with it; malformed frames and bytes are ProtocolErrors; a call to an
// object its host released rejects with ReleasedError.
//
// Wired in: src/process/child.ts (onMessage), src/process/engine/worker.ts (the 'message'
// listener, protocolExit) and engine.ts (#onClose), src/remote/link.ts (handshake),
// src/remote/frame.ts, src/remote/codec.ts, src/remote/host.ts (#released).
import { suite } from 'uvu';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokenProcessPool, InvalidStateError, ManagerError, ProtocolError, ReleasedError, tasks } from '../src/index.ts';
import { translate } from '../src/manager/proxy.ts';
import { Pool, ProcessPoolExecutor } from '../src/process/index.ts';
import { childEntry, childExecArgv } from '../src/process/spawn.ts';
import { EXIT_PROTOCOL, isBranded, PROTOCOL, type FromChild } from '../src/protocol/index.ts';
import { decodeMessage } from '../src/remote/codec.ts';
import { frame, FrameReader } from '../src/remote/frame.ts';
import { Host, HostClient } from '../src/remote/host.ts';
import { connect } from '../src/remote/link.ts';
import { assert, disposeAllAndCheckLeaks, rejection, track, waitFor, withinMs } from './helpers.ts';
import { malformed } from './unit/codec-cases.ts';

const math = tasks<typeof import('./fixtures/math.ts')>(new URL('./fixtures/math.ts', import.meta.url));
const peer = tasks<typeof import('./fixtures/protocol-peer.ts')>(new URL('./fixtures/protocol-peer.ts', import.meta.url));
const test = suite('protocol-version');
const T = 20_000;
const OTHER = 'multiproc/1';

// ---------------------------------------------------------------------------------------
// A child meets a parent of another build (src/process/child.ts, the 'message' listener)

/** The child entry, forked as spawnChild does, but with stderr captured. */
function forkChild(): { child: ReturnType<typeof fork>; stderr: () => string; exit: Promise<number | null> } {
  // Its warning is read on its stderr (test/quiet-warnings.cjs hides warnings otherwise).
  const child = track(fork(childEntry, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'pipe', 'ipc'], execArgv: childExecArgv(), env: { ...process.env, MULTIPROC_TEST_WARNINGS: '1' } }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exit };
}

test('a child whose first message is branded by another version warns (MP_PROTOCOL) and exits with EXIT_PROTOCOL, no uncaught exception', async () => {
  const { child, stderr, exit } = forkChild();
  child.send({ mp: OTHER, type: 'init', name: 'FromTheFuture', role: 'worker' });
  const code = await withinMs(exit, T, 'the child to exit after a message of another protocol version');
  assert.is(code, EXIT_PROTOCOL, `exit code; stderr:\n${stderr()}`);
  assert.match(stderr(), /\[MP_PROTOCOL\] MultiprocWarning/, 'a process warning with code MP_PROTOCOL');
  assert.match(stderr(), new RegExp(`this side speaks ${PROTOCOL}.*${OTHER}`));
  assert.not.match(stderr(), /Uncaught|at checkVersion|process\.on\('message'/, 'no uncaught exception');
});

test('a running worker that receives a message of another version exits the same way; user messages pass untouched', async () => {
  const { child, stderr, exit } = forkChild();
  const ready = new Promise<void>((resolve) => child.on('message', (m: unknown) => isBranded(m) && (m as FromChild).type === 'ready' && resolve()));
  // Messages that are not multiproc's are the user's business: the child ignores them.
  child.send({ hello: 'user' });
  child.send('a string');
  child.send({ mp: 'not-multiproc/1' });
  child.send({ mp: PROTOCOL, type: 'init', name: 'Current', role: 'worker' });
  await withinMs(ready, T, 'the child to be ready after user messages');
  assert.is(child.exitCode, null, 'still running');
  child.send({ mp: OTHER, type: 'call', id: 1, key: 1, items: [1], spread: false });
  const code = await withinMs(exit, T, 'the running child to exit after a message of another version');
  assert.is(code, EXIT_PROTOCOL, `exit code; stderr:\n${stderr()}`);
  assert.match(stderr(), /\[MP_PROTOCOL\]/);
});

// ---------------------------------------------------------------------------------------
// A parent meets a worker of another build (src/process/engine.ts, the worker's 'message'
// listener and its exit handling)

test('a pool whose worker sends a message of another version breaks: BrokenProcessPool, cause ProtocolError', async () => {
  const pool = track(new Pool({ processes: 1, initializer: peer.sendForeignBrand, initargs: [OTHER] }));
  const err = await rejection(pool.apply(math.square, [2]), BrokenProcessPool, 'apply on a pool whose worker speaks another version', T);
  assert.instance(err.cause, ProtocolError);
  const cause = err.cause as ProtocolError;
  assert.is(cause.fault, 'version');
  assert.is(cause.peerVersion, OTHER);
  assert.match(err.message, /protocol/);
  await rejection(pool.map(math.square, [1]), BrokenProcessPool, 'a later map on the broken pool');
  const ex = track(new ProcessPoolExecutor({ maxWorkers: 1, initializer: peer.sendForeignBrand, initargs: [OTHER] }));
  const exErr = await rejection(ex.submit(math.square, 3).result(), BrokenProcessPool, 'a future on an executor whose worker speaks another version', T);
  assert.instance(exErr.cause, ProtocolError);
});

test('a worker that exits with EXIT_PROTOCOL (it could not understand us) breaks the pool with a ProtocolError cause', async () => {
  const pool = track(new Pool({ processes: 1, initializer: peer.exitProtocol }));
  const err = await rejection(pool.apply(math.square, [2]), BrokenProcessPool, 'apply on a pool whose worker exits with EXIT_PROTOCOL', T);
  assert.instance(err.cause, ProtocolError, `cause: ${String(err.cause)}`);
  assert.is((err.cause as ProtocolError).fault, 'version');
  assert.match(err.message, /protocol/);
});

// ---------------------------------------------------------------------------------------
// A proxy meets a host of another build (src/remote/link.ts startClient, and the lost-host
// mapping of src/remote/client.ts)

/** A unix-socket server that greets every connection with `greeting` as its first frame. */
async function fakeHost(greeting: Buffer): Promise<{ path: string; server: Server; close: () => Promise<void> }> {
  const path = join(tmpdir(), `multiproc-fake-host-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.write(frame(greeting));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return { path, server, close };
}

test('a host greeting with another version: the handshake rejects with ProtocolError (version), and so do calls', async () => {
  const host = await fakeHost(Buffer.concat([Buffer.from(`${OTHER}\0`, 'latin1'), randomBytes(32)]));
  try {
    let closedWith: Error | null | undefined;
    const link = connect(host.path, 'key', { onMessage: () => {}, onClose: (e) => (closedWith = e) });
    const err = await rejection(link.ready, ProtocolError, 'the handshake with a host of another version');
    assert.is(err.fault, 'version');
    assert.is(err.peerVersion, OTHER);
    assert.match(err.message, /both processes must load the same multiproc version/);
    await waitFor(() => closedWith !== undefined, 'onClose');
    assert.instance(closedWith, ProtocolError);
    // What a queue or proxy call sees: the ProtocolError itself, not "the host is no longer running".
    const client = HostClient.for(host.path, Buffer.from('key').toString('hex'));
    const callErr = await rejection(client.call('obj', 'qsize', []), ProtocolError, 'a call to a host of another version');
    assert.is(callErr.peerVersion, OTHER);
  } finally {
    await host.close();
  }
});

test('a peer that is not a multiproc host: ProtocolError (handshake)', async () => {
  const host = await fakeHost(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
  try {
    const link = connect(host.path, 'key', { onMessage: () => {}, onClose: () => {} });
    const err = await rejection(link.ready, ProtocolError, 'the handshake with a peer that is not a multiproc host');
    assert.is(err.fault, 'handshake');
  } finally {
    await host.close();
  }
});

// ---------------------------------------------------------------------------------------
// Frames and bytes (src/remote/frame.ts FrameReader.next, src/remote/codec.ts)

test('a frame over the cap is a ProtocolError (frame)', () => {
  const reader = new FrameReader(1024);
  reader.push(Buffer.from([0, 0, 4, 1]));
  let err: unknown;
  try {
    reader.next();
  } catch (e) {
    err = e;
  }
  assert.instance(err, ProtocolError);
  assert.is((err as ProtocolError).fault, 'frame');
  assert.match((err as Error).message, /1025 bytes exceeds the 1024-byte cap/);
});

test('every malformed body, a garbage v8 payload included, is a ProtocolError (codec)', () => {
  const cases: Array<[string, number[]]> = [...malformed.map(([what, bytes]) => [what, bytes] as [string, number[]]), ['a v8 payload of garbage', [6, 0, ...Buffer.alloc(8), 0, 0xff, 0x00, 0x13]]];
  const wrong: string[] = [];
  for (const [what, bytes] of cases) {
    try {
      decodeMessage(Buffer.from(bytes));
      wrong.push(`${what}: decoded`);
    } catch (err) {
      if (!(err instanceof ProtocolError) || err.fault !== 'codec') wrong.push(`${what}: ${(err as Error).name}: ${(err as Error).message}`);
    }
  }
  assert.equal(wrong, [], 'malformed bodies not reported as ProtocolError (codec)');
});

test('random bodies either decode or raise ProtocolError (codec), nothing else', () => {
  let seed = 12_345;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
  const wrong = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const body = Buffer.alloc(random() % 24);
    // Half the bytes small: message types and value tags, so decoding gets somewhere.
    for (let j = 0; j < body.length; j++) body[j] = random() % 2 === 0 ? random() % 12 : random() % 256;
    try {
      decodeMessage(body);
    } catch (err) {
      if (!(err instanceof ProtocolError)) {
        const key = `${(err as Error).name}: ${(err as Error).message}`;
        wrong.set(key, (wrong.get(key) ?? 0) + 1);
      }
    }
  }
  assert.equal([...wrong], [], 'errors other than ProtocolError (message: count)');
});

// ---------------------------------------------------------------------------------------
// Released objects (src/remote/host.ts #released and handle(); src/manager/proxy.ts translate)

test('a call to an object its host released rejects with ReleasedError (MP_RELEASED, objectId), remotely and locally', async () => {
  const host = new Host({ leaseTimeout: 100 });
  await host.listen();
  try {
    const id = host.register({ ping: () => 'pong' }, { kind: 'thing', exposed: ['ping'] });
    const handle = host.handle(id);
    const client = HostClient.for(handle.address, handle.authkey);
    client.incref(id, true);
    assert.is(await client.call(id, 'ping', []), 'pong');
    client.decref(id);
    await waitFor(() => host.lookup(id) === undefined, 'the object to be released after its last reference');
    const remote = await rejection(client.call(id, 'ping', []), ReleasedError, 'a remote call to a released object');
    assert.is(remote.code, 'MP_RELEASED');
    assert.is(remote.objectId, id);
    assert.is(remote.hostPid, process.pid);
    assert.instance(remote, InvalidStateError, 'still an InvalidStateError');
    const local = await rejection(host.callLocal(id, 'ping', [], undefined, true), ReleasedError, 'a local call to a released object');
    assert.is(local.objectId, id);
    assert.throws(() => host.handle(id), (e: unknown) => e instanceof ReleasedError && e.objectId === id, 'handle() of a released object');
    client.close();
  } finally {
    await host.close();
  }
});

test('a manager proxy recognises a released object by its class, whatever the message says', () => {
  const released = new ReleasedError('gone', { objectId: 'l1' });
  const out = translate(released, 'list.get()');
  assert.instance(out, ManagerError);
  assert.is(out.cause, released);
  // An InvalidStateError that happens to say the words is not a released object.
  const other = new InvalidStateError("object 'x' no longer exists on the host, says a user's own class");
  assert.is(translate(other, 'list.get()'), other);
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
