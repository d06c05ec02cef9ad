// What `npm run bench` runs: the invocations of the case scripts and the rows of the tables,
// with their targets (issues 7 and 15). Read by bench/run.ts (the schedule) and
// bench/report.ts (the tables and notes); nothing here runs anything.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Better = 'higher' | 'lower';

/** One invocation of a case script: a fresh process printing one JSON line. */
export interface Invocation {
  /**
   * ts: a bench/node .ts script under `node --import tsx`; plain: a bench/node .mjs script
   * under plain node, given `--lib` = the compiled index.js; tsx: the same .mjs script
   * under tsx, given `--lib` = src/index.ts; probe: a bench/node .mjs script that uses no
   * library; python: a bench/python script.
   */
  lang: 'ts' | 'plain' | 'tsx' | 'probe' | 'python';
  script: string;
  /** Arguments; the scaling runs get `--k` appended once it is calibrated. */
  args: string[];
  label: string;
  /** Remove NODE_EXTRA_CA_CERTS from the environment of this process and all it starts. */
  noExtraCa?: boolean;
}

/** The JSON line a case script prints (both languages). */
export interface Result {
  case: string;
  variant: string | null;
  value: number;
  unit: string;
  better: Better;
  params: Record<string, any>;
  extra: Record<string, any>;
}

/** One side of a row: an invocation, and which figure of its result the row shows. */
export interface Side {
  inv: Invocation;
  /** The figure (default: `value`). */
  pick?: (r: Result) => number;
  /** Unit and direction of the picked figure (default: the result's own). */
  unit?: string;
  better?: Better;
  /** For a reference that is not Python: how the table names it ("bare fork"). */
  name?: string;
}

/** How a counted row's target is judged. */
export type Target =
  /** multiproc's advantage over the reference (> 1 = multiproc better) is at least `min`. */
  | { kind: 'advantage'; min: number; text: string }
  /**
   * multiproc's median (or, with `every`, each repetition, and no repetition failed) is
   * at least `atLeast` and/or below `below`.
   */
  | { kind: 'absolute'; atLeast?: number; below?: number; every?: boolean; text: string };

export interface Row {
  id: string;
  /** Case number (--only selects by it). */
  no: number;
  title: string;
  node: Side;
  /** What multiproc is compared with: Python, or a measurement with no library. */
  ref: Side | null;
  /** Python runs shown in the details for information (e.g. the fork start method). */
  info: Invocation[];
  /** Measurements with no library that the notes quote (the floor of a transport). */
  probes: Invocation[];
  /** null: an information row, shown and not counted. */
  target: Target | null;
  /** Also required for the target: flatness of case 8's RSS (bench/report.ts `flatness`). */
  flat?: boolean;
  /** Full runs only (--quick runs one variant per case). */
  full?: boolean;
  /** Case 9's scaling runs: the worker count; these rows make the processes tables. */
  workers?: number;
}

/** Worker counts of case 9 (128 only when /proc/meminfo says the memory is free). */
export const SCALING_WORKERS = [1, 2, 4, 8, 16, 32, 64, 128];
export const SCALING_WORKERS_QUICK = [1, 2, 4, 8];
/** Counts also run under tsx (information: the learner's view, and what the loader costs). */
export const SCALING_WORKERS_TSX = [1, 2, 4, 8];
/** Case 9's job: this many tasks of ~TASK_MS each, chunksize 1. */
export const SCALING_TASKS = 128;
export const SCALING_TASKS_QUICK = 32;
export const SCALING_TASK_MS = 10;
/** Case 8: the RSS is flat when its last-quarter maximum is within this of its first-quarter maximum. */
export const FLAT_MARGIN_MB = 5;

interface CasesJson {
  cases: { case: string; script: string; runs: { variant: string | null; args: string[] }[] }[];
}

export interface RowsContext {
  benchDir: string;
  /** File URL of src/index.ts (the tsx runs). */
  srcLib: string;
  quick: boolean;
  cores: number;
  /** NODE_EXTRA_CA_CERTS is set in this environment (case 10 then runs with and without it). */
  extraCa: boolean;
}

export interface Plan {
  rows: Row[];
  /** Calibration runs of case 9 (k for ~SCALING_TASK_MS per task in each language). */
  calibrate: { node: Invocation; python: Invocation };
  /** Case 3's machine ceiling probe (bench/node/spin.mjs). */
  spin: Invocation;
}

