// 05 · submit + asCompleted: handle each job as soon as it finishes, failures included.
//
// Python idiom: concurrent.futures.as_completed with a future → input dict,
//
//     with ProcessPoolExecutor(max_workers=4) as ex:
//         futures = {ex.submit(job, n, ms): n for n, ms in plan}
//         for i, fut in enumerate(as_completed(futures), 1):
//             n = futures[fut]
//             try:
//                 print(f'[{i}/{len(futures)}] job {n} ok', fut.result())
//             except Exception as exc:
//                 print(f'[{i}/{len(futures)}] job {n} failed: {exc!r}')
//
// Here: `executor.submit(job, n, ms)` returns a Future; `for await (const f of asCompleted(futures))`
// yields each one as it settles; `await f.result()` gives the value or throws. An error thrown
// in a worker arrives as a RemoteError that keeps the original name (`remoteName`), message,
// own properties and the pid it happened in.
//
// Watch for: the progress line counts up [ 1/16], [ 2/16]… ([ 1/8]… at the small size) while
// the job numbers come out of order (shorter jobs finish first); every fourth job fails and is
// reported without stopping the others. The workers are started (and timed) before the clock,
// so the last line compares the sum of the job times with the wall time of the jobs alone, and
// with the best that 4 workers can do for this plan of jobs.
//
// Run:   npx tsx examples/05-as-completed.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/05-as-completed.ts   (a quick run)
//
// Task style: BY SOURCE. `job` is self-contained (parameters, globals, setTimeout), so no
// module reference is needed and this file needs no isMainProcess() guard.

import { loadavg } from 'node:os';
// In your project: import { ProcessPoolExecutor, RemoteError, asCompleted, collect, cpuCount, repeat, type Future } from 'multiproc';
import { ProcessPoolExecutor, RemoteError, asCompleted, collect, cpuCount, currentProcess, repeat, type Future } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const JOBS = SMALL ? 8 : 16;
const SCALE = SMALL ? 0.3 : 1;
/** How busy the machine was before this program started: other programs share the cores. */
const loadBefore = loadavg()[0]!;

/** What a job returns. */
interface JobResult {
  n: number;
  ms: number;
  pid: number;
}

/** Sleep `ms`, then succeed or throw. Runs in a worker, sent by source. */
async function job(n: number, ms: number): Promise<JobResult> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  if (n % 4 === 3) {
    // A custom error with an extra property: both survive the trip back to the parent.
    const err = new RangeError(`job ${n} got an input it cannot handle`);
    Object.assign(err, { jobId: n });
    throw err;
  }
  return { n, ms, pid: process.pid };
}

/**
 * Start-up, timed apart from the work: an executor starts its processes at once, but each is a
 * new Node process that is ready only some hundreds of ms later. Run short tasks until each of
 * the `n` workers has answered one; the time after this is the work alone. Returns the ms.
 */
async function startUp(executor: ProcessPoolExecutor, n: number): Promise<number> {
  const t0 = performance.now();
  const pause = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(process.pid), ms));
  const pids = new Set<number>();
  while (pids.size < n) for (const pid of await collect(executor.map(pause, repeat(20, n)))) pids.add(pid);
  return performance.now() - t0;
}

/**
 * The shortest wall time `workers` can achieve for `durations` run in this order, each job
 * going to the first worker that is free (what the executor does): the best possible figure.
 */
function bestWallMs(durations: readonly number[], workers: number): number {
  const freeAt = new Array<number>(workers).fill(0);
  for (const ms of durations) {
    const first = freeAt.indexOf(Math.min(...freeAt));
    freeAt[first] += ms;
  }
  return Math.max(...freeAt);
}

const maxWorkers = 4;
// Job n sleeps between 100 and 700 ms (scaled), in a scrambled order.
const plan = Array.from({ length: JOBS }, (_, n) => [n, Math.round((100 + ((n * 5) % 7) * 100) * SCALE)] as const);
console.log(`main pid ${currentProcess().pid}: ${JOBS} jobs on ${maxWorkers} workers, ${cpuCount()} cores`);

let ok = 0;
let failed = 0;
let wallMs: number;
{
  await using executor = new ProcessPoolExecutor({ maxWorkers });
  const startupMs = await startUp(executor, maxWorkers);
  console.log(`start-up: ${maxWorkers} workers ready in ${startupMs.toFixed(0)} ms (new processes), before the clock starts`);
  const t0 = performance.now();
  const futures = plan.map(([n, ms]) => executor.submit(job, n, ms));
  // Python's {future: input} dict.
  const inputOf = new Map(futures.map((f, i) => [f, plan[i]![0]]));

  let done = 0;
  for await (const future of asCompleted(futures)) {
    // asCompleted yields the submitted Futures themselves, as Python's as_completed does
    // (typed without `then`, so `for await` does not unwrap them into their results); the
    // cast finds one in the Map keyed by the submitted futures.
    const n = inputOf.get(future as Future<JobResult>);
    done++;
    const elapsed = (performance.now() - t0).toFixed(0).padStart(5);
    const counter = `[${String(done).padStart(2)}/${futures.length}] ${elapsed} ms`;
    try {
      const r = await future.result();
      ok++;
      console.log(`${counter}  job ${n} ok after ${r.ms} ms on pid ${r.pid}`);
    } catch (err) {
      failed++;
      if (err instanceof RemoteError) {
        console.log(`${counter}  job ${n} FAILED in pid ${err.pid}: ${err.remoteName}: ${err.message} (jobId=${err.properties.jobId})`);
      } else {
        throw err; // not the job's own failure (a lost worker, say): let it surface
      }
    }
  }
  wallMs = performance.now() - t0;
}
const durations = plan.map(([, ms]) => ms);
const sumMs = durations.reduce((sum, ms) => sum + ms, 0);
const bestMs = bestWallMs(durations, maxWorkers);
console.log(`${ok} ok, ${failed} failed of ${JOBS} jobs`);
console.log(`wall ${wallMs.toFixed(0)} ms for ${sumMs} ms of job time: speedup ${(sumMs / wallMs).toFixed(2)}x with ${maxWorkers} workers`);
console.log(
  `note: the best these ${JOBS} jobs allow on ${maxWorkers} workers is ${(sumMs / bestMs).toFixed(2)}x ` +
    `(${bestMs} ms${bestMs * maxWorkers > sumMs ? ': the jobs do not split evenly over the workers' : ''}). ` +
    `The jobs sleep, as if waiting on a disk or a network, so ${maxWorkers} workers overlap them even on ${cpuCount()} cores; ` +
    `the rest of the wall time is sending jobs and results and waking the workers${loadBefore >= cpuCount() ? ` on a busy machine (load average ${loadBefore.toFixed(1)})` : ''}.`,
);
