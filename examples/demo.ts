// demo · A guided tour of multiproc in well under a minute: processes, a pool with its speedup,
//        futures, a queue and a manager, each in a few lines, then a one-screen summary.
//
// Python idioms, in order: multiprocessing.Process; Pool.map (+ the speedup over a plain
// loop); concurrent.futures submit/as_completed; Queue with sentinels; Manager().dict().
//
// Watch for: each step first prints the code it runs (the lines between `// show N` and
// `// end show` below, read from this very file, so what is shown is what runs), then what
// that code printed. Every step prints the pids that did the work (they differ from the main
// pid); step 2 prints the speedup of a pool over a plain loop, its start-up apart and a note
// on what the figure means; step 3 prints the order in which the futures finished, a failure
// among them that comes back as a RemoteError without stopping the others; the summary ends.
//
// Run:   npm run demo        (or: npx tsx examples/demo.ts)
//        MULTIPROC_EXAMPLE_SMALL=1 npm run demo   (less CPU work in step 2: the smoke test)
//
// Task styles: step 2 runs `spin` by MODULE REFERENCE to this very file
// (`tasks<typeof import('./demo.ts')>(new URL(import.meta.url))`), so the main code below is
// guarded by isMainProcess(); the other steps send small self-contained functions BY SOURCE.
// The numbered examples (examples/01-…11-) teach each idiom at length.

import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
// In your project: import { ... } from 'multiproc';
import {
  Manager,
  Pool,
  Process,
  ProcessPoolExecutor,
  Queue,
  RemoteError,
  asCompleted,
  cpuCount,
  currentProcess,
  isMainProcess,
  repeat,
  tasks,
  type DictProxy,
} from '../src/index.ts';

/** CPU-bound busy work: `rounds` steps of integer arithmetic, who did it and how long it took. For step 2. */
export function spin(rounds: number): { value: number; pid: number; ms: number } {
  const t0 = performance.now();
  let x = rounds;
  for (let i = 0; i < rounds; i++) x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  return { value: x, pid: process.pid, ms: performance.now() - t0 };
}

/** This process's pid, after `ms`: the warm-up task of step 2 (it also makes a worker import this module). */
export function pidAfter(ms: number): Promise<number> {
  return new Promise((resolve) => setTimeout(() => resolve(process.pid), ms));
}

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';

interface Step {
  title: string;
  outcome: string;
  ms: number;
}

const steps: Step[] = [];
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);

/**
 * The code of every step: the lines between a `// show N` line and the next `// end show` line
 * of this file, each block dedented, the blocks of step N in file order. Read from the file
 * itself, so the code printed is the code that runs.
 */
