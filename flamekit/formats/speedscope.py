"""speedscope JSON importer and exporter (pipeline stage: formats).

Format: the speedscope file format, https://www.speedscope.app/file-format-schema.json
(TypeScript source: ``src/lib/file-format-spec.ts`` in jlfwong/speedscope). py-spy
writes it with ``py-spy record -f speedscope``: one *sampled* profile per thread,
named ``Thread <tid> "<thread name>"``, unit ``seconds``, weight ``1/rate``.

Import
------
* ``shared.frames[i]`` -> :class:`~flamekit.model.Frame` ``(name, file, line)``;
  ``col`` has no place in the model and is dropped. ``kind`` is derived from the
  file by the shared rule (:func:`._kinds.frame_kind`: ``python`` for Python
  files, ``native`` for C/C++/Rust/Go sources and shared objects, ``unknown``
  otherwise).
* Every profile becomes samples of one **thread**, parsed from the profile name:
  ``Thread 8644 "feed"`` (py-spy; also what :func:`dump` writes, optionally with
  `` pid N``), ``... for <pid>:<tid>`` (austin, name kept whole),
  ``<name> tid: <tid>``; otherwise thread id = profile index and name = profile
  name. Profiles that name the same thread share one :class:`Thread`.
* The profile ``unit`` becomes the **sample type**:

  ============  =======================  ==============================
  unit          sample type              note
  ============  =======================  ==============================
  none          ``samples/count``
  nanoseconds   ``wall/nanoseconds``     also micro-, milli-, seconds:
  seconds       ``wall/seconds``         values keep the file's unit
  bytes         ``alloc_space/bytes``
  other         ``value/<unit>``         with a warning
  ============  =======================  ==============================

  A profile name ending in `` [name/unit]`` (written by :func:`dump` for types
  the unit alone cannot express, e.g. ``cpu/samples``) names the type exactly.
* **sampled** profiles: one sample per entry of ``samples`` (root first), valued
  by ``weights`` (all 1 with a warning when ``weights`` is missing). Samples
  have no timestamps in this format, so the profile is untimed, unless the
  caller asks for ``sampled_times=True`` (the py-spy recorder does): then a
  sampled profile with a time unit is timed the way speedscope's own "Time
  Order" view lays it out: each sample at the summed weights of the samples
  before it (empty ones included), in seconds from ``startValue``.
* **evented** profiles: ``O``/``C`` events must nest (a ``C`` closes the frame on
  top of the stack) and ``at`` must never decrease; each interval between two
  events with a non-empty stack becomes one sample valued by its length (self
  time per interval). With a time unit the samples are **timed**
  (``sample_time`` = interval start minus ``startValue``, in seconds) unless
  another profile of the file is sampled or unit-less.
* Samples with an empty stack are skipped: they have no frame to charge, and
  speedscope draws nothing for them either (py-spy writes a few, e.g. while a
  thread starts).
* File-level ``exporter``, ``name`` and ``activeProfileIndex`` go to
  ``meta["speedscope"]`` (an exporter ``flamekit@...`` is our own and dropped);
  ``exporter`` of the form ``tool@version`` also sets ``meta["tool"]`` and
  ``meta["tool_version"]``.
* Rejected with :class:`~flamekit.errors.FormatError` (message names the JSON path):
  unknown profile or event type, a frame index out of range (negative
  included), ``samples``/``weights`` of different lengths, a ``C`` that is not
  the top of the stack, time going backwards, frames left open, ``NaN``,
  ``Infinity``, overflowing numbers or totals, nesting too deep for the parser.
  Duplicate JSON keys: the last one wins, as with ``json.loads``.

Export (:func:`dump`)
---------------------
Valid speedscope JSON with ``$schema``, one shared frame list (``file`` is the
frame's file, or its module when it has none) and one profile **per (thread,
sample type)**, unless ``sample_type`` picks a single type. A sample goes into the
profile of every type in which it is non-zero (all-zero samples into the first
type's). The file says ``version`` 0.6.0 and keeps the source's exporter
(``flamekit@<version>`` when unknown). Timed profiles whose type has a time unit, whose samples do not
overlap and whose values the event times carry exactly (``at + value - at == value``
in float64) are written as *evented* profiles (gaps preserved); everything else as
*sampled* profiles (weights are exact). Frame lines and thread ids are 64-bit
integers, negative ones included; a sample type's name and unit in the `` [name/unit]``
tag are percent-encoded (UTF-8) outside ``A-Z a-z 0-9 _ . - ~``. The unit is the type's unit when speedscope knows it, else
``none`` plus the `` [name/unit]`` name tag. ``meta["speedscope"]`` is written
back, so ``load(dump(p))`` is equivalent to ``p`` for profiles read from speedscope.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, BinaryIO
from urllib.parse import unquote

import numpy as np

from ..errors import FormatError
from ..model import Profile, ProfileBuilder, SampleType
from ..numfmt import as_number
from . import _json
from ._format import Format
from ._kinds import frame_kind
from ._speedscope_names import MAX_ID, TAG_RX, parse_thread, tag_text

NAME = "speedscope"
SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"
#: Format version written by :func:`dump` (speedscope's package version that added
#: the last field we write, ``activeProfileIndex``).
FORMAT_VERSION = "0.6.0"

#: Speedscope time units and how many of each make one second.
TIME_UNITS = {"nanoseconds": 1e9, "microseconds": 1e6, "milliseconds": 1e3, "seconds": 1.0}
_UNIT_TYPES = {"none": SampleType("samples", "count"), "bytes": SampleType("alloc_space", "bytes")}
_UNIT_TYPES.update({u: SampleType("wall", u) for u in TIME_UNITS})


def sniff(head: bytes) -> bool | None:
    """Claim JSON objects carrying the speedscope schema URL or its top-level keys."""
    h = head.lstrip()
    if not h.startswith(b"{"):
        return False
    if b"speedscope.app/file-format-schema" in h:
        return True
    return b'"profiles"' in h and b'"shared"' in h and b'"frames"' in h


class _Loader:
    """One load of one file: validation helpers that know the source and JSON path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, reason: str) -> FormatError:
        return FormatError(NAME, self.source, None, f"{path}: {reason}" if path else reason)

    def index(self, v: Any, n: int, path: str) -> int:
        if not isinstance(v, int) or isinstance(v, bool):
            raise self.fail(path, f"frame index must be an integer, got {_json.describe(v)}")
        if not 0 <= v < n:
            raise self.fail(path, f"frame index {v} is out of range (the file has {n} frames)")
        return v

    def number(self, v: Any, path: str) -> float:
        if not _json.is_number(v):
            raise self.fail(path, f"expected a number, got {_json.describe(v)}")
        try:
            x = float(v)
        except OverflowError:
            x = float("inf")
        if not np.isfinite(x):
            raise self.fail(path, "number is too large for a 64-bit float")
        return x


