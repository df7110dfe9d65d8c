"""The report's time order data (pipeline stage: render): sample times, compactly.

A report on a profile that keeps sample times (``Profile.sample_time``: perf
script, Chrome, Firefox/Gecko, speedscope evented profiles, flamekit's own
format, and ``flamekit record --backend py-spy``) embeds ``report["timeline"]``,
read by ``templates/js/timeline.js`` for the chronological flame chart and the
time-range filter. Rows are in time order; each row is one sample, or (past
:data:`MAX_ROWS` samples) the samples of one time bin, node and thread::

    {
      "t0":       num,          # seconds: time of row 0, on the profile's clock
      "tick":     num,          # seconds per unit of "dt" (1e-6 for single samples; the bin width)
      "dt":       [int],        # per row: its time minus the previous row's, in ticks (row 0: 0)
      "node":     [int],        # per row: payload node (the pruned flame graph's call-tree node)
      "thread":   [int],        # per row: payload thread ([] when the profile has one thread)
      "lnode":    [int],        # OPTIONAL: per row, its node in report["source"]["stacks"]
                                # (flamekit/render/source_range.py: the range's per-line figures)
      "values":   [[num] | num],  # per sample type: per-row values, or one number every row has
      "count":    [int] | 1,    # per row: model samples it holds (1 when every row is one sample)
      "samples":  int,          # model samples in the rows; "total": model samples in the profile
      "bin":      num,          # seconds per bin (0: rows are single samples)
      "interval": num,          # seconds one sample stands for in the flame chart (median gap)
      "clock":    str,          # "recording": seconds since the recording began, the clock of
                                # report["resources"]["time"]; "" when unknown
      "note":     str,          # how the times were obtained, when not read from the tool ("" else)
      "capped":   {"until": num}   # OPTIONAL: rows stop at this time (seconds); later samples left out
    }

The page stays small on a million-sample profile: past :data:`MAX_ROWS`
samples, rows are summed per (bin, node, thread) with the finest bin of
:data:`BIN_COUNTS` that keeps them under :data:`MAX_ROWS` (the bin width is
then the filter's resolution, and the page says so); when even the coarsest
does not, the rows stop at :data:`MAX_ROWS` and ``capped`` says where.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..keys import factorize
from ..model import Profile
from ..numfmt import as_numbers
from .payload import clip

#: Most rows embedded (about 1.5 MB of JSON with one value column).
MAX_ROWS = 100_000
#: Bin counts over the profile's time span tried in turn, finest first, past MAX_ROWS samples.
BIN_COUNTS = (20_000, 10_000, 5_000, 2_000, 1_000)
#: Resolution of single-sample times, in seconds.
TICK = 1e-6


def _interval(t: np.ndarray, th: np.ndarray) -> float:
    """Return the median positive gap between consecutive samples of one thread (seconds)."""
    order = np.lexsort((t, th))
    ts, hs = t[order], th[order]
    gaps = np.diff(ts)[np.diff(hs) == 0]
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if len(gaps) else 0.0


def _rows(t: np.ndarray, key: np.ndarray, width: float) -> int:
    """Return how many (bin, key) rows bins of ``width`` seconds make."""
    b = np.floor(t / width).astype(np.int64)
    return int(len(factorize(b * (int(key.max()) + 1) + key)[1]))


def timeline_data(q: Profile, lnode: np.ndarray | None = None) -> dict[str, Any] | None:
    """Return ``report["timeline"]`` for the pruned flame-graph profile ``q``, or None when untimed.

    ``q`` is the profile whose stack rows are the payload's nodes (so each
    sample's node is its ``sample_stack``); see the module docstring.
    ``lnode``: each sample's node in the source view's stacks
    (:mod:`.source_range`); rows then keep them apart and carry ``"lnode"``.
    """
    if q.sample_time is None or q.n_samples == 0:
        return None
    n = q.n_samples
    order = np.argsort(q.sample_time, kind="stable")
    t = q.sample_time[order]
    t0 = float(t[0])
    rel = t - t0
    node = q.sample_stack[order]
    th = q.sample_thread[order]
    ln = None if lnode is None else np.asarray(lnode, dtype=np.int64)[order]
    vals = q.values[order]
    nt = max(len(q.threads), 1)
    interval = _interval(rel, th)
    out: dict[str, Any] = {"t0": t0, "total": n, "samples": n, "bin": 0.0,
                           "clock": "recording" if q.meta.get("sample_clock") == "recording" else "",
                           "note": clip(q.meta.get("sample_times", ""), 300)}
    span = float(rel[-1])
    count = None
    if n <= MAX_ROWS or span <= 0:
        tick = TICK
        qt = np.round(rel / tick).astype(np.int64)
        keep = min(n, MAX_ROWS)
    else:
        key = node * nt + th
        if ln is not None:  # (node, thread, line node) as one dense code
            pk, puniq = factorize(key * (int(ln.max(initial=0)) + 1) + ln)
            key = np.asarray(pk, dtype=np.int64)
            puniq = np.asarray(puniq, dtype=np.int64)
        width = span / BIN_COUNTS[-1]
        for bins in BIN_COUNTS:
            if _rows(rel, key, span / bins) <= MAX_ROWS:
                width = span / bins
                break
        b = np.minimum(np.floor(rel / width).astype(np.int64), int(span / width))
        codes, uniq = factorize(b * (int(key.max()) + 1) + key, sort=True)
        uniq = np.asarray(uniq, dtype=np.int64)
        count = np.bincount(codes, minlength=len(uniq))
        vals = np.stack([np.bincount(codes, weights=vals[:, k], minlength=len(uniq))
                         for k in range(vals.shape[1])], axis=1) if vals.shape[1] else \
            np.zeros((len(uniq), 0))
        qt = uniq // (int(key.max()) + 1)
        key = uniq % (int(key.max()) + 1)
        if ln is not None:
            key, ln = np.divmod(puniq[key], int(ln.max(initial=0)) + 1)
        node, th = key // nt, key % nt
        tick = width
        out["bin"] = width
        interval = max(interval, width)
        keep = min(len(uniq), MAX_ROWS)
    if keep < len(qt):
        out["capped"] = {"until": t0 + float(qt[keep]) * tick}
        qt, node, th, vals = qt[:keep], node[:keep], th[:keep], vals[:keep]
        ln = None if ln is None else ln[:keep]
        if count is not None:
            count = count[:keep]
        out["samples"] = int(count.sum()) if count is not None else keep
    out["tick"] = tick
    out["interval"] = interval
    out["dt"] = np.diff(qt, prepend=qt[:1]).tolist()
    out["node"] = node.tolist()
    out["thread"] = th.tolist() if nt > 1 else []
    if ln is not None:
        out["lnode"] = ln.tolist()
    cols: list[Any] = []
    for k in range(vals.shape[1]):
        v = vals[:, k]
        cols.append(as_numbers(v[:1])[0] if len(v) and (v == v[0]).all() else as_numbers(v))
    out["values"] = cols
    out["count"] = 1 if count is None else count.tolist()
    return out


def decode_timeline(tl: dict) -> dict[str, np.ndarray]:
    """Decode ``report["timeline"]`` the way ``timeline.js`` does (tests use it).

    Returns per-row ``time`` (seconds), ``node``, ``thread``, ``count`` and
    ``values`` (rows x types), and ``lnode`` when the rows carry it.
    """
    dt = np.asarray(tl["dt"], dtype=np.int64)
    n = len(dt)
    time = tl["t0"] + np.cumsum(dt) * tl["tick"]
    thread = np.asarray(tl["thread"], dtype=np.int64) if tl["thread"] else np.zeros(n, dtype=np.int64)
    count = np.ones(n, dtype=np.int64) if tl["count"] == 1 else np.asarray(tl["count"], dtype=np.int64)
    cols = [np.full(n, float(v)) if not isinstance(v, list) else np.asarray(v, dtype=np.float64)
            for v in tl["values"]]
    values = np.stack(cols, axis=1) if cols else np.zeros((n, 0))
    out = {"time": time, "node": np.asarray(tl["node"], dtype=np.int64), "thread": thread,
           "count": count, "values": values}
    if "lnode" in tl:
        out["lnode"] = np.asarray(tl["lnode"], dtype=np.int64)
    return out
