// Smoke test of every example and the demo: each runs as its own program, exactly as a user
// runs it (`node --import tsx examples/NN-topic.ts`), at the small size
// (MULTIPROC_EXAMPLE_SMALL=1). Asserts exit code 0, the key line(s) of its output, the lines
// that explain a figure a learner would find surprising (start-up timed apart, the "note:"
// under every speedup, the demo's code shown before its output), and that nothing it started
// outlives it: each example runs in its own process group, and after it
// exits no live process may remain in that group (its workers, managers and servers
// included).
import { suite } from 'uvu';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert, disposeAllAndCheckLeaks, track } from './helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const examplesDir = join(root, 'examples');
/** Guards a hang only; the small sizes take a few seconds each. */
const TIMEOUT_MS = 60_000;
/**
 * Programs run two at a time: much of each one's time is spent starting processes and
 * waiting on sockets, so this keeps the file well inside its time budget on two cores.
 */
const CONCURRENCY = 2;

/**
 * The line that follows every printed speedup and says what the figure means: whichever case
 * the measurement fell in (above the ideal, below 1, below the ideal, close to it), it
 * starts the same way and splits the figure into how many workers ran at once and how fast
 * each ran compared with the main process.
 */
const SPEEDUP_NOTE_TEXT = String.raw`note: (above the ideal \d+x|the pool is slower|below the ideal \d+x|close to the ideal \d+x) \(\d+\.\d\dx\): the workers' \d+ ms of \w+ took \d+ ms of wall time \(\d+\.\d\dx at once`;
const SPEEDUP_NOTE = new RegExp(`^${SPEEDUP_NOTE_TEXT}`, 'm');

