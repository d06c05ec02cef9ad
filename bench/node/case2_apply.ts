// Case 2: sequential pool.apply(noop) round trip after warm-up (median µs per call).
// Twin of bench/python/case2_apply.py: 200 untimed calls, then 2000 timed one after another
// (the next starts when the previous result is back); mean, p10, p90 and min in `extra`.

import { Pool, cpuCount, tasks } from '../../src/index.ts';
import { closePool, emit, intFlag, median, parseArgs, size } from './common.ts';

const work = tasks<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));

const args = parseArgs();
const calls = size(args, 2000, 500);
const warmup = intFlag(args, 'warmup', 200);
const processes = intFlag(args, 'processes', cpuCount());
await using pool = new Pool(processes);
for (let i = 0; i < warmup; i++) await pool.apply(work.noop);
const samples: number[] = [];
for (let i = 0; i < calls; i++) {
  const t0 = performance.now();
  await pool.apply(work.noop);
  samples.push((performance.now() - t0) * 1000);
}
await closePool(pool);
const us = samples.sort((a, b) => a - b);
emit('apply', median(us), 'us/call', 'lower', {
  params: { calls, warmup, processes },
  extra: { mean: us.reduce((a, b) => a + b, 0) / us.length, min: us[0], p10: us[Math.floor(us.length / 10)], p90: us[Math.floor((us.length * 9) / 10)] },
});
