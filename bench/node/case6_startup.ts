// Case 6: pool start to first result, then shutdown (ms).
// Twin of bench/python/case6_startup.py: t0; new Pool(w); await pool.apply(noop) ->
// first_result_ms; pool.close(); await pool.join() -> shutdown_ms; value = total ms.
// Repeated --reps times in this process (a fresh pool each time, default 3, --quick 1); the
// median is reported. Workers are forked Node processes (child_process.fork, a fresh V8
// with the tsx loader, importing the child entry and then tasks.ts), the counterpart of
// Python's spawn start method: no memory is inherited from the parent.

import { Pool, cpuCount, tasks } from '../../src/index.ts';
import { emit, intFlag, median, parseArgs } from './common.ts';

const work = tasks<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));

const args = parseArgs();
const workersArg = args.flags.workers ?? '2';
const workers = workersArg === 'cpu' ? cpuCount() : intFlag(args, 'workers', 2);
const reps = intFlag(args, 'reps', args.quick ? 1 : 3);
const totals: number[] = [];
const firsts: number[] = [];
const shutdowns: number[] = [];
for (let i = 0; i < reps; i++) {
  const t0 = performance.now();
  const pool = new Pool(workers);
  await pool.apply(work.noop);
  const t1 = performance.now();
  pool.close();
  await pool.join();
  const t2 = performance.now();
  totals.push(t2 - t0);
  firsts.push(t1 - t0);
  shutdowns.push(t2 - t1);
}
emit('startup', median(totals), 'ms', 'lower', {
  variant: `fork-${workersArg}`,
  params: { method: 'child_process.fork', workers, reps },
  extra: { first_result_ms: median(firsts), shutdown_ms: median(shutdowns), samples_ms: totals },
});
