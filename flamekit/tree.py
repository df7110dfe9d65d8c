"""Prefix-table algorithms (pipeline stage: model): the call tree as two numpy columns.

A **prefix table** stores every call tree in flamekit (a profile's stack table,
a diff's keyed and union trees, a flame graph's nodes): row ``i`` is one call
path, ``prefix[i]`` the row of the path one frame shorter (its parent, ``-1`` at
a root) and a second column (``frame`` or ``key``) its last frame. Tables are
**root first**: ``prefix[i] < i`` (parents before children), and no two rows
share ``(prefix, frame)`` (a trie). So every walk is a sweep *down* (``i = 0..n-1``,
a row reads its parent) or *up* (``i = n-1..0``, a row adds into its parent).

Like pprof's small ``profile`` operations (Merge, Prune, Compact), each function
here does one thing on plain columns and knows nothing of frames, profiles or
diffs: :func:`from_paths` (build from root-first paths), :func:`merge` (merge
tables, or re-intern one whose keys were mapped), :func:`depths` and
:func:`levels`, :func:`accumulate_up` (subtree sums), :func:`propagate_down` and
:func:`union_down` (path sums and bit-unions), :func:`nearest_marked`,
:func:`topmost` (a key's outermost rows: recursion-safe totals), :func:`prune`
(narrow rows into one ``[other]`` per parent).

**Strategies.** One numpy pass per depth level (no recursion: 100k-deep stacks
work), except for deep, narrow trees (a long recursion: many levels of few rows),
where a Python loop over the rows in index order is faster. One rule,
:func:`loop_is_faster` with one threshold, :data:`LOOP_DEPTH`, decides everywhere.
numpy and pandas (its hash factorization) only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

__all__ = ["LOOP_DEPTH", "loop_is_faster", "depths", "levels", "accumulate_up", "propagate_down",
           "union_down", "nearest_marked", "topmost", "from_paths", "merge", "Pruned", "prune"]

_I64 = np.int64

#: The one threshold of the Python-loop fallback (:func:`loop_is_faster`); also the most
#: block passes :func:`depths` makes before it switches to pointer jumping.
LOOP_DEPTH = 256


def loop_is_faster(levels: int, items: int) -> bool:
    """Return True when a Python loop over ``items`` rows beats ``levels`` numpy passes: on
    deep (over :data:`LOOP_DEPTH` levels), narrow (at most :data:`LOOP_DEPTH` rows a level on
    average) trees, where a pass's fixed few microseconds outweigh 0.1 us a row in a loop."""
    return levels > LOOP_DEPTH and items <= LOOP_DEPTH * levels


def depths(prefix: np.ndarray) -> np.ndarray:
    """Return the depth of each row (a root has depth 1; int32 below 2**31 rows).

    Sweeps blocks of rows whose parents lie before the block (one per level in a
    level ordered table); after :data:`LOOP_DEPTH` small blocks (depth-first order)
    it switches to pointer jumping, O(n log depth).
    """
    prefix = np.asarray(prefix)
    n = len(prefix)
    if n == 0:
        return np.zeros(0, dtype=_I64)
    it = np.int32 if n < 2**31 - 1 else _I64  # compact: a 20M-row table's depths in 80 MB
    d = np.empty(n, dtype=it)
    nb = n // 1024  # running maxima of 1024-row blocks (no n-long running maximum)
    bmax = np.maximum.accumulate(np.r_[prefix[:nb * 1024].reshape(nb, 1024).max(axis=1),
                                       prefix[nb * 1024:].max(initial=-1)])
    i = 0
    for _ in range(LOOP_DEPTH):
        # rows [i, j) have every parent before i: j is the first row with a parent at i or after
        b = int(np.searchsorted(bmax, i, side="left"))  # (prefix[k] < k: never a row before i)
        j = max(n if b > nb else b * 1024 + int(np.argmax(prefix[b * 1024:b * 1024 + 1024] >= i)), i + 1)
        blk = prefix[i:j]
        d[i:j] = np.where(blk >= 0, d[np.maximum(blk, 0)] + 1, 1)
        i = j
        if i >= n:
            return d
    # node n is a sentinel above every root: jump[n] = n, dist[n] = 0
    jump = np.append(np.where(prefix >= 0, prefix, n), n).astype(it)
    dist = np.append(prefix >= 0, False).astype(it)
    while jump.min() != n:
        dist += dist.take(jump)
        jump = jump.take(jump)
    return dist[:n] + 1


