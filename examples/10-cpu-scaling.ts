// 10 · CPU-heavy "image" work with starmap and a progress bar, and the process-count experiment.
//
// Python idiom: Pool.starmap over image tiles with a tqdm bar, timed for several pool sizes,
//
//     for n in [1, 2, cpu_count(), 2 * cpu_count()]:
//         t0 = time.perf_counter()
//         with Pool(n) as pool:
//             bands = pool.starmap(blur, tqdm(args, desc=f'processes={n}'))
//         print(n, time.perf_counter() - t0)
//
// Here: `pool.starmap(blurBand, args, { progress: { desc } })`: the bar is drawn on stderr
// (in place on a terminal, a few plain lines otherwise) while the results stay ordered.
//
// Watch for: the table at the end. Each pool's start-up (new processes) is timed apart, in its
// own column; the speedup compares the work alone with the same work on a pool of 1. Up to
// cpuCount processes the time drops (the speedup approaches the number of cores, minus the cost
// of copying the bands); past cpuCount it stops improving, and 2×cpuCount is usually a little
// slower: the extra processes only share the same cores. The "note:" lines under the table say
// what the figures mean on this run (at the small size the bands are too small to gain
// anything). Every run produces the same checksum: the image is split into bands that are
// blurred independently, so the result cannot depend on who blurred what.
//
// Run:   npx tsx examples/10-cpu-scaling.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/10-cpu-scaling.ts   (a quick run)
//
// Task style: BY SOURCE. blurBand is pure arithmetic on its arguments: the simplest thing to
// send as source text. The bands are Uint8Arrays, which structured clone copies efficiently.

import { loadavg } from 'node:os';
// In your project: import { Pool, cpuCount, repeat } from 'multiproc';
import { Pool, cpuCount, currentProcess, repeat } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const WIDTH = SMALL ? 256 : 1536;
const HEIGHT = SMALL ? 256 : 1536;
const BANDS = 16;
const PASSES = SMALL ? 4 : 200;
/** How busy the machine was before this program started: other programs share the cores. */
const loadBefore = loadavg()[0]!;

/**
 * Blur a band of a grayscale image `passes` times with a 3×3 box filter (edges clamped to the
 * band). Returns the blurred band and the pid that did it. Sent by source: arguments only.
 */
function blurBand(band: Uint8Array, width: number, rows: number, passes: number): { pixels: Uint8Array; pid: number } {
  let src: Uint8Array = band;
  let dst: Uint8Array = new Uint8Array(band.length);
  for (let pass = 0; pass < passes; pass++) {
    for (let y = 0; y < rows; y++) {
      const above = (y > 0 ? y - 1 : 0) * width;
      const here = y * width;
      const below = (y < rows - 1 ? y + 1 : rows - 1) * width;
      for (let x = 0; x < width; x++) {
        const l = x > 0 ? x - 1 : 0;
        const r = x < width - 1 ? x + 1 : width - 1;
        const sum =
          src[above + l]! + src[above + x]! + src[above + r]! +
          src[here + l]! + src[here + x]! + src[here + r]! +
          src[below + l]! + src[below + x]! + src[below + r]!;
        dst[here + x] = (sum / 9) | 0;
      }
    }
    [src, dst] = [dst, src];
  }
  return { pixels: src, pid: process.pid };
}

/** A synthetic grayscale test image: rings and stripes. */
function makeImage(): Uint8Array {
  const img = new Uint8Array(WIDTH * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const r = Math.hypot(x - WIDTH / 2, y - HEIGHT / 2);
      img[y * WIDTH + x] = (Math.sin(r / 6) * 100 + 128 + ((x >> 4) % 2) * 20) & 0xff;
    }
  }
  return img;
}

/** A simple rolling checksum of the assembled image. */
function checksum(bands: Uint8Array[]): number {
  let h = 0;
  for (const band of bands) for (let i = 0; i < band.length; i++) h = (Math.imul(h, 31) + band[i]!) >>> 0;
  return h;
}

