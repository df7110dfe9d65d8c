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

from ..model import Frame, Profile, SampleType, call_tree, frame_key, functions

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


def hotspots(p: Profile, sample_type: str | int | SampleType | None = None, n: int = 20,
             thread: int | None = None) -> list[Hotspot]:
    """Return the ``n`` functions with the largest self value, heaviest occurrence first.

    A function is ``(name, file, module, kind)``; ``line`` and ``path`` come from
    the stack row of that function with the largest self value (ties: the
    largest total, then the lowest row id).
    """
    if p.n_samples == 0 or not p.sample_types:
        return []
    df = functions(p, sample_type, by="function", thread=thread)
    df = df[df["self"] != 0].head(n)
    if not len(df):
        return []
    tree = call_tree(p, sample_type, thread)
    keys = [frame_key(f, "function") for f in p.frames]
    fkey = {k: i for i, k in reversed(list(enumerate(keys)))}
    kid = np.asarray([fkey[k] for k in keys], dtype=np.int64)
    node_key = kid[p.stack_frame]
    out = []
    for row in df.itertuples(index=False):
        k = fkey.get(Frame(row.name, row.file, 0, row.module, row.kind))
        rows = np.nonzero(node_key == k)[0]
        order = np.lexsort((rows, -np.abs(tree.total[rows]), -np.abs(tree.self_[rows])))
        best = int(rows[order[0]])
        path = tuple(p.frames[f] for f in p.stack_frames(best))
        out.append(Hotspot(row.name, row.file, int(p.frames[int(p.stack_frame[best])].line),
                           row.module, row.kind, float(row.self), float(row.total),
                           float(row.self_pct), float(row.total_pct), path,
                           float(tree.self_[best])))
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
        if idx is None:
            df[col] = np.nan
        else:
            other = functions(p, idx, by="line")[key + ["self"]].rename(columns={"self": col})
            df = df.merge(other, on=key, how="left")
    df = df.sort_values(["alloc", "name", "file", "line"], ascending=[False, True, True, True],
                        kind="mergesort").head(n).reset_index(drop=True)[cols]
    df.attrs["alloc_type"] = str(p.sample_types[a])
    df.attrs["peak_type"] = None if pk is None else str(p.sample_types[pk])
    df.attrs["count_type"] = None if cnt is None else str(p.sample_types[cnt])
    return df
