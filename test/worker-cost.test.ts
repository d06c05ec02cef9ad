// What one worker costs (issue 15), over real processes: no watchdog thread in a child (the
// parent's one watcher ends the children of a parent that died), a compiled build under tsx
// whose workers load tsx only for a TypeScript task module, and the library run from its
// sources under tsx, whose children start from the fresh compiled build the same way, with
// one copy of the library each. Figures live in bench/ (bench/node/worker-cost.mjs); this
// file asserts facts, not timings. A worker of plain tasks loads the error and handle
// encoding only when a reply needs it, and node:module only when a task calls require(). A
// worker starts from the bundled entry (its modules in one script, compiled with a code
// cache), whose modules are each the CommonJS module of its own file.
import { suite } from 'uvu';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Barrier, cpuCount, Pool, RemoteError, tasks } from '../src/index.ts';
import { findStaleTwin, FROM_SOURCE_ENV, pidAlive, splitExecArgv } from '../src/process/spawn.ts';
import { assert, disposeAllAndCheckLeaks, rememberPid, track, waitFor, withinMs } from './helpers.ts';

const test = suite('worker-cost');
const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
/** A temporary copy of the repository: src/, its dist/esm and dist/cjs builds, package.json, the twin-* fixtures. */
let built = '';
let lib = '';
/** Files of an earlier build, planted in dist/ before the build (see before()). */
const STALE = ['esm/old-module.js', 'cjs/process/old-engine.js'];

/** Run `args` with this node; resolve with its output; fail naming `what` if it hangs. */
function run(args: string[], what: string, ms = 60_000, env: Record<string, string | undefined> = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return withinMs(new Promise((resolve) => child.once('close', (code: number | null) => resolve({ code, stdout, stderr }))), ms, what);
}

const lastLine = (s: string) => JSON.parse(s.trim().split('\n').pop()!);

test.before(() => {
  // A copy of the repository with the compiled build fresh from its src/ (as bench/run.ts
  // makes it): dist/esm/index.js is what a user of the published package runs; src/ is what
  // the repository's tests and examples run, and its children start from that build. A copy,
  // so that a test may age its sources without touching the real tree. The sources are copied
  // first, then compiled (from the real src/, the same text), so the build is the newer.
  built = mkdtempSync(join(tmpdir(), 'mp-worker-cost-'));
  cpSync(join(root, 'src'), join(built, 'src'), { recursive: true });
  mkdirSync(join(built, 'test', 'fixtures'), { recursive: true });
  for (const name of ['twin-parent.ts', 'twin-tasks.ts']) copyFileSync(fixture(name), join(built, 'test', 'fixtures', name));
  // Files an older build left (a module since renamed): the build must remove them, or the
  // package would ship them (see 'a build leaves no file of an earlier build').
  for (const stale of STALE) {
    mkdirSync(join(built, 'dist', stale, '..'), { recursive: true });
    writeFileSync(join(built, 'dist', stale), 'module.exports = "stale";\n');
  }
  // Built as `npm run build` builds the package (both builds, then the bundled child
  // entry), from the real src/ (the same text): children start from the bundle.
  execFileSync(process.execPath, [join(root, 'src', 'build', 'build.mjs'), join(built, 'dist'), '--fast'], { cwd: root, stdio: 'inherit', timeout: 120_000 });
  writeFileSync(join(built, 'package.json'), '{ "type": "module" }\n');
  lib = pathToFileURL(join(built, 'dist', 'esm', 'index.js')).href;
});

