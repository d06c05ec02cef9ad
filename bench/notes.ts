// The prose of bench/RESULTS.md: the details line of each row, what bounds a missed target,
// and how each case is measured. Every figure written here is read from this run's results
// (the rows, their `extra` fields, the no-library probes beside them); the text around the
// figures names mechanisms, never numbers from elsewhere.

import { f0, f1, f2, fmtValue, median, medianOf, medianResult, pct, range, type ReportView, type RunData, type Stat, type Summary } from './stats.ts';
import { FLAT_MARGIN_MB, SCALING_TASK_MS } from './rows.ts';

const n0 = (x: unknown) => Number(x).toLocaleString('en-US');
const µs = (st: Stat | null | undefined) => (st ? `${f1(st.median)} µs` : 'n/a');

function by(view: ReportView, id: string): Summary | undefined {
  return view.summaries.find((s) => s.row.id === id);
}

/** CPU seconds of `key` over the window, and its share of it. */
function cpuShare(st: Stat, key: string): string {
  const cpu = medianOf(st, key);
  return `${f2(cpu)} s (${pct(cpu, medianOf(st, 'seconds'))})`;
}

/** Case 3's two factors of the efficiency, when the run recorded them. */
function factors(e: Record<string, any>): string {
  return e.busy_share === undefined ? '' : `; busy share ${f2(e.busy_share)} × task speed ${f2(e.task_speed)} (tasks ${f1(e.pool_task_ms)} ms in the pool)`;
}

function flatText(s: Summary): string {
  const f = s.flat;
  if (!f) return 'RSS samples: none';
  type Sample = { heap_mb: number; new_space_mb?: number; old_space_mb?: number };
  const all = s.node!.results.map((r) => (r.extra.samples as Sample[] | undefined) ?? []);
  const h = all.flatMap((xs) => xs.map((x) => x.heap_mb));
  // V8's young generation (new space) as the first and the last sample saw it, per repetition.
  const space = (key: 'new_space_mb' | 'old_space_mb') => {
    const runs = all.filter((xs) => xs.length > 0 && xs[0]![key] !== undefined);
    return runs.length ? runs.map((xs) => `${f0(xs[0]![key]!)}→${f0(xs[xs.length - 1]![key]!)}`).join('/') : null;
  };
  const young = space('new_space_mb');
  const old = space('old_space_mb');
  return (
    `RSS against items consumed (a sample per sixteenth): first-quarter max ${f.first.map(f1).join('/')} MB, last-quarter max ${f.last.map(f1).join('/')} MB, median growth ${f1(f.growth)} MB ` +
    `(flat = at most ${FLAT_MARGIN_MB} MB: ${f.ok ? 'yes' : '**no**'})${h.length ? `; live heap ${f1(Math.min(...h))}–${f1(Math.max(...h))} MB` : ''}` +
    (young && old ? `; V8's new space ${young} MB and old space ${old} MB from the first sample to the last` : '')
  );
}

/**
 * Case 10's ratios per repetition: multiproc and the bare fork are measured in the same
 * invocation, interleaved (bench/node/worker-cost.mjs), so each repetition's pair shares the
 * machine's state of that moment; the table's ratio of medians mixes repetitions.
 */
function pairedRatios(n: Stat, p: Stat | null): string {
  if (!p || p.values.length !== n.values.length) return '';
  return `; per repetition, multiproc ÷ bare fork measured together: ${n.values.map((v, i) => `${f2(v / p.values[i]!)}×`).join(', ')}`;
}

