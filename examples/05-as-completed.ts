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
// Watch for: the progress line counts up [1/12], [2/12]… while the job numbers come out of
// order (shorter jobs finish first); every fourth job fails and is reported without stopping
// the others; the wall time is far below the sum of the job times once the work outweighs
// the start-up of the workers (at the small size it does not).
//
// Run:   npx tsx examples/05-as-completed.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/05-as-completed.ts   (a quick run)
//
// Task style: BY SOURCE. `job` is self-contained (parameters, globals, setTimeout), so no
// module reference is needed and this file needs no isMainProcess() guard.

// In your project: import { ProcessPoolExecutor, RemoteError, asCompleted, type Future } from 'multiproc';
import { ProcessPoolExecutor, RemoteError, asCompleted, currentProcess, type Future } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const JOBS = SMALL ? 8 : 16;
const SCALE = SMALL ? 0.3 : 1;

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

const maxWorkers = 4;
// Job n sleeps between 100 and 700 ms (scaled), in a scrambled order.
const plan = Array.from({ length: JOBS }, (_, n) => [n, Math.round((100 + ((n * 5) % 7) * 100) * SCALE)] as const);
console.log(`main pid ${currentProcess().pid}: ${JOBS} jobs on ${maxWorkers} workers`);

const t0 = performance.now();
let ok = 0;
let failed = 0;
let startupMs = 0;
{
  await using executor = new ProcessPoolExecutor({ maxWorkers });
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
      // The first successful job started about r.ms ago: roughly, the time before was start-up.
      if (ok === 0) startupMs = performance.now() - t0 - r.ms;
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
}
const wallMs = performance.now() - t0;
const sumMs = plan.reduce((sum, [, ms]) => sum + ms, 0);
console.log(`${ok} ok, ${failed} failed of ${JOBS} jobs`);
const afterStartup = startupMs > 0 ? `, ${(sumMs / (wallMs - startupMs)).toFixed(2)}x once the workers were up (start-up took ~${startupMs.toFixed(0)} ms)` : '';
console.log(`wall ${wallMs.toFixed(0)} ms for ${sumMs} ms of job time: speedup ${(sumMs / wallMs).toFixed(2)}x with ${maxWorkers} workers${afterStartup}`);
