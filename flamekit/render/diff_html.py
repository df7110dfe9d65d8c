"""The differential flame graph page (pipeline stage: render): ``flamekit diff -o diff.html``.

Built on the report's pieces (``flamekit/render/html.py``: one jinja2
environment, inlined static files, CSP hashes, escaped JSON data; and
``templates/js/flamegraph.js`` in its diff mode). The union call tree of the
diff (:meth:`DiffResult.tree`) becomes one profile with two sample types,
``<type> (base)`` and ``<type> (head)``, valued in percent of each side's
total (or of the base rate with ``--absolute``), so the flame graph shows head
widths, a "Show base" toggle and base/head/Δ tooltips. ``templates/js/diff.js``
colours frames red (grew) to blue (shrank) by their **self** delta, lists the
frames that vanished (viewable in the base tree), and fills the table of changes.

Pruning happens here, before the payload (so node ids in the page are ours):
nodes narrower than ``prune_fraction`` of 100 % on both sides are merged into
one ``[other]`` child per parent.
"""
from __future__ import annotations

import os

import numpy as np

from ..analysis.diff import DiffResult
from ..atomic import write_output
from ..model import Frame, Profile, SampleType, Thread
from . import diff_words as words
from .diff_json import function_rows
from .html import display_text, render_page
from .payload import DEFAULT_PRUNE, OTHER_FRAME, PruneInfo, clip, frame_map, payload_from_pruned

DIFF_SCRIPTS = ("js/flamegraph.js", "js/diff.js")
DIFF_STYLES = ("css/report.css", "css/diff.css")
#: Rows of the change table embedded in the page (regressions and improvements always are).
TABLE_ROWS = 500
VANISHED_ROWS = 200


def diff_profile(res: DiffResult, prune_fraction: float = DEFAULT_PRUNE) -> tuple[Profile, dict]:
    """Return the two-type profile of a diff's union tree and facts about it.

    Nodes narrower than ``prune_fraction`` of 100 % on both sides are left out
    (:meth:`~flamekit.analysis.diff.DiffResult.pruned_tree`, which never merges
    them) and their totals become one ``[other]`` child per parent. Facts:
    ``pruned`` (nodes merged, -1 when not counted), ``vanished`` (node ids of
    the topmost frames present in BASE only, widest first) in the returned
    profile's rows, totals per row, and the pruned ``share`` per side.
    """
    pt = res.pruned_tree(prune_fraction * 100.0 if prune_fraction > 0 else 0.0)
    t = pt.tree
    st = res.base.sample_type
    # frames: one per function key, plus [other] and a placeholder for unknown keys
    tab = res.table.sort_values("_k")
    frames = [Frame(nm, fl, int(ln), md, kd) for nm, fl, ln, md, kd in
              zip(tab["name"].tolist(), tab["file"].tolist(), tab["line"].tolist(),
                  tab["module"].tolist(), tab["kind"].tolist())]
    nk = len(frames)
    frames.append(OTHER_FRAME)
    frames.append(Frame("[unknown]", "", 0, "flamekit", "unknown"))
    n = len(t.prefix)
    prefix = t.prefix
    frame = np.where(t.key >= 0, t.key, nk + 1)
    self_b, self_h = t.base_self.copy(), t.head_self.copy()
    # one [other] row per parent (the roots' one last) with pruned children
    has = np.flatnonzero((pt.other_base > 0) | (pt.other_head > 0))
    if len(has):
        prefix = np.r_[prefix, np.where(has < n, has, -1)]
        frame = np.r_[frame, np.full(len(has), nk)]
        self_b = np.r_[self_b, pt.other_base[has]]
        self_h = np.r_[self_h, pt.other_head[has]]
    rows = np.nonzero((self_b != 0) | (self_h != 0))[0]
    p = Profile(frames=frames, stack_prefix=prefix, stack_frame=frame, sample_stack=rows,
                values=np.column_stack([self_b[rows], self_h[rows]]) if len(rows) else
                np.zeros((0, 2)),
                sample_types=(SampleType(f"{st.name} (base)", "%"),
                              SampleType(f"{st.name} (head)", "%")),
                threads=(Thread(0, "all threads"),), meta={})
    # vanished: topmost kept rows present in BASE only
    nn = len(prefix)
    tot_b = np.zeros(nn)
    tot_h = np.zeros(nn)
    tot_b[:n] = t.base_total
    tot_h[:n] = t.head_total
    if nn > n:
        tot_b[n:] = self_b[n:]
        tot_h[n:] = self_h[n:]
    gone = (tot_h <= 0) & (tot_b > 0)
    par_ok = np.where(prefix >= 0, tot_h[np.maximum(prefix, 0)] > 0, True)
    vanished = np.nonzero(gone & par_ok)[0]
    vanished = vanished[np.argsort(-tot_b[vanished], kind="stable")]
    share = [float(pt.other_base.sum()) / 100.0, float(pt.other_head.sum()) / 100.0]
    return p, {"pruned": -1 if pt.pruned_nodes is None else pt.pruned_nodes,
               "vanished": vanished, "base_total": tot_b, "head_total": tot_h,
               "share": share, "other": nk}


