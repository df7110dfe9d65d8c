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
                  "otherFrame": int,                 # -1 when nothing was pruned
                  "maxNodes": int,                   # the detail budget (0: none)
                  "other": {"node": [int], "children": [int], "frames": [int]}},
                  # per [other] node: how many children of its parent it replaces,
                  # and how many frames (call-tree nodes) in all
      "diff":    {"base": int, "head": int}          # OPTIONAL: differential mode
    }

``si`` is an index into ``strings``. Every string a page shows (here and in
the report and diff sections) goes through :func:`clip`, the one rule: longer
than :data:`MAX_STRING` characters, it is cut to ``MAX_STRING - 1`` and ends
in "…" (plain text, before any escaping). Sample rows are in order of first
appearance of their (node, thread) in the profile's samples, as the Python
exporters write them.

Pruning (:func:`flamekit.render.prune.prune`) runs *before* the payload is
built: rows outside the detail budget (below ``fraction`` of their thread's
total in every sample type, and beyond the ``maxNodes`` heaviest) are merged,
per parent, into one ``[other]`` row, and the pruned share is reported in
``pruned``.

:func:`decode` is a small Python mirror of the JavaScript decoder, for tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np

from ..keys import factorize
from ..model import Profile, SampleType, library_frames
from ..numfmt import as_numbers
from ..strtable import StringTable
from .prune import (DEFAULT_MAX_NODES, DEFAULT_MIN_SHARE, DEFAULT_PRUNE, OTHER_FRAME, PruneInfo,
                    prune)

__all__ = ["PAYLOAD_VERSION", "MAX_STRING", "DEFAULT_MAX_NODES", "DEFAULT_MIN_SHARE",
           "DEFAULT_PRUNE", "OTHER_FRAME", "PruneInfo", "prune", "clip", "frame_map",
           "build_payload", "payload_from_pruned", "Decoded", "decode"]

PAYLOAD_VERSION = 1
#: Longest string kept in the payload (characters); longer ones are cut and end in "…".
MAX_STRING = 1024


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


def build_payload(p: Profile, *, prune_fraction: float = DEFAULT_MIN_SHARE,
                  max_nodes: int = DEFAULT_MAX_NODES,
                  sample_type: str | int | SampleType | None = None,
                  diff: tuple[int, int] | None = None) -> tuple[dict, PruneInfo]:
    """Prune ``p`` and return ``(payload, prune_info)``; see the module docstring for the layout.

    ``prune_fraction`` and ``max_nodes`` are :func:`~flamekit.render.prune.prune`'s
    ``min_share`` and ``max_nodes``. ``sample_type`` picks the type shown first
    (default: the first type). ``diff=(base, head)`` names two sample type
    indices and turns on the differential mode of the flame graph.
    """
    default_type = p.type_index(sample_type) if p.sample_types else 0
    q, info = prune(p, prune_fraction, max_nodes)
    return payload_from_pruned(q, info, default_type=default_type, diff=diff), info


def payload_from_pruned(q: Profile, info: PruneInfo, *, default_type: int = 0,
                        diff: tuple[int, int] | None = None) -> dict:
    """Return the payload of an already pruned profile ``q`` (see :func:`build_payload`)."""
    table = StringTable()

    def strings(s: object) -> int:
        return table(clip(s))

    fmap = frame_map(q)
    frames = [f for f, m in zip(q.frames, fmap.tolist()) if m >= 0]
    # each frame's four strings, interned in the order name, file, module, kind of frame 0, 1...
    idents = list(map(attrgetter("name", "file", "module", "kind"), frames))
    flat = list(chain.from_iterable(idents))
    short = not flat or (set(map(type, flat)) == {str} and max(map(len, flat)) <= MAX_STRING)
    sid = table.many(flat if short else map(clip, flat))  # clip(s) is s for a short str
    func_ids: dict[tuple[str, str, str, str], int] = {}
    fr = {"name": sid[0::4], "file": sid[1::4], "line": [int(f.line) for f in frames],
          "module": sid[2::4], "kind": sid[3::4],
          "func": [func_ids.setdefault(k, len(func_ids)) for k in idents],
          "library": library_frames(frames).view(np.uint8).tolist()}
    other = int(fmap[info.other_frame]) if 0 <= info.other_frame < len(fmap) else -1
    nt = max(len(q.threads), 1)
    if q.n_samples:
        key = q.sample_stack * nt + q.sample_thread
        # first appearance, as the exporters write (and a hash pass beats np.unique's sort)
        inv, uniq = factorize(key, sort=False)
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
                   "share": [float(x) for x in info.share], "otherFrame": other,
                   "maxNodes": int(info.max_nodes),
                   "other": {"node": info.other_rows.tolist(),
                             "children": info.other_children.tolist(),
                             "frames": info.other_nodes.tolist()}},
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
