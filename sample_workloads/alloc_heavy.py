"""Allocation-heavy job: order-book snapshots kept in a ring buffer (a memory-profiler demo).

Applies random updates to a ``--depth``-level book (``apply_updates``) and, per
update batch, takes a full snapshot as fresh dicts and lists
(``snapshot_book``, the allocation hot spot) into a ring of ``--keep``
snapshots, so memory grows to a plateau. Prints the time split and peak RSS.

    python sample_workloads/alloc_heavy.py --seconds 2 --depth 200 --keep 300
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import deque


def apply_updates(book: dict, rng: random.Random, n: int) -> None:
    """Apply ``n`` random level updates (price level -> size) to both sides."""
    for _ in range(n):
        side = book["bids"] if rng.random() < 0.5 else book["asks"]
        lvl = rng.randrange(len(side))
        side[lvl][1] = rng.randint(0, 500)


def snapshot_book(book: dict, seq: int) -> dict:
    """Return a deep snapshot: new dicts for every level (this allocates)."""
    return {"seq": seq,
            "bids": [{"px": px, "qty": q, "tag": f"b{seq}:{i}"} for i, (px, q) in enumerate(book["bids"])],
            "asks": [{"px": px, "qty": q, "tag": f"a{seq}:{i}"} for i, (px, q) in enumerate(book["asks"])]}


def main(argv: list[str] | None = None) -> int:
    """Update and snapshot for --seconds; print the split and peak RSS."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="run time (default 3)")
    ap.add_argument("--depth", type=int, default=200, help="levels per side (default 200)")
    ap.add_argument("--keep", type=int, default=300, help="snapshots kept in the ring (default 300)")
    a = ap.parse_args(argv)
    rng = random.Random(3)
    book = {"bids": [[100.0 - i * 0.01, 100] for i in range(a.depth)],
            "asks": [[100.01 + i * 0.01, 100] for i in range(a.depth)]}
    ring: deque = deque(maxlen=a.keep)
    t_up = t_snap = 0.0
    seq = 0
    t_end = time.perf_counter() + a.seconds
    while time.perf_counter() < t_end:
        t1 = time.perf_counter()
        apply_updates(book, rng, 200)
        t2 = time.perf_counter()
        ring.append(snapshot_book(book, seq))
        t_snap += time.perf_counter() - t2
        t_up += t2 - t1
        seq += 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tot = (t_up + t_snap) or 1.0
    print(f"alloc_heavy: {seq} snapshots, apply_updates {t_up / tot:.0%}, snapshot_book {t_snap / tot:.0%}, "
          f"peak rss {peak:.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
