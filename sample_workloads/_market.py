"""Shared synthetic market data for the sample workloads (seeded, so every run sees the same ticks)."""
from __future__ import annotations

import numpy as np


def tick_prices(bars: int, seed: int = 7, start: int = 100_000) -> np.ndarray:
    """Return ``bars`` integer prices in ticks: a seeded random walk (int64, never below 1)."""
    rng = np.random.default_rng(seed)
    steps = rng.integers(-3, 4, size=bars, dtype=np.int64)
    return np.maximum(start + np.cumsum(steps), 1)


def backtest_args(description: str, argv: list[str] | None = None):
    """Parse the command line shared by both backtest versions (same flags, same defaults)."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--bars", type=int, default=1_000_000, help="number of price bars (default 1e6)")
    ap.add_argument("--seconds", type=float, default=3.0,
                    help="repeat passes until this much wall time (default 3; 0: one pass)")
    ap.add_argument("--passes", type=int, default=0, help="run exactly this many passes (overrides --seconds)")
    ap.add_argument("--seed", type=int, default=7)
    return ap.parse_args(argv)


def repeat_passes(run, prices, args):
    """Call ``run(prices)`` until ``--passes`` or ``--seconds``; return (result, passes, s per pass)."""
    import time

    t0 = time.perf_counter()
    passes = 0
    while True:
        result = run(prices)
        passes += 1
        if (passes >= args.passes) if args.passes else (time.perf_counter() - t0 >= args.seconds):
            break
    return result, passes, (time.perf_counter() - t0) / passes
