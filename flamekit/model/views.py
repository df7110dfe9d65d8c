"""Derived views of a profile (pipeline stage: model): call tree and function table.

Computed on demand, never stored: :func:`call_tree` (self and total per stack
row) and :func:`functions` (a pandas DataFrame per function, line or file).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .. import tree
from .ops import frame_keys
from .builder import StackPaths
from .profile import Profile, SampleType, type_index


@dataclass
class CallTree:
    """A call tree over the stack table: per row, ``self`` and ``total`` values.

    Node ids are stack rows of ``profile`` (root first, ``prefix[i] < i``).
    """

    profile: Profile
    sample_type: SampleType
    prefix: np.ndarray
    frame: np.ndarray
    self_: np.ndarray
    total: np.ndarray
    depth: np.ndarray
    grand_total: float = field(default=0.0)

    def children(self) -> list[list[int]]:
        """Return the child lists of every node (built on demand)."""
        ch: list[list[int]] = [[] for _ in range(len(self.prefix))]
        for i, q in enumerate(self.prefix.tolist()):
            if q >= 0:
                ch[q].append(i)
        return ch

    def roots(self) -> np.ndarray:
        """Return the root node ids."""
        return np.nonzero(self.prefix < 0)[0]


def call_tree(p: Profile, sample_type: str | int | SampleType | None = None,
              thread: int | None = None) -> CallTree:
    """Compute self and total per stack row for one sample type (numpy, no recursion).

    ``thread`` restricts to one thread index. Self is a bincount of sample
    values per stack; total accumulates self up the ``prefix`` column.
    """
    k = p.type_index(sample_type)
    ns = p.n_stacks
    if thread is None:
        st, v = p.sample_stack, p.values[:, k] if p.n_samples else np.zeros(0)
    else:
        m = p.sample_thread == thread
        st, v = p.sample_stack[m], p.values[m, k]
    self_ = np.bincount(st, weights=v, minlength=ns).astype(np.float64, copy=False) if ns else np.zeros(0)
    depth = p.stack_depths()
    total = tree.accumulate_up(p.stack_prefix, self_, depth)
    return CallTree(p, p.sample_types[k], p.stack_prefix, p.stack_frame, self_, total, depth,
                    float(self_.sum()))


def functions(p: Profile, sample_type: str | int | SampleType | None = None,
              by: str = "function", thread: int | None = None):
    """Return a pandas DataFrame with self and total per function (or line, or file).

    Columns: ``name, file, line, module, kind, self, total, self_pct, total_pct``,
    sorted by self then total, descending. Recursion counts once in ``total``.
    Percentages are of the grand total of the sample type.
    """
    return _function_table(*_per_key(p, sample_type, by, thread))


def function_rows(p: Profile | StackPaths, sample_type: str | int | SampleType | None = None,
                  by: str = "function") -> list[FunctionRow]:
    """The rows of :func:`functions` (or of :func:`path_functions` for paths) as named tuples,
    in the same order, without pandas (``flamekit top`` starts faster)."""
    per = _per_path_key(p, sample_type, by) if isinstance(p, StackPaths) else \
        _per_key(p, sample_type, by, None)
    rows, self_k, total_k, gt = per
    out = [FunctionRow(f.name, f.file, f.line, f.module, f.kind, s, t,
                       s / gt * 100 if gt else 0.0, t / gt * 100 if gt else 0.0)
           for f, s, t in zip(rows, self_k.tolist(), total_k.tolist()) if t != 0]
    out.sort(key=lambda r: (-r.self, -r.total, r.name, r.file, r.line))
    return out


class FunctionRow(NamedTuple):
    """One row of :func:`function_rows`."""

    name: str
    file: str
    line: int
    module: str
    kind: str
    self: float
    total: float
    self_pct: float
    total_pct: float


def _per_key(p: Profile, sample_type, by: str, thread: int | None) -> tuple:
    """``(keys, self per key, total per key, grand total)`` over the stack table."""
    ct = call_tree(p, sample_type, thread)
    rows, fk = frame_keys(p.frames, by)
    nk = len(rows)
    if p.n_stacks:
        nodekey = fk[p.stack_frame]
        self_k = np.bincount(nodekey, weights=ct.self_, minlength=nk)
        top = tree.topmost(p.stack_prefix, nodekey, ct.depth)
        total_k = np.bincount(nodekey[top], weights=ct.total[top], minlength=nk)
    else:
        self_k = total_k = np.zeros(nk)
    return rows, self_k, total_k, ct.grand_total


#: Frames per block of :func:`path_functions` (bounded memory on 1M-stack inputs).
PATH_BLOCK = 1 << 22


def path_functions(sp: StackPaths, sample_type: str | int | SampleType | None = None,
                   by: str = "function"):
    """:func:`functions` of ``sp.to_profile()``, computed from the paths without building it.

    Self is the value of each path's leaf key; total counts a path's value once per
    distinct key on it (recursion once): in blocks of whole paths, a stable sort of
    the keys puts each key's occurrences in path order, and an occurrence counts only
    when the previous one of its key lies in an earlier path. Memory: a few bytes per
    frame of one block, never a stack table (a 1M-stack file has 20M+ stack rows).
    """
    return _function_table(*_per_path_key(sp, sample_type, by))


def _per_path_key(sp: StackPaths, sample_type, by: str) -> tuple:
    """``(keys, self per key, total per key, grand total)`` from the paths (:func:`path_functions`)."""
    k = type_index(sp.sample_types, sample_type)
    rows, fk = frame_keys(sp.frames, by)
    nk = len(rows)
    fk = fk.astype(np.uint16 if nk <= 1 << 16 else np.int64)  # 16 bits: numpy's radix sort
    v = sp.values[:, k] if sp.n_paths else np.zeros(0)
    lengths = np.asarray(sp.lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    self_k = np.bincount(fk[sp.flat[ends - 1]], weights=v, minlength=nk) if len(ends) \
        else np.zeros(nk)
    total_k = np.zeros(nk)
    cuts = np.searchsorted(ends, np.arange(PATH_BLOCK, int(ends[-1]) if len(ends) else 0,
                                           PATH_BLOCK), side="right")
    bounds = [0] + sorted(set(cuts.tolist()) - {0, len(ends)}) + [len(ends)]
    for l0, l1 in zip(bounds[:-1], bounds[1:]):
        if l1 <= l0:
            continue
        lens = lengths[l0:l1]
        s0 = int(ends[l0] - lens[0])
        key = fk[sp.flat[s0:int(ends[l1 - 1])]]
        line = np.repeat(np.arange(l1 - l0, dtype=np.int32), lens)
        start = ends[l0:l1] - lens - s0  # each path's first frame in the block
        order = np.argsort(key, kind="stable")
        same = key[order[1:]] == key[order[:-1]]
        later, earlier = order[1:][same], order[:-1][same]
        first = np.ones(len(key), dtype=bool)
        first[later[earlier >= start[line[later]]]] = False
        total_k += np.bincount(key[first], weights=v[l0:l1][line[first]], minlength=nk)
    return rows, self_k, total_k, float(v.sum())


def _function_table(rows: list, self_k: np.ndarray, total_k: np.ndarray, gt: float):
    """The DataFrame of :func:`functions` from per-key self and total values."""
    import pandas as pd

    df = pd.DataFrame({
        "name": [f.name for f in rows], "file": [f.file for f in rows],
        "line": [f.line for f in rows], "module": [f.module for f in rows],
        "kind": [f.kind for f in rows], "self": self_k, "total": total_k,
    })
    df["self_pct"] = df["self"] / gt * 100 if gt else 0.0
    df["total_pct"] = df["total"] / gt * 100 if gt else 0.0
    df = df[df["total"] != 0] if len(df) else df
    return df.sort_values(["self", "total", "name", "file", "line"],
                          ascending=[False, False, True, True, True],
                          kind="mergesort").reset_index(drop=True)



#: Metadata keys importers and recorders use for a recording's duration in seconds
#: (pprof, Austin and scalene write ``duration``; ``flamekit record`` writes ``duration_s``).
DURATION_KEYS = ("duration", "duration_s", "duration_seconds", "elapsed")
#: Time units in seconds (to turn a total time and a sampling rate into a count; which
#: sample types measure time).
TIME_UNITS = {"nanoseconds": 1e-9, "ns": 1e-9, "microseconds": 1e-6, "us": 1e-6, "μs": 1e-6,
              "milliseconds": 1e-3, "ms": 1e-3, "seconds": 1.0, "s": 1.0}


def meta_duration(meta: dict) -> float | None:
    """Return the duration in seconds that ``meta`` states under any :data:`DURATION_KEYS` spelling.

    None when no key holds a finite positive number.
    """
    for k in DURATION_KEYS:
        v = meta.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and v > 0:
            return float(v)
    return None


def duration(p: Profile) -> float | None:
    """Return a profile's duration in seconds: its metadata's, else the span of its sample times.

    The span of timed samples counts the last sample's interval too (the median
    gap). None when neither is known. Every view that shows or uses a duration
    (report, diff ``--absolute``) reads it here.
    """
    d = meta_duration(p.meta)
    if d is not None:
        return d
    if p.sample_time is not None and p.n_samples >= 2:
        t = np.sort(p.sample_time)
        span = float(t[-1] - t[0])
        if span > 0:
            return span + float(np.median(np.diff(t)))
    return None
