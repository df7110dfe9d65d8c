"""Backtest engine, pure-Python loop version: a moving-average crossover on integer tick prices.

Same strategy and the same trades as ``backtest_vectorized.py`` (compare the
printed checksum): go long when the fast average crosses above the slow one,
short when below, hold on a tie. Averages are compared as exact integer sums
(``fast_sum * slow_n`` vs ``slow_sum * fast_n``), so both versions agree bit
for bit. The hot function is ``on_bar`` (called once per bar).

    python sample_workloads/backtest_loop.py --bars 1000000
    python sample_workloads/backtest_loop.py --seconds 2      # repeat passes for ~2 s
"""
from __future__ import annotations

import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _market import backtest_args, repeat_passes, tick_prices  # noqa: E402

FAST, SLOW = 20, 100


class State:
    """Rolling sums, the position and the running PnL (ticks)."""

    __slots__ = ("fast_sum", "slow_sum", "pos", "pnl", "last")

    def __init__(self) -> None:
        self.fast_sum = self.slow_sum = self.pos = self.pnl = 0
        self.last = None


def on_bar(st: State, prices: list, i: int, trades: list) -> None:
    """Update the rolling sums with bar ``i``, mark to market, trade on a crossover."""
    p = prices[i]
    st.fast_sum += p
    st.slow_sum += p
    if i >= FAST:
        st.fast_sum -= prices[i - FAST]
    if i >= SLOW:
        st.slow_sum -= prices[i - SLOW]
    if st.last is not None:
        st.pnl += st.pos * (p - st.last)
    st.last = p
    if i < SLOW - 1:
        return
    diff = st.fast_sum * SLOW - st.slow_sum * FAST
    want = 1 if diff > 0 else (-1 if diff < 0 else st.pos)
    if want != st.pos:
        trades.append((i, want, p))
        st.pos = want


def run_backtest(prices: list) -> tuple[list, int]:
    """Run the strategy over all bars; return (trades, pnl in ticks)."""
    st, trades = State(), []
    for i in range(len(prices)):
        on_bar(st, prices, i, trades)
    return trades, st.pnl


def checksum(trades, pnl: int) -> str:
    """Return a short digest of the trades and the PnL (equal across both versions)."""
    h = hashlib.sha256()
    for i, side, price in trades:
        h.update(f"{int(i)}:{int(side)}:{int(price)};".encode())
    h.update(f"pnl={int(pnl)}".encode())
    return h.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    """Generate prices, run the backtest (repeatedly for --seconds), print timing and checksum."""
    a = backtest_args(__doc__.splitlines()[0], argv)
    prices = tick_prices(a.bars, a.seed).tolist()
    (trades, pnl), passes, dt = repeat_passes(run_backtest, prices, a)
    print(f"backtest_loop: {a.bars} bars, {len(trades)} trades, pnl {pnl} ticks, "
          f"{dt:.3f} s per pass ({passes} passes), checksum {checksum(trades, pnl)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
