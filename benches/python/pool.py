"""Times multiprocessing.Pool, for benches/pool.rs.

Usage: python3 pool.py map N         -- seconds for Pool(2).map(double, range(N)), default chunks
       python3 pool.py map1 N        -- the same with chunksize=1
       python3 pool.py executor N    -- ProcessPoolExecutor(2).map(double, range(N))
       python3 pool.py startup METHOD N  -- seconds for N x (Pool(2) with METHOD, first result, terminate)
"""
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def double(x):
    return 2 * x


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "startup":
        ctx, n = mp.get_context(sys.argv[2]), int(sys.argv[3])
        total = 0.0
        for _ in range(n):
            start = time.perf_counter()
            pool = ctx.Pool(2)
            assert pool.apply(double, (21,)) == 42
            total += time.perf_counter() - start
            pool.terminate()
            pool.join()
        print(total)
    else:
        n = int(sys.argv[2])
        if mode == "executor":
            with ProcessPoolExecutor(2) as ex:
                list(ex.map(double, range(10)))  # workers started
                start = time.perf_counter()
                out = list(ex.map(double, range(n)))
                elapsed = time.perf_counter() - start
        else:
            with mp.Pool(2) as pool:
                pool.map(double, range(10))  # workers started
                start = time.perf_counter()
                out = pool.map(double, range(n), chunksize=1 if mode == "map1" else None)
                elapsed = time.perf_counter() - start
        assert out[-1] == 2 * (n - 1)
        print(elapsed)
