"""Case 5: multiprocessing.Manager proxies used from a child process.

The parent starts a Manager (its own server process) and a child Process that receives a
DictProxy and a ListProxy and runs N operations of the chosen variant, one after another:
  dict_set     d[i] = i                       for i in range(N)
  dict_get     d[i]  (after N untimed sets)   for i in range(N)
  list_append  l.append(i)                    for i in range(N)
Only the N operations are timed (inside the child, time.perf_counter()), and for the writes
one read after the last write (d[N - 1], l[-1]), as the Node twin must do to confirm its
pipelined writes. Reports ops/s.
"""

import sys
import time
from multiprocessing import Manager, Process, Queue

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench_common as bc  # noqa: E402


def child(variant, n, d, lst, out):
    d[-1] = -1  # warm-up: the proxy's connection to the manager is opened lazily
    lst.append(-1)
    if variant == "dict_get":
        for i in range(n):
            d[i] = i
    t0 = time.perf_counter()
    if variant == "dict_set":
        for i in range(n):
            d[i] = i
        assert d[n - 1] == n - 1
    elif variant == "dict_get":
        for i in range(n):
            if d[i] != i:
                raise AssertionError(i)
    else:
        for i in range(n):
            lst.append(i)
        assert lst[-1] == n - 1
    out.put(time.perf_counter() - t0)


def main():
    p = bc.parser(__doc__)
    p.add_argument("--variant", choices=["dict_set", "dict_get", "list_append"], default="dict_set")
    args = p.parse_args()
    n = bc.size(args, 20_000, 5_000)
    with Manager() as manager:
        d, lst, out = manager.dict(), manager.list(), Queue()
        proc = Process(target=child, args=(args.variant, n, d, lst, out))
        proc.start()
        elapsed = out.get()
        proc.join()
        if args.variant == "list_append":
            assert len(lst) == n + 1
        else:
            assert len(d) == n + 1
    bc.emit("manager", n / elapsed, "ops/s", "higher", variant=args.variant,
            params={"n": n}, extra={"seconds": elapsed, "us_per_op": elapsed / n * 1e6})


if __name__ == "__main__":
    main()
