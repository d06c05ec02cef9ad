// Build step (src/build/build.mjs, after the bundle): train the bundled child entry's code
// cache. Not part of the library: plain JavaScript run by node.
//
// The cache bundle-child.mjs writes holds what V8 compiles before running the body: each
// module's top-level function, not the functions they define, which V8 compiles on their
// first call, in every worker again. Here one pool worker of the build just made runs what
// every worker runs (an initializer and a task by module, a task by source, a batch of
// numbers over the byte channel), and its entry writes the code cache of all it compiled as
// it leaves (TRAIN_ENV, read by the entry). Measured (issue 15, 30 pools of each alternating
// in one parent, CA unset, a worker's preload -> its first result, paired medians): 2.0 ms
// less by source, 1.5 ms less by module, of the ~7 ms a worker costs beyond a bare fork.
//
// The module is also the training's task module: its worker imports it for `square` and
// `setUp`, which is all it runs of it.

import { renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CACHE, TRAIN_ENV } from './bundle-child.mjs';

/** Set in the training worker by its initializer, read by `square`: a worker's own state. */
let factor = 0;

/** The training's initializer (by module). */
export function setUp(n) {
  factor = n;
}

/** The training's task by module. */
export function square(x) {
  return factor * x * x;
}

/**
 * Run one worker of the build at `outDir` (dist) through a worker's common paths and keep
 * the code cache its entry writes as the build's (dist/cjs/process/child-bundle.cache).
 * Returns the size of the trained cache, or throws why there is none: the cache
 * bundle-child.mjs wrote then stays as it is (a worker compiles the rest on first call).
 */
export async function trainChildCache(outDir) {
  const cacheFile = join(outDir, 'cjs', CACHE);
  const trained = `${cacheFile}.trained`;
  rmSync(trained, { force: true });
  const { Pool, tasks } = await import(pathToFileURL(join(outDir, 'esm', 'index.js')).href);
  const own = tasks(import.meta.url);
  process.env[TRAIN_ENV] = trained;
  let pool;
  try {
    // Forked here, so its worker inherits the variable (the entry removes it from its own env).
    pool = new Pool({ processes: 1, initializer: own.setUp, initargs: [2] });
  } finally {
    delete process.env[TRAIN_ENV];
  }
  // A time limit on each call, so that a build never waits forever on a worker.
  const limit = { timeout: 60_000 };
  try {
    await pool.apply(() => process.pid, [], limit);
    const squares = await pool.map(own.square, [1, 2, 3], limit);
    if (squares.join() !== '2,8,18') throw new Error(`the training pool answered ${squares.join()} for 2,8,18`);
    // Enough numbers that the batches go packed, over the byte channel, both ways.
    const n = 100_000;
    const doubled = await pool.map((x) => x * 2, Array.from({ length: n }, (_, i) => i), { chunksize: n / 2, ...limit });
    if (doubled[n - 1] !== 2 * (n - 1)) throw new Error('the training pool answered a wrong batch of numbers');
  } catch (err) {
    await pool.terminate();
    rmSync(trained, { force: true });
    throw err;
  }
  pool.close();
  await pool.join();
  // The worker wrote it as it left, before join() saw it exit.
  const bytes = statSync(trained).size;
  renameSync(trained, cacheFile);
  return bytes;
}
