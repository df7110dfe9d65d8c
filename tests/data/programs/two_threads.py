"""Two named worker threads for profiler fixtures: a quote feed and a risk engine.

``feed`` burns about twice the CPU of ``risk``; the main thread waits. Used to
record multi-thread speedscope fixtures (py-spy writes one profile per thread).

    python tests/data/programs/two_threads.py --seconds 1.0
"""
from __future__ import annotations

import argparse
import math
import threading
import time


def _spin(seconds: float) -> float:
    """Burn ``seconds`` of this thread's CPU time."""
    end = time.thread_time() + seconds
    acc = 0.0
    while time.thread_time() < end:
        for i in range(200):
            acc += math.sqrt(i + 0.5)
    return acc


def quote_feed(seconds: float) -> None:
    """Stand-in for decoding a market-data feed."""
    _spin(seconds)


def risk_engine(seconds: float) -> None:
    """Stand-in for recomputing portfolio risk."""
    _spin(seconds)


def main() -> None:
    """Run both workers in named threads and wait for them."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1.0)
    a = ap.parse_args()
    ts = [threading.Thread(target=quote_feed, args=(a.seconds * 2 / 3,), name="feed"),
          threading.Thread(target=risk_engine, args=(a.seconds / 3,), name="risk")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


if __name__ == "__main__":
    main()
