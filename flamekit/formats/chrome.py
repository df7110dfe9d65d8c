"""Chrome / V8 profile importer: ``.cpuprofile`` and Trace Event JSON (pipeline stage: formats).

Inputs (import only):

* **.cpuprofile** (DevTools, ``node --cpu-prof``): ``{"nodes": [{id, callFrame,
  children}], "samples": [node id], "timeDeltas": [us], "startTime", "endTime"}``,
  and the pre-2017 form ``{"head": {functionName, url, children: [...nested]},
  "samples", "timestamps"}`` (or only ``hitCount`` per node). See
  https://chromedevtools.github.io/devtools-protocol/tot/Profiler/#type-Profile.
* **Trace Event JSON** (https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU):
  a JSON array or ``{"traceEvents": [...]}``. A truncated array (no closing
  ``]``, maybe a trailing comma) is accepted, as the spec allows.
  If the trace holds sampled CPU profiles (``Profile``/``ProfileChunk`` events,
  a ``CpuProfile`` event, or ``samples``/``stackFrames``), those samples are
  imported; otherwise ``B``/``E``/``X`` duration events become one sample per
  call instance weighted by its *self* time.

Model: threads are ``(pid, tid)`` with ``thread_name`` metadata; times in
seconds; value columns ``samples/count`` and ``wall/microseconds`` (sampled:
the interval to the next sample) or ``wall/microseconds`` only (duration
events). V8 writes signed ``timeDeltas`` (samples are not always in time
order): they are summed as signed numbers and samples sorted by time.
``lineNumber`` is 0-based in V8 and 1-based in the model.

Bad input: node cycles, two parents, unknown node ids, length mismatches and
deep nesting are :class:`FormatError`; bad trace events (negative ``dur``,
non-numeric or absurd ``ts``, ``E`` without ``B``, missing name) are skipped
and counted in warnings; unclosed ``B`` events close at the thread's last
timestamp.
"""
from __future__ import annotations

import json
import math
import os
from collections import Counter, defaultdict
from typing import Any

from ..errors import FormatError
from ..model import Profile, ProfileBuilder, SampleType
from . import _io
from ._format import Format

NAME = "chrome"

SAMPLES = SampleType("samples", "count")
WALL_US = SampleType("wall", "microseconds")
_MAX_TS = float(2**53)  # microseconds; beyond this a float loses whole microseconds


def sniff(head: bytes) -> bool | None:
    """Claim .cpuprofile objects and trace-event arrays/objects (not heap profiles)."""
    h = head.lstrip()
    if h.startswith(b"{"):
        if b'"traceEvents"' in h:
            return True
        if b'"selfSize"' in h:  # .heapprofile: same tree shape, not CPU samples
            return False
        if b'"nodes"' in h and b'"callFrame"' in h:
            return True
        if h.startswith(b'{"head"') or b'"head"' in h[:200]:
            return b'"hitCount"' in h
        return False if len(head) >= 4096 else None
    if h.startswith(b"["):
        if b'"ph"' in h:
            return True
        return False if len(head) >= 4096 or b"}" in h else None
    return False


def _parse_json(text: str, source: str) -> Any:
    def bad_const(name: str) -> Any:
        raise ValueError(f"non-finite number {name} is not valid JSON")

    try:
        return json.loads(text, parse_constant=bad_const)
    except RecursionError:
        raise FormatError(NAME, source, None, "JSON nested too deeply") from None
    except json.JSONDecodeError as e:
        stripped = text.rstrip()
        if stripped.lstrip().startswith("["):  # Trace Event spec: the ] may be missing
            fixed = stripped.rstrip(",").rstrip() + "]"
            try:
                return json.loads(fixed, parse_constant=bad_const)
            except (json.JSONDecodeError, ValueError, RecursionError):
                pass
        raise FormatError(NAME, source, e.lineno, f"invalid JSON: {e.msg} (column {e.colno})") \
            from None
    except ValueError as e:
        raise FormatError(NAME, source, None, str(e)) from None


