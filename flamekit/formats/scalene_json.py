"""scalene JSON importer (pipeline stage: formats).

Format: the JSON that scalene (https://github.com/plasma-umass/scalene) writes;
its schema is the pydantic ``ScaleneJSONSchema`` in ``scalene/scalene_json.py``.
Read: scalene 2.x (``stacks``, ``combined_stacks``, ``memory_stacks``,
``combined_stacks_timeline``) and the per-line data of the 2022-2024 schemas
(``files[f].lines``/``functions`` with ``n_*`` fields, ``samples`` as bare MB values
or ``[t_ns, MB]`` pairs). There is no export.

Recording (what ``flamekit record --backend scalene`` runs; checked with scalene 2.4.0)::

    python -m scalene run -o OUT.json [--cpu-only | --memory] PROGRAM.py --- ARGS...

(scalene >= 2.0 has ``run``/``view`` subcommands; program arguments follow
``---``. ``--cpu-only`` skips memory profiling; the default and ``--memory``
profile both. Stacks are on by default. Older 1.x used
``python -m scalene --cli --json --outfile OUT.json --cpu --memory PROGRAM.py``.)

Mapping to the model
--------------------
Sample types (present only when the file has that kind of data):

======================== ====================================================
``cpu/samples``          CPU call stacks, root first: ``combined_stacks``
                         (Python + native frames, hit counts) or else ``stacks``
                         (Python only, ``count``). Threads from
                         ``combined_stacks_timeline`` (rest on the main thread).
``cpu_python/seconds``   per line: ``n_cpu_percent_python`` / 100 x
                         ``elapsed_time_sec`` (seconds of the run's wall time)
``cpu_native/seconds``   per line: ``n_cpu_percent_c`` likewise
``cpu_system/seconds``   per line: ``n_sys_percent`` likewise
``gpu/seconds``          per line: ``n_gpu_percent`` likewise (only if non-zero)
``alloc_space/megabytes`` allocations: ``memory_stacks`` (full Python stacks,
                         MB) when present, else per line ``n_malloc_mb``
``mallocs/count``        per line: ``n_mallocs`` (sampled allocation count)
======================== ====================================================

Peak memory is a maximum, so it is no sample type (a sum of lines' peaks means
nothing: it once showed 3 MB for a 31 MB footprint): ``meta["peak_memory_bytes"]``
holds the run's peak (``max_footprint_mb``, else the largest line peak) and
``scalene_lines.peak_mb`` each line's own peak.

Stacks come in the **Python view** by default (``meta["view"] = "python"``):
scalene's combined stacks put the interpreter's whole native stack (``Py_RunMain``,
``_PyEval_EvalFrameDefault``, unresolved addresses, ``__select``...) under the
innermost Python frame, which buries the Python hotspot; those native frames are
folded into the Python frame they serve. ``load(path, native_frames=True)`` (and
``flamekit record --backend scalene --native``) keeps them (``view = "native"``).

scalene's MB are MiB (2**20 bytes). When ``elapsed_time_sec`` is missing or
negative the per-line CPU types stay percentages (``cpu_python/percent``...) and
``meta["cpu_units"]`` says ``percent`` (else ``seconds``).

A per-line sample has a one-frame stack ``Frame(function, file, line,
kind="python")``; ``group(p, "function")`` turns lines into functions. The
function of a line comes from the stacks' frames, then the ``functions`` list
(``start_function_line``), then the nearest enclosing ``def`` in the source
text scalene embeds, else ``<module>``. Combined-stack native frames are
``Frame(symbol or 0x<ip>, module=<shared object>, kind="native")``.

Tables (``profile.tables``; every column a list of equal length):

* ``scalene_lines``: ``file, line, function, source`` (the source line as scalene
  saw it: UNTRUSTED text, escape it), ``cpu_python_pct, cpu_native_pct,
  cpu_system_pct, gpu_pct, gpu_avg_mb, gpu_peak_mb, malloc_mb, peak_mb, avg_mb,
  growth_mb, mallocs, copy_mb_s, python_fraction, usage_fraction,
  core_utilization, n_memory_samples`` - one row per line scalene reported.
* ``scalene_functions``: ``file, function, line`` (the ``def`` line) and the same
  value columns scalene gives per function.
* ``scalene_memory_timeline``: ``t_sec`` (None in the 2022-01 schema, which has no
  times) and ``footprint_mb``, from the top-level ``samples``.
* ``scalene_leaks``: ``file, line, likelihood, velocity_mb_s`` (when reported).

``meta``: ``tool`` (``scalene``), ``scalene_schema`` (``2.x``, ``2024``,
``2022-09``, ``2022-01``: guessed from the keys; scalene writes no version),
``elapsed_time_sec``, ``duration``, ``max_footprint_mb``, ``max_footprint_fname``,
``max_footprint_lineno``, ``max_footprint_python_fraction``, ``growth_rate``,
``program``, ``args``, ``entrypoint_dir``, ``gpu``, ``gpu_device``, ``memory``,
``alloc_samples``, ``native_allocations_mb``, ``start_time`` (ISO 8601, UTC),
``main_thread_id``, ``async_profile``, ``cpu_units``, ``peak_memory_bytes``, ``view``.

Bad values (SC03/SC04 in bad_inputs.md): ``NaN``/``Infinity``, negative numbers
and percentages above 100 are clamped (to 0 or 100; a line whose three CPU
shares add up to more than 100 is scaled down) and counted in one warning each;
never a negative width. Wrong types (``lines: {}``, ``functions: null``,
``elapsed_time_sec: "1s"``) and a missing ``files`` raise ``FormatError``.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
from typing import Any

from ..model import Profile, ProfileBuilder, SampleType
from . import _json
from ._format import Format
from ._kinds import frame_kind
from ._scalene_stacks import Loader, cpu_stacks, memory_stacks, name_lines

NAME = "scalene"

#: (table column, JSON key) for the numeric per-line / per-function fields.
_FIELDS = (
    ("cpu_python_pct", "n_cpu_percent_python"), ("cpu_native_pct", "n_cpu_percent_c"),
    ("cpu_system_pct", "n_sys_percent"), ("gpu_pct", "n_gpu_percent"),
    ("gpu_avg_mb", "n_gpu_avg_memory_mb"), ("gpu_peak_mb", "n_gpu_peak_memory_mb"),
    ("malloc_mb", "n_malloc_mb"), ("peak_mb", "n_peak_mb"), ("avg_mb", "n_avg_mb"),
    ("growth_mb", "n_growth_mb"), ("mallocs", "n_mallocs"), ("copy_mb_s", "n_copy_mb_s"),
    ("python_fraction", "n_python_fraction"), ("usage_fraction", "n_usage_fraction"),
    ("core_utilization", "n_core_utilization"),
)
_PCT = {"cpu_python_pct", "cpu_native_pct", "cpu_system_pct", "gpu_pct"}
_FRAC = {"python_fraction", "usage_fraction", "core_utilization"}
_META_KEYS = ("max_footprint_mb", "max_footprint_fname", "max_footprint_lineno",
              "max_footprint_python_fraction", "growth_rate", "program", "args",
              "entrypoint_dir", "gpu", "gpu_device", "memory", "alloc_samples",
              "native_allocations_mb", "main_thread_id", "async_profile")


def sniff(head: bytes) -> bool | None:
    """Claim JSON objects with scalene's top-level keys."""
    h = head.lstrip()
    if not h.startswith(b"{") or b"speedscope.app/file-format-schema" in h:
        return False
    if b'"elapsed_time_sec"' in h or b'"max_footprint_mb"' in h:
        return True
    return b'"alloc_samples"' in h and (b'"combined_stacks"' in h or b'"args"' in h)


