"""Shared synthetic market data for the sample workloads (seeded, so every run sees the same ticks)."""
from __future__ import annotations

import numpy as np


def tick_prices(bars: int, seed: int = 7, start: int = 100_000) -> np.ndarray:
    """Return ``bars`` integer prices in ticks: a seeded random walk (int64, never below 1)."""
    rng = np.random.default_rng(seed)
    steps = rng.integers(-3, 4, size=bars, dtype=np.int64)
    return np.maximum(start + np.cumsum(steps), 1)
