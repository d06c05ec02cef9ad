// The package's build, in one place: `npm run build` runs it into dist/, and so do the
// benches (bench/run.ts, into a temporary folder) and the tests that need a build of their
// own (test/worker-cost.test.ts), so that what they measure and test is what a user of the
// published package runs. Not part of the library: plain JavaScript run by node.
//
//   node src/build/build.mjs [outDir (default: dist)] [--fast]
//
// Writes, in this order (src/process/spawn.ts relies on it: a later step's files are never
// older than an earlier step's):
//   <outDir>/esm   the ES module build (tsconfig.build.json) and its package.json ({ "type":
//                  "module" }: so the build says what it is wherever it is copied; without
//                  one above it, node 20 would parse each file as CommonJS first): what
//                  `import 'multiproc'` loads
//   <outDir>/cjs   the CommonJS build (tsconfig.cjs.json) and its package.json ({ "type":
//                  "commonjs" }, without which node would load its .js files as ES modules):
//                  what `require('multiproc')` loads, and the child entry of both
//   <outDir>/cjs/process/child-bundle.js   that child entry with the modules it requires at
//                  start, in one file, and its V8 code cache (src/build/bundle-child.mjs),
//                  then trained by one worker of this build (src/build/train-child.mjs; a
//                  build whose training fails keeps the untrained cache and says why)
// Each of esm/ and cjs/ is emptied first (files of an earlier build would otherwise stay).
// --fast leaves out declarations and source maps (a build to run, not to publish).

import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeChildBundle } from './bundle-child.mjs';
import { trainChildCache } from './train-child.mjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const fast = args.includes('--fast');
const outDir = resolve(args.find((a) => !a.startsWith('--')) ?? join(repo, 'dist'));
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const extra = fast ? ['--declaration', 'false', '--sourceMap', 'false'] : [];

const t0 = performance.now();
for (const [config, dir] of [['tsconfig.build.json', 'esm'], ['tsconfig.cjs.json', 'cjs']]) {
  // From empty: tsc only writes, so a module renamed or removed would leave its old output,
  // which the package (all of dist/) would ship and nothing would update.
  rmSync(join(outDir, dir), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', join(repo, config), '--outDir', join(outDir, dir), ...extra], { cwd: repo, stdio: 'inherit' });
}
writeFileSync(join(outDir, 'esm', 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
writeFileSync(join(outDir, 'cjs', 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
const bundle = writeChildBundle(join(outDir, 'cjs'));
let cache;
try {
  cache = `code cache trained (${((await trainChildCache(outDir)) / 1024).toFixed(0)} KiB)`;
} catch (err) {
  cache = `code cache untrained: ${err instanceof Error ? err.message : String(err)}`;
}
console.log(`build: ${outDir} (esm, cjs, ${bundle.modules} modules in the bundled child entry, ${cache}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
