// What a host lets a peer cost it, and where its unix sockets live: the rate-limited
// diagnostics those costs are reported through, caps on connections that have not
// authenticated, frames buffered as they arrive, leases without a timer each, handles in call
// arguments never dialled on a peer's word, frame edge cases on a real link, private socket
// directories removed on every exit path. Servers run in processes of their own
// (test/fixtures/host-server.ts, started with child_process.spawn so the test can set their
// fd limit and umask and read their stderr); hostile peers are raw sockets from this process.
import { suite } from 'uvu';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DiagnosticEvent, warn } from '../src/diagnostics.ts';
import { BaseManager, Manager } from '../src/manager/index.ts';
import { Process } from '../src/process/process.ts';
import { childExecArgv } from '../src/process/spawn.ts';
import { tasks } from '../src/process/task.ts';
import { PROTOCOL, type FromHost, type ToHost } from '../src/protocol/index.ts';
import { decodeMessage, MessageEncoder } from '../src/remote/codec.ts';
import { toHandle } from '../src/remote/handle.ts';
import { HostClient } from '../src/remote/host.ts';
import { Queue } from '../src/queue/queue.ts';
import { assert, concurrently, disposeAllAndCheckLeaks, rememberPid, track, waitFor, withinMs } from './helpers.ts';

const client = tasks<typeof import('./fixtures/host-client.ts')>(new URL('./fixtures/host-client.ts', import.meta.url));
const serverScript = fileURLToPath(new URL('./fixtures/host-server.ts', import.meta.url));
const test = suite('host-limits');
const MiB = 1024 * 1024;

type TcpAddress = { host: string; port: number };

interface Spawned {
  pid: number;
  address: TcpAddress | string;
  child: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  exited: Promise<void>;
}

/**
 * Start test/fixtures/host-server.ts with `config`, under `ulimit -n` / `umask` when asked,
 * and resolve with what it reports on its first stdout line.
 */
async function spawnHost(config: Record<string, unknown>, shell: { ulimit?: number; umask?: string; env?: Record<string, string> } = {}): Promise<Spawned> {
  const prefix = `${shell.ulimit ? `ulimit -n ${shell.ulimit} && ` : ''}${shell.umask ? `umask ${shell.umask} && ` : ''}`;
  const child = spawn('/bin/sh', ['-c', `${prefix}exec "$0" "$@"`, process.execPath, '--expose-gc', ...childExecArgv(), serverScript, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The tests read this server's warnings on its stderr (test/quiet-warnings.cjs hides them otherwise).
    env: { ...process.env, MULTIPROC_TEST_WARNINGS: '1', ...shell.env },
  });
  let err = '';
  let out = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  track(child);
  const first = await withinMs(
    new Promise<{ pid: number; address: TcpAddress | string }>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const nl = out.indexOf('\n');
        if (nl !== -1) resolve(JSON.parse(out.slice(0, nl)));
      });
      void exited.then(() => reject(new Error(`the host process exited before reporting; stderr: ${err}`)));
    }),
    30_000,
    `the host process (${config.mode}) to report`,
  );
  rememberPid(first.pid);
  return { ...first, child, stderr: () => err, exited };
}

function start(target: (...args: any[]) => unknown, args: unknown[]): Process<any> {
  const p = track(new Process({ target, args }));
  p.start();
  return p;
}

