// SocketWriter (src/remote/writer.ts): every byte pushed reaches the peer once and in order,
// while the peer reads slower than we write (the kernel's buffer fills, a probe byte waits in
// libuv), and when the writing process exits in the middle of that (flushSync from an 'exit'
// listener). The peer is a real socket server that pauses often.
import { suite } from 'uvu';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SocketWriter } from '../src/remote/writer.ts';
import { assert, disposeAllAndCheckLeaks, track, withinMs } from './helpers.ts';

const test = suite('writer');
const dir = mkdtempSync(join(tmpdir(), 'mp-writer-'));
const client = fileURLToPath(new URL('./fixtures/writer-client.ts', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));

/** A server that checks byte i is i & 255 and pauses after most reads; resolves with what one connection sent. */
function slowServer(path: string): { server: Server; received: Promise<{ bytes: number; inOrder: boolean }> } {
  let resolve!: (r: { bytes: number; inOrder: boolean }) => void;
  const received = new Promise<{ bytes: number; inOrder: boolean }>((r) => (resolve = r));
  const server = createServer((socket: Socket) => {
    let bytes = 0;
    let inOrder = true;
    socket.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] !== ((bytes + i) & 255)) inOrder = false;
      bytes += chunk.length;
      socket.pause();
      setTimeout(() => socket.resume(), 1);
    });
    socket.on('end', () => resolve({ bytes, inOrder }));
  });
  server.listen(path);
  return { server, received };
}

test('20 MB through a writer to a slow reader: every byte once, in order', async () => {
  const path = join(dir, 'slow.sock');
  const { server, received } = slowServer(path);
  const total = 20 * 1024 * 1024;
  const socket = createConnection({ path });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const writer = new SocketWriter(socket, (err) => assert.unreachable(`writer error: ${err.message}`));
  for (let off = 0; off < total; ) {
    const n = Math.min(total - off, 1 + Math.floor(Math.random() * 300_000));
    const piece = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) piece[i] = (off + i) & 255;
    writer.push(piece);
    writer.drain();
    off += n;
    while (writer.pending > 4 << 20) await new Promise((r) => setTimeout(r, 1));
  }
  await withinMs(new Promise<void>((r) => writer.whenEmpty(r)), 30_000, 'the writer to empty');
  socket.end();
  assert.equal(await withinMs(received, 30_000, 'the server to read everything'), { bytes: total, inOrder: true });
  server.close();
});

for (const total of [1_000, 3_000_000, 20_000_000]) {
  test(`a process that exits in the middle of writing ${total} bytes to a slow reader: flushSync delivers every byte once, in order`, async () => {
    const path = join(dir, `exit-${total}.sock`);
    const { server, received } = slowServer(path);
    const child = track(spawn(process.execPath, ['--import', 'tsx', client, path, String(total)], { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] }));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await withinMs(new Promise<number | null>((r) => child.once('exit', (c) => r(c))), 60_000, 'the writing process to exit');
    assert.is(code, 0, `exit code; stderr: ${stderr}`);
    assert.is(stderr, '');
    assert.equal(await withinMs(received, 30_000, 'the server to read everything'), { bytes: total, inOrder: true });
    server.close();
  });
}

test('no leaks', async () => {
  await disposeAllAndCheckLeaks();
  rmSync(dir, { recursive: true, force: true });
});

test.run();
