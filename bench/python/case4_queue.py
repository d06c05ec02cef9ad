"""Case 4: multiprocessing.Queue, one producer Process -> one consumer Process.

Variant "ints" (default N=500,000): the producer puts 0..N-1 then None. Variant "dicts"
(default N=100,000): {"id": i, "payload": "x" * 1000} (about 1 KB each, built before timing)
then None. Both processes are started and ready before timing begins (an Event releases the
producer). Time runs from just before the first put (producer) to the consumer having
received the sentinel, read on time.monotonic() (CLOCK_MONOTONIC, shared by all processes on
Linux). Reports items/s (N / time); MB/s of pickled payload is not counted. `extra` gives the
CPU time (time.process_time, all threads) of the producer, from its first put until its
feeder thread has flushed the sentinel, and of the consumer, until the sentinel.
"""

import sys
import time
from multiprocessing import Event, Process, Queue

sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench_common as bc  # noqa: E402


def producer(q, go, variant, n, out):
    items = [{"id": i, "payload": "x" * 1000} for i in range(n)] if variant == "dicts" else range(n)
    go.wait()
    c0 = time.process_time()
    t0 = time.monotonic()
    put = q.put
    for item in items:
        put(item)
    put(None)
    # Queue.put hands items to a feeder thread; wait until it has written them all (as the
    # process would at exit) so that its CPU time is counted.
    q.close()
    q.join_thread()
    out.put(("t0", t0, time.process_time() - c0))


def consumer(q, ready, out):
    get = q.get
    ready.set()
    c0 = time.process_time()
    count = 0
    while get() is not None:
        count += 1
    out.put(("t1", time.monotonic(), count, time.process_time() - c0))


def main():
    p = bc.parser(__doc__)
    p.add_argument("--variant", choices=["ints", "dicts"], default="ints")
    args = p.parse_args()
    if args.variant == "ints":
        n = bc.size(args, 500_000, 100_000)
    else:
        n = bc.size(args, 100_000, 20_000)
    q, out = Queue(), Queue()
    go, ready = Event(), Event()
    cons = Process(target=consumer, args=(q, ready, out))
    prod = Process(target=producer, args=(q, go, args.variant, n, out))
    cons.start()
    prod.start()
    ready.wait()
    time.sleep(0.05)  # let the producer finish building its items
    go.set()
    results = {}
    for _ in range(2):
        msg = out.get()
        results[msg[0]] = msg[1:]
    prod.join()
    cons.join()
    (t0, producer_cpu), (t1, count, consumer_cpu) = results["t0"], results["t1"]
    assert count == n, (count, n)
    elapsed = t1 - t0
    bc.emit("queue", n / elapsed, "items/s", "higher", variant=args.variant,
            params={"n": n, "item": "int" if args.variant == "ints" else '{"id": i, "payload": "x" * 1000}'},
            extra={"seconds": elapsed, "producer_cpu_s": producer_cpu, "consumer_cpu_s": consumer_cpu})


if __name__ == "__main__":
    main()