function frame(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

interface Raw {
  socket: Socket;
  /** The first frame received, or null if the connection closed without one. */
  first: Promise<Buffer | null>;
  closed: Promise<void>;
  next(): Promise<Buffer>;
}

/** A raw socket to `address` (from `localAddress`, for TCP), collecting the frames it receives. */
function raw(address: TcpAddress | string, localAddress?: string): Raw {
  const socket = typeof address === 'string' ? createConnection({ path: address }) : createConnection({ host: address.host, port: address.port, localAddress });
  const frames: Buffer[] = [];
  let buffered = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  let gotFirst: (f: Buffer | null) => void = () => {};
  const first = new Promise<Buffer | null>((resolve) => (gotFirst = resolve));
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
      const n = buffered.readUInt32BE(0);
      const f = buffered.subarray(4, 4 + n);
      gotFirst(f);
      frames.push(f);
      buffered = buffered.subarray(4 + n);
    }
    wake?.();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      gotFirst(null);
      wake?.();
      resolve();
    }),
  );
  const next = async () => {
    while (frames.length === 0) {
      if (socket.destroyed) throw new Error('the connection closed');
      await new Promise<void>((r) => (wake = r));
    }
    return frames.shift()!;
  };
  return { socket, first, closed, next };
}

const isBusy = (f: Buffer | null): f is Buffer => f !== null && f.subarray(0, 5).toString('latin1') === 'BUSY\0';
const isGreeting = (f: Buffer | null): f is Buffer => f !== null && f.toString('latin1').startsWith(`${PROTOCOL}\0`);

/** The client side of the handshake, by hand (as src/remote/link.ts documents it). */
async function handshake(conn: Raw, key: string): Promise<void> {
  const hello = await withinMs(conn.next(), 10_000, 'the host greeting');
  assert.ok(isGreeting(hello), `a greeting, got ${hello.toString('latin1')}`);
  const hostNonce = hello.subarray(hello.indexOf(0) + 1);
  const answer = createHmac('sha256', Buffer.from(key)).update('multiproc proxy').update(hostNonce).digest();
  conn.socket.write(frame(Buffer.concat([answer, randomBytes(32)])));
  const reply = await withinMs(conn.next(), 10_000, 'the host answer');
  assert.is(reply.length, 36, 'the host accepted the key');
}

const encoder = new MessageEncoder();
const send = (conn: Raw, m: ToHost) => conn.socket.write(encoder.frame(m));
const receive = async (conn: Raw, what: string) => decodeMessage(await withinMs(conn.next(), 10_000, what)) as FromHost;

/** The soft limit on open files of this process (a shell started from it inherits it). */
function fdLimit(): number {
  const out = execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  return out === 'unlimited' ? Infinity : Number(out);
}

type Probe = { ping(x: number): Promise<number>; memory(): Promise<{ rss: number; heapUsed: number; arrayBuffers: number }>; fds(): Promise<number> };

async function probeOf(address: TcpAddress | string, authkey: string): Promise<{ manager: BaseManager; probe: Probe }> {
  const manager = track(new BaseManager({ address, authkey }));
  await manager.connect();
  return { manager, probe: await manager.create<Probe>('Probe') };
}

const mb = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

// ---------------------------------------------------------------------------------------
// The diagnostics channel

test('diagnostics: warn() is one process warning per code per interval, and every event reaches the multiproc channel', async () => {
  const warnings: { name: string; code?: string; message: string }[] = [];
  const events: DiagnosticEvent[] = [];
  const onWarning = (w: Error & { code?: string }) => void (w.code === 'MP_TEST_FLOOD' && warnings.push(w));
  const onEvent = (e: unknown) => void ((e as DiagnosticEvent).code === 'MP_TEST_FLOOD' && events.push(e as DiagnosticEvent));
  process.on('warning', onWarning);
  subscribe('multiproc', onEvent);
  try {
    for (let i = 0; i < 500; i++) warn('MP_TEST_FLOOD', `event ${i}`);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', onWarning);
    unsubscribe('multiproc', onEvent);
  }
  assert.is(warnings.length, 1, 'one warning for 500 events');
  assert.is(warnings[0]!.name, 'MultiprocWarning');
  assert.is(warnings[0]!.message, 'event 0');
  assert.is(events.length, 500, 'each event on the channel');
  assert.equal(events[499], { level: 'warning', code: 'MP_TEST_FLOOD', message: 'event 499' });
});

// ---------------------------------------------------------------------------------------
// The frame reader on a real link (the reader alone: test/unit/frame.test.ts)

