"""Times multiprocessing.Lock: uncontended acquire/release pairs, or two
processes contending for one lock.

Usage: python3 lock.py uncontended N   -- prints seconds for N pairs
       python3 lock.py contended N     -- prints seconds for 2*N pairs, N per process
"""
import multiprocessing as mp
import sys
import time


def hammer(lock, barrier, n):
    barrier.wait()
    x = 0
    for _ in range(n):
        with lock:
            x += 1


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
        barrier = mp.Barrier(2)
        p = mp.Process(target=hammer, args=(lock, barrier, n))
        p.start()
        barrier.wait()
        start = time.perf_counter()
        x = 0
        for _ in range(n):
            with lock:
                x += 1
        p.join()
        print(time.perf_counter() - start)
