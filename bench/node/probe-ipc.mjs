// Case 2's floor: a bare `child_process.fork` ping-pong, no library. The parent forks
// bare-child.cjs (advanced serialization, as multiproc's workers) and sends a small object
// of the shape of a task call; the child echoes it. --warmup round trips untimed, then
// --calls timed one after another (the next starts when the previous echo is back): value
// = median µs per round trip, p10/p90/mean in `extra`. Twin of bench/python/probe_ipc.py.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { emit, intFlag, mean, median, parseFlags } from './mjs-common.mjs';

const { flags, quick } = parseFlags();
const calls = intFlag(flags, 'calls', quick ? 500 : 2000);
const warmup = intFlag(flags, 'warmup', 200);
const child = fork(fileURLToPath(new URL('./bare-child.cjs', import.meta.url)), [], { serialization: 'advanced', execArgv: [] });
const exited = new Promise((resolve) => child.once('exit', resolve));
let pending = null;
child.on('message', (m) => pending(m));
const roundTrip = (i) =>
  new Promise((resolve) => {
    pending = resolve;
    child.send({ type: 'call', id: i, key: 1, items: [null] });
  });
for (let i = 0; i < warmup; i++) await roundTrip(i);
const us = [];
for (let i = 0; i < calls; i++) {
  const t0 = performance.now();
  await roundTrip(i);
  us.push((performance.now() - t0) * 1000);
}
child.disconnect();
await exited;
us.sort((a, b) => a - b);
emit({
  case: 'probe-ipc', value: median(us), unit: 'us/call', better: 'lower', params: { calls, warmup, transport: 'child_process IPC, advanced serialization' },
  extra: { mean: mean(us), p10: us[Math.floor(us.length / 10)], p90: us[Math.floor((us.length * 9) / 10)] },
});
