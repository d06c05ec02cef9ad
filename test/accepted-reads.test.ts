// The accepting side of a link (src/remote/link.ts accept()): its socket's connection moves
// into a socket that reads into the link's own buffers (adopt()). Frames of every size, small
// ones many to a read and large ones over many reads, arrive whole and in order both ways;
// the server still counts the connection until it closes, so server.close() waits for it
// and completes once either side closed. Real unix sockets in this process.
import { suite } from 'uvu';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accept, connect, type Link } from '../src/remote/link.ts';
import type { LinkMessage } from '../src/remote/codec.ts';
import { assert, disposeAllAndCheckLeaks, waitFor, withinMs } from './helpers.ts';

const test = suite('accepted-reads');
const dir = mkdtempSync(join(tmpdir(), 'mp-accepted-'));
const KEY = 'accepted-reads-key';
let nextPath = 0;

/** Sizes of the Buffers sent: tiny, a queue item, just under and over a 64 KiB read, large. */
const SIZES = [0, 1, 1000, 65_000, 65_536 + 7, 300_000, 1000, 5 * 1024 * 1024, 3, 1 << 20];

function payload(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + seed) & 255;
  return b;
}

/** A server accepting links; `received` collects what each accepted link got, `links` the links. */
function server(): { server: Server; path: string; links: Link[]; received: LinkMessage[]; closed: Array<Error | null> } {
  const path = join(dir, `s${nextPath++}.sock`);
  const links: Link[] = [];
  const received: LinkMessage[] = [];
  const closed: Array<Error | null> = [];
  const srv = createServer((socket) => {
    const link = accept(socket, KEY, {
      onMessage: (m) => {
        received.push(m);
        // Echo: the same bytes back as the result of the call.
        if (m.type === 'call') link.send({ type: 'result', id: m.id, value: m.args[0], handles: false });
      },
      onClose: (err) => closed.push(err),
    });
    links.push(link);
  });
  srv.listen(path);
  return { server: srv, path, links, received, closed };
}

function connections(srv: Server): Promise<number> {
  return new Promise((resolve, reject) => srv.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

test('frames of every size arrive whole and in order, both ways', async () => {
  const s = server();
  await new Promise<void>((r) => s.server.once('listening', () => r()));
  const results: LinkMessage[] = [];
  let clientClosed: Error | null | undefined;
  const client = connect(s.path, KEY, { onMessage: (m) => results.push(m), onClose: (err) => (clientClosed = err) });
  await withinMs(client.ready, 10_000, 'the handshake');
  const sent: Buffer[] = [];
  for (let round = 0; round < 3; round++) {
    for (const size of SIZES) {
      const data = payload(size, sent.length);
      sent.push(data);
      client.send({ type: 'call', id: sent.length, obj: 'echo', method: 'echo', args: [data], handles: false });
    }
    // Sent in one burst, then in separate turns of the event loop.
    await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => results.length === sent.length, `${sent.length} echoes (got ${results.length})`, 30_000);
  assert.is(s.received.length, sent.length);
  s.received.forEach((m, i) => {
    assert.is(m.type, 'call');
    const arg = (m as Extract<LinkMessage, { type: 'call' }>).args[0] as Buffer;
    assert.ok(arg.equals(sent[i]!), `call ${i + 1} (${sent[i]!.length} bytes) arrived intact`);
  });
  results.forEach((m, i) => {
    assert.is(m.type, 'result');
    assert.is((m as Extract<LinkMessage, { type: 'result' }>).id, i + 1);
    assert.ok(((m as Extract<LinkMessage, { type: 'result' }>).value as Buffer).equals(sent[i]!), `echo ${i + 1} intact`);
  });
  assert.is(await connections(s.server), 1, 'the server counts the accepted connection');
  client.close();
  await waitFor(() => s.closed.length === 1, 'the accepted link to see the close');
  assert.is(s.closed[0], null, 'an orderly close');
  await waitFor(async () => (await connections(s.server)) === 0, 'the server to count no connection');
  await withinMs(new Promise<void>((r) => s.server.close(() => r())), 10_000, 'server.close() to complete');
  assert.is(clientClosed, null);
});

test('large frames sharing reads with the frames around them arrive whole and in order, both ways', async () => {
  // A queue's traffic: 256 KiB put batches and ~1 MiB take replies back to back with small
  // calls, so that one read ends a large frame and begins the next ones, and a large frame's
  // head arrives in a read with other frames (its bytes go straight into its own buffer).
  const s = server();
  await new Promise<void>((r) => s.server.once('listening', () => r()));
  const results: LinkMessage[] = [];
  const client = connect(s.path, KEY, { onMessage: (m) => results.push(m), onClose: () => {} });
  await withinMs(client.ready, 10_000, 'the handshake');
  let seed = 12345;
  const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
  const sent: Buffer[] = [];
  for (let round = 0; round < 40; round++) {
    const burst = 1 + random(6);
    for (let k = 0; k < burst; k++) {
      const kind = random(4);
      const size = kind === 0 ? 256 * 1024 + random(4096) : kind === 1 ? 65_536 + random(200_000) : kind === 2 ? random(2000) : (1 << 20) + random(1000);
      const data = payload(size, sent.length);
      sent.push(data);
      client.send({ type: 'call', id: sent.length, obj: 'echo', method: 'echo', args: [data], handles: false });
    }
    await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => results.length === sent.length, `${sent.length} echoes (got ${results.length})`, 60_000);
  s.received.forEach((m, i) => {
    const arg = (m as Extract<LinkMessage, { type: 'call' }>).args[0] as Buffer;
    assert.ok(arg.equals(sent[i]!), `call ${i + 1} (${sent[i]!.length} bytes) arrived intact`);
  });
  results.forEach((m, i) => {
    assert.is((m as Extract<LinkMessage, { type: 'result' }>).id, i + 1);
    assert.ok(((m as Extract<LinkMessage, { type: 'result' }>).value as Buffer).equals(sent[i]!), `echo ${i + 1} intact`);
  });
  client.close();
  await waitFor(() => s.closed.length === 1, 'the accepted link to see the close');
  await withinMs(new Promise<void>((r) => s.server.close(() => r())), 10_000, 'server.close() to complete');
});

test('server.close() waits for an accepted connection until the accepting side closes it', async () => {
  const s = server();
  await new Promise<void>((r) => s.server.once('listening', () => r()));
  const client = connect(s.path, KEY, { onMessage: () => {}, onClose: () => {} });
  await withinMs(client.ready, 10_000, 'the handshake');
  let serverClosed = false;
  s.server.close(() => (serverClosed = true));
  // The connection is still open: close() has not completed after a few turns.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.is(serverClosed, false, 'server.close() waits for the open connection');
  s.links[0]!.close();
  await waitFor(() => serverClosed, 'server.close() to complete once the accepted link closed');
  await waitFor(() => client.closed, 'the client link to close');
});

test('cleanup', () => {
  rmSync(dir, { recursive: true, force: true });
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