test('a length-0 frame trickled byte by byte to a real server, before and after the handshake: a protocol error closes that link only', async () => {
  const server = await spawnHost({ mode: 'serve', address: { host: '127.0.0.1', port: 0 }, authkey: 'k' }, { env: { NODE_DEBUG: 'multiproc' } });
  const trickle = async (conn: Raw) => {
    conn.socket.setNoDelay(true);
    for (const b of [0, 0, 0, 0]) {
      conn.socket.write(Buffer.from([b]));
      await new Promise((r) => setTimeout(r, 50)); // each byte its own segment
    }
  };
  // Before authenticating: an empty answer to the greeting fails the challenge.
  const early = raw(server.address);
  assert.ok(isGreeting(await withinMs(early.first, 10_000, 'the greeting')));
  await early.next();
  await trickle(early);
  assert.is((await withinMs(early.next(), 10_000, 'the host answer')).toString(), 'FAIL');
  await withinMs(early.closed, 10_000, 'the server to close the unauthenticated link');
  // After authenticating: an empty frame is not a message.
  const late = raw(server.address);
  await handshake(late, 'k');
  await trickle(late);
  await withinMs(late.closed, 10_000, 'the server to close the link');
  await waitFor(() => /an empty frame \(length 0\) is not a message/.test(server.stderr()), 'the server to name the protocol error (NODE_DEBUG=multiproc)');
  assert.not.match(server.stderr(), /TypeError|Cannot read properties/, 'no internal error');
  const { probe } = await probeOf(server.address, 'k');
  assert.is(await probe.ping(3), 3, 'the server keeps serving');
});

// ---------------------------------------------------------------------------------------
// Connections that have not authenticated (point 12)

/**
 * The two handshake-cap tests below each wait for idle connections to time out (3 s and 5 s,
 * the servers' handshakeTimeout): they use servers and loopback addresses of their own
 * (127.0.0.2; 127.0.0.3-6), so they wait at once.
 */
