// The package as a user gets it: `npm pack` the repository, install the tarball into a fresh
// `npm init -y` project (offline: the tarball has no dependencies, so no registry is asked),
// then run the README's quick starts there, verbatim, each as its own program:
//   main.mjs + text.mjs   plain JavaScript ESM under plain node (try/finally: `await using`
//                          is a SyntaxError in a plain .mjs on Node 20)
//   main.mts + text.mts   the TypeScript quick start under tsx (the repo's own tsx, by path);
//                          .mts because npm 11's `npm init -y` writes "type": "commonjs"
//   main.cjs              CommonJS: require, and the module referencing itself (tasks(__filename))
// The snippets live in test/fixtures/quickstart/, which is what the README quotes.
// Needs dist/ (npm test builds it first). Everything happens in one temp dir, removed at the end.
import { suite } from 'uvu';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert, disposeAllAndCheckLeaks, track } from './helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const quickstart = join(root, 'test', 'fixtures', 'quickstart');
/** Guards a hang only: packing and installing take a few seconds, a quick start as long. */
const TIMEOUT_MS = 120_000;

const test = suite('package');

interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  pgid: number;
}

/**
 * The environment of every command: this one's, minus what npm and uvu put there for the test
 * run itself (npm_* settings of the repo's own `npm test`, and FORCE_COLOR, which would colour
 * the numbers a quick start prints), plus npm settings that make any registry access fail at
 * once: an unreachable registry, a fresh cache, no update check.
 */
function cleanEnv(dir: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'FORCE_COLOR' || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return {
    ...env,
    npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  };
}

/** Run `file args` in `cwd`, in its own process group; reject with its output if it hangs. */
function run(file: string, args: string[], cwd: string, env: Record<string, string | undefined>): Promise<Outcome> {
  const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // Killed (it and its group) at the end of the file even when a test fails before it ends.
  track(child);
  if (child.pid !== undefined) groups.add(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child.pid!);
      reject(new Error(`hung: ${[file, ...args].join(' ')} did not exit within ${TIMEOUT_MS} ms\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
    }, TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pgid: child.pid! });
    });
  });
}

/** npm, the same one that runs this test when there is one (npm sets npm_execpath), by node. */
function npm(args: string[], cwd: string, env: Record<string, string | undefined>): Promise<Outcome> {
  const cli = process.env.npm_execpath;
  return cli && /\.c?js$/.test(cli) ? run(process.execPath, [cli, ...args], cwd, env) : run('npm', args, cwd, env);
}

/** Process groups of every command run (each leads its own). */
const groups = new Set<number>();

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Live (not zombie) members of process group `pgid`, from /proc; elsewhere, whether any is left. */
function groupMembers(pgid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const members: number[] = [];
  for (const name of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(name));
  }
  return members;
}

/** The processes a finished program left behind (after a short grace), killed if any. */
async function leftBehind(pgid: number): Promise<number[]> {
  const deadline = Date.now() + 5_000;
  let members = groupMembers(pgid);
  while (members.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    members = groupMembers(pgid);
  }
  if (members.length > 0) killGroup(pgid);
  return members;
}

function describe(what: string, r: Outcome): string {
  return `${what} exited with code ${r.code} signal ${r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

let dir = '';
let app = '';
let env: Record<string, string | undefined> = {};
let tarball = '';

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiproc-package-'));
  app = join(dir, 'app');
  mkdirSync(app);
  env = cleanEnv(dir);
});

test.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('dist/ is built (npm test runs the build first)', () => {
  assert.ok(existsSync(join(root, 'dist/esm/index.js')), 'dist/esm/index.js missing: run npm run build');
  assert.ok(existsSync(join(root, 'dist/cjs/index.js')), 'dist/cjs/index.js missing: run npm run build');
});

test('npm pack makes a tarball holding the build and no tests, examples or benchmarks', async () => {
  // --ignore-scripts: no `prepare` rebuild of dist/, which npm test has just built. Other test
  // files run meanwhile, and their children start from dist/esm (src/process/spawn.ts): a
  // rebuild in place could hand one a half-written module.
  const r = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root, env);
  assert.is(r.code, 0, describe('npm pack', r));
  const [info] = JSON.parse(r.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(dir, info!.filename);
  assert.ok(existsSync(tarball), `npm pack reported ${info!.filename}, not found in ${dir}`);
  const paths = info!.files.map((f) => f.path);
  for (const needed of ['package.json', 'README.md', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/esm/package.json', 'dist/cjs/index.js', 'dist/cjs/package.json', 'dist/cjs/process/child.js', 'dist/cjs/process/child-bundle.js', 'dist/cjs/process/child-bundle.body.js', 'dist/cjs/process/child-bundle.cache']) {
    assert.ok(paths.includes(needed), `the tarball lacks ${needed}`);
  }
  const stray = paths.filter((p) => /^(test|examples|bench|node_modules|src\/types)\//.test(p) || p.endsWith('.trained'));
  assert.equal(stray, [], 'files the package should not ship');
});

test('the tarball installs offline into a fresh `npm init -y` project', async () => {
  assert.ok(tarball, 'no tarball: the pack test failed');
  const init = await npm(['init', '-y'], app, env);
  assert.is(init.code, 0, describe('npm init -y', init));
  const install = await npm(['install', tarball, '--offline', '--no-audit', '--no-fund'], app, env);
  assert.is(install.code, 0, describe(`npm install ${tarball} --offline`, install));
  const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'multiproc', 'package.json'), 'utf8')) as { name: string };
  assert.is(manifest.name, 'multiproc');
  for (const file of readdirSync(quickstart)) writeFileSync(join(app, file), readFileSync(join(quickstart, file)));
});

/** The quick starts: the program, how to run it, and what it must print, exactly. */
const quickstarts: Array<{ name: string; command: () => [string, string[]]; expected: string }> = [
  { name: 'main.mjs (plain JavaScript, node)', command: () => [process.execPath, ['main.mjs']], expected: '[ 1, 4, 9 ]\n2\n3\n' },
  {
    name: 'main.mts (TypeScript, tsx)',
    // The repo's tsx, by path: the fresh project has no dependency but multiproc.
    command: () => [process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'main.mts']],
    expected: '[ 1, 4, 9 ]\n2\n3\n',
  },
  { name: 'main.cjs (CommonJS, node, a self-referencing module)', command: () => [process.execPath, ['main.cjs']], expected: '[ 1, 4, 9 ]\n[ 2, 3 ]\n' },
];

