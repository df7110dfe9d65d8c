"""The union call tree of a diff (pipeline stage: analysis): every run's keyed tree merged.

:func:`key_table` unifies the runs' local function keys into the diff's table;
:func:`union_tree` merges the runs' keyed call trees (:func:`flamekit.tree.merge`)
into one tree valued in percent of each side's measure, for the differential
flame graph; :func:`pruned_tree` merges only the paths wide enough to be drawn
and cuts the rest into one ``[other]`` per parent (:func:`flamekit.tree.prune`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from ... import tree
from .prepare import PreparedRun
from .result import DiffTree, PrunedTree, SideInfo

if TYPE_CHECKING:
    import pandas as pd


def key_table(runs: list[PreparedRun]
               ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """Unify the runs' local keys: (key table, self [R, K], total [R, K], local -> global key
    per run, global key -> table row or -1 when no run has a value for it)."""
    import pandas as pd

    keymap: dict[tuple[str, str, int], int] = {}
    info: list[tuple[str, str, int, str, str]] = []
    gmaps: list[np.ndarray] = []
    for r in runs:
        g = np.empty(len(r.keys), dtype=np.int64)
        for i, k in enumerate(r.keys):
            j = keymap.get(k[:3])
            if j is None:
                j = keymap[k[:3]] = len(info)
                info.append(k)
            g[i] = j
        gmaps.append(g)
    nk0, nr = len(info), len(runs)
    S0 = np.zeros((nr, nk0))
    T0 = np.zeros((nr, nk0))
    for i, (r, g) in enumerate(zip(runs, gmaps)):
        S0[i, g] = r.key_self  # local keys are distinct by (name, file, line): g is one-to-one
        T0[i, g] = r.key_total
    used = (T0 != 0).any(axis=0) | (S0 != 0).any(axis=0)
    key_map = np.where(used, np.cumsum(used) - 1, -1)
    kept = np.flatnonzero(used)
    allk = pd.DataFrame([info[i] for i in kept.tolist()],
                        columns=["name", "file", "line", "module", "kind"])
    if not len(allk):
        allk = pd.DataFrame({"name": [], "file": [], "line": [], "module": [], "kind": []})
    allk["line"] = allk["line"].astype(np.int64)
    return allk, S0[:, kept], T0[:, kept], gmaps, key_map


def run_scales(base: SideInfo, head: SideInfo, absolute: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per run (BASE's first): the factor from values to percent of its side's measure, and
    that factor times the side's run count (one run's own percent)."""
    runs = base.runs + head.runs
    rb, rh = base.n_runs, head.n_runs
    if absolute:
        base_rate = float(np.mean([r.total / r.duration_s for r in base.runs]))  # type: ignore[operator]
        own = np.array([100.0 / (float(r.duration_s) * base_rate) for r in runs])  # type: ignore[arg-type]
    else:
        own = np.array([100.0 / r.total if r.total else 0.0 for r in runs])
    return own / np.array([rb] * rb + [rh] * rh, dtype=np.float64), own


def union_tree(runs: list[PreparedRun], gmaps: list[np.ndarray], key_map: np.ndarray,
               sc: np.ndarray, rb: int) -> DiffTree:
    """Merge the runs' keyed call trees (keys made global by ``gmaps``) into the union tree.

    A run's rows map one to one onto union rows (both are keyed by the path of
    keys), so per-run self and total values are placed, not recomputed; then
    each side's values are averaged in percent (``sc``: :func:`run_scales`;
    the first ``rb`` runs are BASE's).
    """
    nk = max((int(g.max()) + 1 for g in gmaps if len(g)), default=0)
    tables = [(r.prefix, g[r.key] if len(r.key) else r.key, r.depth) for r, g in zip(runs, gmaps)]
    uprefix, ukey, o2n, _ = tree.merge(tables, nk)
    nu, nr = len(uprefix), len(runs)
    selfm = np.zeros((nu, nr))
    totm = np.zeros((nu, nr))
    for i, (r, m) in enumerate(zip(runs, o2n)):
        if len(m):
            selfm[:, i] = np.bincount(m, weights=r.self_, minlength=nu)
            totm[:, i] = np.bincount(m, weights=r.total, minlength=nu)
    return _as_diff_tree(uprefix, ukey, selfm, totm, key_map, sc, rb)


