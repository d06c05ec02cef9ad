// What a newcomer meets first (issue 16): a failing task's error shows the line of the
// program that sent it, and a program whose only remaining work is a wait nobody can end
// says so instead of ending silently. Over real processes.
import { suite } from 'uvu';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool, ProcessPoolExecutor, RemoteError, tasks } from '../src/index.ts';
import { assert, disposeAllAndCheckLeaks, rejection, track, withinMs } from './helpers.ts';

const test = suite('first-try');
const work = tasks<typeof import('./fixtures/first-try-work.ts')>(new URL('./fixtures/first-try-work.ts', import.meta.url));
const here = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const T = 20_000;

/** The first line number of this file that `text` names, or -1. */
function lineOfThisFile(text: string): number {
  const m = new RegExp(`${here.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:(\\d+):`).exec(text);
  return m ? Number(m[1]) : -1;
}

/** The line of this file that calls this function. */
function thisLine(): number {
  return lineOfThisFile(new Error().stack!.split('\n')[2]!);
}

/** The line of this file a stack names after the marker, or -1. */
function sentFrom(err: Error): number {
  const stack = err.stack ?? '';
  const at = stack.indexOf('--- sent by the call at ---');
  return at === -1 ? -1 : lineOfThisFile(stack.slice(at));
}

test("a failing task's error names the line of the program that sent it (map by module, apply by source, submit)", async () => {
  const pool = track(new Pool(2));
  const mapLine = thisLine(); const mapErr = await rejection(pool.map(work.failOnThree, [1, 2, 3, 4], { chunksize: 1 }), RemoteError, 'a map with a failing item');
  assert.is(sentFrom(mapErr), mapLine, `the map's call site in:\n${mapErr.stack}`);
  const applyLine = thisLine(); const applyErr = await rejection(pool.apply((x: number) => { throw new Error(`no ${x}`); }, [7]), RemoteError, 'an apply that throws');
  assert.is(sentFrom(applyErr), applyLine, `the apply's call site in:\n${applyErr.stack}`);
  const executor = track(new ProcessPoolExecutor({ maxWorkers: 1 }));
  const submitLine = thisLine(); const future = executor.submit(work.failOnThree, 3);
  const submitErr = await rejection(future.result(), RemoteError, 'a submitted task that throws');
  assert.is(sentFrom(submitErr), submitLine, `the submit's call site in:\n${submitErr.stack}`);
  // The remote stack is still there, above the marker: where the task ran.
  assert.match(mapErr.stack!, /failOnThree/);
});

for (const mode of ['get', 'event'] as const) {
  test(`a program left with nothing but a ${mode === 'get' ? 'queue.get()' : 'Event.wait()'} nobody can end says so (MP_STRANDED_WAIT) and ends`, async () => {
    const child = track(spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/first-try-strand.ts', import.meta.url)), mode], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MULTIPROC_TEST_WARNINGS: '1' } }));
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await withinMs(new Promise<number | null>((r) => child.once('exit', (c) => r(c))), T, `the stranded ${mode} program to end`);
    assert.is(out, 'waiting\n');
    assert.is(code, 13, 'an ES module whose top-level await never settles ends with 13');
    assert.match(err, /MP_STRANDED_WAIT/);
    assert.match(err, mode === 'get' ? /queue\.get\(\)/ : /wait\(\)/);
    assert.match(err, /no other process can reach them/);
  });
}

test('no leaks', disposeAllAndCheckLeaks);

test.run();
