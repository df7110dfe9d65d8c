"""A report's per-input sections (pipeline stage: render): reproducibility rows, hotspots, timelines.

:func:`input_section` turns one :class:`~flamekit.analysis.report.ReportData`
into the JSON the page's JavaScript reads for one input; a single-input report
keeps the same fields at the top of its ``report`` object, a report on several
inputs (labelled roots) has one section per input in ``report["inputs"]``, in
the whole's sample type order. :func:`prune_inputs` prunes each input's flame
graph on its own (so every labelled root is kept and zooming into one shows its
detail relative to its own total) and merges them. Values are turned into
display text here (the analysis layer builds no prose).
"""
from __future__ import annotations

import json
import re
import shlex
from typing import Any, Sequence

import numpy as np

from ..analysis.hotspots import Hotspot
from ..analysis.report import REPRO_KEYS, ReportData, input_frame
from ..analysis.uncertainty import margin
from ..model import TIME_UNITS, Profile, SampleType, merge
from .coverage import coverage_text
from .payload import clip
from .prune import DEFAULT_MAX_NODES, OTHER_FRAME, PruneInfo, prune

_MAX_META = 2000
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def display_text(s: Any, limit: int = _MAX_META) -> str:
    """Return ``s`` as one display string: truncated first (plain text), bad characters replaced."""
    return _BAD_CHARS.sub("\ufffd", clip(s, limit))


def _load_text(v: Any) -> str | None:
    if not (isinstance(v, list) and len(v) == 3 and all(isinstance(x, (int, float)) for x in v)):
        return None
    return ", ".join(f"{x:.2f} ({m} min)" for x, m in zip(v, (1, 5, 15)))


def meta_rows(data: ReportData) -> list[list[str]]:
    """Return the reproducibility rows ``[key, text]`` present in ``data.meta`` (display order)."""
    rows = []
    for k, v in data.meta:
        if k.startswith("load_avg_") and _load_text(v):
            v = _load_text(v)
        elif k == "git_dirty" and isinstance(v, bool):
            v = "yes: tracked files differ from the commit" if v else "no"
        elif isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
            v = shlex.join(v)
        elif not isinstance(v, str):
            v = json.dumps(v, sort_keys=True, ensure_ascii=False)
        rows.append([k, display_text(v)])
    return rows


def busy_text(data: ReportData) -> str:
    """Return the warning for a recording taken on a host busier than its cores ("" when not)."""
    if not data.busy:
        return ""
    m = data.profile.meta
    loads = [f"{m[k][0]:.2f} at {w}" for k, w in (("load_avg_start", "start"), ("load_avg_end", "end"))
             if isinstance(m.get(k), list) and m[k]]
    return (f"The host was busier than its {m.get('cpu_count')} CPU cores while recording "
            f"(1-minute load average {' and '.join(loads)}): other processes competed for the CPU, "
            "so times may be longer and shares noisier than on a quiet machine.")


def hotspot_row(h: Hotspot, n: float) -> dict[str, Any]:
    """One hotspot for the page; ``selfPm``/``totalPm``: the ± (pp) of its shares from ``n`` samples."""
    return {"name": clip(h.name), "file": clip(h.file), "line": h.line, "self": h.self,
            "total": h.total, "selfPct": h.self_pct, "totalPct": h.total_pct,
            "selfPm": round(100 * margin(h.self_pct / 100, n), 2),
            "totalPm": round(100 * margin(h.total_pct / 100, n), 2),
            "path": [clip(f.name) for f in h.path[-40:]], "pathCut": max(0, len(h.path) - 40)}


def coverage(data: ReportData, types: Sequence[SampleType] | None = None) -> dict[str, Any] | None:
    """Return the recording's time coverage: the type it qualifies (index into ``types``) and the text."""
    text = coverage_text(data.profile.meta)
    if not text:
        return None
    types = data.profile.sample_types if types is None else types
    k = next((i for i, st in enumerate(types) if st.unit in TIME_UNITS), None)
    return {"type": k, "text": display_text(text, 300)}