for (const q of quickstarts) {
  test(`the README quick start ${q.name} runs in the fresh project and prints what it says`, async () => {
    assert.ok(existsSync(join(app, 'node_modules', 'multiproc')), 'multiproc is not installed: the install test failed');
    const [file, args] = q.command();
    const r = await run(file, args, app, env);
    assert.is(r.code, 0, describe(q.name, r));
    assert.is(r.stdout, q.expected, describe(q.name, r));
    assert.equal(await leftBehind(r.pgid), [], `${q.name} left processes behind`);
  });
}

test('in the installed package, a by-source task imports multiproc by name: the copy its worker runs, which knows the worker', async () => {
  assert.ok(existsSync(join(app, 'node_modules', 'multiproc')), 'multiproc is not installed: the install test failed');
  // The worker's entry is the CommonJS build's, bundled (src/process/spawn.ts, cjsEntry,
  // bundledEntry; npm's tarball gives every file one mtime, so the bundle is no older); the task's
  // import() resolves the package's ES module build, whose currentProcess() reads the
  // runtime record the entry filled in.
  const script = [
    "import { Pool, Queue } from 'multiproc';",
    'const pool = new Pool(1);',
    'const q = new Queue();',
    "const seen = await pool.apply(async (q) => { const mp = await import('multiproc'); return { name: mp.currentProcess().name, queue: q instanceof mp.Queue, entry: process.argv[1].split('node_modules/multiproc')[1] }; }, [q]);",
    'console.log(JSON.stringify(seen));',
    'await pool.terminate();',
  ].join('\n');
  writeFileSync(join(app, 'by-name.mjs'), script);
  const r = await run(process.execPath, ['by-name.mjs'], app, env);
  assert.is(r.code, 0, describe('by-name.mjs', r));
  assert.equal(JSON.parse(r.stdout), { name: 'PoolWorker-1', queue: true, entry: '/dist/cjs/process/child-bundle.js' }, describe('by-name.mjs', r));
  assert.equal(await leftBehind(r.pgid), [], 'by-name.mjs left processes behind');
});

test('the quick starts load multiproc from the installed tarball, not from the repository', async () => {
  const r = await run(process.execPath, ['-e', "console.log(require.resolve('multiproc'))"], app, env);
  assert.is(r.code, 0, describe('require.resolve', r));
  assert.ok(r.stdout.trim().startsWith(join(app, 'node_modules', 'multiproc')), `multiproc resolved to ${r.stdout.trim()}`);
});

test('no leaks: every command and its process group are gone', async () => {
  const left = [...groups].map((pgid) => ({ pgid, members: groupMembers(pgid) })).filter((g) => g.members.length > 0);
  for (const g of left) killGroup(g.pgid);
  assert.equal(left, [], 'process groups with live members at the end of the file');
  await disposeAllAndCheckLeaks();
});

test.run();
