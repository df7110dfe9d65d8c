"""pyinstrument JSON importer (pipeline stage: formats).

Two JSON files come out of pyinstrument (https://pyinstrument.readthedocs.io),
both read here:

* the **JSON render**, ``pyinstrument -r json`` (``JSONRenderer``): session facts
  (``start_time``, ``duration``, ``sample_count``, ``cpu_time``,
  ``target_description``) and ``root_frame``, a call tree whose nodes carry
  ``function``, ``file_path``, ``line_no``, ``time`` (seconds, inclusive) and
  ``children``. A node's self time is its time minus its children's (clamped at
  0: the file rounds to microseconds). The renderer's processors already ran,
  so pseudo-frames appear: ``[self]`` is folded back into its parent's self
  time; ``[await]`` and ``[out-of-context]`` stay as frames.
* the **saved session**, ``pyinstrument -r pyisession`` / ``--save``
  (``Session.save``): ``frame_records``, a list of ``[stack, seconds]`` where
  ``stack`` is root-first frame identifiers
  ``function\\0file\\0line[\\1attribute...]``; the first identifier of each stack
  is the thread (``name\\0<thread>\\0ident``). Every record is one sample of its
  thread valued by the time it covers; records carry no timestamps, so the
  profile is untimed. Frames the launcher ran (``start_call_stack``) are kept:
  the file holds them.

Both become samples of the ``wall/seconds`` type (pyinstrument samples wall
time); ``meta["rate_hz"]`` is ``sample_count`` over the total time, so the 95 %
intervals flamekit prints rest on pyinstrument's samples. Every field is type-checked; a bad one is a :class:`FormatError` naming
its JSON path.
"""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ..errors import FormatError
from ..model import Profile, ProfileBuilder, SampleType
from . import _json
from ._format import Format
from ._kinds import frame_kind

NAME = "pyinstrument"
EXTENSIONS = (".pyisession",)
_MAX_ID = 2**63 - 1
_SELF = "[self]"


def sniff(head: bytes) -> bool | None:
    """Claim pyinstrument's JSON render (``root_frame``) and saved sessions (``frame_records``)."""
    h = head.lstrip()
    if not h.startswith(b"{"):
        return False
    if b'"frame_records"' in h and b'"start_call_stack"' in h:
        return True
    if b'"root_frame"' in h and b'"sample_count"' in h:
        return True
    if b'"sample_count"' in h and b'"target_description"' in h:
        return None if len(head) < 65536 else False
    return False


class _Loader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, reason: str) -> FormatError:
        return FormatError(NAME, self.source, None, f"{path}: {reason}")

    def seconds(self, v: Any, path: str) -> float:
        if not _json.is_number(v) or not math.isfinite(float(v)):
            raise self.fail(path, f"expected a finite number of seconds, got {_json.describe(v)}")
        x = float(v)
        if x < 0:
            raise self.fail(path, f"time {x!r} is negative")
        return x

    def text(self, v: Any, path: str) -> str:
        if not isinstance(v, str):
            raise self.fail(path, f"expected a string, got {_json.describe(v)}")
        return v

    def line(self, v: Any, path: str) -> int:
        if v is None:
            return 0
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= _MAX_ID:
            raise self.fail(path, f"line number must be an integer >= 0, got {_json.describe(v)}")
        return v


