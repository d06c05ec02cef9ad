// 08 · Producer/consumer over a Queue with a sentinel; then several consumers.
//
// Python idiom: multiprocessing.Queue with a None sentinel and iter(q.get, None),
//
//     def consumer(q, results):
//         for item in iter(q.get, None):      # stops at the sentinel
//             results.put(work(item))
//     q, results = Queue(), Queue()
//     consumers = [Process(target=consumer, args=(q, results)) for _ in range(k)]
//     for item in items: q.put(item)
//     for _ in consumers: q.put(None)         # one sentinel PER consumer
//
// Here: `new Queue<T | null>()`, passed to processes as an ordinary argument (it arrives as a
// working proxy), `for await (const item of q.until(null))` for iter(q.get, None).
//
// Watch for: part 1, a producer process and a consumer process talking through one queue; the
// consumer stops at the sentinel. Part 2, several consumers share one queue: the producer puts
// one sentinel per consumer (a consumer that takes a sentinel stops, so k consumers need k),
// and the per-pid tally shows how the items were shared out: whoever is free takes the next
// items, so the consumer that started first usually gets more (at the small size a late
// starter may get none).
//
// Run:   npx tsx examples/08-producer-consumer.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/08-producer-consumer.ts   (a quick run)
//
// Task style: BY SOURCE. producer and consumer use only their arguments (the queues among
// them) and globals. The `Queue` type annotations are erased, so nothing of this file's scope
// travels with them.

// In your project: import { Process, Queue, cpuCount } from 'multiproc';
import { Process, Queue, cpuCount, currentProcess } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const ITEMS = SMALL ? 20 : 200;

/** A result a consumer sends back. */
interface Done {
  item: number;
  square: number;
  pid: number;
}

/** Part 1 producer: put `count` numbers, then the sentinel. */
async function producer(q: Queue<number | null>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await q.put(i);
  await q.put(null);
  console.log(`    producer pid ${process.pid} put ${count} items and the sentinel`);
}

/** A consumer: take items until the sentinel, do some work, report each result. */
async function consumer(name: string, q: Queue<number | null>, results: Queue<Done>): Promise<void> {
  let n = 0;
  for await (const next of q.until(null)) {
    const item = next!; // until() ends at the sentinel, so `next` is never null here
    await new Promise((resolve) => setTimeout(resolve, 2 + (item % 5))); // pretend to work
    await results.put({ item, square: item * item, pid: process.pid });
    n++;
  }
  console.log(`    ${name} pid ${process.pid} saw the sentinel after ${n} items`);
}

console.log(`main pid ${currentProcess().pid}`);
const started: Process<any>[] = [];
const queues: Array<Queue<any>> = [];
/** Start a process and remember it for the cleanup below. */
function start<A extends unknown[]>(p: Process<A>): Process<A> {
  started.push(p);
  p.start();
  return p;
}

try {
  // Part 1: one producer process, one consumer process, one queue.
  console.log('part 1: one producer, one consumer');
  const q1 = new Queue<number | null>();
  const r1 = new Queue<Done>();
  queues.push(q1, r1);
  const c = start(new Process({ target: consumer, args: ['consumer', q1, r1] as [string, Queue<number | null>, Queue<Done>] }));
  const p = start(new Process({ target: producer, args: [q1, ITEMS] as [Queue<number | null>, number] }));
  console.log(`  producer pid ${p.pid}, consumer pid ${c.pid}`);
  let sum = 0;
  for (let i = 0; i < ITEMS; i++) sum += (await r1.get({ timeout: 30_000 })).square;
  await Promise.all([p.join(), c.join()]);
  console.log(`  part 1: ${ITEMS} results, sum of squares ${sum}, exit codes ${p.exitCode}/${c.exitCode}`);

  // Part 2: the main process produces; k consumers share the queue.
  const k = Math.max(3, cpuCount());
  console.log(`part 2: main produces, ${k} consumers`);
  const q2 = new Queue<number | null>();
  const r2 = new Queue<Done>();
  queues.push(q2, r2);
  const consumers = Array.from({ length: k }, (_, i) =>
    start(new Process({ target: consumer, args: [`consumer-${i}`, q2, r2] as [string, Queue<number | null>, Queue<Done>] })),
  );
  console.log(`  consumer pids ${consumers.map((x) => x.pid).join(', ')}`);
  const t0 = performance.now();
  for (let i = 0; i < ITEMS; i++) await q2.put(i);
  for (let i = 0; i < k; i++) await q2.put(null); // one sentinel per consumer
  const tally = new Map<number, number>();
  const seen = new Set<number>();
  for (let i = 0; i < ITEMS; i++) {
    const done = await r2.get({ timeout: 30_000 });
    seen.add(done.item);
    tally.set(done.pid, (tally.get(done.pid) ?? 0) + 1);
  }
  await Promise.all(consumers.map((x) => x.join()));
  for (const x of consumers) console.log(`  pid ${x.pid} consumed ${tally.get(x.pid!) ?? 0} items`);
  if (seen.size !== ITEMS) throw new Error(`expected ${ITEMS} distinct results, got ${seen.size}`);
  const idle = consumers.filter((x) => !tally.has(x.pid!)).length;
  console.log(
    `  note: whoever is free takes the next item, so the shares differ` +
      (idle > 0 ? `; ${idle} consumer${idle === 1 ? '' : 's'} started after every item was taken, and got only ${idle === 1 ? 'its' : 'their'} sentinel` : ''),
  );
  const used = tally.size;
  console.log(`  part 2: ${ITEMS} items consumed once each by ${used} consumer${used === 1 ? '' : 's'} in ${(performance.now() - t0).toFixed(0)} ms, exit codes [${consumers.map((x) => x.exitCode).join(', ')}]`);
} finally {
  for (const p of started) await p[Symbol.asyncDispose]();
  for (const q of queues) await q.close();
}