def load(path: str | os.PathLike, *, max_decompressed: int | None = None,
         sampled_times: bool = False) -> Profile:
    """Load a speedscope JSON file (sampled and evented profiles) into a Profile.

    ``sampled_times``: time sampled profiles by their summed weights (see the module docstring).
    """
    source = os.fspath(path)
    doc = _json.load_json(source, NAME, max_decompressed=max_decompressed)
    return from_json(doc, source, sampled_times=sampled_times)


def from_json(doc: Any, source: str = "<speedscope>", *, sampled_times: bool = False) -> Profile:
    """Convert a parsed speedscope document into a Profile (see the module docstring).

    ``sampled_times=True`` times sampled profiles whose unit is a time unit by
    their summed weights (default False: sampled profiles are untimed).
    """
    L = _Loader(source)
    if not isinstance(doc, dict):
        raise L.fail("", f"top level must be a JSON object, got {_json.describe(doc)}")
    shared = doc.get("shared")
    if not isinstance(shared, dict) or not isinstance(shared.get("frames"), list):
        raise L.fail("shared.frames", "missing or not a list")
    profiles = doc.get("profiles")
    if not isinstance(profiles, list):
        raise L.fail("profiles", "missing or not a list")
    b = ProfileBuilder([])
    fids = []
    for i, fr in enumerate(shared["frames"]):
        p = f"shared.frames[{i}]"
        if not isinstance(fr, dict):
            raise L.fail(p, f"frame must be an object, got {_json.describe(fr)}")
        name = fr.get("name")
        if not isinstance(name, str):
            raise L.fail(p + ".name", f"frame name must be a string, got {_json.describe(name)}")
        file = fr.get("file")
        if file is None:
            file = ""
        elif not isinstance(file, str):
            raise L.fail(p + ".file", f"must be a string, got {_json.describe(file)}")
        line = fr.get("line")
        if line is None:
            line = 0
        elif not _json.is_number(line) or line != int(line) or not -MAX_ID - 1 <= line <= MAX_ID:
            raise L.fail(p + ".line", f"must be a 64-bit integer, got {_json.describe(line)}")
        fids.append(b.frame(name, file, int(line), "", frame_kind(file)))
    nframes = len(fids)

    meta: dict[str, Any] = {}
    sm: dict[str, Any] = {}
    for key in ("exporter", "name"):
        if isinstance(doc.get(key), str):
            sm[key] = doc[key]
    if sm.get("exporter", "").startswith("flamekit@"):
        del sm["exporter"]  # our own export: the exporter says nothing about the samples
    api = doc.get("activeProfileIndex")
    if api is not None:
        if isinstance(api, int) and not isinstance(api, bool) and 0 <= api < len(profiles):
            sm["activeProfileIndex"] = api
        else:
            b.warn(f"activeProfileIndex {_json.describe(api)} ignored (not a profile index)")
    if sm:
        meta["speedscope"] = sm
    exp = sm.get("exporter", "")
    m = re.match(r"^([A-Za-z0-9_.\-]+)@([A-Za-z0-9_.+\-]+)$", exp)
    if m:
        meta["tool"], meta["tool_version"] = m.group(1), m.group(2)

    timed = bool(profiles)
    pending: list[tuple[int, int, float, float | None, int]] = []  # stack, thread, value, time, type
    for pi, prof in enumerate(profiles):
        pp = f"profiles[{pi}]"
        if not isinstance(prof, dict):
            raise L.fail(pp, f"profile must be an object, got {_json.describe(prof)}")
        ptype = prof.get("type")
        if ptype not in ("sampled", "evented"):
            raise L.fail(pp + ".type", f"unknown profile type {_json.describe(ptype)} "
                                       "(expected \"sampled\" or \"evented\")")
        pname = prof.get("name", "")
        if not isinstance(pname, str):
            raise L.fail(pp + ".name", f"must be a string, got {_json.describe(pname)}")
        unit = prof.get("unit", "none")
        if not isinstance(unit, str):
            raise L.fail(pp + ".unit", f"must be a string, got {_json.describe(unit)}")
        tag = TAG_RX.match(pname)
        if tag:
            pname, st = tag.group(1), SampleType(unquote(tag.group(2)), unquote(tag.group(3)))
        elif unit in _UNIT_TYPES:
            st = _UNIT_TYPES[unit]
        else:
            st = SampleType("value", unit)
            b.warn(f"{pp}: unknown unit {json.dumps(unit[:40])}; values kept as {st}")
        k = b.add_sample_type(st)
        tid, tname, pid = parse_thread(pname, pi)
        th = b.thread(tid, tname, pid)
        start = L.number(prof.get("startValue", 0), pp + ".startValue")
        if ptype == "sampled":
            scale = TIME_UNITS.get(unit) if sampled_times else None
            if scale is None:
                timed = False
            _load_sampled(L, b, prof, pp, fids, nframes, th, k, pending, scale)
        else:
            scale = TIME_UNITS.get(unit)
            if scale is None:
                timed = False
            _load_evented(L, b, prof, pp, fids, nframes, th, k, start, scale, pending)

    ntypes = len(b.sample_types) or 1
    if not b.sample_types:
        b.add_sample_type(_UNIT_TYPES["none"])
    for stack, th, value, t, k in pending:
        vals = [0.0] * ntypes
        vals[k] = value
        b.add(stack, vals, th, t if timed else None)
    prof_out = b.build(meta)
    with np.errstate(over="ignore"):
        sums = prof_out.values.sum(axis=0)
    if prof_out.n_samples and not np.isfinite(sums).all():
        raise L.fail("profiles", "sample weights overflow: their sum is not a finite number")
    return prof_out


