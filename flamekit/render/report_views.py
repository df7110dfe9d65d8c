"""The report sections of the call tree, library and source views (pipeline stage: render).

JSON-ready parts of the report document (``report`` in ``#flamekit-data``), read by
``templates/js/libraries.js`` and ``templates/js/source.js`` (the call tree,
``templates/js/calltree.js``, reads only the flame graph payload):

``libraries`` (absent when no frame is library code)::

    {"on": bool,                  # the page starts with library frames hidden
     "frames": int, "functions": int, "rows": int,   # what flamekit.model.hide_libraries folds
     "self": [num per type],      # self value moved from library frames to their user callers
     "hotspots": [[row, ...] per type]}   # the hotspots with library frames hidden

The payload's ``frames.library`` column (:mod:`.payload`) flags each frame; the page
folds the flame graph and call tree itself, as :func:`flamekit.model.hide_libraries` does.

``source``::

    {"omitted": bool,             # --no-source: no text at all
     "approximate": bool,         # totals count only direct recursion once (huge profiles)
     "files": [{"path": str, "origin": "profile"|"file", "cut": bool,
                "chunks": [[first line, [text of first, first + 1, ...]], ...]}],
     "funcs": {"<payload func id>": {"file": int (index into files, -1: no text),
                                     "line": [int], "self": [[num per line] per type],
                                     "total": [[num per line] per type],
                                     "selfHidden": OPTIONAL, self with library frames hidden}}}

Every string is clipped (:func:`.payload.clip`) and stays plain text: the page
shows it with ``textContent`` only.
"""
from __future__ import annotations

from itertools import accumulate, chain
from typing import Any

import numpy as np

from ..analysis.report import ReportData
from ..analysis.source import FunctionLines, LineData
from ..numfmt import as_number_rows, as_number_segments
from .payload import MAX_STRING, clip


def libraries_json(data: ReportData, hotspot_rows: list[list[dict]] | None) -> dict[str, Any] | None:
    """Return the ``libraries`` section (see the module docstring), or None without library frames."""
    info = data.libraries
    if not info:
        return None
    return {"on": bool(data.hide_libraries), "frames": int(info.get("frames", 0)),
            "functions": int(info.get("functions", 0)), "rows": int(info.get("rows", 0)),
            "self": [float(x) for x in info.get("self", [])], "hotspots": hotspot_rows or []}


def source_json(lines: LineData, payload: dict) -> dict[str, Any]:
    """Return the ``source`` section for the functions of ``payload`` (see the module docstring)."""
    S, F = payload["strings"], payload["frames"]
    func_of: dict[tuple[str, str, str, str], int] = {}
    for key, func in zip(zip(*(map(S.__getitem__, F[c]) for c in ("name", "file", "module", "kind"))),
                         F["func"]):
        func_of.setdefault(key, func)
    files: list[dict[str, Any]] = []
    file_index: dict[str, int] = {}
    shown: list[tuple[FunctionLines, int, int]] = []  # (function, payload func id, file index)
    for fl in lines.functions:
        f = fl.function
        key = (f.name, f.file, f.module, f.kind)
        func = func_of.get(key)  # a key found is a key of short strings: clipping keeps it
        if func is None and not all(type(x) is str and len(x) <= MAX_STRING for x in key):
            func = func_of.get(tuple(map(clip, key)))
        if func is None:  # pruned away: nothing on the page can select it
            continue
        src = lines.sources.get(f.file)
        fi = -1
        if src is not None:
            fi = file_index.get(src.path, -1)
            if fi < 0:
                fi = file_index[src.path] = len(files)
                files.append({"path": clip(src.path), "origin": src.origin, "cut": bool(src.cut),
                              "chunks": [[int(lo), text] for lo, text in src.chunks]})
        shown.append((fl, func, fi))
    funcs: dict[str, Any] = {}
    if shown:  # every function's numbers in a few whole-column passes
        bounds = [0, *accumulate(len(fl.lines) for fl, _, _ in shown)]
        line = np.fromiter(chain.from_iterable(fl.lines for fl, _, _ in shown), dtype=np.int64,
                           count=bounds[-1]).tolist()
        self_all = np.concatenate([fl.self for fl, _, _ in shown], axis=1)
        self_ = as_number_segments(self_all, bounds)
        total = as_number_segments(np.concatenate([fl.total for fl, _, _ in shown], axis=1), bounds)
        hidden = _self_hidden([fl for fl, _, _ in shown], self_all, bounds)
        for (fl, func, fi), lo, hi, s, t, h in zip(shown, bounds, bounds[1:], self_, total, hidden):
            row = {"file": fi, "line": line[lo:hi], "self": s, "total": t}
            if h is not None:
                row["selfHidden"] = h
            funcs[str(func)] = row
    return {"omitted": bool(lines.omitted), "approximate": bool(lines.approximate), "files": files,
            "funcs": funcs}


def _self_hidden(fls: list[FunctionLines], self_all: np.ndarray, bounds: list[int]) -> list:
    """Return each function's ``selfHidden`` rows, None where hiding libraries changes no line's self."""
    if not all(fl.self_hidden is not None for fl in fls):
        return [as_number_rows(fl.self_hidden) if fl.self_hidden is not None and
                (fl.self_hidden != fl.self).any() else None for fl in fls]
    hidden_all = np.concatenate([fl.self_hidden for fl in fls], axis=1)
    changed = np.zeros(self_all.shape[1] + 1, dtype=np.int64)  # columns changed so far
    np.cumsum((hidden_all != self_all).any(axis=0), out=changed[1:])
    at = changed[bounds]
    moved = np.flatnonzero(at[1:] != at[:-1]).tolist()
    out: list = [None] * len(fls)
    if moved:
        rows = as_number_segments(hidden_all, bounds)
        for i in moved:
            out[i] = rows[i]
    return out
