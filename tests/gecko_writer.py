"""Write a Profile as Firefox Profiler JSON, in the two layouts flamekit reads (test helper).

No tool that runs here writes this format (CPython 3.15's sampler needs 3.15;
samply and Firefox are not installed), so the gecko fixtures and the generated
families in tests/test_gecko.py are written by this helper, following the
Firefox Profiler's format documents (``docs-developer/`` in
firefox-devtools/profiler) and the layout CPython 3.15's ``gecko_collector``
writes:

* :func:`processed` - the processed format, as CPython 3.15 writes it: one
  ``shared.stringArray``, per-thread column tables (``samples``, ``stackTable``,
  ``frameTable``, ``funcTable``, ``resourceTable``), ``meta.categories`` with
  Python/Native, ``preprocessedProfileVersion`` 57, times in ms;
* :func:`raw` - the Gecko profile as Firefox emits it: ``schema``/``data``
  tables, a per-thread ``stringTable``, frame ``location`` strings
  ``name (file:line)``, ``meta.version`` 32, no ``preprocessedProfileVersion``.

Sample values of the first type are written as ``weight`` (``weightType``
``samples``) when they are not all 1.
"""
from __future__ import annotations

from typing import Any

from flamekit.model import Profile


def _strings() -> tuple[list[str], Any]:
    table: list[str] = []
    index: dict[str, int] = {}

    def intern(s: str) -> int:
        i = index.get(s)
        if i is None:
            i = index[s] = len(table)
            table.append(s)
        return i
    return table, intern


def _new_rows(p: Profile, sid: int, written: dict[int, int]):
    """Yield ``(row, written parent or None)`` for the rows of stack ``sid`` not yet written,
    root first (the caller records each row in ``written`` before the next is yielded)."""
    chain = []
    s = sid
    while s >= 0 and s not in written:
        chain.append(s)
        s = int(p.stack_prefix[s])
    for s2 in reversed(chain):
        parent = int(p.stack_prefix[s2])
        yield s2, (written[parent] if parent >= 0 else None)


def _times(p: Profile, rows: list[int]) -> list[float]:
    if p.sample_time is not None:
        return [float(p.sample_time[i]) * 1000 for i in rows]
    return [float(i) for i in range(len(rows))]


def _weights(p: Profile, rows: list[int]) -> list[float] | None:
    w = [float(p.values[i, 0]) for i in rows]
    return None if all(x == 1 for x in w) else w


def processed(p: Profile, *, interval_ms: float = 1.0) -> dict:
    """Return ``p`` (first sample type) in the processed layout CPython 3.15 writes."""
    strings, intern = _strings()
    intern("(root)")
    threads = []
    for ti, t in enumerate(p.threads):
        rows = [i for i in range(p.n_samples) if int(p.sample_thread[i]) == ti]
        funcs: dict[tuple, int] = {}
        fn: dict[str, list] = {"name": [], "fileName": [], "lineNumber": [], "resource": [],
                               "isJS": [], "relevantForJS": [], "columnNumber": []}
        fr: dict[str, list] = {"func": [], "line": [], "category": [], "subcategory": [],
                               "address": [], "inlineDepth": [], "nativeSymbol": [],
                               "innerWindowID": [], "implementation": [], "column": [],
                               "optimizations": []}
        frame_of: dict[int, int] = {}
        st: dict[str, list] = {"frame": [], "prefix": [], "category": [], "subcategory": []}
        stack_of: dict[int, int] = {}

        def frame(fid: int) -> int:
            if fid in frame_of:
                return frame_of[fid]
            f = p.frames[fid]
            key = (f.name, f.file)
            if key not in funcs:
                funcs[key] = len(fn["name"])
                fn["name"].append(intern(f.name))
                fn["fileName"].append(intern(f.file) if f.file else None)
                fn["lineNumber"].append(f.line or None)
                fn["resource"].append(-1)
                python = f.kind == "python"
                fn["isJS"].append(python)
                fn["relevantForJS"].append(python)
                fn["columnNumber"].append(None)
            frame_of[fid] = len(fr["func"])
            fr["func"].append(funcs[key])
            fr["line"].append(f.line or None)
            fr["category"].append(1 if f.kind == "python" else 2)
            for k in ("subcategory", "inlineDepth"):
                fr[k].append(0)
            fr["address"].append(-1)
            for k in ("nativeSymbol", "innerWindowID", "implementation", "column",
                      "optimizations"):
                fr[k].append(None)
            return frame_of[fid]

        def stack(sid: int) -> int:
            for s2, parent in _new_rows(p, sid, stack_of):
                stack_of[s2] = len(st["frame"])
                st["frame"].append(frame(int(p.stack_frame[s2])))
                st["prefix"].append(parent)
                st["category"].append(1)
                st["subcategory"].append(0)
            return stack_of[sid]

        stacks = [stack(int(p.sample_stack[i])) for i in rows]
        for table in (fn, fr, st):
            table["length"] = len(next(iter(table.values())))
        threads.append({
            "name": t.name, "isMainThread": ti == 0, "processStartupTime": 0,
            "processShutdownTime": None, "registerTime": 0, "unregisterTime": None,
            "pausedRanges": [], "pid": None if t.pid is None else str(t.pid), "tid": t.id,
            "processType": "default", "processName": "Python Process",
            "samples": {"stack": stacks, "time": _times(p, rows),
                        "eventDelay": [None] * len(rows), "weight": _weights(p, rows),
                        "weightType": "samples", "length": len(rows)},
            "stackTable": st, "frameTable": fr, "funcTable": fn,
            "resourceTable": {"lib": [], "name": [], "host": [], "type": [], "length": 0},
            "nativeSymbols": {"libIndex": [], "address": [], "name": [], "functionSize": [],
                              "length": 0},
            "markers": {"data": [], "name": [], "startTime": [], "endTime": [], "phase": [],
                        "category": [], "length": 0},
        })
    return {
        "meta": {"interval": interval_ms, "startTime": 0, "abi": "x86_64", "misc": "",
                 "oscpu": "x86_64", "platform": "Linux", "processType": 0,
                 "categories": [{"name": "Other", "color": "grey", "subcategories": ["Other"]},
                                {"name": "Python", "color": "yellow", "subcategories": ["Other"]},
                                {"name": "Native", "color": "blue", "subcategories": ["Other"]}],
                 "stackwalk": 0, "toolkit": "", "version": 32, "preprocessedProfileVersion": 57,
                 "appBuildID": "", "product": "Python", "symbolicated": True, "markerSchema": [],
                 "importedFrom": "Tachyon Sampling Profiler",
                 "extensions": {"id": [], "name": [], "baseURL": [], "length": 0}},
        "libs": [], "threads": threads, "pages": [],
        "shared": {"stringArray": strings, "sources": {"length": 0, "uuid": [], "filename": []}},
    }


