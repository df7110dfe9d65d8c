"""Backtest engine, vectorized numpy/pandas version: the same trades as ``backtest_loop.py``.

Rolling sums come from an int64 cumulative sum, the signal is the sign of
``fast_sum * slow_n - slow_sum * fast_n`` with ties holding the previous
position (a pandas forward fill), trades are where the position changes. All
integer arithmetic, so the checksum equals the loop version's and the speedup
is the ratio of the two printed times.

    python sample_workloads/backtest_vectorized.py --bars 1000000
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _market import backtest_args, repeat_passes, tick_prices  # noqa: E402
from backtest_loop import FAST, SLOW, checksum  # noqa: E402


def rolling_sum(p: np.ndarray, n: int) -> np.ndarray:
    """Return the sum of the last ``n`` prices at every bar (partial at the start), int64."""
    c = np.cumsum(p)
    out = c.copy()
    out[n:] -= c[:-n]
    return out


def positions(p: np.ndarray) -> np.ndarray:
    """Return the position (-1, 0, 1) held after each bar."""
    diff = rolling_sum(p, FAST) * SLOW - rolling_sum(p, SLOW) * FAST
    sig = pd.Series(np.sign(diff), dtype="float64")
    sig.iloc[: SLOW - 1] = 0.0
    held = sig.replace(0.0, np.nan)
    held.iloc[: SLOW - 1] = 0.0
    return held.ffill().fillna(0.0).to_numpy().astype(np.int64)


def run_backtest(p: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Return (trades DataFrame with bar/side/price, pnl in ticks)."""
    pos = positions(p)
    prev = np.concatenate(([0], pos[:-1]))
    idx = np.flatnonzero(pos != prev)
    trades = pd.DataFrame({"bar": idx, "side": pos[idx], "price": p[idx]})
    pnl = int(np.sum(prev[1:] * np.diff(p))) if len(p) > 1 else 0
    return trades, pnl


def main(argv: list[str] | None = None) -> int:
    """Generate prices, run the vectorized backtest, print timing and the checksum."""
    a = backtest_args(__doc__.splitlines()[0], argv)
    prices = tick_prices(a.bars, a.seed)
    (trades, pnl), passes, dt = repeat_passes(run_backtest, prices, a)
    rows = trades.itertuples(index=False, name=None)
    print(f"backtest_vectorized: {a.bars} bars, {len(trades)} trades, pnl {pnl} ticks, "
          f"{dt:.3f} s per pass ({passes} passes), checksum {checksum(rows, pnl)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
