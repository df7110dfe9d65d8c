"""memray capture importer (pipeline stage: formats).

Format: the binary capture file that memray (https://github.com/bloomberg/memray,
Bloomberg's memory profiler) writes with ``memray run -o OUT.bin`` or ``memray
attach -o OUT.bin``, plain or lz4-compressed (memray's default). It is read only
through memray's own reader API, :class:`memray.FileReader`, never parsed here:
the layout is memray's private business and changes between its versions.
Checked with memray 1.20 (capture format version 13). memray is a Linux-only
dependency; without it, loading a capture fails with the pip command.

Detection: the file header magic ``memray\\0``, or an lz4 frame (magic
``04 22 4d 18``) whose first literal bytes are that header (lz4 stores the
first bytes of a stream uncompressed).

Mapping to the model
--------------------
Sample types (bytes are exact: memray records every allocation):

======================== ====================================================
``peak_space/bytes``     what was alive at the high-water mark (the moment the
                         tracked heap was largest), by allocating stack
                         (``get_high_watermark_allocation_records``)
``leaked_space/bytes``   what was still alive when tracking ended (at exit, for
                         ``memray run``), by stack (``get_leaked_allocation_records``)
``alloc_space/bytes``    everything allocated, by stack: every ``malloc``,
                         ``calloc``, ``realloc``, ``posix_memalign``, ``mmap``...
                         event of ``get_allocation_records`` (frees skipped)
``alloc_objects/count``  the number of those allocations
======================== ====================================================

``peak_space`` comes first (the default view, like ``memray flamegraph``).
An aggregated capture (``memray run --aggregate``) keeps no single
allocations: it has only ``peak_space`` and ``leaked_space`` (a warning says so).

Stacks are memray's Python stacks (``stack_trace()``, leaf first, reversed to
root first), or with ``--native`` captures the hybrid Python + native stacks
(``hybrid_stack_trace()``: frames also in the Python stack are ``python``, the
others ``native``). The frames memray's own runner adds above the program
(``memray run``'s ``__main__``/``commands``/``runpy``) are dropped from the top of
every stack that has frames of the program below them. An allocation with no
stack at all sits under the frame ``[no Python stack]``. Threads are memray's
``tid`` and ``thread_name``.

Tables: ``memory``, memory over time from memray's snapshots
(``get_memory_snapshots``, about every 10 ms): columns ``time`` (seconds since
tracking started), ``rss_bytes`` (the process's resident set) and ``heap_bytes``
(memory memray saw allocated and not yet freed).

``meta``: ``tool`` ``memray``, ``command``, ``pid``, ``start_time`` (ISO 8601, UTC),
``duration_s`` and ``tracked_s`` (how long memray tracked; a recording replaces
``duration_s`` by its own wall time), ``peak_memory_bytes``, ``total_allocations``, ``python_allocator``,
``native_traces``, ``trace_python_allocators``, ``memray_file_format``
(``all_allocations`` or ``aggregated``), ``main_thread_id``.

Safety: memray's reader is C++ and a corrupt capture can crash it (segfaults
seen with flipped bytes), so the file is read in a forked child; a crash,
an exception of the reader, or a capture that holds fewer allocation records
than its header counts (a truncated file) raises :class:`FormatError`.
"""
from __future__ import annotations

import datetime as _dt
import os
import re
import shlex
from typing import Any

from .. import _forked
from ..errors import FormatError
from ..model import Profile, ProfileBuilder, SampleType
from ._format import Format

NAME = "memray"
ALIASES = ("memray-bin",)
EXTENSIONS = (".bin",)
INSTALL = "pip install memray"

MAGIC = b"memray\x00"
LZ4_MAGIC = b"\x04\x22\x4d\x18"

PEAK = SampleType("peak_space", "bytes")
LEAKED = SampleType("leaked_space", "bytes")
ALLOC = SampleType("alloc_space", "bytes")
ALLOC_N = SampleType("alloc_objects", "count")
NO_STACK = "[no Python stack]"

#: Frames of memray's own runner above the program (``memray run``, ``python -m memray run``).
_RUNNER_FILE = re.compile(r"(^<frozen runpy>$|(^|[/\\])runpy\.py$|"
                          r"(^|[/\\])memray[/\\](__main__|__init__|commands[/\\]\w+)\.py$)")
#: memray ``AllocatorType`` names that release memory (their records have no stack).
_FREES = {"FREE", "PYMALLOC_FREE", "MUNMAP"}


