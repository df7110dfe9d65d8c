"""What an HTML report shows (pipeline stage: analysis): one :class:`ReportData` per profile.

:func:`report_data` computes every section of ``flamekit report`` as plain
data: the profile the flame graph draws, the hotspots per sample type, the
allocation sites, scalene's memory timeline, the recorder's resource
timeline, the recording's duration, the reproducibility metadata and how many
samples the shares rest on (with whether they can rank the top functions).
``flamekit.render.html`` turns it into the page; nothing here builds text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..model import Profile, duration, group
from .hotspots import Hotspot, allocation_sites, hotspots, memory_types
from .uncertainty import effective_samples, resolution

#: Reproducibility keys a report shows, in display order (others are never embedded).
META_KEYS = ("tool", "tool_version", "command", "pid", "host", "cpu_model", "python_version",
             "rate_hz", "duration_s", "sample_count", "lost_samples", "errors", "start_time",
             "git_commit", "exit_code", "format", "merged_from")
#: Hotspots per sample type and allocation sites a report lists.
HOTSPOTS = 15
ALLOCATION_SITES = 25


@dataclass
class Series:
    """A numeric time series: ``time`` (seconds) and ``value`` in ``unit``."""

    time: list[float]
    value: list[float]
    unit: str


@dataclass
class ReportData:
    """Everything a report shows, computed from one profile (see :func:`report_data`)."""

    #: the whole profile (sample types, totals, threads, meta)
    profile: Profile
    #: what the flame graph draws: per function (lines merged) or per line; not pruned
    flame: Profile
    #: sample type index shown first
    default_type: int
    #: per sample type, the top functions by self value (exact, on the whole profile)
    hotspots: list[list[Hotspot]]
    #: sample type indices holding memory data
    memory_types: list[int]
    #: top allocation sites by line (empty without memory types); ``attrs`` name the types
    allocation_sites: pd.DataFrame
    #: scalene's memory footprint over time (megabytes), or None
    memory_timeline: Series | None
    #: the recorder's resource samples (``time``, ``cpu_percent``, ``rss_bytes``), or None
    resources: dict[str, list[float]] | None
    #: the recording's duration in seconds (any importer's or the recorder's), or None
    duration_s: float | None
    #: reproducibility metadata present in the profile, ``(key, value)`` in :data:`META_KEYS` order
    meta: list[tuple[str, Any]] = field(default_factory=list)
    #: import warnings (all of them; the renderer decides how many to show)
    warnings: list[str] = field(default_factory=list)
    #: why the call tree is approximate (``meta["approximate"]``, e.g. a truncated import), or None
    approximate: str | None = None
    #: memray's memory snapshots (``time``, ``heap_bytes``, ``rss_bytes``), or None
    memory: dict[str, list[float]] | None = None
    #: the sample type the allocation flame graph draws: the shown type when it holds memory
    #: (memray's peak_space, leaked_space...), else the allocation sites' type; None without sites
    alloc_graph_type: int | None = None
    #: per sample type, the effective number of samples its shares rest on (:mod:`.uncertainty`)
    effective_samples: list[float] = field(default_factory=list)
    #: per sample type, False when the profile is too small to rank its top two functions
    #: (their self shares within each other's 95 % interval, or under 50 samples)
    rankable: list[bool] = field(default_factory=list)


def _table(p: Profile, name: str, columns: tuple[str, ...]) -> dict[str, list[float]] | None:
    """Return equal-length float columns of ``p.tables[name]``, or None when missing or not numeric."""
    t = p.tables.get(name)
    if not isinstance(t, dict) or not all(isinstance(t.get(c), list) for c in columns):
        return None
    n = min(len(t[c]) for c in columns)
    out = {}
    for c in columns:
        col = t[c][:n]
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in col):
            return None
        out[c] = [float(x) for x in col]
    return out if n else None


def report_data(profile: Profile, *, sample_type: str | int | None = None,
                by: str = "function") -> ReportData:
    """Return the sections of a report on ``profile``.

    ``sample_type`` is shown first (default: the first). ``by="function"``
    (default) merges frames that differ only by line in the flame graph;
    ``by="line"`` keeps one frame per line. Hotspots are exact and keep the
    heaviest line.
    """
    p = profile
    default_type = p.type_index(sample_type) if p.sample_types else 0
    flame = p
    if by == "function" and any(f.line for f in p.frames):
        flame = group(p, "function")  # one frame per function, not per line (py-spy)
    hs = [hotspots(p, k, n=HOTSPOTS) for k in range(len(p.sample_types))]
    sites = allocation_sites(p, n=ALLOCATION_SITES)
    tl = _table(p, "scalene_memory_timeline", ("t_sec", "footprint_mb"))
    dur = duration(p)
    approx = p.meta.get("approximate")
    mem = memory_types(p)
    graph_type = None
    if len(sites):
        graph_type = default_type if default_type in mem else p.type_index(sites.attrs["alloc_type"])
    n_eff = [effective_samples(p, k) for k in range(len(p.sample_types))]
    rankable = [resolution([h.self_pct / 100.0 for h in hs[k][:2]], n_eff[k]).enough
                for k in range(len(p.sample_types))]
    meta = []
    for k in META_KEYS:
        v = dur if k == "duration_s" else p.meta.get(k)
        if v is not None:
            meta.append((k, v))
    return ReportData(
        profile=p, flame=flame, default_type=default_type, hotspots=hs,
        memory_types=mem, allocation_sites=sites, alloc_graph_type=graph_type,
        memory=_table(p, "memory", ("time", "heap_bytes", "rss_bytes")),
        memory_timeline=Series(tl["t_sec"], tl["footprint_mb"], "megabytes") if tl else None,
        resources=_table(p, "resources", ("time", "cpu_percent", "rss_bytes")),
        duration_s=dur, meta=meta,
        warnings=[str(w) for w in p.meta.get("warnings", [])],
        approximate=approx if isinstance(approx, str) else None,
        effective_samples=n_eff, rankable=rankable)

