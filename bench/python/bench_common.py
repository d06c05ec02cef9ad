"""Shared helpers of the Python benchmark scripts: argument parsing, the JSON result line, and
the CPU work unit of cases 3 and 9 (work, timed_work: module-level, so pool workers find them).

Standard library only. Every script runs ONE case per invocation and prints exactly ONE JSON
line on stdout (anything else goes to stderr), so bench/run.ts can parse the last stdout line.
"""

import argparse
import json
import multiprocessing
import os
import platform
import sys
import time


def parser(description):
    """An ArgumentParser with the options every case accepts (--quick, --n)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="smaller sizes for a fast pass")
    p.add_argument("--n", type=int, default=None, help="number of items (overrides the default and --quick)")
    return p


def size(args, full, quick):
    """--n if given, else the quick or full default."""
    if args.n is not None:
        if args.n < 1:
            sys.exit("--n must be >= 1")
        return args.n
    return quick if args.quick else full


def cores():
    """What the Pool default uses: os.cpu_count() (multiprocessing.cpu_count())."""
    return multiprocessing.cpu_count()


def emit(case, value, unit, better, variant=None, params=None, extra=None, start_method=None):
    """Print the one result line. `better` is "higher" or "lower"."""
    line = {
        "case": case,
        "variant": variant,
        "value": value,
        "unit": unit,
        "better": better,
        "params": params or {},
        "extra": extra or {},
        "python": platform.python_version(),
        "cores": cores(),
        "start_method": start_method or multiprocessing.get_start_method(),
        "pid": os.getpid(),
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def median(values):
    s = sorted(values)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def work(k):
    """The work unit of cases 3 and 9, identical in both languages (bench/python/README.md)."""
    s = 0
    for i in range(k):
        s += (i * i) % 7
    return s


_runs = 0


def timed_work(k):
    """work(k) timed where it runs: (result, ms, pid, nth), as bench/node/tasks.ts timedWork.
    nth counts this process's earlier calls, so a caller can tell each worker's first task."""
    global _runs
    t0 = time.perf_counter()
    s = work(k)
    ms = (time.perf_counter() - t0) * 1000
    _runs += 1
    return s, ms, os.getpid(), _runs - 1