def _load_sampled(L: _Loader, b: ProfileBuilder, prof: dict, pp: str, fids: list[int],
                  nframes: int, th: int, k: int, pending: list,
                  scale: float | None = None) -> None:
    """Queue one sampled profile's samples; with a ``scale`` (units per second) each is timed
    at the weights before it, from ``startValue`` (speedscope's Time Order layout)."""
    samples = prof.get("samples")
    if not isinstance(samples, list):
        raise L.fail(pp + ".samples", "missing or not a list")
    weights = prof.get("weights")
    if weights is None:
        weights = [1] * len(samples)
        if samples:
            b.warn(f"{pp}: no weights; every sample counted as 1")
    if not isinstance(weights, list):
        raise L.fail(pp + ".weights", f"must be a list, got {_json.describe(weights)}")
    if len(weights) != len(samples):
        raise L.fail(pp, f"samples has {len(samples)} entries but weights has {len(weights)}")
    cache: dict[tuple, int] = {}
    at = 0.0  # summed weights before this sample, in the profile's unit
    for i, (s, w) in enumerate(zip(samples, weights)):
        if not isinstance(s, list):
            raise L.fail(f"{pp}.samples[{i}]", f"stack must be a list, got {_json.describe(s)}")
        w = L.number(w, f"{pp}.weights[{i}]")
        key = tuple(s)
        sid = cache.get(key)
        if sid is None:
            for j, v in enumerate(s):
                L.index(v, nframes, f"{pp}.samples[{i}][{j}]")
            sid = cache[key] = b.stack(fids[v] for v in s) if s else -1
        if sid >= 0:  # an empty stack has no frame to charge (speedscope draws nothing)
            pending.append((sid, th, w, at / scale if scale else None, k))
        at += w


