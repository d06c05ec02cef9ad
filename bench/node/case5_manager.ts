// Case 5: Manager proxies used from a child process (ops/s).
// Twin of bench/python/case5_manager.py: the parent starts a Manager (its own server process)
// and a child Process that receives a DictProxy and a ListProxy and runs N operations of the
// chosen variant one after another, each awaited (`await d.set(i, i)`, `await d.get(i)`,
// `await lst.append(i)`); only those N operations are timed, inside the child, and for the
// writes one read after the last write (`d.get(n - 1)`, `lst.get(n)`), as in Python.
//
// Note: multiproc pipelines writes that cannot fail in the server (dict set, list append;
// see the header of src/manager/proxy.ts), so an awaited set/append costs one socket write,
// not a round trip; the closing read confirms that the manager has applied them all.
// dict_get is a round trip in both libraries. dict_get64 (multiproc only: a Python proxy
// serves one call at a time per thread) issues the gets 64 at a time with Promise.all.

import { Manager, Process, Queue, tasks } from '../../src/index.ts';
import { choice, emit, parseArgs, size } from './common.ts';

const work = tasks<typeof import('./proc-tasks.ts')>(new URL('./proc-tasks.ts', import.meta.url));

const args = parseArgs();
const variant = choice(args, 'variant', ['dict_set', 'dict_get', 'dict_get64', 'list_append'] as const);
const n = size(args, 20_000, 5_000);
await using manager = await Manager.start();
const d = await manager.dict<number, number>();
const lst = await manager.list<number>();
const out = new Queue<number>();
const proc = new Process({ target: work.managerChild, args: [variant, n, d, lst, out] });
try {
  proc.start();
  const seconds = await out.get({ timeout: 300_000 });
  await proc.join();
  if (proc.exitCode !== 0) throw new Error(`case 5: the child exited with ${proc.exitCode}`);
  const len = variant === 'list_append' ? await lst.len() : await d.len();
  if (len !== n + 1) throw new Error(`case 5: ${variant === 'list_append' ? 'the list' : 'the dict'} holds ${len} entries, expected ${n + 1}`);
  emit('manager', n / seconds, 'ops/s', 'higher', { variant, params: { n }, extra: { seconds, us_per_op: (seconds / n) * 1e6 } });
} finally {
  await proc[Symbol.asyncDispose]();
  await out.close();
}
