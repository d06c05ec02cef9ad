// Process targets of cases 4 (Queue) and 5 (Manager), run in child processes by module
// reference. Importing the library here also registers the revivers of queue, event and
// manager handles in the child before its arguments are revived.

import type { DictProxy, Event, ListProxy, Queue } from '../../src/index.ts';
import '../../src/index.ts';
import { monotonic } from './common.ts';

/** A ~1 KB object: Python's `{"id": i, "payload": "x" * 1000}`. */
export interface Doc {
  id: number;
  payload: string;
}

/** CPU seconds (user + system) this process has used since `since`. */
function cpuSince(since: { user: number; system: number }): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

/**
 * Case 4 producer: build the items, wait for `go`, put them all and the `null` sentinel,
 * then report when it started (CLOCK_MONOTONIC seconds) and the CPU time it spent putting
 * on `out`.
 */
export async function producer(q: Queue<number | Doc | null>, go: Event, variant: 'ints' | 'dicts', n: number, out: Queue<unknown>): Promise<void> {
  const payload = 'x'.repeat(1000);
  const items: Array<number | Doc> = variant === 'dicts' ? Array.from({ length: n }, (_, i) => ({ id: i, payload })) : Array.from({ length: n }, (_, i) => i);
  await go.wait();
  const c0 = process.cpuUsage();
  const t0 = monotonic();
  for (let i = 0; i < items.length; i++) await q.put(items[i]!);
  await q.put(null);
  await out.put(['t0', t0, cpuSince(c0)]);
}

/**
 * Case 4 consumer: signal `ready`, take items until the sentinel, report when it arrived,
 * how many and the CPU time spent since `ready` (it idles until the first item).
 */
export async function consumer(q: Queue<number | Doc | null>, ready: Event, out: Queue<unknown>): Promise<void> {
  await ready.set();
  const c0 = process.cpuUsage();
  let count = 0;
  for await (const _item of q.until(null)) count++;
  await out.put(['t1', monotonic(), count, cpuSince(c0)]);
}

/** Case 5: `n` manager operations of one kind from this child process, timed here (seconds on `out`). */
export async function managerChild(variant: 'dict_set' | 'dict_get' | 'list_append', n: number, d: DictProxy<number, number>, lst: ListProxy<number>, out: Queue<number>): Promise<void> {
  // Warm-up, as in Python: the connection to the manager is opened by the first call.
  await d.set(-1, -1);
  await lst.append(-1);
  if (variant === 'dict_get') for (let i = 0; i < n; i++) await d.set(i, i);
  const t0 = performance.now();
  if (variant === 'dict_set') {
    for (let i = 0; i < n; i++) await d.set(i, i);
  } else if (variant === 'dict_get') {
    for (let i = 0; i < n; i++) if ((await d.get(i)) !== i) throw new Error(`case 5: d.get(${i}) is wrong`);
  } else {
    for (let i = 0; i < n; i++) await lst.append(i);
  }
  await out.put((performance.now() - t0) / 1000);
}