export function details(view: ReportView): string[] {
  const out: string[] = [];
  const ceiling = view.data.ceilingSamples;
  for (const s of view.summaries) {
    const n = s.node;
    const p = s.ref;
    if (s.row.workers !== undefined) continue;
    const tag = `**${s.row.no} ${s.row.title}**`;
    if (!n) {
      if (s.skipped) out.push(`- ${tag}: ${s.skipped}.`);
      continue;
    }
    switch (s.row.id) {
      case 'map':
        out.push(
          `- ${tag}: ${f2(medianOf(n, 'seconds'))} s for ${n0(n.results[0]!.params.n)} items (Python ${p ? `${f2(medianOf(p, 'seconds'))} s` : 'n/a'}); ${n.results[0]!.params.processes} workers, default chunking. ` +
            `The parent was on CPU for ${cpuShare(n, 'parent_cpu_s')} of the window${p ? `, Python’s (all its threads) ${cpuShare(p, 'parent_cpu_s')}` : ''}.` +
            (Number.isFinite(medianOf(n, 'second_seconds')) ? ` The same map again right after, in the same process (not counted): ${(1000 * medianOf(n, 'second_seconds')).toFixed(0)} ms.` : '') +
            (Number.isFinite(medianOf(n, 'gc_ms')) ? ` The parent’s GC pauses: ${f1(medianOf(n, 'gc_ms'))} ms in the first map’s window, ${f1(medianOf(n, 'second_gc_ms'))} ms in the second’s.` : ''),
        );
        break;
      case 'apply': {
        const r = medianResult(n).extra;
        const q = p ? medianResult(p).extra : null;
        out.push(
          `- ${tag}: multiproc p10 ${f1(r.p10)} / median ${f1(n.median)} / p90 ${f1(r.p90)} / mean ${f1(r.mean)} µs${q ? `; Python p10 ${f1(q.p10)} / median ${f1(p!.median)} / p90 ${f1(q.p90)} / mean ${f1(q.mean)} µs` : ''}. ` +
            `No-library floors, same run: a bare \`child_process.fork\` ping-pong (bench/node/probe-ipc.mjs) ${µs(s.probes[0])}; a bare \`multiprocessing.Pipe\` ping-pong (bench/python/probe_ipc.py) ${µs(s.probes[1])}.`,
        );
        break;
      }
      case 'cpu': {
        const r = medianResult(n);
        const q = p ? medianResult(p) : null;
        out.push(
          `- ${tag}: multiproc k = ${n0(r.params.k)} (calibrated: ${f1(r.extra.task_ms)} ms/task), serial ${f2(r.extra.serial_s)} s, pool ${f2(r.extra.pool_s)} s, speedup ${f2(r.extra.speedup)} on ${r.params.processes} workers; ` +
            `each worker’s first task of the timed map took ${f1(r.extra.first_task_ms)} ms, the others ${f1(r.extra.other_task_ms)} ms (median)${factors(r.extra)}` +
            (q ? `. Python k = ${n0(q.params.k)} (${f1(q.extra.task_ms)} ms/task), serial ${f2(q.extra.serial_s)} s, pool ${f2(q.extra.pool_s)} s, speedup ${f2(q.extra.speedup)}; first task ${f1(q.extra.first_task_ms)} ms, others ${f1(q.extra.other_task_ms)} ms${factors(q.extra)}` : '') +
            (ceiling.length ? `. Machine ceiling (bench/node/spin.mjs, no library: the same loop alone vs ${view.data.facts.cores} copies at once): parallel efficiency ${ceiling.map(f2).join(', ')} (median ${f2(median(ceiling))}).` : '.'),
        );
        break;
      }
      case 'queue-ints':
      case 'queue-dicts':
        out.push(
          `- ${tag}: ${f2(medianOf(n, 'seconds'))} s from the first put to the sentinel${p ? ` (Python ${f2(medianOf(p, 'seconds'))} s)` : ''}. ` +
            `CPU over the window: producer ${cpuShare(n, 'producer_cpu_s')}, consumer ${cpuShare(n, 'consumer_cpu_s')}, the parent hosting the queue ${cpuShare(n, 'host_cpu_s')}` +
            (p ? `; Python producer (feeder thread included) ${cpuShare(p, 'producer_cpu_s')}, consumer ${cpuShare(p, 'consumer_cpu_s')}.` : '.'),
        );
        break;
      case 'manager-dict_set':
      case 'manager-list_append':
      case 'manager-dict_get':
        out.push(
          `- ${tag}: ${f1(medianOf(n, 'us_per_op'))} µs/op${p ? ` (Python ${f1(medianOf(p, 'us_per_op'))} µs/op)` : ''}.` +
            (s.row.id === 'manager-dict_get'
              ? ` No-library floors, same run: a bare request/reply over a unix socket between two Node processes (bench/node/probe-socket.mjs) ${µs(s.probes[0])}; the same in Python with blocking reads (bench/python/probe_socket.py) ${µs(s.probes[1])}.`
              : ''),
        );
        break;
      case 'manager-dict_get64':
        out.push(`- ${tag}: ${f1(medianOf(n, 'us_per_op'))} µs per get with 64 issued together (\`Promise.all\`, each group awaited); Python, one \`d[k]\` at a time: ${p ? `${f1(medianOf(p, 'us_per_op'))} µs` : 'n/a'}.`);
        break;
      case 'startup-2':
      case 'startup-cpu': {
        const fork = s.info[0];
        out.push(
          `- ${tag}: multiproc (compiled, plain node): first result ${f1(medianOf(n, 'first_result_ms'))} ms + shutdown ${f1(medianOf(n, 'shutdown_ms'))} ms` +
            (p ? `; Python spawn ${f1(medianOf(p, 'first_result_ms'))} + ${f1(medianOf(p, 'shutdown_ms'))} ms` : '') +
            (fork ? `; Python fork (information: a copy of the parent, nothing to load) ${f1(fork.median)} ms (${f1(medianOf(fork, 'first_result_ms'))} + ${f1(medianOf(fork, 'shutdown_ms'))})` : '') +
            '.',
        );
        break;
      }
      case 'startup-tsx':
        out.push(`- ${tag}: first result ${f1(n.median)} ms under tsx (${range(n)}) against ${p ? `${f1(p.median)} ms` : 'n/a'} compiled: ${p ? f2(n.median / p.median) : '?'}× (target ≤ 1.5×).`);
        break;
      case 'payload': {
        const procs = Number(n.results[0]!.params.processes);
        const chunk = Math.ceil(Number(n.results[0]!.params.n) / (4 * procs));
        out.push(
          `- ${tag}: ${f2(medianOf(n, 'seconds'))} s for ${f0(Number(n.results[0]!.extra.total_bytes) / 1e6)} MB${p ? ` (Python ${f2(medianOf(p, 'seconds'))} s)` : ''}; every repetition: ${n.values.map(f0).join(', ')} MB/s. ` +
            `Default chunking by Python’s rule, ${chunk} Buffers per task; the engine also caps the binary payload of one message (MAX_BATCH_BYTES), so Buffers this large travel one per message. ` +
            `The parent was on CPU for ${cpuShare(n, 'parent_cpu_s')} of the window${p ? `, Python’s ${cpuShare(p, 'parent_cpu_s')}` : ''}.`,
        );
        break;
      }
      case 'memory-steady':
      case 'memory-stalled':
      case 'memory-steady-tsx':
      case 'memory-stalled-tsx': {
        const nb = medianOf(n, 'baseline_mb');
        const who = s.row.id.endsWith('-tsx') ? 'multiproc under tsx' : 'multiproc (compiled, plain node)';
        out.push(
          `- ${tag}: ${who} peak ${f1(n.median)} MB = baseline ${f1(nb)} + ${f1(n.median - nb)} MB, ${fmtValue(medianOf(n, 'items_per_s'), 'items/s')} items/s (chunksize ${n.results[0]!.params.chunksize})` +
            (p ? `; Python peak ${f1(p.median)} MB = baseline ${f1(medianOf(p, 'baseline_mb'))} + ${f1(p.median - medianOf(p, 'baseline_mb'))} MB, ${fmtValue(medianOf(p, 'items_per_s'), 'items/s')} items/s` : '') +
            `. ${s.row.flat ? flatText(s) : ''}`.trimEnd() +
            (s.row.flat ? '.' : ''),
        );
        break;
      }
      case 'tiny': {
        const fork = s.info[0];
        const bare = s.probes[0];
        const served = (st: Stat) => `${f0(medianOf(st, 'distinct_workers'))} workers served the tasks, shutdown ${f0(medianOf(st, 'shutdown_ms'))} ms`;
        out.push(
          `- ${tag}: ${f0(n.median)} ms (${served(n)})` +
            (p ? `; Python spawn ${f0(p.median)} ms (${served(p)})` : '') +
            (fork ? `; Python fork (information) ${f0(fork.median)} ms (${served(fork)})` : '') +
            (bare ? `; no-library floor: 64 bare forks answering 256 messages round-robin ${f0(bare.median)} ms (shutdown ${f0(medianOf(bare, 'shutdown_ms'))} ms)` : '') +
            '.',
        );
        break;
      }
      default:
        if (s.row.id.startsWith('worker-')) {
          const e = medianResult(n).extra;
          out.push(
            s.row.id.startsWith('worker-start')
              ? `- ${tag}: Pool(1) → first result ${f1(n.median)} ms, ${s.row.ref?.name ?? 'bare fork'} → first round trip ${p ? `${f1(p.median)} ms` : 'n/a'} (medians of the repetitions, each the median of ${n.results[0]!.params.reps} rotating runs)${pairedRatios(n, p)}.`
              : `- ${tag}: multiproc worker ${f1(e.multiproc_rss_mb)} MB settled (${f1(e.multiproc_first_rss_mb)} MB at its first result), Pss ${f1(e.multiproc_pss_mb)} MB, ${f0(e.multiproc_threads)} threads; ` +
                  `bare fork ${f1(e.bare_rss_mb)} MB (${f1(e.bare_first_rss_mb)} at its first reply), Pss ${f1(e.bare_pss_mb)} MB, ${f0(e.bare_threads)} threads (${f2(e.multiproc_rss_mb / e.bare_rss_mb)}×; VmRSS ${n.results[0]!.params.settle_ms} ms after the first result).`,
          );
        }
    }
  }
  return out;
}

