"""Austin text-format importer (pipeline stage: formats).

Format (https://github.com/P403n1x87/austin#the-austin-format), one sample per
line, root frame first::

    # austin: 3.4.1
    # interval: 1000
    # mode: wall
    P8374;T8374;app.py:<module>:25;app.py:main:12 1772
    P1155;T0:6148403200;threading.py:Thread.run:1012 24        (austin 4: T<iid>:<tid>)
    P42;T7ffb7f8e4740;app.py:work:3 10058,0,-2048              (full metrics)

* ``P<pid>;T<tid>``: kept as :class:`~flamekit.model.Thread` ``(tid, pid)``;
  a thread id is decimal, or hexadecimal when it holds ``a-f`` (austin 3 prints
  pthread ids in hex); austin 4's ``<iid>:<tid>`` keeps the interpreter id in
  the thread name when it is not 0.
* frames ``file:function:line`` (split from the right, so ``C:\\x.py`` works;
  austin 4 writes qualified names ``Class.method``); a line that is not an
  integer (the stray ``)`` of austin-python's ``diff_a``) keeps its leading
  digits and is counted in a warning. A sample with no frames (the thread was
  not running Python) gets the single frame ``<no Python frames>``.
* the metric: one number whose meaning is the ``mode`` header (``wall`` or
  ``cpu``: microseconds; ``memory``: kilobytes, signed), or the full-metrics
  triple ``time,idle,memory``, imported as ``wall/microseconds``,
  ``cpu/microseconds`` (time when not idle) and ``memory/kilobytes``.
* ``# key: value`` lines (at the top or the end) go to ``meta["austin"]``;
  ``duration`` (microseconds) also to ``meta["duration"]`` in seconds.
"""
from __future__ import annotations

import os
import re

from ..errors import FormatError
from ..model import Profile, ProfileBuilder, SampleType
from . import _io
from ._format import Format
from ._kinds import frame_kind

NAME = "austin"

_SAMPLE = re.compile(r"P(\d+);T([^;\s]+)")
_HEAD_LINE = re.compile(rb"P\d+;T[^;\s]+[; ]")
_NUM = re.compile(r"-?\d{1,30}\Z")
_LEADING_INT = re.compile(r"\d{1,18}")

WALL = SampleType("wall", "microseconds")
CPU = SampleType("cpu", "microseconds")
MEMORY = SampleType("memory", "kilobytes")
NO_FRAMES = "<no Python frames>"


def sniff(head: bytes) -> bool | None:
    """Claim files whose first non-comment line is an austin ``P<pid>;T<tid>`` sample."""
    if head.startswith(b"# austin:"):
        return True
    for line in head.splitlines():
        s = line.strip()
        if not s or s.startswith(b"#"):
            continue
        return bool(_HEAD_LINE.match(s + b" "))
    return None if len(head) < 4096 else False


def _thread_id(tok: str) -> tuple[int, str]:
    """Parse ``<tid>`` or ``<iid>:<tid>``; return (id, name)."""
    name = ""
    if ":" in tok:
        iid, _, tok = tok.partition(":")
        if iid not in ("0", ""):
            name = f"interpreter {iid}"
    t = tok.lower()
    t = t[2:] if t.startswith("0x") else (t[1:] if t.startswith("x") else t)
    if t.isdigit() and not tok.lower().startswith(("0x", "x")):
        return int(t), name
    if t and len(t) <= 16 and all(c in "0123456789abcdef" for c in t):
        return int(t, 16), name
    return 0, (name + " " if name else "") + tok


def load(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Profile:
    """Load an austin text profile (streaming, line by line)."""
    source = os.fspath(path)
    header: dict[str, str] = {}
    b = ProfileBuilder([])
    cols: list[SampleType] | None = None
    bad_lines = bad_frames = negative = 0
    first_bad = None
    frame_cache: dict[str, int] = {}
    threads: dict[tuple[int, str], int] = {}
    with _io.open_text(source, max_decompressed=max_decompressed) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            if line.startswith("#"):
                key, sep, val = line[1:].partition(":")
                if sep:
                    header[key.strip()] = val.strip()
                continue
            m = _SAMPLE.match(line)
            stack_txt, sep, metric = line.rpartition(" ")
            if not m or not sep:
                bad_lines += 1
                first_bad = first_bad or lineno
                continue
            parts = metric.split(",")
            if not all(_NUM.match(x) for x in parts) or len(parts) not in (1, 3):
                bad_lines += 1
                first_bad = first_bad or lineno
                continue
            if cols is None:
                mode = header.get("mode", "wall")
                if len(parts) == 3:
                    cols = [WALL, CPU, MEMORY]
                else:
                    cols = [{"cpu": CPU, "memory": MEMORY}.get(mode, WALL)]
                b.sample_types = list(cols)
            if len(parts) != len(cols):
                bad_lines += 1
                first_bad = first_bad or lineno
                continue
            nums = [int(x) for x in parts]
            if len(nums) == 3:
                t, idle, mem = nums
                vals: tuple[float, ...] = (t, 0 if idle else t, mem)
            else:
                vals = (nums[0],)
            if any(v < 0 for v in vals):
                negative += 1
            pid = int(m.group(1))
            tkey = (pid, m.group(2))
            th = threads.get(tkey)
            if th is None:
                tid, tname = _thread_id(m.group(2))
                th = threads[tkey] = b.thread(tid, tname, pid)
            rest = stack_txt[m.end():]
            fids = []
            for fr in rest.split(";")[1:] if rest.startswith(";") else ():
                fid = frame_cache.get(fr)
                if fid is None:
                    file, func, ln = _split_frame(fr)
                    if ln is None:
                        bad_frames += 1
                        mm = _LEADING_INT.match(fr.rpartition(":")[2])
                        ln = int(mm.group()) if mm else 0
                    fid = frame_cache[fr] = b.frame(func, file, ln, "", frame_kind(file, default="python"))
                fids.append(fid)
            if not fids:
                fids = [b.frame(NO_FRAMES, kind="unknown")]
            b.add(b.stack(fids), vals, th)
    if cols is None and (bad_lines or not header):  # metadata alone is an idle run
        raise FormatError(NAME, source, first_bad or 1, "no austin samples found")
    if cols is None:
        b.sample_types = [{"cpu": CPU, "memory": MEMORY}.get(header.get("mode", "wall"), WALL)]
    if bad_lines:
        b.warn(f"skipped {bad_lines} line(s) that are not austin samples (first: line {first_bad})")
    if bad_frames:
        b.warn(f"{bad_frames} frame(s) with a line number that is not an integer")
    meta: dict = {"austin": header}
    if _NUM.match(header.get("duration", "x")):
        meta["duration"] = int(header["duration"]) / 1e6
    if negative:
        meta["has_negative_values"] = True
    return b.build(meta)


def _split_frame(fr: str) -> tuple[str, str, int | None]:
    """Split ``file:function:line`` from the right; line is None when not an integer."""
    head, _, ln = fr.rpartition(":")
    file, sep, func = head.rpartition(":")
    if not sep:  # only "function:line" or a bare name
        file, func = "", head or fr
    if ln.isdigit():
        return file, func, int(ln)
    if not head:
        return "", fr, 0
    return file, func, None


#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(
    NAME,
    extensions=(".austin",),
    sniff=sniff,
    load=load,
)
