// The machine's own parallel capacity, for case 3: the work unit of tasks.ts in a plain
// node process, no library. bench/run.ts runs one copy alone, then cpuCount() copies at
// once; if the copies side by side each take longer than one alone, no pool can reach
// efficiency 1 on this machine at that moment. Prints one JSON line: { ms } for --tasks
// calls of work(--k).

function work(k) {
  let s = 0;
  for (let i = 0; i < k; i++) s += (i * i) % 7;
  return s;
}
const flag = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const k = flag('k', 1_000_000);
const count = flag('tasks', 16);
work(k); // warm-up: optimised code from here on
const t0 = performance.now();
let sum = 0;
for (let i = 0; i < count; i++) sum += work(k);
const ms = performance.now() - t0;
process.stdout.write(`${JSON.stringify({ case: 'spin', value: ms, unit: 'ms', better: 'lower', params: { k, tasks: count }, extra: { sum } })}\n`);
