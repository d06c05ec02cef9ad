"""Shared helpers of the Python benchmark scripts: argument parsing and the JSON result line.

Standard library only. Every script runs ONE case per invocation and prints exactly ONE JSON
line on stdout (anything else goes to stderr), so bench/run.ts can parse the last stdout line.
"""

import argparse
import json
import multiprocessing
import os
import platform
import sys


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
