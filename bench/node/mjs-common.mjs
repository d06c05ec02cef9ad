// Shared helpers of the plain-JavaScript bench scripts (bench/node/*.mjs), which run under
// plain node on the compiled build as well as under tsx: argument parsing, the one JSON
// result line (the same shape as common.ts `emit` and bench/python/bench_common.py), and
// what /proc says about a process (Linux only: the benchmark machine's figures are read
// from /proc/<pid>/status, as the Python twins read them).

import { readFileSync } from 'node:fs';

/** `--name value` pairs as strings, and `--quick`. */
export function parseFlags(argv = process.argv.slice(2)) {
  const flags = {};
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a.startsWith('--')) flags[a.slice(2)] = argv[++i];
    else fail(`unexpected argument ${JSON.stringify(a)}`);
  }
  return { flags, quick };
}

/** A positive integer flag, or `fallback`. */
export function intFlag(flags, name, fallback) {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) fail(`--${name} must be an integer >= 1`);
  return v;
}

export function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** Print the one result line (bench/run.ts parses the last stdout line). */
export function emit(line) {
  process.stdout.write(`${JSON.stringify({ variant: null, params: {}, extra: {}, ...line, node: process.version, pid: process.pid })}\n`);
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const MIB = 1024 * 1024;

/**
 * VmRSS (MiB) and thread count of a live process from /proc/<pid>/status; null once it is
 * gone. VmRSS counts every resident page the process maps, shared ones included.
 */
export function procStatus(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMb: (kb('VmRSS') * 1024) / MIB, threads: kb('Threads') };
}

/**
 * Proportional set size (MiB) from /proc/<pid>/smaps_rollup: each shared page divided by
 * the number of processes mapping it. A forked copy shares most of its parent's pages, so
 * its VmRSS overstates what it costs; Pss does not. Null when unreadable.
 */
export function pssMb(pid) {
  try {
    const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? (Number(m[1]) * 1024) / MIB : null;
  } catch {
    return null;
  }
}

/** VmRSS, threads and Pss of each pid (the processes that are gone left out), with their means. */
export function sampleProcesses(pids) {
  const seen = pids.map((pid) => ({ pid, status: procStatus(pid), pss: pssMb(pid) })).filter((s) => s.status !== null);
  return {
    count: seen.length,
    rss_mb: seen.length ? mean(seen.map((s) => s.status.rssMb)) : null,
    pss_mb: seen.length && seen.every((s) => s.pss !== null) ? mean(seen.map((s) => s.pss)) : null,
    threads: seen.length ? mean(seen.map((s) => s.status.threads)) : null,
  };
}