export function plan(ctx: RowsContext): Plan {
  const { quick, cores, srcLib } = ctx;
  const casesJson = JSON.parse(readFileSync(join(ctx.benchDir, 'python', 'cases.json'), 'utf8')) as CasesJson;
  const py = (caseName: string, variant: string | null): Invocation => {
    const entry = casesJson.cases.find((c) => c.case === caseName);
    const run = entry?.runs.find((r) => r.variant === variant);
    if (!entry || !run) throw new Error(`bench/python/cases.json has no run for case ${caseName} variant ${variant}`);
    return { lang: 'python', script: join('bench', 'python', entry.script), args: run.args, label: `python ${caseName}${variant ? ` ${variant}` : ''}` };
  };
  const pyScript = (file: string, args: string[], label: string): Invocation => ({ lang: 'python', script: join('bench', 'python', file), args, label });
  const ts = (file: string, args: string[] = []): Invocation => ({
    lang: 'ts',
    script: join('bench', 'node', file),
    args,
    label: `multiproc ${file.replace(/\.ts$/, '')}${args.length ? ` ${args.join(' ')}` : ''}`,
  });
  /** A plain-JS script on the compiled package under plain node. */
  const plain = (file: string, args: string[], extra: Partial<Invocation> = {}): Invocation => ({
    lang: 'plain',
    script: join('bench', 'node', file),
    args,
    label: `multiproc (plain node) ${file} ${args.join(' ')}`,
    ...extra,
  });
  /** The same script on src/ under tsx, as the examples run. */
  const tsx = (file: string, args: string[]): Invocation => ({ lang: 'tsx', script: join('bench', 'node', file), args: ['--lib', srcLib, ...args], label: `multiproc (tsx) ${file} ${args.join(' ')}` });
  const probe = (file: string, args: string[] = []): Invocation => ({ lang: 'probe', script: join('bench', 'node', file), args, label: `probe ${file}${args.length ? ` ${args.join(' ')}` : ''}` });
  const sz = (full: string, small: string): string => (quick ? small : full);
  const x = (key: string) => (r: Result) => Number(r.extra[key]);

  const rows: Row[] = [];
  const add = (row: Omit<Row, 'info' | 'probes'> & Partial<Pick<Row, 'info' | 'probes'>>) => rows.push({ info: [], probes: [], ...row });

  add({ id: 'map', no: 1, title: `map x*x, ${sz('1M', '200k')} ints`, node: { inv: ts('case1_map.ts') }, ref: { inv: py('map', null) }, target: { kind: 'advantage', min: 4.5, text: '≥ 4.5× Python' } });
  add({
    id: 'apply',
    no: 2,
    title: 'apply round trip (no-op)',
    node: { inv: ts('case2_apply.ts') },
    ref: { inv: py('apply', null) },
    probes: [probe('probe-ipc.mjs'), pyScript('probe_ipc.py', [], 'python probe_ipc')],
    target: { kind: 'advantage', min: 2, text: '≤ 0.5× Python latency' },
  });
  add({ id: 'cpu', no: 3, title: `${sz('32', '8')} × 25 ms CPU, efficiency`, node: { inv: ts('case3_cpu.ts') }, ref: { inv: py('cpu', null) }, target: { kind: 'absolute', atLeast: 0.95, text: 'efficiency ≥ 0.95' } });
  add({ id: 'queue-ints', no: 4, title: `Queue ${sz('500k', '100k')} ints`, node: { inv: ts('case4_queue.ts', ['--variant', 'ints']) }, ref: { inv: py('queue', 'ints') }, target: { kind: 'advantage', min: 5, text: '≥ 5× Python' } });
  add({ id: 'queue-dicts', full: true, no: 4, title: `Queue ${sz('100k', '20k')} ~1 KB objects`, node: { inv: ts('case4_queue.ts', ['--variant', 'dicts']) }, ref: { inv: py('queue', 'dicts') }, target: { kind: 'advantage', min: 1.5, text: '≥ 1.5× Python' } });
  add({ id: 'manager-dict_set', full: true, no: 5, title: 'Manager dict set (+ 1 confirming get)', node: { inv: ts('case5_manager.ts', ['--variant', 'dict_set']) }, ref: { inv: py('manager', 'dict_set') }, target: { kind: 'advantage', min: 2, text: '≥ 2× Python' } });
  const pyGet = py('manager', 'dict_get');
  add({
    id: 'manager-dict_get',
    no: 5,
    title: 'Manager dict get',
    node: { inv: ts('case5_manager.ts', ['--variant', 'dict_get']) },
    ref: { inv: pyGet },
    probes: [probe('probe-socket.mjs'), pyScript('probe_socket.py', [], 'python probe_socket')],
    target: { kind: 'advantage', min: 2, text: '≥ 2× Python' },
  });
  add({
    id: 'manager-dict_get64',
    full: true,
    no: 5,
    title: 'Manager dict get, 64 in flight (Python: one at a time)',
    node: { inv: ts('case5_manager.ts', ['--variant', 'dict_get64']) },
    ref: { inv: pyGet },
    target: null,
  });
  add({ id: 'manager-list_append', full: true, no: 5, title: 'Manager list append (+ 1 confirming get)', node: { inv: ts('case5_manager.ts', ['--variant', 'list_append']) }, ref: { inv: py('manager', 'list_append') }, target: { kind: 'advantage', min: 2, text: '≥ 2× Python' } });

  const startup2 = plain('runtime.mjs', ['--case', 'startup', '--workers', '2']);
  add({
    id: 'startup-2',
    no: 6,
    title: cores === 2 ? 'Pool start→result→shutdown, 2 (= cpuCount) workers' : 'Pool start→result→shutdown, 2 workers',
    node: { inv: startup2 },
    ref: { inv: py('startup', 'spawn-2') },
    info: [py('startup', 'fork-2')],
    target: { kind: 'advantage', min: 0.5, text: '≤ 2× Python spawn' },
  });
  // With two cores, "cpuCount() workers" is the row above; it is not run twice.
  if (cores !== 2) {
    add({
      id: 'startup-cpu',
      full: true,
      no: 6,
      title: `Pool start→result→shutdown, cpuCount (${cores}) workers`,
      node: { inv: plain('runtime.mjs', ['--case', 'startup', '--workers', 'cpu']) },
      ref: { inv: py('startup', 'spawn-cpu') },
      info: [py('startup', 'fork-cpu')],
      target: { kind: 'advantage', min: 0.5, text: '≤ 2× Python spawn' },
    });
  }
  const firstResult = x('first_result_ms');
  add({
    id: 'startup-tsx',
    no: 6,
    title: 'Pool(2) start → first result under tsx, vs the compiled build',
    node: { inv: tsx('runtime.mjs', ['--case', 'startup', '--workers', '2']), pick: firstResult, unit: 'ms', better: 'lower' },
    ref: { inv: startup2, pick: firstResult, unit: 'ms', better: 'lower', name: 'compiled' },
    target: { kind: 'advantage', min: 1 / 1.5, text: '≤ 1.5× compiled' },
  });

  add({
    id: 'payload',
    no: 7,
    title: `map over ${sz('64', '16')} × 4 MiB Buffers`,
    node: { inv: ts('case7_payload.ts') },
    ref: { inv: py('payload', null) },
    target: { kind: 'absolute', atLeast: 1000, every: true, text: '≥ 1000 MB/s in every repetition' },
  });

  for (const variant of ['steady', 'stalled'] as const) {
    const title = `imap ${sz('2M', '200k')} items, peak RSS, ${variant} consumer`;
    const row: Row = {
      id: `memory-${variant}`,
      full: variant === 'steady',
      no: 8,
      title,
      node: { inv: plain('runtime.mjs', ['--case', 'memory', '--variant', variant]) },
      ref: { inv: py('memory', variant) },
      info: [],
      probes: [],
      target: { kind: 'absolute', below: 70, text: `< 70 MB, flat${variant === 'stalled' ? ' where Python grows' : ''}` },
      flat: true,
    };
    rows.push(row);
    // Information (full runs): the same case from src/ under tsx, as the examples run.
    rows.push({ ...row, id: `${row.id}-tsx`, full: true, title: `${title} (under tsx)`, node: { inv: tsx('runtime.mjs', ['--case', 'memory', '--variant', variant]) }, target: null, flat: false });
  }

  // Case 9: N workers. The tiny-task row is counted; the scaling rows make their own tables.
  const tinyTitle = 'Pool(64) start → 256 tiny tasks done';
  add({
    id: 'tiny',
    no: 9,
    title: tinyTitle,
    node: { inv: plain('processes.mjs', ['--case', 'tiny']) },
    ref: { inv: pyScript('case9_processes.py', ['--case', 'tiny', '--method', 'spawn'], 'python tiny spawn') },
    info: [pyScript('case9_processes.py', ['--case', 'tiny', '--method', 'fork'], 'python tiny fork')],
    probes: [plain('processes.mjs', ['--case', 'tiny', '--impl', 'bare'], { label: 'probe bare forks tiny' })],
    target: { kind: 'advantage', min: 1, text: '≤ Python spawn' },
  });
  const tasks = String(quick ? SCALING_TASKS_QUICK : SCALING_TASKS);
  for (const workers of quick ? SCALING_WORKERS_QUICK : SCALING_WORKERS) {
    const args = ['--case', 'scaling', '--workers', String(workers), '--tasks', tasks];
    add({
      id: `scaling-${workers}`,
      no: 9,
      title: `${workers} worker${workers > 1 ? 's' : ''}`,
      workers,
      node: { inv: plain('processes.mjs', args) },
      ref: { inv: pyScript('case9_processes.py', [...args, '--method', 'spawn'], `python scaling spawn ${workers}`) },
      info: [
        pyScript('case9_processes.py', [...args, '--method', 'fork'], `python scaling fork ${workers}`),
        ...(SCALING_WORKERS_TSX.includes(workers) ? [tsx('processes.mjs', args)] : []),
      ],
      target: null,
    });
  }

  // Case 10: one worker against a bare fork, with NODE_EXTRA_CA_CERTS as this machine sets
  // it and without it (removed from the whole process tree of the run).
  for (const withCa of ctx.extraCa ? [true, false] : [false]) {
    const env = withCa ? 'NODE_EXTRA_CA_CERTS set' : 'NODE_EXTRA_CA_CERTS unset';
    const inv = plain('worker-cost.mjs', [], { noExtraCa: !withCa, label: `multiproc (plain node) worker-cost.mjs, ${env}` });
    const tag = withCa ? 'ca-set' : 'ca-unset';
    add({
      id: `worker-start-${tag}`,
      no: 10,
      title: `Pool(1) start → first result of a task by source, vs bare fork → first round trip (${env})`,
      node: { inv, pick: x('multiproc_start_ms'), unit: 'ms', better: 'lower' },
      ref: { inv, pick: x('bare_start_ms'), unit: 'ms', better: 'lower', name: 'bare fork' },
      target: { kind: 'advantage', min: 1 / 1.2, text: '≤ 1.2× bare fork' },
    });
    add({
      id: `worker-start-module-${tag}`,
      no: 10,
      title: `Pool(1) start → first result of a task by module, vs bare fork importing the same module → first round trip (${env})`,
      node: { inv, pick: x('multiproc_module_start_ms'), unit: 'ms', better: 'lower' },
      ref: { inv, pick: x('bare_module_start_ms'), unit: 'ms', better: 'lower', name: 'bare fork + import' },
      target: { kind: 'advantage', min: 1 / 1.2, text: '≤ 1.2× bare fork + import' },
    });
    add({
      id: `worker-rss-${tag}`,
      no: 10,
      title: `Worker RSS, vs a bare forked node (${env})`,
      node: { inv, pick: x('multiproc_rss_mb'), unit: 'MB', better: 'lower' },
      ref: { inv, pick: x('bare_rss_mb'), unit: 'MB', better: 'lower', name: 'bare fork' },
      target: { kind: 'advantage', min: 1 / 1.1, text: '≤ 1.1× bare fork' },
    });
  }

  const taskMs = ['--case', 'calibrate', '--task-ms', String(SCALING_TASK_MS)];
  return {
    rows: rows.filter((r) => !(quick && r.full)),
    calibrate: { node: plain('processes.mjs', taskMs, { label: 'calibrate node' }), python: pyScript('case9_processes.py', taskMs, 'calibrate python') },
    spin: { ...probe('spin.mjs', ['--tasks', quick ? '8' : '16']), label: 'probe spin' },
  };
}
