// What one worker costs (issue 15), over real processes: no watchdog thread in a child (the
// parent's one watcher ends the children of a parent that died), and a compiled build under
// tsx whose workers load tsx only for a TypeScript task module. Figures live in bench/
// (bench/node/worker-cost.mjs); this file asserts facts, not timings. A worker of plain tasks
// loads the error and handle encoding only when a reply needs it.
import { suite } from 'uvu';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Barrier, cpuCount, Pool, RemoteError, tasks } from '../src/index.ts';
import { pidAlive } from '../src/process/spawn.ts';
import { assert, disposeAllAndCheckLeaks, rememberPid, track, waitFor, withinMs } from './helpers.ts';

const test = suite('worker-cost');
const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
let built = '';
let lib = '';

/** Run `args` with this node; resolve with its output; fail naming `what` if it hangs. */
function run(args: string[], what: string, ms = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return withinMs(new Promise((resolve) => child.once('close', (code: number | null) => resolve({ code, stdout, stderr }))), ms, what);
}

const lastLine = (s: string) => JSON.parse(s.trim().split('\n').pop()!);

test.before(() => {
  // The compiled build, fresh from src/ (as bench/run.ts makes it): what a user of the
  // published package runs.
  built = mkdtempSync(join(tmpdir(), 'mp-worker-cost-'));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(built, 'esm'), '--declaration', 'false', '--sourceMap', 'false'], { cwd: root, stdio: 'inherit', timeout: 120_000 });
  writeFileSync(join(built, 'package.json'), '{ "type": "module" }\n');
  lib = pathToFileURL(join(built, 'esm', 'index.js')).href;
});

test('no child outlives a SIGKILLed parent, pool workers in CPU-bound tasks included; its watcher leaves too', async () => {
  const parent = spawn(process.execPath, ['--import', 'tsx', fixture('worker-cost-parent.ts')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  const ids = await withinMs(
    new Promise<{ parent: number; children: number[]; watcher: number }>((resolve) => {
      parent.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('\n')) resolve(JSON.parse(text.split('\n')[0]!));
      });
    }),
    30_000,
    'the worker-cost-parent fixture reporting its pids',
  );
  for (const pid of [...ids.children, ids.watcher]) rememberPid(pid);
  assert.is(ids.children.length, 3, 'two pool workers and a Process');
  assert.type(ids.watcher, 'number');
  for (const pid of ids.children) assert.ok(pidAlive(pid), `child ${pid} runs`);
  parent.kill('SIGKILL');
  await waitFor(() => ids.children.every((pid) => !pidAlive(pid)), `every child of the SIGKILLed parent to be gone (still alive: ${ids.children.filter(pidAlive)})`, 10_000);
  await waitFor(() => !pidAlive(ids.watcher), 'the watcher of the SIGKILLed parent to leave', 10_000);
});

test('a pool worker runs no thread beyond what a bare forked ESM child runs (no watchdog isolate)', async () => {
  const out = await run([fixture('worker-cost-threads.mjs'), lib], 'worker-cost-threads.mjs');
  assert.is(out.code, 0, out.stderr);
  const { worker, reference } = lastLine(out.stdout);
  assert.ok(worker <= reference, `a worker runs ${worker} threads, a bare forked ESM child ${reference}`);
});

test('compiled build under tsx: a worker loads tsx only to import a TypeScript task module', async () => {
  const out = await run(['--import', 'tsx', fixture('worker-cost-tsx.mjs'), lib], 'worker-cost-tsx.mjs under tsx');
  assert.is(out.code, 0, out.stderr);
  const seen = lastLine(out.stdout);
  assert.equal(seen.parent, ['tsx'], 'the parent runs under tsx (--import tsx)');
  assert.equal(seen.afterJs, { execArgv: [], loaded: false }, 'after a .mjs task');
  assert.equal(seen.afterSource, { execArgv: [] }, 'after a by-source task');
  assert.equal(seen.afterTs, { execArgv: [], loaded: true, typed: 42 }, 'after a .ts task: registered then');
});

test('a worker of plain tasks loads error and handle encoding only on first need; failures and later results still cross', async () => {
  const work = tasks<typeof import('./fixtures/worker-cost-tasks.ts')>(new URL('./fixtures/worker-cost-tasks.ts', import.meta.url));
  const pool = track(new Pool(1));
  assert.is(await pool.apply(work.handleCodeLoaded), false, 'after a plain task, the worker has not loaded src/remote/handle.ts');
  const err = await pool.apply(work.fail, ['boom']).then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(err instanceof RemoteError, `the task's error crosses (got ${err})`);
  assert.is(err.remoteName, 'RangeError');
  assert.match(err.message, 'boom');
  // The failure's reply loaded the encoding; results keep their order after it.
  assert.equal(await pool.map(work.pid, [1, 2, 3], { chunksize: 1 }).then((p) => p.length), 3);
  assert.is(await pool.apply(work.handleCodeLoaded), true, 'the failure loaded it');
});

test('more workers than CPUs start in turn, yet an initializer that waits for all of them (a Barrier) completes', async () => {
  const work = tasks<typeof import('./fixtures/worker-cost-tasks.ts')>(new URL('./fixtures/worker-cost-tasks.ts', import.meta.url));
  const n = cpuCount() + 2;
  const barrier = new Barrier(n);
  const pool = track(new Pool({ processes: n, initializer: work.meetAll, initargs: [barrier] }));
  const pids = await withinMs(pool.map(work.pid, Array.from({ length: 4 * n }, (_, i) => i), { chunksize: 1 }), 60_000, `a pool of ${n} whose initializer waits for all ${n} workers`);
  pids.forEach(rememberPid);
  assert.is(pids.length, 4 * n);
});

test('more workers than CPUs, each given one task that blocks it until all have arrived: each task lands on a worker of its own', async () => {
  // Workers start in turn; a batch must not be pipelined behind a task of unknown length on
  // a worker already up while workers are still to come: a task that blocks its worker
  // synchronously cannot even be taken back (a 'drop' needs the child's answer).
  const work = tasks<typeof import('./fixtures/worker-cost-tasks.ts')>(new URL('./fixtures/worker-cost-tasks.ts', import.meta.url));
  const n = cpuCount() * 2 + 2;
  const dir = mkdtempSync(join(tmpdir(), 'mp-rendezvous-'));
  try {
    const pool = track(new Pool(n));
    const pids = await withinMs(pool.starmap(work.arriveBlocking, Array.from({ length: n }, (): [string, number, number] => [dir, n, 60_000]), { chunksize: 1 }),
      45_000, `${n} blocking rendezvous tasks on a pool of ${n}`);
    pids.forEach(rememberPid);
    assert.is(new Set(pids).size, n, 'every task ran on a worker of its own');
    await pool.terminate();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no leaks', async () => {
  await disposeAllAndCheckLeaks();
  if (built) rmSync(built, { recursive: true, force: true });
});

test.run();
