"""Case 9: what N workers cost and give (twin of bench/node/processes.mjs).

--case calibrate [--task-ms 10]
    k such that work(k) takes --task-ms here (value = k). bench/run.ts runs it once and
    passes the same k to every scaling run, so the job is the same work at every pool size.
--case scaling --method spawn|fork --workers N --k K [--tasks 128]
    t0; pool = ctx.Pool(N); a rendezvous of N tasks (`arrive`, one per worker, chunksize 1)
    -> ready_ms: every worker has started and run a task. VmRSS of every worker and of this
    process from /proc/<pid>/status ("ready"). Then the job, timed: pool.map(timed_work, [k] *
    tasks, chunksize=1) -> value = seconds (each task also timed where it ran: a worker's
    first task against the rest); VmRSS again ("after"); close() + join() ->
    shutdown_ms. Speedup is computed by bench/run.ts against the 1-worker run.
--case tiny --method spawn|fork [--workers 64] [--tasks 256]
    t0; pool = ctx.Pool(64); pool.map(pid, range(256), chunksize=1) -> value = ms until the
    256 results are in; close() + join() -> shutdown_ms.

Keep this module's top level light: under spawn every worker re-imports it.
"""

import multiprocessing
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench_common as bc  # noqa: E402


work = bc.work
timed_work = bc.timed_work


def first_and_others(timed):
    """The median over workers of each one's first task of the job, and the median of the rest."""
    first_nth = {}
    for _, _, p, nth in timed:
        first_nth[p] = min(nth, first_nth.get(p, nth))
    firsts = [ms for _, ms, p, nth in timed if first_nth[p] == nth]
    others = [ms for _, ms, p, nth in timed if first_nth[p] != nth]
    return bc.median(firsts), (bc.median(others) if others else None)


def pid(_=None):
    return os.getpid()


def arrive(directory, n, timeout_s, warm_k):
    """Leave a file named by this pid, wait until n are there (or timeout_s), return the pid.
    A worker blocked here takes no other task, so n of these land on n different workers."""
    work(warm_k)
    open(os.path.join(directory, str(os.getpid())), "w").close()
    deadline = time.monotonic() + timeout_s
    while len(os.listdir(directory)) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.getpid()


def status(p):
    """VmRSS (MiB) and thread count of a live process, or None."""
    try:
        with open(f"/proc/{p}/status") as f:
            text = f.read()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


def pss(p):
    try:
        with open(f"/proc/{p}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def sample(pids):
    seen = [(status(p), pss(p)) for p in pids]
    seen = [(s, q) for s, q in seen if s is not None]
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    return {
        "count": len(seen),
        "rss_mb": mean([s[0] for s, _ in seen]),
        "pss_mb": mean([q for _, q in seen]) if all(q is not None for _, q in seen) else None,
        "threads": mean([s[1] for s, _ in seen]),
    }


def self_rss():
    return status(os.getpid())[0]


def calibrate(task_ms):
    k = 10_000
    work(k)
    while True:
        t0 = time.perf_counter()
        work(k)
        ms = (time.perf_counter() - t0) * 1000
        if ms >= 40:
            # The fastest of five timings, as the Node twin: one preempted timing would make
            # every task of the table too short.
            for _ in range(4):
                t1 = time.perf_counter()
                work(k)
                ms = min(ms, (time.perf_counter() - t1) * 1000)
            return max(1000, round(k * task_ms / ms / 1000) * 1000)
        k *= 2


def main():
    p = bc.parser(__doc__)
    p.add_argument("--case", choices=["calibrate", "scaling", "tiny"], required=True)
    p.add_argument("--method", choices=["spawn", "fork", "forkserver"], default="spawn")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--tasks", type=int, default=None)
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--task-ms", type=int, default=10)
    args = p.parse_args()
    ctx = multiprocessing.get_context(args.method)

    if args.case == "calibrate":
        bc.emit("calibrate", calibrate(args.task_ms), "k", "higher", params={"task_ms": args.task_ms})
        return

    if args.case == "scaling":
        workers = args.workers or 1
        tasks = args.tasks or 128
        k = args.k
        expected = work(k)
        directory = tempfile.mkdtemp(prefix="multiproc-bench-arrive-")
        try:
            parent_before = self_rss()
            t0 = time.perf_counter()
            pool = ctx.Pool(workers)
            arrivals = pool.starmap(arrive, [(directory, workers, 120, 1000)] * workers, chunksize=1)
            ready_ms = (time.perf_counter() - t0) * 1000
            pids = sorted(set(arrivals))
            ready = sample(pids)
            parent_ready = self_rss()
            t1 = time.perf_counter()
            timed = pool.map(timed_work, [k] * tasks, chunksize=1)
            seconds = time.perf_counter() - t1
            after = sample(pids)
            parent_after = self_rss()
            t2 = time.perf_counter()
            pool.close()
            pool.join()
            shutdown_ms = (time.perf_counter() - t2) * 1000
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        assert [r[0] for r in timed] == [expected] * tasks
        first_ms, other_ms = first_and_others(timed)
        bc.emit("processes", seconds, "s", "lower", variant=f"{args.method}-{workers}",
                params={"workers": workers, "tasks": tasks, "k": k, "chunksize": 1, "method": args.method},
                extra={"ready_ms": ready_ms, "shutdown_ms": shutdown_ms, "distinct_workers": len(pids),
                       "alive_ready": ready["count"], "alive_after": after["count"],
                       "worker_rss_ready_mb": ready["rss_mb"], "worker_rss_after_mb": after["rss_mb"],
                       "worker_pss_after_mb": after["pss_mb"], "worker_threads": after["threads"],
                       "parent_rss_before_mb": parent_before, "parent_rss_ready_mb": parent_ready,
                       "parent_rss_after_mb": parent_after,
                       "first_task_ms": first_ms, "other_task_ms": other_ms},
                start_method=args.method)
        return

    workers = args.workers or 64
    tasks = args.tasks or 256
    t0 = time.perf_counter()
    pool = ctx.Pool(workers)
    out = pool.map(pid, range(tasks), chunksize=1)
    ms = (time.perf_counter() - t0) * 1000
    t1 = time.perf_counter()
    pool.close()
    pool.join()
    shutdown_ms = (time.perf_counter() - t1) * 1000
    assert len(out) == tasks
    bc.emit("tiny", ms, "ms", "lower", variant=f"{args.method}-{workers}",
            params={"workers": workers, "tasks": tasks, "chunksize": 1, "method": args.method},
            extra={"shutdown_ms": shutdown_ms, "distinct_workers": len(set(out))},
            start_method=args.method)


if __name__ == "__main__":
    main()
