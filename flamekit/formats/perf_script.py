"""``perf script`` text import, streamed (pipeline stage: formats).

Reads the text that ``perf script`` prints for a ``perf record`` (with or
without ``-g``, ``--header``, ``-F+srcline``, CPython's ``-X perf`` /
``-X perf_jit`` trampolines, Java perf-map-agent symbols) into the common
:class:`~flamekit.model.Profile`. The file is never read whole: it is read in
chunks through :mod:`._io` (so gzip works, under the decompression cap) and cut
into samples at blank lines (and, for ``perf script`` without ``-g``, at every
event line).

Layout of one sample (leaf frame first)::

    python 13291/13291 [001] 576.870038:    1001001 cpu-clock:pppH:
    	           8fb9f _PyEval_EvalFrameDefault+0x42bf (/usr/lib/libpython3.13.so.1.0)
    	              85 py::fib:/tmp/wl.py+0x5 (/tmp/jitted-13291-388.so)

Rules (each is exercised in ``tests/test_perf_script.py``):

* **Header line.** Parsed from the timestamp ``\\d+\\.\\d+:``, so commands with
  spaces or digits work (``V8 WorkerThread 24636/25607``, ``1234 5678 99/99``):
  ``COMM PID/TID``, ``COMM TID`` (perf's default prints the TID; the pid is then
  unknown) and an optional ``[CPU]`` column. Then an optional period and the
  event name ending in ``:`` (``cycles:u:``, ``cpu-clock:pppH:``). perf 3.x
  headers without a timestamp (``java 19983 cycles:``) are accepted too, and
  so is a leaf frame printed on the header line (``perf script`` without ``-g``).
  Tracepoint fields after the event (``sched:sched_switch: prev_comm=...``) are
  ignored; any other text after the event that is not a frame makes the line
  unreadable: it is skipped with a warning, with the stack lines under it.
* **Events.** Every event name becomes its own sample type, in order of first
  appearance; a sample's value is its period when perf prints one, else 1 (as
  FlameGraph does). Different events are never added together: a sample has a
  value only in its own event's column. Units: ``nanoseconds`` for
  ``cpu-clock``/``task-clock`` periods, ``events`` for other periods, ``samples``
  when no period is printed. Periods are integers; float64 keeps them exact up
  to 2**53 (larger ones, e.g. 2**64-1, are stored rounded, with one warning).
  A period of 0 gives a zero-valued sample; a negative period skips the sample
  with a warning. The value matrix (samples × events, dense) may hold at most one
  value per input byte plus ``_io.VALUE_CELLS_FLOOR``: a file with more (20k event
  names × 20k samples in 1.1 MB would be 3.2 GB) is refused before it is allocated.
* **Frames.** ``ADDR SYMBOL (DSO)``, indented or not (perf 3.x). A trailing
  ``+0x..`` offset is stripped from the symbol. ``[unknown]`` symbols are named
  after the DSO's basename, ``[iperf]`` (``[[kernel.kallsyms]]`` for the kernel),
  or ``[unknown]`` when the DSO is unknown too. With ``unknown_addresses=True``
  the address is kept in the name: ``[unknown <7f25900008f0>]`` (FlameGraph's
  ``--addrs`` spelling), which splits unknown frames by address.
  Kinds (DSO rules shared with every importer: :func:`._kinds.frame_kind`):
  ``kernel`` for DSOs ``[kernel.kallsyms]``, ``[guest.kernel.kallsyms]``,
  any other bracketed DSO except ``[unknown]``, ``[vdso]``, ``[vsyscall]``,
  ``[vectors]``, ``[heap]``, ``[stack]``, ``[anon]`` (kernel modules print as
  ``[nf_tables]``), a DSO whose basename starts with ``vmlinux``, ``bpf_prog_*``
  DSOs, and ``[unknown] ([unknown])`` frames whose address is in the upper half
  of the 64-bit space (>= 0xffff800000000000); ``python`` for CPython
  trampolines ``py::QUALNAME:FILE`` (name and file split, line 0, module left
  empty because the map's name carries the pid of each process); ``jit`` for
  ``/tmp/perf-PID.map`` and ``jitted-PID-N.so`` DSOs; ``inlined`` for perf's
  ``(inlined)`` pseudo-DSO (module left empty) and for the inner parts of a
  perf-map-agent ``A->B->C`` symbol in a JIT DSO, which is split into three
  frames (A is the caller); ``native`` otherwise. Names keep every other
  character as printed (C++ signatures, quotes, ``;``, control characters; an
  empty symbol stays empty).
* **srcline** lines (``perf script -F+srcline``: ``  file.c:42`` after a frame)
  set the preceding frame's file and line; ``??:0`` is ignored. Other unreadable
  lines inside a stack are skipped with a warning.
* A blank line between a header and its stack (seen in the wild) joins them,
  with one warning; a header with no stack at all gets the single frame
  ``[no stack]`` (kind unknown) so that its time is still counted.
* ``# ========`` ``--header`` blocks are kept in ``meta["perf_header"]``
  (``perf version``, ``hostname``, ``cmdline``...); ``meta`` also has ``tool``,
  ``tool_version``, ``host``, ``command`` and ``events``.
* Threads are ``Thread(id=tid, name=comm, pid=pid)``; sample times are the
  timestamps in seconds (none when a sample has no timestamp).
* ``meta["perf_script"]`` counts what was skipped or repaired (``weird_event_lines``,
  ``weird_stack_lines``, ``orphan_frame_lines``, ``srclines``, ``blank_after_header``,
  ``empty_stacks``, ``negative_periods``); ``meta["warnings"]`` keeps the first 50
  messages with their line numbers. A file with lines but no readable sample is a
  :class:`FormatError` naming the first bad line; a single sample larger than
  :data:`MAX_BLOCK` bytes is refused.

Speed: raw frame lines are cached (line bytes -> frame id), and so are the
"command pid" and "period event" parts of event lines and whole frame-id tuples
(-> stack row), so a sample seen before costs a few dict lookups; caches are
bounded. :func:`collapse_flamegraph` (in
:mod:`._perf_flamegraph`) reproduces ``stackcollapse-perf.pl``'s folded output
from a loaded profile.
"""
from __future__ import annotations