/** Why a missed target is missed, from this run's figures. Shown only for rows whose target this run missed. */
export function bounds(s: Summary, view: ReportView): string | null {
  const n = s.node;
  const p = s.ref;
  if (!n) return null;
  const adv = s.advantage === null ? '' : ` (this run: ${s.advantage.toFixed(2)}×)`;
  switch (s.row.id) {
    case 'map': {
      const share = medianOf(n, 'parent_cpu_s') / medianOf(n, 'seconds');
      const second = medianOf(n, 'second_seconds');
      return (
        `**1 map${adv}.** The parent was on CPU for ${pct(share, 1)} of the map’s window: ${share >= 0.8 ? 'its own per-item work (batching, sending, assembling results) bounds the map' : 'for the rest it waited on the workers and the IPC channel'}. ` +
        'The case times the first map of a fresh process, as Python’s script does, so the per-item loops of parent and workers run before they are optimised' +
        (Number.isFinite(second)
          ? `: the same map again right after, in the same process, took ${(1000 * second).toFixed(0)} ms against ${(1000 * medianOf(n, 'seconds')).toFixed(0)} ms for the first (medians; ${f2(medianOf(n, 'seconds') / second)}×).`
          : '; compare min–max for the load of the machine.') +
        (Number.isFinite(medianOf(n, 'gc_ms'))
          ? ` The parent’s garbage collection paused it for ${f1(medianOf(n, 'gc_ms'))} ms of the first map’s window and ${f1(medianOf(n, 'second_gc_ms'))} ms of the second’s (medians): the first map’s input and result arrays (8 MB each) grow a fresh heap past its first limits, and V8 collects as it raises them.`
          : '')
      );
    }
    case 'apply': {
      const floor = s.probes[0];
      const pyFloor = s.probes[1];
      if (!floor || !p) return `**2 apply${adv}.** The no-library floor probe did not run.`;
      const goal = p.median / 2;
      return (
        `**2 apply${adv}: bounded by Node’s IPC round trip.** In this run a bare \`child_process.fork\` ping-pong took ${µs(floor)} per round trip and multiproc’s apply ${µs(n)}: the library adds ${f1(n.median - floor.median)} µs. ` +
        `Python’s apply took ${µs(p)}, its bare Pipe ping-pong ${µs(pyFloor)}. The target, ${f1(goal)} µs, is ${goal < floor.median ? 'below Node’s own bare round trip: no library over child_process IPC reaches it' : `above Node’s bare round trip: the library’s ${f1(n.median - floor.median)} µs must shrink to ${f1(goal - floor.median)}`}.`
      );
    }
    case 'cpu': {
      const r = medianResult(n).extra;
      const q = p ? medianResult(p).extra : null;
      const ceiling = view.data.ceilingSamples;
      const busy = r.busy_share as number | undefined;
      const speed = r.task_speed as number | undefined;
      return (
        `**3 CPU scaling (efficiency ${f2(n.median)}, ${range(n)}; Python ${p ? `${f2(p.median)}, ${range(p)}` : 'n/a'}).** ` +
        (busy !== undefined && speed !== undefined
          ? `Efficiency is the product of two factors measured in the same map (median repetition): the busy share, the time the workers spent inside tasks over the pool’s wall time × workers (what it leaves idle is the library’s dispatch and messages between tasks, and the tail: one worker still on its last task while the other has none left), and the task speed, a task’s serial time in the parent alone over its mean time in the pool (how fast the machine ran the loop side by side rather than alone). multiproc ${f2(busy)} × ${f2(speed)} (${f1(r.task_ms)} ms serial, ${f1(r.pool_task_ms)} ms in the pool)` +
            (q?.busy_share !== undefined ? `; Python ${f2(q.busy_share)} × ${f2(q.task_speed)} (${f1(q.task_ms)} ms serial, ${f1(q.pool_task_ms)} ms in the pool)` : '') +
            `. ${busy >= 0.95 && busy * speed < 0.95 ? 'The workers were busy for at least 95% of the window: what took the row below its line was the tasks themselves running slower in the pool than alone. ' : busy < 0.95 ? `The workers were idle for ${f0((1 - busy) * 100)}% of the window. ` : ''}`
          : '') +
        (ceiling.length
          ? `The same loop in ${view.data.facts.cores} plain node processes at once, no library, reached parallel efficiencies of ${ceiling.map(f2).join(', ')} (median ${f2(median(ceiling))}) in this run: no pool can beat that at that moment${median(ceiling) < 0.95 ? ', so the machine itself was the first bound' : ''}. `
          : '') +
        `Inside the pool, each worker’s first task of the timed map took ${f1(r.first_task_ms)} ms against ${f1(r.other_task_ms)} ms for the others` +
        (r.first_task_ms > 1.2 * r.other_task_ms
          ? ', though every worker had run the loop before the timed map (the warm-up): the busy share and task speed above already count it.'
          : ': first tasks are not the bound.')
      );
    }
    case 'queue-ints':
    case 'queue-dicts': {
      const shares = [
        ['producer', medianOf(n, 'producer_cpu_s')],
        ['consumer', medianOf(n, 'consumer_cpu_s')],
        ['parent hosting the queue', medianOf(n, 'host_cpu_s')],
      ] as const;
      const top = [...shares].sort((a, b) => b[1] - a[1])[0]!;
      const window = medianOf(n, 'seconds');
      return (
        `**4 ${s.row.title}${adv}.** Over the window the ${top[0]} was on CPU for ${pct(top[1], window)} of the time (${shares.map(([who, cpu]) => `${who} ${pct(cpu, window)}`).join(', ')})` +
        `${top[1] / window >= 0.8 ? `: the ${top[0]}’s own per-item work bounds the rate` : ': no process is saturated, so the hand-offs between them (wake-ups, round trips) bound the rate'}.`
      );
    }
    case 'manager-dict_get': {
      const floor = s.probes[0];
      const pyFloor = s.probes[1];
      const many = by(view, 'manager-dict_get64')?.node;
      return (
        `**5 dict get${adv}: one request/reply per get.** This run: multiproc ${f1(medianOf(n, 'us_per_op'))} µs per get, Python ${p ? `${f1(medianOf(p, 'us_per_op'))} µs` : 'n/a'}. ` +
        (floor && pyFloor
          ? `A bare request/reply between two Node processes over a unix socket, no framing and no library, took ${µs(floor)}; the same in Python, whose manager threads block in \`recv()\`, ${µs(pyFloor)}. ` +
            `2× Python means ${p ? f1(medianOf(p, 'us_per_op') / 2) : '?'} µs per get, ${p && medianOf(p, 'us_per_op') / 2 < floor.median ? 'below the bare Node round trip' : 'above the bare Node round trip'}. `
          : '') +
        (many ? `Gets issued together share round trips: 64 in flight cost ${f1(medianOf(many, 'us_per_op'))} µs per get in this run.` : '')
      );
    }
    case 'manager-dict_set':
    case 'manager-list_append':
      return (
        `**5 ${s.row.title}${adv}.** Writes are pipelined one-way frames, so each awaited write costs one socket write in the child, and the closing get waits until the manager has applied all of them: ` +
        `${f1(medianOf(n, 'us_per_op'))} µs per write in this run against ${p ? `${f1(medianOf(p, 'us_per_op'))} µs` : 'n/a'} for Python’s round trip per write. With both sides on a 2-core machine the rate is what the manager’s decode-and-apply loop gets of the CPU.`
      );
    case 'startup-2':
    case 'startup-cpu': {
      const bare = by(view, 'worker-start-ca-set')?.node ? by(view, 'worker-start-ca-set') : by(view, 'worker-start-ca-unset');
      const e = bare?.node ? medianResult(bare.node).extra : null;
      return (
        `**6 pool start-up${adv}: a fresh Node process per worker.** Each worker is \`child_process.fork\` of the child entry, a new V8 isolate that boots Node itself` +
        (e ? `; in this run a bare fork of a tiny script answered its first message after ${f1(e.bare_start_ms)} ms and multiproc’s Pool(1) returned its first result after ${f1(e.multiproc_start_ms)} ms (case 10).` : '.')
      );
    }
    case 'startup-tsx':
      return `**6 start-up under tsx${adv}.** From src/ under tsx, workers start from the compiled build in dist/ when it is fresh (src/process/spawn.ts) and load tsx only to import a TypeScript module; with a stale build each worker loads tsx (its module hooks and esbuild) before the child entry: first result ${f1(n.median)} ms against ${p ? `${f1(p.median)} ms` : 'n/a'} compiled in this run.`;
    case 'payload': {
      const low = n.values.filter((v) => v < 1000).length;
      return (
        `**7 payload: ${low} of ${n.n} repetitions below 1000 MB/s${s.nodeFailed ? `, ${s.nodeFailed} failed` : ''}** (${n.values.map(f0).join(', ')} MB/s). ` +
        `The parent was on CPU for ${cpuShare(n, 'parent_cpu_s')} of the window. The Buffers travel as raw bytes on each worker's byte channel (src/process/byte-channel.ts), written from the caller's memory; a worker reads each into memory of its own that it touches for the first time (page faults), which is what the rate costs in the workers.`
      );
    }
    case 'memory-steady':
    case 'memory-stalled': {
      const nb = medianOf(n, 'baseline_mb');
      return (
        `**8 ${s.row.id.replace('memory-', '')} (peak ${f1(n.median)} MB, of which ${f1(nb)} MB is the baseline before the pool starts).** ` +
        `${flatText(s)}. A live heap that stays level while the RSS grows is V8 keeping capacity, not items piling up: under a long stream of short-lived allocations V8 grows its young generation (new space) step by step up to its maximum, while the old space, where anything kept would end up, stays level.`
      );
    }
    case 'tiny': {
      const bare = s.probes[0];
      const at64 = by(view, 'scaling-64');
      return (
        `**9 Pool(64)${adv}: 64 Node processes to boot on ${view.data.facts.cores} cores.** ` +
        (bare ? `With no library, 64 bare forks answering 256 messages took ${f0(bare.median)} ms in this run, against ${f0(n.median)} ms for multiproc and ${p ? `${f0(p.median)} ms` : 'n/a'} for Python spawn. ` : '') +
        (at64?.node ? `Case 9’s table shows the same at 64 workers: every worker ready after ${f2(medianOf(at64.node, 'ready_ms') / 1000)} s (multiproc) and ${at64.ref ? `${f2(medianOf(at64.ref, 'ready_ms') / 1000)} s` : 'n/a'} (Python spawn).` : '')
      );
    }
    default:
      if (s.row.id.startsWith('worker-')) {
        const e = medianResult(n).extra;
        return s.row.id.startsWith('worker-start')
          ? `**10 ${s.row.title}${adv}.** Pool(1) → first result ${f1(n.median)} ms against ${p ? `${f1(p.median)} ms` : 'n/a'} for a ${s.row.ref?.name ?? 'bare fork'} → first round trip (medians)${pairedRatios(n, p)}: what a worker adds to a fork is the child entry’s own loading and start-up, against a fork that alone took ${p ? `${f1(p.min)}–${f1(p.max)} ms` : 'n/a'} across the repetitions.`
          : `**10 ${s.row.title}${adv}.** A settled worker is ${f1(e.multiproc_rss_mb)} MB with ${f0(e.multiproc_threads)} threads, a bare forked node ${f1(e.bare_rss_mb)} MB with ${f0(e.bare_threads)} threads: ${f1(e.multiproc_rss_mb - e.bare_rss_mb)} MB more, of which ${f1(e.multiproc_rss_mb - e.multiproc_first_rss_mb)} MB arrive between its first result and the settle time (${n.results[0]!.params.settle_ms} ms later).`;
      }
      return null;
  }
}

