// 02 · Range splitting: each worker loads a large keyed table ONCE (Pool initializer), then
//      scores index ranges of it.
//
// Python idiom: the "global variable" trick done right, Pool(initializer=..., initargs=...):
//
//     def init(path):
//         global table, keys
//         table = load(path); keys = sorted(table)
//     def score_range(start, stop):
//         return sum(score(table[k]) for k in keys[start:stop])
//     with Pool(processes, initializer=init, initargs=(path,)) as pool:
//         total = sum(pool.starmap(score_range, ranges))
//
// Here: `new Pool({ processes, initializer: self.loadTable, initargs: [path] })` and
// `pool.starmap(self.scoreRange, ranges)`.
//
// Watch for: one "loaded the table" line per worker pid (after the one for the baseline run in
// the main process), not one per range: the table is read once per process and reused by every
// range that process runs. Passing the table as a task argument instead would copy it into
// every task. Then the parallel total equals the single-process total. Last, the timings: the
// start-up (new processes, each loading the table) is printed apart, the speedup compares the
// scoring alone, and a "note:" line says what the figure means. On 2 cores it can come out far
// above 2x: the note then shows the measured cause (the workers' own scoring times).
//
// Run:   npx tsx examples/02-range-split.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/02-range-split.ts   (a quick run)
//
// Task style: MODULE REFERENCE to this very file (the single-file pattern). The initializer
// must leave state where the task finds it, a module-level variable, so both have to live in
// a module the worker imports: `tasks<typeof import('./02-range-split.ts')>(new URL(import.meta.url))`.
// A worker importing this file runs its top level too, which is why main() is guarded by
// `if (isMainProcess())`, exactly like Python's `if __name__ == '__main__':`.

import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
// In your project: import { Pool, cpuCount, isMainProcess, repeat, tasks } from 'multiproc';
import { Pool, cpuCount, currentProcess, isMainProcess, repeat, tasks } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const ROWS = SMALL ? 20_000 : 300_000;
/** Rounds of arithmetic per row: the CPU cost of scoring one row. */
const ROUNDS = SMALL ? 50 : 1500;
/** True under tsx (`npx tsx file.ts`): then every worker also loads the TypeScript loader. */
const underTsx = process.execArgv.some((arg) => arg.includes('tsx'));
/** How busy the machine was before this program started: other programs share the cores. */
const loadBefore = loadavg()[0]!;

/** One row of the keyed table. */
export interface Row {
  key: string;
  value: number;
  weight: number;
}

/** The per-process "global": set by the initializer, read by every task this worker runs. */
let table: Map<string, Row> | undefined;
let keys: string[] = [];

/** The Pool initializer: runs once in each worker before its first task. */
export function loadTable(path: string): void {
  const t0 = performance.now();
  table = new Map();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const row = JSON.parse(line) as Row;
    table.set(row.key, row);
  }
  keys = [...table.keys()].sort();
  console.log(`  [pid ${process.pid}] loaded the table: ${table.size} rows in ${(performance.now() - t0).toFixed(0)} ms`);
}

/** What one range reports back. */
export interface RangeResult {
  start: number;
  stop: number;
  total: number;
  pid: number;
  /** Time spent scoring, measured inside the process that did it. */
  ms: number;
}

/** Score the rows whose keys are keys[start..stop). Uses the table loaded by loadTable. */
export function scoreRange(start: number, stop: number): RangeResult {
  if (!table) throw new Error('the table is not loaded in this process: pass loadTable as the Pool initializer');
  const t0 = performance.now();
  let total = 0;
  for (let i = start; i < stop; i++) total += score(table.get(keys[i]!)!);
  return { start, stop, total, pid: process.pid, ms: performance.now() - t0 };
}

/** Some deterministic integer arithmetic standing in for real per-row work. */
function score(row: Row): number {
  let x = row.value;
  for (let r = 0; r < ROUNDS; r++) x = (Math.imul(x, 1103515245) + 12345 + row.weight) >>> 0;
  return x % 1000;
}

/** numpy.array_split(range(n), parts) as [start, stop) pairs: sizes differ by at most one. */
function splitRange(n: number, parts: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const stop = start + Math.floor(n / parts) + (i < n % parts ? 1 : 0);
    ranges.push([start, stop]);
    start = stop;
  }
  return ranges;
}

/**
 * Start-up, timed apart from the work: a Pool starts its processes at once, but each is a new
 * Node process that is ready only some hundreds of ms later. Run short tasks until each of
 * the `n` workers has answered one; the time after this is the work alone. Returns the ms.
 */
async function startUp(pool: Pool, n: number): Promise<number> {
  const t0 = performance.now();
  const pause = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(process.pid), ms));
  const pids = new Set<number>();
  while (pids.size < n) for (const pid of await pool.map(pause, repeat(20, n))) pids.add(pid);
  return performance.now() - t0;
}

