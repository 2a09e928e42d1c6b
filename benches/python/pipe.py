"""Times multiprocessing.Pipe between two processes.

Usage: python3 pipe.py rtt N        -- N round trips of a 1-byte message
       python3 pipe.py put SIZE N   -- N one-way messages of SIZE bytes
Prints seconds (process start-up excluded).
"""
import multiprocessing as mp
import sys
import time


def echo(conn):
    while True:
        m = conn.recv_bytes()
        if not m:
            return
        conn.send_bytes(m)


def sink(conn):
    total = 0
    while True:
        m = conn.recv_bytes()
        if not m:
            conn.send_bytes(str(total).encode())
            return
        total += len(m)


if __name__ == "__main__":
    mode = sys.argv[1]
    a, b = mp.Pipe()
    if mode == "rtt":
        n = int(sys.argv[2])
        p = mp.Process(target=echo, args=(b,))
        p.start()
        a.send_bytes(b"x")
        a.recv_bytes()
        start = time.perf_counter()
        for _ in range(n):
            a.send_bytes(b"x")
            a.recv_bytes()
        elapsed = time.perf_counter() - start
    else:
        size, n = int(sys.argv[2]), int(sys.argv[3])
        payload = b"\xab" * size
        p = mp.Process(target=sink, args=(b,))
        p.start()
        start = time.perf_counter()
        for _ in range(n):
            a.send_bytes(payload)
        a.send_bytes(b"")
        assert int(a.recv_bytes()) == size * n
        elapsed = time.perf_counter() - start
    if mode == "rtt":
        a.send_bytes(b"")
    p.join()
    print(elapsed)