export function caseNotes(view: ReportView): string[] {
  const { quick } = view.data;
  return [
    'The Python scripts are described in bench/python/README.md; each bench/node/caseN_*.ts is their twin, and bench/node/*.mjs for cases 6, 8, 9 and 10 (same sizes, same timed section, module-level task functions passed as `tasks(url)` references). Differences that matter:',
    '',
    '- Case 1 and 7: `extra.parent_cpu_s` is the CPU time of the parent over the timed window (process.cpuUsage; Python: time.process_time, all threads).',
    '- Case 2’s floors: bench/node/probe-ipc.mjs (a bare fork of bench/node/bare-child.cjs, advanced serialization, one small object each way) and bench/python/probe_ipc.py (a bare `multiprocessing.Pipe`), timed as case 2.',
    '- Case 3: the work unit is the same loop; Node calibrates k per run for ~25 ms per task, Python uses a fixed k (both in params). Workers are warmed up (and, in Node, the parent by a map of the timed map’s shape: its code is compiled on first use); the pool runs the loop timed inside the worker (`timedWork`), which gives each worker’s first task against the others, and splits the efficiency exactly into busy share (the task time measured in the workers over pool wall time × workers) × task speed (a task’s serial time over its mean time in the pool).',
    '- Case 4: the producer does `await q.put(item)` per item and the consumer `for await (… of q.until(null))`; the queue is hosted by the parent process (the Python queue is a pipe between the two children). CPU times per process come from process.cpuUsage / time.process_time.',
    '- Case 5: multiproc pipelines dict sets and list appends (one-way frames, see src/manager/proxy.ts); Python waits for a reply on every call. The timed window of the writes ends with one get in both languages, so it closes when the manager has applied every write. Gets are round trips in both. The 64-in-flight row has no Python twin (a proxy serves one call at a time per thread) and is compared with Python’s sequential get, for information. Floors: bench/node/probe-socket.mjs and bench/python/probe_socket.py, a bare 8-byte request/reply over a unix socket.',
    '- Case 6: a multiproc worker is a new Node process (child_process.fork of the child entry), the counterpart of Python’s spawn; Python’s fork is shown for information. The tsx row compares Pool(2) start → first result from src/ under tsx with the compiled build, both from this run.',
    '- Cases 6, 8, 9 and 10 measure the runtime itself (start-up, resident memory), so they run multiproc as it is published: built as `npm run build` builds it (src/build/build.mjs into a temporary directory: the ES module and CommonJS builds and the bundled child entry) and run by plain `node`. Rows and columns marked “tsx” run the same script from src/ under tsx, as the examples and tests do.',
    '- Case 3’s machine ceiling: bench/node/spin.mjs runs the work loop in one plain node process, then in cpuCount() processes at once, twice, interleaved; efficiency = mean time alone / mean time side by side (no library involved).',
    '- Case 7’s target holds only if every repetition reaches 1000 MB/s (a failed repetition counts as a miss).',
    `- Case 8: both sides use chunksize 100; the stalled consumer waits with \`await sleep(2000)\` (the event loop keeps running, so results could arrive; Python’s result thread keeps receiving during its \`time.sleep\`). Peak RSS is getrusage ru_maxrss of the parent in both, baseline included. multiproc also samples its RSS and live heap each time another sixteenth of the items is consumed; “flat” means the largest sample of the last quarter is at most ${FLAT_MARGIN_MB} MB above the largest of the first quarter (median over repetitions), and is part of the target.`,
    '- Case 9 (bench/node/processes.mjs, bench/python/case9_processes.py): see its section above. The tiny-task row times `new Pool(64)` → `map(pid, 256 items, chunksize 1)` returning, whichever workers are up serve them (the details say how many did); Python the same with `ctx.Pool(64)`. Its floor: 64 bare forks of bench/node/bare-child.cjs answering 256 messages round-robin.',
    '- Case 10 (bench/node/worker-cost.mjs): in one process, in rotating order, a bare `child_process.fork` of bench/node/bare-child.cjs (advanced serialization, environment inherited) → first IPC round trip, and `new Pool(1)` → first `apply` result of a task by source; and the same two where the task is by module (bench/node/processes-tasks.mjs) and the bare child imports that module before it answers; each child’s VmRSS and threads from /proc/<pid>/status at that moment and after a settle time (the value), then it is let go. The “unset” rows remove NODE_EXTRA_CA_CERTS from the environment of the whole process tree of the invocation.',
    ...(quick ? ['- --quick runs one variant per case, smaller sizes, case 9 up to 8 workers, and no “under tsx” information rows except case 6’s ratio.'] : []),
  ];
}

