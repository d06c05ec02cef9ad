// Case 4: Queue, one producer Process -> one consumer Process (items/s).
// Twin of bench/python/case4_queue.py. Variant "ints": 500,000 numbers; "dicts": 100,000
// objects { id: i, payload: 'x' * 1000 } (built before timing); then the null sentinel. Both
// processes are started and ready before timing (an Event releases the producer). Time runs
// from just before the producer's first put to the consumer having taken the sentinel, read
// on CLOCK_MONOTONIC (process.hrtime.bigint) in the two processes.
//
// The producer writes `await q.put(item)` per item and the consumer
// `for await (const item of q.until(null))`: what user code looks like (example 08).
// The queue is created here, so this process hosts it and relays the items.
//
// `extra` gives the CPU time of the three processes over the window (process.cpuUsage):
// the producer's from its first put to the sentinel put, the consumer's until the sentinel,
// this host's from releasing the producer to both reports in. One of them near 100% of the
// window is what bounds the rate.

import { Event, Process, Queue, tasks } from '../../src/index.ts';
import { choice, emit, parseArgs, size, sleep } from './common.ts';

const work = tasks<typeof import('./proc-tasks.ts')>(new URL('./proc-tasks.ts', import.meta.url));

const args = parseArgs();
const variant = choice(args, 'variant', ['ints', 'dicts'] as const);
const n = variant === 'ints' ? size(args, 500_000, 100_000) : size(args, 100_000, 20_000);
const q = new Queue<unknown>();
const out = new Queue<unknown[]>();
const go = new Event();
const ready = new Event();
const cons = new Process({ target: work.consumer, args: [q as Queue<any>, ready, out as Queue<unknown>] });
const prod = new Process({ target: work.producer, args: [q as Queue<any>, go, variant, n, out as Queue<unknown>] });
try {
  cons.start();
  prod.start();
  await ready.wait();
  await sleep(50); // let the producer finish building its items
  const c0 = process.cpuUsage();
  await go.set();
  const results = new Map<string, unknown[]>();
  for (let i = 0; i < 2; i++) {
    const msg = await out.get({ timeout: 300_000 });
    results.set(msg[0] as string, msg.slice(1));
  }
  const c1 = process.cpuUsage(c0);
  await prod.join();
  await cons.join();
  const [t0, producerCpu] = results.get('t0') as [number, number];
  const [t1, count, consumerCpu] = results.get('t1') as [number, number, number];
  if (count !== n) throw new Error(`case 4: the consumer got ${count} items, expected ${n}`);
  const seconds = t1 - t0;
  emit('queue', n / seconds, 'items/s', 'higher', {
    variant,
    params: { n, item: variant === 'ints' ? 'number' : "{ id: i, payload: 'x'.repeat(1000) }" },
    extra: { seconds, producer_cpu_s: producerCpu, consumer_cpu_s: consumerCpu, host_cpu_s: (c1.user + c1.system) / 1e6 },
  });
} finally {
  await prod[Symbol.asyncDispose]();
  await cons[Symbol.asyncDispose]();
  await q.close();
  await out.close();
}
