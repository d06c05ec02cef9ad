// 04 · Chunked output: several workers write 1,000,000 JSON lines as gzip parts, which are then
//      concatenated into ONE valid .gz file (a multi-member gzip) and verified.
//
// Python idiom: Pool.starmap over (part, start, stop) + gzip.open(..., 'wt') in each worker,
// then shutil.copyfileobj to concatenate,
//
//     def write_part(path, start, stop):
//         with gzip.open(path, 'wt') as f:
//             for i in range(start, stop): f.write(json.dumps(record(i)) + '\n')
//     with Pool() as pool:
//         pool.starmap(write_part, [(f'part-{k}.gz', a, b) for k, (a, b) in enumerate(ranges)])
//     with open('all.jsonl.gz', 'wb') as out:
//         for p in parts: shutil.copyfileobj(open(p, 'rb'), out)
//
// Why concatenation works: a gzip file may hold several members back to back (RFC 1952 §2.2);
// `gzip -d`, Python's gzip module and Node's zlib.createGunzip() read them all as one stream.
// So nobody has to recompress: the parts are compressed in parallel and simply appended.
//
// Watch for: one "wrote part" line per part with its pid and throughput; the "parallel write"
// line: the workers' summed time over the wall time, i.e. how many parts were being written at
// once (start-up is timed apart, before the clock starts), with a "note:" on what the figure
// means; the final file's size, and the verification line: the line count and that ids run
// 0..N-1 in order, read back through a single gunzip stream.
//
// Run:   npx tsx examples/04-gzip-parts.ts                  (1,000,000 lines)
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/04-gzip-parts.ts   (50,000 lines)
//
// Task style: MODULE REFERENCE to this file (writePart uses the module's imports and the
// `record` helper); main() is guarded by isMainProcess().

import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
// In your project: import { Pool, cpuCount, isMainProcess, repeat, tasks } from 'multiproc';
import { Pool, cpuCount, currentProcess, isMainProcess, repeat, tasks } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const LINES = SMALL ? 50_000 : 1_000_000;
/** True under tsx (`npx tsx file.ts`): then every worker also loads the TypeScript loader. */
const underTsx = process.execArgv.some((arg) => arg.includes('tsx'));
/** How busy the machine was before this program started: other programs share the cores. */
const loadBefore = loadavg()[0]!;

/** The record on line `id`. Deterministic, so the reader can check every line. */
function record(id: number): { id: number; user: string; score: number; tags: string[] } {
  return { id, user: `user-${id % 9973}`, score: ((id * 2654435761) >>> 0) / 4294967296, tags: id % 3 === 0 ? ['fizz'] : [] };
}

/** What a worker reports about the part it wrote. */
export interface PartInfo {
  path: string;
  lines: number;
  bytes: number;
  ms: number;
  pid: number;
}

/** Write records [start, stop) to `path` as one gzip member. Runs in a worker. */
export async function writePart(path: string, start: number, stop: number): Promise<PartInfo> {
  const t0 = performance.now();
  const gzip = createGzip();
  const done = pipeline(gzip, createWriteStream(path));
  // Lines are batched into ~1,000-line strings: one stream write per line would be slow.
  let batch: string[] = [];
  for (let id = start; id < stop; id++) {
    batch.push(JSON.stringify(record(id)));
    if (batch.length === 1000 || id === stop - 1) {
      if (!gzip.write(batch.join('\n') + '\n')) await once(gzip, 'drain');
      batch = [];
    }
  }
  gzip.end();
  await done;
  return { path, lines: stop - start, bytes: (await stat(path)).size, ms: performance.now() - t0, pid: process.pid };
}

