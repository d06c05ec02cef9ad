// Case 3: CPU-bound scaling, 32 tasks of ~25 ms pure CPU, serial vs Pool(cpuCount()).
// Twin of bench/python/case3_cpu.py with the same work unit (tasks.ts `work`). Node runs
// the loop far faster than CPython, so k is calibrated here (unless --k is given) to make
// one task take about 25 ms on this machine; k is printed in params. Serial time is measured
// half before and half after the pool run; the pool is warmed up before timing (with tasks
// of the same k, as the serial side is by calibrate(); CPython has no JIT to warm; then with a
// map of the timed one's shape, so that the parent's code for it is compiled too) and runs
// map(timedWork, [k] * 32, { chunksize: 1 }). value = efficiency = speedup / processes.
// timedWork is work timed inside the worker: `extra` gives the mean time of each worker's
// first task of the timed map against the median of the others (both languages), and splits
// the efficiency in two exact factors: busy_share (the task time the workers measured, over
// pool wall time x processes: what dispatch, messages between tasks and the tail leave idle)
// times task_speed (a task's serial time over its mean time in the pool: how fast the
// machine ran the loop side by side against alone). efficiency = busy_share x task_speed.

import { Pool, cpuCount, tasks } from '../../src/index.ts';
import { work as workHere } from './tasks.ts';
import { closePool, emit, intFlag, median, parseArgs } from './common.ts';

const work = tasks<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));

const TARGET_MS = 25;

/**
 * k such that work(k) takes about TARGET_MS here (after the JIT has warmed up). From the
 * fastest of five timings, as case 9's calibration: one timing slowed by other load made
 * the tasks of a run 11 ms instead of 25 (k 707,000 and 890,000 in two runs, 1.4-2.3 M in
 * the others).
 */
function calibrate(): number {
  let k = 1_000_000;
  workHere(k); // warm-up: optimised code from here on
  for (;;) {
    const t0 = performance.now();
    workHere(k);
    let best = performance.now() - t0;
    if (best >= 50) {
      for (let i = 0; i < 4; i++) {
        const t1 = performance.now();
        workHere(k);
        best = Math.min(best, performance.now() - t1);
      }
      return Math.max(1000, Math.round((k * TARGET_MS) / best / 1000) * 1000);
    }
    k *= 2;
  }
}

const args = parseArgs();
const k = args.flags.k !== undefined ? intFlag(args, 'k', 0) : calibrate();
const taskCount = intFlag(args, 'tasks', args.quick ? 8 : 32);
const processes = intFlag(args, 'processes', cpuCount());
const expected = workHere(k);

function serialRun(count: number): [number, number[]] {
  const t0 = performance.now();
  const results: number[] = [];
  for (let i = 0; i < count; i++) results.push(workHere(k));
  return [(performance.now() - t0) / 1000, results];
}

const [firstS, serial] = serialRun(taskCount >> 1);
let poolS: number;
let timed: [number, number, number, number][];
{
  await using pool = new Pool(processes);
  // Warm-up at the real size: the serial side runs warm (calibrate() ran work(k) first), and
  // a worker's first work(k) runs partly before V8 has optimized the loop (see
  // first_task_ms against other_task_ms when the warm-up was work(1000)). Two tasks per
  // worker, so that every worker runs at least one whichever takes which.
  await pool.map(work.timedWork, new Array(processes * 2).fill(k), { chunksize: 1 });
  // And a map of the timed map's shape (taskCount numbers) with a trivial k: the parent's
  // code for it (a map of many numbers takes another path than one of a few) is compiled
  // here, not in the timed window (it moved the first task of each worker by 3-6 ms).
  await pool.map(work.timedWork, new Array(taskCount).fill(1000), { chunksize: 1 });
  const t0 = performance.now();
  timed = await pool.map(work.timedWork, new Array(taskCount).fill(k), { chunksize: 1 });
  poolS = (performance.now() - t0) / 1000;
  await closePool(pool);
}
const parallel = timed.map((r) => r[0]);
// Each worker's first task of the timed map is its lowest `nth` among these results.
const firstNth = new Map<number, number>();
for (const [, , pid, nth] of timed) firstNth.set(pid, Math.min(nth, firstNth.get(pid) ?? Infinity));
const firsts = timed.filter(([, , pid, nth]) => firstNth.get(pid) === nth).map((r) => r[1]);
const others = timed.filter(([, , pid, nth]) => firstNth.get(pid) !== nth).map((r) => r[1]);
const [secondS, rest] = serialRun(taskCount - (taskCount >> 1));
serial.push(...rest);
const serialS = firstS + secondS;
if (serial.length !== taskCount || parallel.length !== taskCount || [...serial, ...parallel].some((v) => v !== expected)) throw new Error('case 3: wrong results');
const speedup = serialS / poolS;
const parallelMs = timed.map((r) => r[1]);
const poolTaskMs = parallelMs.reduce((a, b) => a + b, 0) / parallelMs.length;
emit('cpu', speedup / processes, 'efficiency', 'higher', {
  params: { k, tasks: taskCount, processes, chunksize: 1 },
  extra: {
    serial_s: serialS,
    pool_s: poolS,
    speedup,
    task_ms: (serialS / taskCount) * 1000,
    result: expected,
    first_task_ms: firsts.reduce((a, b) => a + b, 0) / firsts.length,
    other_task_ms: others.length ? median(others) : null,
    workers_used: firstNth.size,
    pool_task_ms: poolTaskMs,
    busy_share: parallelMs.reduce((a, b) => a + b, 0) / (poolS * 1000 * processes),
    task_speed: (serialS / taskCount) * 1000 / poolTaskMs,
  },
});
