"""Times multiprocessing's shared data, for benches/shared.rs.

Usage: python3 shared.py value N       -- seconds for 2*N locked increments of a
                                          Value('q') from two processes (from the
                                          barrier to the later one's last; the
                                          child's start and join outside)
       python3 shared.py lifecycle N   -- seconds for N SharedMemory create +
                                          open + close + unlink cycles (4 KiB)
       python3 shared.py write N MiB   -- seconds for N writes of MiB MiB into a
                                          warm SharedMemory block
"""
import multiprocessing as mp
import sys
import time
from multiprocessing import shared_memory


def add(v, barrier, n, done):
    barrier.wait()
    for _ in range(n):
        with v.get_lock():
            v.value += 1
    done.put(time.perf_counter())


if __name__ == "__main__":
    mode, n = sys.argv[1], int(sys.argv[2])
    if mode == "value":
        v = mp.Value("q", 0)
        barrier, done = mp.Barrier(2), mp.SimpleQueue()
        p = mp.Process(target=add, args=(v, barrier, n, done))
        p.start()
        barrier.wait()
        start = time.perf_counter()
        for _ in range(n):
            with v.get_lock():
                v.value += 1
        end = max(time.perf_counter(), done.get())
        p.join()
        elapsed = end - start
        assert v.value == 2 * n
        print(elapsed)
    elif mode == "lifecycle":
        start = time.perf_counter()
        for _ in range(n):
            a = shared_memory.SharedMemory(create=True, size=4096)
            b = shared_memory.SharedMemory(a.name)
            b.close()
            a.close()
            a.unlink()
        print(time.perf_counter() - start)
    else:
        size = int(sys.argv[3]) << 20
        shm = shared_memory.SharedMemory(create=True, size=size)
        src = b"\xab" * size
        shm.buf[:] = src
        start = time.perf_counter()
        for _ in range(n):
            shm.buf[:] = src
        print(time.perf_counter() - start)
        shm.close()
        shm.unlink()
