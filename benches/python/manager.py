"""Times multiprocessing managers, for benches/manager.rs.

Usage: python3 manager.py dict N     -- seconds for N x (d['k'] = i; d['k']) through a Manager dict proxy
       python3 manager.py call N     -- seconds for N x maths.add(4, 3) on a registered type
       python3 manager.py threads N  -- seconds for N x maths.add(4, 3) from 4 threads (N/4 each; a
                                        connection per thread, opened in the timed span: Python's way to
                                        have calls in flight)
"""
import sys
import threading
import time
from multiprocessing.managers import BaseManager, SyncManager


class MathsClass:
    def add(self, x, y):
        return x + y


class MyManager(BaseManager):
    pass


MyManager.register("Maths", MathsClass)


if __name__ == "__main__":
    mode, n = sys.argv[1], int(sys.argv[2])
    if mode == "dict":
        with SyncManager() as manager:
            d = manager.dict()
            d["k"] = 0
            start = time.perf_counter()
            for i in range(n):
                d["k"] = i
                assert d["k"] == i
            elapsed = time.perf_counter() - start
    else:
        with MyManager() as manager:
            maths = manager.Maths()
            assert maths.add(4, 3) == 7
            if mode == "call":
                start = time.perf_counter()
                for _ in range(n):
                    maths.add(4, 3)
                elapsed = time.perf_counter() - start
            else:
                per = max(1, n // 4)

                def work():
                    for _ in range(per):
                        maths.add(4, 3)

                threads = [threading.Thread(target=work) for _ in range(4)]
                start = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                elapsed = (time.perf_counter() - start) * n / (per * 4)
    print(elapsed)
