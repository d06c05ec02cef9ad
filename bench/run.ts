// `npm run bench`: multiproc against Python's multiprocessing, side by side (issues 7, 15).
//
//   npm run bench                  full sizes, up to 3 repetitions (after the first, a row's
//                                  repetition runs only if it fits the budget; then case 9's
//                                  scaling runs, once each; the table says how many each row got)
//   npm run bench -- --quick       small sizes, 1 repetition, one variant per case
//   options: --reps N, --budget SECONDS (full default 330), --only 1,4,9 (case numbers),
//            --no-python, --out FILE (default bench/RESULTS.md, with bench/results.json and
//            bench/README-table.md beside it; --quick writes nothing unless --out is given)
//
// Every measurement is a fresh process printing one JSON line: bench/node/<case>.ts under
// `node --import tsx`, bench/node/*.mjs on the compiled package under plain node (cases 6,
// 8, 9, 10: what the runtime costs) or on src/ under tsx (the "under tsx" rows),
// bench/python/<case>.py for Python (invocations from cases.json). Runs are interleaved:
// for each repetition, for each row, the multiproc run and the Python run(s) back to back,
// alternating which goes first, so drift in the machine's load hits both columns alike.
// Rows and targets: bench/rows.ts. Tables, notes and output files: bench/report.ts; every
// figure they print comes from this run.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuCount } from '../src/index.ts';
import { report } from './report.ts';
import type { Facts, Samples } from './stats.ts';
import { plan, type Invocation, type Result, type Row } from './rows.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const started = performance.now();

// ---------------------------------------------------------------------------------------
// Command line

const log = (s: string) => process.stderr.write(`${s}\n`);

const argv = process.argv.slice(2);
function option(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) die(`--${name} needs a value`);
  return v;
}
function die(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (['--quick', '--no-python'].includes(a)) continue;
  if (['--reps', '--budget', '--only', '--out'].includes(a)) {
    i++;
    continue;
  }
  die(`unknown argument ${a} (see the header of bench/run.ts)`);
}
const quick = argv.includes('--quick');
const reps = Number(option('reps') ?? (quick ? 1 : 3));
if (!Number.isInteger(reps) || reps < 1) die('--reps must be an integer >= 1');
const budgetS = Number(option('budget') ?? (quick ? 1e9 : 330));
if (!(budgetS > 0)) die('--budget must be a number of seconds > 0');
const only = option('only')
  ?.split(',')
  .map((s) => Number(s.trim()));
const outFile = option('out') ?? (quick ? undefined : join(benchDir, 'RESULTS.md'));
const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;

// ---------------------------------------------------------------------------------------
// Machine facts