def levels(depth: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Group rows by depth: ``(order, bounds)``, the rows of depth ``d`` being
    ``order[bounds[d-1]:bounds[d]]``; ``order`` is None when rows are sorted by depth
    already (:func:`from_paths`, :func:`merge`): levels are then plain slices."""
    maxd = int(depth.max()) if len(depth) else 0
    if len(depth) < 2 or bool((depth[1:] >= depth[:-1]).all()):
        return None, np.searchsorted(depth, np.arange(1, maxd + 2, dtype=depth.dtype))
    order = np.argsort(depth, kind="stable")
    return order, np.searchsorted(depth[order], np.arange(1, maxd + 2, dtype=depth.dtype))


def _plan(prefix: np.ndarray, depth: np.ndarray | None) -> tuple[np.ndarray, int, bool]:
    """Return a non-empty table's depths, its depth, and whether to walk it by a loop."""
    if depth is None:
        depth = depths(prefix)
    maxd = int(depth.max())
    return depth, maxd, loop_is_faster(maxd, len(prefix))


def accumulate_up(prefix: np.ndarray, values: np.ndarray, depth: np.ndarray | None = None
                  ) -> np.ndarray:
    """Return subtree sums (float64): ``out[i] = values[i] + sum(out[c] for children c)``.

    ``values``: shape ``[n]`` or ``[n, k]``. One numpy pass per level (a bincount into
    the parent level when level ordered), or a reverse loop (:func:`loop_is_faster`).
    """
    out = np.array(values, dtype=np.float64, copy=True)
    n = len(prefix)
    if n == 0:
        return out
    depth, maxd, loop = _plan(prefix, depth)
    if loop:
        if out.ndim > 1:
            return np.stack([accumulate_up(prefix, c, depth) for c in out.T], axis=1) \
                if out.shape[1] else out
        ol = out.tolist()
        for i, p in zip(range(n - 1, -1, -1), reversed(prefix.tolist())):
            if p >= 0:
                ol[p] += ol[i]
        return np.asarray(ol, dtype=np.float64)
    order, bounds = levels(depth)
    b = bounds.tolist()
    if order is None:
        cols = [out] if out.ndim == 1 else [out[:, c] for c in range(out.shape[1])]
        for d in range(maxd, 1, -1):
            lo, hi, plo = b[d - 1], b[d], b[d - 2]
            if hi == lo:
                continue
            par = prefix[lo:hi] - plo
            for col in cols:
                col[plo:lo] += np.bincount(par, weights=col[lo:hi], minlength=lo - plo)
        return out
    for d in range(maxd, 1, -1):
        idx = order[b[d - 1]:b[d]]
        np.add.at(out, prefix[idx], out[idx])
    return out


def _sweep_down(prefix: np.ndarray, out: np.ndarray, depth: np.ndarray | None,
                union: bool) -> np.ndarray:
    """``out[i] (+|)= out[prefix[i]]`` from the roots down, in place when numpy does it."""
    n = len(prefix)
    if n == 0:
        return out
    depth, maxd, loop = _plan(prefix, depth)
    if loop:
        pl = prefix.tolist()
        ol = out.tolist()
        if union:
            for i, p in enumerate(pl):
                if p >= 0:
                    ol[i] |= ol[p]
        else:
            for i, p in enumerate(pl):
                if p >= 0:
                    ol[i] += ol[p]
        return np.asarray(ol, dtype=out.dtype)
    order, bounds = levels(depth)
    b = bounds.tolist()
    for d in range(2, maxd + 1):
        idx = slice(b[d - 1], b[d]) if order is None else order[b[d - 1]:b[d]]
        if union:
            out[idx] |= out[prefix[idx]]
        else:
            out[idx] += out[prefix[idx]]
    return out


def propagate_down(prefix: np.ndarray, rel: np.ndarray, depth: np.ndarray | None = None
                   ) -> np.ndarray:
    """Return path sums: ``out[i] = rel[i] + out[prefix[i]]`` (a root keeps ``rel``); float64."""
    return _sweep_down(prefix, np.array(rel, dtype=np.float64, copy=True), depth, False)


def union_down(prefix: np.ndarray, bits: np.ndarray, depth: np.ndarray | None = None
               ) -> np.ndarray:
    """Return path unions: ``out[i] = bits[i] | out[prefix[i]]`` (an unsigned integer array)."""
    return _sweep_down(prefix, bits.copy(), depth, True)


def topmost(prefix: np.ndarray, key: np.ndarray, depth: np.ndarray | None = None,
            keys: np.ndarray | None = None) -> np.ndarray:
    """Flag the rows whose ``key`` does not occur among their ancestors (summing their
    subtree totals per key counts a recursive function once: recursion-safe totals).

    All rows: an Euler tour (pre-order numbers and subtree sizes; over rows sorted
    by (key, pre-order), a running maximum of subtree ends tells whether an earlier
    row of the same key contains the row; a radix sort when keys fit in 16 bits).
    With ``keys`` (a few key ids, e.g. a top-n's candidates), only their rows, by
    one bit per key pushed down the paths (:func:`union_down`, 64 keys a pass).
    """
    n = len(prefix)
    if depth is None:
        depth = depths(prefix)
    if keys is not None:
        return _topmost_of(prefix, key, depth, np.asarray(keys, dtype=_I64))
    if n == 0:
        return np.zeros(0, dtype=bool)
    it = np.int32 if n < 2**31 - 2 else _I64  # row ids and sizes: half the memory traffic
    size = accumulate_up(prefix, np.ones(n), depth).astype(it)
    # offset among siblings (same parent, smaller row id); tables whose prefix column
    # never decreases (levels ordered by parent) have siblings adjacent already
    if n > 1 and bool((prefix[1:] >= prefix[:-1]).all()):
        order = None
        sz, par = size, prefix
    else:
        order = np.argsort(prefix, kind="stable")
        sz = size[order]
        par = prefix[order]
    cs = np.cumsum(sz, dtype=_I64)
    cs -= sz  # sizes of the rows before, in (parent, row) order
    grp_start = np.empty(n, dtype=bool)
    grp_start[0] = True
    np.not_equal(par[1:], par[:-1], out=grp_start[1:])
    base = np.maximum.accumulate(np.where(grp_start, cs, 0))
    if order is None:
        rel = (cs - base).astype(np.float64)
    else:
        rel = np.empty(n, dtype=np.float64)
        rel[order] = cs - base
    rel += prefix >= 0
    pre = propagate_down(prefix, rel, depth).astype(it)
    by_pre = np.empty(n, dtype=it)
    by_pre[pre] = np.arange(n, dtype=it)
    kp = key[by_pre]
    kmax = int(kp.max()) if n else 0
    if 0 <= int(kp.min()) and kmax < 65536:
        kp = kp.astype(np.uint16)
    srt = np.argsort(kp, kind="stable")
    o = by_pre[srt]
    # key[o] is kp[srt], and pre[o] is srt itself (o lists rows by pre-order within keys)
    start_o = kp[srt].astype(_I64) * (n + 1)
    start_o += srt
    cm = start_o + size[o]
    np.maximum.accumulate(cm, out=cm)
    top_o = np.empty(n, dtype=bool)
    top_o[0] = True
    np.less_equal(cm[:-1], start_o[1:], out=top_o[1:])
    top = np.empty(n, dtype=bool)
    top[o] = top_o
    return top


def _topmost_of(prefix: np.ndarray, key: np.ndarray, depth: np.ndarray, keys: np.ndarray
                ) -> np.ndarray:
    """:func:`topmost` restricted to the rows of ``keys``: one bit per key, 64 keys a pass."""
    n = len(prefix)
    top = np.zeros(n, dtype=bool)
    if n == 0 or not len(keys):
        return top
    nk = max(int(key.max()), int(keys.max())) + 1
    for s in range(0, len(keys), 64):
        batch = keys[s:s + 64]
        dt = np.uint16 if len(batch) <= 16 else np.uint32 if len(batch) <= 32 else np.uint64
        bit = np.zeros(nk, dtype=dt)
        bit[batch] = np.left_shift(dt(1), np.arange(len(batch), dtype=dt))
        own = bit[key]  # a row's own bit, 0 outside the batch (whole columns: no row lists)
        above = union_down(prefix, own, depth)[prefix]  # a root's -1 reads the last row:
        above[prefix < 0] = 0  # nothing is above a root
        above &= own
        top |= (above == 0) & (own != 0)
    return top


def from_paths(flat: np.ndarray, lengths: np.ndarray, sort: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Build a prefix table from root-first paths: ``flat`` holds their frame ids back to
    back, ``lengths`` their lengths (>= 1, else ValueError). Returns ``(prefix, frame,
    leaf)``, ``leaf[i]`` the row of path ``i``. One hash factorization per depth level
    (rows level ordered; with ``sort`` by (parent, frame) within a level, so ``prefix``
    never decreases); deep, narrow inputs, or the tail of a few very long paths, are
    walked with a dict (:func:`loop_is_faster`), where ``sort`` does not hold.
    """
    from .keys import factorize

    flat = np.asarray(flat)
    if flat.dtype != np.int32:  # int32 ids stay int32 (half the memory of a 40M-frame input)
        flat = flat.astype(_I64)
    lengths = np.asarray(lengths, dtype=_I64)
    npaths = len(lengths)
    if npaths == 0:
        e = np.zeros(0, dtype=_I64)
        return e, e.copy(), e.copy()
    if (lengths < 1).any():
        raise ValueError("from_paths: every path needs at least one frame")
    maxlen = int(lengths.max())
    starts = np.zeros(npaths, dtype=_I64)
    np.cumsum(lengths[:-1], out=starts[1:])
    if loop_is_faster(maxlen, len(flat)):
        leaf = np.full(npaths, -1, dtype=_I64)
        prefix, frame = _walk(flat, starts, starts + lengths, leaf, 0)
        return prefix, frame, leaf
    nframes = int(flat.max()) + 1 if len(flat) else 1
    prefixes, frames, total = [], [], 0
    # order paths by length descending so "paths still alive at depth d" is a prefix slice
    order = np.argsort(-lengths, kind="stable")
    lens_sorted = lengths[order]
    starts_sorted = starts[order]
    frames_before = np.zeros(npaths + 1, dtype=_I64)  # frames of the longest j paths
    np.cumsum(lens_sorted, out=frames_before[1:])
    node_sorted = np.full(npaths, -1, dtype=_I64)  # aligned with `order`
    for d in range(maxlen):
        alive = int(np.searchsorted(-lens_sorted, -(d + 1), side="right"))
        if loop_is_faster(maxlen - d, int(frames_before[alive]) - alive * d):
            # few, very deep paths left: a dict walk beats one factorize per level
            pl, fl = _walk(flat, starts_sorted[:alive] + d, starts_sorted[:alive] +
                           lens_sorted[:alive], node_sorted[:alive], total)
            prefixes.append(pl)
            frames.append(fl)
            total += len(pl)
            break
        parents = node_sorted[:alive]
        fr = flat[starts_sorted[:alive] + d]
        key = (parents + 1) * nframes + fr
        codes, uniq = factorize(key, sort=sort)
        uniq = np.asarray(uniq, dtype=_I64)
        prefixes.append(uniq // nframes - 1)
        frames.append(uniq % nframes)
        node_sorted[:alive] = codes.astype(_I64) + total
        total += len(uniq)
    prefix = np.concatenate(prefixes)
    frame = np.concatenate(frames)
    leaf = np.empty(npaths, dtype=_I64)
    leaf[order] = node_sorted
    return prefix, frame, leaf


def _walk(flat: np.ndarray, starts: np.ndarray, ends: np.ndarray, nodes: np.ndarray,
          first: int) -> tuple[np.ndarray, np.ndarray]:
    """Walk paths ``flat[starts[j]:ends[j]]`` down a dict trie from rows ``nodes[j]`` (set to
    their last rows); return the new rows' ``(prefix, frame)``, numbered from ``first``."""
    children: dict[tuple[int, int], int] = {}
    pl, fl = [], []
    for j, (s0, s1) in enumerate(zip(starts.tolist(), ends.tolist())):
        node = int(nodes[j])
        for f in flat[s0:s1].tolist():
            key = (node, f)
            nxt = children.get(key)
            if nxt is None:
                nxt = children[key] = first + len(pl)
                pl.append(node)
                fl.append(f)
            node = nxt
        nodes[j] = node
    return np.asarray(pl, dtype=_I64), np.asarray(fl, dtype=_I64)


def merge(tables: Sequence[tuple], nkeys: int, sort: bool = False, with_depth: bool = True
          ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Merge prefix tables ``(prefix, key, depth)`` (keys below ``nkeys``) into one trie
    keyed by ``(parent, key)``; one table whose keys were mapped is re-interned so.

    Returns ``(prefix, key, old_to_new, depth)`` (old_to_new per table; depth None unless
    ``with_depth``). One hash factorization per depth (rows level ordered; ``sort``: by
    (parent, key) within a level), or row by row for deep, narrow tables (:func:`loop_is_faster`).
    """
    maxd = max((int(t[2].max()) for t in tables if len(t[2])), default=0)
    nrows = sum(len(t[0]) for t in tables)
    if loop_is_faster(maxd, nrows):
        up, uk, o2n = _merge_loop(tables)
        return up, uk, o2n, depths(up) if with_depth else None
    up, uk, o2n, lvl_n = _merge_levels(tables, maxd, nkeys, sort)
    return up, uk, o2n, np.repeat(np.arange(1, maxd + 1, dtype=_I64), lvl_n) if with_depth else None


def _merge_loop(tables: Sequence[tuple]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Merge the tables row by row (``prefix[i] < i``): for deep, narrow tables."""
    children: dict[tuple[int, int], int] = {}
    up, uk, o2n = [], [], []
    for prefix, key, _ in tables:
        pl = prefix.tolist()
        kl = key.tolist()
        m = [0] * len(pl)
        for i, (p, k) in enumerate(zip(pl, kl)):
            par = m[p] if p >= 0 else -1
            u = children.get((par, k))
            if u is None:
                u = children[(par, k)] = len(up)
                up.append(par)
                uk.append(k)
            m[i] = u
        o2n.append(np.asarray(m, dtype=_I64))
    return np.asarray(up, dtype=_I64), np.asarray(uk, dtype=_I64), o2n


def _merge_levels(tables: Sequence[tuple], maxd: int, nk: int, sort: bool
                  ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """Merge the tables level by level (one hash factorization of (parent, key) per depth);
    last item: the rows per level."""
    from .keys import factorize

    # rows of each table grouped by depth (level ordered tables already are: no sort then)
    lv = []
    for _, _, d in tables:
        order, bounds = levels(d)
        b = bounds.tolist()
        lv.append((order, b + [len(d)] * (maxd + 1 - len(b))))
    o2n = [np.empty(len(t[0]), dtype=_I64) for t in tables]
    pres, ukeys = [], []
    lvl_n = np.zeros(maxd, dtype=_I64)
    total = 0
    base = nk + 1
    for d in range(1, maxd + 1):
        parts, idxs = [], []
        for (prefix, key, _), (order, b), m in zip(tables, lv, o2n):
            lo, hi = b[d - 1], b[d]
            if hi == lo:
                idxs.append(None)
                continue
            idx = slice(lo, hi) if order is None else order[lo:hi]
            idxs.append(idx)
            parts.append(key[idx] if d == 1 else (m[prefix[idx]] + 1) * base + key[idx])
        if not parts:
            continue
        code = np.concatenate(parts) if len(parts) > 1 else parts[0]
        codes, uniq = factorize(code, sort=sort)
        uniq = np.asarray(uniq, dtype=_I64)
        codes = codes.astype(_I64) + total
        pos = 0
        for idx, m in zip(idxs, o2n):
            if idx is None:
                continue
            n = (idx.stop - idx.start) if isinstance(idx, slice) else len(idx)
            m[idx] = codes[pos:pos + n]
            pos += n
        it = np.int32 if total + len(uniq) < 2**31 and nk < 2**31 else _I64  # lists: half the memory
        pres.append((uniq // base - 1).astype(it))  # a root's code is its key: (-1 + 1) * base + key
        ukeys.append((uniq % base).astype(it))
        lvl_n[d - 1] = len(uniq)
        total += len(uniq)
    uprefix = np.concatenate(pres, dtype=_I64) if pres else np.zeros(0, _I64)
    del pres[:]  # freed before the keys' column exists (peak memory of a 20M-row merge)
    return uprefix, np.concatenate(ukeys, dtype=_I64) if ukeys else np.zeros(0, _I64), o2n, lvl_n


@dataclass
class Pruned:
    """A table cut by :func:`prune`: ``prefix``, the kept rows renumbered then one
    ``[other]`` row per parent that lost children (parents ascending, -1 first);
    ``kept``, their old ids; ``cut``, the old rows heading a pruned subtree.
    :meth:`new_rows` maps old rows to new ones."""

    prefix: np.ndarray
    kept: np.ndarray
    cut: np.ndarray
    dest: np.ndarray = field(repr=False)  # old row -> new row (a pruned row's: its [other])
    cut_other: np.ndarray = field(repr=False)  # per cut row (ascending): its [other] row

    @property
    def n_kept(self) -> int:
        """Number of kept rows (the ``[other]`` rows follow them)."""
        return int(len(self.kept))

    def new_rows(self, rows: np.ndarray) -> np.ndarray:
        """Return the new row of each old row in ``rows`` (a pruned row's: its ``[other]``)."""
        return self.dest[np.asarray(rows, dtype=_I64)].astype(_I64)


def prune(prefix: np.ndarray, keep: np.ndarray, depth: np.ndarray | None = None) -> Pruned:
    """Cut the rows outside ``keep`` (closed under ancestors, as a width threshold on
    subtree totals is): each pruned subtree goes into the ``[other]`` row of its nearest
    kept ancestor (a root-level one when there is none). See :class:`Pruned` (int32 maps)."""
    n = len(prefix)
    it = np.int32 if n < 2**30 else _I64
    parent_kept = np.where(prefix >= 0, keep[np.maximum(prefix, 0)], True)
    cut = ~keep & parent_kept
    del parent_kept
    cut_rows = np.flatnonzero(cut)
    uniq_par = np.unique(prefix[cut_rows])
    newid = np.cumsum(keep, dtype=it)
    newid -= 1
    kept = np.flatnonzero(keep)
    n_keep = len(kept)
    kp = prefix[kept]
    new_prefix = np.concatenate([np.where(kp >= 0, newid[np.maximum(kp, 0)], -1),
                                 np.where(uniq_par >= 0, newid[np.maximum(uniq_par, 0)], -1)])
    cut_other = n_keep + np.searchsorted(uniq_par, prefix[cut_rows])
    # every pruned row has exactly one cut row on its path (the top of its pruned
    # subtree): a sum down the paths of (its [other] row + 1), set at the cut rows
    dest = np.zeros(n, dtype=it)
    dest[cut_rows] = cut_other + 1
    dest = _sweep_down(prefix, dest, depth, False)
    dest -= 1
    np.copyto(dest, newid, where=keep)
    return Pruned(new_prefix.astype(_I64), kept, cut, dest, cut_other)


def nearest_marked(prefix: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """Return per row the nearest row at or above it (itself, its parent...) with ``mark``, or
    -1: pointer jumping, ``log2(d)`` numpy passes for a chain of ``d`` unmarked rows."""
    up = np.where(mark, np.arange(len(prefix), dtype=_I64), np.asarray(prefix, dtype=_I64))
    while True:
        pending = np.flatnonzero((up >= 0) & ~mark[np.maximum(up, 0)])
        if not len(pending):
            return up
        up[pending] = up[up[pending]]
