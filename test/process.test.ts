// Process over real child processes: lifecycle, exit codes, signals, daemon, names, helpers.
import { suite } from 'uvu';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Process, activeChildren, cpuCount, currentProcess, isMainProcess, parentProcess, tasks, InvalidStateError } from '../src/index.ts';
import { assert, disposeAllAndCheckLeaks, rememberPid, track, waitFor, withinMs } from './helpers.ts';

const failing = tasks<typeof import('./fixtures/throw-custom.ts')>(new URL('./fixtures/throw-custom.ts', import.meta.url));
const trace = tasks<typeof import('./fixtures/trace.ts')>(new URL('./fixtures/trace.ts', import.meta.url));
const test = suite('process');

test('start, join, exitCode 0, pid and default name', async () => {
  const p = track(new Process({ target: (x: number) => x * 2, args: [21] }));
  assert.is(p.exitCode, null);
  assert.match(p.name, /^Process-\d+$/);
  p.start();
  assert.type(p.pid, 'number');
  assert.ok(p.isAlive());
  await withinMs(p.join(), 10_000, 'join');
  assert.is(p.exitCode, 0);
  assert.not.ok(p.isAlive());
});

test('start() twice is an InvalidStateError', async () => {
  const p = track(new Process({ target: () => {} }));
  p.start();
  assert.throws(() => p.start(), (e: unknown) => e instanceof InvalidStateError && (e as InvalidStateError).code === 'MP_INVALID_STATE');
  await p.join();
});

test('a target that throws prints "Process <name>:" and its stack, as Python, and exits with code 1; process.exit(n) gives n', async () => {
  // Run as its own program so that the child's stderr (inherited) can be read here.
  const script = track(spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/process-traceback.ts', import.meta.url))], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  script.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  script.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await withinMs(new Promise<number | null>((r) => script.once('exit', (c) => r(c))), 20_000, 'the traceback program to end');
  assert.is(code, 0, `the program's exit code; stderr: ${err}`);
  const { a, b, name } = JSON.parse(out) as { a: number; b: number; name: string };
  assert.is(a, 1);
  assert.is(b, 7);
  assert.ok(err.startsWith(`Process ${name}:\nQuotaError: quota of 3 exceeded\n`), `Python's "Process <name>:" header and the error, first, in:\n${err}`);
  assert.match(err, /at failWithQuota \(.*throw-custom\.ts:\d+:\d+\)/);
});

test('join(timeout) resolves with the process still alive; kill() gives exitCode -9', async () => {
  const p = track(new Process({ target: () => new Promise(() => setInterval(() => {}, 1000)) }));
  p.start();
  await p.join(200);
  assert.ok(p.isAlive(), 'still alive after join(200)');
  assert.is(p.exitCode, null);
  p.kill();
  await withinMs(p.join(), 5000, 'join after kill');
  assert.is(p.exitCode, -9);
});

test('terminate() sends SIGTERM (exitCode -15)', async () => {
  const p = track(new Process({ target: () => new Promise(() => setInterval(() => {}, 1000)) }));
  p.start();
  await p.join(300);
  p.terminate();
  await withinMs(p.join(), 5000, 'join after terminate');
  assert.is(p.exitCode, -15);
});

test('close() while running is refused; after exit start() is refused', async () => {
  const p = track(new Process({ target: () => new Promise((r) => setTimeout(r, 300)) }));
  p.start();
  assert.throws(() => p.close(), (e: unknown) => e instanceof InvalidStateError);
  await p.join();
  p.close();
  assert.throws(() => p.start(), (e: unknown) => e instanceof InvalidStateError);
});

test('currentProcess().name in the child is the Process name; parentProcess() is us', async () => {
  const file = `/tmp/mp-name-${process.pid}.json`;
  const p = track(
    new Process({
      name: 'Worker-A',
      target: async (out: string) => {
        const { currentProcess, parentProcess, isMainProcess } = await import(process.env.MP_INDEX!);
        require('node:fs').writeFileSync(out, JSON.stringify({ me: currentProcess(), parent: parentProcess(), main: isMainProcess() }));
      },
      args: [file],
    }),
  );
  // The compiled build this process's children import (src/index.ts would need tsx, which a
  // child of a fresh build starts only for a TypeScript task module), by its URL: a
  // by-source function's import() resolves from the library's own folder, where the package
  // name resolves only in an installed package (test/package.test.ts imports it by name).
  process.env.MP_INDEX = new URL('../dist/esm/index.js', import.meta.url).href;
  p.start();
  await p.join();
  assert.is(p.exitCode, 0);
  const seen = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8'));
  assert.equal(seen.me, { name: 'Worker-A', pid: p.pid });
  // As Python's parent_process(): the parent's own name, 'MainProcess' for the main process.
  assert.equal(seen.parent, { name: 'MainProcess', pid: process.pid });
  assert.is(seen.main, false);
  assert.equal([currentProcess().name, currentProcess().pid], ['MainProcess', process.pid]);
  assert.is(parentProcess(), null);
  assert.ok(isMainProcess());
});

test('activeChildren() lists running processes and reaps finished ones', async () => {
  const p = track(new Process({ target: () => new Promise((r) => setTimeout(r, 500)) }));
  p.start();
  assert.ok(activeChildren().includes(p));
  await p.join();
  assert.not.ok(activeChildren().includes(p));
});

test('cpuCount() is a positive integer', () => {
  assert.ok(Number.isInteger(cpuCount()) && cpuCount() >= 1);
});

test('a daemon child does not keep the parent alive and is killed when it exits', async () => {
  // A parent script starts a daemon that sleeps forever, then returns: the parent must exit
  // on its own and take the daemon with it.
  const script = `
    import { Process } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)};
    const p = new Process({ target: () => new Promise(() => setInterval(() => {}, 1000)), daemon: true });
    p.start();
    console.log(JSON.stringify({ child: p.pid }));`;
  const out = await runTsx(['--input-type=module', '-e', script]);
  const { child } = JSON.parse(out.stdout.trim().split('\n').pop()!);
  rememberPid(child);
  assert.is(out.code, 0);
  await waitFor(() => !pidAlive(child), 'the daemon child to be gone after its parent exited', 3000);
});

test('no child survives its parent being SIGKILLed, even one spinning in a CPU loop', async () => {
  const fixture = new URL('./fixtures/parent-dies.ts', import.meta.url).pathname;
  const parent = track(spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'inherit'] }));
  let text = '';
  const ids = await withinMs(
    new Promise<{ parent: number; child: number }>((resolve) => {
      parent.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('\n')) resolve(JSON.parse(text.split('\n')[0]));
      });
    }),
    20_000,
    'parent-dies fixture reporting its pids',
  );
  rememberPid(ids.child);
  assert.ok(pidAlive(ids.child), 'the spinning child runs');
  parent.kill('SIGKILL');
  // It dies by itself: nothing here signals it (a hang means it survived its parent).
  await waitFor(() => !pidAlive(ids.child), 'the orphaned child, spinning in a CPU loop, to exit after its parent was SIGKILLed', 10_000);
});

