"""Allocation-heavy workload for memory-profiler fixtures: a toy backtest.

``load_ticks`` allocates big lists of floats (market data), ``rolling_mean``
builds a second large list, ``backtest`` keeps both alive, then drops them.
Sizes are chosen so scalene sees tens of MB at known lines.

    python tests/data/programs/alloc_heavy.py --mb 40
"""
from __future__ import annotations

import argparse
import math


def load_ticks(n: int) -> list[float]:
    """Allocate ``n`` synthetic prices (about 32 bytes each as boxed floats)."""
    return [100.0 + math.sin(i * 0.001) for i in range(n)]


def rolling_mean(xs: list[float], w: int) -> list[float]:
    """Return a trailing mean of window ``w`` (a second full-size list)."""
    out = []
    acc = 0.0
    for i, x in enumerate(xs):
        acc += x
        if i >= w:
            acc -= xs[i - w]
        out.append(acc / min(i + 1, w))
    return out


def backtest(mb: float, rounds: int) -> float:
    """Run ``rounds`` of load + signal; return a checksum."""
    n = int(mb * 1024 * 1024 / 32)
    pnl = 0.0
    for _ in range(rounds):
        px = load_ticks(n)
        sig = rolling_mean(px, 50)
        pnl += sum(p - s for p, s in zip(px[-1000:], sig[-1000:]))
        del px, sig
    return pnl


def main() -> None:
    """Parse arguments and run the backtest."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=40.0)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print(f"alloc_heavy: pnl {backtest(a.mb, a.rounds):.3f}")


if __name__ == "__main__":
    main()