def _load_evented(L: _Loader, b: ProfileBuilder, prof: dict, pp: str, fids: list[int],
                  nframes: int, th: int, k: int, start: float, scale: float | None,
                  pending: list) -> None:
    events = prof.get("events")
    if not isinstance(events, list):
        raise L.fail(pp + ".events", "missing or not a list")
    stack: list[int] = []       # speedscope frame indexes, root first
    rows: list[int] = []        # builder stack row of each prefix of ``stack``
    last = None
    for i, ev in enumerate(events):
        ep = f"{pp}.events[{i}]"
        if not isinstance(ev, dict):
            raise L.fail(ep, f"event must be an object, got {_json.describe(ev)}")
        et = ev.get("type")
        if et not in ("O", "C"):
            raise L.fail(ep + ".type", f"unknown event type {_json.describe(et)} (expected \"O\" or \"C\")")
        fr = L.index(ev.get("frame"), nframes, ep + ".frame")
        at = L.number(ev.get("at"), ep + ".at")
        if last is not None and at < last:
            raise L.fail(ep, f"time goes backwards: at {as_number(at)!r} comes after at {as_number(last)!r} "
                             "(events must be in non-decreasing order)")
        if last is not None and at > last and rows:
            t = (last - start) / scale if scale else None
            pending.append((rows[-1], th, at - last, t, k))
        last = at
        if et == "O":
            stack.append(fr)
            rows.append(b.push(rows[-1] if rows else -1, fids[fr]))
        else:
            if not stack:
                raise L.fail(ep, f"closes frame {_frame_name(b, fids[fr])} but no frame is open")
            if stack[-1] != fr:
                raise L.fail(ep, f"tried to leave frame {_frame_name(b, fids[fr])} while frame "
                                 f"{_frame_name(b, fids[stack[-1]])} was at the top at {as_number(at)!r}")
            stack.pop()
            rows.pop()
    if stack:
        raise L.fail(pp + ".events", f"{len(stack)} frame(s) still open at the end of the profile "
                                     f"(innermost {_frame_name(b, fids[stack[-1]])}): incomplete trace")


def _frame_name(b: ProfileBuilder, fid: int) -> str:
    return json.dumps(b.frames[fid].name[:80])


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------
def _unit_for(st: SampleType) -> tuple[str, bool]:
    """Return ``(speedscope unit, needs name tag)`` for a sample type."""
    unit = st.unit if st.unit in TIME_UNITS or st.unit == "bytes" else "none"
    return unit, _UNIT_TYPES[unit] != st


def _fmt_at(x: float) -> float | int:
    r = round(x, 6)
    return int(r) if r == int(r) and abs(r) < 2**53 else r