def _as_diff_tree(prefix: np.ndarray, gkey: np.ndarray, selfm: np.ndarray, totm: np.ndarray,
                  key_map: np.ndarray, sc: np.ndarray, rb: int) -> DiffTree:
    key = key_map[gkey] if len(gkey) else np.zeros(0, np.int64)
    return DiffTree(prefix, key, selfm[:, :rb] @ sc[:rb], totm[:, :rb] @ sc[:rb],
                    selfm[:, rb:] @ sc[rb:], totm[:, rb:] @ sc[rb:])


def _lookup(rows: np.ndarray, parent_c: np.ndarray, gkey: np.ndarray, m: np.ndarray,
            index: pd.Index, base: int, found: list[np.ndarray]) -> None:
    """Map ``rows`` (not yet matched; parents matched to ``parent_c``, -1 at a root) onto
    the candidate nodes in ``index`` (codes ``(parent + 1) * base + key``, ``gkey`` the
    global key of each of ``rows``); -1 when absent. The rows matched are added to ``found``."""
    if len(rows):
        got = index.get_indexer((parent_c + 1) * base + gkey)
        m[rows] = got
        found.append(rows[got >= 0])


def _match_children(prefix: np.ndarray, key: np.ndarray, g: np.ndarray, m: np.ndarray,
                    index: pd.Index, base: int, found: list[np.ndarray]) -> None:
    """Match a run's rows to the candidate nodes, walking down from the roots through the
    children of matched rows only (``prefix`` never decreases, so a row's children are
    one contiguous range found by binary search): work in proportion to the matches.
    ``g[key[i]]`` is row ``i``'s global key."""
    nroot = int(np.searchsorted(prefix, -1, side="right"))
    front = np.arange(nroot, dtype=np.int64)
    todo = front[m[front] < 0]
    _lookup(todo, np.full(len(todo), -1, np.int64), g[key[todo]], m, index, base, found)
    front = front[m[front] >= 0]
    while len(front):
        lo = np.searchsorted(prefix, front, side="left")
        hi = np.searchsorted(prefix, front, side="right")
        n = hi - lo
        if not n.any():
            break
        # children of every frontier row, back to back
        kids = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()), dtype=np.int64)
        todo = kids[m[kids] < 0]
        _lookup(todo, m[prefix[todo]], g[key[todo]], m, index, base, found)
        front = kids[m[kids] >= 0]


def _match_levels(prefix: np.ndarray, key: np.ndarray, g: np.ndarray, depth: np.ndarray,
                  m: np.ndarray, index: pd.Index, base: int, found: list[np.ndarray]) -> None:
    """:func:`_match_children` for tables in any order: one pass over each depth level."""
    order, bounds = tree.levels(depth)
    b = bounds.tolist()
    for d in range(1, len(b)):
        lo, hi = b[d - 1], b[d]
        if hi == lo:
            continue
        lv = np.arange(lo, hi) if order is None else order[lo:hi]
        par = prefix[lv]
        pm = np.where(par >= 0, m[np.maximum(par, 0)], -1)
        sel = (m[lv] < 0) & ((pm >= 0) | (par < 0))
        if sel.any():
            rows = lv[sel]
            _lookup(rows, pm[sel], g[key[rows]], m, index, base, found)