export const processesNotes = {
  job(data: RunData): string {
    const k = data.calibration;
    return `${k ? `tasks of work(k), k = ${n0(k.node)} for Node and ${k.python === null ? 'n/a' : n0(k.python)} for Python, calibrated at the start of the run to ~${SCALING_TASK_MS} ms per task in each language` : 'calibration did not run'}, chunksize 1`;
  },
  lines(view: ReportView): string[] {
    const rows = view.summaries.filter((s) => s.row.workers !== undefined);
    const first = rows.find((s) => s.node)?.node?.results[0];
    const lines = [
      `The job: ${first ? `${first.params.tasks} ` : ''}${processesNotes.job(view.data)}; the same work at every pool size, so speedup = job time with 1 worker / job time with N, per library. One repetition per size in a full run (the sizes together take minutes).`,
      'Ready: from the pool’s constructor until a rendezvous of N tasks returns (each worker leaves a file and waits for N files, looking every 20 ms, so N tasks land on N different workers): every worker has started, loaded the task module and run a task. Worker RSS is sampled then and after the job, while the workers are alive.',
      'VmRSS counts shared pages in every process that maps them: a forked Python worker shares most of its parent’s pages, and every Node worker maps the same node binary. Pss divides shared pages among their sharers, so the Pss column adds up to what the workers cost together.',
    ];
    const firstTasks = firstTaskLine(rows);
    if (firstTasks) lines.push(firstTasks);
    for (const s of rows) if (s.skipped) lines.push(`${s.row.workers} workers: ${s.skipped}.`);
    for (const s of rows) {
      const bad = scalingShort(s);
      if (bad) lines.push(bad);
    }
    return lines;
  },
};