def load(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Profile:
    """Load a .cpuprofile or a Trace Event JSON file."""
    source = os.fspath(path)
    text = _io.read_all_text(source, max_decompressed=max_decompressed)
    data = _parse_json(text, source)
    imp = _Importer(source)
    if isinstance(data, dict) and ("nodes" in data or "head" in data):
        imp.cpuprofile(data, imp.b.thread(0, "", None), "")
        imp.b.meta["chrome"] = {"kind": "cpuprofile"}
    elif isinstance(data, list) or (isinstance(data, dict) and "traceEvents" in data):
        imp.trace(data)
    else:
        raise FormatError(NAME, source, None,
                          "not a .cpuprofile (no 'nodes'/'head') nor a trace-event file")
    return imp.finish()


def _num(x: Any) -> float | None:
    """Return a finite float for a JSON number, else None (bools and strings are not numbers)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) and abs(x) < _MAX_TS else None


def _lenient_num(x: Any) -> float | None:
    """Like :func:`_num` but also accept numeric strings (Hermes writes ts/tid as strings)."""
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return None
    return _num(x)


def _int(x: Any, default: int = 0) -> int:
    v = _lenient_num(x)
    return int(v) if v is not None else default


class _Importer:
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
        line = _int(cf.get("lineNumber"), -1)
        kind = "native" if name in ("(program)", "(garbage collector)") else \
            ("jit" if url else "unknown")
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
            for c in nd.get("children") or ():
                if isinstance(c, (dict, list)) or c not in nodes:
                    raise self.err(f"node {nd['id']!r} has unknown child {c!r}")
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
                hc = _num(nd.get("hitCount")) or 0
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
            t = _num(data.get("startTime")) if start is None else start
            t = t or 0.0
            times = []
            for d in deltas:
                dv = _num(d)
                if dv is None:
                    raise self.err(f"{where}timeDelta {d!r} is not a number")
                t += dv  # signed: V8 emits negative deltas
                times.append(t)
        elif isinstance(data.get("timestamps"), list):
            times = [_num(x) for x in data["timestamps"]]  # type: ignore[misc]
            # old V8 may write one more timestamp than samples: the end of the last one
            if len(times) not in (len(samples), len(samples) + 1) or None in times:
                raise self.err(f"{where}{len(samples)} samples but {len(times)} timestamps")
            if len(times) > len(samples):
                end_ts = times.pop()
        else:
            raise self.err(f"{where}'samples' without 'timeDeltas' or 'timestamps'")
        order = sorted(range(len(samples)), key=times.__getitem__)
        end = end_ts if end_ts is not None else \
            (_num(data.get("endTime")) if "nodes" in data else None)
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
                w = max(0.0, end - times[i]) if end is not None and end < _MAX_TS else 0.0
            if sid < 0:
                sid = self.b.stack([self.b.frame("(root)", kind="unknown")])
            self.b.add(sid, (1.0, w), thread, times[i] / 1e6)

    # -- trace events ----------------------------------------------------
    def trace(self, data: Any) -> None:
        events = data if isinstance(data, list) else data.get("traceEvents")
        if not isinstance(events, list):
            raise self.err("'traceEvents' is not a list")
        events = [e for e in events if isinstance(e, dict) or self.warn("non-object event")]
        names: dict[tuple, str] = {}
        for e in events:
            if e.get("ph") == "M" and e.get("name") == "thread_name":
                args = e.get("args") if isinstance(e.get("args"), dict) else {}
                if isinstance(args.get("name"), str):
                    names[(_int(e.get("pid")), _int(e.get("tid")))] = args["name"]

        def thread(pid: Any, tid: Any) -> int:
            key = (_int(pid), _int(tid))
            return self.b.thread(key[1], names.get(key, ""), key[0])

        sampled = self.trace_samples(events, thread)
        if isinstance(data, dict) and isinstance(data.get("samples"), list):
            self.stackframe_samples(data, thread)
            sampled = True
        if sampled:
            n_dur = sum(1 for e in events if e.get("ph") in ("B", "E", "X"))
            self.b.meta["chrome"] = {"kind": "trace (sampled)", "duration_events_ignored": n_dur}
            return
        self.timed = True
        self.b.meta["chrome"] = {"kind": "trace (duration events)"}
        self.duration_events(events, thread)

    def trace_samples(self, events: list, thread) -> bool:
        """Import Profile/ProfileChunk and CpuProfile events; return True if there were any."""
        found = False
        profiles: dict[tuple, dict] = {}
        for e in events:
            name = e.get("name")
            args = e.get("args") if isinstance(e.get("args"), dict) else {}
            data = args.get("data") if isinstance(args.get("data"), dict) else {}
            if name == "CpuProfile" and isinstance(data.get("cpuProfile"), dict):
                found = True
                self.cpuprofile(data["cpuProfile"], thread(e.get("pid"), e.get("tid")),
                                "CpuProfile event: ")
            elif name in ("Profile", "ProfileChunk"):
                key = (_int(e.get("pid")), str(e.get("id")))
                pr = profiles.setdefault(key, {"thread": None, "start": None, "nodes": [],
                                               "samples": [], "deltas": []})
                if name == "Profile":
                    pr["thread"] = thread(e.get("pid"), e.get("tid"))
                    pr["start"] = _num(data.get("startTime"))
                    continue
                cp = data.get("cpuProfile") if isinstance(data.get("cpuProfile"), dict) else {}
                pr["nodes"].extend(n for n in cp.get("nodes") or () if isinstance(n, dict))
                s = cp.get("samples") or []
                d = data.get("timeDeltas") or []
                if not isinstance(s, list) or not isinstance(d, list) or len(s) != len(d):
                    raise self.err(f"ProfileChunk {key[1]}: samples and timeDeltas differ "
                                   f"in length")
                pr["samples"].extend(s)
                pr["deltas"].extend(d)
                if pr["thread"] is None:
                    pr["thread"] = thread(e.get("pid"), e.get("tid"))
        for key, pr in profiles.items():
            if not pr["nodes"] and not pr["samples"]:
                continue
            found = True
            flat = [{"id": n.get("id"), "callFrame": n.get("callFrame") or {},
                     "parent": n.get("parent")} for n in pr["nodes"]]
            self.cpuprofile({"nodes": flat, "samples": pr["samples"]}, pr["thread"],
                            f"Profile {key[1]}: ", start=pr["start"] or 0.0,
                            time_deltas=pr["deltas"], lenient=True)
        return found

    def stackframe_samples(self, data: dict, thread) -> None:
        """Import the 'samples' + 'stackFrames' form (Hermes, Chrome's old tracing)."""
        sf = data.get("stackFrames") if isinstance(data.get("stackFrames"), dict) else {}
        nodes = {k: ({"functionName": v.get("name")}, (str(v["parent"]) if v.get("parent")
                                                        is not None else None))
                 for k, v in sf.items() if isinstance(v, dict)}
        stacks = self.node_stacks(nodes)
        rows = []
        for s in data["samples"]:
            if not isinstance(s, dict):
                self.warn("non-object sample")
                continue
            ts = _lenient_num(s.get("ts"))
            sid = stacks.get(str(s.get("sf")))
            if ts is None or sid is None:
                self.warn("sample with a bad ts or unknown stack frame")
                continue
            w = _lenient_num(s.get("weight"))
            rows.append((ts, sid if sid >= 0 else self.b.stack([self.b.frame(
                "(root)", kind="unknown")]), thread(s.get("pid"), s.get("tid")),
                1.0 if w is None else w))
        rows.sort(key=lambda r: r[0])
        for j, (ts, sid, th, w) in enumerate(rows):
            nxt = next((r[0] for r in rows[j + 1:] if r[2] == th), ts)
            self.b.add(sid, (w, nxt - ts), th, ts / 1e6)

    def duration_events(self, events: list, thread) -> None:
        """Turn B/E/X events into intervals, nest them, and add one sample per interval."""
        per_thread: dict[int, list] = defaultdict(list)
        last_ts: dict[int, float] = defaultdict(lambda: -math.inf)
        for seq, e in enumerate(events):
            ph = e.get("ph")
            if ph not in ("B", "E", "X"):
                continue
            ts = _num(e.get("ts"))
            if ts is None:
                self.warn(f"{ph} event with a missing, non-numeric or out-of-range ts")
                continue
            name = e.get("name")
            if ph != "E" and not (isinstance(name, str) and name):
                self.warn(f"{ph} event without a name")
                continue
            th = thread(e.get("pid"), e.get("tid"))
            if ph == "X":
                dur = _num(e.get("dur", 0))
                if dur is None or dur < 0:
                    self.warn("X event with a negative or bad dur")
                    continue
                per_thread[th].append((ts, seq, "X", e, dur))
                last_ts[th] = max(last_ts[th], ts + dur)
            else:
                per_thread[th].append((ts, seq, ph, e, 0.0))
                last_ts[th] = max(last_ts[th], ts)
        for th, evs in per_thread.items():
            evs.sort(key=lambda r: (r[0], r[1]))
            evs = self._reorder(evs)
            intervals = []  # (start, end, seq, event)
            open_: list[tuple[float, int, dict]] = []
            for ts, seq, ph, e, dur in evs:
                if ph == "X":
                    intervals.append((ts, ts + dur, seq, e))
                elif ph == "B":
                    open_.append((ts, seq, e))
                else:
                    if not open_:
                        self.warn("E event without a matching B")
                        continue
                    name = e.get("name")
                    k = len(open_) - 1
                    if isinstance(name, str) and name and open_[k][2].get("name") != name:
                        k = next((i for i in range(len(open_) - 1, -1, -1)
                                  if open_[i][2].get("name") == name), -1)
                        if k < 0:
                            self.warn("E event whose name matches no open B (closed the top)")
                            k = len(open_) - 1
                        else:
                            self.warn("E event for a frame below the top of the stack")
                    while len(open_) > k:
                        b_ts, b_seq, b_e = open_.pop()
                        intervals.append((b_ts, ts, b_seq, b_e))
            if open_:
                self.counts["B event never closed (closed at the thread's last timestamp)"] \
                    += len(open_)
                for b_ts, b_seq, b_e in open_:
                    intervals.append((b_ts, max(last_ts[th], b_ts), b_seq, b_e))
            self.nest(intervals, th)

    @staticmethod
    def _reorder(evs: list) -> list:
        """Within one timestamp, move an E after a later B of the same name when that
        name is not open yet (speedscope's same-timestamp reordering)."""
        out: list = []
        open_names: Counter[str] = Counter()
        i = 0
        while i < len(evs):
            j = i
            while j < len(evs) and evs[j][0] == evs[i][0]:
                j += 1
            group = list(evs[i:j])
            k = 0
            while k < len(group):
                r = group[k]
                name = r[3].get("name")
                if r[2] == "E" and not open_names[name] and any(
                        g[2] == "B" and g[3].get("name") == name for g in group[k + 1:]):
                    pos = next(m for m in range(k + 1, len(group))
                               if group[m][2] == "B" and group[m][3].get("name") == name)
                    group.insert(pos, group.pop(k))
                    continue
                if r[2] == "B":
                    open_names[name] += 1
                elif r[2] == "E" and open_names[name]:
                    open_names[name] -= 1
                out.append(r)
                k += 1
            i = j
        return out

    def nest(self, intervals: list, th: int) -> None:
        intervals.sort(key=lambda r: (r[0], -r[1], r[2]))
        stack: list[list] = []  # [end, stack row, child time, start]
        out: list[tuple[float, int, float]] = []

        def close() -> None:
            end, sid, child, start = stack.pop()
            out.append((start, sid, (end - start) - child))
            if stack:
                stack[-1][2] += end - start

        for start, end, _seq, e in intervals:
            while stack and stack[-1][0] <= start and not (stack[-1][0] == start == end
                                                            and stack[-1][3] == start):
                close()
            if stack and end > stack[-1][0]:
                self.warn("overlapping events that do not nest (clipped to the parent)")
                end = stack[-1][0]
            args = e.get("args") if isinstance(e.get("args"), dict) else {}
            url = args.get("url") if isinstance(args.get("url"), str) else ""
            line = _int(args.get("line")) if isinstance(args.get("line"), (int, float)) else 0
            fid = self.b.frame(e["name"], url, line, "", "jit" if url else "unknown")
            parent = stack[-1][1] if stack else -1
            stack.append([end, self.b.push(parent, fid), 0.0, start])
        while stack:
            close()
        for start, sid, self_t in sorted(out, key=lambda r: r[0]):
            if self_t > 0:
                self.b.add(sid, (1.0, self_t), th, start / 1e6)
        self.b.sample_types = [SAMPLES, WALL_US]

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


#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(
    NAME,
    extensions=(".cpuprofile", ".trace.json"),
    sniff=sniff,
    load=load,
)