def dump(profile: Profile, f: BinaryIO, *, sample_type: str | int | None = None) -> None:
    """Write ``profile`` as speedscope JSON (see the module docstring for the layout)."""
    p = profile
    types = [p.type_index(sample_type)] if sample_type is not None else list(range(len(p.sample_types)))
    frames_out = []
    for fr in p.frames:
        d: dict[str, Any] = {"name": fr.name}
        if fr.file or fr.module:
            d["file"] = fr.file or fr.module
        if fr.line:
            d["line"] = int(fr.line)
        frames_out.append(d)
    paths: dict[int, list[int]] = {}

    def path(s: int) -> list[int]:
        r = paths.get(s)
        if r is None:
            r = paths[s] = p.stack_frames(s)
        return r

    vals = p.values
    allzero = ~(vals != 0).any(axis=1) if p.n_samples else np.zeros(0, dtype=bool)
    out_profiles = []
    # sample indices grouped by thread, in sample order (one sort, not a mask per thread:
    # threads x samples was quadratic for perf files with thousands of threads)
    by_thread = np.argsort(p.sample_thread, kind="stable")
    bounds = np.searchsorted(p.sample_thread[by_thread], np.arange(len(p.threads) + 1))
    for ti, th in enumerate(p.threads):
        mine = by_thread[bounds[ti]:bounds[ti + 1]]
        for n, k in enumerate(types):
            sel = vals[mine, k] != 0
            if n == 0:
                sel |= allzero[mine]
            idx = mine[sel]
            if not len(idx):
                continue
            st = p.sample_types[k]
            unit, tagged = _unit_for(st)
            name = f'Thread {th.id} "{th.name}"' + (f" pid {th.pid}" if th.pid is not None else "")
            if tagged:
                name += f" [{tag_text(st.name)}/{tag_text(st.unit)}]"
            entry: dict[str, Any] = {"type": "sampled", "name": name, "unit": unit}
            ev = _evented(p, idx, k, unit, path)
            if ev is not None:
                entry["type"] = "evented"
                entry["startValue"], entry["endValue"], entry["events"] = ev
            else:
                w = vals[idx, k]
                entry["startValue"] = 0
                entry["endValue"] = _fmt_at(float(w.sum()))
                entry["samples"] = [path(int(s)) for s in p.sample_stack[idx]]
                entry["weights"] = [as_number(x) for x in w.tolist()]
            out_profiles.append(entry)
    sm = p.meta.get("speedscope") if isinstance(p.meta.get("speedscope"), dict) else {}
    doc: dict[str, Any] = {"$schema": SCHEMA_URL, "version": FORMAT_VERSION}
    exporter = sm.get("exporter")
    if exporter is None:
        tool = p.meta.get("tool")
        if isinstance(tool, str) and tool:
            exporter = tool + (f"@{p.meta['tool_version']}" if p.meta.get("tool_version") else "")
        else:
            from ..version import __version__
            exporter = f"flamekit@{__version__}"
    doc["exporter"] = exporter
    if "name" in sm:
        doc["name"] = sm["name"]
    api = sm.get("activeProfileIndex")
    if isinstance(api, int) and 0 <= api < len(out_profiles):
        doc["activeProfileIndex"] = api
    doc["shared"] = {"frames": frames_out}
    doc["profiles"] = out_profiles
    f.write(json.dumps(doc, ensure_ascii=False, allow_nan=False,
                       separators=(",", ":")).encode("utf-8"))
    f.write(b"\n")


def _evented(p: Profile, idx: np.ndarray, k: int, unit: str, path) -> tuple | None:
    """Return ``(startValue, endValue, events)`` for timed, non-overlapping samples, else None."""
    scale = TIME_UNITS.get(unit)
    if p.sample_time is None or scale is None:
        return None
    t = p.sample_time[idx]
    order = np.argsort(t, kind="stable")
    idx, t = idx[order], t[order]
    v = p.values[idx, k]
    if (v < 0).any():
        return None
    at0 = [_fmt_at(x * scale) for x in t.tolist()]
    at1 = [_fmt_at(a + w) for a, w in zip(at0, v.tolist())]
    if any(at1[i] > at0[i + 1] for i in range(len(at0) - 1)):
        return None  # samples overlap in time: not representable as nested events
    if any(b - a != w for a, b, w in zip(at0, at1, v.tolist())):
        return None  # a value the event times cannot carry exactly (rounding, 1e30 + 1): weights can
    events: list[dict] = []
    open_: list[int] = []
    for i, s in enumerate(p.sample_stack[idx].tolist()):
        fr = path(s)
        fr_keep = 0
        if not i or at0[i] <= at1[i - 1]:
            while fr_keep < min(len(open_), len(fr)) and open_[fr_keep] == fr[fr_keep]:
                fr_keep += 1
            if fr_keep == len(fr) == len(open_):
                fr_keep -= 1  # same stack again: close and reopen the leaf to keep two samples
        close_at = at1[i - 1] if i else at0[i]
        while len(open_) > fr_keep:
            events.append({"type": "C", "frame": open_.pop(), "at": close_at})
        for x in fr[fr_keep:]:
            events.append({"type": "O", "frame": x, "at": at0[i]})
            open_.append(x)
    while open_:
        events.append({"type": "C", "frame": open_.pop(), "at": at1[-1]})
    return 0, at1[-1], events


#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(
    NAME,
    extensions=(".speedscope.json", ".speedscope"),
    sniff=sniff,
    load=load,
    dump=dump,
)
