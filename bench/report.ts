// The output of `npm run bench`: statistics of each row, the tables, bench/RESULTS.md,
// bench/results.json and bench/README-table.md (the README's table, pasted verbatim). Every
// figure comes from the results of this run; the notes beside them are in bench/notes.ts.

import { bounds, caseNotes, details, processesNotes } from './notes.ts';
import type { Invocation } from './rows.ts';
import { f0, f2, flatness, med, median, medianOf, range, statOf, type RunData, type Stat, type Summary } from './stats.ts';

/**
 * How many times better `node` is than `ref` (> 1: better). Two sides measured together, in
 * the same invocation of each repetition (`together`: case 10's multiproc and bare fork,
 * run in rotation by one process), are compared repetition by repetition: the median of the
 * per-repetition ratios, each of which shares the machine's state of its moment. Otherwise
 * (separate processes, interleaved), the ratio of the two medians.
 */
export function advantageOf(node: Stat, ref: Stat, together: boolean): number {
  const ratio = (a: number, b: number) => (node.better === 'higher' ? a / b : b / a);
  if (together && node.values.length === ref.values.length) return median(node.values.map((v, i) => ratio(v, ref.values[i]!)));
  return ratio(node.median, ref.median);
}

export function summarize(data: RunData): Summary[] {
  const results = (inv: Invocation | undefined) => (inv ? (data.samples.get(inv)?.results ?? []) : []);
  const errorsOf = (inv: Invocation | undefined) => (inv ? (data.samples.get(inv)?.errors ?? []) : []);
  return data.rows.map((row) => {
    const node = statOf(results(row.node.inv), row.node);
    const ref = row.ref ? statOf(results(row.ref.inv), row.ref) : null;
    const advantage = node && ref ? advantageOf(node, ref, row.ref!.inv === row.node.inv) : null;
    const nodeFailed = errorsOf(row.node.inv).length;
    const refFailed = row.ref && row.ref.inv !== row.node.inv ? errorsOf(row.ref.inv).length : 0;
    const flat = row.flat && node ? flatness(node.results) : null;
    let met: boolean | null = null;
    const t = row.target;
    if (t?.kind === 'advantage') met = advantage === null ? null : advantage >= t.min;
    else if (t?.kind === 'absolute' && node) {
      const low = t.every ? node.min : node.median;
      const high = t.every ? node.max : node.median;
      met = (t.atLeast === undefined || low >= t.atLeast) && (t.below === undefined || high < t.below) && !(t.every && nodeFailed > 0);
    }
    if (met !== null && row.flat) met = met && flat !== null && flat.ok;
    const invs = [row.node.inv, ...(row.ref && row.ref.inv !== row.node.inv ? [row.ref.inv] : []), ...row.info, ...row.probes];
    return {
      row,
      node,
      ref,
      info: row.info.map((inv) => statOf(results(inv))),
      probes: row.probes.map((inv) => statOf(results(inv))),
      advantage,
      met,
      flat,
      runs: data.repsRun.get(row) ?? 0,
      nodeFailed,
      refFailed,
      errors: invs.flatMap((inv) => errorsOf(inv).map((e) => `${inv.label}: ${e}`)),
      skipped: data.skipped.get(row) ?? null,
    };
  });
}

function metText(s: Summary): string {
  if (!s.row.target) return 'info';
  if (s.skipped && s.runs === 0) return 'n/a';
  return s.met === null ? 'n/a' : s.met ? 'yes' : '**no**';
}

function repsText(s: Summary): string {
  if (s.runs === 0) return s.skipped ? '0 (skipped)' : '0';
  const ok = s.node?.n ?? 0;
  let text = s.nodeFailed ? `${Math.min(ok, s.runs)}/${s.runs}, ${s.nodeFailed} failed` : String(s.runs);
  if (s.refFailed) text += `; ${s.row.ref?.name ?? 'Python'} ${s.refFailed} failed`;
  return text;
}

const header = ['#', 'case', 'multiproc median', 'min–max', 'Python / reference median', 'min–max', 'advantage ×', 'target', 'met?', 'reps'];

