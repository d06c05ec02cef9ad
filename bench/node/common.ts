// Shared helpers of the Node side of the benchmarks: argument parsing and the JSON result line.
//
// Mirrors bench/python/bench_common.py: every case script runs ONE case per invocation and
// prints exactly ONE JSON line on stdout (diagnostics go to stderr), so bench/run.ts parses
// the last stdout line of either language the same way. Run a case as
//   node --import tsx bench/node/<script> [--variant V] [--quick] [--n N]
// Workers inherit `--import tsx` from the parent, so the .ts task modules load in them.

import { cpuCount } from '../../src/index.ts';

/** Parsed command line: `--quick` and `--n N` for every case, plus the case's own flags. */
export interface Args {
  quick: boolean;
  n: number | undefined;
  /** Every `--name value` pair, as strings (`--quick` excluded). */
  flags: Record<string, string>;
}

export function parseArgs(argv: readonly string[] = process.argv.slice(2)): Args {
  const flags: Record<string, string> = {};
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq !== -1) flags[arg.slice(2, eq)] = arg.slice(eq + 1);
      else flags[arg.slice(2)] = argv[++i] ?? '';
    } else fail(`unexpected argument ${JSON.stringify(arg)}`);
  }
  let n: number | undefined;
  if (flags.n !== undefined) {
    n = Number(flags.n);
    if (!Number.isInteger(n) || n < 1) fail('--n must be an integer >= 1');
  }
  return { quick, n, flags };
}

/** `--n` if given, else the quick or full default (bench_common.size). */
export function size(args: Args, full: number, quick: number): number {
  return args.n ?? (args.quick ? quick : full);
}

/** An integer flag, or `fallback`. */
export function intFlag(args: Args, name: string, fallback: number): number {
  const raw = args.flags[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) fail(`--${name} must be an integer >= 1`);
  return v;
}

/** A flag that must be one of `choices`; the first is the default. */
export function choice<T extends string>(args: Args, name: string, choices: readonly T[]): T {
  const raw = args.flags[name] ?? choices[0]!;
  if (!choices.includes(raw as T)) fail(`--${name} must be one of ${choices.join(', ')}`);
  return raw as T;
}

export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** Print the one result line. `better` is "higher" or "lower". */
export function emit(
  caseName: string,
  value: number,
  unit: string,
  better: 'higher' | 'lower',
  options: { variant?: string | null; params?: Record<string, unknown>; extra?: Record<string, unknown> } = {},
): void {
  const line = {
    case: caseName,
    variant: options.variant ?? null,
    value,
    unit,
    better,
    params: options.params ?? {},
    extra: options.extra ?? {},
    node: process.version,
    cores: cpuCount(),
    pid: process.pid,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** CLOCK_MONOTONIC in seconds, comparable between processes (Python's time.monotonic()). */
export function monotonic(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Let the workers leave normally (close + join) once the measurement is done, rather than
 * by the SIGTERM of `[Symbol.asyncDispose]`: a worker that exits normally writes its
 * profile when the bench runs under `node --cpu-prof` (workers inherit the flag).
 */
export async function closePool(pool: { close(): void; join(): Promise<void> }): Promise<void> {
  pool.close();
  await pool.join();
}
