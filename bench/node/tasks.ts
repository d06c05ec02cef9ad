// Pool task functions of the benchmarks, run in workers by module reference:
//   const work = tasks<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));
// Kept free of imports so that a worker loading it pays for nothing else (case 6 measures
// pool start-up). The twins of the Python scripts' module-level functions.

/** Case 1: Python's `square`. */
export function square(x: number): number {
  return x * x;
}

/** Case 2: Python's `noop`. */
export function noop(): null {
  return null;
}

/**
 * Case 3: the work unit, identical in both languages (bench/python/README.md):
 * `s = 0; for i in range(k): s += (i * i) % 7; return s`. Result for k = 230,000: 459998.
 */
export function work(k: number): number {
  let s = 0;
  for (let i = 0; i < k; i++) s += (i * i) % 7;
  return s;
}

let runs = 0;

/**
 * Case 3's pool side: work(k) timed where it runs, with who ran it and how many of these
 * that process had run before: `[result, ms, pid, nth]`. Shows what a fresh worker's first
 * task costs against the others.
 */
export function timedWork(k: number): [number, number, number, number] {
  const t0 = performance.now();
  const s = work(k);
  return [s, performance.now() - t0, process.pid, runs++];
}

/** Case 7: Python's `len` on a bytes object. */
export function byteLength(b: Uint8Array): number {
  return b.length;
}