def input_section(d: ReportData, types: Sequence[SampleType]) -> dict[str, Any]:
    """Return one input's sections for the page, indexed by the whole report's sample ``types``."""
    own = list(d.profile.sample_types)
    idx = [own.index(st) if st in own else -1 for st in types]
    totals = d.profile.totals()
    out: dict[str, Any] = {
        "label": display_text(d.label or "", 300),
        "meta": meta_rows(d),
        "busy": display_text(busy_text(d), 600),
        "hotspots": [[hotspot_row(h, d.effective_samples[j]) for h in d.hotspots[j]] if j >= 0 else []
                     for j in idx],
        "totals": [float(totals[j]) if j >= 0 else 0.0 for j in idx],
        "effectiveSamples": [round(d.effective_samples[j], 3) if j >= 0 else 0.0 for j in idx],
        "rankable": [bool(d.rankable[j]) if j >= 0 else True for j in idx],
        "nSamples": d.profile.n_samples,
        "coverage": coverage(d, types),
        "warningCount": len(d.warnings),
    }
    for key, val in (("resources", d.resources), ("memory", d.memory)):
        if val:
            out[key] = val
    if d.memory_timeline:
        tl = d.memory_timeline
        out["memoryTimeline"] = {"time": tl.time, "value": tl.value, "unit": tl.unit}
    return out


def alloc_rows(d: ReportData) -> list[dict[str, Any]]:
    """Return the allocation sites of one input as page rows (``input``: its label, or "")."""
    return [{"name": clip(r.name), "file": clip(r.file), "line": int(r.line),
             "alloc": float(r.alloc), "allocPct": float(r.alloc_pct),
             "peak": None if r.peak != r.peak else float(r.peak),
             "count": None if r.count != r.count else float(r.count),
             "input": display_text(d.label or "", 300)}
            for r in d.allocation_sites.itertuples(index=False)]


def prune_inputs(data: ReportData, fraction: float, max_nodes: int = DEFAULT_MAX_NODES
                 ) -> tuple[Profile, PruneInfo, list[int]]:
    """Prune each input's flame graph on its own, merge them; return ``(profile, info, root frames)``.

    ``root frames`` are the indices (in the returned profile's frames) of each
    input's labelled root. Each input gets an even part of the ``max_nodes``
    budget. The info's shares are of the whole (all inputs);
    its ``[other]`` rows are found in the merged profile through their samples
    (:func:`~flamekit.model.merge` keeps sample order; a row without samples
    has no width and is left out).
    """
    share = max_nodes // len(data.parts) if max_nodes > 0 else 0  # the budget, split evenly
    pieces = [prune(d.flame, fraction, max(share, 1 if max_nodes > 0 else 0)) for d in data.parts]
    q = merge(*(p for p, _ in pieces))
    types = list(q.sample_types)
    moved, grand = np.zeros(len(types)), np.zeros(len(types))
    for d, (_, info) in zip(data.parts, pieces):
        absv = np.abs(d.flame.values).sum(axis=0) if d.flame.n_samples else np.zeros(len(d.flame.sample_types))
        for j, st in enumerate(d.flame.sample_types):
            k = types.index(st)
            grand[k] += absv[j]
            moved[k] += (info.share[j] if j < len(info.share) else 0.0) * absv[j]
    rows, kids, held = [], [], []
    offset = 0
    for piece, info in pieces:
        if len(info.other_rows):
            first = np.full(piece.n_stacks, -1, dtype=np.int64)
            at = np.arange(piece.n_samples - 1, -1, -1)
            first[piece.sample_stack[at]] = at  # the first sample of each row
            s = first[info.other_rows]
            ok = s >= 0
            rows.append(q.sample_stack[offset + s[ok]])
            kids.append(info.other_children[ok])
            held.append(info.other_nodes[ok])
        offset += piece.n_samples
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64))
    info = PruneInfo(fraction=float(fraction), nodes_before=sum(i.nodes_before for _, i in pieces),
                     nodes_after=q.n_stacks, pruned_nodes=sum(i.pruned_nodes for _, i in pieces),
                     share=[float(m / g) if g > 0 else 0.0 for m, g in zip(moved, grand)],
                     other_frame=list(q.frames).index(OTHER_FRAME) if OTHER_FRAME in q.frames else -1,
                     max_nodes=int(max_nodes), other_rows=cat(rows), other_children=cat(kids),
                     other_nodes=cat(held))
    frames = list(q.frames)
    roots = [frames.index(f) if f in frames else -1 for f in (input_frame(d.label or "") for d in data.parts)]
    return q, info, roots
