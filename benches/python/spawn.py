"""Times n start+join cycles of an empty multiprocessing.Process.

Usage: python3 spawn.py METHOD N   (METHOD: spawn | fork | forkserver); prints
seconds. One cycle runs before the clock starts (for forkserver, the one that
starts the server).
"""
import multiprocessing as mp
import sys
import time


def empty():
    pass


if __name__ == "__main__":
    method, n = sys.argv[1], int(sys.argv[2])
    ctx = mp.get_context(method)
    p = ctx.Process(target=empty)
    p.start()
    p.join()
    start = time.perf_counter()
    for _ in range(n):
        p = ctx.Process(target=empty)
        p.start()
        p.join()
    print(time.perf_counter() - start)
