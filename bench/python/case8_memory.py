"""Case 8: memory of Pool.imap over a generator of 2,000,000 items (identity task).

Pool(cpu_count()).imap(ident, generator, chunksize=--chunksize), every result consumed and
checked. Reports the parent's peak RSS in MB (MiB, 2^20 bytes) from
resource.getrusage(RUSAGE_SELF).ru_maxrss (KiB on Linux) read after the run; it includes the
interpreter's baseline, given in `extra` (peak before the pool started). Workers are not
counted.

Variants:
  steady   the consumer takes results as fast as they come.
  stalled  the consumer takes the first result, then sleeps --stall-ms before draining the
           rest (a consumer slower than the workers, in its simplest form).
What bounds Python: its task handler thread pulls the input generator only as fast as the OS
pipe to the workers accepts tasks, so the input side is held back by the workers; but nothing
holds the workers back from the consumer: finished results pile up in the IMapIterator
without limit. So `steady` stays near the baseline and `stalled` grows with N.
"""

import sys
import resource
import time
from multiprocessing import Pool

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench_common as bc  # noqa: E402


def ident(x):
    return x


def generate(n):
    for i in range(n):
        yield i


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    p = bc.parser(__doc__)
    p.add_argument("--chunksize", type=int, default=100,
                   help="imap chunksize (default 100; Python's own default of 1 takes minutes for 2M items)")
    p.add_argument("--processes", type=int, default=None, help="pool size (default cpu_count())")
    p.add_argument("--variant", choices=["steady", "stalled"], default="steady")
    p.add_argument("--stall-ms", type=int, default=2000, help="stalled: sleep after the first result")
    args = p.parse_args()
    n = bc.size(args, 2_000_000, 200_000)
    processes = args.processes or bc.cores()
    baseline = peak_rss_mb()
    t0 = time.perf_counter()
    expected = 0
    with Pool(processes) as pool:
        for x in pool.imap(ident, generate(n), chunksize=args.chunksize):
            if x != expected:
                raise AssertionError((x, expected))
            expected += 1
            if expected == 1 and args.variant == "stalled":
                time.sleep(args.stall_ms / 1000)
    elapsed = time.perf_counter() - t0
    assert expected == n
    bc.emit("memory", peak_rss_mb(), "MB", "lower", variant=args.variant,
            params={"n": n, "chunksize": args.chunksize, "processes": processes,
                    "stall_ms": args.stall_ms if args.variant == "stalled" else 0},
            extra={"baseline_mb": baseline, "seconds": elapsed, "items_per_s": n / elapsed})


if __name__ == "__main__":
    main()