/** Each program and the lines its output must contain. */
const cases: Record<string, RegExp[]> = {
  '01-text-to-json.ts': [
    /^start-up: [2-9]\d* workers ready in \d+ ms/m,
    /^note: the counts need not be equal: a worker takes the next 8 files \(chunksize\) whenever it is free$/m,
    /^converted 24\/24 files \(\d+ words\) in order, in \d+ ms after start-up with [2-9]\d* worker pids$/m,
  ],
  '02-range-split.ts': [
    /^total score \d+ \(matches single process\)$/m,
    /^ {2}\[pid \d+\] loaded the table: 20000 rows/m,
    /^start-up: \d+ workers ready in \d+ ms \(.*each loading the table.*\), not counted below$/m,
    /^scoring: single process \d+ ms, pool of \d+ \d+ ms: speedup \d+\.\d\dx$/m,
    SPEEDUP_NOTE,
  ],
  '03-word-count.ts': [
    /^merged 160000 words \(\d+ distinct\) from 8 files on \d+ worker pids \(matches single process\)$/m,
    /^start-up: \d+ workers ready in \d+ ms \(new processes.*each importing this module\), not counted below$/m,
    /^single process \d+ ms, pool of \d+ \d+ ms: speedup \d+\.\d\dx$/m,
    SPEEDUP_NOTE,
  ],
  '04-gzip-parts.ts': [
    /^start-up: \d+ workers ready in \d+ ms \(new processes.*each importing this module\), not counted below$/m,
    /^parallel write: \d+ ms wall for \d+ ms of worker time: \d+\.\d\dx at once$/m,
    /^note: (close to|below) the ideal \d+x: /m,
    /^verified 50000 lines \(ids 0\.\.49999 in order\) through one gunzip stream/m,
  ],
  '05-as-completed.ts': [
    /^start-up: 4 workers ready in \d+ ms \(new processes.*\), before the clock starts$/m,
    /^\[ 1\/8\] +\d+ ms  job \d+ /m,
    /^\[ 8\/8\] +\d+ ms  job \d+ /m,
    /^6 ok, 2 failed of 8 jobs$/m,
    /job 3 FAILED in pid \d+: RangeError: job 3 got an input it cannot handle \(jobId=3\)/,
    /^wall \d+ ms for 870 ms of job time: speedup \d+\.\d\dx with 4 workers$/m,
    /^note: the best these 8 jobs allow on 4 workers is \d+\.\d\dx \(\d+ ms.*\)\. The jobs sleep, .* so 4 workers overlap them even on \d+ cores/m,
  ],
  '06-dataframe-split.ts': [
    /^concatenated 10000 rows in order \(matches single process\)$/m,
    /^ {2}chunk sizes: /m,
    /^start-up: \d+ workers ready in \d+ ms \(new processes.*\), not counted below$/m,
    /^single process \d+ ms, pool of \d+ \d+ ms: speedup \d+\.\d\dx$/m,
    /^note: (the pool is slower|below the ideal \d+x|close to the ideal \d+x): of the pool's \d+ ms, \d+ ms is copying rows to the workers and back \(measured alone: .*\) and \d+ ms is transforming, where one chunk took \d+ ms in this process/m,
  ],
  '07-process-per-item.ts': [
    /^all 3 processes joined in \d+ ms; exit codes \[0, 1, 0\]; failed: Worker-bad$/m,
    /child pid \d+ \(parent \d+\) handling "apple"/,
    /^note: wall \d+ ms for a longest job of \d+ ms: ~-?\d+ ms went to starting 3 new node processes.*; for many small items use a Pool/m,
  ],
  '08-producer-consumer.ts': [
    /^ {2}part 1: 20 results, sum of squares 2470, exit codes 0\/0$/m,
    /^ {2}note: whoever is free takes the next item, so the shares differ/m,
    /^ {2}part 2: 20 items consumed once each by \d+ consumers?/m,
  ],
  '09-manager-list.ts': [
    /^ {2}note: the counts differ: the pool hands the next page to whichever worker is free/m,
    /^shared list holds 12 titles from \d+ workers; the server answered 12 requests; \d+ ms in all, start-up of the manager and the workers included$/m,
  ],
  '10-cpu-scaling.ts': [
    /^ processes +\| start-up ms \| work ms \| speedup \| per process$/m,
    /^fastest: processes=\d+ .*checksum identical for every pool size$/m,
    /^note: start-up has its own column and is not in the speedup/m,
    /^note: (close to|below) the ideal \d+x at processes=\d+ \(\d+\.\d\dx\)/m,
    /^note: processes=\d+ cannot beat processes=\d+: \d+ processes take turns on \d+ cores$/m,
  ],
  '11-remote-manager.ts': [/^ {2}wrong authkey refused: AuthenticationError \(MP_AUTH\)$/m, /^12 jobs factored by \d+ remote workers in \d+ ms; worker exit codes \[0, 0\]$/m],
  '12-shared-value.ts': [
    /^with the lock: {4}1200 of 1200 \(4 processes × 300, pids \d+, \d+, \d+, \d+\) in \d+ ms: exactly the total$/m,
    /^without the lock: \d+ of 1200 \(\d+ updates lost\) in \d+ ms$/m,
    /^note: (each \+= 1 reads, then writes|no update was lost this time)/m,
    /^note: \d+\.\d\d ms per locked \+= 1: the value lives in this process \(pid \d+\)/m,
  ],
  'demo.ts': [
    // Each step shows its code before its output (the code itself is checked against the file below).
    /^ {3}│ const procs = \['first', 'second'\]\.map\(\(who\) => new Process\(\{ target: hello, args: \[who\] \}\)\);$/m,
    /^ {3}│ const results = await pool\.map\(self\.spin, work\);/m,
    /^ {3}│ for await \(const f of asCompleted\(futures\)\) \{$/m,
    /^ {3}│ +for \(const _ of consumers\) await q\.put\(null\); \/\/ one sentinel per consumer$/m,
    /^ {3}│ await using manager = await Manager\.start\(\);$/m,
    /^ {3}start-up: \d+ workers \(pids [\d, ]+\) ready in \d+ ms, not counted below$/m,
    new RegExp(`^ {3}${SPEEDUP_NOTE_TEXT}`, 'm'),
    /^ {3}note: asCompleted yields each future when it finishes, not in the order submitted/m,
    /^ {3}→ completion order (\d( \(failed\))?, ){5}\d( \(failed\))? {2}\[\d+ ms\]$/m,
    /^Summary$/m,
    /^demo finished in \d+\.\d s: 5 steps, pool speedup \d+\.\d\dx/m,
  ],
};

interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  pgid: number;
  ms: number;
}

