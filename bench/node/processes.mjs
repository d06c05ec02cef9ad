// Case 9: what N workers cost and give. Twin of bench/python/case9_processes.py. Plain
// JavaScript, so that it runs either build of multiproc, named by --lib (as runtime.mjs):
// the compiled package under plain node (the counted rows) or src/index.ts under tsx (the
// information rows).
//
//   node bench/node/processes.mjs --lib URL --case calibrate [--task-ms 10]
//   node bench/node/processes.mjs --lib URL --case scaling --workers N --k K [--tasks 128]
//   node bench/node/processes.mjs --lib URL --case tiny [--impl multiproc|bare] [--workers 64] [--tasks 256]
//
// calibrate  k such that work(k) takes --task-ms here (value = k); bench/run.ts runs it once
//            per language and passes the same k to every scaling run, so that the job is
//            the same work at every pool size.
// scaling    t0; new Pool(N); a rendezvous of N tasks (processes-tasks.mjs `arrive`, one per
//            worker, chunksize 1) -> ready_ms: every worker has started, loaded the task
//            module and run a task. VmRSS of every worker and of this process (sampled
//            "ready"). Then the job, timed: map(timedWork, [k] * tasks, chunksize 1) -> value =
//            seconds; each task is also timed where it ran (first_task_ms: the median over
//            workers of each one's first task of the job, other_task_ms: the median of the
//            rest), which shows what a worker's first run of the loop costs (its JIT).
//            VmRSS sampled again ("after"), then close() + join() -> shutdown_ms.
//            Speedup is computed by bench/run.ts against the 1-worker run of the same build.
// tiny       t0; new Pool(64); map(pid, 256 items, chunksize 1) -> value = ms until the 256
//            results are in (whichever workers are up serve them; `distinct_workers` says how
//            many did); close() + join() -> shutdown_ms. --impl bare: the same with no
//            library, the floor: fork bare-child.cjs 64 times (advanced serialization, env
//            inherited) and send 256 messages round-robin, until the 256 replies are in.

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emit, fail, intFlag, median, parseFlags, procStatus, sampleProcesses } from './mjs-common.mjs';
import { work as workHere } from './processes-tasks.mjs';

const { flags } = parseFlags();
if (!flags.lib) fail('processes.mjs: --lib <url of the compiled index.js or of src/index.ts> is required');
const { Pool, tasks } = await import(flags.lib);
const work = tasks(new URL('./processes-tasks.mjs', import.meta.url));
const build = flags.lib.endsWith('.ts') ? 'tsx' : 'plain';
const selfRss = () => procStatus(process.pid).rssMb;

