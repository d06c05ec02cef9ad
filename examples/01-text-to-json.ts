// 01 · Element-wise work: convert many text files to JSON files, with a constant extra argument.
//
// Python idiom: concurrent.futures.ProcessPoolExecutor.map with a repeated argument,
//
//     with ProcessPoolExecutor() as ex:
//         for result in ex.map(convert, files, itertools.repeat(out_dir), chunksize=8):
//             print(result)
//
// Here: `executor.map(convert, files, repeat(outDir), { chunksize: 8 })`, an ordered async
// iterator. `repeat(outDir)` is itertools.repeat(out_dir): endless, and map stops at the
// shortest iterable (here `files`), as Python's zip does. `await using` plays the part of
// Python's `with`.
//
// Watch for: the start-up line (the workers are new processes: the clock for the work starts
// once every one of them has answered a first tiny task); results come back in input order
// even though two or more workers convert files at the same time; the "files per worker" lines
// show the work spread over distinct pids, not necessarily evenly (chunksize = 8: a worker
// takes the next eight files whenever it is free, so a small task costs one message, not one
// each).
//
// Run:   npx tsx examples/01-text-to-json.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/01-text-to-json.ts   (a quick run)
//
// Task style: BY SOURCE. `convert` is a plain function: multiproc sends its source text to the
// workers. That only works because it is self-contained: it uses its parameters, globals
// (`process`, `JSON`) and `await import(...)`, never a variable or import of this file. It is
// the lightest style for small, pure helpers; example 02 shows the module style. Workers never
// import this file, so its top-level code needs no isMainProcess() guard.

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// In your project: import { ProcessPoolExecutor, collect, cpuCount, repeat } from 'multiproc';
import { ProcessPoolExecutor, collect, cpuCount, currentProcess, repeat } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const FILES = SMALL ? 24 : 400;

/** One converted file, as the worker reports it. */
interface Converted {
  input: string;
  output: string;
  words: number;
  pid: number;
}

/**
 * Parse a "header lines, blank line, body" text file and write it next to the others as JSON.
 * Runs in a worker, sent by source: every import it needs is inside it.
 */
async function convert(inputPath: string, outDir: string): Promise<Converted> {
  const { readFile, writeFile } = await import('node:fs/promises');
  const { basename, join } = await import('node:path');
  const text = await readFile(inputPath, 'utf8');
  const blank = text.indexOf('\n\n');
  const header = blank === -1 ? text : text.slice(0, blank);
  const body = blank === -1 ? '' : text.slice(blank + 2).trim();
  const record: Record<string, unknown> = {};
  for (const line of header.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) record[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  if (typeof record.tags === 'string') record.tags = record.tags.split(',').map((t) => t.trim());
  const words = body.split(/\s+/).filter(Boolean).length;
  record.body = body;
  record.words = words;
  const output = join(outDir, basename(inputPath, '.txt') + '.json');
  await writeFile(output, JSON.stringify(record, null, 2) + '\n');
  return { input: inputPath, output, words, pid: process.pid };
}

/**
 * Start-up, timed apart from the work: an executor starts its processes at once, but each is a
 * new Node process that is ready only some tens to hundreds of ms later. Run short tasks until
 * each of the `n` workers has answered one; the time after this is the work alone. Returns the
 * milliseconds it took.
 */
async function startUp(executor: ProcessPoolExecutor, n: number): Promise<number> {
  const t0 = performance.now();
  const pause = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(process.pid), ms));
  const pids = new Set<number>();
  while (pids.size < n) for (const pid of await collect(executor.map(pause, repeat(20, n)))) pids.add(pid);
  return performance.now() - t0;
}

/** Write `count` small text files to `dir` (the input data) and return their paths. */
async function makeInputs(dir: string, count: number): Promise<string[]> {
  const authors = ['ada', 'grace', 'linus', 'guido', 'brendan'];
  const tags = ['alpha', 'beta', 'gamma', 'delta'];
  const lorem = 'the quick brown fox jumps over the lazy dog while the pool keeps every core busy'.split(' ');
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const body = Array.from({ length: 40 + (i % 60) }, (_, k) => lorem[(i * 7 + k * 3) % lorem.length]).join(' ');
    const text =
      `title: Report ${i}\nauthor: ${authors[i % authors.length]}\n` +
      `date: 2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}\n` +
      `tags: ${tags[i % 4]}, ${tags[(i + 1) % 4]}\n\n${body}\n`;
    const path = join(dir, `report-${String(i).padStart(4, '0')}.txt`);
    await writeFile(path, text);
    paths.push(path);
  }
  return paths;
}

const root = await mkdtemp(join(tmpdir(), 'multiproc-01-'));
try {
  const inDir = join(root, 'in');
  const outDir = join(root, 'out');
  await mkdir(inDir);
  await mkdir(outDir);
  const files = await makeInputs(inDir, FILES);
  const workers = Math.max(2, cpuCount());
  console.log(`main pid ${currentProcess().pid}: converting ${files.length} text files with ${workers} workers`);

  const perPid = new Map<number, number>();
  let words = 0;
  let index = 0;
  let ms: number;
  {
    await using executor = new ProcessPoolExecutor({ maxWorkers: workers });
    const startupMs = await startUp(executor, workers);
    console.log(`start-up: ${workers} workers ready in ${startupMs.toFixed(0)} ms (new processes); the time below counts the work only`);
    const t0 = performance.now();
    // The trailing plain object is map's options; `repeat(outDir)` is the constant extra
    // argument, endless like itertools.repeat: map stops when `files` runs out.
    for await (const result of executor.map(convert, files, repeat(outDir), { chunksize: 8 })) {
      // Ordered: the i-th result belongs to the i-th input, whichever worker finished first.
      if (result.input !== files[index]) throw new Error(`out of order: expected ${files[index]}, got ${result.input}`);
      index++;
      words += result.words;
      perPid.set(result.pid, (perPid.get(result.pid) ?? 0) + 1);
    }
    ms = performance.now() - t0;
  }

  for (const [pid, count] of [...perPid].sort((a, b) => a[0] - b[0])) console.log(`  worker pid ${pid}: ${count} files`);
  console.log('note: the counts need not be equal: a worker takes the next 8 files (chunksize) whenever it is free');
  const written = (await readdir(outDir)).filter((f) => f.endsWith('.json'));
  const sample = JSON.parse(await readFile(join(outDir, written.sort()[0]!), 'utf8')) as Record<string, unknown>;
  console.log(`  sample ${written[0]}: title=${JSON.stringify(sample.title)} tags=${JSON.stringify(sample.tags)} words=${sample.words}`);
  console.log(`converted ${written.length}/${files.length} files (${words} words) in order, in ${ms.toFixed(0)} ms after start-up with ${perPid.size} worker pids`);
  if (written.length !== files.length) throw new Error(`expected ${files.length} JSON files, found ${written.length}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