test('children never inherit -e/--eval/--print code or debugger flags (a fork bomb otherwise)', () => {
  const argv = childExecArgv(['--import', 'tsx', '--input-type=module', '-e', 'new Pool(2)', '--inspect=9229', '-p', '1', '--max-old-space-size=512', '-r', 'pre.cjs', '--eval=x']);
  assert.equal(argv, ['--import', 'tsx', '--max-old-space-size=512', '-r', 'pre.cjs']);
});

test('a self-referencing module with the isMainProcess() guard works', async () => {
  const out = await runTsx([new URL('./fixtures/main-guard.ts', import.meta.url).pathname]);
  const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines, [{ label: 'from-child', name: 'Reporter', main: false }, { exitCode: 0 }]);
});

test('an unguarded self-referencing module fails clearly instead of fork-bombing', async () => {
  const out = await runTsx([new URL('./fixtures/unguarded.ts', import.meta.url).pathname]);
  assert.match(out.stderr, /isMainProcess\(\)/);
  assert.match(out.stderr, /MP_INVALID_STATE|InvalidStateError/);
  // The outer script's child exited with 1 (its import failed), and nothing else was forked.
  assert.match(out.stdout, /"exitCode":1/);
});

test('a target exported by a .ts module (tasks(url)) runs in the child with its arguments', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'multiproc-ts-target-'));
  const file = join(dir, 'ran.txt');
  try {
    // trace.ts is TypeScript (type parameters): the child loads it through tsx.
    const p = track(new Process({ target: trace.logAfter, args: [file, `ran with ${file}`, 0] }));
    p.start();
    await withinMs(p.join(), 20_000, 'the .ts module target');
    assert.is(p.exitCode, 0);
    assert.is(readFileSync(file, 'utf8'), `ran with ${file}\n`, 'the target ran once, with the arguments given');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { childExecArgv, pidAlive } from '../src/process/spawn.ts';

function runTsx(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return withinMs(
    new Promise((resolve) => {
      const child = track(spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    }),
    30_000,
    `script ${args.join(' ')}`,
  );
}

test.after(disposeAllAndCheckLeaks);
test.run();
