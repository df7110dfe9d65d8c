"""Multithreaded job: named worker threads doing different CPU work (per-thread views).

Threads ``pricer-0`` .. ``pricer-N`` run ``price_curve``, ``risk-agg`` runs
``aggregate_risk`` and ``feed`` mostly sleeps in ``poll_feed``. The GIL lets
one run at a time, so the CPU split between them is roughly even among the
busy threads. Prints per-thread CPU time.

    python sample_workloads/multithreaded.py --seconds 2 --pricers 2
"""
from __future__ import annotations

import argparse
import math
import sys
import threading
import time

cpu: dict[str, float] = {}


def price_curve(stop: threading.Event) -> None:
    """Bootstrap a yield curve again and again (CPU)."""
    c = time.thread_time()
    while not stop.is_set():
        acc = 0.0
        for i in range(1, 2000):
            acc += math.exp(-0.01 * i) / i
    cpu[threading.current_thread().name] = time.thread_time() - c


def aggregate_risk(stop: threading.Event) -> None:
    """Sum position deltas by bucket (CPU)."""
    c = time.thread_time()
    while not stop.is_set():
        buckets: dict[int, float] = {}
        for i in range(2000):
            buckets[i % 37] = buckets.get(i % 37, 0.0) + i * 0.5
    cpu[threading.current_thread().name] = time.thread_time() - c


def poll_feed(stop: threading.Event) -> None:
    """Wait for market data (idle)."""
    c = time.thread_time()
    while not stop.wait(0.01):
        pass
    cpu[threading.current_thread().name] = time.thread_time() - c


def main(argv: list[str] | None = None) -> int:
    """Start the named threads, run --seconds, print per-thread CPU."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="run time (default 3)")
    ap.add_argument("--pricers", type=int, default=2, help="pricer threads (default 2)")
    a = ap.parse_args(argv)
    stop = threading.Event()
    threads = [threading.Thread(target=price_curve, args=(stop,), name=f"pricer-{i}") for i in range(a.pricers)]
    threads += [threading.Thread(target=aggregate_risk, args=(stop,), name="risk-agg"),
                threading.Thread(target=poll_feed, args=(stop,), name="feed")]
    for t in threads:
        t.start()
    time.sleep(a.seconds)
    stop.set()
    for t in threads:
        t.join()
    print("multithreaded: cpu s per thread: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(cpu.items())),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
