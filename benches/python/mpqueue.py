"""Times multiprocessing queues between processes. (Not named queue.py:
that would shadow the standard library module the queues import.)

Usage: python3 mpqueue.py queue N        -- 1 producer -> 1 consumer, N ints (Queue)
       python3 mpqueue.py simple N       -- the same with SimpleQueue
       python3 mpqueue.py two N          -- 2 producers -> 2 consumers, N ints each producer
       python3 mpqueue.py many P N       -- P producers -> P consumers, N ints each producer
       python3 mpqueue.py big SIZE N     -- 1 -> 1, N bytes objects of SIZE bytes (Queue)
Prints seconds from when the first process leaves the starting barrier to
when the last item is taken (each producer has put, and each consumer taken,
one item before it: a Queue's feeder thread starts on the first put).
"""
import multiprocessing as mp
import sys
import time


def produce(q, ready, n, item, done):
    # One item before the clock starts: a Queue's first put starts its feeder
    # thread, a fixed cost outside the timed region.
    q.put(item)
    ready.wait()
    done.put(("start", time.perf_counter()))
    for _ in range(n):
        q.put(item)


def consume(q, ready, n, done):
    q.get()
    ready.wait()
    start = time.perf_counter()
    for _ in range(n):
        q.get()
    done.put(("end", start, time.perf_counter()))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "big":
        size, n = int(sys.argv[2]), int(sys.argv[3])
        item, producers = bytes(size), 1
    elif mode == "many":
        producers, n = int(sys.argv[2]), int(sys.argv[3])
        item = 12345
    else:
        n = int(sys.argv[2])
        item, producers = 12345, (2 if mode == "two" else 1)
    q = mp.SimpleQueue() if mode == "simple" else mp.Queue()
    done = mp.SimpleQueue()
    ready = mp.Barrier(2 * producers + 1)
    procs = [mp.Process(target=produce, args=(q, ready, n, item, done)) for _ in range(producers)]
    procs += [mp.Process(target=consume, args=(q, ready, n, done)) for _ in range(producers)]
    for p in procs:
        p.start()
    ready.wait()
    # Every process reads the clock as it leaves the barrier (the parent may
    # be scheduled after a small run is already over).
    reports = [done.get() for _ in range(2 * producers)]
    start = min(r[1] for r in reports)
    end = max(r[2] for r in reports if r[0] == "end")
    for p in procs:
        p.join()
    print(end - start)