def raw(p: Profile) -> dict:
    """Return ``p`` (first sample type) as a raw Gecko profile (schema/data tables)."""
    threads = []
    for ti, t in enumerate(p.threads):
        strings, intern = _strings()
        rows = [i for i in range(p.n_samples) if int(p.sample_thread[i]) == ti]
        frames: list[list] = []
        frame_of: dict[int, int] = {}
        stack_rows: list[list] = []
        stack_of: dict[int, int] = {}

        def frame(fid: int) -> int:
            if fid not in frame_of:
                f = p.frames[fid]
                loc = f"{f.name} ({f.file}:{f.line})" if f.file else f.name
                frame_of[fid] = len(frames)
                cat = 1 if f.kind == "python" else 2
                frames.append([intern(loc), False, None, None, None, f.line or None, None, cat])
            return frame_of[fid]

        def stack(sid: int) -> int:
            for s2, parent in _new_rows(p, sid, stack_of):
                stack_of[s2] = len(stack_rows)
                stack_rows.append([parent, frame(int(p.stack_frame[s2]))])
            return stack_of[sid]

        times = _times(p, rows)
        weights = _weights(p, rows)
        data = [[stack(int(p.sample_stack[i])), times[j]]
                + ([weights[j]] if weights is not None else []) for j, i in enumerate(rows)]
        schema = {"stack": 0, "time": 1}
        if weights is not None:
            schema["weight"] = 2
        threads.append({
            "processType": "default", "name": t.name, "tid": t.id,
            "pid": t.pid, "registerTime": 0, "unregisterTime": None,
            "samples": {"schema": schema, "data": data},
            "markers": {"schema": {"name": 0, "startTime": 1, "endTime": 2, "phase": 3,
                                   "category": 4, "data": 5}, "data": []},
            "stackTable": {"schema": {"prefix": 0, "frame": 1}, "data": stack_rows},
            "frameTable": {"schema": {"location": 0, "relevantForJS": 1, "innerWindowID": 2,
                                      "implementation": 3, "optimizations": 4, "line": 5,
                                      "column": 6, "category": 7}, "data": frames},
            "stringTable": strings,
        })
    return {"meta": {"version": 32, "startTime": 0, "interval": 1, "stackwalk": 0,
                     "processType": 0, "product": "Firefox", "platform": "Linux",
                     "categories": [{"name": "Other", "color": "grey", "subcategories": ["Other"]},
                                    {"name": "Python", "color": "yellow",
                                     "subcategories": ["Other"]},
                                    {"name": "Native", "color": "blue",
                                     "subcategories": ["Other"]}]},
            "libs": [], "threads": threads, "processes": []}
