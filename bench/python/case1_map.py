"""Case 1: Pool(cpu_count()).map(square, range of N ints) with default chunking.

Measures items/s of the map call alone: the pool is started and warmed up (every worker has
run a task) before timing; the input list is built before timing. The CPU time of this process (all its
threads: time.process_time) in that window is in `extra` as parent_cpu_s.
"""

import sys
import time
from multiprocessing import Pool

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench_common as bc  # noqa: E402


def square(x):
    return x * x


def main():
    p = bc.parser(__doc__)
    p.add_argument("--processes", type=int, default=None, help="pool size (default cpu_count())")
    args = p.parse_args()
    n = bc.size(args, 1_000_000, 200_000)
    processes = args.processes or bc.cores()
    xs = list(range(n))
    with Pool(processes) as pool:
        pool.map(square, range(processes * 4), chunksize=1)  # warm-up: every worker alive
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = pool.map(square, xs)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - c0
    assert len(out) == n and out[-1] == (n - 1) * (n - 1)
    bc.emit("map", n / elapsed, "items/s", "higher",
            params={"n": n, "processes": processes, "chunksize": "default"},
            extra={"seconds": elapsed, "parent_cpu_s": cpu})


if __name__ == "__main__":
    main()
