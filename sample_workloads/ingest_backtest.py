"""Two phases known by construction: ingest market data, then backtest on it.

For ``--ingest`` seconds of wall time (default 1.0) ``ingest_ticks`` parses
batches of CSV tick lines into (time, price, size) tuples; then for
``--backtest`` seconds (default 1.0) ``run_backtest`` runs a moving-average
crossover over the ingested prices. Nothing else runs in between, so a time
ordered profile shows ``ingest_ticks`` first and ``run_backtest`` after it.
Pure Python, one thread, always on the CPU (a sampler sees it at every tick).
Prints when each phase ran, in seconds since the program started:

    python sample_workloads/ingest_backtest.py --ingest 1 --backtest 1
"""
from __future__ import annotations

import argparse
import sys
import time

BATCH = 2_000


def make_lines(n: int, seed: int = 7) -> list[str]:
    """Return ``n`` CSV tick lines ``ts,price,size`` (a seeded random walk, no imports)."""
    x, price, out = seed, 100_000, []
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        price = max(1, price + (x >> 16) % 7 - 3)
        out.append(f"{1_700_000_000_000 + i},{price},{1 + (x >> 8) % 50}")
    return out


def ingest_ticks(lines: list[str], book: list[tuple[int, int, int]]) -> None:
    """Parse one batch of tick lines into ``book`` (phase A)."""
    for ln in lines:
        ts, price, size = ln.split(",")
        book.append((int(ts), int(price), int(size)))


def run_backtest(prices: list[int], fast: int = 10, slow: int = 40) -> int:
    """One pass of a moving-average crossover over ``prices``; return the final position (phase B)."""
    fsum = ssum = 0
    pos = trades = 0
    for i, p in enumerate(prices):
        fsum += p
        ssum += p
        if i >= fast:
            fsum -= prices[i - fast]
        if i >= slow:
            ssum -= prices[i - slow]
            want = 1 if fsum * slow > ssum * fast else -1
            if want != pos:
                pos, trades = want, trades + 1
    return pos * trades


def main(argv: list[str] | None = None) -> int:
    """Run phase A for ``--ingest`` seconds, then phase B for ``--backtest`` seconds."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ingest", type=float, default=1.0, help="seconds of ingest_ticks (default 1)")
    ap.add_argument("--backtest", type=float, default=1.0, help="seconds of run_backtest (default 1)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    lines = make_lines(BATCH)
    book: list[tuple[int, int, int]] = []
    a0 = time.perf_counter()
    while time.perf_counter() - a0 < args.ingest:
        ingest_ticks(lines, book)
        if len(book) > 200_000:
            del book[:-50_000]
    b0 = time.perf_counter()
    prices = [p for _, p, _ in book[-20_000:]]
    result = passes = 0
    while time.perf_counter() - b0 < args.backtest:
        result += run_backtest(prices)
        passes += 1
    end = time.perf_counter()
    print(f"ingest_backtest: ingest_ticks {a0 - t0:.3f}-{b0 - t0:.3f} s, "
          f"run_backtest {b0 - t0:.3f}-{end - t0:.3f} s ({passes} passes, result {result})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
