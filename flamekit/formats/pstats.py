"""cProfile / ``pstats`` importer (pipeline stage: formats).

Format: the file ``python -m cProfile -o FILE`` and ``pstats.Stats.dump_stats``
write: one ``marshal``'d dict (see the stdlib's ``Lib/pstats.py`` and
``Modules/_lsprof.c``)::

    {(file, line, funcname): (primitive_calls, calls, self_s, cumulative_s,
                              {(caller file, line, funcname): (calls, primitive_calls,
                                                               self_s, cumulative_s)})}

The pure-Python ``profile`` module writes the same shape with a call count (an
int) instead of the caller tuple. Built-ins have file ``~`` and line 0.

This is a caller -> callee **graph with totals**, not stacks, so the call tree
is an estimate (``meta["approximate"]`` says so, and every view shows it):

* roots are the functions nobody in the file called; recursion and other
  cycles are broken by dropping the edges that close them (a depth-first walk
  from the roots, in file order), so the graph is a DAG;
* each function's time is split over its callers in proportion to the
  cumulative time cProfile measured under each caller (call counts when no time
  was measured, equal shares when neither was); a path's share is the product
  of the shares along it;
* each tree node gets its function's self time times the path's share, so the
  **per-function self totals are exact** and only their placement under
  callers is estimated (the gprof assumption: every call costs the same);
* the expanded tree is capped at :data:`MAX_NODES` nodes, breadth first; past
  the cap a node keeps the whole time of the subtree it would have had, with a
  warning.

The single sample type is ``wall/seconds`` (cProfile's default timer is
``time.perf_counter``). The file is read with :mod:`._marshal`, a restricted
reader: no code objects, no pre-allocation from length fields, no deep nesting.
Every entry is shape-checked; a bad one is a :class:`FormatError` naming it.
"""
from __future__ import annotations

import os
from collections import deque
from typing import Any

import numpy as np

from ..errors import FormatError
from ..model import Profile, ProfileBuilder, SampleType
from . import _io, _marshal
from ._format import Format
from ._kinds import frame_kind

NAME = "pstats"
ALIASES = ("cprofile",)
EXTENSIONS = (".pstats", ".prof")
#: Largest stats file read (bytes after decompression).
MAX_BYTES = 512 * 1024**2
#: Most call-tree nodes built from the graph (breadth first).
MAX_NODES = 200_000
_MAX_COUNT = 2**63 - 1
APPROXIMATE_NOTE = ("approximate call tree: cProfile records caller->callee totals, not stacks; "
                    "each function's time is split over its callers in proportion to the time "
                    "measured under each (self totals per function are exact)")


