// 07 · One Process per item: start them all, then join them all, printing every pid.
//
// Python idiom: multiprocessing.Process start/join,
//
//     procs = [Process(target=handle, args=(item, delay)) for item in items]
//     for p in procs: p.start()
//     for p in procs: p.join()
//     print([p.exitcode for p in procs])
//
// Here: `new Process({ target: handle, args: [item, delay] })`, `start()`, `await join()`,
// `exitCode` (0 on success, 1 when the target threw, minus the signal number when killed).
//
// Watch for: the parent prints each child's pid right after start(); each child prints its own
// pid and its parent's pid (the main pid); the children finish in their own order (shortest
// delay first) but join() waits for each in turn. The item "bad" throws: its process prints
// the error on stderr ("Process Worker-bad:" and its stack, as Python prints a failed target's
// traceback) and ends with exitCode 1 while the others end with 0. The last line, a "note:",
// shows the start-up cost (wall time minus the longest job): why a Pool suits many small items.
//
// Run:   npx tsx examples/07-process-per-item.ts
//        MULTIPROC_EXAMPLE_SMALL=1 npx tsx examples/07-process-per-item.ts   (a quick run)
//
// Task style: BY SOURCE. `handle` reads only its arguments and globals (`process.pid`,
// `process.ppid`, `setTimeout`); that is why it prints process.pid rather than calling
// currentProcess(), which it would have to import.

// In your project: import { Process, currentProcess } from 'multiproc';
import { Process, currentProcess } from '../src/index.ts';

const SMALL = process.env.MULTIPROC_EXAMPLE_SMALL === '1';
const items = SMALL ? ['apple', 'bad', 'cherry'] : ['apple', 'banana', 'bad', 'cherry', 'damson', 'elderberry'];

/** The target of each process, sent by source. */
async function handle(item: string, delayMs: number): Promise<void> {
  console.log(`    child pid ${process.pid} (parent ${process.ppid}) handling ${JSON.stringify(item)} for ${delayMs} ms`);
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  if (item === 'bad') throw new Error(`cannot handle ${JSON.stringify(item)}`);
  console.log(`    child pid ${process.pid} done with ${JSON.stringify(item)}`);
}

console.log(`main pid ${currentProcess().pid}: one process per item for ${items.length} items`);
// Later items get shorter delays, so they finish first.
const delays = items.map((_, i) => 100 + (items.length - i) * 80);
const procs = items.map((item, i) => new Process({ target: handle, args: [item, delays[i]!] as [string, number], name: `Worker-${item}` }));
const t0 = performance.now();
try {
  for (const p of procs) {
    p.start();
    console.log(`  started ${p.name} pid ${p.pid}`);
  }
  for (const p of procs) {
    await p.join();
    console.log(`  joined  ${p.name} pid ${p.pid} exitCode ${p.exitCode}`);
  }
  const ms = performance.now() - t0;
  const failed = procs.filter((p) => p.exitCode !== 0).map((p) => p.name);
  console.log(`all ${procs.length} processes joined in ${ms.toFixed(0)} ms; exit codes [${procs.map((p) => p.exitCode).join(', ')}]; failed: ${failed.join(', ') || 'none'}`);
  const longest = Math.max(...delays);
  console.log(
    `note: wall ${ms.toFixed(0)} ms for a longest job of ${longest} ms: ~${(ms - longest).toFixed(0)} ms went to starting ${procs.length} new node processes` +
      `; for many small items use a Pool (examples 01-03), which starts its workers once`,
  );
} finally {
  // Whatever happened above, no child outlives this program (Process implements asyncDispose:
  // terminate if still running, then wait).
  for (const p of procs) await p[Symbol.asyncDispose]();
}
