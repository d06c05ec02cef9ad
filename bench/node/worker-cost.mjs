// Case 10: what one multiproc worker costs beyond a bare `child_process.fork`, measured in
// one process, alternating: the compiled package under plain node (bench/run.ts passes
// --lib), the environment as this process got it (bench/run.ts runs it once with
// NODE_EXTRA_CA_CERTS as the machine sets it and once with the variable removed).
//
//   node bench/node/worker-cost.mjs --lib URL [--reps 8] [--settle-ms 250] [--quick]
//
// bare              t0; fork(bare-child.cjs, { serialization: 'advanced' }) (env
//                   inherited, no execArgv); send one message; its echo arrives -> start_ms
//                   (start -> first IPC round trip).
// multiproc         t0; new Pool(1); await pool.apply(() => process.pid) -> start_ms (start
//                   -> first result of a by-source task: what the library itself costs).
// bare_module       bare, but the message asks the child to import processes-tasks.mjs
//                   first (as a worker imports a task module): node's ES module loader and
//                   the module, in the reference too.
// multiproc_module  multiproc with the task pid of processes-tasks.mjs (by module).
// For each, the child's VmRSS and thread count from /proc/<pid>/status right then
// (`first`) and --settle-ms later (`settled`: what a started worker keeps while it waits
// for work, after whatever it starts in the background), and its Pss; then the child is
// let go (disconnect / close + join) before the next run. --reps of each, in rotating
// order; medians are reported, samples in `extra`. value = multiproc's start_ms.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { emit, fail, intFlag, median, parseFlags, procStatus, pssMb, sleep } from './mjs-common.mjs';

const { flags, quick } = parseFlags();
if (!flags.lib) fail('worker-cost.mjs: --lib <url of the compiled index.js> is required');
const { Pool, tasks } = await import(flags.lib);
const work = tasks(new URL('./processes-tasks.mjs', import.meta.url));
// 8 runs of each: a start is ~40 ms on this kind of machine and one slow fork moves a
// median of 4 by several ms (per-repetition ratios of 1.06-1.61x in one run with 4).
const reps = intFlag(flags, 'reps', quick ? 2 : 8);
const settleMs = intFlag(flags, 'settle-ms', 250);
const bareScript = fileURLToPath(new URL('./bare-child.cjs', import.meta.url));

/** Memory and threads of `pid` now and after the settle time. */
async function measure(pid) {
  const first = procStatus(pid);
  await sleep(settleMs);
  const settled = procStatus(pid);
  return { first_rss_mb: first.rssMb, rss_mb: settled.rssMb, threads: settled.threads, pss_mb: pssMb(pid) };
}

/** A bare fork's first round trip; with `module`, the child imports it before answering. */
async function bare(module) {
  const t0 = performance.now();
  const child = fork(bareScript, [], { serialization: 'advanced', execArgv: [] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', resolve);
    child.send(module ? { ping: 1, import: module } : { ping: 1 });
  });
  const startMs = performance.now() - t0;
  const m = await measure(child.pid);
  child.disconnect();
  await exited;
  return { start_ms: startMs, ...m };
}

/** Pool(1) start -> first result of `task`. */
async function multiproc(task) {
  const t0 = performance.now();
  const pool = new Pool(1);
  const pid = await pool.apply(task);
  const startMs = performance.now() - t0;
  const m = await measure(pid);
  pool.close();
  await pool.join();
  return { start_ms: startMs, ...m };
}

const moduleUrl = new URL('./processes-tasks.mjs', import.meta.url).href;
const variants = {
  bare: () => bare(null),
  multiproc: () => multiproc(() => process.pid),
  bare_module: () => bare(moduleUrl),
  multiproc_module: () => multiproc(work.pid),
};
const names = Object.keys(variants);
const runs = Object.fromEntries(names.map((who) => [who, []]));
for (let i = 0; i < reps; i++) {
  // Rotate who goes first, so none always runs right after the same other's exit.
  const order = names.map((_, k) => names[(i + k) % names.length]);
  for (const who of order) runs[who].push(await variants[who]());
}
const med = (who, key) => median(runs[who].map((r) => r[key]));
const extra = {};
for (const who of names) {
  for (const key of ['start_ms', 'rss_mb', 'first_rss_mb', 'pss_mb', 'threads']) extra[`${who}_${key}`] = med(who, key);
  extra[`${who}_samples`] = runs[who];
}
emit({
  case: 'worker', variant: process.env.NODE_EXTRA_CA_CERTS ? 'ca-set' : 'ca-unset', value: extra.multiproc_start_ms, unit: 'ms', better: 'lower',
  params: { reps, settle_ms: settleMs, node_extra_ca_certs: process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'unset' },
  extra,
});
