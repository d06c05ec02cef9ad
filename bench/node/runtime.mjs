// Cases 6 and 8: what the runtime costs. Twins of bench/python/case6_startup.py and
// case8_memory.py. Plain JavaScript, so that it runs either build of multiproc, named by
// --lib:
//   the compiled package under plain node (what a user of the published package runs; the
//   counted rows: bench/run.ts builds src/ as `npm run build` does, src/build/build.mjs, into
//   a temporary directory and passes its esm/index.js), or
//   src/index.ts under tsx (the information rows: the parent carries the tsx loader; its
//   children start from the fresh compiled build in dist/, as every run from the sources
//   does, src/process/spawn.ts, and load tsx only to import a TypeScript module).
//
//   node bench/node/runtime.mjs --lib file:///tmp/…/esm/index.js --case startup --workers 2|cpu [--reps 3]
//   node --import tsx bench/node/runtime.mjs --lib file:///…/src/index.ts --case memory --variant steady|stalled
//        [--n N] [--chunksize 100|adaptive] [--processes P] [--stall-ms 2000] [--quick]
//
// startup  t0; new Pool(w); await pool.apply(noop) -> first_result_ms; close(); join() ->
//          shutdown_ms; value = total ms, the median of --reps pools (3, --quick 1) in this
//          process. Workers are forked Node processes, the counterpart of Python's spawn
//          start method: nothing is inherited from the parent.
// memory   pool.imap(ident) over a generator of 2,000,000 items (200,000 --quick), chunksize
//          100 as in Python; value = the parent's peak RSS in MiB (ru_maxrss, read after the
//          run, baseline included and given in `extra`). `stalled`: the consumer takes the
//          first result, then waits --stall-ms before draining the rest; the wait is an
//          `await` (the event loop keeps running, so results could keep arriving and pile
//          up, as in Python; a blocking sleep would stop this process's IPC reads and prove
//          nothing). multiproc's imap keeps a bounded number of batches outstanding.
//          `extra.samples`: the resident set (process.memoryUsage().rss), live heap
//          (heapUsed) and the sizes of V8's new and old spaces each time another sixteenth of
//          the items has been consumed, so that bench/run.ts can check the RSS stays flat
//          against items consumed and say which part grew.

import { getHeapSpaceStatistics } from 'node:v8';

const args = {};
let quick = false;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--quick') quick = true;
  else if (a.startsWith('--')) args[a.slice(2)] = process.argv[++i];
}
if (!args.lib) {
  process.stderr.write('runtime.mjs: --lib <url of the compiled index.js or of src/index.ts> is required\n');
  process.exit(2);
}
const { Pool, cpuCount, tasks } = await import(args.lib);
const work = tasks(new URL('./runtime-tasks.mjs', import.meta.url));
/** Which build runs: names the variant and the method in the output line. */
const build = args.lib.endsWith('.ts') ? 'tsx' : 'plain';
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const emit = (line) => process.stdout.write(`${JSON.stringify({ ...line, node: process.version, cores: cpuCount(), pid: process.pid })}\n`);

if (args.case === 'startup') {
  const workers = args.workers === 'cpu' ? cpuCount() : Number(args.workers ?? 2);
  const reps = Number(args.reps ?? (quick ? 1 : 3));
  const totals = [], firsts = [], shutdowns = [];
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
  emit({
    case: 'startup', variant: `${build}-${args.workers ?? 2}`, value: median(totals), unit: 'ms', better: 'lower',
    params: { method: `child_process.fork, ${build === 'tsx' ? 'tsx' : 'plain node'}`, workers, reps },
    extra: { first_result_ms: median(firsts), shutdown_ms: median(shutdowns), samples_ms: totals },
  });
} else if (args.case === 'memory') {
  const variant = args.variant ?? 'steady';
  const n = Number(args.n ?? (quick ? 200_000 : 2_000_000));
  const chunksize = args.chunksize === 'adaptive' ? undefined : Number(args.chunksize ?? 100);
  const processes = args.processes === undefined ? cpuCount() : Number(args.processes);
  const stallMs = Number(args['stall-ms'] ?? 2000);
  const peak = () => process.resourceUsage().maxRSS / 1024;
  function* generate() {
    for (let i = 0; i < n; i++) yield i;
  }
  const baseline = peak();
  const MIB = 1024 * 1024;
  const samples = [];
  const every = Math.max(1, Math.floor(n / 16));
  const t0 = performance.now();
  const pool = new Pool(processes);
  let expected = 0;
  for await (const x of pool.imap(work.ident, generate(), { chunksize })) {
    if (x !== expected) throw new Error(`case 8: got ${x}, expected ${expected}`);
    expected++;
    if (expected === 1 && variant === 'stalled') await new Promise((r) => setTimeout(r, stallMs));
    if (expected % every === 0) {
      const m = process.memoryUsage();
      // V8's young and old generations as reserved (space_size): what of the RSS V8 holds.
      const spaces = Object.fromEntries(getHeapSpaceStatistics().map((sp) => [sp.space_name, sp.space_size / MIB]));
      samples.push({ items: expected, rss_mb: m.rss / MIB, heap_mb: m.heapUsed / MIB, new_space_mb: spaces.new_space, old_space_mb: spaces.old_space });
    }
  }
  pool.close();
  await pool.join();
  const seconds = (performance.now() - t0) / 1000;
  if (expected !== n) throw new Error(`case 8: got ${expected} results, expected ${n}`);
  emit({
    case: 'memory', variant: `${build}-${variant}`, value: peak(), unit: 'MB', better: 'lower',
    params: { n, chunksize: chunksize ?? 'adaptive', processes, stall_ms: variant === 'stalled' ? stallMs : 0 },
    extra: { baseline_mb: baseline, seconds, items_per_s: n / seconds, samples },
  });
} else {
  process.stderr.write('runtime.mjs: --case must be startup or memory\n');
  process.exit(2);
}