def sniff(head: bytes) -> bool | None:
    """Claim a marshal'd dict whose first key is a tuple (or an empty marshal'd dict)."""
    if len(head) < 2:
        return None if head in (b"", b"\xfb", b"{") else False
    if head[0] not in (0x7B, 0xFB):
        return False
    if head[0] == 0xFB and head[1:] == b"0":
        return True
    return (head[1] & 0x7F) in (0x28, 0x29)  # '(' or ')' : a tuple key


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, what: str, reason: str) -> FormatError:
        return FormatError(NAME, self.source, None, f"{what}: {reason}")

    def key(self, k: Any, what: str) -> tuple[str, int, str]:
        if isinstance(k, tuple) and len(k) == 3 and any(isinstance(x, bytes) for x in k):
            raise self.fail(what, "byte-string function key: unsupported pstats "
                                  "(written by Python 2 or another version?)")
        if (not isinstance(k, tuple) or len(k) != 3 or not isinstance(k[0], str)
                or not isinstance(k[2], str) or isinstance(k[1], bool) or not isinstance(k[1], int)):
            raise self.fail(what, "function key must be a (file, line, name) tuple, got "
                                  f"{_describe(k)}")
        if not 0 <= k[1] <= _MAX_COUNT:
            raise self.fail(what, f"line number {k[1]} is out of range")
        return k

    def count(self, v: Any, what: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(what, f"call count must be an integer, got {_describe(v)}")
        if not 0 <= v <= _MAX_COUNT:
            raise self.fail(what, f"call count {v} is out of range")
        return v

    def seconds(self, v: Any, what: str) -> float:
        if not _marshal.is_finite_number(v):
            raise self.fail(what, f"time must be a finite number, got {_describe(v)}")
        x = float(v)
        if x < 0:
            raise self.fail(what, f"time {x!r} is negative")
        return x


def _describe(v: Any) -> str:
    if isinstance(v, tuple):
        return f"a {len(v)}-tuple"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"the number {v!r}"[:60]
    if isinstance(v, str):
        return "the string " + repr(v[:40])
    return type(v).__name__


def _label(k: tuple[str, int, str]) -> str:
    return f"{k[2]} ({k[0]}:{k[1]})"[:200]


def load(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Profile:
    """Load a cProfile/``profile`` stats file as an approximate call tree (see the module doc)."""
    source = os.fspath(path)
    data = _io.read_all_bytes(source, limit=MAX_BYTES, max_decompressed=max_decompressed)
    if not data:
        raise FormatError(NAME, source, "offset 0", "empty file: no samples")
    try:
        stats = _marshal.loads(data)
    except _marshal.MarshalError as e:
        hint = (" (unsupported pstats: written by Python 2 or another version?)"
                if "type code" in e.reason else "")
        raise FormatError(NAME, source, f"offset {e.offset}",
                          f"not a readable pstats file: {e.reason}{hint}") from None
    return from_stats(stats, source)


def from_stats(stats: Any, source: str = "<pstats>") -> Profile:
    """Convert an unmarshalled stats dict into a Profile (every field is checked first)."""
    C = _Checker(source)
    if not isinstance(stats, dict):
        raise C.fail("top level", f"must be a dict of functions, got {_describe(stats)}")
    keys: list[tuple[str, int, str]] = []
    index: dict[tuple, int] = {}
    own: list[tuple[int, int, float, float]] = []
    raw_callers: list[dict] = []
    for i, (k, v) in enumerate(stats.items()):
        what = f"entry {i}"
        k = C.key(k, what)
        what = f"entry {i} ({_label(k)})"
        if not isinstance(v, tuple) or len(v) != 5:
            raise C.fail(what, "value must be (primitive calls, calls, self time, "
                               f"cumulative time, callers), got {_describe(v)}")
        cc, nc = C.count(v[0], what), C.count(v[1], what)
        tt, ct = C.seconds(v[2], what), C.seconds(v[3], what)
        if not isinstance(v[4], dict):
            raise C.fail(what, f"callers must be a dict, got {_describe(v[4])}")
        index[k] = len(keys)
        keys.append(k)
        own.append((cc, nc, tt, ct))
        raw_callers.append(v[4])

    n = len(keys)
    # in-edges per callee: (caller, weight by time, weight by calls)
    into: list[list[tuple[int, float, float]]] = [[] for _ in range(n)]
    unknown = 0
    for c in range(n):
        what = f"entry {c} ({_label(keys[c])}) caller"
        for ck, ev in raw_callers[c].items():
            ck = C.key(ck, what)
            if isinstance(ev, tuple):
                if len(ev) != 4:
                    raise C.fail(what, f"caller stats must be a 4-tuple, got {_describe(ev)}")
                calls = C.count(ev[0], what)
                C.count(ev[1], what)
                C.seconds(ev[2], what)
                t = C.seconds(ev[3], what)
            else:
                calls, t = C.count(ev, what), 0.0
            g = index.get(ck)
            if g is None:
                unknown += 1
                continue
            into[c].append((g, t, float(calls)))
    b = ProfileBuilder([SampleType("wall", "seconds")])
    warnings = _build(b, keys, own, into)
    if unknown:
        warnings.append(f"{unknown} caller edge(s) name a function missing from the file; "
                        "ignored")
    for w in warnings:
        b.warn(w)
    meta = {"tool": "cProfile", "approximate": APPROXIMATE_NOTE,
            "pstats": {"functions": n, "calls": sum(o[1] for o in own),
                       "primitive_calls": sum(o[0] for o in own)}}
    p = b.build(meta)
    if not np.isfinite(p.totals()).all():
        raise FormatError(NAME, source, None, "times overflow a 64-bit float when summed")
    return p


def _build(b: ProfileBuilder, keys: list[tuple[str, int, str]],
           own: list[tuple[int, int, float, float]],
           into: list[list[tuple[int, float, float]]]) -> list[str]:
    """Expand the caller graph into ``b`` as a call tree; return warnings."""
    n = len(keys)
    out: list[list[tuple[int, float, float]]] = [[] for _ in range(n)]
    for c in range(n):
        for g, t, calls in into[c]:
            out[g].append((c, t, calls))
    # 1. break cycles: iterative DFS from the roots (then from anything unvisited)
    state = [0] * n  # 0 new, 1 on the DFS stack, 2 done
    back: set[tuple[int, int]] = set()
    order = [i for i in range(n) if not into[i]] + list(range(n))
    for r in order:
        if state[r]:
            continue
        state[r] = 1
        stack = [(r, 0)]
        while stack:
            f, j = stack[-1]
            if j < len(out[f]):
                stack[-1] = (f, j + 1)
                c = out[f][j][0]
                if state[c] == 1:
                    back.add((f, c))
                elif state[c] == 0:
                    state[c] = 1
                    stack.append((c, 0))
            else:
                state[f] = 2
                stack.pop()
    # 2. each callee's split over its remaining callers
    share: dict[tuple[int, int], float] = {}
    indeg = [0] * n
    for c in range(n):
        edges = [e for e in into[c] if (e[0], c) not in back]
        indeg[c] = len(edges)
        tsum = sum(e[1] for e in edges)
        csum = sum(e[2] for e in edges)
        for g, t, calls in edges:
            share[(g, c)] = (t / tsum if tsum > 0 else calls / csum if csum > 0
                             else 1.0 / len(edges))
    kids = [[(c, share[(f, c)]) for c, _, _ in out[f] if (f, c) in share] for f in range(n)]
    # 3. subtree mass per unit share, in reverse topological order (Kahn)
    topo, deg = [], indeg[:]
    q = deque(i for i in range(n) if deg[i] == 0)
    while q:
        f = q.popleft()
        topo.append(f)
        for c, _ in kids[f]:
            deg[c] -= 1
            if deg[c] == 0:
                q.append(c)
    mass = [0.0] * n
    for f in reversed(topo):
        mass[f] = own[f][2] + sum(s * mass[c] for c, s in kids[f])
    # 4. expand breadth first under the node cap
    fids = []
    for file, line, name in keys:
        native = file == "~" or (not file and line == 0)
        fids.append(b.frame(name, "" if native else file, line, "",
                            "native" if native else frame_kind(file)))
    roots = [f for f in range(n) if indeg[f] == 0]
    work = deque((f, -1, 1.0) for f in roots)
    nodes = truncated = 0
    while work:
        f, parent, w = work.popleft()
        row = b.push(parent, fids[f])
        nodes += 1
        if nodes + len(work) >= MAX_NODES and kids[f]:
            if w * mass[f] > 0:
                b.add(row, w * mass[f])
            truncated += 1
            continue
        if w * own[f][2] > 0:
            b.add(row, w * own[f][2])
        for c, s in kids[f]:
            if mass[c] > 0 and w * s > 0:
                work.append((c, row, w * s))
    warnings = [APPROXIMATE_NOTE]
    if back:
        warnings.append(f"{len(back)} recursive/cyclic call edge(s) dropped to build the tree")
    if truncated:
        warnings.append(f"call tree capped at {MAX_NODES} nodes: {truncated} node(s) keep "
                        "their callees' time as their own")
    return warnings


FORMAT = Format(NAME, extensions=EXTENSIONS, aliases=ALIASES, sniff=sniff, load=load)
