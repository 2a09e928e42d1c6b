"""Times n round trips of an Event ping-pong between two processes.

Usage: python3 event.py N   -- prints seconds (start-up excluded).
"""
import multiprocessing as mp
import sys
import time


def pong(ping, pong_, n):
    for _ in range(n):
        ping.wait()
        ping.clear()
        pong_.set()


if __name__ == "__main__":
    n = int(sys.argv[1])
    ping, pong_ = mp.Event(), mp.Event()
    p = mp.Process(target=pong, args=(ping, pong_, n + 1))
    p.start()
    ping.set()
    pong_.wait()
    pong_.clear()
    start = time.perf_counter()
    for _ in range(n):
        ping.set()
        pong_.wait()
        pong_.clear()
    elapsed = time.perf_counter() - start
    p.join()
    print(elapsed)