def _path(p: Profile, node: int, limit: int = 12) -> list[str]:
    names = [clip(p.frames[f].name) for f in p.stack_frames(node)]
    return names if len(names) <= limit else ["…"] + names[-limit:]


def build_diff_data(res: DiffResult, *, title: str, prune_fraction: float = DEFAULT_PRUNE) -> dict:
    """Return the JSON data of the diff page: the flame graph payload and the diff facts."""
    p, facts = diff_profile(res, prune_fraction)
    info = PruneInfo(float(prune_fraction), p.n_stacks, p.n_stacks, facts["pruned"],
                     facts["share"], facts["other"])
    payload = payload_from_pruned(p, info, diff=(0, 1))
    fmap = frame_map(p)  # frame i of p is function key i: rows find their graph frame by id
    o = res.options
    rows = function_rows(res, TABLE_ROWS, keys=True)
    for r in rows:
        k = r.pop("key")
        r["frame"] = int(fmap[k]) if 0 <= k < len(fmap) else -1
        r["name"] = clip(r["name"])
        r["file"] = clip(r["file"])
    vanished = []
    for node in facts["vanished"][:VANISHED_ROWS].tolist():
        f = p.frames[int(p.stack_frame[node])]
        vanished.append({"node": int(node), "name": clip(f.name), "file": clip(f.file),
                         "base": float(facts["base_total"][node]), "path": _path(p, node)})
    gone_funcs = function_rows(res, status="gone")[:VANISHED_ROWS]
    times = words.run_times(res)
    diff = {
        "title": display_text(title, 300),
        "verdict": res.verdict,
        "counts": res.counts(),
        "metric": o.metric, "by": o.by, "alpha": o.alpha, "minDelta": o.min_delta,
        "absolute": bool(o.absolute), "normalizeNames": bool(o.normalize),
        "method": res.method, "dispersion": float(res.dispersion),
        "dispersionSource": res.dispersion_source,
        "measure": res.normalization["shares"],
        "rules": [{"name": r["name"], "description": r["description"]}
                  for r in res.normalization["rules"]],
        "framesChanged": res.normalization["frames_changed"],
        "sampleType": str(res.base.sample_type),
        "baseName": display_text(words.side_name(res.base), 200),
        "headName": display_text(words.side_name(res.head), 200),
        "runTime": None if times is None else times.text(),
        "base": [{"source": display_text(r.source, 300), "total": r.total,
                  "samples": r.effective_samples} for r in res.base.runs],
        "head": [{"source": display_text(r.source, 300), "total": r.total,
                  "samples": r.effective_samples} for r in res.head.runs],
        "rows": rows,
        "rowsOmitted": len(res.table) - len(rows),
        "vanished": vanished,
        "vanishedCount": int(len(facts["vanished"])),
        "goneFunctions": [{"name": clip(r["name"]), "file": clip(r["file"]),
                           "base": r["base_total"]} for r in gone_funcs],
        # a memory diff (analysis.memory_diff): exact bytes; rows carry base/head/delta_bytes
        "memory": res.normalization.get("memory"),
        # inputs' import warnings and late py-spy runs (the input's text: display_text, shown as text)
        "warnings": _doubts(res),
    }
    return {"payload": payload, "diff": diff}


def _doubts(res: DiffResult) -> dict | None:
    d = words.input_doubts(res)
    if d is not None:
        d["lines"] = [display_text(ln, 400) for ln in d.pop("late") + d.pop("quoted")]
    return d


def render_diff_html(res: DiffResult, *, title: str = "flamekit diff",
                     prune_fraction: float = DEFAULT_PRUNE) -> str:
    """Return the differential flame graph page (deterministic for the same diff)."""
    data = build_diff_data(res, title=title, prune_fraction=prune_fraction)
    return render_page("diff.html.j2", title=title, data=data, scripts=DIFF_SCRIPTS,
                       styles=DIFF_STYLES, timed=data["diff"]["runTime"] is not None)


def write_diff_html(res: DiffResult, path: str | os.PathLike, *, title: str = "flamekit diff",
                    prune_fraction: float = DEFAULT_PRUNE) -> None:
    """Write the differential flame graph page to ``path`` (``-``: stdout) atomically."""
    write_output(path, render_diff_html(res, title=title, prune_fraction=prune_fraction))
