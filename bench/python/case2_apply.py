"""Case 2: sequential Pool.apply round trip of a no-op, after warm-up.

Times each of --calls apply(noop) calls one after another (the next starts when the previous
result is back) and reports the median in microseconds; mean, p10, p90 and min in `extra`.
"""

import sys
import time
from multiprocessing import Pool

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench_common as bc  # noqa: E402


def noop():
    return None


def main():
    p = bc.parser(__doc__)
    p.add_argument("--processes", type=int, default=None, help="pool size (default cpu_count())")
    p.add_argument("--warmup", type=int, default=200, help="untimed calls first")
    args = p.parse_args()
    calls = bc.size(args, 2000, 500)
    processes = args.processes or bc.cores()
    samples = []
    with Pool(processes) as pool:
        for _ in range(args.warmup):
            pool.apply(noop)
        clock = time.perf_counter
        for _ in range(calls):
            t0 = clock()
            pool.apply(noop)
            samples.append(clock() - t0)
    us = sorted(s * 1e6 for s in samples)
    bc.emit("apply", bc.median(us), "us/call", "lower",
            params={"calls": calls, "warmup": args.warmup, "processes": processes},
            extra={"mean": sum(us) / len(us), "min": us[0], "p10": us[len(us) // 10], "p90": us[len(us) * 9 // 10]})


if __name__ == "__main__":
    main()
