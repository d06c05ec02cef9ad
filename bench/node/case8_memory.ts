// Case 8: memory of pool.imap over a generator of 2,000,000 items (identity task): the
// parent's peak RSS in MiB (getrusage ru_maxrss via process.resourceUsage(), read after the
// run, baseline included and given in `extra`). Twin of bench/python/case8_memory.py, same
// chunksize (100) unless --chunksize is given ("adaptive" = multiproc's default).
//
// Variants:
//   steady   the consumer takes results as fast as they come.
//   stalled  the consumer takes the first result, then waits --stall-ms (2 s) before
//            draining the rest. The wait is `await sleep()`: the event loop keeps running,
//            so results could keep arriving and pile up, as in Python (a blocking sleep
//            would stall this process's IPC reads and prove nothing). multiproc's imap keeps
//            a bounded number of batches outstanding, so they do not.

import { Pool, cpuCount, tasks } from '../../src/index.ts';
import { choice, closePool, emit, intFlag, parseArgs, peakRssMb, size, sleep } from './common.ts';

const work = tasks<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));

function* generate(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

const args = parseArgs();
const variant = choice(args, 'variant', ['steady', 'stalled'] as const);
const n = size(args, 2_000_000, 200_000);
const processes = intFlag(args, 'processes', cpuCount());
const adaptive = args.flags.chunksize === 'adaptive';
const chunksize = adaptive ? undefined : intFlag(args, 'chunksize', 100);
const stallMs = intFlag(args, 'stall-ms', 2000);
const baseline = peakRssMb();
const t0 = performance.now();
let expected = 0;
{
  await using pool = new Pool(processes);
  for await (const x of pool.imap(work.ident, generate(n), { chunksize })) {
    if (x !== expected) throw new Error(`case 8: got ${x}, expected ${expected}`);
    expected++;
    if (expected === 1 && variant === 'stalled') await sleep(stallMs);
  }
  await closePool(pool);
}
const seconds = (performance.now() - t0) / 1000;
if (expected !== n) throw new Error(`case 8: got ${expected} results, expected ${n}`);
emit('memory', peakRssMb(), 'MB', 'lower', {
  variant,
  params: { n, chunksize: chunksize ?? 'adaptive', processes, stall_ms: variant === 'stalled' ? stallMs : 0 },
  extra: { baseline_mb: baseline, seconds, items_per_s: n / seconds },
});
