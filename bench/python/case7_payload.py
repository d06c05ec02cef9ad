"""Case 7: large payloads, Pool(cpu_count()).map(len, 64 bytes objects of 4 MiB each).

The payloads are built before timing and the pool is warmed up; the map call alone is timed
(default chunking: Pool.map picks chunksize = ceil(64 / (4 * workers))). Every byte crosses
to a worker once (pickled through the task pipe) and only the length comes back.
value = MB/s with MB = 10^6 bytes: 64 * 4 MiB = 268.4 MB over the map time. The CPU time of
this process (all threads) in that window is in `extra` as parent_cpu_s.
"""

import sys
import time
from multiprocessing import Pool

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench_common as bc  # noqa: E402

MIB = 1 << 20


def main():
    p = bc.parser(__doc__)
    p.add_argument("--size-mib", type=int, default=4, help="size of each payload in MiB")
    p.add_argument("--processes", type=int, default=None, help="pool size (default cpu_count())")
    args = p.parse_args()
    n = bc.size(args, 64, 16)
    processes = args.processes or bc.cores()
    size = args.size_mib * MIB
    payloads = [bytes([i % 256]) * size for i in range(n)]
    with Pool(processes) as pool:
        pool.map(len, [b"x"] * processes * 2, chunksize=1)  # warm-up: every worker alive
        c0 = time.process_time()
        t0 = time.perf_counter()
        lengths = pool.map(len, payloads)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - c0
    assert lengths == [size] * n
    total = n * size
    bc.emit("payload", total / 1e6 / elapsed, "MB/s", "higher",
            params={"n": n, "bytes_each": size, "processes": processes, "chunksize": "default"},
            extra={"seconds": elapsed, "total_bytes": total, "parent_cpu_s": cpu})


if __name__ == "__main__":
    main()
