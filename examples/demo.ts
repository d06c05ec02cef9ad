// demo · A guided tour of multiproc in well under a minute: processes, a pool with its speedup,
//        futures, a queue and a manager, each in a few lines, then a one-screen summary.
//
// Python idioms, in order: multiprocessing.Process; Pool.map (+ the speedup over a plain
// loop); concurrent.futures submit/as_completed; Queue with sentinels; Manager().dict().
//
// Watch for: every step prints the pids that did the work (they differ from the main pid),
// step 2 prints the speedup of a pool over a plain loop, step 3 a failure that comes back
// as a RemoteError without stopping the other futures, and the summary at the end.
//
// Run:   npm run demo        (or: npx tsx examples/demo.ts)
//        MULTIPROC_EXAMPLE_SMALL=1 npm run demo   (less CPU work in step 2: the smoke test)
//
// Task styles: step 2 runs `spin` by MODULE REFERENCE to this very file
// (`tasks<typeof import('./demo.ts')>(new URL(import.meta.url))`), so the main code below is
// guarded by isMainProcess(); the other steps send small self-contained functions BY SOURCE.
// The numbered examples (examples/01-…11-) teach each idiom at length.

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
  tasks,
  type DictProxy,
} from '../src/index.ts';

/** CPU-bound busy work: `rounds` steps of integer arithmetic, and who did it. For step 2. */
export function spin(rounds: number): { value: number; pid: number } {
  let x = rounds;
  for (let i = 0; i < rounds; i++) x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  return { value: x, pid: process.pid };
}

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';

interface Step {
  title: string;
  outcome: string;
  ms: number;
}

const steps: Step[] = [];
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

/** Run one step of the tour, print its banner and remember its outcome for the summary. */
async function step(title: string, python: string, body: () => Promise<string>): Promise<void> {
  console.log(`\n${bold(`── ${steps.length + 1}. ${title}`)}   (Python: ${python})`);
  const t0 = performance.now();
  const outcome = await body();
  const ms = performance.now() - t0;
  steps.push({ title, outcome, ms });
  console.log(`   → ${outcome}  [${ms.toFixed(0)} ms]`);
}

async function main(): Promise<void> {
  const cores = cpuCount();
  const tour0 = performance.now();
  console.log(bold('multiproc demo') + `: main pid ${currentProcess().pid}, node ${process.version}, cpuCount() = ${cores}`);

  await step('Process: start and join', 'Process(target=f).start(); p.join()', async () => {
    const hello = (who: string) => console.log(`   hello from ${who}, pid ${process.pid}, parent ${process.ppid}`);
    const procs = ['first', 'second'].map((who) => new Process({ target: hello, args: [who] }));
    try {
      for (const p of procs) p.start();
      for (const p of procs) await p.join();
    } finally {
      for (const p of procs) await p[Symbol.asyncDispose]();
    }
    return `2 processes (pids ${procs.map((p) => p.pid).join(', ')}) exited with codes ${procs.map((p) => p.exitCode).join(', ')}`;
  });

  let speedup = 0;
  await step('Pool.map: a CPU-bound loop, in parallel', 'Pool().map(f, xs)', async () => {
    const self = tasks<typeof import('./demo.ts')>(new URL(import.meta.url));
    const work = Array.from({ length: 16 }, () => (SMALL ? 10_000_000 : 120_000_000));
    let t0 = performance.now();
    const expected = work.map(spin);
    const serialMs = performance.now() - t0;
    const processes = Math.max(2, cores);
    t0 = performance.now();
    await using pool = new Pool(processes);
    const results = await pool.map(self.spin, work);
    const parallelMs = performance.now() - t0;
    if (results.some((r, i) => r.value !== expected[i]!.value)) throw new Error('pool results differ from the loop');
    const pids = results.map((r) => r.pid);
    speedup = serialMs / parallelMs;
    console.log(`   plain loop ${serialMs.toFixed(0)} ms; pool of ${processes} (pids ${[...new Set(pids)].join(', ')}) ${parallelMs.toFixed(0)} ms incl. start-up`);
    return `speedup ${speedup.toFixed(2)}x on ${cores} core(s), same results`;
  });

  await step('ProcessPoolExecutor: submit + asCompleted', 'as_completed(ex.submit(f, x) for x in xs)', async () => {
    const job = async (n: number) => {
      await new Promise((r) => setTimeout(r, 100 * (6 - n)));
      if (n === 2) throw new TypeError(`job ${n} is broken on purpose`);
      return { n, pid: process.pid };
    };
    await using executor = new ProcessPoolExecutor({ maxWorkers: 3 });
    const futures = [0, 1, 2, 3, 4, 5].map((n) => executor.submit(job, n));
    const order: string[] = [];
    for await (const f of asCompleted(futures)) {
      try {
        const r = await f.result(); // the value, or throws the job's error
        order.push(String(r.n));
        console.log(`   job ${r.n} done on pid ${r.pid}`);
      } catch (err) {
        if (!(err instanceof RemoteError)) throw err;
        order.push('!');
        console.log(`   a job failed in pid ${err.pid}: ${err.remoteName}: ${err.message}`);
      }
    }
    return `completion order ${order.join(' ')} (as they finished, not as submitted; ! = the RemoteError)`;
  });

  await step('Queue: producer/consumers with sentinels', 'Queue(); iter(q.get, None)', async () => {
    type Pair = [number, number];
    const consumer = async (ready: Queue<number>, q: Queue<number | null>, out: Queue<Pair>) => {
      await ready.put(process.pid); // "I am up": the producer waits for everyone, so all get a share
      for await (const n of q.until(null)) {
        await new Promise((r) => setTimeout(r, 10)); // some work per item
        await out.put([n! * n!, process.pid]); // n is never null: until() ends at it
      }
    };
    const ready = new Queue<number>();
    const q = new Queue<number | null>();
    const out = new Queue<Pair>();
    const consumers = [1, 2].map(() => new Process({ target: consumer, args: [ready, q, out] as [Queue<number>, Queue<number | null>, Queue<Pair>] }));
    try {
      for (const p of consumers) p.start();
      for (const _ of consumers) await ready.get({ timeout: 20_000 });
      for (let n = 1; n <= 20; n++) await q.put(n);
      for (const _ of consumers) await q.put(null); // one sentinel per consumer
      let sum = 0;
      const pids = new Set<number>();
      for (let i = 0; i < 20; i++) {
        const [square, pid] = await out.get({ timeout: 20_000 });
        sum += square;
        pids.add(pid);
      }
      for (const p of consumers) await p.join();
      return `20 items through one queue to consumers on pids ${[...pids].join(', ')}; sum of squares ${sum}`;
    } finally {
      for (const p of consumers) await p[Symbol.asyncDispose]();
      for (const queue of [ready, q, out]) await queue.close();
    }
  });

  await step('Manager: a dict shared by pool workers', 'Manager().dict()', async () => {
    const record = async (word: string, seen: DictProxy<string, number>) => {
      await seen.set(word, process.pid);
    };
    await using manager = await Manager.start();
    const seen = await manager.dict<string, number>();
    await using pool = new Pool(2);
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
    await pool.starmap(record, words.map((w) => [w, seen] as [string, DictProxy<string, number>]));
    const entries = await seen.items();
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
