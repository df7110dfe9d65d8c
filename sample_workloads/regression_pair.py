"""Regression pair for diff demos: the same fills job with and without an injected slow function.

Baseline: ``process_fills`` does fixed work per batch (``price_book`` then
``hedge_positions``, fixed iteration counts, so the baseline profile does not
depend on the flag). ``--inject`` adds ``slow_risk_check`` (this file) after
every batch, burning ``share / (1 - share)`` of the batch's measured CPU time,
so it takes ``--inject-share`` (default 0.10) of the whole run's CPU time by
construction. The program prints the achieved share.

    python sample_workloads/regression_pair.py --seconds 2             # A: baseline
    python sample_workloads/regression_pair.py --seconds 2 --inject    # B: + slow_risk_check ~10%
"""
from __future__ import annotations

import argparse
import math
import sys
import time

PRICE_ITERS, HEDGE_ITERS = 6000, 4000  # fixed work per batch (~60/40 between the two)


def price_book(batch: int) -> float:
    """Mark the fills of one batch to market (fixed work)."""
    acc = 0.0
    for i in range(PRICE_ITERS):
        acc += math.sin(batch + i * 1e-3) * 1.0001
    return acc


def hedge_positions(batch: int) -> float:
    """Compute hedge ratios for one batch (fixed work)."""
    acc = 0.0
    for i in range(HEDGE_ITERS):
        acc += math.cos(batch - i * 1e-3) / 1.0001
    return acc


def slow_risk_check(seconds: float) -> float:
    """The injected regression: spin for ``seconds`` of this thread's CPU time."""
    end = time.thread_time() + seconds
    acc = 0.0
    while time.thread_time() < end:
        for i in range(100):
            acc += math.sqrt(i + 1.5)
    return acc


def process_fills(batch: int) -> float:
    """One batch of the job: price, then hedge."""
    return price_book(batch) + hedge_positions(batch)


def main(argv: list[str] | None = None) -> int:
    """Run batches for --seconds of baseline CPU; with --inject add slow_risk_check."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="CPU seconds of baseline work (default 2)")
    ap.add_argument("--inject", action="store_true", help="add slow_risk_check (the regression)")
    ap.add_argument("--inject-share", type=float, default=0.10,
                    help="share of total CPU in slow_risk_check with --inject (default 0.10)")
    a = ap.parse_args(argv)
    if not 0 < a.inject_share < 1:
        ap.error("--inject-share must be between 0 and 1")
    ratio = a.inject_share / (1 - a.inject_share)
    t0, c0 = time.perf_counter(), time.process_time()
    base = slow = 0.0
    batch = 0
    while base < a.seconds:
        c = time.thread_time()
        process_fills(batch)
        d = time.thread_time()
        base += d - c
        if a.inject:
            # burn what the target share still owes (not just this batch's), so the overshoot
            # of one spin iteration does not accumulate
            slow_risk_check(max(0.0, base * ratio - slow))
            slow += time.thread_time() - d
        batch += 1
    total = base + slow
    print(f"regression_pair: {'B (inject)' if a.inject else 'A (baseline)'}: {batch} batches, "
          f"wall {time.perf_counter() - t0:.2f} s, cpu {time.process_time() - c0:.2f} s, "
          f"slow_risk_check {slow / total:.1%} of cpu", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
