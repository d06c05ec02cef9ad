// The built package from CommonJS: require('multiproc') in a plain .cjs file run by plain
// node (no tsx), as a legacy service would. Needs `npm run build` first (npm test does it).
import { suite } from 'uvu';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { assert, disposeAllAndCheckLeaks, rememberPid, track, withinMs } from './helpers.ts';

const test = suite('cjs');
const root = new URL('../', import.meta.url).pathname;

test('dist/ is built (npm test runs the build first)', () => {
  assert.ok(existsSync(`${root}dist/cjs/index.js`), 'dist/cjs/index.js missing: run npm run build');
  assert.ok(existsSync(`${root}dist/esm/index.js`), 'dist/esm/index.js missing');
  assert.ok(existsSync(`${root}dist/esm/index.d.ts`), 'type declarations missing');
  assert.ok(existsSync(`${root}dist/cjs/process/child.js`), 'the CJS child entry is missing');
});

test('require("multiproc") from a .cjs file starts processes and a pool with plain node', async () => {
  const out = await withinMs(
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      // execArgv deliberately empty: no tsx anywhere in this process tree.
      const child = track(spawn(process.execPath, [`${root}test/fixtures/consumer.cjs`], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d));
      child.stderr!.on('data', (d: Buffer) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    }),
    30_000,
    'consumer.cjs',
  );
  assert.is(out.code, 0, out.stderr);
  assert.match(out.stdout, /hello from cjs child \d+/);
  const report = JSON.parse(out.stdout.trim().split('\n').pop()!);
  assert.is(report.exitCode, 0);
  assert.ok(report.instanceofOk);
  assert.ok(report.isMain);
  assert.ok(report.exports > 10);
  assert.equal(report.pool, [2, 4, 6], 'a Pool of the CommonJS build mapped work.cjs');
  assert.ok(report.pids.length >= 2, `the Process and at least one pool worker reported a pid: ${report.pids}`);
  report.pids.forEach(rememberPid);
});

test('ESM import of the built package exposes the same names', async () => {
  const esm = await import(`${root}dist/esm/index.js`);
  const { createRequire } = await import('node:module');
  const cjs = createRequire(import.meta.url)(`${root}dist/cjs/index.js`);
  assert.equal(Object.keys(esm).sort(), Object.keys(cjs).sort());
});

test('no leaks: the script and every process it started are gone', disposeAllAndCheckLeaks);

test.run();