def sniff(head: bytes) -> bool | None:
    """Claim memray captures: the ``memray\\0`` header, plain or as the start of an lz4 frame."""
    if head.startswith(MAGIC):
        return True
    if len(head) < len(MAGIC) and MAGIC.startswith(head):
        return None
    if head.startswith(LZ4_MAGIC):
        return MAGIC in head[:40] or (None if len(head) < 40 else False)
    return False


def load(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Profile:
    """Load a memray capture with memray's reader, in a forked child (see the module doc).

    ``max_decompressed`` is accepted for the registry's signature; memray's
    reader decompresses its own lz4 files.
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as f:
            head = f.read(64)
    except OSError as e:
        raise FormatError(NAME, source, None, f"cannot read: {e.strerror or e}") from None
    if not sniff(head):
        raise FormatError(NAME, source, "offset 0", "not a memray capture (no memray header)")
    child = _forked.start(_read_in_child, source)
    out = _read_guarded(source) if child is None else child.result()
    if out is None:
        raise FormatError(NAME, source, None,
                          "memray's reader crashed on this file: the capture is corrupt")
    if isinstance(out, tuple):
        raise FormatError(NAME, source, out[0], out[1])
    return out


def _read_in_child(source: str) -> Profile | tuple[str | None, str]:
    """:func:`_read_guarded` in the forked child, whose stderr is silenced: when memray's
    reader corrupts the heap, glibc's abort message ("double free or corruption") must not
    reach the user beside flamekit's one line (``LIBC_FATAL_STDERR_``: not the terminal)."""
    os.environ["LIBC_FATAL_STDERR_"] = "1"
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass
    return _read_guarded(source)


def _read_guarded(source: str) -> Profile | tuple[str | None, str]:
    """Read a capture; return the profile, or ``(where, reason)`` for an unreadable file."""
    try:
        import memray
    except ImportError:
        return None, f"reading memray captures needs the memray package: {INSTALL}"
    import logging

    memray.set_log_level(logging.CRITICAL + 10)  # its reader logs corrupt records to stderr
    try:
        return read_capture(memray.FileReader(source, report_progress=False))
    except _Truncated as e:
        return None, str(e)
    except Exception as e:  # its reader raises OSError, ValueError, UnicodeDecodeError...
        msg = str(e).replace(": iostream error", "").strip()
        return None, f"memray could not read it ({type(e).__name__}: {msg})"


class _Truncated(Exception):
    pass


def _is_runner(frame: tuple) -> bool:
    return bool(_RUNNER_FILE.search(frame[1] or ""))


def _root_first(py: list, hybrid: list | None) -> list[tuple[str, str, int, str]]:
    """Return ``(name, file, line, kind)`` root first, without memray's runner frames on top."""
    frames = list(reversed(hybrid if hybrid is not None else py))
    pyset = set(py) if hybrid is not None else None
    k = 0
    while k < len(frames) and _is_runner(frames[k]):
        k += 1
    if 0 < k < len(frames):
        frames = frames[k:]
    return [(str(fn), str(fl or ""), int(ln or 0),
             "python" if pyset is None or (fn, fl, ln) in pyset else "native")
            for fn, fl, ln in frames]


def read_capture(reader: Any) -> Profile:
    """Build a :class:`Profile` from an open :class:`memray.FileReader` (see the module doc)."""
    md = reader.metadata
    fmt_name = getattr(md.file_format, "name", str(md.file_format)).lower()
    aggregated = "aggregated" in fmt_name
    types = [PEAK, LEAKED] if aggregated else [PEAK, LEAKED, ALLOC, ALLOC_N]
    b = ProfileBuilder(types)
    native = bool(md.has_native_traces)
    stacks: dict[tuple, int] = {}
    threads: dict[int, int] = {}
    acc: dict[tuple[int, int], list[float]] = {}

    def stack_of(rec: Any) -> int:
        key = (rec.stack_id, rec.native_stack_id, rec.native_segment_generation) if native else rec.stack_id
        sid = stacks.get(key)
        if sid is None:
            py = list(rec.stack_trace())
            frames = _root_first(py, list(rec.hybrid_stack_trace()) if native else None)
            if not frames:
                frames = [(NO_STACK, "", 0, "unknown")]
            sid = stacks[key] = b.stack(b.frame(n, f, ln, kind=k) for n, f, ln, k in frames)
        return sid

    def thread_of(rec: Any) -> int:
        t = threads.get(rec.tid)
        if t is None:
            name = str(rec.thread_name or "")
            if rec.tid == md.main_thread_id and not name:
                name = "MainThread"
            t = threads[rec.tid] = b.thread(int(rec.tid), name, int(md.pid) if md.pid else None)
        return t

    def row_of(rec: Any) -> list[float]:
        key = (stack_of(rec), thread_of(rec))
        row = acc.get(key)
        if row is None:
            row = acc[key] = [0.0] * len(types)
        return row

    for rec in reader.get_high_watermark_allocation_records(merge_threads=False):
        row_of(rec)[0] += rec.size
    for rec in reader.get_leaked_allocation_records(merge_threads=False):
        row_of(rec)[1] += rec.size
    if not aggregated:
        import memray

        # one event per allocation (a million is common): this loop is the cost of a load, so
        # it looks rows up by memray's own (stack id, thread) and resolves each stack once
        frees = {int(memray.AllocatorType[n]) for n in _FREES}
        rows: dict[tuple, list[float]] = {}
        for rec in reader.get_allocation_records():
            if rec.allocator in frees:
                continue
            key = ((rec.stack_id, rec.native_stack_id, rec.native_segment_generation, rec.tid) if native
                   else (rec.stack_id, rec.tid))
            row = rows.get(key)
            if row is None:
                row = rows[key] = row_of(rec)
            row[2] += rec.size
            row[3] += rec.n_allocations
    else:
        b.warn("aggregated memray capture (memray run --aggregate): it keeps no single allocations, "
               "so only peak_space and leaked_space are available")
    for (sid, tid), vals in acc.items():
        b.add(sid, vals, thread=tid)
    memory = b.tables["memory"] = _snapshots(reader, md.start_time)
    _check_complete(md, memory["time"])
    b.meta.update(_meta(md, fmt_name))
    return b.build()


def _check_complete(md: Any, times: list[float]) -> None:
    """Raise :class:`_Truncated` when the records stop well before the capture's end time.

    memray's reader reads a truncated file without complaint and recounts its
    header from what it read, but the end time in the header is written when
    tracking ends, and memray writes a memory snapshot about every 10 ms until
    then: a file whose snapshots stop more than max(0.5 s, 5 %) before that end
    lost its tail. (A process killed before memray finalized the file has no
    end time; it is read as memray reads it.)
    """
    span = (md.end_time - md.start_time).total_seconds()
    if span <= 0 or not times:
        return
    if span - times[-1] > max(0.5, 0.05 * span):
        raise _Truncated(f"truncated capture: its records stop at {times[-1]:.2f} s of the {span:.2f} s "
                         f"it covers (the file lost its end)")


def _snapshots(reader: Any, start: _dt.datetime) -> dict[str, list]:
    t0 = start.timestamp() * 1000.0
    time, rss, heap = [], [], []
    for s in reader.get_memory_snapshots():
        time.append(round(max(0.0, (s.time - t0) / 1000.0), 4))
        rss.append(int(s.rss))
        heap.append(int(s.heap))
    return {"time": time, "rss_bytes": rss, "heap_bytes": heap}


def _iso(t: _dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.astimezone(_dt.timezone.utc).isoformat(timespec="seconds")


def _meta(md: Any, fmt_name: str) -> dict[str, Any]:
    try:
        command = shlex.split(md.command_line or "")
    except ValueError:
        command = (md.command_line or "").split()
    out: dict[str, Any] = {
        "tool": "memray", "format": NAME, "command": command, "pid": int(md.pid),
        "start_time": _iso(md.start_time),
        "duration_s": round(max(0.0, (md.end_time - md.start_time).total_seconds()), 3),
        "tracked_s": round(max(0.0, (md.end_time - md.start_time).total_seconds()), 3),
        "peak_memory_bytes": int(md.peak_memory), "total_allocations": int(md.total_allocations),
        "python_allocator": str(md.python_allocator), "native_traces": bool(md.has_native_traces),
        "trace_python_allocators": bool(md.trace_python_allocators),
        "memray_file_format": "aggregated" if "aggregated" in fmt_name else "all_allocations",
        "main_thread_id": int(md.main_thread_id),
    }
    return out


#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(NAME, extensions=EXTENSIONS, aliases=ALIASES, sniff=sniff, load=load)