/** Run one example in a new process group; reject with its output if it hangs. */
function run(file: string): Promise<Outcome> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(examplesDir, file)], {
    cwd: root,
    env: { ...process.env, MULTIPROC_EXAMPLE_SMALL: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so the leak check can find everything it started.
    detached: true,
  });
  // Killed with its group even if a test fails before the program ends.
  track(child);
  groups.add(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child.pid!);
      reject(new Error(`hung: ${file} did not exit within ${TIMEOUT_MS} ms\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
    }, TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pgid: child.pid!, ms: performance.now() - t0 });
    });
  });
}

/** Process groups of every program started (each program leads its own). */
const groups = new Set<number>();

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Live processes of process group `pgid`. On Linux /proc tells the group and the state of
 * every process, so zombies (dead, waiting to be reaped by whoever adopted them) count as
 * gone; elsewhere signal 0 to the group says whether anything is left at all.
 */
function groupMembers(pgid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const members: number[] = [];
  for (const name of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp …": the fields after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(name));
  }
  return members;
}

/** What the test of one program checks: its outcome and the processes it left behind. */
interface Checked extends Outcome {
  leaked: number[];
}

/** Run `file`, then wait for its process group to empty (or report who is left). */
async function runAndCheck(file: string): Promise<Checked> {
  const outcome = await run(file);
  return { ...outcome, leaked: await leftBehind(outcome.pgid) };
}

/** Start `job(name)` for every name, at most `limit` at a time; a Map of their promises. */
function schedule<T>(names: string[], limit: number, job: (name: string) => Promise<T>): Map<string, Promise<T>> {
  const results = new Map<string, Promise<T>>();
  const queue = [...names];
  const gates = new Map<string, (go: void) => void>();
  for (const name of names) results.set(name, new Promise<void>((go) => gates.set(name, go)).then(() => job(name)));
  const next = (): void => {
    const name = queue.shift();
    if (name === undefined) return;
    gates.get(name)!();
    results.get(name)!.then(next, next);
  };
  for (let i = 0; i < limit; i++) next();
  // A failure is reported by the test that awaits it; this keeps it from being "unhandled"
  // while an earlier test is still running.
  for (const p of results.values()) p.catch(() => {});
  return results;
}

async function leftBehind(pgid: number): Promise<number[]> {
  // Children get a short grace period to notice their parent is gone.
  const deadline = Date.now() + 5_000;
  let members = groupMembers(pgid);
  while (members.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    members = groupMembers(pgid);
  }
  if (members.length > 0) killGroup(pgid); // do not let one failure leak into the next test
  return members;
}

const test = suite('examples');

test('every example file has a smoke test', () => {
  const files = readdirSync(examplesDir).filter((f) => f.endsWith('.ts')).sort();
  assert.equal(files, Object.keys(cases).sort());
});

let runs: Map<string, Promise<Checked>>;
test.before(() => {
  runs = schedule(Object.keys(cases), CONCURRENCY, runAndCheck);
});

for (const [file, expectations] of Object.entries(cases)) {
  test(`${file} runs at the small size`, async () => {
    const r = await runs.get(file)!;
    const output = `--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
    assert.is(r.code, 0, `${file} exited with code ${r.code} signal ${r.signal} after ${r.ms.toFixed(0)} ms\n${output}`);
    for (const line of expectations) assert.ok(line.test(r.stdout), `${file}: no line matching ${line}\n${output}`);
    assert.ok(/pid \d+/.test(r.stdout), `${file} should print pids`);
    if (file === 'demo.ts') {
      // The code the demo shows is the code it runs: every line it prints after "│" is a line
      // of demo.ts (read from the file, so the two cannot drift apart).
      const source = new Set(readFileSync(join(examplesDir, file), 'utf8').split('\n').map((l) => l.trim()));
      const shown = [...r.stdout.matchAll(/^ {3}│ (.*)$/gm)].map((m) => m[1]!.trim());
      assert.ok(shown.length >= 30, `demo.ts showed only ${shown.length} lines of code`);
      for (const line of shown) assert.ok(source.has(line), `demo.ts showed a line that is not in the file: ${line}`);
    }
    assert.equal(r.leaked, [], `${file} left processes behind: ${r.leaked.join(', ')}`);
  });
}

test('no leaks: every program and its process group are gone', async () => {
  // Programs a failed test did not wait for are still scheduled: let them end (each is
  // guarded by TIMEOUT_MS), then nothing of any group may be alive.
  await Promise.allSettled(runs.values());
  const left = [...groups].map((pgid) => ({ pgid, members: groupMembers(pgid) })).filter((g) => g.members.length > 0);
  for (const g of left) killGroup(g.pgid);
  assert.equal(left, [], 'process groups with live members at the end of the file');
  await disposeAllAndCheckLeaks();
});

test.run();
