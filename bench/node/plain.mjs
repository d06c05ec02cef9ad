// Cases 6 and 8 again, for information, with multiproc compiled to JavaScript and run by
// plain `node` (no tsx): what a user of the published package runs. bench/run.ts compiles
// src/ to a temporary directory (tsc -p tsconfig.build.json --outDir …) and passes its
// index.js as --lib. Same measurements and output line as case6_startup.ts and
// case8_memory.ts; the case is chosen by --case startup|memory.
//
//   node bench/node/plain.mjs --lib file:///tmp/…/esm/index.js --case startup --workers 2
//   node bench/node/plain.mjs --lib … --case memory --variant stalled [--quick] [--n N]

const args = {};
let quick = false;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--quick') quick = true;
  else if (a.startsWith('--')) args[a.slice(2)] = process.argv[++i];
}
if (!args.lib) {
  process.stderr.write('plain.mjs: --lib <url of the compiled index.js> is required\n');
  process.exit(2);
}
const { Pool, cpuCount, tasks } = await import(args.lib);
const work = tasks(new URL('./plain-tasks.mjs', import.meta.url));
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
    case: 'startup', variant: `plain-${args.workers ?? 2}`, value: median(totals), unit: 'ms', better: 'lower',
    params: { method: 'child_process.fork, plain node', workers, reps },
    extra: { first_result_ms: median(firsts), shutdown_ms: median(shutdowns), samples_ms: totals },
  });
} else if (args.case === 'memory') {
  const variant = args.variant ?? 'steady';
  const n = Number(args.n ?? (quick ? 200_000 : 2_000_000));
  const chunksize = Number(args.chunksize ?? 100);
  const stallMs = Number(args['stall-ms'] ?? 2000);
  const peak = () => process.resourceUsage().maxRSS / 1024;
  function* generate() {
    for (let i = 0; i < n; i++) yield i;
  }
  const baseline = peak();
  const t0 = performance.now();
  const pool = new Pool(cpuCount());
  let expected = 0;
  for await (const x of pool.imap(work.ident, generate(), { chunksize })) {
    if (x !== expected) throw new Error(`case 8: got ${x}, expected ${expected}`);
    expected++;
    if (expected === 1 && variant === 'stalled') await new Promise((r) => setTimeout(r, stallMs));
  }
  pool.close();
  await pool.join();
  const seconds = (performance.now() - t0) / 1000;
  if (expected !== n) throw new Error(`case 8: got ${expected} results, expected ${n}`);
  emit({
    case: 'memory', variant: `plain-${variant}`, value: peak(), unit: 'MB', better: 'lower',
    params: { n, chunksize, processes: cpuCount(), stall_ms: variant === 'stalled' ? stallMs : 0 },
    extra: { baseline_mb: baseline, seconds, items_per_s: n / seconds },
  });
} else {
  process.stderr.write('plain.mjs: --case must be startup or memory\n');
  process.exit(2);
}
