"""Firefox Profiler / Gecko profile importer (pipeline stage: formats).

Formats (https://github.com/firefox-devtools/profiler, ``docs-developer/``):

* the **processed profile** (``meta.preprocessedProfileVersion`` present): what
  the Firefox Profiler saves and what CPython 3.15's sampler writes
  (``python -m profiling.sampling --gecko``, ``importedFrom`` "Tachyon Sampling
  Profiler") and ``fxprof-processed-profile`` users (samply...) produce. One
  flat ``threads`` list; per thread, column tables ``samples`` (``stack``,
  ``time`` or ``timeDeltas``, optional ``weight`` + ``weightType``),
  ``stackTable`` (``prefix``, ``frame``), ``frameTable`` (``func``, ``line``,
  ``category``), ``funcTable`` (``name``, ``fileName``, ``lineNumber``,
  ``resource``) and ``resourceTable`` (``name``); strings in
  ``shared.stringArray`` (newer) or the thread's ``stringArray``.
* the **Gecko profile** (``meta.version`` only): what Firefox's profiler
  emits. Per thread, ``samples``/``stackTable``/``frameTable`` are
  ``{"schema": {column: index}, "data": [rows]}`` and strings are in the
  thread's ``stringTable``; a frame's ``location`` reads
  ``name (file:line:column)`` for script frames, a hex address for native
  ones, or a label. Child processes nest in ``processes`` (their times are
  shifted by the difference of ``meta.startTime``); old profiles store a
  thread as a JSON string. Firefox DevTools' performance export wraps the
  profile as ``{"profile": {...}}``.

Mapping: each thread's samples become samples of a :class:`Thread` (``tid``,
``name``, ``pid``); sample ``time`` (milliseconds) becomes ``sample_time`` in
seconds (the profile is timed only when every sample has a time). The
``weightType`` is the sample type: ``samples`` -> ``samples/count`` (weight 1
when absent), ``tracing-ms`` -> ``wall/milliseconds``, ``bytes`` ->
``alloc_space/bytes``. Samples with a null stack have nothing to charge and are
skipped with a warning. A frame's kind comes from its category's name
(Python, Native, Kernel...), else from its file name; ``ion``/``baseline``
implementations are ``jit``. Markers and counters are not imported.

Every index is range-checked and every prefix chain must end at a root: a cycle
or a dangling index is a :class:`FormatError` naming the thread and table.
"""
from __future__ import annotations

import math
import os
import re
from typing import Any

import numpy as np

from ..errors import FormatError
from ..model import Profile, ProfileBuilder, SampleType
from . import _json
from ._format import Format
from ._kinds import frame_kind

NAME = "gecko"
ALIASES = ("firefox",)
EXTENSIONS = (".gecko.json",)
_MAX_ID = 2**63 - 1
_WEIGHT_TYPES = {"samples": SampleType("samples", "count"),
                 "tracing-ms": SampleType("wall", "milliseconds"),
                 "bytes": SampleType("alloc_space", "bytes")}
_LOCATION_RX = re.compile(r"^(.*) \((.*?):(\d{1,9})(?::\d{1,9})?\)$", re.S)
_ADDRESS_RX = re.compile(r"^0x[0-9a-fA-F]+$")
_CATEGORY_KINDS = {"python": "python", "native": "native", "kernel": "kernel",
                   "jit": "jit"}
#: Deepest nesting of ``processes`` followed.
MAX_PROCESS_DEPTH = 16


def sniff(head: bytes) -> bool | None:
    """Claim Gecko/processed profiles (``meta`` + ``threads``) and DevTools' wrapper."""
    h = head.lstrip()
    if not h.startswith(b"{"):
        return False
    if b'"meta"' in h and b'"threads"' in h and (
            b'"stackTable"' in h or b'"preprocessedProfileVersion"' in h
            or b'"stringTable"' in h or b'"stringArray"' in h
            or (b'"interval"' in h and b'"startTime"' in h)):
        return True
    if b'"profile":{' in h.replace(b" ", b"") and b'"libs"' in h:
        return True
    if b'"meta"' in h and b'"interval"' in h and b'"startTime"' in h:
        return None if len(head) < 65536 else False
    return False


