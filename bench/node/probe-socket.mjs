// Case 5's floor: a bare request/reply between two Node processes over a unix socket, no
// library, no framing. This process listens on a socket in the temporary directory and
// spawns itself with --role echo, which connects and writes back every chunk it reads.
// 8-byte requests, each sent when the previous reply is complete: --warmup untimed, then
// --calls timed; value = median µs per round trip. Twin of bench/python/probe_socket.py.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emit, intFlag, mean, median, parseFlags } from './mjs-common.mjs';

const { flags, quick } = parseFlags();

if (flags.role === 'echo') {
  const socket = createConnection(flags.path);
  socket.setNoDelay?.(true);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => process.exit(1));
} else {
  const calls = intFlag(flags, 'calls', quick ? 500 : 2000);
  const warmup = intFlag(flags, 'warmup', 200);
  const dir = mkdtempSync(join(tmpdir(), 'multiproc-bench-sock-'));
  const path = join(dir, 's');
  try {
    const server = createServer();
    await new Promise((resolve) => server.listen(path, resolve));
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--role', 'echo', '--path', path], { stdio: 'inherit' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const socket = await new Promise((resolve) => server.once('connection', resolve));
    const request = Buffer.alloc(8, 1);
    let got = 0;
    let done = null;
    socket.on('data', (chunk) => {
      got += chunk.length;
      if (got >= request.length) {
        got = 0;
        done();
      }
    });
    const roundTrip = () =>
      new Promise((resolve) => {
        done = resolve;
        socket.write(request);
      });
    for (let i = 0; i < warmup; i++) await roundTrip();
    const us = [];
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await roundTrip();
      us.push((performance.now() - t0) * 1000);
    }
    socket.destroy();
    server.close();
    await exited;
    us.sort((a, b) => a - b);
    emit({
      case: 'probe-socket', value: median(us), unit: 'us/call', better: 'lower', params: { calls, warmup, transport: 'unix socket, 8-byte request and reply' },
      extra: { mean: mean(us), p10: us[Math.floor(us.length / 10)], p90: us[Math.floor((us.length * 9) / 10)] },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
