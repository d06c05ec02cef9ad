// What a newcomer meets first (issue 16): a failing task's error shows the line of the
// program that sent it and a by-source task's frames name its file; a program whose only
// remaining work is a wait nobody can end says so instead of ending silently; the mistakes a
// by-source function makes (a method reading `this`, an outer function or value) name their
// fix. Over real processes.
import { suite } from 'uvu';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool, ProcessPoolExecutor, RemoteError, SerializationError, tasks, WorkerLostError } from '../src/index.ts';
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

test("apply's error names the line that awaits it (inside Promise.all too, and for a killed worker); applyAsync names its call", async () => {
  const pool = track(new Pool(2));
  const fail = async () => {
    await pool.apply(work.failOnThree, [3]);
  };
  const inFnLine = thisLine() - 2;
  const inFn = await rejection(fail(), RemoteError, 'an apply awaited in a helper');
  assert.is(sentFrom(inFn), inFnLine, `the helper's await in:\n${inFn.stack}`);
  let allErr: Error | null = null;
  const allLine = thisLine(); try { await Promise.all([pool.apply(work.failOnThree, [1]), pool.apply(work.failOnThree, [3])]); } catch (err) { allErr = err as Error; }
  assert.instance(allErr, RemoteError);
  assert.is(sentFrom(allErr!), allLine, `the Promise.all's await in:\n${allErr!.stack}`);
  const lostLine = thisLine(); const lost = await rejection(pool.apply(() => process.kill(process.pid, 'SIGKILL')), WorkerLostError, 'an apply whose worker is killed');
  assert.is(sentFrom(lost), lostLine, `the killed apply's await in:\n${lost.stack}`);
  const asyncLine = thisLine(); const result = pool.applyAsync(work.failOnThree, [3]);
  await new Promise((r) => setTimeout(r, 10));
  const asyncErr = await rejection(result.get(), RemoteError, 'an applyAsync that throws');
  assert.is(sentFrom(asyncErr), asyncLine, `the applyAsync's call in:\n${asyncErr.stack}`);
  // Handled without an await: the error is the task's, with no marker (no line awaits it).
  const caught = await new Promise<Error>((r) => void pool.apply(work.failOnThree, [3]).catch(r));
  assert.instance(caught, RemoteError);
  assert.not.match(caught.stack!, /--- sent by the call at ---/);
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

// ---------------------------------------------------------------------------------------
// Mistakes a by-source function makes name their fix

test('a method sent alone that reads `this` fails with SerializationError saying a method loses its object; nested this works', async () => {
  const pool = track(new Pool(1));
  const obj = { factor: 3, mul(x: number) { return x * this.factor; } };
  const err = await rejection(pool.map(obj.mul, [1, 2]), SerializationError, 'a method that reads this.factor');
  assert.match(err.message, /mul\(\) reads this\.factor/);
  assert.match(err.message, /a method loses its object/);
  assert.match(err.message, /starmap|tasks\(url\)\.mul/);
  // A function (not an arrow) whose `this` belongs to a class it defines inside is fine,
  // and so is one that does not read `this` at all.
  const nested = await pool.map(function (x: number) { class Box { v: number; constructor(v: number) { this.v = v; } } return new Box(x).v; }, [1, 2]);
  assert.equal(nested, [1, 2]);
  assert.equal(await pool.map(function (x: number) { return x * 2; }, [1, 2]), [2, 4]);
});

test('an outer function a by-source task calls: the error advises a module (tasks(url)), not passing it as an argument', async () => {
  const pool = track(new Pool(1));
  function helper(x: number) { return x + 1; }
  const err = await rejection(pool.map((x: number) => helper(x), [1]), RemoteError, 'a task calling an outer function');
  assert.is(err.remoteName, 'ReferenceError');
  assert.match(err.message, /`helper` is called, so it is a function/);
  assert.match(err.message, /tasks\(url\)/);
  assert.not.match(err.message, /Pass `helper` as an argument/);
});

test('an outer value a by-source task reads: the error says workers do not see values the parent set, and names initializer/initargs', async () => {
  const pool = track(new Pool(1));
  const table = [10, 20, 30];
  const err = await rejection(pool.map((i: number) => table[i], [1]), RemoteError, 'a task reading an outer value');
  assert.is(err.remoteName, 'ReferenceError');
  assert.match(err.message, /Workers do not see values the parent set/);
  assert.match(err.message, /initializer\/initargs/);
  assert.match(err.message, /Pass `table` as an argument/);
});

test("a by-source task's frames in the remote stack name the file it was written in, not `eval at`", async () => {
  const pool = track(new Pool(1));
  const err = await rejection(pool.map((x: number) => {
    if (x > 1) throw new Error(`boom at ${x}`);
    return x;
  }, [1, 2]), RemoteError, 'a by-source task that throws');
  const remote = err.stack!.slice(0, err.stack!.indexOf('--- sent by the call at ---'));
  assert.ok(remote.includes(here), `the remote part of the stack names ${here}:\n${err.stack}`);
  assert.not.match(remote, /eval at/);
});

test('no leaks', disposeAllAndCheckLeaks);

test.run();
