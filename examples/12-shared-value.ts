// 12 · A shared counter: four processes add to one Value, with its lock and without.
//
// Python idiom (the classic multiprocessing.Value tutorial):
//
//     def add(counter, n):
//         for _ in range(n):
//             with counter.get_lock():        # remove this line and the total comes out short
//                 counter.value += 1
//     counter = Value('i', 0)
//     procs = [Process(target=add, args=(counter, 10_000)) for _ in range(4)]
//     for p in procs: p.start()
//     for p in procs: p.join()
//     print(counter.value)                    # 40000
//
// Here: `Value('i', 0)` is shared by the process that creates it and passed to processes as
// an ordinary argument; `counter.value += 1` is `counter.set((await counter.get()) + 1)`, and
// `with counter.get_lock():` is `await counter.getLock().withLock(async () => ...)`.
//
// Watch for: with the lock the total is exact. Without it, it comes out short, as in Python:
// `+= 1` is a read, then a write, and between the two another process may write; its update is
// then overwritten (lost). All four start together (an Event), so their steps interleave. Node
// processes share no memory, so each read and write is a round trip to the process that holds
// the value: milliseconds where Python's shared memory takes microseconds. For many numbers
// at once, use an Array and setSlice(), or have each process add up locally and add once.
//
// Run:   npx tsx examples/12-shared-value.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/12-shared-value.ts   (a quick run)
//
// Task style: BY SOURCE. `add` uses only its arguments (the Value, a Semaphore and an Event among
// them).

// In your project: import { Event, Process, Semaphore, Value, type SharedValue } from 'multiproc';
import { Event, Process, Semaphore, Value, type SharedValue } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const PER_PROCESS = SMALL ? 300 : 10_000;
const PROCESSES = 4;

/** Say `ready`, then once `go` is set add 1 to `counter` `n` times, under its lock or not. */
async function add(counter: SharedValue<'i'>, n: number, locked: boolean, ready: Semaphore, go: Event): Promise<void> {
  await ready.release();
  await go.wait();
  for (let i = 0; i < n; i++) {
    if (locked) await counter.getLock().withLock(async () => counter.set((await counter.get()) + 1));
    else await counter.set((await counter.get()) + 1);
  }
}

/** Run PROCESSES adders on a fresh counter; its final value, the pids and the time they took (start-up apart). */
async function run(locked: boolean): Promise<{ total: number; pids: number[]; ms: number }> {
  const counter = Value('i', 0);
  const ready = new Semaphore(0);
  const go = new Event();
  const procs = Array.from({ length: PROCESSES }, () => new Process({ target: add, args: [counter, PER_PROCESS, locked, ready, go] }));
  for (const p of procs) p.start();
  for (const _ of procs) await ready.acquire(); // every process has started
  const t0 = performance.now();
  await go.set(); // and now they all add at once
  for (const p of procs) await p.join();
  const ms = performance.now() - t0;
  const failed = procs.filter((p) => p.exitCode !== 0);
  if (failed.length > 0) throw new Error(`adder pids ${failed.map((p) => p.pid).join(', ')} failed`);
  return { total: await counter.get(), pids: procs.map((p) => p.pid!), ms };
}

const expected = PROCESSES * PER_PROCESS;
console.log(`main pid ${process.pid}: ${PROCESSES} processes each add 1 to one Value('i', 0) ${PER_PROCESS} times`);

const withLock = await run(true);
console.log(`with the lock:    ${withLock.total} of ${expected} (${PROCESSES} processes × ${PER_PROCESS}, pids ${withLock.pids.join(', ')}) in ${withLock.ms.toFixed(0)} ms: ${withLock.total === expected ? 'exactly the total' : 'WRONG'}`);
if (withLock.total !== expected) process.exitCode = 1;

const without = await run(false);
const lost = expected - without.total;
console.log(`without the lock: ${without.total} of ${expected} (${lost} updates lost) in ${without.ms.toFixed(0)} ms`);
console.log(
  lost > 0
    ? `note: each += 1 reads, then writes; when another process writes in between, one of the two updates is overwritten. ` +
        `Holding getLock() around the read and the write makes them one step, as 'with counter.get_lock():' does in Python.`
    : `note: no update was lost this time (the processes happened not to interleave); the race is still there: ` +
        `each += 1 reads, then writes, and only getLock() around both makes them one step.`,
);
console.log(
  `note: ${(withLock.ms / expected).toFixed(2)} ms per locked += 1: the value lives in this process (pid ${process.pid}) and every ` +
    'read, write, acquire and release is a round trip to it; Python shares memory instead.',
);