/**
 * Each worker's first task of the job against the rest, per pool size and library (ms,
 * medians), when the run recorded them: Node compiles the loop in every worker on its first
 * long run of it, so the more workers share the job, the more of it runs before that.
 */
function firstTaskLine(rows: Summary[]): string | null {
  // Not medianOf: a run where every worker ran one task has other_task_ms null, which Number() makes 0.
  const of = (st: Stat, key: string) => median(st.results.map((r) => r.extra[key]).filter((v): v is number => typeof v === 'number'));
  const cell = (st: Stat | null) => {
    if (!st) return null;
    const first = of(st, 'first_task_ms');
    const others = of(st, 'other_task_ms');
    return Number.isFinite(first) ? `${f1(first)}/${Number.isFinite(others) ? f1(others) : '–'}` : null;
  };
  const node = rows.map((s) => [s.row.workers, cell(s.node)] as const).filter(([, c]) => c !== null);
  if (node.length === 0) return null;
  const ref = rows.map((s) => [s.row.workers, cell(s.ref)] as const).filter(([, c]) => c !== null);
  const list = (cells: (readonly [number | undefined, string | null])[]) => cells.map(([w, c]) => `${w}: ${c}`).join(', ');
  return (
    `A task of the job timed where it ran, each worker’s first against the rest (ms, medians; “–”: every worker ran one task): multiproc (compiled) ${list(node)}` +
    (ref.length ? `; Python spawn ${list(ref)}` : '') +
    '. A Node worker compiles the loop to machine code during its first long run of it (V8’s JIT, once per process; CPython interprets every run alike), so the more workers share the job, the larger the part of it that runs before that.'
  );
}

/** A scaling run whose rendezvous did not reach every worker (its ready time is then not "every worker"). */
function scalingShort(s: Summary): string | null {
  const cols = [s.node, s.ref, ...s.info].filter((x): x is Stat => x !== null);
  const short = cols.filter((st) => medianOf(st, 'distinct_workers') < s.row.workers!);
  return short.length ? `${s.row.workers} workers: the rendezvous reached only ${short.map((st) => f0(medianOf(st, 'distinct_workers'))).join('/')} workers in some runs (timeout).` : null;
}