const handshakeCaps = concurrently({
  idleFlood: async () => {
    const idle = 300;
    const limit = fdLimit();
    assert.ok(limit >= idle + 200, `this test opens ${idle} sockets at once; raise ulimit -n (it is ${limit})`);
    const server = await spawnHost(
      { mode: 'serve', address: { host: '127.0.0.1', port: 0 }, authkey: 'k', options: { maxPendingHandshakes: 48, maxPendingPerAddress: 16, handshakeTimeout: 3000 } },
      { ulimit: 256 },
    );
    const go = new Queue<string>();
    const out = new Queue<unknown>();
    start(client.probeClient, [server.address, 'k', go, out]);
    assert.is(await withinMs(out.get(), 30_000, 'the client process to start'), 'ready');

    // 127.0.0.0/8 is all loopback on Linux: the idle peer is 127.0.0.2, the client 127.0.0.1.
    const conns = Array.from({ length: idle }, () => raw(server.address, '127.0.0.2'));
    const firsts = await withinMs(Promise.all(conns.map((c) => c.first)), 20_000, 'every idle connection to be greeted or refused');
    const refused = firsts.filter(isBusy);
    const greeted = firsts.filter(isGreeting);
    assert.is(refused.length + greeted.length, idle, `every connection was answered (${greeted.length} greeted, ${refused.length} refused, the rest dropped unanswered)`);
    assert.ok(refused.length > 0, 'connections over the cap were refused');
    assert.match(refused[0]!.subarray(5).toString(), /too many connections from 127\.0\.0\.2 are waiting to authenticate there \(16, its maxPendingPerAddress\)/);

    await go.put('go');
    assert.equal(await withinMs(out.get(), 30_000, 'the legitimate client'), { name: 'ok', value: 7 });
    await go.put('stop');

    await withinMs(Promise.all(conns.map((c) => c.closed)), 15_000, 'the idle connections to be dropped after handshakeTimeout (3 s)');
    const { probe } = await probeOf(server.address, 'k');
    assert.ok((await probe.fds()) < 100, 'the server holds no descriptor for the idle connections');
    const lines = server.stderr().split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length <= 6, `at most a few warning lines on the server's stderr, got ${lines.length}:\n${lines.slice(0, 10).join('\n')}`);
    assert.ok(lines.some((l) => l.includes('[MP_HOST_REFUSED]')), `the refusals are one warning:\n${lines.join('\n')}`);
},
  pendingCap: async () => {
    const server = await spawnHost({ mode: 'serve', address: { host: '127.0.0.1', port: 0 }, authkey: 'k', options: { maxPendingHandshakes: 24, maxPendingPerAddress: 8, handshakeTimeout: 5000 } });
    const go = new Queue<string>();
    const out = new Queue<unknown>();
    start(client.probeClient, [server.address, 'k', go, out]);
    assert.is(await withinMs(out.get(), 30_000, 'the client process to start'), 'ready');

    // 3 addresses x 8 (the per-address cap) fill the 24 slots.
    const conns = ['127.0.0.3', '127.0.0.4', '127.0.0.5'].flatMap((from) => Array.from({ length: 8 }, () => raw(server.address, from)));
    const firsts = await withinMs(Promise.all(conns.map((c) => c.first)), 20_000, 'the idle connections to be greeted');
    assert.ok(firsts.every(isGreeting), 'all 24 are waiting in the handshake');
    const extra = raw(server.address, '127.0.0.6');
    const refusal = await withinMs(extra.first, 10_000, 'the refusal');
    assert.ok(isBusy(refusal), 'a 25th connection is refused');
    assert.match(refusal.subarray(5).toString(), /^too many connections are waiting to authenticate there \(24, its maxPendingHandshakes\)$/);
    await withinMs(extra.closed, 10_000, 'the refused connection to be closed');

    await go.put('go');
    const report = (await withinMs(out.get(), 30_000, 'the refused client to report')) as { name: string; code: string; message: string };
    assert.is(report.name, 'HostBusyError', report.message);
    assert.is(report.code, 'MP_HOST_BUSY');
    assert.match(report.message, /refused the connection: too many connections are waiting to authenticate there/);
    assert.not.match(report.message, /shut down or died/);

    await withinMs(Promise.all(conns.map((c) => c.closed)), 15_000, 'the idle connections to be dropped after handshakeTimeout (5 s)');
    await go.put('go');
    assert.equal(await withinMs(out.get(), 30_000, 'the client, trying again'), { name: 'ok', value: 7 });
    await go.put('stop');
},
});

test('300 idle connections cannot starve a server (ulimit -n 256) of descriptors: over maxPendingPerAddress they get BUSY, a client from elsewhere still works, stderr stays quiet, the idle are dropped after handshakeTimeout', () => handshakeCaps('idleFlood'));

test('beyond maxPendingHandshakes a client is refused with HostBusyError that says why (not "shut down or died"), and gets in once the idle connections time out', () => handshakeCaps('pendingCap'));

// ---------------------------------------------------------------------------------------
// What an authenticated client can make the server hold or do (point 14)