def load(path: str | os.PathLike, *, max_decompressed: int | None = None,
         native_frames: bool = False) -> Profile:
    """Load a scalene JSON profile (see the module docstring for the mapping).

    ``native_frames``: keep the interpreter's native frames in the CPU and memory
    stacks instead of the Python view (default False).
    """
    source = os.fspath(path)
    doc = _json.load_json(source, NAME, max_decompressed=max_decompressed, allow_nan=True)
    return from_json(doc, source, native_frames=native_frames)


def from_json(doc: Any, source: str = "<scalene>", *, native_frames: bool = False) -> Profile:
    """Convert a parsed scalene document into a Profile (``native_frames`` as in :func:`load`)."""
    L = Loader(source)
    if not isinstance(doc, dict):
        raise L.fail("", f"top level must be a JSON object, got {_json.describe(doc)}")
    files = doc.get("files")
    if not isinstance(files, dict):
        raise L.fail("files", "missing or not an object: not a scalene profile with per-line data"
                     if "files" not in doc else f"expected an object, got {_json.describe(files)}")
    b = ProfileBuilder([])
    meta: dict[str, Any] = {"tool": "scalene", "scalene_schema": _schema(doc)}

    elapsed = doc.get("elapsed_time_sec")
    if elapsed is not None and not _json.is_number(elapsed):
        raise L.fail("elapsed_time_sec", f"expected a number, got {_json.describe(elapsed)}")
    if elapsed is None or not math.isfinite(float(elapsed)) or elapsed < 0:
        b.warn(f"elapsed_time_sec is {_json.describe(elapsed)}; per-line CPU kept as percentages")
        elapsed = None
    else:
        elapsed = float(elapsed)
        meta["elapsed_time_sec"] = meta["duration"] = elapsed
    meta["cpu_units"] = "seconds" if elapsed is not None else "percent"
    for k in _META_KEYS:
        v = _plain(doc.get(k))
        if v is not None:
            meta[k] = v
    st = doc.get("start_time_absolute")
    if _json.is_number(st) and math.isfinite(st) and 0 < st < 1e11:
        meta["start_time"] = _dt.datetime.fromtimestamp(st, _dt.timezone.utc).isoformat()
    main_tid = doc.get("main_thread_id")
    main_tid = main_tid if isinstance(main_tid, int) and not isinstance(main_tid, bool) \
        and abs(main_tid) < 2**63 else 0
    main = b.thread(main_tid, "MainThread")

    # -- per-line and per-function data -------------------------------------
    lines, funcs = [], []
    for fname, fv in files.items():
        fp = f"files[{_short(fname)}]"
        if not isinstance(fv, dict):
            raise L.fail(fp, f"expected an object, got {_json.describe(fv)}")
        for i, ln in enumerate(L.list_of(fv, "lines", fp, required=True)):
            lines.append(_row(L, fname, ln, f"{fp}.lines[{i}]", source=True))
        for i, fn in enumerate(L.list_of(fv, "functions", fp)):
            funcs.append(_row(L, fname, fn, f"{fp}.functions[{i}]", source=False))
        leaks = fv.get("leaks")
        if isinstance(leaks, dict):
            for ln, info in leaks.items():
                if isinstance(info, dict) and str(ln).isdigit():
                    b.tables.setdefault("scalene_leaks", {"file": [], "line": [], "likelihood": [],
                                                          "velocity_mb_s": []})
                    t = b.tables["scalene_leaks"]
                    t["file"].append(fname)
                    t["line"].append(int(ln))
                    t["likelihood"].append(L.num(info, "likelihood", f"{fp}.leaks"))
                    t["velocity_mb_s"].append(L.num(info, "velocity_mb_s", f"{fp}.leaks"))
    for r in lines:
        tot = r["cpu_python_pct"] + r["cpu_native_pct"] + r["cpu_system_pct"]
        if tot > 100.0 + 1e-6:
            L.clamped["CPU shares adding up to more than 100%"] += 1
            for c in ("cpu_python_pct", "cpu_native_pct", "cpu_system_pct"):
                r[c] *= 100.0 / tot

    # -- call stacks -----------------------------------------------------------
    names: dict[tuple[str, int], str] = {}
    cpu = cpu_stacks(L, b, doc, names, main, main_tid, native_frames)
    mem = memory_stacks(L, b, doc, names, native_frames)
    if cpu or mem:
        meta["view"] = "native" if native_frames else "python"
    name_lines(lines, funcs, names)

    has_gpu = any(r["gpu_pct"] for r in lines)
    has_mem = bool(mem) or doc.get("memory") is True or any(
        r["malloc_mb"] or r["peak_mb"] or r["mallocs"] for r in lines)
    unit = "seconds" if elapsed is not None else "percent"
    factor = elapsed / 100.0 if elapsed is not None else 1.0
    line_types = [("cpu_python", "cpu_python_pct", unit, factor),
                  ("cpu_native", "cpu_native_pct", unit, factor),
                  ("cpu_system", "cpu_system_pct", unit, factor)]
    if has_gpu:
        line_types.append(("gpu", "gpu_pct", unit, factor))
    if has_mem:
        if not mem:
            line_types.append(("alloc_space", "malloc_mb", "megabytes", 1.0))
        line_types.append(("mallocs", "mallocs", "count", 1.0))
    # a peak is a maximum, not a sum: never a sample column (summing lines' peaks gave 3 MB for
    # a 31 MB footprint); the profile's peak is meta, each line's stays in scalene_lines.peak_mb
    peaks = [v for v in [_plain(doc.get("max_footprint_mb"))] + [r["peak_mb"] for r in lines]
             if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0]
    if peaks:
        meta["peak_memory_bytes"] = int(round(max(peaks) * 2**20))
    types = [SampleType("cpu", "samples")] if cpu else []
    types += [SampleType(n, u) for n, _, u, _ in line_types]
    if mem:
        types.insert(types.index(SampleType("mallocs", "count")), SampleType("alloc_space", "megabytes"))
    for t in types:
        b.add_sample_type(t)
    k_of = {t: i for i, t in enumerate(b.sample_types)}
    nt = len(b.sample_types)

    def add(stack: int, st: SampleType, value: float, thread: int) -> None:
        vals = [0.0] * nt
        vals[k_of[st]] = value
        b.add(stack, vals, thread)

    for stack, thread, count in cpu:
        add(stack, SampleType("cpu", "samples"), count, thread)
    for r in lines:
        fr = None
        for name, col, u, fac in line_types:
            v = r[col] * fac
            if v:
                if fr is None:
                    fr = b.stack([b.frame(r["function"], r["file"], r["line"], "",
                                                  frame_kind(r["file"], default="python"))])
                add(fr, SampleType(name, u), v, main)
    for stack, mb in mem:
        add(stack, SampleType("alloc_space", "megabytes"), mb, main)

    b.tables["scalene_lines"] = _columns(lines, ["file", "line", "function", "source"]
                                         + [c for c, _ in _FIELDS] + ["n_memory_samples"])
    b.tables["scalene_functions"] = _columns(funcs, ["file", "function", "line"]
                                             + [c for c, _ in _FIELDS])
    tl = _timeline(L, doc)
    if tl is not None:
        b.tables["scalene_memory_timeline"] = tl
    for what, n in sorted(L.clamped.items()):
        b.warn(f"{n} value(s) {what} clamped (to 0, or to the upper bound)")
    return b.build(meta)


