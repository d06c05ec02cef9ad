// 01 · Element-wise work: convert many text files to JSON files, with a constant extra argument.
//
// Python idiom: concurrent.futures.ProcessPoolExecutor.map with a repeated argument,
//
//     with ProcessPoolExecutor() as ex:
//         for result in ex.map(convert, files, itertools.repeat(out_dir), chunksize=8):
//             print(result)
//
// Here: `executor.map(convert, files, repeat(outDir, files.length), { chunksize: 8 })`, an
// ordered async iterator; `await using` plays the part of Python's `with`.
//
// Watch for: results come back in input order even though two or more workers convert files
// at the same time; the "files per worker" lines show the work spread over distinct pids;
// chunksize = 8 sends files eight at a time, so a small task costs one message, not one each.
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
// In your project: import { ProcessPoolExecutor, cpuCount } from 'multiproc';
import { ProcessPoolExecutor, cpuCount, currentProcess } from '../src/index.ts';

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

/** itertools.repeat(value, times): the same value, `times` times. */
function* repeat<T>(value: T, times: number): Generator<T> {
  for (let i = 0; i < times; i++) yield value;
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

  const t0 = performance.now();
  const perPid = new Map<number, number>();
  let words = 0;
  let index = 0;
  {
    await using executor = new ProcessPoolExecutor({ maxWorkers: workers });
    // The trailing plain object is map's options; `repeat` is the constant extra argument.
    for await (const result of executor.map(convert, files, repeat(outDir, files.length), { chunksize: 8 })) {
      // Ordered: the i-th result belongs to the i-th input, whichever worker finished first.
      if (result.input !== files[index]) throw new Error(`out of order: expected ${files[index]}, got ${result.input}`);
      index++;
      words += result.words;
      perPid.set(result.pid, (perPid.get(result.pid) ?? 0) + 1);
    }
  }
  const ms = performance.now() - t0;

  for (const [pid, count] of [...perPid].sort((a, b) => a[0] - b[0])) console.log(`  worker pid ${pid}: ${count} files`);
  const written = (await readdir(outDir)).filter((f) => f.endsWith('.json'));
  const sample = JSON.parse(await readFile(join(outDir, written.sort()[0]!), 'utf8')) as Record<string, unknown>;
  console.log(`  sample ${written[0]}: title=${JSON.stringify(sample.title)} tags=${JSON.stringify(sample.tags)} words=${sample.words}`);
  console.log(`converted ${written.length}/${files.length} files (${words} words) in order, in ${ms.toFixed(0)} ms with ${perPid.size} worker pids`);
  if (written.length !== files.length) throw new Error(`expected ${files.length} JSON files, found ${written.length}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
