// Task functions of case 9 (bench/node/processes.mjs) and case 10 (worker-cost.mjs), as
// plain JavaScript so that workers of the compiled build load them without a TypeScript
// loader. Twins of the module-level functions of bench/python/case9_processes.py.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The work unit of cases 3 and 9, identical in both languages (bench/python/README.md). */
export function work(k) {
  let s = 0;
  for (let i = 0; i < k; i++) s += (i * i) % 7;
  return s;
}

let runs = 0;

/**
 * Case 9's job: work(k) timed where it runs, with who ran it and how many of these that
 * process had run before: `[result, ms, pid, nth]` (as tasks.ts timedWork for case 3). Shows
 * what a worker's first task of the job costs against its others.
 */
export function timedWork(k) {
  const t0 = performance.now();
  const s = work(k);
  return [s, performance.now() - t0, process.pid, runs++];
}

/** Which process ran the task (case 9's tiny tasks, case 10's first result). */
export function pid() {
  return process.pid;
}

const nap = new Int32Array(new SharedArrayBuffer(4));

/**
 * A rendezvous of `n` workers: run work(warmK) (so each worker has compiled the loop), leave
 * a file named by this pid in `dir`, then wait until `n` files are there (or `timeoutMs`
 * passed) and return this pid. A worker blocked here takes no other task, so `n` of these
 * with chunksize 1 on a pool of `n` land on `n` different workers: when the map returns,
 * every worker has started, loaded this module and run a task. It polls every 20 ms (as the
 * Python twin): with 2 ms, 64-128 blocked workers listing the directory took the CPU from
 * those still starting (64 workers: ready after 13.4 s instead of 5.3 s here).
 */
export function arrive(dir, n, timeoutMs, warmK) {
  work(warmK);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, String(process.pid)), '');
  const deadline = Date.now() + timeoutMs;
  while (readdirSync(dir).length < n && Date.now() < deadline) Atomics.wait(nap, 0, 0, 20);
  return process.pid;
}
