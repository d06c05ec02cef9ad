// processMap: tqdm's process_map, a one-call parallel map with a progress bar. Parent side;
// a thin use of Pool (pool.ts).

import { invalidArg } from '../errors.ts';
import { checkOptionNames, optionNames } from '../options.ts';
import { Pool } from './pool.ts';

/** Options of `processMap()`. */
export interface ProcessMapOptions {
  /**
   * Number of worker processes.
   * @default cpuCount()
   */
  maxWorkers?: number;
  /**
   * Items per task. Without it, Pool.map's rule is used, lowered so the bar moves at least
   * a hundred times.
   * @default min(ceil(n / (maxWorkers * 4)), ceil(n / 100))
   */
  chunksize?: number;
  /**
   * Label of the progress bar.
   * @default ''
   */
  desc?: string;
  /**
   * Draw no bar at all.
   * @default false
   */
  disable?: boolean;
}

const PROCESS_MAP_OPTIONS = optionNames<ProcessMapOptions>({ maxWorkers: true, chunksize: true, desc: true, disable: true });

/**
 * Map `fn` over `iterable` in a fresh pool of processes with a progress bar on stderr,
 * resolve with the results in input order, and terminate the pool (also on failure).
 *
 * Python: tqdm.contrib.concurrent.process_map(fn, iterable, max_workers=…, chunksize=…,
 * desc=…) — one iterable (use Pool.starmap for several arguments); the default chunksize
 * follows Pool.map instead of tqdm's 1, which is far slower for small tasks.
 * Rejects as Pool.map does (RemoteError, WorkerLostError, SerializationError, TypeError…).
 *
 * @example
 * const sizes = await processMap(tasks<typeof import('./work.js')>(new URL('./work.js', import.meta.url)).countWords, files, { desc: 'files' });
 */
export async function processMap<T, R>(fn: (item: T) => R, iterable: Iterable<T> | AsyncIterable<T>, options: ProcessMapOptions = {}): Promise<Awaited<R>[]> {
  if (typeof options !== 'object' || options === null) throw invalidArg('processMap() options must be an object { maxWorkers?, chunksize?, desc? }');
  checkOptionNames(options, PROCESS_MAP_OPTIONS, 'processMap()');
  const { maxWorkers, chunksize, desc, disable } = options;
  const pool = new Pool(maxWorkers === undefined ? undefined : { processes: maxWorkers });
  try {
    return await pool.map(fn, iterable, { chunksize, progress: disable ? false : { desc: desc ?? '' } });
  } finally {
    await pool.terminate();
  }
}
