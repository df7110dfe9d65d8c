"""What an HTML report shows (pipeline stage: analysis): one :class:`ReportData` per profile.

:func:`report_data` computes every section of ``flamekit report`` as plain
data: the profile the flame graph draws, the hotspots per sample type, the
allocation sites, scalene's memory timeline, the recorder's resource
timeline, the recording's duration, the reproducibility metadata and how many
samples the shares rest on (with whether they can rank the top functions).
:func:`report_inputs` does the same for several inputs shown side by side as
labelled roots: one :class:`ReportData` per input (``parts``) under a whole
whose flame graph has one root frame per input, named by its label.
``flamekit.render.html`` turns it into the page; nothing here builds text.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FlamekitError
from ..model import (Frame, Profile, Thread, call_tree, duration, frame_keys, group, hide_libraries,
                     library_frames, merge, under)
from .hotspots import Hotspot, allocation_sites, hotspots, memory_types, row_functions
from .source import LineData, line_data
from .uncertainty import effective_samples, resolution

if TYPE_CHECKING:
    import pandas as pd

#: Reproducibility keys a report shows, in display order (others are never embedded).
META_KEYS = ("command", "cwd", "git_commit", "git_dirty", "python_version", "python_implementation",
             "flamekit_version", "tool", "tool_version", "rate_hz", "host", "cpu_model", "cpu_count",
             "load_avg_start", "load_avg_end", "os", "pid", "duration_s", "sample_count",
             "lost_samples", "errors", "start_time", "exit_code", "format", "merged_from")
#: Keys shown even when absent ("not recorded": a profile from another tool), never invented.
REPRO_KEYS = ("command", "cwd", "git_commit", "git_dirty", "python_version", "python_implementation",
              "flamekit_version", "tool", "tool_version", "rate_hz", "host", "cpu_model", "cpu_count",
              "load_avg_start", "load_avg_end")
#: ``Frame.module`` of the root frame that stands for one labelled input.
INPUT_MODULE = "flamekit:input"
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
    #: top allocation sites by line, ``attrs`` naming the types; None without memory types
    #: (a profile of CPU time alone never imports pandas: a quarter of a small report's time)
    allocation_sites: pd.DataFrame | None
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
    #: True when the 1-minute load average exceeded the CPU count at the start or end of
    #: the recording (the timings were taken on a busy host); None when not recorded
    busy: bool | None = None
    #: this input's label, when the report shows several inputs as labelled roots
    label: str | None = None
    #: one ReportData per input shown as a labelled root (:func:`report_inputs`), else empty
    parts: list["ReportData"] = field(default_factory=list)
    #: what hiding library frames folds in the whole profile (``meta["hidden_libraries"]`` of
    #: :func:`flamekit.model.hide_libraries`), or None when no frame is library code
    libraries: dict[str, Any] | None = None
    #: the hotspots (as :attr:`hotspots`) with library frames hidden, or None as above
    hotspots_hidden: list[list[Hotspot]] | None = None
    #: whether the page starts with library frames hidden (a Python profile with some to fold)
    hide_libraries: bool = False
    #: per-line self/total of the heaviest functions and their source text (the source view)
    lines: LineData = field(default_factory=LineData)


def first_lines(p: Profile, flame: Profile) -> Profile:
    """Give each frame of ``flame`` (grouped by function) the lowest line ``p`` sampled in it.

    Grouping by function sets lines to 0; a tooltip's ``file:line`` then points
    at the top of the function's sampled code (its ``def`` or just below it).
    """
    lo: dict[tuple[str, str, str, str], int] = {}
    for f in p.frames:
        if f.line > 0:
            k = (f.name, f.file, f.module, f.kind)
            lo[k] = min(lo.get(k, f.line), f.line)
    frames = [Frame(f.name, f.file, lo.get((f.name, f.file, f.module, f.kind), f.line), f.module, f.kind)
              for f in flame.frames]
    return flame.copy(frames=frames)


def lowest_lines(p: Profile, functions: tuple[list[Frame], np.ndarray]) -> list[Frame]:
    """Return the functions of ``functions`` (``frame_keys(p.frames, "function")``), each at the
    lowest line ``p`` sampled in it: ``group(p, keys=(lowest_lines(p, keys), keys[1]))`` is
    :func:`first_lines` of ``group(p)``. A function at its lowest line is the frame of ``p``
    sampled there (frames are immutable: shared, not made again)."""
    keys, fk = functions
    line = np.fromiter((f.line for f in p.frames), dtype=np.int64, count=len(p.frames))
    sampled = np.flatnonzero(line > 0)
    order = sampled[np.lexsort((line[sampled], fk[sampled]))]  # by function, then line
    lowest = order[np.flatnonzero(np.diff(fk[order], prepend=-1))]  # each function's first
    out = list(keys)  # a function without a sampled line keeps line 0
    for j, i in zip(fk[lowest].tolist(), lowest.tolist()):
        out[j] = p.frames[i]
    return out


def input_frame(label: str) -> Frame:
    """Return the root frame that stands for the input labelled ``label``."""
    return Frame(label, "", 0, INPUT_MODULE, "unknown")


def host_busy(meta: dict[str, Any]) -> bool | None:
    """Tell whether the host's 1-minute load exceeded its CPU count at the start or end (None: unknown)."""
    cpus = meta.get("cpu_count")
    loads = [meta.get(k) for k in ("load_avg_start", "load_avg_end")]
    loads = [x[0] for x in loads if isinstance(x, list) and x and isinstance(x[0], (int, float))]
    if not isinstance(cpus, int) or cpus <= 0 or not loads:
        return None
    return max(loads) > cpus


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


