"""The flame graph payload (pipeline stage: render): columnar, interned, JSON-ready.

This is the one definition of the data the report's JavaScript reads
(``templates/js/flamegraph.js`` names the same layout in its header comment).
Like memray's packed data and pprof's ``StackSet``, every string lives once in
a string table and everything else is integer or number columns. Arrays are
never null; optional sections are absent rather than null.

Payload version 1::

    {
      "version": 1,
      "strings": [str, ...],            # string table; strings[0] == ""
      "frames":  {"name": [si], "file": [si], "line": [int], "module": [si],
                  "kind": [si], "func": [int],    # func: id of (name, file, module, kind)
                  "library": [0|1]},  # 1: standard library, site-packages or <frozen> code
                                      # (flamekit.model.is_library; the page's library switch)
      "nodes":   {"parent": [int], "frame": [int]},  # call tree, ROOT FIRST:
                                                     # parent[i] < i, -1 at a root
      "samples": {"node": [int], "thread": [int],    # aggregated per (node, thread)
                  "values": [[num, ...], ...]},      # values[type][row]
      "types":   {"name": [si], "unit": [si]},
      "threads": {"name": [si], "id": [int], "pid": [int],   # pid -1 when unknown
                  "command": [si]},       # the process's command line ("" when unknown)
      "defaultType": int,                            # index into types
      "pruned":  {"fraction": num, "nodes": int, "share": [num per type],
                  "otherFrame": int},                # -1 when nothing was pruned
      "diff":    {"base": int, "head": int}          # OPTIONAL: differential mode
    }

``si`` is an index into ``strings``. Every string a page shows (here and in
the report and diff sections) goes through :func:`clip`, the one rule: longer
than :data:`MAX_STRING` characters, it is cut to ``MAX_STRING - 1`` and ends
in "…" (plain text, before any escaping). Sample rows are in order of first
appearance of their (node, thread) in the profile's samples, as the Python
exporters write them.

Pruning (:func:`prune`) runs *before* the payload is built: stack rows whose
total (absolute value, in every sample type) is below ``fraction`` of the grand
total are merged, per parent, into one ``[other]`` row, and the pruned share is
reported in ``pruned``.

:func:`decode` is a small Python mirror of the JavaScript decoder, for tests.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..model import Frame, Profile, SampleType, is_library
from ..numfmt import as_numbers
from ..strtable import StringTable
from ..tree import accumulate_up, depths, prune as prune_table

PAYLOAD_VERSION = 1
#: Default pruning threshold: 0.1 px of a 1200 px wide graph.
DEFAULT_PRUNE = 1.0 / 12000
#: Longest string kept in the payload (characters); longer ones are cut and end in "…".
MAX_STRING = 1024
#: The frame that stands for the merged, pruned children of a node.
OTHER_FRAME = Frame("[other]", "", 0, "flamekit", "unknown")


@dataclass
class PruneInfo:
    """What :func:`prune` removed: the threshold, rows merged, and share per sample type."""

    fraction: float
    nodes_before: int
    nodes_after: int
    pruned_nodes: int = 0
    share: list[float] = field(default_factory=list)
    other_frame: int = -1


def prune(p: Profile, fraction: float = DEFAULT_PRUNE) -> tuple[Profile, PruneInfo]:
    """Merge stack rows narrower than ``fraction`` of the total into one ``[other]`` row per parent.

    A row is kept when, in at least one sample type, its subtree's absolute value
    is at least ``fraction`` of that type's absolute grand total (so keeping is
    closed under ancestors). Samples of a pruned subtree move to the ``[other]``
    child of the subtree's nearest kept ancestor (a root-level ``[other]`` row
    when there is none). Returns the new profile and a :class:`PruneInfo`.
    """
    n, k = p.n_stacks, len(p.sample_types)
    info = PruneInfo(float(fraction), n, n, 0, [0.0] * k, -1)
    if n == 0 or fraction <= 0 or p.n_samples == 0:
        return p, info
    absv = np.abs(p.values)
    depth = depths(p.stack_prefix)
    grand = np.zeros(k)
    keep = np.zeros(n, dtype=bool)
    for t in range(k):  # one type at a time: a few n-long arrays alive, not n x k ones
        self_t = np.bincount(p.sample_stack, weights=absv[:, t], minlength=n)
        grand[t] = self_t.sum()
        if grand[t] > 0:
            keep |= accumulate_up(p.stack_prefix, self_t, depth) / grand[t] >= fraction
        del self_t
    if not (grand > 0).any() or keep.all():
        return p, info
    pr = prune_table(p.stack_prefix, keep, depth)
    del depth
    n_keep = pr.n_kept
    other_fid = len(p.frames)
    new_prefix = pr.prefix
    new_frame = np.concatenate([p.stack_frame[pr.kept],
                                np.full(len(new_prefix) - n_keep, other_fid, dtype=np.int64)])
    new_s = pr.new_rows(p.sample_stack)
    moved = ~keep[p.sample_stack]
    moved_share = absv[moved].sum(axis=0)
    info.share = [float(m / g) if g > 0 else 0.0 for m, g in zip(moved_share, grand)]
    info.pruned_nodes = int(n - n_keep)
    info.nodes_after = int(len(new_prefix))
    info.other_frame = other_fid
    q = p.copy(frames=list(p.frames) + [OTHER_FRAME], stack_prefix=new_prefix,
               stack_frame=new_frame, sample_stack=new_s)
    return q, info


def clip(s: object, limit: int = MAX_STRING) -> str:
    """Return ``s`` as page text of at most ``limit`` characters (cut ones end in "…").

    The one clipping rule of the report and diff pages: graph strings, table
    rows and tooltips all use it with the default :data:`MAX_STRING`, so the
    same name is the same text everywhere (titles and metadata pass a limit).
    """
    s = str(s)
    return s if len(s) <= limit else s[:limit - 1] + "\u2026"


def _command(p: Profile, pid: int | None) -> str:
    """Return the command line of process ``pid`` from ``meta["processes"]`` ("" when unknown)."""
    procs = p.meta.get("processes")
    if pid is None or not isinstance(procs, dict):
        return ""
    return str(procs.get(str(pid), ""))


def frame_map(q: Profile) -> np.ndarray:
    """Return the payload frame id of each of ``q``'s frames (-1 for frames no stack row uses).

    The payload keeps only used frames, in their order.
    """
    used = np.zeros(len(q.frames), dtype=bool)
    if q.n_stacks:
        used[q.stack_frame] = True
    return np.where(used, np.cumsum(used) - 1, -1)


def build_payload(p: Profile, *, prune_fraction: float = DEFAULT_PRUNE,
                  sample_type: str | int | SampleType | None = None,
                  diff: tuple[int, int] | None = None) -> tuple[dict, PruneInfo]:
    """Prune ``p`` and return ``(payload, prune_info)``; see the module docstring for the layout.

    ``sample_type`` picks the type shown first (default: the first type).
    ``diff=(base, head)`` names two sample type indices and turns on the
    differential mode of the flame graph.
    """
    default_type = p.type_index(sample_type) if p.sample_types else 0
    q, info = prune(p, prune_fraction)
    return payload_from_pruned(q, info, default_type=default_type, diff=diff), info


def payload_from_pruned(q: Profile, info: PruneInfo, *, default_type: int = 0,
                        diff: tuple[int, int] | None = None) -> dict:
    """Return the payload of an already pruned profile ``q`` (see :func:`build_payload`)."""
    table = StringTable()

    def strings(s: object) -> int:
        return table(clip(s))

    fmap = frame_map(q)
    frames = [f for f, m in zip(q.frames, fmap.tolist()) if m >= 0]
    func_ids: dict[tuple[str, str, str, str], int] = {}
    fr = {"name": [], "file": [], "line": [], "module": [], "kind": [], "func": [], "library": []}
    for f in frames:
        fr["name"].append(strings(f.name))
        fr["file"].append(strings(f.file))
        fr["line"].append(int(f.line))
        fr["module"].append(strings(f.module))
        fr["kind"].append(strings(f.kind))
        fr["func"].append(func_ids.setdefault((f.name, f.file, f.module, f.kind), len(func_ids)))
        fr["library"].append(int(is_library(f)))
    other = int(fmap[info.other_frame]) if 0 <= info.other_frame < len(fmap) else -1
    nt = max(len(q.threads), 1)
    if q.n_samples:
        key = q.sample_stack * nt + q.sample_thread
        # first appearance, as the exporters write (and a hash pass beats np.unique's sort)
        inv, uniq = pd.factorize(key, sort=False)
        uniq = np.asarray(uniq, dtype=np.int64)
        vals = [np.bincount(inv, weights=q.values[:, t], minlength=len(uniq))
                for t in range(len(q.sample_types))]
    else:
        uniq = np.zeros(0, dtype=np.int64)
        vals = [np.zeros(0) for _ in q.sample_types]
    payload: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "frames": fr,
        "nodes": {"parent": q.stack_prefix.tolist(),
                  "frame": fmap[q.stack_frame].tolist() if q.n_stacks else []},
        "samples": {"node": (uniq // nt).tolist(), "thread": (uniq % nt).tolist(),
                    "values": [as_numbers(v) for v in vals]},
        "types": {"name": [strings(t.name) for t in q.sample_types],
                  "unit": [strings(t.unit) for t in q.sample_types]},
        "threads": {"name": [strings(t.name) for t in q.threads],
                    "id": [int(t.id) for t in q.threads],
                    "pid": [-1 if t.pid is None else int(t.pid) for t in q.threads],
                    "command": [strings(_command(q, t.pid)) for t in q.threads]},
        "defaultType": int(default_type),
        "pruned": {"fraction": float(info.fraction), "nodes": int(info.pruned_nodes),
                   "share": [float(x) for x in info.share], "otherFrame": other},
    }
    if diff is not None:
        b, h = (q.type_index(x) for x in diff)
        payload["diff"] = {"base": int(b), "head": int(h)}
    payload["strings"] = table.table
    return payload


# ---------------------------------------------------------------------------
# A tiny decoder mirroring the JavaScript (tests use it)
# ---------------------------------------------------------------------------
@dataclass
class Decoded:
    """A decoded payload: resolved strings and per-view self/total per node."""

    payload: dict
    names: list[str]
    files: list[str]
    parent: np.ndarray
    frame: np.ndarray

    def view(self, type_index: int | None = None, thread: int | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(self, total)`` per node for one type and thread (None: all threads)."""
        p = self.payload
        t = p["defaultType"] if type_index is None else type_index
        node = np.asarray(p["samples"]["node"], dtype=np.int64)
        th = np.asarray(p["samples"]["thread"], dtype=np.int64)
        v = np.asarray(p["samples"]["values"][t], dtype=np.float64) if len(node) else np.zeros(0)
        if thread is not None:
            m = th == thread
            node, v = node[m], v[m]
        n = len(self.parent)
        self_ = np.bincount(node, weights=v, minlength=n).astype(np.float64) if n else np.zeros(0)
        total = self_.copy()
        pl = self.parent.tolist()
        for i in range(n - 1, -1, -1):  # parent[i] < i: one reverse pass, like the JS
            if pl[i] >= 0:
                total[pl[i]] += total[i]
        return self_, total

    def node_names(self) -> list[str]:
        """Return the frame name of every node."""
        return [self.names[f] for f in self.frame.tolist()]

    def search(self, pattern: str, regex: bool = False, type_index: int | None = None,
               thread: int | None = None) -> tuple[int, float]:
        """Count nodes (with a non-zero total) whose name matches; return ``(nodes, share)``.

        The share counts each sample once (matches nested under a match are not
        added again), as the JS search does.
        """
        import re

        _, total = self.view(type_index, thread)
        if regex:
            rx = re.compile(pattern)
            hit = [bool(rx.search(n)) for n in self.names]
        else:
            hit = [pattern in n for n in self.names]
        fl, pl = self.frame.tolist(), self.parent.tolist()
        covered = [False] * len(fl)
        count, share = 0, 0.0
        for i in range(len(fl)):
            m = hit[fl[i]]
            par_cov = covered[pl[i]] if pl[i] >= 0 else False
            covered[i] = par_cov or m
            if m and total[i] != 0:
                count += 1
                if not par_cov:
                    share += total[i]
        gt = float(np.abs(total[self.parent < 0]).sum()) if len(total) else 0.0
        return count, (share / gt if gt else 0.0)


def decode(payload: dict) -> Decoded:
    """Decode a payload the way ``flamegraph.js`` does (strings resolved, arrays as numpy)."""
    if payload.get("version") != PAYLOAD_VERSION:
        raise ValueError(f"unsupported payload version {payload.get('version')!r}")
    s = payload["strings"]
    names = [s[i] for i in payload["frames"]["name"]]
    files = [s[i] for i in payload["frames"]["file"]]
    return Decoded(payload, names, files,
                   np.asarray(payload["nodes"]["parent"], dtype=np.int64),
                   np.asarray(payload["nodes"]["frame"], dtype=np.int64))
