"""The source view's stacks (pipeline stage: render): per-line figures of a time range.

``report["source"]["funcs"]`` holds each listed function's per-line self and total
over the whole profile (:mod:`flamekit.analysis.source`). A time range
(``templates/js/timeline.js``) filters sample rows, whose payload nodes are
grouped by function and pruned: their lines are gone. So a report with a time
order also embeds ``report["source"]["stacks"]``, the profile's stacks reduced
to what the source view needs, and ``report["timeline"]["lnode"]``, each time
row's node in it; ``templates/js/source.js`` sums the range's rows per node and
walks the nodes once to get a function's per-line self and total in the range::

    "stacks": {"parent": [int],   # per node, ROOT FIRST: parent[i] < i, -1 at a root
               "func": [int],     # payload func id of a function the source view lists;
                                  # -1: frames of any other function (one node for a run of them)
               "line": [int],     # the line (0: unknown); 0 where func is -1
               "hidden": {"node": [int], "leaf": [int]}}   # OPTIONAL, see below
    "stacks": {"omitted": str}    # why there are none (too many nodes)

A stack keeps its listed frames in order, each at its line, so a function's
outermost occurrence on it is the first node of that function on the node's
path (its total's line); a sample's self goes to its node when the node is a
listed function (a sample ending in another function ends in a ``-1`` node).
With library frames hidden (the page's switch, :func:`flamekit.model.hide_libraries`)
a sample's self goes to its deepest kept frame instead: ``hidden`` lists the nodes
where that is not the node itself (listed) or nothing (``-1`` nodes): ``leaf`` is
the node to credit, -1 for none. Nodes are made level by level (a node is keyed
by its parent, function, line and hidden leaf), so ``parent[i] < i``.
"""
from __future__ import annotations

from operator import attrgetter
from typing import Any

import numpy as np

from .. import tree
from ..keys import factorize
from ..model import Profile, fold_targets, library_frames
from .payload import MAX_STRING, clip

#: Most nodes embedded (about 2 MB of JSON at most); past them the view says a range has no lines.
MAX_NODES = 150_000


def listed_functions(p: Profile, payload: dict, source: dict) -> np.ndarray:
    """Return the payload func id of each frame of ``p`` when the source view lists its function, else -1."""
    S, F = payload["strings"], payload["frames"]
    listed = np.asarray(sorted(int(k) for k in source.get("funcs", {})), dtype=np.int64)
    fid = np.asarray(F["func"], dtype=np.int64)
    want: dict[tuple, int] = {}  # (name, file, module, kind) as the payload has them (clipped)
    for i in np.flatnonzero(np.isin(fid, listed)).tolist():
        want.setdefault((S[F["name"][i]], S[F["file"][i]], S[F["module"][i]], S[F["kind"][i]]), int(fid[i]))
    get = want.get
    ids = [get(k, -1) for k in map(attrgetter("name", "file", "module", "kind"), p.frames)]
    if any(len(x) == MAX_STRING for x in S):  # some string was clipped: look long ones up clipped
        for i, f in enumerate(p.frames):
            if ids[i] < 0 and max(len(f.name), len(f.file), len(f.module), len(f.kind)) > MAX_STRING:
                ids[i] = get(tuple(map(clip, (f.name, f.file, f.module, f.kind))), -1)
    return np.asarray(ids, dtype=np.int64)


def line_stacks(p: Profile, frame_func: np.ndarray, *, max_nodes: int | None = None
                ) -> tuple[dict[str, Any], np.ndarray | None]:
    """Return ``(stacks, node of each stack row)`` (see the module docstring); None rows when omitted.

    ``frame_func`` is :func:`listed_functions` of ``p``; past ``max_nodes`` nodes
    (default :data:`MAX_NODES`) the stacks are omitted.
    """
    if max_nodes is None:
        max_nodes = MAX_NODES
    n = p.n_stacks
    prefix = p.stack_prefix
    line_of = np.maximum(np.fromiter((f.line for f in p.frames), dtype=np.int64, count=len(p.frames)), 0)
    rf = frame_func[p.stack_frame] if n else np.zeros(0, dtype=np.int64)
    rl = np.where(rf >= 0, line_of[p.stack_frame], 0) if n else np.zeros(0, dtype=np.int64)
    target = None
    lib = library_frames(p.frames)
    if n and lib.any():
        target = fold_targets(p, lib)[1]
    # (func, line) as one small code; a key's fields each fit ``bits`` bits
    if n:  # (lines are any 64-bit integers: coded densely before they are combined)
        lcode, lines = factorize(rl)
        pair, pairs = factorize(rf * len(lines) + lcode)
    else:
        pair, pairs = np.zeros(0, dtype=np.int64), []
    bits = max(int(max(n, len(pairs)) + 3).bit_length(), 1)
    if 3 * bits > 62:
        return {"omitted": "too many distinct stacks"}, None
    node = np.empty(n, dtype=np.int64)  # each row's node
    # per node (at most one a row): parent, func, line, hidden leaf (-2 itself, -1 none, else a node)
    parent, func, line, hleaf = (np.empty(n, dtype=np.int64) for _ in range(4))
    made = 0
    order, bounds = tree.levels(tree.depths(prefix)) if n else (None, np.zeros(1, dtype=np.int64))
    mask = (1 << bits) - 1
    for d in range(len(bounds) - 1):
        lo, hi = int(bounds[d]), int(bounds[d + 1])
        rows = np.arange(lo, hi) if order is None else order[lo:hi]
        if not len(rows):
            continue
        pre = prefix[rows]
        par = np.where(pre >= 0, node[np.maximum(pre, 0)], -1)
        own = rf[rows] >= 0
        if target is None:
            h = np.where(own, -2, -1)
        else:  # the deepest kept row at or above (its node made already when it is not this row)
            t = target[rows]
            here = t == rows
            h = np.where(rf[t] >= 0, np.where(here, -2, node[np.where(here, 0, t)]), -1)
        # a row of another function under a "-1" node with the same hidden leaf is that node
        pp = np.maximum(par, 0)
        same = ~own & (par >= 0) & (func[pp] < 0) & (hleaf[pp] == h)
        node[rows[same]] = par[same]
        new = ~same
        if not new.any():
            continue
        rn = rows[new]
        key = ((par[new] + 1) << (2 * bits)) | (np.where(own[new], pair[rn] + 1, 0) << bits) | (h[new] + 2)
        codes, uniq = factorize(key)
        uniq = np.asarray(uniq, dtype=np.int64)
        k = len(uniq)
        if made + k > max_nodes:
            return {"omitted": "too many distinct stacks"}, None
        node[rn] = made + codes
        first = np.empty(k, dtype=np.int64)
        first[codes[::-1]] = rn[::-1]  # a row of each new node
        listed = ((uniq >> bits) & mask) > 0
        parent[made:made + k] = (uniq >> (2 * bits)) - 1
        func[made:made + k] = np.where(listed, rf[first], -1)
        line[made:made + k] = np.where(listed, rl[first], 0)
        hleaf[made:made + k] = (uniq & mask) - 2
        made += k
    parent, func, line, hleaf = parent[:made], func[:made], line[:made], hleaf[:made]
    out: dict[str, Any] = {"parent": parent.tolist(), "func": func.tolist(), "line": line.tolist()}
    if target is not None:
        plain = np.where(func >= 0, -2, -1)
        odd = np.flatnonzero(hleaf != plain)
        out["hidden"] = {"node": odd.tolist(), "leaf": np.where(hleaf[odd] == -2, odd, hleaf[odd]).tolist()}
    return out, node
