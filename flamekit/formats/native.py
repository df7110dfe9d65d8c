"""flamekit's own profile format: columnar JSON with a string table (pipeline stage: formats).

The one format that holds everything the model holds, exactly: ``load(dump(p)) == p``
for every valid profile (float values and times, threads, meta, tables, frame
kinds). A top-level ``"flamekit_profile": <version>`` key marks the file and gives
its format version; ``docs/format.md`` documents every field and the version that
added it. Readers refuse versions newer than :data:`VERSION` and ignore unknown
keys. Every index, length, type and value is validated and a problem raises a
:class:`FormatError` naming the file and the field (``frames.name[3]``); no
allocation is sized by a number read from the file. ``.gz`` works through
:mod:`._io` (with its decompression cap).
"""
from __future__ import annotations

import json
import os
from typing import Any, BinaryIO

import numpy as np

from ..errors import FormatError
from ..model import KINDS, Frame, Profile, SampleType, Thread
from ..model.validate import meta_problem, table_problem
from ..strtable import StringTable
from . import _json
from ._format import Format
from ..numfmt import as_number

NAME = "native"
VERSION = 1
MARKER = "flamekit_profile"


def sniff(head: bytes) -> bool | None:
    """Claim JSON objects carrying the ``"flamekit_profile"`` marker key."""
    s = head.lstrip()
    if not s.startswith(b"{"):
        return False
    return b'"' + MARKER.encode() + b'"' in head


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------
def to_json_obj(p: Profile) -> dict:
    """Return the JSON-able document for a profile (see docs/format.md)."""
    s = StringTable()

    frames = {
        "name": [s(f.name) for f in p.frames],
        "file": [s(f.file) for f in p.frames],
        "line": [int(f.line) for f in p.frames],
        "module": [s(f.module) for f in p.frames],
        "kind": [s(f.kind) for f in p.frames],
    }
    threads = {
        "id": [int(t.id) for t in p.threads],
        "name": [s(t.name) for t in p.threads],
        "pid": [None if t.pid is None else int(t.pid) for t in p.threads],
    }
    samples = {
        "stack": p.sample_stack.tolist(),
        "thread": p.sample_thread.tolist(),
        "time": None if p.sample_time is None else p.sample_time.tolist(),
        "values": [[as_number(v) for v in p.values[:, k].tolist()] for k in range(len(p.sample_types))],
    }
    return {
        MARKER: VERSION,
        "sample_types": [{"name": st.name, "unit": st.unit} for st in p.sample_types],
        "strings": s.table,
        "frames": frames,
        "stacks": {"prefix": p.stack_prefix.tolist(), "frame": p.stack_frame.tolist()},
        "samples": samples,
        "threads": threads,
        "meta": p.meta,
        "tables": p.tables,
    }


