// Shared by bench/report.ts and bench/notes.ts: what a run produced (RunData), the
// statistics of a row (Stat, Summary) and how figures are written.

import { FLAT_MARGIN_MB, type Better, type Invocation, type Result, type Row, type Side } from './rows.ts';

export interface Facts {
  cpu: string;
  cores: number;
  memory: string;
  memAvailableStart: string;
  kernel: string;
  node: string;
  tsx: string;
  python: string;
  extraCa: boolean;
  date: string;
  loadStart: string;
  loadEnd: string;
  commit: string;
  dirty: boolean;
  totalS: number;
}

/** Everything one invocation produced over the run. */
export interface Samples {
  results: Result[];
  errors: string[];
  seconds: number[];
}

export interface RunData {
  rows: Row[];
  samples: Map<Invocation, Samples>;
  repsRun: Map<Row, number>;
  skipped: Map<Row, string>;
  ceilingSamples: number[];
  facts: Facts;
  quick: boolean;
  reps: number;
  budgetS: number;
  command: string;
  pythonNote: string | null;
  plainNote: string | null;
  calibration: { node: number; python: number | null } | null;
}

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
  unit: string;
  better: Better;
  values: number[];
  results: Result[];
}

/** Case 8's flatness: the RSS against items consumed, per repetition. */
export interface Flat {
  /** Per repetition: max RSS over the first quarter of the samples, over the last quarter. */
  first: number[];
  last: number[];
  /** Median of last − first. */
  growth: number;
  ok: boolean;
}

export interface Summary {
  row: Row;
  node: Stat | null;
  ref: Stat | null;
  info: (Stat | null)[];
  probes: (Stat | null)[];
  /** How many times better multiproc is than the reference (> 1 = better). */
  advantage: number | null;
  /** Target held (null: no target, or nothing measured). */
  met: boolean | null;
  flat: Flat | null;
  runs: number;
  nodeFailed: number;
  refFailed: number;
  errors: string[];
  skipped: string | null;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median of `extra[key]` over a stat's results. */
export const medianOf = (st: Stat, key: string): number => median(st.results.map((r) => Number(r.extra[key])).filter((v) => Number.isFinite(v)));

/** The result whose value is the median one (or nearest), for its `extra` figures. */
export function medianResult(st: Stat): Result {
  const i = st.values.map((v, j) => [Math.abs(v - st.median), j] as const).sort((a, b) => a[0] - b[0])[0]![1];
  return st.results[i]!;
}

export function statOf(results: Result[], side?: Pick<Side, 'pick' | 'unit' | 'better'>): Stat | null {
  if (results.length === 0) return null;
  const values = results.map(side?.pick ?? ((r: Result) => r.value));
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length, unit: side?.unit ?? results[0]!.unit, better: side?.better ?? results[0]!.better, values, results };
}

export function flatness(results: Result[]): Flat | null {
  const first: number[] = [];
  const last: number[] = [];
  for (const r of results) {
    const s = r.extra.samples as { rss_mb: number }[] | undefined;
    if (!s?.length) continue;
    const q = Math.max(1, Math.floor(s.length / 4));
    first.push(Math.max(...s.slice(0, q).map((x) => x.rss_mb)));
    last.push(Math.max(...s.slice(-q).map((x) => x.rss_mb)));
  }
  if (first.length === 0) return null;
  const growth = median(last.map((l, i) => l - first[i]!));
  return { first, last, growth, ok: growth <= FLAT_MARGIN_MB };
}

// Formatting

export function fmtValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return String(v);
  if (unit === 'items/s' || unit === 'ops/s') {
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
    if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
    return v.toFixed(0);
  }
  if (unit === 'efficiency') return v.toFixed(2);
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}
export const unitLabel = (unit: string): string => (unit === 'us/call' ? 'µs/call' : unit === 'efficiency' ? '' : unit);
export const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '?');
export const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '?');
export const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '?');
export const pct = (part: number, whole: number) => (Number.isFinite(part / whole) ? `${((100 * part) / whole).toFixed(0)}%` : '?');
export const range = (st: Stat | null): string => (st ? (st.n > 1 ? `${fmtValue(st.min, st.unit)}–${fmtValue(st.max, st.unit)}` : '–') : '–');
export const med = (st: Stat | null): string => (st ? `${fmtValue(st.median, st.unit)} ${unitLabel(st.unit)}`.trim() : 'n/a');


export type ReportView = { summaries: Summary[]; data: RunData };
