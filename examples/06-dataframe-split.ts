// 06 · DataFrame style: split an array of records into N chunks, transform each chunk in a
//      pool, concatenate the results.
//
// Python idiom: numpy.array_split + Pool.map + pandas.concat,
//
//     chunks = np.array_split(df, n)
//     with Pool(n) as pool:
//         df = pd.concat(pool.map(transform, chunks))
//
// Here: `arraySplit(records, n)` (numpy's array_split semantics: sizes differ by at most one),
// `await pool.map(transform, chunks)`, and `.flat()` for pd.concat.
//
// Watch for: the chunk sizes (they differ by at most one), which pid transformed which chunk,
// that the concatenated rows come back in the original order, and the timings. Each chunk is
// copied to its worker and the result copied back (rows of one shape travel by columns,
// rebuilt on arrival: see the README, "Tables of rows"), so parallelism pays only when the
// per-row work outweighs that copying. The program measures the copying on its
// own (the same chunks through a task that returns its input unchanged) and its "note:" line
// splits the pool's time into copying and transforming; try making `work` smaller to watch
// the speedup vanish. Start-up (new processes) is timed apart, before the clock starts.
//
// Run:   npx tsx examples/06-dataframe-split.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/06-dataframe-split.ts   (a quick run)
//
// Task style: BY SOURCE. `transform` only touches its arguments, so it is sent as source
// text; the same function also runs in this process for the single-process baseline.

import { loadavg } from 'node:os';
// In your project: import { Pool, arraySplit, cpuCount, repeat } from 'multiproc';
import { Pool, arraySplit, cpuCount, currentProcess, repeat } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const ROWS = SMALL ? 10_000 : 100_000;
/** How busy the machine was before this program started: other programs share the cores. */
const loadBefore = loadavg()[0]!;

/** One row of the input "frame". */
interface Sale {
  id: number;
  region: string;
  price: number;
  qty: number;
}

/** One row of the output: the input columns plus derived ones. */
interface EnrichedSale extends Sale {
  total: number;
  band: 'small' | 'medium' | 'large';
  risk: number;
  pid: number;
}

/** Add derived columns to every row of a chunk. Sent by source: uses only its argument. */
function transform(chunk: Sale[]): EnrichedSale[] {
  // Stand-in for real per-row work (a model score, a parse, a regex): `work` rounds of math.
  // A constant of this file could not be read here (the function travels as source text).
  const work = 1000;
  return chunk.map((row) => {
    const total = Math.round(row.price * row.qty * 100) / 100;
    let risk = row.id;
    for (let i = 0; i < work; i++) risk = (risk * 1664525 + 1013904223 + row.qty) % 4294967296;
    return { ...row, total, band: total < 100 ? 'small' : total < 1000 ? 'medium' : 'large', risk: risk % 100, pid: process.pid };
  });
}

const regions = ['north', 'south', 'east', 'west'];
const sales: Sale[] = Array.from({ length: ROWS }, (_, id) => ({
  id,
  region: regions[id % 4]!,
  price: ((id * 37) % 500) + 0.99,
  qty: (id % 13) + 1,
}));

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

const n = Math.max(2, cpuCount());
console.log(`main pid ${currentProcess().pid}: ${ROWS} rows, ${n} chunks, ${cpuCount()} cores`);

let t0 = performance.now();
const expected = transform(sales);
const serialMs = performance.now() - t0;

const chunks = arraySplit(sales, n);
console.log(`  chunk sizes: ${chunks.map((c) => c.length).join(', ')}`);
let frame: EnrichedSale[];
let parallelMs: number;
let copyMs: number;
{
  await using pool = new Pool(n);
  const startupMs = await startUp(pool, n);
  console.log(`start-up: ${n} workers ready in ${startupMs.toFixed(0)} ms (new processes), not counted below`);
  t0 = performance.now();
  const parts = await pool.map(transform, chunks);
  parallelMs = performance.now() - t0;
  parts.forEach((part, i) => console.log(`  chunk ${i}: ${part.length} rows transformed by pid ${part[0]?.pid}`));
  frame = parts.flat(); // pd.concat
  // The cost of copying alone: the same chunks there and back through a task that does nothing.
  const identity = (chunk: EnrichedSale[]) => chunk;
  t0 = performance.now();
  await pool.map(identity, parts);
  copyMs = performance.now() - t0;
}

if (frame.length !== ROWS) throw new Error(`concat has ${frame.length} rows, expected ${ROWS}`);
for (let i = 0; i < ROWS; i++) {
  if (frame[i]!.id !== i || frame[i]!.risk !== expected[i]!.risk) throw new Error(`row ${i} differs from the single-process result`);
}
const byBand = new Map<string, number>();
for (const row of frame) byBand.set(row.band, (byBand.get(row.band) ?? 0) + 1);
console.log(`  bands: ${[...byBand].map(([b, c]) => `${b}=${c}`).join(' ')}`);
console.log(`concatenated ${frame.length} rows in order (matches single process)`);
const speedup = serialMs / parallelMs;
console.log(`single process ${serialMs.toFixed(0)} ms, pool of ${n} ${parallelMs.toFixed(0)} ms: speedup ${speedup.toFixed(2)}x`);
console.log(`note: ${explain()}`);

/**
 * One line on what the measured speedup means: the pool's time split into copying (measured
 * alone) and transforming, and the transforming set against this process's time for the same
 * share of rows.
 */
function explain(): string {
  const ideal = Math.min(n, cpuCount());
  const verdict = speedup < 1 ? 'the pool is slower' : speedup < ideal * 0.8 ? `below the ideal ${ideal}x` : `close to the ideal ${ideal}x`;
  const transformMs = Math.max(1, parallelMs - copyMs);
  const shareMs = serialMs / n; // one chunk's rows, as this process transformed them
  let line =
    `${verdict}: of the pool's ${parallelMs.toFixed(0)} ms, ${copyMs.toFixed(0)} ms is copying rows to the workers and back ` +
    `(measured alone: the same chunks through a task that returns its input) and ${transformMs.toFixed(0)} ms is transforming, ` +
    `where one chunk took ${shareMs.toFixed(0)} ms in this process`;
  const slower = transformMs / shareMs;
  if (slower > 1.1) {
    const why: string[] = [];
    if (SMALL) why.push('a fresh process runs code slowly until V8 has optimized it, which shows on a short job');
    if (loadBefore >= cpuCount()) why.push(`other programs were using the cores: load average ${loadBefore.toFixed(1)} on ${cpuCount()} cores`);
    if (why.length === 0) why.push('side by side, processes share the caches and memory bandwidth of the machine');
    line += ` (${slower.toFixed(1)}x longer in the workers: ${why.join('; ')})`;
  } else {
    line += copyMs > transformMs * 0.2 ? ': the split works, and the copying is what it costs' : ': the split works';
  }
  return line;
}
