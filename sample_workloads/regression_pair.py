"""Regression pair for diff demos: the same fills job with and without an injected slow function.

Baseline: each batch of ``process_fills`` does fixed work (``price_book`` then
``hedge_positions``, iteration counts 60/40, batch sizes varying 0.5-1.5x in a
fixed sequence so that a sampler's interval does not alias with the batch
period), so the baseline's own split is the same in every run. ``--inject``
adds ``slow_risk_check`` (this file) after every batch: a FIXED number of
iterations of the same loop body (scaled with the batch),
calibrated against the batch's iterations as ``share / (1 - share)`` of them,
so it takes ``--inject-share`` (default 0.10) of the CPU time by construction,
with no clock reads inside the loops (a clock read is a system call, where a
busy machine preempts the process, and a sampler then piles samples onto that
line). The clock is read only around a short calibration at start, which turns
``--seconds`` of baseline CPU into a fixed batch count; the program prints the
injected share (by iterations) and the measured CPU time at the end.

    python sample_workloads/regression_pair.py --seconds 2             # A: baseline
    python sample_workloads/regression_pair.py --seconds 2 --inject    # B: + slow_risk_check ~10%
"""
from __future__ import annotations

import argparse
import math
import sys
import time

PRICE_ITERS, HEDGE_ITERS = 6000, 4000  # fixed work per batch (60/40 between the two)
CALIBRATION_BATCHES = 20  # timed once at start to turn --seconds into a batch count


def price_book(batch: int, iters: int = PRICE_ITERS) -> float:
    """Mark the fills of one batch to market (fixed work)."""
    acc = 0.0
    for i in range(iters):
        acc += math.sin(batch + i * 1e-3) * 1.0001
    return acc


def hedge_positions(batch: int, iters: int = HEDGE_ITERS) -> float:
    """Compute hedge ratios for one batch (fixed work)."""
    acc = 0.0
    for i in range(iters):
        acc += math.cos(batch - i * 1e-3) * 1.0001
    return acc


def slow_risk_check(batch: int, iters: int) -> float:
    """The injected regression: ``iters`` iterations of the same loop body as the baseline's."""
    acc = 0.0
    for i in range(iters):
        acc += math.sin(batch - i * 1e-3) * 1.0001
    return acc


def batch_scale(batch: int) -> float:
    """Size factor of one batch, 0.5-1.5 (golden-ratio sequence: deterministic, well spread).

    Batches of one fixed size repeat with a fixed period, and a sampler's fixed
    interval then aliases with it: samples land on a few phases of the batch
    only, so a run's measured split swings by 10 points and more. Batch sizes
    that vary (price, hedge and the injected check scaled alike, so every
    share is the same) spread the phases.
    """
    return 0.5 + (batch * 0.6180339887498949) % 1.0


def process_fills(batch: int, scale: float = 1.0) -> float:
    """One batch of the job: price, then hedge."""
    return price_book(batch, round(PRICE_ITERS * scale)) + \
        hedge_positions(batch, round(HEDGE_ITERS * scale))


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
    share = a.inject_share if a.inject else 0.0
    base_iters = PRICE_ITERS + HEDGE_ITERS
    slow_iters = round(base_iters * share / (1.0 - share))
    # Calibrate once: time a few baseline batches, then run a FIXED number of batches with
    # no clock reads (no system calls) in the loop: under CPU contention a process is often
    # preempted right at a system call's return, and a sampler then piles samples onto that
    # line while the process waits for a CPU.
    t0, c0 = time.perf_counter(), time.thread_time()
    for b in range(CALIBRATION_BATCHES):
        process_fills(-1 - b)
    per_batch = max((time.thread_time() - c0) / CALIBRATION_BATCHES, 1e-6)
    batches = max(1, round(a.seconds / per_batch))
    for batch in range(batches):
        f = batch_scale(batch)
        process_fills(batch, f)
        if slow_iters:
            slow_risk_check(batch, round(slow_iters * f))
    cpu = time.thread_time() - c0
    got = slow_iters / (base_iters + slow_iters)
    print(f"regression_pair: {'B (inject)' if a.inject else 'A (baseline)'}: {batches} batches, "
          f"wall {time.perf_counter() - t0:.2f} s, cpu {cpu:.2f} s, "
          f"slow_risk_check {got:.1%} of the loop iterations", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
