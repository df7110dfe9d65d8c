"""Chrome / V8 profile import, part 2: Trace Event JSON (pipeline stage: formats).

Sampled CPU profiles inside a trace (``Profile``/``ProfileChunk``, ``CpuProfile``,
``samples``/``stackFrames``) and ``B``/``E``/``X`` duration events. The rules
are documented in :mod:`.chrome`.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict, deque
from typing import Any

from ._chrome_import import SAMPLES, WALL_US, Importer, int_or, lenient_num, num
from ._kinds import frame_kind


class TraceImporter(Importer):
    """An :class:`Importer` that also reads trace events."""

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
                    names[(int_or(e.get("pid")), int_or(e.get("tid")))] = args["name"]

        def thread(pid: Any, tid: Any) -> int:
            key = (int_or(pid), int_or(tid))
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
                key = (int_or(e.get("pid")), str(e.get("id")))
                pr = profiles.setdefault(key, {"thread": None, "start": None, "nodes": [],
                                               "samples": [], "deltas": []})
                if name == "Profile":
                    pr["thread"] = thread(e.get("pid"), e.get("tid"))
                    pr["start"] = num(data.get("startTime"))
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
            ts = lenient_num(s.get("ts"))
            sid = stacks.get(str(s.get("sf")))
            if ts is None or sid is None:
                self.warn("sample with a bad ts or unknown stack frame")
                continue
            w = lenient_num(s.get("weight"))
            rows.append((ts, sid if sid >= 0 else self.b.stack([self.b.frame(
                "(root)", kind="unknown")]), thread(s.get("pid"), s.get("tid")),
                1.0 if w is None else w))
        rows.sort(key=lambda r: r[0])
        # each sample lasts until its thread's next sample (the last one: 0); one pass from
        # the end keeps the next time per thread (was a scan of the rest: quadratic)
        dur = [0.0] * len(rows)
        nxt: dict[int, float] = {}
        for j in range(len(rows) - 1, -1, -1):
            ts, th = rows[j][0], rows[j][2]
            dur[j] = nxt.get(th, ts) - ts
            nxt[th] = ts
        for (ts, sid, th, w), d in zip(rows, dur):
            self.b.add(sid, (w, d), th, ts / 1e6)

    def duration_events(self, events: list, thread) -> None:
        """Turn B/E/X events into intervals, nest them, and add one sample per interval."""
        per_thread: dict[int, list] = defaultdict(list)
        last_ts: dict[int, float] = defaultdict(lambda: -math.inf)
        for seq, e in enumerate(events):
            ph = e.get("ph")
            if ph not in ("B", "E", "X"):
                continue
            ts = num(e.get("ts"))
            if ts is None:
                self.warn(f"{ph} event with a missing, non-numeric or out-of-range ts")
                continue
            name = e.get("name")
            if ph != "E" and not (isinstance(name, str) and name):
                self.warn(f"{ph} event without a name")
                continue
            th = thread(e.get("pid"), e.get("tid"))
            if ph == "X":
                dur = num(e.get("dur", 0))
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
            # name -> positions in open_ of the B events of that name (ascending): the
            # topmost open B of a name in O(1), not a scan of the whole stack per E
            where: dict[Any, list[int]] = defaultdict(list)
            for ts, seq, ph, e, dur in evs:
                if ph == "X":
                    intervals.append((ts, ts + dur, seq, e))
                elif ph == "B":
                    where[e.get("name")].append(len(open_))
                    open_.append((ts, seq, e))
                else:
                    if not open_:
                        self.warn("E event without a matching B")
                        continue
                    name = e.get("name")
                    k = len(open_) - 1
                    if isinstance(name, str) and name and open_[k][2].get("name") != name:
                        pos = where.get(name)
                        k = pos[-1] if pos else -1
                        if k < 0:
                            self.warn("E event whose name matches no open B (closed the top)")
                            k = len(open_) - 1
                        else:
                            self.warn("E event for a frame below the top of the stack")
                    while len(open_) > k:
                        b_ts, b_seq, b_e = open_.pop()
                        where[b_e.get("name")].pop()
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
        name is not open yet (speedscope's same-timestamp reordering).

        Linear in the events: an E that must wait is parked on its name until the
        next B of that name in the group (which then takes the parked events back
        right after itself, last parked first, as inserting each E after that B one
        by one would), instead of being moved through a list.
        """
        out: list = []
        open_names: Counter = Counter()
        i, n = 0, len(evs)
        while i < n:
            j = i
            while j < n and evs[j][0] == evs[i][0]:
                j += 1
            later_b: Counter = Counter(r[3].get("name") for r in evs[i:j] if r[2] == "B")
            # parked E events per name: a deque and the end they are taken back from
            parked: dict[Any, list] = {}
            for r in evs[i:j]:
                name = r[3].get("name")
                if r[2] == "B":
                    later_b[name] -= 1
                    open_names[name] += 1
                    out.append(r)
                    if name in parked:
                        TraceImporter._unpark(parked, name, open_names, later_b, out)
                elif r[2] == "E" and not open_names[name] and later_b[name] > 0:
                    TraceImporter._park(parked, name, r)
                else:
                    if r[2] == "E" and open_names[name]:
                        open_names[name] -= 1
                    out.append(r)
            i = j
        return out

    @staticmethod
    def _park(parked: dict, name: Any, r: tuple) -> None:
        dq, right_first = parked.setdefault(name, [deque(), True])
        if right_first:  # the next B takes back the last parked E first
            dq.append(r)
        else:
            dq.appendleft(r)

    @staticmethod
    def _unpark(parked: dict, name: Any, open_names: Counter, later_b: Counter,
                out: list) -> None:
        """A B of ``name`` was just written: its parked E events follow it."""
        entry = parked[name]
        dq, right_first = entry
        take = dq.pop if right_first else dq.popleft
        while dq and open_names[name]:
            open_names[name] -= 1
            out.append(take())
        if not dq:
            del parked[name]
        elif later_b[name] > 0:
            # the rest wait for the next B, parked again in the order they were seen,
            # so that B takes them back from the other end
            entry[1] = not right_first
        else:  # no B of this name is left in the group: they stay unmatched E events
            while dq:
                out.append(take())
            del parked[name]

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
            line = int_or(args.get("line")) if isinstance(args.get("line"), (int, float)) else 0
            fid = self.b.frame(e["name"], url, line, "",
                                       frame_kind(url, default="jit" if url else "unknown"))
            parent = stack[-1][1] if stack else -1
            stack.append([end, self.b.push(parent, fid), 0.0, start])
        while stack:
            close()
        for start, sid, self_t in sorted(out, key=lambda r: r[0]):
            if self_t > 0:
                self.b.add(sid, (1.0, self_t), th, start / 1e6)
        self.b.sample_types = [SAMPLES, WALL_US]
