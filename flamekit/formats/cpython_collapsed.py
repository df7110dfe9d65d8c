"""CPython ``profiling.sampling`` collapsed-stack importer (pipeline stage: formats).

CPython 3.15's sampling profiler (``python -m profiling.sampling --collapsed``,
``CollapsedStackCollector.export``) writes one line per (thread, stack)::

    tid:12345;main.py:<module>:10;main.py:run:4;work.py:compute:22 137

i.e. folded stacks whose first element is ``tid:<thread id>`` and whose frames
are ``<file basename>:<function>:<line>``, root first, then a space and an
integer sample count. The thread is kept (``Thread(id=tid)``); frames become
``Frame(name=function, file=basename, line, kind="python")``. Sniffing looks
for the ``tid:<digits>;`` prefix, so plain folded files are not claimed.
Lines that do not parse are skipped and counted in a warning.
"""
from __future__ import annotations

import os
import re

from ..errors import FormatError
from ..model import Profile, ProfileBuilder, SampleType
from . import _io
from ._format import Format
from ._kinds import frame_kind

NAME = "cpython-collapsed"

_LINE = re.compile(r"tid:(\d{1,20});(.*) ([0-9]{1,18})\Z")
_HEAD = re.compile(rb"tid:\d{1,20};")
SAMPLES = SampleType("samples", "count")


def sniff(head: bytes) -> bool | None:
    """Claim files whose first non-blank line starts with ``tid:<digits>;``."""
    for line in head.splitlines():
        s = line.strip()
        if s:
            return bool(_HEAD.match(s))
    return None if len(head) < 4096 else False


def _split(fr: str) -> tuple[str, str, int | None]:
    """Split ``file:function:line``: the file is the part before the first ``:``."""
    head, _, ln = fr.rpartition(":")
    file, sep, func = head.partition(":")
    if not sep:
        return "", fr, 0
    return file, func, int(ln) if ln.isdigit() and len(ln) < 19 else None


def load(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Profile:
    """Load a CPython ``profiling.sampling`` collapsed file (streaming)."""
    source = os.fspath(path)
    b = ProfileBuilder([SAMPLES])
    bad = bad_lines = 0
    first_bad = None
    cache: dict[str, int] = {}
    threads: dict[str, int] = {}
    with _io.open_text(source, max_decompressed=max_decompressed) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n").rstrip()
            if not line:
                continue
            m = _LINE.match(line)
            if not m:
                bad_lines += 1
                first_bad = first_bad or lineno
                continue
            tid = m.group(1)
            th = threads.get(tid)
            if th is None:
                th = threads[tid] = b.thread(int(tid))
            fids = []
            for fr in m.group(2).split(";"):
                fid = cache.get(fr)
                if fid is None:
                    file, func, ln = _split(fr)
                    if ln is None:
                        bad += 1
                        ln = 0
                    fid = cache[fr] = b.frame(func, file, ln, "", frame_kind(file, default="python"))
                fids.append(fid)
            b.add(b.stack(fids), float(m.group(3)), th)
    if not b.s_stack and bad_lines:
        raise FormatError(NAME, source, first_bad, "no 'tid:<id>;frames count' lines found")
    if bad_lines:
        b.warn(f"skipped {bad_lines} line(s) that do not parse (first: line {first_bad})")
    if bad:
        b.warn(f"{bad} frame(s) with a line number that is not an integer")
    return b.build({})


#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(
    NAME,
    extensions=(),
    sniff=sniff,
    load=load,
)
