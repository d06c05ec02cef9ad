// Case 7: large payloads, pool.map(byteLength, 64 Buffers of 4 MiB) (MB/s, MB = 10^6 bytes).
// Twin of bench/python/case7_payload.py: the payloads are built and the pool warmed up before
// timing; the map call alone is timed with default chunking (ceil(64 / (4 * workers)) items
// per task, as Python's rule; the engine also caps a message near 4 MiB of binary payload,
// engine.ts MAX_BATCH_BYTES, so here each Buffer travels in a message of its own). Every
// byte crosses to a worker once, as raw bytes on the worker's byte channel beside its IPC
// channel (src/process/byte-channel.ts: the parent writes the Buffer itself, the worker
// reads it into a Buffer of its own), and only the length comes back. The CPU time this
// process spent in the window is in `extra` (parent_cpu_s).

import { Pool, cpuCount, tasks } from '../../src/index.ts';
import { closePool, emit, intFlag, parseArgs, size } from './common.ts';

const work = tasks<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));
const MIB = 1 << 20;

const args = parseArgs();
const n = size(args, 64, 16);
const processes = intFlag(args, 'processes', cpuCount());
const bytesEach = intFlag(args, 'size-mib', 4) * MIB;
const payloads = Array.from({ length: n }, (_, i) => Buffer.alloc(bytesEach, i % 256));
await using pool = new Pool(processes);
await pool.map(work.byteLength, Array.from({ length: processes * 2 }, () => Buffer.from('x')), { chunksize: 1 }); // warm-up
const c0 = process.cpuUsage();
const t0 = performance.now();
const lengths = await pool.map(work.byteLength, payloads);
const seconds = (performance.now() - t0) / 1000;
const c1 = process.cpuUsage(c0);
await closePool(pool);
if (lengths.length !== n || lengths.some((l) => l !== bytesEach)) throw new Error('case 7: wrong lengths');
const total = n * bytesEach;
emit('payload', total / 1e6 / seconds, 'MB/s', 'higher', {
  params: { n, bytes_each: bytesEach, processes, chunksize: 'default' },
  extra: { seconds, total_bytes: total, parent_cpu_s: (c1.user + c1.system) / 1e6 },
});
