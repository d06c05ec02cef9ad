// The runner of `npm test`: the test files (uvu's pattern over test/, test/unit/ included) run
// in several processes, two at a time, and the run ends with one summary.
//
// Why processes: every file ends with a leak check (test/helpers.ts: disposeAllAndCheckLeaks)
// that looks at the children of its own process and the pids its tests remembered. A process
// runs its files one after another, as a single uvu run does, so that check sees exactly the
// processes of the file that is running, whatever another process runs next to it. Files
// spend most of their time waiting on other processes (starting node, sockets, a worker's
// sleep), so two at a time keep a 2-core machine busy; `--jobs N` (or MULTIPROC_TEST_JOBS)
// changes that, and `--jobs 1` runs every file in this one process, as uvu's own command
// line does.
//
// Which files share a process: files that took under 5 s last time go together (a process
// costs more to start, with tsx and the library, than their tests take); every other file has
// a process of its own. (Files may run side by side because none rewrites what another
// reads: npm test builds dist/ once before, package.test.ts packs with --ignore-scripts, and
// worker-cost.test.ts builds its own copy in a temporary directory.) The longest start first, as measured by the last run (kept in
// node_modules/.cache/multiproc-test-times.json), so that the run does not end with one long
// file alone.
//
// A process's output is printed whole when it ends (its stdout, then its stderr), so the
// output of two never interleaves; a failing file's uvu report names its tests.
//
// Colour only when stdout is a terminal: uvu's CLI turns colours on unless told otherwise,
// by setting FORCE_COLOR=1 in its own environment, which every child process a test starts
// inherits too. Piped into a file, a CI log or `tee`, a run was then full of escape codes.
// Deciding here, in the one command every way of running the suite goes through (npm test,
// .ci/run), keeps a terminal's colours and gives a pipe plain text on every platform (a shell
// test like `[ -t 1 ]` in package.json would not run under Windows' cmd). `--color` or
// `--no-color` given by hand still win; so does NO_COLOR, which uvu's colour library honours.
//
// It also keeps the MultiprocWarnings that tests provoke on purpose from being printed (see
// test/quiet-warnings.cjs): a clean run prints nothing but results.
//
// Run: npm test   (or: npx tsx test/run.ts [pattern] [--bail] [--jobs N] [--color|--no-color]; the
// pattern, a regular expression over the file names under test/, picks the files to run)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const PATTERN = '\\.test\\.ts$';
// MultiprocWarnings the suite provokes on purpose stay quiet, here and in every process the
// tests start (see test/quiet-warnings.cjs; MULTIPROC_TEST_WARNINGS=1 shows them).
const quiet = fileURLToPath(new URL('./quiet-warnings.cjs', import.meta.url));
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(quiet)}`.trim();
createRequire(import.meta.url)(quiet);

/** The command line: --jobs and a file pattern are ours; the flags go to uvu. */
function options(argv: string[]): { jobs: number; pattern: string; extra: string[] } {
  let jobs = Number(process.env.MULTIPROC_TEST_JOBS ?? 2);
  let pattern = PATTERN;
  const extra: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--jobs' || arg === '-j') jobs = Number(argv[++i]);
    else if (arg.startsWith('--jobs=')) jobs = Number(arg.slice('--jobs='.length));
    else if (!arg.startsWith('-')) pattern = arg;
    else extra.push(arg);
  }
  if (!Number.isInteger(jobs) || jobs < 1) {
    console.error(`test/run.ts: --jobs (or MULTIPROC_TEST_JOBS) must be a whole number of at least 1, got ${jobs}`);
    process.exit(2);
  }
  return { jobs, pattern, extra };
}

const { jobs, pattern, extra } = options(process.argv.slice(2));
const colour = extra.includes('--color') || extra.includes('--no-color') ? [] : process.stdout.isTTY ? [] : ['--no-color'];
const bail = extra.includes('--bail') || extra.includes('-b');
/** Whether uvu colours its output, and so whether the summary below does. */
const coloured = extra.includes('--color') || (!extra.includes('--no-color') && colour.length === 0 && !process.env.NO_COLOR);

/** One test file: its name under test/ (uvu's suite name). */
interface TestFile {
  name: string;
}

/** What a file's process reported. */
interface Result {
  files: TestFile[];
  code: number | null;
  signal: string | null;
  output: string;
  ms: number;
  counts: { total: number; passed: number; skipped: number } | null;
}

const timesFile = `${root}node_modules/.cache/multiproc-test-times.json`;

function readTimes(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(timesFile, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

function writeTimes(times: Record<string, number>): void {
  try {
    mkdirSync(dirname(timesFile), { recursive: true });
    writeFileSync(timesFile, `${JSON.stringify(times, null, 2)}\n`);
  } catch {
    // Only an ordering hint for the next run.
  }
}

/** The files uvu's CLI would run (same directory, pattern and order). */
async function testFiles(): Promise<TestFile[]> {
  const { parse } = (await import(pathToFileURL(createRequire(import.meta.url).resolve('uvu/parse')).href)) as {
    parse(dir: string, pattern: string, opts: { cwd: string }): Promise<{ suites: { name: string; file: string }[] }>;
  };
  const { suites } = await parse('test', pattern, { cwd: root });
  return suites.map((s) => ({ name: s.name }));
}

/** Run `files` under uvu's CLI, one after another in a process of their own, with this process's loader flags (tsx). */
function runBatch(files: TestFile[]): Promise<Result> {
  const t0 = performance.now();
  // uvu matches the pattern against the path under test/: this one matches these files alone.
  const escape = (name: string) => name.replace(/[\\^$.*+?()[\]{}|/]/g, (c) => (c === '/' || c === '\\' ? '[\\\\/]' : `\\${c}`));
  const only = `^(${files.map((f) => escape(f.name)).join('|')})$`;
  const child = spawn(process.execPath, [...process.execArgv, bin, 'test', only, ...colour, ...extra], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    const done = (code: number | null, signal: string | null, error?: Error) => {
      const output = stdout + stderr + (error ? `\n${error.stack}\n` : '');
      resolve({ files, code, signal, output, ms: performance.now() - t0, counts: countsOf(stdout) });
    };
    child.once('error', (err) => done(null, null, err));
    child.once('close', (code, signal) => done(code, signal));
  });
}

/**
 * The totals uvu prints at the end of a run (its last block of four lines: Total, Passed,
 * Skipped, Duration; a test's child writing to the inherited stdout cannot print that block
 * after uvu's own), or null if it did not get that far.
 */
function countsOf(stdout: string): Result['counts'] {
  const plain = stdout.replace(/\x1b\[[0-9;]*m/g, '');
  const blocks = [...plain.matchAll(/^ *Total: +(\d+) *\n *Passed: +(\d+) *\n *Skipped: +(\d+) *\n *Duration: /gm)];
  const last = blocks.at(-1);
  return last ? { total: Number(last[1]), passed: Number(last[2]), skipped: Number(last[3]) } : null;
}

/** A file that took less than this last time shares a process with others (see below). */
const SMALL_MS = 5000;

async function runFiles(): Promise<number> {
  const t0 = performance.now();
  const files = await testFiles();
  const times = readTimes();
  // Work items, each a process running its files one after another: small files together, up to SMALL_MS * 2 in all (each process costs the start of node, tsx and
  // the library, more than such a file's tests; their leak checks still run file by file,
  // as in a single uvu run); any other file alone. Longest first; a file with no time yet
  // counts as long, so a new file does not end the run alone.
  const items: TestFile[][] = [];
  let small: TestFile[] = [];
  const time = (f: TestFile) => times[f.name] ?? 60_000;
  const cost = (item: TestFile[]) => item.reduce((sum, f) => sum + time(f), 0);
  for (const file of files) {
    if (time(file) < SMALL_MS) {
      if (cost(small) + time(file) > SMALL_MS * 2) small = [];
      if (small.length === 0) items.push(small);
      small.push(file);
    } else items.push([file]);
  }
  items.sort((a, b) => cost(b) - cost(a));

  const results: Result[] = [];
  let failed = false;
  const worker = async () => {
    for (let item = items.shift(); item && !(failed && bail); item = items.shift()) {
      const r = await runBatch(item);
      results.push(r);
      if (r.code !== 0 || r.counts === null) failed = true;
      process.stdout.write(r.output.endsWith('\n') ? r.output : `${r.output}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));

  // A process of several files gives each an equal share of its time (an ordering hint).
  for (const r of results) for (const f of r.files) times[f.name] = Math.round(r.ms / r.files.length);
  // Files since removed or renamed drop out.
  for (const name of Object.keys(times)) if (!existsSync(join(root, 'test', name))) delete times[name];
  writeTimes(times);

  const sum = (key: 'total' | 'passed' | 'skipped') => results.reduce((n, r) => n + (r.counts?.[key] ?? 0), 0);
  const bad = results.filter((r) => r.code !== 0 || r.counts === null);
  const ran = results.reduce((n, r) => n + r.files.length, 0);
  const notRun = files.length - ran;
  const paint = (code: string, text: string) => (coloured ? `\x1b[${code}m${text}\x1b[39m` : text);
  let summary = `\n  Files:     ${ran} of ${files.length}, in ${results.length} processes, ${jobs} at a time`;
  summary += `\n  Total:     ${sum('total')}`;
  summary += paint(bad.length ? '31' : '32', `\n  Passed:    ${sum('passed')}`);
  summary += `\n  Skipped:   ${sum('skipped')}`;
  summary += `\n  Duration:  ${(performance.now() - t0).toFixed(2)}ms\n`;
  for (const r of bad) {
    const how = r.signal ? `killed by ${r.signal}` : r.code !== 0 ? `exit code ${r.code}` : "exit code 0 but no uvu totals";
    summary += paint('31', `\n  FAILED:    ${r.files.map((f) => f.name).join(', ')} (${how})`);
  }
  if (notRun > 0) summary += paint('33', `\n  Not run:   ${notRun} file(s) after the first failure (--bail)`);
  process.stdout.write(`${summary}\n\n`);
  return bad.length > 0 || notRun > 0 ? 1 : 0;
}

if (jobs === 1) {
  // uvu's CLI reads process.argv when it is loaded: the directory, the file pattern, then flags.
  process.argv = [process.argv[0]!, bin, 'test', pattern, ...colour, ...extra];
  await import(pathToFileURL(bin).href);
} else {
  process.exitCode = await runFiles();
}
