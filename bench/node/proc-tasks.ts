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

/** Gets issued together in the `dict_get64` variant of case 5. */
export const IN_FLIGHT = 64;

/**
 * Case 5: `n` manager operations of one kind from this child process, timed here (seconds
 * on `out`). Writes end with one get inside the timed window: a set or an append resolves
 * when its frame is handed to the OS, so the window closes only once the manager has
 * answered a read issued after the last write (Python's twin does the same read).
 * `dict_get64` issues the gets IN_FLIGHT at a time (`Promise.all`), each group awaited.
 */
export async function managerChild(
  variant: 'dict_set' | 'dict_get' | 'dict_get64' | 'list_append',
  n: number,
  d: DictProxy<number, number>,
  lst: ListProxy<number>,
  out: Queue<number>,
): Promise<void> {
  // Warm-up, as in Python: the connection to the manager is opened by the first call.
  await d.set(-1, -1);
  await lst.append(-1);
  if (variant === 'dict_get' || variant === 'dict_get64') for (let i = 0; i < n; i++) await d.set(i, i);
  const t0 = performance.now();
  if (variant === 'dict_set') {
    for (let i = 0; i < n; i++) await d.set(i, i);
    if ((await d.get(n - 1)) !== n - 1) throw new Error('case 5: the last set is missing');
  } else if (variant === 'dict_get') {
    for (let i = 0; i < n; i++) if ((await d.get(i)) !== i) throw new Error(`case 5: d.get(${i}) is wrong`);
  } else if (variant === 'dict_get64') {
    for (let i = 0; i < n; i += IN_FLIGHT) {
      const keys = Array.from({ length: Math.min(IN_FLIGHT, n - i) }, (_, j) => i + j);
      const values = await Promise.all(keys.map((key) => d.get(key)));
      if (values.some((v, j) => v !== keys[j])) throw new Error(`case 5: a get of keys ${i}..${i + keys.length - 1} is wrong`);
    }
  } else {
    for (let i = 0; i < n; i++) await lst.append(i);
    if ((await lst.get(n)) !== n - 1) throw new Error('case 5: the last append is missing');
  }
  await out.put((performance.now() - t0) / 1000);
}
