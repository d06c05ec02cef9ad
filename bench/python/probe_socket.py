"""Case 5's floor on the Python side: a bare request/reply over a unix socket, no Manager.

The parent makes a socketpair and starts a Process that echoes every chunk it reads with a
blocking recv() (as the manager's server threads read); 8-byte requests, each sent when the
previous reply is complete: --warmup untimed, then N timed. value = median µs per round
trip. Twin of bench/node/probe-socket.mjs.
"""

import socket
import sys
import time
from multiprocessing import Process

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench_common as bc  # noqa: E402


def echo(sock, other):
    other.close()  # the parent's end, inherited by fork: closed, so the parent's close is seen
    while True:
        data = sock.recv(64)
        if not data:
            return
        sock.sendall(data)


def main():
    p = bc.parser(__doc__)
    p.add_argument("--warmup", type=int, default=200)
    args = p.parse_args()
    calls = bc.size(args, 2000, 500)
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    child = Process(target=echo, args=(theirs, mine))
    child.start()
    theirs.close()
    request = b"\x01" * 8

    def round_trip():
        mine.sendall(request)
        got = 0
        while got < len(request):
            got += len(mine.recv(64))

    for _ in range(args.warmup):
        round_trip()
    samples = []
    clock = time.perf_counter
    for _ in range(calls):
        t0 = clock()
        round_trip()
        samples.append(clock() - t0)
    mine.close()
    child.join()
    us = sorted(s * 1e6 for s in samples)
    bc.emit("probe-socket", bc.median(us), "us/call", "lower",
            params={"calls": calls, "warmup": args.warmup, "transport": "unix socketpair, 8-byte request and reply"},
            extra={"mean": sum(us) / len(us), "p10": us[len(us) // 10], "p90": us[len(us) * 9 // 10]})


if __name__ == "__main__":
    main()