function tryExec(file: string, args: string[], timeout = 10_000): string | null {
  try {
    return execFileSync(file, args, { encoding: 'utf8', cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout }).trim();
  } catch {
    return null;
  }
}
/** MemAvailable from /proc/meminfo, in MiB (null when unreadable). */
function memAvailableMb(): number | null {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}
const cores = cpuCount();
const noPython = argv.includes('--no-python');
const pythonVersion = noPython ? null : tryExec('python3', ['-c', 'import platform; print(platform.python_version())']);
const pythonNote = noPython ? 'skipped (--no-python)' : pythonVersion === null ? 'python3 not found: the Python column is skipped' : null;
const tsxVersion = (() => {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', 'tsx', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();
const extraCa = Boolean(process.env.NODE_EXTRA_CA_CERTS);
const memStart = memAvailableMb();
const facts: Facts = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores,
  memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
  memAvailableStart: memStart === null ? 'unknown' : `${(memStart / 1024).toFixed(1)} GiB`,
  kernel: `${process.platform} ${release()}`,
  node: process.version,
  tsx: tsxVersion,
  python: pythonVersion ?? 'absent',
  extraCa,
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  loadStart: loadavg().map((x) => x.toFixed(2)).join(' '),
  loadEnd: '',
  commit: tryExec('git', ['-C', root, 'rev-parse', '--short', 'HEAD']) ?? 'unknown',
  dirty: (tryExec('git', ['-C', root, 'status', '--porcelain']) ?? '') !== '',
  totalS: 0,
};

// ---------------------------------------------------------------------------------------
// What runs

const { rows: plannedRows, calibrate, spin } = plan({ benchDir, srcLib: pathToFileURL(join(root, 'src', 'index.ts')).href, quick, cores, extraCa });
const rows = only ? plannedRows.filter((r) => only.includes(r.no)) : plannedRows;
if (rows.length === 0) die('--only selected no case');
if (pythonVersion === null) {
  for (const r of rows) {
    if (r.ref?.inv.lang === 'python') r.ref = null;
    r.info = r.info.filter((i) => i.lang !== 'python');
    r.probes = r.probes.filter((i) => i.lang !== 'python');
  }
}

// ---------------------------------------------------------------------------------------
// multiproc compiled to JavaScript, for the plain-node rows (cases 6, 8, 9, 10)

/** The file URL of the compiled index.js, or null (those rows skipped) with the reason in `plainNote`. */
let plainLib: string | null = null;
let plainNote: string | null = null;
let plainDir: string | null = null;
if (rows.some((r) => [r.node, r.ref].some((s) => s?.inv.lang === 'plain'))) {
  // Built as `npm run build` builds the package (src/build/build.mjs): both builds and the
  // bundled child entry, so the children start from the entry a user's children start from.
  plainDir = mkdtempSync(join(tmpdir(), 'multiproc-bench-'));
  const outDir = join(plainDir, 'dist');
  const t0 = performance.now();
  const ok = tryExec(process.execPath, [join(root, 'src', 'build', 'build.mjs'), outDir, '--fast'], 120_000) !== null;
  if (ok && existsSync(join(outDir, 'esm', 'index.js'))) {
    writeFileSync(join(plainDir, 'package.json'), '{ "type": "module" }\n');
    plainLib = pathToFileURL(join(outDir, 'esm', 'index.js')).href;
    log(`bench: built src/ to ${outDir} for the plain-node rows (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } else {
    plainNote = 'src/ did not build (src/build/build.mjs), so the plain-node rows (cases 6, 8, 9, 10) were skipped';
    log(`bench: ${plainNote}`);
  }
}
process.on('exit', () => {
  if (plainDir) rmSync(plainDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// Running one invocation

interface Outcome {
  result?: Result;
  error?: string;
  seconds: number;
}

const INVOCATION_TIMEOUT_MS = 180_000;

function runOnce(inv: Invocation): Promise<Outcome> {
  const t0 = performance.now();
  const extra = quick ? ['--quick'] : [];
  const [file, args] =
    inv.lang === 'ts' || inv.lang === 'tsx'
      ? [process.execPath, ['--import', 'tsx', inv.script, ...inv.args, ...extra]]
      : inv.lang === 'plain'
        ? [process.execPath, [inv.script, '--lib', plainLib!, ...inv.args, ...extra]]
        : inv.lang === 'probe'
          ? [process.execPath, [inv.script, ...inv.args, ...extra]]
          : ['python3', ['-B', inv.script, ...inv.args, ...extra]];
  const env: Record<string, string | undefined> = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  // Removed here, it is absent from everything the case starts: its workers inherit this env.
  if (inv.noExtraCa) delete env.NODE_EXTRA_CA_CERTS;
  return new Promise<Outcome>((resolve) => {
    const child = spawn(file, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => (stdout += s));
    child.stderr!.on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), INVOCATION_TIMEOUT_MS);
    child.on('error', (err: Error) => {
      clearTimeout(timer);
      resolve({ error: err.message, seconds: (performance.now() - t0) / 1000 });
    });
    child.on('close', (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code === 0) {
        try {
          return resolve({ result: JSON.parse(last) as Result, seconds });
        } catch {
          // fall through: report as an error
        }
      }
      const why = signal ? `killed by ${signal}${seconds * 1000 >= INVOCATION_TIMEOUT_MS ? ' (timeout)' : ''}` : `exit code ${code}`;
      resolve({ error: `${why}: ${(stderr.trim() || last).split('\n').slice(-3).join(' | ').slice(0, 300)}`, seconds });
    });
  });
}

// ---------------------------------------------------------------------------------------
// The interleaved schedule

const samples = new Map<Invocation, Samples>();
const samplesOf = (inv: Invocation): Samples => {
  let s = samples.get(inv);
  if (!s) samples.set(inv, (s = { results: [], errors: [], seconds: [] }));
  return s;
};
const repsRun = new Map<Row, number>();
/** The longest time one repetition of a row took (all its invocations), for the budget. */
const pairSeconds = new Map<Row, number>();
/** Why a row (or one of its repetitions) did not run, for the report. */
const skipped = new Map<Row, string>();

async function record(inv: Invocation, rep: number): Promise<Outcome> {
  const out = await runOnce(inv);
  const s = samplesOf(inv);
  s.seconds.push(out.seconds);
  if (out.result) {
    s.results.push(out.result);
    log(`  [rep ${rep}] ${inv.label}: ${out.result.value.toPrecision(4)} ${out.result.unit} (${out.seconds.toFixed(1)} s)`);
  } else {
    s.errors.push(out.error!);
    log(`  [rep ${rep}] ${inv.label}: FAILED ${out.error}`);
  }
  return out;
}

log(`bench: ${quick ? 'quick pass' : 'full run'}, ${reps} repetition(s), ${rows.length} rows, ${cores} cores, Node ${process.version}, Python ${pythonVersion ?? 'absent'}${quick ? '' : `, budget ${budgetS} s`}`);

/**
 * Case 3's ceiling: the machine's own parallel efficiency right now. The work loop in one
 * plain node process alone, then in cpuCount() processes at once (bench/node/spin.mjs, no
 * library): efficiency = time alone / mean time side by side.
 */
const ceilingSamples: number[] = [];
async function probeCeiling(rep: number): Promise<void> {
  // Alone, together, alone, together: the load of other processes changes from one second
  // to the next, so each side is measured twice, interleaved.
  const alone: number[] = [];
  const together: number[] = [];
  for (let i = 0; i < 2; i++) {
    const a = await runOnce(spin);
    const t = await Promise.all(Array.from({ length: cores }, () => runOnce(spin)));
    for (const o of [a, ...t]) {
      if (!o.result) {
        log(`  [rep ${rep}] machine ceiling probe failed: ${o.error}`);
        return;
      }
    }
    alone.push(a.result!.value);
    together.push(...t.map((o) => o.result!.value));
  }
  const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
  const efficiency = mean(alone) / mean(together);
  ceilingSamples.push(efficiency);
  log(`  [rep ${rep}] machine ceiling: the same loop alone ${alone.map((t) => t.toFixed(0)).join('/')} ms, ${cores} copies at once ${together.map((t) => t.toFixed(0)).join('/')} ms: parallel efficiency ${efficiency.toFixed(2)}`);
}

/**
 * Case 9's k per language, so that one task of the job takes SCALING_TASK_MS (bench/rows.ts)
 * in each and the job is the same at every pool size; run once, before the first scaling
 * row. null: calibration failed and the scaling rows are skipped.
 */
let calibration: { node: number; python: number | null } | null | undefined;
async function ensureCalibrated(rep: number): Promise<typeof calibration> {
  if (calibration !== undefined) return calibration;
  const node = await record(calibrate.node, rep);
  const python = pythonVersion === null ? null : await record(calibrate.python, rep);
  if (!node.result || (python && !python.result)) return (calibration = null);
  calibration = { node: node.result.value, python: python?.result?.value ?? null };
  for (const row of rows) {
    if (row.workers === undefined) continue;
    for (const inv of [row.node.inv, ...(row.ref ? [row.ref.inv] : []), ...row.info]) {
      inv.args.push('--k', String(inv.lang === 'python' ? calibration.python : calibration.node));
    }
  }
  return calibration;
}

/**
 * 128 workers only when the memory is there: MemAvailable must cover 128 workers at the
 * largest per-worker RSS measured at 64 workers in this run (100 MB if none was), with 30%
 * and 2 GiB to spare for the rest of the machine, which is shared.
 */
function memoryRefusal(row: Row): string | null {
  if ((row.workers ?? 0) < 128) return null;
  const at64 = rows.find((r) => r.workers === 64);
  const perWorker = at64
    ? Math.max(0, ...[at64.node.inv, ...(at64.ref ? [at64.ref.inv] : []), ...at64.info].flatMap((inv) => (samples.get(inv)?.results ?? []).map((r) => Number(r.extra.worker_rss_after_mb) || 0)))
    : 0;
  const needMb = row.workers! * (perWorker || 100) * 1.3 + 2048;
  const available = memAvailableMb();
  if (available !== null && available >= needMb) return null;
  return `skipped: MemAvailable ${available === null ? 'unknown' : `${(available / 1024).toFixed(1)} GiB`} < ${(needMb / 1024).toFixed(1)} GiB needed for ${row.workers} workers of ${(perWorker || 100).toFixed(0)} MB`;
}

/** Run every invocation of `row` once (those not already run in this repetition). */
async function runRow(row: Row, rep: number, ran: Set<Invocation>, swap: boolean): Promise<void> {
  if (row.id === 'cpu') await probeCeiling(rep);
  const invs = [...new Set([row.node.inv, ...(row.ref ? [row.ref.inv] : []), ...row.info, ...row.probes])].filter((inv) => !ran.has(inv));
  // Alternate who goes first, so neither column always runs right after the other's load.
  if (swap && invs.length >= 2) invs.splice(0, 2, invs[1]!, invs[0]!);
  let pair = 0;
  for (const inv of invs) {
    ran.add(inv);
    pair += (await record(inv, rep)).seconds;
  }
  pairSeconds.set(row, Math.max(pairSeconds.get(row) ?? 0, pair));
  repsRun.set(row, (repsRun.get(row) ?? 0) + 1);
}

const runnable = (row: Row) => plainLib !== null || ![row.node, row.ref].some((s) => s?.inv.lang === 'plain');
const mainRows = rows.filter((r) => r.workers === undefined && runnable(r));
const scalingRows = rows.filter((r) => r.workers !== undefined && runnable(r));
for (let rep = 1; rep <= reps; rep++) {
  // An invocation shared by several rows (a reference, case 10's two rows) runs once per repetition.
  const ran = new Set<Invocation>();
  for (const [i, row] of mainRows.entries()) {
    // A full run keeps within its budget: every row runs once, and a further repetition of
    // a row only if it fits (the table shows how many repetitions each row got).
    const elapsed = (performance.now() - started) / 1000;
    const estimate = pairSeconds.get(row) ?? 0;
    if (rep >= 2 && elapsed + estimate > budgetS) {
      log(`  [rep ${rep}] ${row.id}: skipped (budget: ${elapsed.toFixed(0)} s elapsed, ~${estimate.toFixed(0)} s needed)`);
      continue;
    }
    await runRow(row, rep, ran, (rep + i) % 2 === 0);
  }
}
// Case 9's scaling runs come last, once each: together they take minutes, so they run
// outside the budget rather than cutting the repetitions of the other rows.
for (const [i, row] of scalingRows.entries()) {
  if ((await ensureCalibrated(1)) === null) {
    skipped.set(row, 'skipped: the calibration run failed');
    continue;
  }
  const refusal = memoryRefusal(row);
  if (refusal) {
    skipped.set(row, refusal);
    log(`  [scaling] ${row.id}: ${refusal}`);
    continue;
  }
  await runRow(row, 1, new Set(), i % 2 === 1);
}
facts.totalS = (performance.now() - started) / 1000;
facts.loadEnd = loadavg().map((x) => x.toFixed(2)).join(' ');

// ---------------------------------------------------------------------------------------
// Output

const out = report({ rows, samples, repsRun, skipped, ceilingSamples, facts, quick, reps, budgetS, command, pythonNote, plainNote, calibration: calibration ?? null });
console.log(out.console);
if (outFile) {
  const stem = basename(outFile) === 'RESULTS.md' ? join(dirname(outFile), '') : outFile.replace(/\.md$/, '');
  const jsonFile = basename(outFile) === 'RESULTS.md' ? join(stem, 'results.json') : `${stem}.json`;
  const readmeFile = basename(outFile) === 'RESULTS.md' ? join(stem, 'README-table.md') : `${stem}-README-table.md`;
  writeFileSync(outFile, out.markdown);
  writeFileSync(jsonFile, out.json);
  writeFileSync(readmeFile, out.readme);
  for (const f of [outFile, jsonFile, readmeFile]) console.log(`wrote ${relative(process.cwd(), f) || f}`);
}