const cores = cpuCount();
const image = makeImage();
const rowsPerBand = HEIGHT / BANDS;
const args = Array.from({ length: BANDS }, (_, b) => {
  const band = image.slice(b * rowsPerBand * WIDTH, (b + 1) * rowsPerBand * WIDTH);
  return [band, WIDTH, rowsPerBand, PASSES] as [Uint8Array, number, number, number];
});
console.log(`main pid ${currentProcess().pid}: ${WIDTH}x${HEIGHT} image, ${BANDS} bands, ${PASSES} blur passes, cpuCount() = ${cores}`);

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

// The experiment: 1, 2, cpuCount and 2×cpuCount processes (each size once).
const sizes = [...new Set([1, 2, cores, 2 * cores])].sort((a, b) => a - b);
const rows: Array<{ processes: number; startupMs: number; ms: number; pids: number; sum: number }> = [];
for (const processes of sizes) {
  let startupMs: number;
  let ms: number;
  let results: Array<{ pixels: Uint8Array; pid: number }>;
  {
    await using pool = new Pool(processes);
    startupMs = await startUp(pool, processes);
    // The clock starts once every worker is up: the column "work ms" is the blur alone.
    const t0 = performance.now();
    results = await pool.starmap(blurBand, args, { progress: { desc: `processes=${processes}` } });
    ms = performance.now() - t0;
  }
  const sum = checksum(results.map((r) => r.pixels));
  rows.push({ processes, startupMs, ms, pids: new Set(results.map((r) => r.pid)).size, sum });
  console.log(`  processes=${processes}: ${ms.toFixed(0)} ms on ${rows.at(-1)!.pids} worker pids after ${startupMs.toFixed(0)} ms of start-up, checksum ${sum.toString(16)}`);
}

if (new Set(rows.map((r) => r.sum)).size !== 1) throw new Error('the blurred image differs between pool sizes');
const base = rows[0]!.ms;
const label = (n: number): string => (n === cores ? ' (cpu)' : n === 2 * cores ? ' (2×cpu)' : '');
console.log(`\n processes        | start-up ms | work ms | speedup | per process`);
console.log(' -----------------+-------------+---------+---------+------------');
for (const r of rows) {
  const speedup = base / r.ms;
  console.log(
    ` ${(String(r.processes) + label(r.processes)).padEnd(16)} | ${r.startupMs.toFixed(0).padStart(11)} | ${r.ms.toFixed(0).padStart(7)} | ${speedup.toFixed(2).padStart(6)}x | ${((speedup / r.processes) * 100).toFixed(0).padStart(9)}%`,
  );
}
const best = rows.reduce((a, b) => (b.ms < a.ms ? b : a));
console.log(`fastest: processes=${best.processes} (${(base / best.ms).toFixed(2)}x over 1 process); checksum identical for every pool size`);
for (const line of explain()) console.log(`note: ${line}`);

/** What the table means on this run: the cpuCount row against its ideal, and the rows past it. */
function explain(): string[] {
  const lines = [`start-up has its own column and is not in the speedup: each worker is a new node process, ready only after its start-up`];
  const atCores = rows.find((r) => r.processes === cores)!;
  const speedup = base / atCores.ms;
  const bandMs = base / BANDS;
  if (speedup >= cores * 0.8) {
    lines.push(`close to the ideal ${cores}x at processes=${cores} (${speedup.toFixed(2)}x): every core blurred its share of the bands`);
  } else {
    const why: string[] = [];
    if (bandMs < 50) why.push(`a band takes ~${bandMs.toFixed(0)} ms, too little to outweigh sending it and its result${SMALL ? ' (the small size; run without MULTIPROC_EXAMPLE_SMALL)' : ''}`);
    if (loadBefore >= cores) why.push(`other programs were using the cores: load average ${loadBefore.toFixed(1)} on ${cores} cores`);
    if (why.length === 0) why.push(`${BANDS} bands do not always split evenly, and copying each band and its result costs time`);
    lines.push(`below the ideal ${cores}x at processes=${cores} (${speedup.toFixed(2)}x): ${why.join('; ')}`);
  }
  const past = rows.find((r) => r.processes === 2 * cores);
  if (past) lines.push(`processes=${past.processes} cannot beat processes=${cores}: ${past.processes} processes take turns on ${cores} cores`);
  return lines;
}
