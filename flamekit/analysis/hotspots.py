"""Hotspots (pipeline stage: analysis): where the time (or memory) goes, as plain data.

* :func:`hotspots`: the top functions by self value, each with its heaviest call
  path (the stack, root first, of its heaviest occurrence) and the file:line of
  that occurrence.
* :func:`allocation_sites`: top allocation sites by line for profiles that carry
  memory sample types (scalene: ``alloc_space/megabytes``, ``peak/megabytes``...).
* :func:`memory_types`: which sample types hold memory data.

Results are dataclasses and pandas DataFrames; nothing here formats strings.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import tree
from ..model import CallTree, Frame, Profile, SampleType, call_tree, frame_keys, functions

#: Sample type names that mean "memory allocated / held" (pprof, scalene, memray).
MEMORY_NAMES = ("alloc_space", "alloc_objects", "alloc", "allocations", "memory", "malloc",
                "peak", "peak_memory", "inuse_space", "inuse_objects", "mallocs", "frees", "copy")
MEMORY_UNITS = ("bytes", "megabytes", "kilobytes", "mb")


@dataclass(frozen=True)
class Hotspot:
    """One top function: identity, self/total (and % of the grand total), heaviest path."""

    name: str
    file: str
    line: int
    module: str
    kind: str
    self: float
    total: float
    self_pct: float
    total_pct: float
    #: frames of the heaviest occurrence, root first (the function itself last)
    path: tuple[Frame, ...]
    #: value (self) of that heaviest occurrence
    path_value: float


def _exact_totals(p: Profile, ct, node_key: np.ndarray, cand: np.ndarray, nk: int) -> np.ndarray:
    """Return recursion-safe totals of the function keys ``cand`` (others 0).

    Only the candidates' rows are looked at (:func:`flamekit.tree.topmost` with
    ``keys``: a few numpy passes instead of the Euler tour that
    :func:`flamekit.model.functions` needs for every function at once).
    """
    top = tree.topmost(p.stack_prefix, node_key, ct.depth, keys=cand)
    return np.bincount(node_key[top], weights=ct.total[top], minlength=nk)


def row_functions(p: Profile, keys: tuple[list[Frame], np.ndarray] | None = None
                  ) -> tuple[list[Frame], np.ndarray]:
    """Return ``(functions, key)``: the functions of ``p`` (:func:`flamekit.model.frame_keys`
    by function, or ``keys`` when the caller has them) and each stack row's function index
    (int32 below 2**31 functions)."""
    rows, fk = keys if keys is not None else frame_keys(p.frames, "function")
    return rows, fk.astype(np.int32 if len(rows) < 2**31 else np.int64)[p.stack_frame]


def hotspots(p: Profile, sample_type: str | int | SampleType | None = None, n: int = 20,
             thread: int | None = None, *, tree: CallTree | None = None,
             functions_of_rows: tuple[list[Frame], np.ndarray] | None = None) -> list[Hotspot]:
    """Return the ``n`` functions with the largest self value, heaviest occurrence first.

    A function is ``(name, file, module, kind)``; ``line`` and ``path`` come from
    the stack row of that function with the largest self value (ties: the
    largest total, then the lowest row id). Self, total and percentages are the
    ones :func:`flamekit.model.functions` reports (exact, recursion counted once),
    computed only for the functions that can make the top ``n``. ``tree``
    (``call_tree(p, sample_type, thread)``) and ``functions_of_rows``
    (:func:`row_functions`) may be given when the caller has them already.
    """
    if p.n_samples == 0 or not p.sample_types or n <= 0:
        return []
    ct = tree if tree is not None else call_tree(p, sample_type, thread)
    rows, node_key = functions_of_rows if functions_of_rows is not None else row_functions(p)
    nk = len(rows)
    # only rows with a self value count (a tenth or less of a 20M-row table: the leaves);
    # the sums add the same values in the same order as over every row
    live = np.flatnonzero(ct.self_)
    live_key = node_key[live]
    self_k = np.bincount(live_key, weights=ct.self_[live], minlength=nk)
    nz = np.flatnonzero(self_k != 0)
    if not len(nz):
        return []
    if len(nz) > n:  # the n largest, and every function tied with the n-th
        thr = np.partition(self_k[nz], len(nz) - n)[len(nz) - n]
        cand = nz[self_k[nz] >= thr]
    else:
        cand = nz
    if len(cand) > 4 * max(n, 64):  # huge ties: the full table is cheaper
        return _hotspots_from_table(p, sample_type, n, thread, ct, rows, node_key)
    total_k = _exact_totals(p, ct, node_key, cand, nk)
    if (total_k[cand] == 0).any():  # functions() drops these; let it decide the order
        return _hotspots_from_table(p, sample_type, n, thread, ct, rows, node_key)
    gt = ct.grand_total
    ranked = sorted(cand.tolist(), key=lambda j: (-self_k[j], -total_k[j], rows[j].name,
                                                  rows[j].file, j))[:n]
    return _build(p, ct, rows, live_key, live,
                  [(j, float(self_k[j]), float(total_k[j]), float(self_k[j] / gt * 100) if gt else 0.0,
                    float(total_k[j] / gt * 100) if gt else 0.0) for j in ranked])


def _hotspots_from_table(p, sample_type, n, thread, ct, rows, node_key) -> list[Hotspot]:
    df = functions(p, sample_type, by="function", thread=thread)
    df = df[df["self"] != 0].head(n)
    index = {k: i for i, k in reversed(list(enumerate(rows)))}
    picked = [(index[Frame(r.name, r.file, 0, r.module, r.kind)], float(r.self), float(r.total),
               float(r.self_pct), float(r.total_pct)) for r in df.itertuples(index=False)]
    live = np.flatnonzero(ct.self_)
    return _build(p, ct, rows, node_key[live], live, picked)


def _build(p: Profile, ct, rows: list[Frame], live_key: np.ndarray, live: np.ndarray,
           picked: list) -> list[Hotspot]:
    """Make :class:`Hotspot` rows; the heaviest occurrence of each function gives line and path.

    ``live``: the rows with a self value (ascending), ``live_key`` their function: a picked
    function's heaviest occurrence has the largest |self|, never 0 (its self sum is not).
    """
    if not picked:
        return []
    keys = np.asarray([k for k, *_ in picked], dtype=np.int64)
    wanted = np.zeros(len(rows), dtype=bool)
    wanted[keys] = True
    sel = np.flatnonzero(wanted[live_key])
    at, ks = live[sel], live_key[sel]
    o = np.argsort(ks, kind="stable")  # rows of one function together, by row id
    at, ks = at[o], ks[o]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]]) if len(ks) else np.zeros(0, np.int64)
    ukeys = ks[starts]
    ends = np.r_[starts[1:], len(at)]
    best_of = {}
    for k, lo, hi in zip(ukeys.tolist(), starts.tolist(), ends.tolist()):
        # largest |self|, then largest |total|, then the lowest row id
        r = at[lo:hi]
        s = np.abs(ct.self_[r])
        r = r[s == s.max()]
        best_of[k] = int(r[np.argmax(np.abs(ct.total[r]))])
    out = []
    for k, self_v, total_v, self_pct, total_pct in picked:
        best = best_of[k]
        f = rows[k]
        path = tuple(p.frames[i] for i in p.stack_frames(best))
        out.append(Hotspot(f.name, f.file, int(p.frames[int(p.stack_frame[best])].line),
                           f.module, f.kind, self_v, total_v, self_pct, total_pct, path,
                           float(ct.self_[best])))
    return out


def memory_types(p: Profile) -> list[int]:
    """Return the indices of sample types that hold memory data (by name or unit)."""
    out = []
    for i, st in enumerate(p.sample_types):
        name, unit = st.name.lower(), st.unit.lower()
        if name in MEMORY_NAMES or name.startswith(("alloc", "inuse", "malloc", "mem")) \
                or (unit in MEMORY_UNITS and name not in ("cpu", "wall")):
            out.append(i)
    return out


def _find(p: Profile, *names: str) -> int | None:
    for i, st in enumerate(p.sample_types):
        if st.name in names:
            return i
    return None


def _line_peaks(p: Profile):
    """Return scalene's per-line peaks (``file, line, peak`` in MB) from its line table, or None.

    A peak is a maximum, so it is kept per line in ``scalene_lines.peak_mb`` and never as a
    summed sample type (see :mod:`flamekit.formats.scalene_json`).
    """
    import pandas as pd

    t = p.tables.get("scalene_lines")
    if not isinstance(t, dict) or not all(isinstance(t.get(c), list) for c in ("file", "line", "peak_mb")):
        return None
    df = pd.DataFrame({"file": t["file"], "line": t["line"], "peak": t["peak_mb"]})
    df = df[df["peak"] > 0]
    return df.groupby(["file", "line"], as_index=False)["peak"].max() if len(df) else None


def allocation_sites(p: Profile, n: int = 20):
    """Return the top ``n`` allocation sites by line as a DataFrame (empty without memory data).

    Columns: ``name, file, line, alloc, peak, count, alloc_pct`` where ``alloc``
    is the self value of the main allocation type (``alloc_space`` when present,
    else the first memory type), ``peak`` the self value of a ``peak`` type and
    ``count`` of an ``alloc_objects``/``mallocs`` type (NaN when the profile has
    none). Also sets ``df.attrs["alloc_type"]`` / ``["peak_type"]`` / ``["count_type"]``
    to the sample type strings used (or None).
    """
    import pandas as pd

    mem = memory_types(p)
    cols = ["name", "file", "line", "alloc", "peak", "count", "alloc_pct"]
    if not mem or p.n_samples == 0:
        return pd.DataFrame({c: [] for c in cols})
    a = _find(p, "alloc_space", "alloc", "malloc", "memory")
    if a is None:
        a = next(i for i in mem if p.sample_types[i].name not in ("peak", "peak_memory", "frees", "mallocs"))\
            if any(p.sample_types[i].name not in ("peak", "peak_memory", "frees", "mallocs") for i in mem) else mem[0]
    pk = _find(p, "peak_memory", "peak", "peak_space", "max_footprint")
    cnt = _find(p, "alloc_objects", "mallocs", "allocations", "alloc_count")
    base = functions(p, a, by="line")
    df = base[base["self"] != 0][["name", "file", "line", "self", "self_pct"]].rename(
        columns={"self": "alloc", "self_pct": "alloc_pct"})
    key = ["name", "file", "line"]
    for col, idx in (("peak", pk), ("count", cnt)):
        if idx is None and col == "peak" and _line_peaks(p) is not None:
            df = df.merge(_line_peaks(p), on=["file", "line"], how="left")
        elif idx is None:
            df[col] = np.nan
        else:
            other = functions(p, idx, by="line")[key + ["self"]].rename(columns={"self": col})
            df = df.merge(other, on=key, how="left")
    df = df.sort_values(["alloc", "name", "file", "line"], ascending=[False, True, True, True],
                        kind="mergesort").head(n).reset_index(drop=True)[cols]
    df.attrs["alloc_type"] = str(p.sample_types[a])
    df.attrs["peak_type"] = None if pk is None else str(p.sample_types[pk])
    if pk is None and _line_peaks(p) is not None:
        df.attrs["peak_type"] = "peak_mb/megabytes"  # per line, from scalene's table (a maximum)
    df.attrs["count_type"] = None if cnt is None else str(p.sample_types[cnt])
    return df