def dump(profile: Profile, f: BinaryIO, *, sample_type: str | int | None = None) -> None:
    """Write the whole profile (every sample type; ``sample_type`` is ignored: nothing is lost)."""
    doc = to_json_obj(profile)
    try:
        text = json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: let JSON escape them
        data = json.dumps(doc, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":")).encode("ascii")
    f.write(data)
    f.write(b"\n")


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------
class _Checker:
    """Field validation that raises FormatError naming the file and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, reason: str) -> FormatError:
        return FormatError(NAME, self.source, f"field {field}", reason)

    def obj(self, doc: Any, key: str, field: str, optional: bool = False) -> Any:
        if not isinstance(doc, dict):
            raise self.fail(field.rsplit(".", 1)[0] or field, "expected a JSON object")
        if key not in doc:
            if optional:
                return None
            raise self.fail(field, "missing")
        return doc[key]

    def ints(self, v: Any, field: str, lo: int, hi: int, n: int | None = None,
             nullable: bool = False) -> np.ndarray | list:
        """Validate a list of integers in ``[lo, hi)`` (and of length ``n``)."""
        if not isinstance(v, list):
            raise self.fail(field, f"expected a list of integers, got {type(v).__name__}")
        if n is not None and len(v) != n:
            raise self.fail(field, f"has {len(v)} entries, expected {n}")
        if nullable:
            for i, x in enumerate(v):
                if x is not None and (type(x) is not int or not lo <= x < hi):
                    raise self.fail(f"{field}[{i}]", f"expected null or an integer, got {x!r:.60}")
            return v
        if not v:
            return np.zeros(0, dtype=np.int64)
        for i, x in enumerate(v):
            if type(x) is not int:
                raise self.fail(f"{field}[{i}]", f"expected an integer, got {x!r:.60}")
            if not lo <= x < hi:
                raise self.fail(f"{field}[{i}]", f"value {x} out of range [{lo}, {hi})")
        a = np.asarray(v, dtype=np.int64)
        return a

    def floats(self, v: Any, field: str, n: int) -> np.ndarray:
        """Validate a list of ``n`` finite numbers."""
        if not isinstance(v, list):
            raise self.fail(field, f"expected a list of numbers, got {type(v).__name__}")
        if len(v) != n:
            raise self.fail(field, f"has {len(v)} entries, expected {n}")
        for i, x in enumerate(v):
            if type(x) not in (int, float):
                raise self.fail(f"{field}[{i}]", f"expected a number, got {x!r:.60}")
        try:
            a = np.asarray(v, dtype=np.float64) if v else np.zeros(0)
        except OverflowError:
            raise self.fail(field, "number too large for a float64") from None
        if not np.isfinite(a).all():
            i = int(np.nonzero(~np.isfinite(a))[0][0])
            raise self.fail(f"{field}[{i}]", "value is not finite (NaN, infinity or too large)")
        return a


def load(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Profile:
    """Load a flamekit native JSON profile, validating every field."""
    source = os.fspath(path)
    doc = _json.load_json(source, NAME, max_decompressed=max_decompressed)
    return from_json_obj(doc, source)


def from_json_obj(doc: Any, source: str = "<memory>") -> Profile:
    """Build and check a Profile from a parsed native document (raise FormatError when invalid)."""
    c = _Checker(source)
    if not isinstance(doc, dict) or MARKER not in doc:
        raise FormatError(NAME, source, None, f"not a flamekit profile (no {MARKER!r} key)")
    ver = doc[MARKER]
    if type(ver) is not int or ver < 1:
        raise c.fail(MARKER, f"format version must be a positive integer, got {ver!r:.40}")
    if ver > VERSION:
        raise c.fail(MARKER, f"format version {ver} is newer than this flamekit reads "
                             f"(up to {VERSION}); upgrade flamekit")
    strings = c.obj(doc, "strings", "strings")
    if not isinstance(strings, list) or not all(type(x) is str for x in strings):
        raise c.fail("strings", "expected a list of strings")
    ns = len(strings)

    sts = c.obj(doc, "sample_types", "sample_types")
    if not isinstance(sts, list):
        raise c.fail("sample_types", "expected a list")
    sample_types = []
    for i, st in enumerate(sts):
        if not (isinstance(st, dict) and type(st.get("name")) is str and type(st.get("unit")) is str):
            raise c.fail(f"sample_types[{i}]", "expected {\"name\": str, \"unit\": str}")
        sample_types.append(SampleType(st["name"], st["unit"]))
    if len(set(sample_types)) != len(sample_types):
        raise c.fail("sample_types", "duplicate sample types")

    fr = c.obj(doc, "frames", "frames")
    names = c.ints(c.obj(fr, "name", "frames.name"), "frames.name", 0, ns)
    nf = len(names)
    files = c.ints(c.obj(fr, "file", "frames.file"), "frames.file", 0, ns, nf)
    lines = c.ints(c.obj(fr, "line", "frames.line"), "frames.line", -2**63, 2**63, nf)
    modules = c.ints(c.obj(fr, "module", "frames.module"), "frames.module", 0, ns, nf)
    kinds = c.ints(c.obj(fr, "kind", "frames.kind"), "frames.kind", 0, ns, nf)
    frames = []
    for i in range(nf):
        kind = strings[int(kinds[i])]
        if kind not in KINDS:
            raise c.fail(f"frames.kind[{i}]", f"unknown frame kind {kind!r:.40} (known: {', '.join(KINDS)})")
        frames.append(Frame(strings[int(names[i])], strings[int(files[i])], int(lines[i]),
                            strings[int(modules[i])], kind))

    stk = c.obj(doc, "stacks", "stacks")
    frame_col = c.ints(c.obj(stk, "frame", "stacks.frame"), "stacks.frame", 0, nf)
    nst = len(frame_col)
    prefix = c.ints(c.obj(stk, "prefix", "stacks.prefix"), "stacks.prefix", -1, max(nst, 1), nst)
    if nst and (prefix >= np.arange(nst)).any():
        i = int(np.nonzero(prefix >= np.arange(nst))[0][0])
        raise c.fail(f"stacks.prefix[{i}]", "a prefix must refer to an earlier row")

    th = c.obj(doc, "threads", "threads")
    tids = c.ints(c.obj(th, "id", "threads.id"), "threads.id", -2**63, 2**63)
    nt = len(tids)
    tnames = c.ints(c.obj(th, "name", "threads.name"), "threads.name", 0, ns, nt)
    tpids = c.ints(c.obj(th, "pid", "threads.pid"), "threads.pid", -2**63, 2**63, nt,
                   nullable=True)
    threads = [Thread(int(tids[i]), strings[int(tnames[i])], tpids[i]) for i in range(nt)]
    if not threads:
        raise c.fail("threads.id", "a profile needs at least one thread")

    sm = c.obj(doc, "samples", "samples")
    sstack = c.ints(c.obj(sm, "stack", "samples.stack"), "samples.stack", 0, nst)
    n = len(sstack)
    sthread = c.ints(c.obj(sm, "thread", "samples.thread"), "samples.thread", 0, nt, n)
    stime = c.obj(sm, "time", "samples.time", optional=True)
    times = None if stime is None else c.floats(stime, "samples.time", n)
    vals = c.obj(sm, "values", "samples.values")
    if not isinstance(vals, list) or len(vals) != len(sample_types):
        raise c.fail("samples.values", f"expected {len(sample_types)} value columns "
                                        "(one per sample type)")
    values = np.zeros((n, len(sample_types)))
    for k, col in enumerate(vals):
        values[:, k] = c.floats(col, f"samples.values[{k}]", n)

    meta = c.obj(doc, "meta", "meta", optional=True)
    meta = {} if meta is None else meta
    tables = c.obj(doc, "tables", "tables", optional=True)
    tables = {} if tables is None else tables
    bad = meta_problem(meta)
    if bad:
        raise c.fail(*bad)
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise c.fail("tables", "expected an object of objects")
    bad = table_problem(tables)
    if bad:
        raise c.fail(*bad)
    p = Profile(frames=frames, stack_prefix=prefix, stack_frame=frame_col, sample_stack=sstack,
                sample_thread=sthread, sample_time=times, values=values,
                sample_types=sample_types, threads=threads, meta=meta, tables=tables)
    try:
        return p.check()
    except Exception as e:  # ModelError: duplicate stack rows etc.
        raise FormatError(NAME, source, None, f"invalid profile: {e}") from None


#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(
    NAME,
    extensions=(".flamekit.json", ".flamekit", ".json"),
    aliases=("flamekit", "flamekit-json"),
    sniff=sniff,
    load=load,
    dump=dump,
)
