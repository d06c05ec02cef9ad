"""Case 6: Pool start to first result, then shutdown.

For start method --method (spawn or fork) and --workers (a number, or "cpu" for cpu_count()):
    t0; pool = ctx.Pool(workers); pool.apply(noop)  -> first_result_ms
        pool.close(); pool.join()                   -> shutdown_ms
value = total ms from t0 to join() returning. apply() is served by whichever worker is ready
first; close() + join() waits for every worker to have started and exited. Repeated --reps
times in this process (a fresh pool each time); the median is reported, samples in `extra`.
The target compares multiproc against Python's spawn.

Keep this module's top level light: under spawn every worker re-imports it.
"""

import sys
import time
import multiprocessing

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench_common as bc  # noqa: E402


def noop():
    return None


def main():
    p = bc.parser(__doc__)
    p.add_argument("--method", choices=["spawn", "fork", "forkserver"], default="spawn")
    p.add_argument("--workers", default="2", help='pool size, or "cpu" for cpu_count()')
    p.add_argument("--reps", type=int, default=None, help="pools started in this run (default 3, --quick 1)")
    args = p.parse_args()
    workers = bc.cores() if args.workers == "cpu" else int(args.workers)
    reps = args.reps or (1 if args.quick else 3)
    ctx = multiprocessing.get_context(args.method)
    totals, firsts, shutdowns = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        pool = ctx.Pool(workers)
        pool.apply(noop)
        t1 = time.perf_counter()
        pool.close()
        pool.join()
        t2 = time.perf_counter()
        totals.append((t2 - t0) * 1000)
        firsts.append((t1 - t0) * 1000)
        shutdowns.append((t2 - t1) * 1000)
    bc.emit("startup", bc.median(totals), "ms", "lower", variant=f"{args.method}-{args.workers}",
            params={"method": args.method, "workers": workers, "reps": reps},
            extra={"first_result_ms": bc.median(firsts), "shutdown_ms": bc.median(shutdowns),
                   "samples_ms": totals},
            start_method=args.method)


if __name__ == "__main__":
    main()
