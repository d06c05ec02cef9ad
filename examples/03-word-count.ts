// 03 · Returning results: count the words of many files in parallel, merge the per-file counts.
//
// Python idiom: Pool.imap_unordered + collections.Counter merging,
//
//     total = Counter()
//     with Pool() as pool:
//         for counts in pool.imap_unordered(count_words, files, chunksize=2):
//             total.update(counts)
//     print(total.most_common(10))
//
// Here: `for await (const r of pool.imapUnordered(self.countWords, files, { chunksize: 2 }))`
// merging each worker's Map into one Map as it arrives.
//
// Watch for: results arrive in completion order (the pids interleave), each worker returns a
// Map (it crosses the process boundary by structured clone, no JSON needed), and the merged
// counts equal a single-process count of the same files. The speedup line compares the two
// after start-up (printed apart), and the "note:" line under it says what the figure means:
// at the small size the pool is slower, because counting 8 small files takes less time than
// sending the work to other processes.
//
// Run:   npx tsx examples/03-word-count.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/03-word-count.ts   (a quick run)
//
// Task style: MODULE REFERENCE to this file,
// `tasks<typeof import('./03-word-count.ts')>(new URL(import.meta.url))`: countWords uses a
// helper (`tokenize`) and an import of this module, which a by-source function could not.
// Workers import this file to find countWords, so main() runs only `if (isMainProcess())`.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
// In your project: import { Pool, cpuCount, isMainProcess, repeat, tasks } from 'multiproc';
import { Pool, cpuCount, currentProcess, isMainProcess, repeat, tasks } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const FILES = SMALL ? 8 : 48;
const WORDS_PER_FILE = SMALL ? 20_000 : 200_000;
/** True under tsx (`npx tsx file.ts`): then every worker also loads the TypeScript loader. */
const underTsx = process.execArgv.some((arg) => arg.includes('tsx'));
/** How busy the machine was before this program started: other programs share the cores. */
const loadBefore = loadavg()[0]!;

/** Lower-cased words of `text`. */
function tokenize(text: string): string[] {
  return text.toLowerCase().split(/[^a-z']+/).filter(Boolean);
}

/** What one file contributes. */
export interface FileCount {
  file: string;
  pid: number;
  words: number;
  counts: Map<string, number>;
  /** Time spent reading and counting, measured inside the process that did it. */
  ms: number;
}

/** Count the words of one file. Runs in a worker (and in main, for the baseline). */
export async function countWords(path: string): Promise<FileCount> {
  const t0 = performance.now();
  const counts = new Map<string, number>();
  const words = tokenize(await readFile(path, 'utf8'));
  for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  return { file: basename(path), pid: process.pid, words: words.length, counts, ms: performance.now() - t0 };
}

/** Counter.update: add `more` into `into`. */
function merge(into: Map<string, number>, more: Map<string, number>): void {
  for (const [word, n] of more) into.set(word, (into.get(word) ?? 0) + n);
}

/** A small seeded random generator (mulberry32), so every run writes the same files. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function writeCorpus(dir: string): Promise<string[]> {
  const vocabulary = (
    'the of and to in a is that for it as was with be by on not he this are or his from at which ' +
    'but have an they you were her she there been one all we their has would when if so no will ' +
    "process pool queue worker manager pipe lock future result task chunk parallel core can't"
  ).split(' ');
  const rand = random(42);
  const paths: string[] = [];
  for (let f = 0; f < FILES; f++) {
    const words: string[] = [];
    // Squaring the random number skews the choice toward the front: a Zipf-like spread.
    for (let i = 0; i < WORDS_PER_FILE; i++) words.push(vocabulary[Math.floor(rand() ** 2 * vocabulary.length)]!);
    const path = join(dir, `book-${String(f).padStart(2, '0')}.txt`);
    await writeFile(path, words.join(separator(f)) + '\n');
    paths.push(path);
  }
  return paths;
}

/** Vary the separators a little so tokenize has something to do. */
function separator(f: number): string {
  return [' ', '  ', ', ', '. ', '\n'][f % 5]!;
}

/** This process's pid, after `ms`: the warm-up task of startUp. */
export function pidAfter(ms: number): Promise<number> {
  return new Promise((resolve) => setTimeout(() => resolve(process.pid), ms));
}

/**
 * Start-up, timed apart from the work: a Pool starts its processes at once, but each is a new
 * Node process that is ready only some hundreds of ms later, and it imports this module when
 * it first runs one of its functions. Run `pidAfter` (from this module) until each of the `n`
 * workers has answered once; the time after this is the work alone. Returns the ms.
 */
async function startUp(pool: Pool, n: number): Promise<number> {
  const t0 = performance.now();
  const self = tasks<typeof import('./03-word-count.ts')>(new URL(import.meta.url));
  const pids = new Set<number>();
  while (pids.size < n) for (const pid of await pool.map(self.pidAfter, repeat(20, n))) pids.add(pid);
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
  let line = `${verdict} (${speedup.toFixed(2)}x): the workers' ${workMs.toFixed(0)} ms of counting took ${wallMs.toFixed(0)} ms of wall time (${atOnce.toFixed(2)}x at once`;
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
  const dir = await mkdtemp(join(tmpdir(), 'multiproc-03-'));
  try {
    const files = await writeCorpus(dir);
    const processes = Math.max(2, cpuCount());
    console.log(`main pid ${currentProcess().pid}: counting words in ${files.length} files (${WORDS_PER_FILE} words each), ${cpuCount()} cores`);

    // Baseline: the same function, in this process, one file after another.
    let t0 = performance.now();
    const expected = new Map<string, number>();
    for (const file of files) merge(expected, (await countWords(file)).counts);
    const serialMs = performance.now() - t0;

    const self = tasks<typeof import('./03-word-count.ts')>(new URL(import.meta.url));
    const total = new Map<string, number>();
    let words = 0;
    let workMs = 0;
    const seenPids = new Set<number>();
    let startupMs: number;
    let parallelMs: number;
    {
      await using pool = new Pool(processes);
      startupMs = await startUp(pool, processes);
      t0 = performance.now();
      for await (const r of pool.imapUnordered(self.countWords, files, { chunksize: 2 })) {
        merge(total, r.counts);
        words += r.words;
        workMs += r.ms;
        seenPids.add(r.pid);
        console.log(`  ${r.file}: ${r.words} words, ${r.counts.size} distinct (pid ${r.pid})`);
      }
      parallelMs = performance.now() - t0;
    }

    if (words !== FILES * WORDS_PER_FILE) throw new Error(`counted ${words} words, wrote ${FILES * WORDS_PER_FILE}`);
    for (const [word, n] of expected) if (total.get(word) !== n) throw new Error(`count of "${word}": ${total.get(word)} != ${n}`);
    const top = [...total].sort((a, b) => b[1] - a[1]).slice(0, 8);
    console.log(`most common: ${top.map(([w, n]) => `${w}=${n}`).join(' ')}`);
    console.log(`merged ${words} words (${total.size} distinct) from ${files.length} files on ${seenPids.size} worker pids (matches single process)`);
    console.log(`start-up: ${processes} workers ready in ${startupMs.toFixed(0)} ms (new processes${underTsx ? ' loading tsx' : ''}, each importing this module), not counted below`);
    console.log(`single process ${serialMs.toFixed(0)} ms, pool of ${processes} ${parallelMs.toFixed(0)} ms: speedup ${(serialMs / parallelMs).toFixed(2)}x`);
    console.log(`note: ${explain(serialMs, parallelMs, workMs, processes, 'reading a file and sending its counts back leave a worker waiting')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMainProcess()) await main();