test('a handle in call arguments that points elsewhere is never dialled by the server; it is stored and sent on as the same handle', async () => {
  const server = await spawnHost({ mode: 'serve', address: { host: '127.0.0.1', port: 0 }, authkey: 'k' });
  const dialled: string[] = [];
  const bait = createServer((s) => {
    dialled.push(`${s.remoteAddress}:${s.remotePort}`);
    s.destroy();
  });
  await new Promise<void>((resolve) => bait.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
  try {
    const port = (bait.address() as { port: number }).port;
    const manager = track(new Manager({ address: server.address, authkey: 'k' }));
    await manager.connect();
    const lst = await manager.list<unknown>();
    const listId = lst[toHandle]().id;
    const forged = { __mpHandle: PROTOCOL, kind: 'manager.list', address: { host: '127.0.0.1', port }, id: 'list-1', authkey: 'ab'.repeat(32), meta: {} };
    // Through a raw connection, so that this process never revives the handle itself.
    const conn = raw(server.address);
    await handshake(conn, 'k');
    send(conn, { type: 'call', id: 1, obj: listId, method: 'append', args: [forged], handles: true });
    const appended = await receive(conn, 'the append reply');
    assert.is(appended.type, 'result', JSON.stringify(appended));
    send(conn, { type: 'call', id: 2, obj: listId, method: 'get', args: [0] });
    const got = await receive(conn, 'the get reply');
    assert.is(got.type, 'result');
    assert.equal((got as { value: unknown }).value, forged, 'sent on as the very handle it was');
    assert.ok((got as { handles?: boolean }).handles, 'marked as a handle for the receiver to revive');
    // A dial would have started while the append was handled, before its reply was written;
    // this leaves it ample time to arrive.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(dialled, [], 'the server connected to the address in the forged handle');
    assert.is(await lst.len(), 1);
  } finally {
    await new Promise<void>((resolve) => bait.close(() => resolve()));
  }
});

test('a proxy of another manager stored in a managed list is revived by whoever reads it (the server only passes it on)', async () => {
  const a = track(await Manager.start());
  const b = track(await Manager.start());
  const inner = await b.list<number>();
  const outer = await a.list<unknown>();
  await outer.append(inner);
  const p = start(client.appendToInner, [outer, 42]);
  await withinMs(p.join(), 30_000, 'the child appending through the stored proxy');
  assert.is(p.exitCode, 0);
  assert.equal(await inner.toArray(), [42]);
});

test('200,000 lease messages from one client: no timer per lease, the server RSS stays within 24 MiB of where it was', async () => {
  const server = await spawnHost({ mode: 'serve', address: { host: '127.0.0.1', port: 0 }, authkey: 'k' });
  const { probe } = await probeOf(server.address, 'k');
  const id = (probe as unknown as { [toHandle](): { id: string } })[toHandle]().id;
  const connection = HostClient.for(server.address as TcpAddress, Buffer.from('k'));
  assert.is(await probe.ping(1), 1);
  const before = await probe.memory();
  for (let i = 0; i < 200_000; i++) connection.lease(id);
  // Replies come in order on one connection: once this one is back, every lease was handled.
  assert.is(await withinMs(probe.ping(2), 60_000, 'a call after the leases'), 2);
  const after = await probe.memory();
  const rss = after.rss - before.rss;
  const heap = after.heapUsed - before.heapUsed;
  if (process.env.MULTIPROC_TEST_VERBOSE) console.log(`    200,000 leases: server RSS ${mb(before.rss)} -> ${mb(after.rss)} (+${mb(rss)}), heap used +${mb(heap)}`);
  // Held per lease before: a Timeout object and its list entry (~400 bytes: +80 MiB here).
  // Now: one record per object per second; what remains is decoding garbage and heap slack.
  assert.ok(heap < 4 * MiB, `the heap holds ${mb(heap)} more after a full GC`);
  assert.ok(rss < 24 * MiB, `the server RSS grew by ${mb(rss)}`);
});

test('50 authenticated connections each announcing a ~60 MiB frame and sending only its header: server memory stays where it was', async () => {
  const server = await spawnHost({ mode: 'serve', address: { host: '127.0.0.1', port: 0 }, authkey: 'k' });
  const { probe } = await probeOf(server.address, 'k');
  const conns: Raw[] = [];
  for (let i = 0; i < 50; i++) {
    const conn = raw(server.address);
    await handshake(conn, 'k');
    conns.push(conn);
  }
  const before = await probe.memory();
  const header = Buffer.alloc(4);
  header.writeUInt32BE(60 * MiB, 0);
  await Promise.all(conns.map((c) => new Promise<void>((resolve) => c.socket.write(Buffer.concat([header, randomBytes(1000)]), () => resolve()))));
  // The headers are in the server's socket buffers: a round trip and a pause let it read them.
  await probe.ping(1);
  await new Promise((r) => setTimeout(r, 300));
  const after = await probe.memory();
  if (process.env.MULTIPROC_TEST_VERBOSE) console.log(`    50 x 60 MiB headers: server RSS ${mb(before.rss)} -> ${mb(after.rss)}, array buffers ${mb(before.arrayBuffers)} -> ${mb(after.arrayBuffers)}`);
  assert.ok(after.arrayBuffers - before.arrayBuffers < 50 * 256 * 1024, `buffers grew by ${mb(after.arrayBuffers - before.arrayBuffers)}`);
  assert.ok(after.rss - before.rss < 32 * MiB, `the RSS grew by ${mb(after.rss - before.rss)}`);
  assert.ok(conns.every((c) => !c.socket.destroyed), 'the connections are open, waiting for the rest of their frames');
  for (const c of conns) c.socket.destroy();
  assert.is(await probe.ping(2), 2);
});

// ---------------------------------------------------------------------------------------
// Unix socket files (point 13)

test('a default host socket lives in a private directory: directory 0700, socket 0600, under the usual umask and under umask 000', async () => {
  for (const umask of ['022', '000']) {
    const host = await spawnHost({ mode: 'hang' }, { umask });
    const path = host.address as string;
    const dir = dirname(path);
    try {
      assert.is(dirname(dir), tmpdir(), 'a directory in os.tmpdir()');
      assert.match(basename(dir), new RegExp(`^multiproc-${host.pid}-`));
      assert.is((statSync(dir).mode & 0o777).toString(8), '700', `umask ${umask}: the directory`);
      assert.ok(statSync(path).isSocket());
      assert.is((statSync(path).mode & 0o777).toString(8), '600', `umask ${umask}: the socket`);
    } finally {
      host.child.kill('SIGKILL');
      await host.exited;
      if (dirname(dir) === tmpdir()) rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('socket and directory are removed after process.exit() without close(), an uncaught exception, and the event loop ending; an explicit path too', async () => {
  // Four processes of their own, started at once.
  const explicit = join(tmpdir(), `multiproc-test-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  const explicitCase = (async () => {
    const host = await spawnHost({ mode: 'exit', path: explicit });
    await withinMs(host.exited, 20_000, 'the process to exit');
    assert.is(host.address, explicit, 'an explicit path keeps its place');
    assert.not.ok(existsSync(explicit), 'and is removed at exit');
  })();
  const modeCases = ['exit', 'throw', 'end'].map(async (mode) => {
    const host = await spawnHost({ mode });
    await withinMs(host.exited, 20_000, `the ${mode} process to end`);
    const path = host.address as string;
    assert.is(dirname(dirname(path)), tmpdir(), `${mode}: a private directory`);
    assert.not.ok(existsSync(path), `${mode}: the socket is gone`);
    assert.not.ok(existsSync(dirname(path)), `${mode}: its directory is gone`);
  });
  await Promise.all([...modeCases, explicitCase]);
});

test("a SIGKILLed owner's directory, and a socket file of the older layout, are removed by the next process that starts a default host", async () => {
  const dead = await spawnHost({ mode: 'hang' });
  dead.child.kill('SIGKILL');
  await dead.exited;
  const dir = dirname(dead.address as string);
  assert.is(dirname(dir), tmpdir(), 'a private directory');
  assert.ok(existsSync(dir), 'a killed process cannot clean up');
  const old = join(tmpdir(), `multiproc-${dead.pid}-${randomBytes(6).toString('hex')}.sock`);
  writeFileSync(old, '');
  const next = await spawnHost({ mode: 'hang' });
  await waitFor(() => !existsSync(dir) && !existsSync(old), "the next host to remove the dead owner's leftovers");
  assert.ok(existsSync(next.address as string), 'its own socket is untouched');
  next.child.kill('SIGTERM');
  await next.exited;
  rmSync(dirname(next.address as string), { recursive: true, force: true });
});

test('no leaks', async () => {
  await disposeAllAndCheckLeaks();
});

test.run();