/**
 * One line on what the measured speedup means, whatever it came out as. The speedup splits
 * into two measured factors: how many workers ran at once (their summed task time over the
 * wall time) and how fast each ran compared with this process (its time over theirs).
 */
function explain(serialMs: number, wallMs: number, workMs: number, processes: number, idleWhy: string): string {
  const ideal = Math.min(processes, cpuCount());
  const speedup = serialMs / wallMs;
  const verdict =
    speedup > ideal * 1.15 ? `above the ideal ${ideal}x` : speedup < 1 ? 'the pool is slower' : speedup < ideal * 0.8 ? `below the ideal ${ideal}x` : `close to the ideal ${ideal}x`;
  const atOnce = workMs / wallMs;
  let line = `${verdict} (${speedup.toFixed(2)}x): the workers' ${workMs.toFixed(0)} ms of scoring took ${wallMs.toFixed(0)} ms of wall time (${atOnce.toFixed(2)}x at once`;
  line += atOnce < ideal * 0.8 ? `; they were often idle: ${SMALL ? 'a task this small is quicker to do than to send to another process' : idleWhy})` : ')';
  const slower = workMs / serialMs;
  if (slower > 1.1) {
    const why: string[] = [];
    if (serialMs < 1000) why.push('a fresh process runs code slowly until V8 has optimized it, which shows on a short job');
    if (loadBefore >= cpuCount()) why.push(`other programs were using the cores: load average ${loadBefore.toFixed(1)} on ${cpuCount()} cores`);
    if (why.length === 0) why.push('side by side, processes share the caches and memory bandwidth of the machine');
    line += `, and each ran ${slower.toFixed(1)}x slower than this process did (${why.join('; ')})`;
  } else if (slower < 0.9) {
    line +=
      `, and each ran ${(1 / slower).toFixed(1)}x faster than this process did (each process's V8 compiles its own copy of ` +
      'the code from what that process has run, and the copies came out differently; CPython has no JIT, so Python shows no such effect)';
  }
  return line;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'multiproc-02-'));
  try {
    // The "large keyed table": one JSON object per line, keys in shuffled order.
    const path = join(dir, 'table.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < ROWS; i++) {
      const id = (i * 7919) % ROWS; // a permutation of 0..ROWS-1, since 7919 is prime
      lines.push(JSON.stringify({ key: `k${String(id).padStart(7, '0')}`, value: id * 31 + 7, weight: id % 97 }));
    }
    await writeFile(path, lines.join('\n') + '\n');

    const processes = Math.max(2, cpuCount());
    const ranges = splitRange(ROWS, processes * 4);
    console.log(`main pid ${currentProcess().pid}: ${ROWS} rows, ${ranges.length} ranges, ${processes} worker processes, ${cpuCount()} cores`);

    // Baseline in this process: the same two functions, called directly. Loading and scoring
    // are timed apart, as they are for the pool below.
    console.log('baseline, single process:');
    let t0 = performance.now();
    loadTable(path);
    const serialLoadMs = performance.now() - t0;
    t0 = performance.now();
    const expected = scoreRange(0, ROWS).total;
    const serialMs = performance.now() - t0;

    const self = tasks<typeof import('./02-range-split.ts')>(new URL(import.meta.url));
    console.log(`pool of ${processes}:`);
    let results: RangeResult[];
    let startupMs: number;
    let parallelMs: number;
    {
      await using pool = new Pool({ processes, initializer: self.loadTable, initargs: [path] });
      // The initializer runs in each worker before its first task: start-up includes it.
      startupMs = await startUp(pool, processes);
      t0 = performance.now();
      results = await pool.starmap(self.scoreRange, ranges);
      parallelMs = performance.now() - t0;
    }

    const perPid = new Map<number, number>();
    for (const r of results) perPid.set(r.pid, (perPid.get(r.pid) ?? 0) + 1);
    for (const [pid, n] of perPid) console.log(`  worker pid ${pid} scored ${n} ranges`);
    const total = results.reduce((sum, r) => sum + r.total, 0);
    if (total !== expected) throw new Error(`parallel total ${total} differs from the single-process total ${expected}`);
    console.log(`total score ${total} (matches single process)`);
    console.log(`start-up: ${processes} workers ready in ${startupMs.toFixed(0)} ms (new processes${underTsx ? ' loading tsx' : ''}, each loading the table: ${serialLoadMs.toFixed(0)} ms here), not counted below`);
    const workMs = results.reduce((sum, r) => sum + r.ms, 0);
    console.log(`scoring: single process ${serialMs.toFixed(0)} ms, pool of ${processes} ${parallelMs.toFixed(0)} ms: speedup ${(serialMs / parallelMs).toFixed(2)}x`);
    console.log(`note: ${explain(serialMs, parallelMs, workMs, processes, 'some ranges ended before others')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMainProcess()) await main();
