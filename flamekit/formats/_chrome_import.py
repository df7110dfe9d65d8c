"""Chrome / V8 profile import, part 1: the importer and ``.cpuprofile`` trees (pipeline stage: formats).

:class:`Importer` turns call frames and node trees into profile rows; the
trace-event half is :class:`._chrome_trace.TraceImporter`. The rules are
documented in :mod:`.chrome`.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any

from ..errors import FormatError
from ..model import Profile, ProfileBuilder, SampleType
from ._kinds import frame_kind

NAME = "chrome"
SAMPLES = SampleType("samples", "count")
WALL_US = SampleType("wall", "microseconds")
MAX_TS = float(2**53)  # microseconds; beyond this a float loses whole microseconds


def num(x: Any) -> float | None:
    """Return a finite float for a JSON number, else None (bools and strings are not numbers)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) and abs(x) < MAX_TS else None


def lenient_num(x: Any) -> float | None:
    """Like :func:`_num` but also accept numeric strings (Hermes writes ts/tid as strings)."""
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return None
    return num(x)


def int_or(x: Any, default: int = 0) -> int:
    v = lenient_num(x)
    return int(v) if v is not None else default


class Importer:
    """Collect frames, stacks and samples of one Chrome/V8 file; :meth:`finish` builds the profile."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.b = ProfileBuilder([SAMPLES, WALL_US])
        self.counts: Counter[str] = Counter()
        self.timed = True

    def err(self, reason: str) -> FormatError:
        return FormatError(NAME, self.source, None, reason)

    def warn(self, what: str) -> None:
        self.counts[what] += 1

    # -- call frames -----------------------------------------------------
    def frame(self, cf: dict) -> int:
        name = cf.get("functionName")
        name = name if isinstance(name, str) and name else "(anonymous)"
        url = cf.get("url") if isinstance(cf.get("url"), str) else ""
        line = int_or(cf.get("lineNumber"), -1)
        kind = "native" if name in ("(program)", "(garbage collector)") else \
            frame_kind(url, default="jit" if url else "unknown")
        return self.b.frame(name, url, line + 1 if line >= 0 else 0, "", kind)

    # -- node trees ------------------------------------------------------
    def node_stacks(self, nodes: dict[Any, tuple[dict, Any]],
                    lenient: bool = False) -> dict[Any, int]:
        """Map node id -> stack row; ``nodes`` is id -> (callFrame, parent id or None).

        An unknown parent is an error, or (``lenient``, for trace chunks whose
        data may be missing) a warning and the node becomes a root.
        """
        stacks: dict[Any, int] = {}
        n = len(nodes)
        for nid in nodes:
            if nid in stacks:
                continue
            chain = []
            cur = nid
            while cur is not None and cur not in stacks:
                chain.append(cur)
                if len(chain) > n:
                    raise self.err(f"node tree has a cycle (through node {nid!r})")
                ent = nodes.get(cur)
                if ent is None:
                    if not lenient or len(chain) < 2:
                        raise self.err(f"node {chain[-2]!r} has unknown parent {cur!r}")
                    self.warn("profile node with an unknown parent (made a root)")
                    chain.pop()
                    nodes[chain[-1]] = (nodes[chain[-1]][0], None)
                    cur = None
                    break
                cur = ent[1]
            base = stacks[cur] if cur is not None else -1
            for cid in reversed(chain):
                cf, parent = nodes[cid]
                if parent is None and cf.get("functionName") == "(root)":
                    base = -1  # the synthetic root is not a frame
                else:
                    base = self.b.push(base, self.frame(cf))
                stacks[cid] = base
        return stacks

    def tree_from_children(self, node_list: list) -> dict[Any, tuple[dict, Any]]:
        nodes: dict[Any, tuple[dict, Any]] = {}
        parent: dict[Any, Any] = {}
        for nd in node_list:
            if not isinstance(nd, dict) or "id" not in nd:
                raise self.err("a node is not an object with an 'id'")
            nid = nd["id"]
            if isinstance(nid, (dict, list)) or nid in nodes:
                raise self.err(f"duplicate or invalid node id {nid!r}")
            cf = nd.get("callFrame") if isinstance(nd.get("callFrame"), dict) else nd
            nodes[nid] = (cf, nd.get("parent"))
        for nd in node_list:
            kids = nd.get("children") or []
            if not isinstance(kids, list):
                self.warn("profile node whose children is not a list (ignored)")
                kids = []
            for c in kids:
                if isinstance(c, (dict, list)) or c not in nodes:
                    # Chrome DevTools (CPUProfileDataModel.translateProfileTree) skips a child
                    # id with no node, and so does the Firefox Profiler: drop the reference
                    self.warn("profile node lists a child id with no node (reference dropped, "
                              "as Chrome DevTools does)")
                    continue
                if c in parent and parent[c] != nd["id"]:
                    raise self.err(f"node {c!r} has two parents ({parent[c]!r} and {nd['id']!r}): "
                                   f"the node tree has a cycle or is not a tree")
                parent[c] = nd["id"]
        for nid, p in parent.items():
            nodes[nid] = (nodes[nid][0], p)
        return nodes

    def flatten_head(self, head: dict) -> list[dict]:
        """Turn the old nested 'head' tree into a flat node list (iteratively)."""
        out: list[dict] = []
        todo = [(head, None)]
        auto = 0
        while todo:
            nd, par = todo.pop()
            if not isinstance(nd, dict):
                raise self.err("a node of the 'head' tree is not an object")
            auto += 1
            nid = nd.get("id", f"auto{auto}")
            kids = nd.get("children") or []
            out.append({"id": nid, "callFrame": nd.get("callFrame", nd), "parent": par,
                        "hitCount": nd.get("hitCount", 0)})
            todo.extend((k, nid) for k in reversed(kids if isinstance(kids, list) else []))
        return out

    def cpuprofile(self, data: dict, thread: int, where: str, start: float | None = None,
                   time_deltas: list | None = None, lenient: bool = False) -> None:
        if "head" in data and "nodes" not in data:
            node_list = self.flatten_head(data["head"])
            nodes = {nd["id"]: (nd["callFrame"], nd["parent"]) for nd in node_list}
        else:
            node_list = data.get("nodes")
            if not isinstance(node_list, list):
                raise self.err(f"{where}'nodes' is not a list")
            nodes = self.tree_from_children(node_list)
        stacks = self.node_stacks(nodes, lenient)
        samples = data.get("samples")
        deltas = time_deltas if time_deltas is not None else data.get("timeDeltas")
        if samples is None:  # only hit counts: aggregated, untimed
            self.timed = False
            for nd in node_list:
                hc = num(nd.get("hitCount")) or 0
                if hc > 0 and stacks[nd["id"]] >= 0:
                    self.b.add(stacks[nd["id"]], (hc, 0.0), thread)
            return
        if not isinstance(samples, list):
            raise self.err(f"{where}'samples' is not a list")
        times: list[float]
        end_ts: float | None = None
        if isinstance(deltas, list):
            if len(deltas) != len(samples):
                raise self.err(f"{where}{len(samples)} samples but {len(deltas)} timeDeltas")
            t = num(data.get("startTime")) if start is None else start
            t = t or 0.0
            times = []
            for d in deltas:
                dv = num(d)
                if dv is None:
                    raise self.err(f"{where}timeDelta {d!r} is not a number")
                t += dv  # signed: V8 emits negative deltas
                times.append(t)
        elif isinstance(data.get("timestamps"), list):
            times = [num(x) for x in data["timestamps"]]  # type: ignore[misc]
            # old V8 may write one more timestamp than samples: the end of the last one
            if len(times) not in (len(samples), len(samples) + 1) or None in times:
                raise self.err(f"{where}{len(samples)} samples but {len(times)} timestamps")
            if len(times) > len(samples):
                end_ts = times.pop()
        else:
            raise self.err(f"{where}'samples' without 'timeDeltas' or 'timestamps'")
        order = sorted(range(len(samples)), key=times.__getitem__)
        end = end_ts if end_ts is not None else \
            (num(data.get("endTime")) if "nodes" in data else None)
        for j, i in enumerate(order):
            sid = stacks.get(samples[i]) if not isinstance(samples[i], (dict, list)) else None
            if sid is None:
                if not lenient:
                    raise self.err(f"{where}sample {i} refers to unknown node {samples[i]!r}")
                self.warn("sample of an unknown profile node (skipped)")
                continue
            if j + 1 < len(order):
                w = times[order[j + 1]] - times[i]
            else:
                w = max(0.0, end - times[i]) if end is not None and end < MAX_TS else 0.0
            if sid < 0:
                sid = self.b.stack([self.b.frame("(root)", kind="unknown")])
            self.b.add(sid, (1.0, w), thread, times[i] / 1e6)

    def finish(self) -> Profile:
        for what, n in sorted(self.counts.items()):
            self.b.warn(f"{what}: {n}")
        if not self.timed or len(self.b.s_time) != len(self.b.s_stack):
            self.b.s_time = []
        p = self.b.build()
        if p.sample_time is not None and p.n_samples:
            import numpy as np

            order = np.argsort(p.sample_time, kind="stable")
            p = p.copy(sample_stack=p.sample_stack[order], sample_thread=p.sample_thread[order],
                       values=p.values[order], sample_time=p.sample_time[order])
        return p
