"""Times n start+join cycles of an empty multiprocessing.Process.

Usage: python3 spawn.py METHOD N   (METHOD: spawn | fork); prints seconds.
"""
import multiprocessing as mp
import sys
import time


def empty():
    pass


if __name__ == "__main__":
    method, n = sys.argv[1], int(sys.argv[2])
    ctx = mp.get_context(method)
    start = time.perf_counter()
    for _ in range(n):
        p = ctx.Process(target=empty)
        p.start()
        p.join()
    print(time.perf_counter() - start)