def pruned_tree(runs: list[PreparedRun], gmaps: list[np.ndarray], key_map: np.ndarray,
                base: SideInfo, head: SideInfo, absolute: bool, thr: float,
                full: Callable[[], DiffTree]) -> PrunedTree:
    """Return the union tree's nodes at least ``thr`` percent wide on a side, and per kept
    node the totals of its pruned children (see :meth:`DiffResult.pruned_tree`).

    Merges only the wide paths (:func:`_union_pruned`); for deep, narrow trees,
    negative values or ``thr <= 0`` it cuts the full tree (``full()``) instead.
    """
    deep = any(len(r.depth) and tree.loop_is_faster(int(r.depth.max()), len(r.depth))
               for r in runs)
    negative = any(len(r.self_) and float(r.self_.min()) < 0 for r in runs)
    sc, own = run_scales(base, head, absolute)
    rb = base.n_runs
    if thr <= 0 or deep or negative:
        t = full()
        keep = np.maximum(t.base_total, t.head_total) >= thr if thr > 0 else \
            np.ones(len(t.prefix), bool)
        pruned = int((~keep).sum())
    else:
        prefix, gkey, selfm, totm = _union_pruned(runs, gmaps, own, thr)
        t = _as_diff_tree(prefix, gkey, selfm, totm, key_map, sc, rb)
        keep = np.maximum(t.base_total, t.head_total) >= thr
        pruned = None
    # keep is closed upward (a parent is at least as wide as its child on both sides)
    pr = tree.prune(t.prefix, keep)
    idx = pr.kept
    nk = pr.n_kept
    pre = pr.prefix[:nk]
    kt = DiffTree(pre, t.key[idx], t.base_self[idx], t.base_total[idx], t.head_self[idx],
                  t.head_total[idx])
    # pruned children per kept parent (slot nk: the pruned roots): measured directly when
    # every node is at hand, else as the parent's total minus its self and its kept children
    slot = np.where(pre >= 0, pre, nk)
    if pruned is not None:
        other = pr.cut_other - nk  # the [other] row of each pruned subtree's top
        oslot = np.where(pr.prefix[nk:] >= 0, pr.prefix[nk:], nk)  # the [other] rows' parents
        ob = np.zeros(nk + 1)
        oh = np.zeros(nk + 1)
        no = len(oslot)
        ob[oslot] = np.bincount(other, weights=t.base_total[pr.cut], minlength=no)
        oh[oslot] = np.bincount(other, weights=t.head_total[pr.cut], minlength=no)
    else:
        # a side's whole width: every run's total in percent, averaged over the side
        side_b = float(sum(ri.total * f for ri, f in zip(base.runs, sc[:rb])))
        side_h = float(sum(ri.total * f for ri, f in zip(head.runs, sc[rb:])))
        ob = np.zeros(nk + 1)
        oh = np.zeros(nk + 1)
        ob[:nk] = kt.base_total - kt.base_self
        oh[:nk] = kt.head_total - kt.head_self
        ob[nk] = side_b
        oh[nk] = side_h
        ob -= np.bincount(slot, weights=kt.base_total, minlength=nk + 1)
        oh -= np.bincount(slot, weights=kt.head_total, minlength=nk + 1)
        # rounding leaves crumbs of 1e-13 where nothing was pruned
        eps = 1e-9 * max(side_b, side_h, 1e-300)
        ob[ob < eps] = 0.0
        oh[oh < eps] = 0.0
    return PrunedTree(kt, ob, oh, pruned)


def _union_pruned(runs: list[PreparedRun], gmaps: list[np.ndarray], own: np.ndarray,
                  thr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge only the paths that are at least ``thr`` percent wide in some run.

    A union node kept by the flame graph has a side average of at least ``thr``,
    so at least one run holds it at ``thr`` or more (``own`` turns a run's
    values into its own percent). Those rows (closed upward: a parent is as
    wide as its child) are merged; then each run's other rows are looked up,
    level by level, under their matched parents, so every run's value of every
    candidate node is exact. Returns ``(prefix, global key, self [C, R],
    total [C, R])`` of the candidate nodes.
    """
    import pandas as pd

    nk = max((int(g.max()) + 1 for g in gmaps if len(g)), default=0)
    base = nk + 1
    subs, cand_rows = [], []
    for r, g, f in zip(runs, gmaps, own):
        rows = np.flatnonzero(r.total * f >= thr) if len(r.total) else np.zeros(0, np.int64)
        # a wide row's parent is wide too (closed upward): its place among the sorted rows
        par = r.prefix[rows]
        subs.append((np.where(par >= 0, np.searchsorted(rows, par), -1),
                     g[r.key[rows]] if len(rows) else np.zeros(0, np.int64), r.depth[rows]))
        cand_rows.append(rows)
    cprefix, ckey, o2n, _ = tree.merge(subs, nk)
    nc, nr = len(cprefix), len(runs)
    selfm = np.zeros((nc, nr))
    totm = np.zeros((nc, nr))
    if nc == 0:
        return cprefix, ckey, selfm, totm
    index = pd.Index((cprefix + 1) * base + ckey)
    for i, (r, g, rows, m0) in enumerate(zip(runs, gmaps, cand_rows, o2n)):
        m = np.full(len(r.prefix), -1, np.int64)
        m[rows] = m0
        found = [rows]  # every row matched to a candidate: the wide rows and those looked up
        if len(r.prefix) > 1 and bool((r.prefix[1:] >= r.prefix[:-1]).all()):
            _match_children(r.prefix, r.key, g, m, index, base, found)
        else:
            _match_levels(r.prefix, r.key, g, r.depth, m, index, base, found)
        hit = np.concatenate(found)
        selfm[:, i] = np.bincount(m[hit], weights=r.self_[hit], minlength=nc)
        totm[:, i] = np.bincount(m[hit], weights=r.total[hit], minlength=nc)
    return cprefix, ckey, selfm, totm