def _schema(doc: dict) -> str:
    if "combined_stacks" in doc or "memory_stacks" in doc:
        return "2.x"
    if "stacks" in doc or "alloc_samples" in doc:
        return "2024"
    s = doc.get("samples")
    if isinstance(s, list) and s and isinstance(s[0], list):
        return "2022-09"
    return "2022-01"


def _short(s: str) -> str:
    import json
    return json.dumps(s[:60])


def _plain(v: Any) -> Any:
    """Return ``v`` if it is plain JSON scalar data (finite numbers; lists of str), else None."""
    if isinstance(v, bool) or isinstance(v, str):
        return v
    if _json.is_number(v):
        try:
            return v if math.isfinite(float(v)) and abs(v) < 2**63 else None
        except OverflowError:
            return None
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    return None


def _row(L: Loader, fname: str, obj: Any, path: str, source: bool) -> dict:
    if not isinstance(obj, dict):
        raise L.fail(path, f"expected an object, got {_json.describe(obj)}")
    ln = obj.get("lineno")
    if not isinstance(ln, int) or isinstance(ln, bool) or not 0 <= ln < 2**31:
        raise L.fail(path + ".lineno", f"expected a line number, got {_json.describe(ln)}")
    text = obj.get("line", "")
    if not isinstance(text, str):
        raise L.fail(path + ".line", f"expected a string, got {_json.describe(text)}")
    r: dict[str, Any] = {"file": fname, "line": ln}
    if source:
        r["source"] = text[:-1] if text.endswith("\n") else text
        r["function"] = ""
        sfl = obj.get("start_function_line")
        r["_start"] = sfl if isinstance(sfl, int) and not isinstance(sfl, bool) else 0
    else:
        r["function"] = text
    for col, key in _FIELDS:
        hi = 100.0 if col in _PCT else 1.0 if col in _FRAC else None
        r[col] = L.num(obj, key, path, hi=hi)
    r["mallocs"] = float(round(r["mallocs"]))
    ms = obj.get("memory_samples")
    r["n_memory_samples"] = len(ms) if isinstance(ms, list) else 0
    return r


def _columns(rows: list[dict], cols: list[str]) -> dict:
    return {c: [r[c] for r in rows] for c in cols}


def _timeline(L: Loader, doc: dict) -> dict | None:
    s = doc.get("samples")
    if not isinstance(s, list) or not s:
        return None
    t_sec, mb = [], []
    for i, x in enumerate(s):
        if isinstance(x, list) and len(x) == 2:
            t_sec.append(L.num({"t": x[0]}, "t", f"samples[{i}]") / 1e9)
            mb.append(L.num({"m": x[1]}, "m", f"samples[{i}]"))
        elif _json.is_number(x):
            t_sec.append(None)
            mb.append(L.num({"m": x}, "m", f"samples[{i}]"))
        else:
            raise L.fail(f"samples[{i}]", f"expected [t_ns, MB] or MB, got {_json.describe(x)}")
    return {"t_sec": t_sec, "footprint_mb": mb}


#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(
    NAME,
    extensions=(".scalene.json",),
    aliases=("scalene-json", "scalene_json"),
    sniff=sniff,
    load=load,
)