def _views(p: Profile, default_type: int, source: bool, with_hotspots: bool = True,
           **shared: Any) -> dict[str, Any]:
    """Return the library switch's and the source view's fields of :class:`ReportData` for ``p``
    (``shared``: :func:`line_data`'s ``trees``, ``functions_of_rows`` and ``frame_functions``)."""
    libs, hs_hidden, hidden = None, None, None
    if library_frames(p.frames).any():
        hidden = hide_libraries(p)
        libs = hidden.meta["hidden_libraries"]
        if with_hotspots:
            hs_hidden = [hotspots(hidden, k, n=HOTSPOTS) for k in range(len(p.sample_types))]
    python = any(f.kind == "python" for f in p.frames)
    return {"libraries": libs, "hotspots_hidden": hs_hidden,
            "hide_libraries": bool(python and libs and libs.get("rows")),
            "lines": line_data(p, source=source, sample_type=default_type, hidden=hidden, **shared)}


def report_data(profile: Profile, *, sample_type: str | int | None = None,
                by: str = "function", source: bool = True, views: bool = True) -> ReportData:
    """Return the sections of a report on ``profile``.

    ``sample_type`` is shown first (default: the first). ``by="function"``
    (default) merges frames that differ only by line in the flame graph;
    ``by="line"`` keeps one frame per line. Hotspots are exact and keep the
    heaviest line. ``source=False`` keeps no source text (the per-line
    figures stay); ``views=False`` leaves out the library switch's and the
    source view's data.
    """
    p = profile
    default_type = p.type_index(sample_type) if p.sample_types else 0
    # hotspots and the source view first, sharing the function of each stack row and the
    # shown type's call tree; freed before the grouped tree exists (peak memory at 1M stacks)
    funcs = frame_keys(p.frames, "function")  # the function of each frame, shared below
    rows = row_functions(p, funcs)
    hs, shown = [], {}
    for k in range(len(p.sample_types)):
        ct = call_tree(p, k)
        hs.append(hotspots(p, k, n=HOTSPOTS, tree=ct, functions_of_rows=rows))
        if k == default_type:
            shown[k] = ct
        del ct
    views_data = _views(p, default_type, source, trees=shown, functions_of_rows=rows,
                        frame_functions=funcs[1]) if views else {}
    del rows, shown
    sites = allocation_sites(p, n=ALLOCATION_SITES) if memory_types(p) else None
    flame = p
    if by == "function" and any(f.line for f in p.frames):
        # one frame per function (at its first sampled line), not per line (py-spy)
        flame = group(p, "function", keys=(lowest_lines(p, funcs), funcs[1]))
        p.forget_depths()  # the page prunes the flame graph (its own depths): 4 bytes a row less
    tl = _table(p, "scalene_memory_timeline", ("t_sec", "footprint_mb"))
    dur = duration(p)
    approx = p.meta.get("approximate")
    mem = memory_types(p)
    graph_type = None
    if sites is not None and len(sites):
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
        **views_data,
        profile=p, flame=flame, default_type=default_type, hotspots=hs,
        memory_types=mem, allocation_sites=sites, alloc_graph_type=graph_type,
        memory=_table(p, "memory", ("time", "heap_bytes", "rss_bytes")),
        memory_timeline=Series(tl["t_sec"], tl["footprint_mb"], "megabytes") if tl else None,
        resources=_table(p, "resources", ("time", "cpu_percent", "rss_bytes")),
        duration_s=dur, meta=meta,
        warnings=[str(w) for w in p.meta.get("warnings") or []],
        approximate=approx if isinstance(approx, str) else None,
        effective_samples=n_eff, rankable=rankable, busy=host_busy(p.meta))


