"""Profile summary (pipeline stage: analysis): the facts ``flamekit info`` shows.

:func:`summarize` returns plain JSON-able data (``flamekit info --json`` prints
it as is); :mod:`flamekit.render.terminal` turns it into text.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..model import Profile
from ..numfmt import as_number

#: Metadata keys shown first, in this order, each with the spellings importers
#: and recorders use for it; every other key follows in sorted order.
META_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tool", ("tool", "profiler", "exporter")),
    ("tool version", ("tool_version", "version", "profiler_version")),
    ("command", ("command", "cmd", "argv", "cmdline")),
    ("pid", ("pid",)),
    ("host", ("host", "hostname")),
    ("start time", ("start_time", "started", "start", "start_time_utc")),
    ("duration", ("duration", "duration_s", "duration_seconds", "elapsed")),
    ("rate", ("rate", "rate_hz", "sampling_rate", "frequency", "interval")),
    ("python", ("python", "python_version")),
    ("peak memory", ("peak_memory_bytes",)),
    ("lost samples", ("lost", "lost_samples", "samples_lost")),
    ("errored samples", ("errors", "errored", "errored_samples", "sample_errors")),
)


def summarize(p: Profile, *, fmt: str | None = None, source: str | os.PathLike | None = None
              ) -> dict[str, Any]:
    """Return a JSON-able summary: format, sample types with totals, counts, threads, meta.

    Keys: ``file``, ``bytes``, ``format``, ``sample_types`` (name, unit, total),
    ``samples``, ``stacks``, ``frames``, ``functions``, ``max_depth``, ``threads``
    (index, id, name, pid, samples, totals), ``time`` (start, end, span in
    seconds; None when samples are untimed), ``meta`` (all metadata except
    warnings), ``warnings`` (count and the first ten), ``tables`` (name -> rows).
    """
    totals = p.totals()
    out: dict[str, Any] = {}
    if source is not None:
        src = os.fspath(source)
        out["file"] = src
        try:
            out["bytes"] = os.path.getsize(src)
        except OSError:
            out["bytes"] = None
    out["format"] = fmt
    out["sample_types"] = [{"name": st.name, "unit": st.unit, "total": as_number(totals[i])}
                           for i, st in enumerate(p.sample_types)]
    out["samples"] = p.n_samples
    out["stacks"] = p.n_stacks
    out["frames"] = len(p.frames)
    out["functions"] = len({(f.name, f.file) for f in p.frames})
    depths = p.stack_depths() if p.n_stacks else np.zeros(0)
    out["max_depth"] = int(depths.max()) if len(depths) else 0
    threads = []
    counts = np.bincount(p.sample_thread, minlength=len(p.threads)) if p.n_samples else \
        np.zeros(len(p.threads), dtype=np.int64)
    # per-thread totals in one pass per sample type (a mask per thread was threads x samples)
    per_thread = np.zeros((len(p.threads), len(p.sample_types)))
    if p.n_samples:
        for j in range(len(p.sample_types)):
            per_thread[:, j] = np.bincount(p.sample_thread, weights=p.values[:, j],
                                           minlength=len(p.threads))
    for i, t in enumerate(p.threads):
        threads.append({"index": i, "id": t.id, "name": t.name, "pid": t.pid,
                        "samples": int(counts[i]), "totals": [as_number(v) for v in per_thread[i]]})
    out["threads"] = threads
    if p.sample_time is not None and p.n_samples:
        lo, hi = float(p.sample_time.min()), float(p.sample_time.max())
        out["time"] = {"start": lo, "end": hi, "span": hi - lo}
    else:
        out["time"] = None
    meta = {k: v for k, v in p.meta.items() if k != "warnings"}
    out["meta"] = meta
    warns = p.meta.get("warnings") or []
    if not isinstance(warns, list):
        warns = [warns]
    out["warnings"] = {"count": len(warns), "first": [str(w) for w in warns[:10]]}
    out["tables"] = {name: _table_rows(t) for name, t in sorted(p.tables.items())}
    return out


def _table_rows(t: Any) -> int:
    """Return the row count of a column table (``{"col": [...]}``), or its length."""
    if isinstance(t, dict):
        for v in t.values():
            if isinstance(v, list):
                return len(v)
        return 0
    if isinstance(t, list):
        return len(t)
    return 0


def ordered_meta(meta: dict[str, Any]) -> list[tuple[str, Any]]:
    """Return ``(key, value)`` pairs of metadata: well-known keys first, then the rest sorted."""
    out = []
    used = set()
    for _label, keys in META_KEYS:
        for k in keys:
            if k in meta and k not in used:
                out.append((k, meta[k]))
                used.add(k)
    for k in sorted(meta):
        if k not in used:
            out.append((k, meta[k]))
    return out
