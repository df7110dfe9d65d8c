"""A/B test program for ``flamekit diff``: a small market-data job, optionally with an injected slowdown.

Five stages share the CPU in fixed proportions of *work*: ``load_ticks`` 10 %,
``compute_vwap`` 35 %, ``rolling_signal`` 25 %, ``risk_check`` 20 %,
``write_orders`` 10 %. Every stage runs the same loop body, so shares of work are
shares of CPU time (no timing-based calibration, which is noisy on a loaded
machine). With ``--inject F`` the job also runs ``audit_trail``, sized so that it
takes the fraction ``F`` of the CPU (0.10 for an injected 10 % regression) and
the five stages share the rest in the same proportions. The job stops after
``--seconds`` of CPU time.

    python ab_job.py --seconds 1.5                # A
    python ab_job.py --seconds 1.5 --inject 0.10  # B
"""
from __future__ import annotations

import argparse
import math
import sys
import time

#: Loop iterations of each stage per round.
WORK = {"load_ticks": 1000, "compute_vwap": 3500, "rolling_signal": 2500,
        "risk_check": 2000, "write_orders": 1000}


def load_ticks(n: int) -> float:
    """Stand-in for parsing a batch of ticks."""
    acc = 0.0
    for i in range(n):
        acc += math.sqrt(i + 1.5)
    return acc


def compute_vwap(n: int) -> float:
    """Stand-in for a VWAP computation."""
    acc = 0.0
    for i in range(n):
        acc += math.sqrt(i + 1.5)
    return acc


def rolling_signal(n: int) -> float:
    """Stand-in for a rolling z-score signal."""
    acc = 0.0
    for i in range(n):
        acc += math.sqrt(i + 1.5)
    return acc


def risk_check(n: int) -> float:
    """Stand-in for a pre-trade risk check."""
    acc = 0.0
    for i in range(n):
        acc += math.sqrt(i + 1.5)
    return acc


def write_orders(n: int) -> float:
    """Stand-in for serialising orders."""
    acc = 0.0
    for i in range(n):
        acc += math.sqrt(i + 1.5)
    return acc


def audit_trail(n: int) -> float:
    """The injected regression: extra work on every round."""
    acc = 0.0
    for i in range(n):
        acc += math.sqrt(i + 1.5)
    return acc


STAGES = (load_ticks, compute_vwap, rolling_signal, risk_check, write_orders)


def main(argv: list[str] | None = None) -> int:
    """Run rounds of the job until ``--seconds`` of CPU time are spent."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.5, help="CPU seconds (default 1.5)")
    ap.add_argument("--inject", type=float, default=0.0, help="CPU share of audit_trail (0 = off)")
    a = ap.parse_args(argv)
    if not 0.0 <= a.inject < 1.0:
        ap.error("--inject must be in [0, 1)")
    extra = int(round(sum(WORK.values()) * a.inject / (1.0 - a.inject)))
    c0 = time.process_time()
    while time.process_time() - c0 < a.seconds:
        for f in STAGES:
            f(WORK[f.__name__])
        if extra:
            audit_trail(extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
