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
// the main process), not one per range: the table is
// read once per process and reused by every range that process runs. Passing the table as a
// task argument instead would copy it into every task. Then the parallel total equals the
// single-process total, and the speedup line.
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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// In your project: import { Pool, cpuCount, isMainProcess, tasks } from 'multiproc';
import { Pool, cpuCount, currentProcess, isMainProcess, tasks } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const ROWS = SMALL ? 20_000 : 300_000;
/** Rounds of arithmetic per row: the CPU cost of scoring one row. */
const ROUNDS = SMALL ? 50 : 1500;

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
}

/** Score the rows whose keys are keys[start..stop). Uses the table loaded by loadTable. */
export function scoreRange(start: number, stop: number): RangeResult {
  if (!table) throw new Error('the table is not loaded in this process: pass loadTable as the Pool initializer');
  let total = 0;
  for (let i = start; i < stop; i++) total += score(table.get(keys[i]!)!);
  return { start, stop, total, pid: process.pid };
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
    console.log(`main pid ${currentProcess().pid}: ${ROWS} rows, ${ranges.length} ranges, ${processes} worker processes`);

    // Baseline in this process: the same two functions, called directly.
    console.log('baseline, single process:');
    let t0 = performance.now();
    loadTable(path);
    const expected = scoreRange(0, ROWS).total;
    const serialMs = performance.now() - t0;

    const self = tasks<typeof import('./02-range-split.ts')>(new URL(import.meta.url));
    console.log(`pool of ${processes}:`);
    t0 = performance.now();
    let results: RangeResult[];
    {
      await using pool = new Pool({ processes, initializer: self.loadTable, initargs: [path] });
      results = await pool.starmap(self.scoreRange, ranges);
    }
    const parallelMs = performance.now() - t0;

    const perPid = new Map<number, number>();
    for (const r of results) perPid.set(r.pid, (perPid.get(r.pid) ?? 0) + 1);
    for (const [pid, n] of perPid) console.log(`  worker pid ${pid} scored ${n} ranges`);
    const total = results.reduce((sum, r) => sum + r.total, 0);
    if (total !== expected) throw new Error(`parallel total ${total} differs from the single-process total ${expected}`);
    console.log(`total score ${total} (matches single process)`);
    console.log(`single process ${serialMs.toFixed(0)} ms, pool of ${processes} ${parallelMs.toFixed(0)} ms (incl. start-up and ${processes} table loads): speedup ${(serialMs / parallelMs).toFixed(2)}x`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMainProcess()) await main();