/** Read a (multi-member) .gz of JSON lines; count them and check that ids run 0, 1, 2… */
async function verify(path: string): Promise<number> {
  const lines = createInterface({ input: createReadStream(path).pipe(createGunzip()), crlfDelay: Infinity });
  let expected = 0;
  for await (const line of lines) {
    const { id } = JSON.parse(line) as { id: number };
    if (id !== expected) throw new Error(`line ${expected + 1} has id ${id}: parts were concatenated out of order`);
    expected++;
  }
  return expected;
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
  const self = tasks<typeof import('./04-gzip-parts.ts')>(new URL(import.meta.url));
  const pids = new Set<number>();
  while (pids.size < n) for (const pid of await pool.map(self.pidAfter, repeat(20, n))) pids.add(pid);
  return performance.now() - t0;
}

/** One line on what "N x at once" means, whatever it came out as. */
function explain(atOnce: number, processes: number): string {
  const ideal = Math.min(processes, cpuCount());
  if (atOnce >= ideal * 0.8) return `close to the ideal ${ideal}x: ${ideal} parts were being compressed at any moment, one per core`;
  const why: string[] = [];
  if (SMALL) why.push('a part this small is written in about the time it takes to send the task and its reply');
  if (loadBefore >= cpuCount()) why.push(`other programs were using the cores: load average ${loadBefore.toFixed(1)} on ${cpuCount()} cores`);
  if (why.length === 0) why.push('the parts do not end together, so near the end one worker writes alone');
  return `below the ideal ${ideal}x: ${why.join('; ')}`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'multiproc-04-'));
  try {
    const processes = Math.max(2, cpuCount());
    const parts = processes * 2;
    const jobs: Array<[string, number, number]> = [];
    for (let k = 0; k < parts; k++) {
      const start = Math.floor((k * LINES) / parts);
      const stop = Math.floor(((k + 1) * LINES) / parts);
      jobs.push([join(dir, `part-${String(k).padStart(3, '0')}.jsonl.gz`), start, stop]);
    }
    console.log(`main pid ${currentProcess().pid}: ${LINES} lines in ${parts} gzip parts on ${processes} workers`);

    const self = tasks<typeof import('./04-gzip-parts.ts')>(new URL(import.meta.url));
    let written: PartInfo[];
    let startupMs: number;
    let writeMs: number;
    {
      await using pool = new Pool(processes);
      startupMs = await startUp(pool, processes);
      const t0 = performance.now();
      written = await pool.starmap(self.writePart, jobs);
      writeMs = performance.now() - t0;
    }
    console.log(`start-up: ${processes} workers ready in ${startupMs.toFixed(0)} ms (new processes${underTsx ? ' loading tsx' : ''}, each importing this module), not counted below`);
    for (const p of written) {
      const name = p.path.slice(dir.length + 1);
      console.log(`  wrote ${name}: ${p.lines} lines, ${(p.bytes / 1024).toFixed(0)} KiB in ${p.ms.toFixed(0)} ms (pid ${p.pid}, ${((p.lines / p.ms) * 1000).toFixed(0)} lines/s)`);
    }
    const workMs = written.reduce((sum, p) => sum + p.ms, 0);
    const atOnce = workMs / writeMs;
    console.log(`parallel write: ${writeMs.toFixed(0)} ms wall for ${workMs.toFixed(0)} ms of worker time: ${atOnce.toFixed(2)}x at once`);
    console.log(`note: ${explain(atOnce, processes)}`);

    // Concatenate in part order: plain byte appends, no recompression (`cat part-*.gz > all.gz`).
    const all = join(dir, 'all.jsonl.gz');
    await writeFile(all, new Uint8Array(0));
    for (const p of written) await appendFile(all, await readFile(p.path));
    const size = (await stat(all)).size;

    const t1 = performance.now();
    const count = await verify(all);
    if (count !== LINES) throw new Error(`all.jsonl.gz holds ${count} lines, expected ${LINES}`);
    console.log(`all.jsonl.gz: ${(size / 1024 / 1024).toFixed(2)} MiB, ${written.length} gzip members`);
    console.log(`verified ${count} lines (ids 0..${count - 1} in order) through one gunzip stream in ${(performance.now() - t1).toFixed(0)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMainProcess()) await main();