test('a build leaves no file of an earlier build in dist/ (the package ships all of dist/)', () => {
  for (const stale of STALE) assert.throws(() => statSync(join(built, 'dist', stale)), /ENOENT/, `${stale} is gone`);
  assert.ok(statSync(join(built, 'dist', 'esm', 'index.js')).isFile() && statSync(join(built, 'dist', 'cjs', 'process', 'child-bundle.js')).isFile());
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

/** What test/fixtures/twin-parent.ts reports of one child: tsx loaded, tsx flags, entry file. */
interface ChildState {
  tsx: boolean;
  execArgv: string[];
  entry: string;
}

/** Run the copy's twin-parent.ts from its sources under tsx, with NODE_DEBUG=multiproc and `env`. */
async function runFromSources(env: Record<string, string> = {}): Promise<{
  report: { worker: ChildState; bySourceImport: string; child: ChildState; server: ChildState; serverFactory: { tsx: boolean; library: string }; afterTs: ChildState; copies: Record<string, unknown> };
  stderr: string;
}> {
  const out = await run(['--import', 'tsx', join(built, 'test', 'fixtures', 'twin-parent.ts')], 'twin-parent.ts under tsx', 90_000, { ...process.env, NODE_DEBUG: 'multiproc', ...env });
  assert.is(out.code, 0, out.stderr);
  return { report: lastLine(out.stdout), stderr: out.stderr };
}

test('sources under tsx, fresh build: pool workers, Process and manager children start from the compiled build, without tsx', async () => {
  const { report, stderr } = await runFromSources();
  const compiled = { tsx: false, execArgv: [], entry: join(built, 'dist', 'cjs', 'process', 'child-bundle.js') };
  assert.equal(report.worker, compiled, 'a pool worker after a by-source task');
  assert.equal(report.child, compiled, 'a Process running a by-source target');
  assert.equal(report.server, compiled, "the manager's server process (it imports src/manager/server.ts as its compiled twin)");
  assert.match(stderr, /children start from the compiled build .*dist[\\/]cjs[\\/]process[\\/]child-bundle\.js, built from the current sources/, 'NODE_DEBUG says which entry');
  // A by-source function that imports a .ts file before any TypeScript task module ran: said why.
  assert.match(report.bySourceImport, /was sent to the worker by source and imports a TypeScript file, but the worker did not start tsx/);
  assert.match(report.bySourceImport, /MULTIPROC_CHILD_FROM_SOURCE=1/);
});

test('sources under tsx, fresh build: a worker importing a .ts module that imports ../../src/index.ts holds one copy of the library', async () => {
  const { report } = await runFromSources();
  // The Queue passed in is revived by the copy that runs the child entry; it is a Queue of
  // the module's import only if that import resolved to the same (compiled) copy.
  assert.equal(report.copies, { tsx: true, passedIsOurs: true, fromPassed: 'put by the worker', fromMade: 'made by the worker' });
  assert.equal(report.afterTs, { tsx: true, execArgv: [], entry: join(built, 'dist', 'cjs', 'process', 'child-bundle.js') }, 'tsx registered for the .ts module, entry unchanged');
  // The manager's server loads a typeid factory with the loader of the copy its module
  // belongs to (dist/esm), not the child entry's (dist/cjs): the twins hold there too.
  assert.equal(report.serverFactory, { tsx: true, library: pathToFileURL(join(built, 'dist', 'esm', 'index.js')).href }, "a manager factory's module imports the sources as their compiled twins");
});

/**
 * Run twin-parent.ts from the sources with `file` of the build an hour older than the rest
 * (an earlier build's), then give it its time back; `expected` is the entry its children
 * should start from instead, `why` what NODE_DEBUG should say.
 */
async function withAgedFile(file: string, expected: string, why: RegExp): Promise<void> {
  const { mtimeMs } = statSync(file);
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(file, old, old);
  try {
    const { report, stderr } = await runFromSources();
    const entry = { tsx: false, execArgv: [], entry: expected };
    assert.equal(report.worker, entry, 'a pool worker');
    assert.equal(report.child, entry, 'a Process');
    assert.equal(report.copies, { tsx: true, passedIsOurs: true, fromPassed: 'put by the worker', fromMade: 'made by the worker' });
    assert.match(stderr, why);
  } finally {
    utimesSync(file, new Date(), new Date(mtimeMs));
  }
}

test('sources under tsx: a CommonJS build older than the ES module one keeps the ES module entry (one copy still), and NODE_DEBUG says why', async () => {
  await withAgedFile(
    join(built, 'dist', 'cjs', 'process', 'child.js'),
    join(built, 'dist', 'esm', 'process', 'child.js'),
    /children start from the ES module entry .*dist[\\/]esm[\\/]process[\\/]child\.js: the CommonJS build beside it is older/,
  );
});

test('the bundled child entry, from either build: each module it holds is the CommonJS module of its own file (one instance, in require.cache) and finds its own file', async () => {
  const bundled = ['process/child.js', 'deque.js', 'protocol/version.js', 'errors.js', 'runtime.js', 'util.js', 'process/loader.js', 'process/byte-channel.js', 'remote/adopt.js', 'process/numbers.js'];
  for (const build of ['esm', 'cjs']) {
    const out = await run([fixture('worker-cost-bundle.mjs'), pathToFileURL(join(built, 'dist', build, 'index.js')).href], `worker-cost-bundle.mjs (${build})`);
    assert.is(out.code, 0, out.stderr);
    const report = lastLine(out.stdout) as { entry: string; libraryRoot: string; modules: Record<string, { filename: string; loaded: boolean }>; cache: string };
    assert.is(report.entry, 'process/child-bundle.js', `a worker of the ${build} build starts from the bundle`);
    // moduleFile() maps a call site in the bundle to the module's own file: the runtime module
    // of dist/cjs says the library lives there, not in dist/cjs/process where the bundle is.
    assert.is(report.libraryRoot, '.', `ownLibraryRoot() of the worker's runtime module (${build})`);
    for (const file of bundled) assert.equal(report.modules[file], { filename: file, loaded: true }, `${file} in require.cache (${build})`);
    assert.is(report.cache, 'accepted', `the body compiled with the code cache this node built (${build})`);
  }
});

test("the bundled entry's code cache: one this node rejects, or none, only costs the compile; tasks still run", async () => {
  const cacheFile = join(built, 'dist', 'cjs', 'process', 'child-bundle.cache');
  const cache = readFileSync(cacheFile);
  const report = async (what: string) => {
    const out = await run([fixture('worker-cost-bundle.mjs'), lib], `worker-cost-bundle.mjs (${what})`);
    assert.is(out.code, 0, out.stderr);
    return lastLine(out.stdout) as { cache: string; libraryRoot: string };
  };
  try {
    // Another node's cache, as far as V8 can tell: its header does not match this V8.
    writeFileSync(cacheFile, Buffer.alloc(cache.length, 7));
    const foreign = await report('a foreign cache');
    assert.is(foreign.cache, 'rejected');
    assert.is(foreign.libraryRoot, '.', 'the worker ran its task');
    rmSync(cacheFile);
    assert.is((await report('no cache')).cache, 'absent');
  } finally {
    writeFileSync(cacheFile, cache);
  }
});

test("the bundled entry's code cache is trained by a worker of the build: it holds the functions a worker runs, not only what compiling the body makes; a training that fails leaves the cache as it was", async () => {
  const dir = join(built, 'dist', 'cjs', 'process');
  const bodyFile = join(dir, 'child-bundle.body.js');
  const trained = readFileSync(join(dir, 'child-bundle.cache'));
  // What bundle-child.mjs writes before the training: the body compiled, nothing run. (V8's
  // code cache holds the bytecode of every function compiled by then.)
  const compiledOnly = new Script(readFileSync(bodyFile, 'utf8'), { filename: bodyFile }).createCachedData();
  assert.ok(trained.length > 1.4 * compiledOnly.length, `trained cache ${trained.length} bytes against ${compiledOnly.length} for the compile alone`);
  assert.not.ok(existsSync(join(dir, 'child-bundle.cache.trained')), 'no training file left');

  // A build whose workers cannot start: the training fails with the pool's reason, and the
  // cache it had stays, with nothing beside it.
  const copy = mkdtempSync(join(tmpdir(), 'mp-train-'));
  try {
    cpSync(join(built, 'dist'), copy, { recursive: true });
    const copyDir = join(copy, 'cjs', 'process');
    writeFileSync(join(copyDir, 'child-bundle.body.js'), '(function () { throw new Error("this worker cannot start"); })\n');
    const before = readFileSync(join(copyDir, 'child-bundle.cache'));
    const train = `import(${JSON.stringify(pathToFileURL(join(root, 'src', 'build', 'train-child.mjs')).href)}).then((m) => m.trainChildCache(${JSON.stringify(copy)})).then((n) => console.log('trained', n), (e) => console.log('failed:', e.message))`;
    const out = await run(['--input-type=module', '-e', train], 'a training whose worker cannot start');
    assert.is(out.code, 0, out.stderr);
    assert.match(out.stdout, /^failed: .*workers cannot start here/m);
    assert.equal(readFileSync(join(copyDir, 'child-bundle.cache')), before, 'the cache as it was');
    assert.not.ok(existsSync(join(copyDir, 'child-bundle.cache.trained')), 'no training file left');
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test('a bundled entry without its body is not used (child.js instead), and NODE_DEBUG says why', async () => {
  const body = join(built, 'dist', 'cjs', 'process', 'child-bundle.body.js');
  renameSync(body, `${body}.away`);
  try {
    const out = await run([fixture('worker-cost-bundle.mjs'), lib], 'worker-cost-bundle.mjs (no body)', 60_000, { ...process.env, NODE_DEBUG: 'multiproc' });
    assert.is(out.code, 0, out.stderr);
    assert.is((lastLine(out.stdout) as { entry: string }).entry, 'process/child.js');
    assert.match(out.stderr, /children start from .*dist[\\/]cjs[\\/]process[\\/]child\.js: the bundled entry beside it has no body/);
  } finally {
    renameSync(`${body}.away`, body);
  }
});

test('sources under tsx: a bundled entry older than the CommonJS entry is not used (child.js instead), and NODE_DEBUG says why', async () => {
  await withAgedFile(
    join(built, 'dist', 'cjs', 'process', 'child-bundle.js'),
    join(built, 'dist', 'cjs', 'process', 'child.js'),
    /children start from .*dist[\\/]cjs[\\/]process[\\/]child\.js: the bundled entry beside it is older/,
  );
});

test(`sources under tsx: a stale build, or ${FROM_SOURCE_ENV}=1, keeps the source entry, each child with tsx, and NODE_DEBUG says why`, async () => {
  const sourceEntry = { tsx: true, execArgv: ['tsx'], entry: join(built, 'src', 'process', 'child.ts') };
  const forced = await runFromSources({ [FROM_SOURCE_ENV]: '1' });
  assert.equal(forced.report.worker, sourceEntry, `${FROM_SOURCE_ENV}=1`);
  assert.match(forced.stderr, new RegExp(`children start from the TypeScript sources .*as ${FROM_SOURCE_ENV}=1 asks`));
  // One source edited after the build (in the copy; its time is put back after).
  const edited = join(built, 'src', 'util.ts');
  const { mtimeMs } = statSync(edited);
  utimesSync(edited, new Date(), new Date(Date.now() + 3_600_000));
  try {
    const stale = await runFromSources();
    for (const who of ['worker', 'child', 'server', 'afterTs'] as const) assert.equal(stale.report[who], sourceEntry, `${who} with a stale build`);
    assert.is(stale.report.bySourceImport, 'imported', 'a child of the sources has tsx from its start');
    assert.equal(stale.report.copies.passedIsOurs, true, 'one copy: the sources');
    assert.match(stale.stderr, /the compiled build is not fresh \(.*util\.ts changed after .*util\.js was built/);
  } finally {
    utimesSync(edited, new Date(), new Date(mtimeMs));
  }
});

test('findStaleTwin: every source module needs a twin no older than itself; declarations and types/ need none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-twins-'));
  try {
    const src = join(dir, 'src');
    const out = join(dir, 'out');
    const write = (file: string, ageS: number) => {
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, '');
      const t = new Date(Date.now() - ageS * 1000);
      utimesSync(file, t, t);
    };
    write(join(src, 'a.ts'), 60);
    write(join(src, 'sub', 'b.mts'), 60);
    write(join(src, 'sub', 'c.d.ts'), 0);
    write(join(src, 'types', 'node.ts'), 0);
    assert.match(findStaleTwin(src, out) ?? '', /out[\\/]a\.js is missing/);
    write(join(out, 'a.js'), 30);
    assert.match(findStaleTwin(src, out) ?? '', /out[\\/]sub[\\/]b\.mjs is missing/);
    write(join(out, 'sub', 'b.mjs'), 90);
    assert.match(findStaleTwin(src, out) ?? '', /sub[\\/]b\.mts changed after .*b\.mjs was built/);
    write(join(out, 'sub', 'b.mjs'), 30);
    assert.is(findStaleTwin(src, out), null, 'fresh: c.d.ts and types/node.ts need no twin');
    assert.match(findStaleTwin(join(dir, 'nowhere'), out) ?? '', /cannot be read \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('splitExecArgv for a compiled child entry: tsx is deferred, unless another loader flag names a TypeScript file the child loads at start', () => {
  const deferred = splitExecArgv(['--import', 'tsx', '--max-old-space-size=512'], true);
  assert.equal(deferred.argv, ['--max-old-space-size=512']);
  assert.equal(deferred.deferred.map((l) => l.kind), ['import']);
  const kept = splitExecArgv(['--import', 'tsx', '--import', './instrument.ts'], true);
  assert.equal(kept, { argv: ['--import', 'tsx', '--import', './instrument.ts'], deferred: [] });
});

test("a worker loads node:module only when a by-source task first calls require(), which is node's own (resolve, cache, main); so on a node without process.getBuiltinModule", async () => {
  const inTask = { basename: 'b.txt', resolved: 'node:path', cache: 'object', main: 'object', loaded: true };
  const plain = await run([fixture('worker-cost-require.mjs'), lib], 'worker-cost-require.mjs');
  assert.is(plain.code, 0, plain.stderr);
  assert.equal(lastLine(plain.stdout), { getBuiltinModule: true, loadedBefore: false, inTask, parentLoaded: true });
  // Node 20 before 20.16 (simulated; workers inherit the --require): loaded before a by-source task is compiled.
  const older = await run(['--require', fixture('no-get-builtin.cjs'), fixture('worker-cost-require.mjs'), lib], 'worker-cost-require.mjs without process.getBuiltinModule');
  assert.is(older.code, 0, older.stderr);
  assert.equal(lastLine(older.stdout), { getBuiltinModule: false, loadedBefore: true, inTask, parentLoaded: true });
});

test('a pool of small values, or of numbers in short batches (chunksize 1), never moves to the byte channel; the first batch of numbers moves that worker, and later calls still answer', async () => {
  const r = await run([fixture('channel-switch.mjs'), lib], 'channel-switch.mjs', 30_000, { ...process.env, NODE_DEBUG: 'multiproc' });
  assert.is(r.code, 0, r.stderr);
  assert.equal(lastLine(r.stdout), { small: [0, 2, 4], ones: 14850, sum: 500500, after: 'AFTER' });
  const [before, after] = r.stderr.split('--- small applies done');
  const moved = /worker PoolWorker-\d+ \(pid \d+\): its messages move to the byte channel/g;
  assert.is(before!.match(moved), null, `no move before the map:\n${before}`);
  assert.is(after!.match(moved)?.length, 1, `one move with the map:\n${after}`);
});

test('a worker that cannot open its byte channel: small calls still run by IPC; the first batch that switches it to the channel breaks the pool with the reason, never a hang', async () => {
  // After 'switch' every message travels on the channel: a worker without it would never
  // see its batch. (Before messages moved onto the channel, only values did, and the worker
  // fell back to IPC.)
  const r = await run(['--require', fixture('close-fd4.cjs'), fixture('no-channel.mjs'), lib], 'no-channel.mjs: a pool whose worker closed fd 4', 30_000);
  assert.is(r.code, 0, r.stderr);
  const out = lastLine(r.stdout) as { apply: number; map?: number; error?: { name: string; code: string; message: string } };
  assert.is(out.apply, 42, 'an apply of a small value never needs the channel');
  assert.is(out.map, undefined, 'the map of numbers cannot run');
  assert.is(out.error?.name, 'BrokenProcessPool');
  assert.is(out.error?.code, 'MP_BROKEN_POOL');
  assert.match(out.error!.message, /worker PoolWorker-\d+ \(pid \d+\) cannot be used: it could not open its byte channel to the parent on file descriptor 4: EBADF/);
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