def load(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Profile:
    """Load a pyinstrument JSON render or saved session (see the module docstring)."""
    source = os.fspath(path)
    doc = _json.load_json(source, NAME, max_decompressed=max_decompressed)
    return from_json(doc, source)


def from_json(doc: Any, source: str = "<pyinstrument>") -> Profile:
    """Convert a parsed pyinstrument document into a Profile."""
    L = _Loader(source)
    if not isinstance(doc, dict):
        raise L.fail("top level", f"must be a JSON object, got {_json.describe(doc)}")
    b = ProfileBuilder([SampleType("wall", "seconds")])
    if "frame_records" in doc:
        _session(L, b, doc)
    elif "root_frame" in doc:
        _render(L, b, doc)
    else:
        raise L.fail("top level", "neither root_frame (pyinstrument -r json) nor "
                                  "frame_records (a saved session)")
    meta: dict[str, Any] = {"tool": "pyinstrument"}
    for key, out in (("start_time", "start_time"), ("duration", "duration"),
                     ("cpu_time", "cpu_time")):
        v = doc.get(key)
        if v is not None:
            meta[out] = L.seconds(v, key)
    desc = doc.get("target_description")
    if desc is not None:
        meta["target_description"] = L.text(desc, "target_description")
    n = doc.get("sample_count")
    if n is not None:
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= _MAX_ID:
            raise L.fail("sample_count", f"expected a count, got {_json.describe(n)}")
        meta["sample_count"] = n
    for key in ("min_interval", "max_interval"):
        if doc.get(key) is not None:
            meta[key] = L.seconds(doc[key], key)
    p = b.build(meta)
    total = float(p.totals()[0]) if p.n_samples else 0.0
    if not np.isfinite(total):
        raise FormatError(NAME, source, None, "times overflow a 64-bit float when summed")
    if meta.get("sample_count") and total > 0:
        # samples per second of profile time: the shares' intervals then rest on the
        # samples pyinstrument took, not on the number of tree nodes the render kept
        p.meta["rate_hz"] = meta["sample_count"] / total
    return p


def _render(L: _Loader, b: ProfileBuilder, doc: dict) -> None:
    root = doc["root_frame"]
    if root is None:  # pyinstrument writes null when nothing was sampled
        b.warn("root_frame is null: pyinstrument recorded no samples")
        return
    clamped = 0
    work: list[tuple[Any, int, str]] = [(root, -1, "root_frame")]
    while work:
        node, parent, path = work.pop()
        if not isinstance(node, dict):
            raise L.fail(path, f"frame must be an object, got {_json.describe(node)}")
        name = L.text(node.get("function"), path + ".function")
        file = node.get("file_path")
        file = "" if file is None else L.text(file, path + ".file_path")
        line = L.line(node.get("line_no"), path + ".line_no")
        total = L.seconds(node.get("time"), path + ".time")
        kids = node.get("children", [])
        if not isinstance(kids, list):
            raise L.fail(path + ".children", f"expected a list, got {_json.describe(kids)}")
        row = b.push(parent, b.frame(name, file, line, "", _kind(file)))
        own = total
        for i, k in enumerate(kids):
            kp = f"{path}.children[{i}]"
            if not isinstance(k, dict):
                raise L.fail(kp, f"frame must be an object, got {_json.describe(k)}")
            own -= L.seconds(k.get("time"), kp + ".time")
            if k.get("function") == _SELF and not k.get("children"):
                own += float(k["time"])  # a [self] pseudo-frame is this node's own time
                continue
            work.append((k, row, kp))
        if own < -1e-6 * max(1.0, total):
            clamped += 1
        if own > 0:
            b.add(row, own)
    if clamped:
        b.warn(f"{clamped} frame(s) whose children take more time than they do; "
               "self time taken as 0")


def _kind(file: str) -> str:
    if file in ("<built-in>", "<native>"):
        return "native"
    return frame_kind(file)


def _session(L: _Loader, b: ProfileBuilder, doc: dict) -> None:
    records = doc["frame_records"]
    if not isinstance(records, list):
        raise L.fail("frame_records", f"expected a list, got {_json.describe(records)}")
    frames: dict[str, int] = {}
    threads: dict[str, int] = {}
    for i, rec in enumerate(records):
        path = f"frame_records[{i}]"
        if not isinstance(rec, list) or len(rec) != 2 or not isinstance(rec[0], list):
            raise L.fail(path, f"expected [stack, seconds], got {_json.describe(rec)}")
        seconds = L.seconds(rec[1], path + "[1]")
        stack = rec[0]
        thread = 0
        start = 0
        if stack and isinstance(stack[0], str) and "\x00<thread>\x00" in stack[0]:
            thread = _thread(b, threads, stack[0])
            start = 1
        row = -1
        for j in range(start, len(stack)):
            ident = L.text(stack[j], f"{path}[0][{j}]")
            fid = frames.get(ident)
            if fid is None:
                fid = frames[ident] = _frame(L, b, ident, f"{path}[0][{j}]")
            row = b.push(row, fid)
        if row < 0:
            continue  # an empty stack: nothing to charge
        b.add(row, seconds, thread)


def _thread(b: ProfileBuilder, seen: dict[str, int], ident: str) -> int:
    t = seen.get(ident)
    if t is None:
        name, _, tid = ident.split("\x00", 2)
        tid_n = int(tid) if tid.isdigit() and len(tid) < 20 and int(tid) <= _MAX_ID else len(seen)
        t = seen[ident] = b.thread(tid_n, name)
    return t


def _frame(L: _Loader, b: ProfileBuilder, ident: str, path: str) -> int:
    """Intern one ``function\\0file\\0line[\\1attr...]`` identifier."""
    head = ident.partition("\x01")[0]
    parts = head.split("\x00")
    if len(parts) != 3:
        if len(parts) == 1 and parts[0].startswith("["):  # a pseudo-frame such as [await]
            return b.frame(parts[0], "", 0, "", "unknown")
        raise L.fail(path, "frame identifier must be function\\0file\\0line")
    name, file, line_s = parts
    line = int(line_s) if line_s.isdigit() and len(line_s) < 19 else 0
    # attributes (current line ``l...``, class ``c...``) are not part of the frame's
    # identity: the JSON render names a method by its function name alone
    return b.frame(name, file, line, "", _kind(file))


FORMAT = Format(NAME, extensions=EXTENSIONS, sniff=sniff, load=load)