if (flags.case === 'calibrate') {
  const taskMs = intFlag(flags, 'task-ms', 10);
  let k = 100_000;
  workHere(k); // warm-up: optimised code from here on
  for (;;) {
    const t0 = performance.now();
    workHere(k);
    const ms = performance.now() - t0;
    if (ms >= 40) {
      // The fastest of five timings: one preempted timing (a busy machine at the start of
      // the run) would make every task of the scaling table several times too short.
      let best = ms;
      for (let i = 0; i < 4; i++) {
        const t1 = performance.now();
        workHere(k);
        best = Math.min(best, performance.now() - t1);
      }
      k = Math.max(1000, Math.round((k * taskMs) / best / 1000) * 1000);
      break;
    }
    k *= 2;
  }
  emit({ case: 'calibrate', value: k, unit: 'k', better: 'higher', params: { task_ms: taskMs } });
} else if (flags.case === 'scaling') {
  const workers = intFlag(flags, 'workers', 1);
  const taskCount = intFlag(flags, 'tasks', 128);
  const k = intFlag(flags, 'k', 0);
  const expected = workHere(k);
  const dir = mkdtempSync(join(tmpdir(), 'multiproc-bench-arrive-'));
  try {
    const parentBefore = selfRss();
    const t0 = performance.now();
    const pool = new Pool(workers);
    const arrivals = await pool.starmap(work.arrive, Array.from({ length: workers }, () => [dir, workers, 120_000, 1000]), { chunksize: 1 });
    const readyMs = performance.now() - t0;
    const pids = [...new Set(arrivals)];
    const ready = sampleProcesses(pids);
    const parentReady = selfRss();
    const t1 = performance.now();
    const timed = await pool.map(work.timedWork, new Array(taskCount).fill(k), { chunksize: 1 });
    const seconds = (performance.now() - t1) / 1000;
    const after = sampleProcesses(pids);
    const parentAfter = selfRss();
    const t2 = performance.now();
    pool.close();
    await pool.join();
    const shutdownMs = performance.now() - t2;
    if (timed.length !== taskCount || timed.some((r) => r[0] !== expected)) throw new Error('case 9: wrong results');
    const tasksMs = firstAndOthers(timed);
    emit({
      case: 'processes', variant: `${build}-${workers}`, value: seconds, unit: 's', better: 'lower',
      params: { workers, tasks: taskCount, k, chunksize: 1, build },
      extra: {
        ready_ms: readyMs, shutdown_ms: shutdownMs, distinct_workers: pids.length, alive_ready: ready.count, alive_after: after.count,
        worker_rss_ready_mb: ready.rss_mb, worker_rss_after_mb: after.rss_mb, worker_pss_after_mb: after.pss_mb, worker_threads: after.threads,
        parent_rss_before_mb: parentBefore, parent_rss_ready_mb: parentReady, parent_rss_after_mb: parentAfter,
        first_task_ms: tasksMs.first, other_task_ms: tasksMs.others,
      },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else if (flags.case === 'tiny') {
  const workers = intFlag(flags, 'workers', 64);
  const taskCount = intFlag(flags, 'tasks', 256);
  const impl = flags.impl ?? 'multiproc';
  let ms, shutdownMs, distinct;
  if (impl === 'multiproc') {
    const t0 = performance.now();
    const pool = new Pool(workers);
    const out = await pool.map(work.pid, new Array(taskCount).fill(0), { chunksize: 1 });
    ms = performance.now() - t0;
    distinct = new Set(out).size;
    const t1 = performance.now();
    pool.close();
    await pool.join();
    shutdownMs = performance.now() - t1;
  } else if (impl === 'bare') {
    const script = fileURLToPath(new URL('./bare-child.cjs', import.meta.url));
    const t0 = performance.now();
    const children = Array.from({ length: workers }, () => fork(script, [], { serialization: 'advanced', execArgv: [] }));
    const served = new Set();
    await new Promise((resolve, reject) => {
      let left = taskCount;
      for (const child of children) {
        child.on('error', reject);
        child.on('message', (m) => {
          served.add(m.by);
          if (--left === 0) resolve();
        });
      }
      for (let i = 0; i < taskCount; i++) children[i % workers].send({ i });
    });
    ms = performance.now() - t0;
    distinct = served.size;
    const t1 = performance.now();
    await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve() : (c.once('exit', resolve), c.disconnect())))));
    shutdownMs = performance.now() - t1;
  } else fail('--impl must be multiproc or bare');
  emit({
    case: 'tiny', variant: impl === 'bare' ? 'bare' : `${build}-${workers}`, value: ms, unit: 'ms', better: 'lower',
    params: { workers, tasks: taskCount, chunksize: 1, impl, build },
    extra: { shutdown_ms: shutdownMs, distinct_workers: distinct },
  });
} else {
  fail('processes.mjs: --case must be calibrate, scaling or tiny');
}

/**
 * Of `[result, ms, pid, nth]` results (timedWork): the median over workers of each one's first
 * task of the job, and the median of all the other tasks (null when every worker ran one).
 */
function firstAndOthers(timed) {
  const firstNth = new Map();
  for (const [, , pid, nth] of timed) firstNth.set(pid, Math.min(nth, firstNth.get(pid) ?? Infinity));
  const firsts = timed.filter(([, , pid, nth]) => firstNth.get(pid) === nth).map((r) => r[1]);
  const others = timed.filter(([, , pid, nth]) => firstNth.get(pid) !== nth).map((r) => r[1]);
  return { first: median(firsts), others: others.length ? median(others) : null };
}
