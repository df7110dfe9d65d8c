"""Market-data transform: raw tick batches -> normalized ticks -> per-symbol 1-second bars.

Each batch of ``--batch`` raw ticks (dicts, as a feed handler would deliver)
goes through ``parse_ticks`` (validate, convert prices from text),
``enrich_ticks`` (mid price, spread in basis points) and ``aggregate_bars``
(OHLCV + VWAP per symbol). Prints p50/p95/p99 latency per batch and each
stage's share of the time.

    python sample_workloads/md_transform.py --seconds 2 --batch 2000
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

SYMBOLS = ["ESZ5", "NQZ5", "CLF6", "GCG6", "ZNZ5", "6EZ5", "BTC-PERP", "ETH-PERP"]


def make_batch(rng: random.Random, n: int, t0: float) -> list[dict]:
    """Return ``n`` raw ticks as a feed would deliver them (prices as text)."""
    out = []
    for k in range(n):
        px = 100 + rng.random() * 5
        out.append({"sym": SYMBOLS[k % len(SYMBOLS)], "ts": t0 + k * 1e-4, "bid": f"{px:.4f}",
                    "ask": f"{px + 0.01 + rng.random() * 0.02:.4f}", "size": str(rng.randint(1, 50))})
    return out


def parse_ticks(raw: list[dict]) -> list[tuple]:
    """Validate and convert raw ticks to ``(sym, ts, bid, ask, size)`` tuples."""
    out = []
    for r in raw:
        bid, ask, size = float(r["bid"]), float(r["ask"]), int(r["size"])
        if ask >= bid > 0 and size > 0:
            out.append((r["sym"], r["ts"], bid, ask, size))
    return out


def enrich_ticks(ticks: list[tuple]) -> list[tuple]:
    """Add the mid price and the spread in basis points."""
    return [(s, ts, (b + a) / 2, (a - b) / ((b + a) / 2) * 1e4, q) for s, ts, b, a, q in ticks]


def aggregate_bars(ticks: list[tuple]) -> dict:
    """Return OHLCV + VWAP per (symbol, second)."""
    bars: dict = {}
    for s, ts, mid, _bps, q in ticks:
        key = (s, int(ts))
        b = bars.get(key)
        if b is None:
            bars[key] = [mid, mid, mid, mid, q, mid * q]
        else:
            b[1] = max(b[1], mid)
            b[2] = min(b[2], mid)
            b[3] = mid
            b[4] += q
            b[5] += mid * q
    return {k: (o, h, lo, c, v, pv / v) for k, (o, h, lo, c, v, pv) in bars.items()}


def main(argv: list[str] | None = None) -> int:
    """Transform batches for --seconds; print latency percentiles and stage shares."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="run time (default 3)")
    ap.add_argument("--batch", type=int, default=2000, help="ticks per batch (default 2000)")
    a = ap.parse_args(argv)
    rng = random.Random(11)
    stage = {"parse_ticks": 0.0, "enrich_ticks": 0.0, "aggregate_bars": 0.0}
    lat = []
    t_end = time.perf_counter() + a.seconds
    n = 0
    while time.perf_counter() < t_end:
        raw = make_batch(rng, a.batch, n * a.batch * 1e-4)
        t1 = time.perf_counter()
        ticks = parse_ticks(raw)
        t2 = time.perf_counter()
        rich = enrich_ticks(ticks)
        t3 = time.perf_counter()
        aggregate_bars(rich)
        t4 = time.perf_counter()
        stage["parse_ticks"] += t2 - t1
        stage["enrich_ticks"] += t3 - t2
        stage["aggregate_bars"] += t4 - t3
        lat.append((t4 - t1) * 1e3)
        n += 1
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
    tot = sum(stage.values()) or 1.0
    shares = ", ".join(f"{k} {v / tot:.0%}" for k, v in stage.items())
    print(f"md_transform: {n} batches of {a.batch}; latency ms p50 {q[49]:.2f} p95 {q[94]:.2f} "
          f"p99 {q[98]:.2f}; transform time: {shares}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