function tableRows(summaries: Summary[]): string[][] {
  return summaries
    .filter((s) => s.row.workers === undefined)
    .map((s) => [
      String(s.row.no),
      s.row.title,
      med(s.node),
      range(s.node),
      s.row.ref?.name && s.ref ? `${s.row.ref.name} ${med(s.ref)}` : med(s.ref),
      range(s.ref),
      s.advantage === null ? 'n/a' : `${s.advantage.toFixed(2)}×`,
      s.row.target?.text ?? '–',
      metText(s),
      repsText(s),
    ]);
}

function markdownTable(head: string[], body: string[][], align: string[]): string[] {
  return [`| ${head.join(' | ')} |`, `|${align.join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)];
}

function plainTable(head: string[], body: string[][]): string[] {
  const plain = body.map((r) => r.map((c) => c.replace(/\*\*/g, '')));
  const widths = head.map((h, i) => Math.max(h.length, ...plain.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...plain.map(line)];
}

const mainAlign = header.map((_, i) => (i === 0 || i >= 8 ? ':-:' : i === 1 || i === 7 ? '---' : '--:'));

// ---------------------------------------------------------------------------------------
// Case 9's tables: one row per worker count, one column per library.

/** The libraries of a scaling row: multiproc compiled, Python spawn, Python fork, multiproc under tsx. */
export function scalingColumns(s: Summary): { name: string; st: Stat | null }[] {
  const info = (lang: Invocation['lang']) => s.info[s.row.info.findIndex((inv) => inv.lang === lang)] ?? null;
  return [
    { name: 'multiproc (compiled)', st: s.node },
    { name: 'Python spawn', st: s.ref },
    { name: 'Python fork', st: info('python') },
    { name: 'multiproc (tsx)', st: info('tsx') },
  ];
}

export interface ScalingTables {
  head: string[];
  time: string[][];
  memory: string[][];
  /** For results.json: per worker count and library, the medians. */
  json: Record<string, unknown>[];
}

export function scalingTables(summaries: Summary[]): ScalingTables | null {
  const rows = summaries.filter((s) => s.row.workers !== undefined);
  if (rows.length === 0) return null;
  const names = scalingColumns(rows[0]!).map((c) => c.name);
  const one = rows.find((s) => s.row.workers === 1);
  const base = one ? scalingColumns(one).map((c) => c.st?.median ?? NaN) : names.map(() => NaN);
  const time: string[][] = [];
  const memory: string[][] = [];
  const json: Record<string, unknown>[] = [];
  for (const s of rows) {
    const cols = scalingColumns(s);
    if (s.skipped && s.runs === 0) {
      time.push([String(s.row.workers), ...cols.map(() => '–')]);
      memory.push([String(s.row.workers), ...cols.map(() => '–')]);
      json.push({ workers: s.row.workers, skipped: s.skipped });
      continue;
    }
    time.push([
      String(s.row.workers),
      ...cols.map((c, i) => (c.st ? `${f2(medianOf(c.st, 'ready_ms') / 1000)} s · ${f2(c.st.median)} s · ${f2(base[i]! / c.st.median)}×` : '–')),
    ]);
    memory.push([
      String(s.row.workers),
      ...cols.map((c) =>
        c.st ? `${f0(medianOf(c.st, 'parent_rss_after_mb'))} · ${f0(medianOf(c.st, 'worker_rss_ready_mb'))}→${f0(medianOf(c.st, 'worker_rss_after_mb'))} (${f0(medianOf(c.st, 'worker_pss_after_mb'))})` : '–',
      ),
    ]);
    json.push({
      workers: s.row.workers,
      reps: s.runs,
      libraries: Object.fromEntries(
        cols
          .map((c, i) => ({ ...c, base: base[i]! }))
          .filter((c) => c.st)
          .map((c) => [
            c.name,
            {
              job_s: c.st!.median,
              speedup: c.base / c.st!.median,
              ready_ms: medianOf(c.st!, 'ready_ms'),
              parent_rss_mb: medianOf(c.st!, 'parent_rss_after_mb'),
              worker_rss_ready_mb: medianOf(c.st!, 'worker_rss_ready_mb'),
              worker_rss_after_mb: medianOf(c.st!, 'worker_rss_after_mb'),
              worker_pss_after_mb: medianOf(c.st!, 'worker_pss_after_mb'),
              distinct_workers: medianOf(c.st!, 'distinct_workers'),
            },
          ]),
      ),
    });
  }
  return { head: ['workers', ...names], time, memory, json };
}

// ---------------------------------------------------------------------------------------
// The outputs

export function report(data: RunData): { console: string; markdown: string; json: string; readme: string } {
  const summaries = summarize(data);
  const { facts, quick } = data;
  const counted = summaries.filter((s) => s.row.target !== null);
  const held = counted.filter((s) => s.met === true);
  const missed = counted.filter((s) => s.met === false);
  const unmeasured = counted.filter((s) => s.met === null);
  const body = tableRows(summaries);
  const scaling = scalingTables(summaries);
  const heldLine =
    `Targets held: ${held.length} of ${counted.length} (information rows not counted).` +
    (missed.length ? ` Missed: ${missed.map((s) => `${s.row.no} (${s.row.title})`).join('; ')}.` : '') +
    (unmeasured.length ? ` Not measured: ${unmeasured.map((s) => `${s.row.no} (${s.row.title})`).join('; ')}.` : '');
  const advantageLine = '**advantage ×** = how many times better multiproc is, whichever way the unit points (> 1: multiproc better): multiproc/reference for throughput and efficiency, reference/multiproc for µs, ms and MB. The reference is Python unless the cell names another (a bare `child_process.fork`, the compiled build). Where both sides are measured together by one process (case 10), it is the median of the per-repetition ratios, not the ratio of the two medians.';
  const scalingLegend = scaling
    ? `Case 9, one CPU job (${processesNotes.job(data)}) at each pool size, ${scaling.time.length} sizes. Time: ready (start → every worker has run a task) · job wall time · speedup against 1 worker of the same library. Memory (MiB, VmRSS from /proc/<pid>/status): parent after the job · mean worker RSS when ready → after the job (mean worker Pss after the job: shared pages divided among the processes sharing them).`
    : '';
  const scalingAlign = scaling ? scaling.head.map((_, i) => (i === 0 ? ':-:' : '--:')) : [];

  // Console
  const con: string[] = ['', ...plainTable(header, body), ''];
  if (scaling) con.push(scalingLegend, '', ...plainTable(scaling.head, scaling.time), '', ...plainTable(scaling.head, scaling.memory), '');
  con.push(advantageLine.replace(/\*\*/g, ''), `${heldLine} Total ${facts.totalS.toFixed(0)} s${data.pythonNote ? `; Python: ${data.pythonNote}` : ''}.`);
  for (const s of summaries) for (const e of s.errors) con.push(`error: ${e}`);
  for (const s of summaries) if (s.skipped) con.push(`${s.row.id}: ${s.skipped}`);

  // RESULTS.md
  const view = { summaries, data };
  const md: string[] = [];
  md.push('# Benchmarks: multiproc vs Python multiprocessing', '');
  md.push(
    `Generated by \`${data.command}\` (bench/run.ts) on ${facts.date}; do not edit by hand. Each measurement is a fresh process; multiproc and Python runs are interleaved (alternating which goes first), ` +
      `${data.reps} repetition(s) per row${quick ? ', quick sizes' : ''} (the reps column says how many each row got${quick ? '' : `: after the first, a repetition runs only if it fits the run’s ${data.budgetS} s budget; case 9’s scaling runs come after, once each`}). ` +
      'bench/results.json holds the same figures, bench/README-table.md the table for the README.',
    '',
  );
  md.push('## Machine', '');
  md.push(`- CPU: ${facts.cpu}, ${facts.cores} cores (cpuCount()), ${facts.memory} RAM (${facts.memAvailableStart} available at start), ${facts.kernel}`);
  md.push(`- Node ${facts.node} (the .ts cases from src/ under tsx ${facts.tsx}; cases 6, 8, 9 and 10 compiled to JavaScript under plain node); Python ${facts.python}${data.pythonNote ? ` (${data.pythonNote})` : ''}`);
  md.push(`- NODE_EXTRA_CA_CERTS ${facts.extraCa ? 'is set in this environment: every row runs with it, except the “unset” rows of case 10, which remove it from their whole process tree' : 'is not set in this environment'}`);
  md.push(`- Load average (1/5/15 min) at start: ${facts.loadStart}; at end: ${facts.loadEnd}`);
  md.push(`- Commit ${facts.commit}${facts.dirty ? ' with uncommitted changes' : ''}; total wall time ${facts.totalS.toFixed(0)} s`);
  if (data.plainNote) md.push(`- Note: ${data.plainNote}`);
  md.push('', '## Results', '', advantageLine, '');
  md.push(...markdownTable(header, body, mainAlign), '');
  md.push(heldLine);
  for (const s of summaries) for (const e of s.errors) md.push('', `- error: ${e}`);
  if (scaling) {
    md.push('', `## Case 9: one job over ${scaling.time.map((r) => r[0]).join(', ')} workers`, '', scalingLegend, '');
    md.push(...markdownTable(scaling.head, scaling.time, scalingAlign), '');
    md.push(...markdownTable(scaling.head, scaling.memory, scalingAlign), '');
    for (const line of processesNotes.lines(view)) md.push(`- ${line}`);
  }
  md.push('', '## Details', '');
  md.push(...details(view));
  md.push('', '## How each case is measured', '');
  md.push(...caseNotes(view));
  if (missed.length) {
    md.push('', '## What bounds the rest', '', 'Figures quoted here come from this run (the rows themselves, or the no-library probes beside them).', '');
    for (const s of missed) {
      const text = bounds(s, view);
      if (text) md.push(`- ${text}`, '');
    }
  }
  const markdown = `${md.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;

  // README-table.md
  const rd: string[] = [];
  rd.push(
    `From \`${data.command}\` on ${facts.date} (commit ${facts.commit}${facts.dirty ? ', uncommitted changes' : ''}; ${facts.cores} cores, Node ${facts.node.replace(/^v/, '')}, Python ${facts.python}; load average ${facts.loadStart} at start). ` +
      'The .ts cases run from src/ under tsx; cases 6, 8, 9 and 10 measure the runtime itself and run the compiled package under plain node, as its users do; “under tsx” rows show them under the dev loader. ' +
      '**advantage > 1 means multiproc is better**, whichever way the unit points; the reference is Python unless the cell names another.',
    '',
  );
  rd.push(...markdownTable(header, body, mainAlign), '', heldLine);
  if (scaling) rd.push('', scalingLegend, '', ...markdownTable(scaling.head, scaling.time, scalingAlign), '', ...markdownTable(scaling.head, scaling.memory, scalingAlign));
  const readme = `${rd.join('\n')}\n`;

  // results.json
  const statJson = (st: Stat | null) => (st ? { median: st.median, min: st.min, max: st.max, n: st.n, unit: st.unit, better: st.better, values: st.values } : null);
  const json = {
    generated: facts.date,
    command: data.command,
    facts,
    quick,
    reps: data.reps,
    targets: { held: held.length, counted: counted.length, missed: missed.map((s) => s.row.id), unmeasured: unmeasured.map((s) => s.row.id) },
    rows: summaries
      .filter((s) => s.row.workers === undefined)
      .map((s) => ({
        id: s.row.id,
        no: s.row.no,
        title: s.row.title,
        target: s.row.target?.text ?? null,
        counted: s.row.target !== null,
        met: s.met,
        advantage: s.advantage,
        multiproc: statJson(s.node),
        reference: s.row.ref ? { name: s.row.ref.name ?? 'Python', ...statJson(s.ref) } : null,
        flat: s.flat,
        reps: { run: s.runs, multiproc_failed: s.nodeFailed, reference_failed: s.refFailed },
        skipped: s.skipped,
        errors: s.errors,
      })),
    processes: scaling?.json ?? [],
    calibration: data.calibration,
    machine_ceiling: data.ceilingSamples,
  };
  return { console: con.join('\n'), markdown, json: `${JSON.stringify(json, null, 2)}\n`, readme };
}

