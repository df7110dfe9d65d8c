"""Ground-truth workload: a pricing loop that spends a known share of CPU in each function.

``price_options`` (the hot path) gets ``--hot`` of the CPU time (default 0.70) and
``update_risk`` the rest, by alternating fixed time slices measured with
``time.thread_time``. Prints its own timing and the achieved split, so a
profile of it can be checked against ground truth.

    python sample_workloads/cpu_split.py --seconds 3 --hot 0.7
"""
from __future__ import annotations

import argparse
import math
import sys
import time

SLICE = 0.010  # seconds of CPU per round, split between the two functions


def _burn(seconds: float) -> float:
    """Spin on floating-point math for ``seconds`` of this thread's CPU time."""
    end = time.thread_time() + seconds
    acc = 0.0
    while time.thread_time() < end:
        for i in range(200):
            acc += math.sqrt(i * 1.000001) * math.exp(-i * 1e-4)
    return acc


def price_options(seconds: float) -> float:
    """Hot path: a stand-in for a Black-Scholes pricing sweep."""
    return _burn(seconds)


def update_risk(seconds: float) -> float:
    """Cold path: a stand-in for a risk-aggregation step."""
    return _burn(seconds)


def main(argv: list[str] | None = None) -> int:
    """Run for ``--seconds`` of CPU, splitting it ``--hot`` / ``1 - --hot``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="total CPU seconds (default 3)")
    ap.add_argument("--hot", type=float, default=0.70, help="share of CPU in price_options (default 0.70)")
    args = ap.parse_args(argv)
    t0, c0 = time.perf_counter(), time.process_time()
    spent = {"price_options": 0.0, "update_risk": 0.0}
    while time.process_time() - c0 < args.seconds:
        a = time.thread_time()
        price_options(SLICE * args.hot)
        b = time.thread_time()
        update_risk(SLICE * (1 - args.hot))
        c = time.thread_time()
        spent["price_options"] += b - a
        spent["update_risk"] += c - b
    total = sum(spent.values()) or 1.0
    print(f"cpu_split: wall {time.perf_counter() - t0:.2f} s, cpu {time.process_time() - c0:.2f} s; "
          f"price_options {spent['price_options'] / total:.1%}, update_risk {spent['update_risk'] / total:.1%}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
