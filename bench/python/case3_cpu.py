"""Case 3: CPU-bound scaling, 32 tasks of ~25 ms pure CPU, serial vs Pool(cpu_count()).

The work unit, reproducible in any language:

    def work(k):                      // JS: let s = 0;
        s = 0                         //     for (let i = 0; i < k; i++) s += (i * i) % 7;
        for i in range(k):            //     return s;
            s += (i * i) % 7
        return s

with a fixed k (--k, printed in params) chosen so one task takes about 25 ms of CPython on the
reference machine. Serial: the 32 tasks one after another in this process (half before the pool run, half after,
so drift in machine speed biases both alike). Pool: a pool of
cpu_count() workers, started and warmed up before timing, runs map(timed_work, [k] * 32,
chunksize=1), timed_work being work timed inside the worker. Reports efficiency = speedup /
cores (value), and serial/pool seconds, the speedup and the mean time of each worker's first
task of the timed map against the median of the others in `extra`, with the two factors of
the efficiency as the Node twin gives them: busy_share (task time measured in the workers over
pool time x processes) x task_speed (serial time of a task over its mean time in the pool).
"""

import sys
import time
from multiprocessing import Pool

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench_common as bc  # noqa: E402

# About 25 ms per call of work(K) with CPython 3.11 on the reference machine (AMD EPYC, 2 cores).
K = 230_000


work = bc.work
timed_work = bc.timed_work


def main():
    p = bc.parser(__doc__)
    p.add_argument("--k", type=int, default=K, help="loop iterations per task")
    p.add_argument("--tasks", type=int, default=None, help="number of tasks (default 32, --quick 8)")
    p.add_argument("--processes", type=int, default=None, help="pool size (default cpu_count())")
    args = p.parse_args()
    tasks = args.tasks or (8 if args.quick else 32)
    processes = args.processes or bc.cores()
    expected = work(args.k)  # also warms up this process

    # Serial time is measured half before and half after the pool run, so a drift of the
    # machine's speed (other load, frequency) biases both sides alike.
    def serial_run(count):
        t0 = time.perf_counter()
        results = [work(args.k) for _ in range(count)]
        return time.perf_counter() - t0, results

    first_s, serial = serial_run(tasks // 2)

    with Pool(processes) as pool:
        pool.map(timed_work, [1000] * processes * 2, chunksize=1)  # warm-up: every worker alive
        t0 = time.perf_counter()
        timed = pool.map(timed_work, [args.k] * tasks, chunksize=1)
        pool_s = time.perf_counter() - t0
    parallel = [r[0] for r in timed]
    # Each worker's first task of the timed map is its lowest nth among these results.
    first_nth = {}
    for _, _, pid, nth in timed:
        first_nth[pid] = min(nth, first_nth.get(pid, nth))
    firsts = [ms for _, ms, pid, nth in timed if first_nth[pid] == nth]
    others = [ms for _, ms, pid, nth in timed if first_nth[pid] != nth]

    second_s, rest = serial_run(tasks - tasks // 2)
    serial += rest
    serial_s = first_s + second_s

    assert serial == parallel == [expected] * tasks
    speedup = serial_s / pool_s
    pool_ms = [ms for _, ms, _, _ in timed]
    pool_task_ms = sum(pool_ms) / len(pool_ms)
    bc.emit("cpu", speedup / processes, "efficiency", "higher",
            params={"k": args.k, "tasks": tasks, "processes": processes, "chunksize": 1},
            extra={"serial_s": serial_s, "pool_s": pool_s, "speedup": speedup,
                   "task_ms": serial_s / tasks * 1000, "result": expected,
                   "first_task_ms": sum(firsts) / len(firsts),
                   "other_task_ms": bc.median(others) if others else None,
                   "workers_used": len(first_nth),
                   "pool_task_ms": pool_task_ms,
                   "busy_share": sum(pool_ms) / (pool_s * 1000 * processes),
                   "task_speed": serial_s / tasks * 1000 / pool_task_ms})


if __name__ == "__main__":
    main()
