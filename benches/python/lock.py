"""Times multiprocessing.Lock: uncontended acquire/release pairs, or two
processes contending for one lock.

Usage: python3 lock.py uncontended N   -- prints seconds for N pairs
       python3 lock.py contended N     -- prints seconds for 2*N pairs, N per process,
                                          from the barrier to the later process's last
                                          release (the child's start and join outside)
"""
import multiprocessing as mp
import sys
import time


def hammer(lock, barrier, n, done):
    barrier.wait()
    x = 0
    for _ in range(n):
        with lock:
            x += 1
    done.put(time.perf_counter())


if __name__ == "__main__":
    mode, n = sys.argv[1], int(sys.argv[2])
    lock = mp.Lock()
    if mode == "uncontended":
        start = time.perf_counter()
        for _ in range(n):
            lock.acquire()
            lock.release()
        print(time.perf_counter() - start)
    else:
        barrier, done = mp.Barrier(2), mp.SimpleQueue()
        p = mp.Process(target=hammer, args=(lock, barrier, n, done))
        p.start()
        barrier.wait()
        start = time.perf_counter()
        x = 0
        for _ in range(n):
            with lock:
                x += 1
        end = time.perf_counter()
        end = max(end, done.get())
        p.join()
        print(end - start)