def input_labels(paths: list[str], labels: list[str] | None = None) -> list[str]:
    """Return one distinct label per input: ``labels`` first, then each file name's stem.

    The stem drops the format suffixes (``run.speedscope.json`` -> ``run``);
    equal stems get their folder name in front (``base/run``), then ``#2``, ``#3``.
    """
    given = list(labels or [])
    out = given[:len(paths)]
    stems = []
    for path in paths[len(out):]:
        name = os.path.basename(path)
        for _ in range(3):
            stem, dot, ext = name.rpartition(".")
            if not dot or not stem or ext.lower() not in _SUFFIXES:
                break
            name = stem
        stems.append((os.path.basename(os.path.dirname(os.path.abspath(path))), name))
    counts: dict[str, int] = {}
    for _, s in stems:
        counts[s] = counts.get(s, 0) + 1
    out += [f"{d}/{s}" if counts[s] > 1 and d else s for d, s in stems]
    seen: dict[str, int] = {}
    for i, lab in enumerate(out):
        n = seen[lab] = seen.get(lab, 0) + 1
        if n > 1:
            out[i] = f"{lab} #{n}"
    return out


_SUFFIXES = {"json", "gz", "folded", "collapsed", "txt", "speedscope", "pb", "pprof", "prof",
             "pstats", "cpuprofile", "perf", "data", "script", "austin", "bin", "trace", "html",
             "svg", "memray", "scalene"}


def report_inputs(profiles: list[Profile], labels: list[str], *,
                  sample_type: str | int | None = None, by: str = "function",
                  source: bool = True) -> ReportData:
    """Return the sections of a report on several inputs, each one a labelled root.

    Each input's sections are computed on it alone (``parts``, exact, in its own
    sample types); the whole's ``flame`` holds every input's stacks under a root
    frame named by its label (:func:`input_frame`), so a root's width is that
    input's total. ``sample_type`` (a name) is shown first where an input has it.
    The library switch and the source view work on the whole (per-line figures
    summed over the inputs); ``source=False`` keeps no source text.
    """
    if len(profiles) != len(labels):
        raise ValueError("one label per input")
    parts = []
    for p, label in zip(profiles, labels):
        st = sample_type
        if isinstance(st, str) and p.sample_types and not _has_type(p, st):
            st = None  # this input lacks the type: its own first type
        d = report_data(p, sample_type=st, by=by, views=False)
        d.label = label
        d.flame = labelled(d.flame, label)
        parts.append(d)
    whole = merge(*(labelled(d.profile, d.label or "") for d in parts))
    whole.meta = {"inputs": list(labels)}
    flame = merge(*(d.flame for d in parts))
    default_type = whole.type_index(sample_type) if whole.sample_types else 0
    sites = [d.allocation_sites for d in parts if d.allocation_sites is not None and len(d.allocation_sites)]
    graph_type = None
    if sites:
        graph_type = default_type if default_type in memory_types(whole) else \
            whole.type_index(sites[0].attrs["alloc_type"])
    return ReportData(
        profile=whole, flame=flame, default_type=default_type,
        hotspots=[[] for _ in whole.sample_types], memory_types=memory_types(whole),
        allocation_sites=None, alloc_graph_type=graph_type, memory_timeline=None,
        resources=None, duration_s=None, meta=[],
        warnings=[f"{d.label}: {w}" for d in parts for w in d.warnings],
        approximate="; ".join(f"{d.label}: {d.approximate}" for d in parts if d.approximate) or None,
        effective_samples=[0.0 for _ in whole.sample_types],
        rankable=[True for _ in whole.sample_types], parts=parts,
        **_views(whole, default_type, source, with_hotspots=False))


def labelled(p: Profile, label: str) -> Profile:
    """Return ``p`` under the root frame of input ``label``, its threads named ``label: name``."""
    threads = [Thread(t.id, f"{label}: {t.name or 'thread'}", t.pid) for t in p.threads]
    return under(p.copy(threads=threads), input_frame(label))


def _has_type(p: Profile, sample_type: str) -> bool:
    try:
        p.type_index(sample_type)
    except FlamekitError:
        return False
    return True

