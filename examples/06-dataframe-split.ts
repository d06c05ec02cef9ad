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
// that the concatenated rows come back in the original order, and the speedup. Each chunk is
// copied to its worker and the result copied back (structured clone), so parallelism pays
// only when the per-row work outweighs that copying; try making `work` smaller to watch the
// speedup vanish.
//
// Run:   npx tsx examples/06-dataframe-split.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/06-dataframe-split.ts   (a quick run)
//
// Task style: BY SOURCE. `transform` only touches its arguments, so it is sent as source
// text; the same function also runs in this process for the single-process baseline.

// In your project: import { Pool, arraySplit, cpuCount } from 'multiproc';
import { Pool, arraySplit, cpuCount, currentProcess } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const ROWS = SMALL ? 10_000 : 100_000;

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

const n = Math.max(2, cpuCount());
console.log(`main pid ${currentProcess().pid}: ${ROWS} rows, ${n} chunks`);

let t0 = performance.now();
const expected = transform(sales);
const serialMs = performance.now() - t0;

const chunks = arraySplit(sales, n);
console.log(`  chunk sizes: ${chunks.map((c) => c.length).join(', ')}`);
t0 = performance.now();
let frame: EnrichedSale[];
{
  await using pool = new Pool(n);
  const parts = await pool.map(transform, chunks);
  parts.forEach((part, i) => console.log(`  chunk ${i}: ${part.length} rows transformed by pid ${part[0]?.pid}`));
  frame = parts.flat(); // pd.concat
}
const parallelMs = performance.now() - t0;

if (frame.length !== ROWS) throw new Error(`concat has ${frame.length} rows, expected ${ROWS}`);
for (let i = 0; i < ROWS; i++) {
  if (frame[i]!.id !== i || frame[i]!.risk !== expected[i]!.risk) throw new Error(`row ${i} differs from the single-process result`);
}
const byBand = new Map<string, number>();
for (const row of frame) byBand.set(row.band, (byBand.get(row.band) ?? 0) + 1);
console.log(`  bands: ${[...byBand].map(([b, c]) => `${b}=${c}`).join(' ')}`);
console.log(`concatenated ${frame.length} rows in order (matches single process)`);
console.log(`single process ${serialMs.toFixed(0)} ms, pool of ${n} ${parallelMs.toFixed(0)} ms (incl. start-up and copying): speedup ${(serialMs / parallelMs).toFixed(2)}x`);