import os

from ..errors import FormatError
from ..model import Profile
from . import _io
from ._format import Format, guarded
from ._perf_parser import Parser
from ._textblocks import feed_text_blocks
from ._perf_text import AFTER_TS, OLD_ANCHOR, TS_ANCHOR, looks_like_frame

NAME = "perf-script"

_CHUNK = 4 * 1024 * 1024
#: A single sample block larger than this is refused (bounded memory).
MAX_BLOCK = 64 * 1024 * 1024


def load(path: str | os.PathLike, *, max_decompressed: int | None = None,
         unknown_addresses: bool = False) -> Profile:
    """Load a ``perf script`` text file (streamed; gzip ok) into a :class:`Profile`.

    ``unknown_addresses=True`` keeps the address in the names of ``[unknown]``
    frames (``[unknown <7f25900008f0>]``), as FlameGraph's ``--addrs`` does.
    """
    source = os.fspath(path)

    def too_big(line: int) -> FormatError:
        return FormatError(NAME, source, line, f"a single sample spans more than {MAX_BLOCK} "
                                               "bytes (no blank line): refusing to buffer it")

    def read() -> Profile:
        with _io.open_binary(source, max_decompressed=max_decompressed) as f:
            p = Parser(source, unknown_addresses)
            size = feed_text_blocks(f, _CHUNK, p.run_text, max_block=MAX_BLOCK,
                                    starts_record=_starts_sample, too_big=too_big)
            return p.build(size)

    return guarded(NAME, source, read)


def _starts_sample(line: bytes) -> bool:
    """True for a line that may start a sample: not indented, not a comment, not blank."""
    return line[:1] not in (b"\t", b" ", b"#", b"")


def sniff(head: bytes) -> bool | None:
    """Claim text whose first event line is a ``perf script`` header followed by frames."""
    lines = head.split(b"\n")
    complete = len(head) < _io.HEAD_SIZE
    if not complete:
        lines = lines[:-1]
    saw_perf_comment = False
    n = len(lines)
    for i in range(n):
        x = lines[i].rstrip(b"\r")
        if not x.strip():
            continue
        if x[:1] == b"#":
            if x.startswith(b"# perf version") or x.startswith(b"# captured on"):
                saw_perf_comment = True
            continue
        if x[:1] in (b"\t", b" "):
            return False
        m = TS_ANCHOR.search(x, 1)
        if m is not None:
            m2 = AFTER_TS.match(x, m.end())
            if m2 is None:
                return False
            rest = x[m2.end():]
            if rest.strip():
                if looks_like_frame(rest):
                    return True
                if b":" not in m2.group(2) and b"=" not in rest:
                    return False
        else:
            m = OLD_ANCHOR.search(x, 1)
            if m is None or x[m.end():].strip():
                return False
        # the stack: a frame line among the next few lines (a blank line ends it)
        for y in lines[i + 1:i + 6]:
            y = y.rstrip(b"\r")
            if not y.strip():
                return m.re is TS_ANCHOR
            if looks_like_frame(y):
                return True
        return None if not complete and i + 6 > n else False
    if saw_perf_comment:
        return True
    return None if not complete else False


# FlameGraph-compatible folding lives in its own module; re-exported here.
from ._perf_flamegraph import collapse_flamegraph, format_folded  # noqa: E402

__all__ = ["NAME", "FORMAT", "MAX_BLOCK", "sniff", "load", "collapse_flamegraph",
           "format_folded"]


#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(
    NAME,
    extensions=(".perf", ".perf.txt", ".perf-script"),
    aliases=("perf", "perf_script"),
    sniff=sniff,
    load=load,
)
