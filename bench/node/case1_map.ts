// Case 1: pool.map(square, 1,000,000 ints) with default chunking (items/s).
// Twin of bench/python/case1_map.py: the pool is started and warmed up (every worker has run
// a task) and the input array built before timing; the map call alone is timed. The CPU
// time this process spent in that window (process.cpuUsage, user + system) is in `extra`:
// near the window's length, the parent's own work bounds the map; well below, the workers.
// `parent_fresh_mb` is the memory the parent touched for the first time in the window (minor
// page faults x 4 KiB): on a VM a first touch is costly (~2 ms per MB measured here), so
// memory the map allocates afresh, rather than reuses, is what it pays for most.
// `second_seconds`: the same map once more, right after, in the same process (not the value):
// what the first map costs beyond it is code of the parent and the workers running cold, and
// garbage collection: `gc_ms` / `second_gc_ms` sum the parent's GC pauses in each window (a
// PerformanceObserver of 'gc' entries; a fresh heap is collected as V8 raises its limits).

import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { Pool, cpuCount, tasks } from '../../src/index.ts';
import { closePool, emit, intFlag, parseArgs, size } from './common.ts';

const work = tasks<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));

const args = parseArgs();
const n = size(args, 1_000_000, 200_000);
const processes = intFlag(args, 'processes', cpuCount());
const xs = Array.from({ length: n }, (_, i) => i);
await using pool = new Pool(processes);
await pool.map(work.square, Array.from({ length: processes * 4 }, (_, i) => i), { chunksize: 1 }); // warm-up
const gcs: PerformanceEntry[] = [];
const gcObserver = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
gcObserver.observe({ entryTypes: ['gc'] });
/** The parent's GC pauses that started in [from, to), in ms. */
const gcMs = (from: number, to: number) => gcs.filter((e) => e.startTime >= from && e.startTime < to).reduce((sum, e) => sum + e.duration, 0);
const f0 = process.resourceUsage().minorPageFault;
const c0 = process.cpuUsage();
const t0 = performance.now();
const out = await pool.map(work.square, xs);
const seconds = (performance.now() - t0) / 1000;
const c1 = process.cpuUsage(c0);
const faults = process.resourceUsage().minorPageFault - f0;
const t1 = performance.now();
const again = await pool.map(work.square, xs);
const t2 = performance.now();
const secondSeconds = (t2 - t1) / 1000;
await new Promise((resolve) => setImmediate(resolve)); // the observer is called asynchronously
gcObserver.disconnect();
await closePool(pool);
if (out.length !== n || out[n - 1] !== (n - 1) * (n - 1)) throw new Error('case 1: wrong results');
if (again.length !== n || again[n - 1] !== (n - 1) * (n - 1)) throw new Error('case 1: wrong results (second map)');
emit('map', n / seconds, 'items/s', 'higher', { params: { n, processes, chunksize: 'default' }, extra: { seconds, parent_cpu_s: (c1.user + c1.system) / 1e6, parent_fresh_mb: (faults * 4) / 1024, second_seconds: secondSeconds, gc_ms: gcMs(t0, t0 + seconds * 1000), second_gc_ms: gcMs(t1, t2) } });
