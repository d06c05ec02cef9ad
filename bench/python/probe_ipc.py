"""Case 2's floor on the Python side: a bare multiprocessing.Pipe ping-pong, no Pool.

The parent starts a Process that echoes every object it receives on its end of a Pipe and
sends a small tuple of the shape of a Pool task; --warmup round trips untimed, then N timed
one after another. value = median µs per round trip. Twin of bench/node/probe-ipc.mjs.
"""

import sys
import time
from multiprocessing import Pipe, Process

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench_common as bc  # noqa: E402


def echo(conn, other):
    other.close()  # the parent's end, inherited by fork: closed, so the parent's close is seen
    while True:
        try:
            conn.send(conn.recv())
        except EOFError:
            return


def main():
    p = bc.parser(__doc__)
    p.add_argument("--warmup", type=int, default=200)
    args = p.parse_args()
    calls = bc.size(args, 2000, 500)
    mine, theirs = Pipe()
    child = Process(target=echo, args=(theirs, mine))
    child.start()
    theirs.close()
    for i in range(args.warmup):
        mine.send((i, 1, None, (), {}))
        mine.recv()
    samples = []
    clock = time.perf_counter
    for i in range(calls):
        t0 = clock()
        mine.send((i, 1, None, (), {}))
        mine.recv()
        samples.append(clock() - t0)
    mine.close()
    child.join()
    us = sorted(s * 1e6 for s in samples)
    bc.emit("probe-ipc", bc.median(us), "us/call", "lower",
            params={"calls": calls, "warmup": args.warmup, "transport": "multiprocessing.Pipe"},
            extra={"mean": sum(us) / len(us), "p10": us[len(us) // 10], "p90": us[len(us) * 9 // 10]})


if __name__ == "__main__":
    main()