function shownCode(): Map<number, string[]> {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  const blocks = new Map<number, string[]>();
  let block: string[] | null = null;
  let stepNo = 0;
  for (const line of lines) {
    const open = /^\s*\/\/ show (\d+)$/.exec(line);
    if (open) {
      stepNo = Number(open[1]);
      block = [];
    } else if (line.trim() === '// end show' && block) {
      const indent = Math.min(...block.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
      blocks.set(stepNo, [...(blocks.get(stepNo) ?? []), ...block.map((l) => l.slice(indent))]);
      block = null;
    } else if (block) block.push(line);
  }
  return blocks;
}

let code = new Map<number, string[]>();

/** Run one step of the tour: its banner, the code it runs, its output, and its outcome for the summary. */
async function step(title: string, python: string, body: () => Promise<string>): Promise<void> {
  const n = steps.length + 1;
  console.log(`\n${bold(`── ${n}. ${title}`)}   (Python: ${python})`);
  for (const line of code.get(n) ?? []) console.log(dim(`   │ ${line}`));
  const t0 = performance.now();
  const outcome = await body();
  const ms = performance.now() - t0;
  steps.push({ title, outcome, ms });
  console.log(`   → ${outcome}  [${ms.toFixed(0)} ms]`);
}

/** What step 2's speedup means: how many workers ran at once, and how fast each ran compared with this process. */
function explainSpeedup(serialMs: number, wallMs: number, workMs: number, processes: number): string {
  const ideal = Math.min(processes, cpuCount());
  const speedup = serialMs / wallMs;
  const verdict =
    speedup > ideal * 1.15 ? `above the ideal ${ideal}x` : speedup < 1 ? 'the pool is slower' : speedup < ideal * 0.8 ? `below the ideal ${ideal}x` : `close to the ideal ${ideal}x`;
  const atOnce = workMs / wallMs;
  let line = `${verdict} (${speedup.toFixed(2)}x): the workers' ${workMs.toFixed(0)} ms of spinning took ${wallMs.toFixed(0)} ms of wall time (${atOnce.toFixed(2)}x at once`;
  line += atOnce < ideal * 0.8 ? `; they were often idle: ${SMALL ? 'a task this small is quicker to do than to send to another process' : '16 calls do not always split evenly'})` : ')';
  const slower = workMs / serialMs;
  if (slower > 1.1 || slower < 0.9) {
    const why: string[] = [];
    if (slower < 0.9) why.push("each process's V8 compiles its own copy of spin(), and the copies came out differently");
    if (slower > 1.1 && serialMs < 1000) why.push('a fresh process runs code slowly until V8 has optimized it, which shows on a short job');
    if (slower > 1.1 && loadBefore >= cpuCount()) why.push(`other programs were using the cores: load average ${loadBefore.toFixed(1)} on ${cpuCount()} cores`);
    if (why.length === 0) why.push('side by side, processes share the caches and memory bandwidth of the machine');
    line += `, and each ran ${slower > 1 ? `${slower.toFixed(1)}x slower` : `${(1 / slower).toFixed(1)}x faster`} than this process (${why.join('; ')})`;
  }
  return line;
}

/** How busy the machine was before the demo started: other programs share the cores. */
const loadBefore = loadavg()[0]!;

async function main(): Promise<void> {
  code = shownCode();
  const cores = cpuCount();
  const tour0 = performance.now();
  console.log(bold('multiproc demo') + `: main pid ${currentProcess().pid}, node ${process.version}, cpuCount() = ${cores}`);
  console.log(dim('Each step shows the code it runs (│ lines), then what that code printed, then its outcome (→).'));

  await step('Process: start and join', 'Process(target=f).start(); p.join()', async () => {
    // show 1
    const hello = (who: string) => console.log(`   hello from ${who}, pid ${process.pid}, parent ${process.ppid}`);
    const procs = ['first', 'second'].map((who) => new Process({ target: hello, args: [who] }));
    try {
      for (const p of procs) p.start();
      for (const p of procs) await p.join();
    } finally {
      for (const p of procs) await p[Symbol.asyncDispose](); // stops any still running (none here)
    }
    // end show
    return `2 processes (pids ${procs.map((p) => p.pid).join(', ')}) exited with codes ${procs.map((p) => p.exitCode).join(', ')}`;
  });

  let speedup = 0;
  await step('Pool.map: a CPU-bound loop, in parallel', 'Pool().map(f, xs)', async () => {
    const rounds = SMALL ? 10_000_000 : 120_000_000;
    let t0 = performance.now();
    // show 2
    const self = tasks<typeof import('./demo.ts')>(new URL(import.meta.url)); // this file's exports, for the workers
    const work = Array.from({ length: 16 }, () => rounds);
    const expected = work.map(spin); // a plain loop in this process: the baseline
    // end show
    const serialMs = performance.now() - t0;
    t0 = performance.now();
    // show 2
    const processes = Math.max(2, cores);
    await using pool = new Pool(processes);
    // Start-up apart: the clock starts once every worker has answered a first small task.
    const seen = new Set<number>();
    while (seen.size < processes) for (const pid of await pool.map(self.pidAfter, repeat(20, processes))) seen.add(pid);
    // end show
    const startupMs = performance.now() - t0;
    t0 = performance.now();
    // show 2
    const results = await pool.map(self.spin, work); // the same 16 calls, on the pool's workers
    // end show
    const parallelMs = performance.now() - t0;
    if (results.some((r, i) => r.value !== expected[i]!.value)) throw new Error('pool results differ from the loop');
    const workMs = results.reduce((sum, r) => sum + r.ms, 0);
    speedup = serialMs / parallelMs;
    console.log(`   start-up: ${processes} workers (pids ${[...new Set(results.map((r) => r.pid))].join(', ')}) ready in ${startupMs.toFixed(0)} ms, not counted below`);
    console.log(`   plain loop ${serialMs.toFixed(0)} ms; pool of ${processes} ${parallelMs.toFixed(0)} ms`);
    console.log(`   note: ${explainSpeedup(serialMs, parallelMs, workMs, processes)}`);
    return `speedup ${speedup.toFixed(2)}x on ${cores} core(s), same results`;
  });

  await step('ProcessPoolExecutor: submit + asCompleted', 'as_completed(ex.submit(f, x) for x in xs)', async () => {
    const order: string[] = [];
    // show 3
    const job = async (n: number) => {
      await new Promise((r) => setTimeout(r, 100 * (6 - n))); // job n sleeps (6 - n) × 100 ms
      if (n === 2) throw Object.assign(new TypeError(`job ${n} is broken on purpose`), { n });
      return { n, pid: process.pid };
    };
    await using executor = new ProcessPoolExecutor({ maxWorkers: 3 });
    const futures = [0, 1, 2, 3, 4, 5].map((n) => executor.submit(job, n));
    for await (const f of asCompleted(futures)) {
      try {
        const r = await f.result(); // the value, or throws the job's error
        order.push(String(r.n));
        console.log(`   job ${r.n} done on pid ${r.pid}`);
      } catch (err) {
        if (!(err instanceof RemoteError)) throw err;
        order.push(`${err.properties.n} (failed)`); // the error's own fields cross with it
        console.log(`   a job failed in pid ${err.pid}: ${err.remoteName}: ${err.message}`);
      }
    }
    // end show
    console.log(
      `   note: asCompleted yields each future when it finishes, not in the order submitted (0 to 5): a later job sleeps less, ` +
        'only 3 run at a time, and the failure is one more finished future, the others go on',
    );
    return `completion order ${order.join(', ')}`;
  });

  await step('Queue: producer/consumers with sentinels', 'Queue(); iter(q.get, None)', async () => {
    type Pair = [number, number];
    // show 4
    const consumer = async (ready: Queue<number>, q: Queue<number | null>, out: Queue<Pair>) => {
      await ready.put(process.pid); // "I am up": the producer waits for everyone, so all get a share
      for await (const n of q.until(null)) await out.put([n! * n!, process.pid]); // until() stops at the sentinel
    };
    const [ready, q, out] = [new Queue<number>(), new Queue<number | null>(), new Queue<Pair>()];
    const consumers = [1, 2].map(() => new Process({ target: consumer, args: [ready, q, out] as [Queue<number>, Queue<number | null>, Queue<Pair>] }));
    try {
      for (const p of consumers) p.start();
      for (const _ of consumers) await ready.get({ timeout: 20_000 });
      for (let n = 1; n <= 20; n++) await q.put(n);
      for (const _ of consumers) await q.put(null); // one sentinel per consumer
      const got: Pair[] = [];
      for (let i = 0; i < 20; i++) got.push(await out.get({ timeout: 20_000 }));
      for (const p of consumers) await p.join();
      // end show
      const sum = got.reduce((total, [square]) => total + square, 0);
      return `20 items through one queue to consumers on pids ${[...new Set(got.map(([, pid]) => pid))].join(', ')}; sum of squares ${sum}`;
      // show 4
    } finally {
      for (const p of consumers) await p[Symbol.asyncDispose]();
      for (const queue of [ready, q, out]) await queue.close();
    }
    // end show
  });

  await step('Manager: a dict shared by pool workers', 'Manager().dict()', async () => {
    // show 5
    const record = async (word: string, seen: DictProxy<string, number>) => {
      await seen.set(word, process.pid);
    };
    await using manager = await Manager.start();
    const seen = await manager.dict<string, number>();
    await using pool = new Pool(2);
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
    await pool.starmap(record, words.map((w) => [w, seen] as [string, DictProxy<string, number>]));
    const entries = await seen.items();
    // end show
    return `${entries.length} keys written by worker pids ${[...new Set(entries.map(([, pid]) => pid))].join(', ')} into a dict living in the manager process`;
  });

  const totalMs = performance.now() - tour0;
  console.log(`\n${bold('Summary')}`);
  console.log(' #  step                                           time    outcome');
  steps.forEach((s, i) => console.log(` ${i + 1}  ${s.title.padEnd(45)} ${(s.ms / 1000).toFixed(1).padStart(5)} s  ${s.outcome}`));
  console.log(`\ndemo finished in ${(totalMs / 1000).toFixed(1)} s: ${steps.length} steps, pool speedup ${speedup.toFixed(2)}x on ${cores} core(s).`);
  console.log('Next: run any of examples/01-…11-*.ts with `npx tsx`, e.g. `npx tsx examples/10-cpu-scaling.ts`.');
}

if (isMainProcess()) await main();