class _Loader:
    """One load: the builder, the file name, and checks that name the JSON path."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.b = ProfileBuilder([])
        self.null_stacks = 0
        self.untimed = False

    def fail(self, path: str, reason: str) -> FormatError:
        return FormatError(NAME, self.source, None, f"{path}: {reason}")

    def obj(self, v: Any, path: str) -> dict:
        if not isinstance(v, dict):
            raise self.fail(path, f"expected an object, got {_json.describe(v)}")
        return v

    def arr(self, v: Any, path: str) -> list:
        if not isinstance(v, list):
            raise self.fail(path, f"expected a list, got {_json.describe(v)}")
        return v

    def index(self, v: Any, n: int, path: str, nullable: bool = False) -> int | None:
        if v is None and nullable:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(path, f"expected an index, got {_json.describe(v)}")
        if not 0 <= v < n:
            raise self.fail(path, f"index {v} is out of range (table has {n} rows)")
        return v

    def number(self, v: Any, path: str) -> float:
        if not _json.is_number(v) or not math.isfinite(float(v)):
            raise self.fail(path, f"expected a finite number, got {_json.describe(v)}")
        return float(v)

    def string(self, strings: list, v: Any, path: str) -> str:
        i = self.index(v, len(strings), path)
        s = strings[i]  # type: ignore[index]
        if not isinstance(s, str):
            raise self.fail(path, f"string table entry {i} is {_json.describe(s)}")
        return s


def load(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Profile:
    """Load a Firefox Profiler (processed) or Gecko profile JSON file."""
    source = os.fspath(path)
    doc = _json.load_json(source, NAME, max_decompressed=max_decompressed)
    return from_json(doc, source)


def from_json(doc: Any, source: str = "<gecko>") -> Profile:
    """Convert a parsed Gecko or processed profile into a Profile (see the module doc)."""
    L = _Loader(source)
    doc = L.obj(doc, "top level")
    if "threads" not in doc and isinstance(doc.get("profile"), dict):
        doc = doc["profile"]  # Firefox DevTools' performance panel export
    meta = L.obj(doc.get("meta"), "meta")
    processed = "preprocessedProfileVersion" in meta
    categories = _categories(meta)
    if processed:
        shared = doc.get("shared")
        strings = None
        if isinstance(shared, dict) and "stringArray" in shared:
            strings = L.arr(shared["stringArray"], "shared.stringArray")
        for i, t in enumerate(L.arr(doc.get("threads"), "threads")):
            _processed_thread(L, L.obj(t, f"threads[{i}]"), f"threads[{i}]", strings, categories)
    else:
        _gecko_process(L, doc, "", 0.0, float(_start(L, meta, "meta")), categories, 0)
    if L.null_stacks:
        L.b.warn(f"{L.null_stacks} sample(s) with an empty (null) stack skipped")
    if L.untimed and L.b.s_time:
        L.b.s_time.clear()
        L.b.warn("some samples have no time: the profile is untimed")
    if not L.b.sample_types:
        L.b.add_sample_type(SampleType("samples", "count"))
    info: dict[str, Any] = {}
    for key in ("version", "preprocessedProfileVersion", "product", "importedFrom",
                "interval", "startTime", "platform", "oscpu"):
        v = meta.get(key)
        if isinstance(v, (str, int, float)) and not isinstance(v, bool) and (
                not isinstance(v, float) or math.isfinite(v)):
            info[key] = v if not isinstance(v, str) else v[:200]
    out: dict[str, Any] = {"gecko": info}
    tool = info.get("importedFrom") or info.get("product")
    if isinstance(tool, str) and tool:
        out["tool"] = tool
    p = L.b.build(out)
    if not np.isfinite(p.totals()).all():
        raise FormatError(NAME, source, None, "sample weights overflow a 64-bit float when summed")
    return p


def _start(L: _Loader, meta: dict, path: str) -> float:
    v = meta.get("startTime", 0)
    return 0.0 if v is None else L.number(v, path + ".startTime")


def _categories(meta: dict) -> list[str]:
    cats = meta.get("categories")
    out = []
    if isinstance(cats, list):
        for c in cats:
            name = c.get("name") if isinstance(c, dict) else None
            out.append(name.lower() if isinstance(name, str) else "")
    return out


def _kind(categories: list[str], cat: Any, file: str, impl: str = "") -> str:
    if impl in ("ion", "baseline", "blinterp"):
        return "jit"
    if isinstance(cat, int) and not isinstance(cat, bool) and 0 <= cat < len(categories):
        k = _CATEGORY_KINDS.get(categories[cat])
        if k:
            return k
    return frame_kind(file)


def _thread(L: _Loader, t: dict, index: int) -> int:
    name = t.get("name")
    name = name if isinstance(name, str) else ""
    return L.b.thread(_int_id(t.get("tid"), index), name, _int_id(t.get("pid"), None))


def _int_id(v: Any, default: Any) -> Any:
    if isinstance(v, str) and v.isdigit() and len(v) < 20:
        v = int(v)
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= _MAX_ID:
        return v
    return default


def _resolve(L: _Loader, prefix: list, fids: list[int], path: str) -> list[int]:
    """Map every stack row to a builder row, following prefixes iteratively."""
    n = len(prefix)
    out = [-2] * n  # -2: not yet, -3: on the current chain
    for s in range(n):
        if out[s] != -2:
            continue
        chain = []
        x: int | None = s
        while x is not None and out[x] == -2:
            out[x] = -3
            chain.append(x)
            x = L.index(prefix[x], n, f"{path}.prefix[{x}]", nullable=True)
        if x is not None and out[x] == -3:
            raise L.fail(f"{path}.prefix[{chain[-1]}]", "stack prefixes form a cycle")
        parent = -1 if x is None else out[x]
        for y in reversed(chain):
            parent = out[y] = L.b.push(parent, fids[y])
    return out


def _add_samples(L: _Loader, thread: int, rows: list[int], stacks: list, times: list | None,
                 weights: list | None, weight_type: Any, offset_ms: float, path: str) -> None:
    wt = "samples" if weight_type is None else weight_type
    st = _WEIGHT_TYPES.get(wt) if isinstance(wt, str) else None
    if st is None:
        raise L.fail(path + ".weightType", f"unknown weight type {_json.describe(wt)}")
    col = L.b.add_sample_type(st)
    k = len(L.b.sample_types)
    n = len(stacks)
    if times is not None and len(times) != n:
        raise L.fail(path, f"{len(times)} times for {n} samples")
    if weights is not None and len(weights) != n:
        raise L.fail(path, f"{len(weights)} weights for {n} samples")
    if times is None and n:
        L.untimed = True
    for i in range(n):
        s = L.index(stacks[i], len(rows), f"{path}.stack[{i}]", nullable=True)
        if s is None:
            L.null_stacks += 1
            continue
        w = 1.0 if weights is None else L.number(weights[i], f"{path}.weight[{i}]")
        if w < 0:
            raise L.fail(f"{path}.weight[{i}]", f"negative weight {w!r}")
        vals = [0.0] * k
        vals[col] = w
        t = None if times is None else (L.number(times[i], f"{path}.time[{i}]") + offset_ms) / 1000
        L.b.add(rows[s], vals, thread, t)


# -- the processed profile ------------------------------------------------------------
def _columns(L: _Loader, table: Any, names: tuple[str, ...], path: str,
             optional: tuple[str, ...] = ()) -> tuple[int, dict[str, list | None]]:
    table = L.obj(table, path)
    cols: dict[str, list | None] = {}
    n = None
    for name in names + optional:
        v = table.get(name)
        if v is None and name in optional:
            cols[name] = None
            continue
        v = L.arr(v, f"{path}.{name}")
        if n is None:
            n = len(v)
        elif len(v) != n:
            raise L.fail(f"{path}.{name}", f"has {len(v)} rows, other columns {n}")
        cols[name] = v
    return n or 0, cols


def _processed_thread(L: _Loader, t: dict, path: str, shared: list | None,
                      categories: list[str]) -> None:
    strings = t.get("stringArray", t.get("stringTable", shared))
    strings = L.arr(strings, path + ".stringArray")
    nfn, fn = _columns(L, t.get("funcTable"), ("name",), path + ".funcTable",
                       ("fileName", "lineNumber", "resource"))
    nfr, fr = _columns(L, t.get("frameTable"), ("func",), path + ".frameTable",
                       ("line", "category", "implementation"))
    nst, st = _columns(L, t.get("stackTable"), ("frame", "prefix"), path + ".stackTable")
    func_frames: dict[int, tuple[str, str, int]] = {}
    for f in range(nfn):
        p = f"{path}.funcTable"
        name = L.string(strings, fn["name"][f], f"{p}.name[{f}]")  # type: ignore[index]
        fnames = fn["fileName"]
        fi = None if fnames is None else fnames[f]
        file = "" if fi is None else L.string(strings, fi, f"{p}.fileName[{f}]")
        lines = fn["lineNumber"]
        line = lines[f] if lines is not None else None
        func_frames[f] = (name, file, _line(line))
    fids = []
    for i in range(nfr):
        f = L.index(fr["func"][i], nfn, f"{path}.frameTable.func[{i}]")  # type: ignore[index]
        name, file, line = func_frames[f]  # type: ignore[index]
        if fr["line"] is not None and fr["line"][i] is not None:
            line = _line(fr["line"][i])
        cat = fr["category"][i] if fr["category"] is not None else None
        impl = fr["implementation"][i] if fr["implementation"] is not None else None
        impl = strings[impl] if isinstance(impl, int) and 0 <= impl < len(strings) else impl
        kind = _kind(categories, cat, file, impl if isinstance(impl, str) else "")
        fids.append(L.b.frame(name, file, line, "", kind))
    frame_col: list = st["frame"]  # type: ignore[assignment]
    frames = [L.index(v, nfr, f"{path}.stackTable.frame[{i}]") for i, v in enumerate(frame_col)]
    prefix_col: list = st["prefix"]  # type: ignore[assignment]
    rows = _resolve(L, prefix_col, [fids[f] for f in frames],  # type: ignore[index]
                    path + ".stackTable")
    samples = L.obj(t.get("samples"), path + ".samples")
    stacks = L.arr(samples.get("stack"), path + ".samples.stack")
    times = samples.get("time")
    if times is None and samples.get("timeDeltas") is not None:
        deltas = L.arr(samples["timeDeltas"], path + ".samples.timeDeltas")
        acc, times = 0.0, []
        for i, d in enumerate(deltas):
            acc += L.number(d, f"{path}.samples.timeDeltas[{i}]")
            times.append(acc)
    elif times is not None:
        times = L.arr(times, path + ".samples.time")
    weights = samples.get("weight")
    weights = None if weights is None else L.arr(weights, path + ".samples.weight")
    _add_samples(L, _thread(L, t, len(L.b.threads)), rows, stacks, times, weights,
                 samples.get("weightType"), 0.0, path + ".samples")
    del nst


def _line(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= _MAX_ID:
        return v
    return 0


# -- the Gecko profile ----------------------------------------------------------------
def _schema_table(L: _Loader, table: Any, path: str, need: tuple[str, ...]
                  ) -> tuple[dict[str, int], list]:
    table = L.obj(table, path)
    schema = L.obj(table.get("schema"), path + ".schema")
    for k in need:
        if k not in schema:
            raise L.fail(path + ".schema", f"no {k!r} column")
    cols = {}
    for k, v in schema.items():
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1024:
            cols[k] = v
    for k in need:
        if k not in cols:
            raise L.fail(f"{path}.schema.{k}", f"column index must be a small integer, "
                                               f"got {_json.describe(schema[k])}")
    data = L.arr(table.get("data"), path + ".data")
    return cols, data


def _cell(row: list, col: int | None) -> Any:
    return row[col] if col is not None and col < len(row) else None


def _gecko_process(L: _Loader, prof: dict, path: str, offset_ms: float, root_start: float,
                   categories: list[str], depth: int) -> None:
    if depth > MAX_PROCESS_DEPTH:
        raise L.fail(path + "processes", f"processes nested deeper than {MAX_PROCESS_DEPTH}")
    for i, t in enumerate(L.arr(prof.get("threads"), path + "threads")):
        tp = f"{path}threads[{i}]"
        if isinstance(t, str):  # old profiles serialize each thread as a JSON string
            try:
                t = _json.parse_json(t, NAME, L.source)
            except FormatError as e:
                raise L.fail(tp, f"thread string is not valid JSON ({e.reason})") from None
        _gecko_thread(L, L.obj(t, tp), tp, offset_ms, categories)
    for i, sub in enumerate(prof.get("processes") or []):
        sp = f"{path}processes[{i}]."
        sub = L.obj(sub, sp[:-1])
        start = _start(L, L.obj(sub.get("meta", {}), sp + "meta"), sp + "meta")
        _gecko_process(L, sub, sp, start - root_start, root_start, categories, depth + 1)


def _gecko_thread(L: _Loader, t: dict, path: str, offset_ms: float,
                  categories: list[str]) -> None:
    strings = L.arr(t.get("stringTable"), path + ".stringTable")
    fcols, frames = _schema_table(L, t.get("frameTable"), path + ".frameTable", ("location",))
    fids = []
    for i, row in enumerate(frames):
        rp = f"{path}.frameTable.data[{i}]"
        row = L.arr(row, rp)
        loc = L.string(strings, _cell(row, fcols["location"]), rp + ".location")
        m = _LOCATION_RX.match(loc)
        name, file, line = (m.group(1), m.group(2), int(m.group(3))) if m else (loc, "", 0)
        ln = _cell(row, fcols.get("line"))
        if ln is not None:
            line = _line(ln)
        impl = _cell(row, fcols.get("implementation"))
        impl = strings[impl] if isinstance(impl, int) and 0 <= impl < len(strings) else ""
        if not m and _ADDRESS_RX.match(loc):
            kind = "native"
        else:
            kind = _kind(categories, _cell(row, fcols.get("category")), file,
                         impl if isinstance(impl, str) else "")
        fids.append(L.b.frame(name, file, line, "", kind))
    scols, stack_rows = _schema_table(L, t.get("stackTable"), path + ".stackTable",
                                      ("prefix", "frame"))
    prefix, sframes = [], []
    for i, row in enumerate(stack_rows):
        row = L.arr(row, f"{path}.stackTable.data[{i}]")
        prefix.append(_cell(row, scols["prefix"]))
        f = L.index(_cell(row, scols["frame"]), len(fids), f"{path}.stackTable.data[{i}].frame")
        sframes.append(fids[f])  # type: ignore[index]
    rows = _resolve(L, prefix, sframes, path + ".stackTable")
    mcols, samples = _schema_table(L, t.get("samples"), path + ".samples", ("stack",))
    stacks, times, weights = [], [], []
    has_time, has_weight = "time" in mcols, "weight" in mcols
    for i, row in enumerate(samples):
        row = L.arr(row, f"{path}.samples.data[{i}]")
        stacks.append(_cell(row, mcols["stack"]))
        if has_time:
            times.append(_cell(row, mcols["time"]))
        if has_weight:
            w = _cell(row, mcols["weight"])
            weights.append(1 if w is None else w)
    wt = L.obj(t.get("samples"), path + ".samples").get("weightType")
    _add_samples(L, _thread(L, t, len(L.b.threads)), rows, stacks,
                 times if has_time else None, weights if has_weight else None, wt,
                 offset_ms, path + ".samples")


FORMAT = Format(NAME, extensions=EXTENSIONS, aliases=ALIASES, sniff=sniff, load=load)
