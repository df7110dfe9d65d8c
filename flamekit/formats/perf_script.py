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
  with a warning.
* **Frames.** ``ADDR SYMBOL (DSO)``, indented or not (perf 3.x). A trailing
  ``+0x..`` offset is stripped from the symbol. ``[unknown]`` symbols are named
  after the DSO's basename, ``[iperf]`` (``[[kernel.kallsyms]]`` for the kernel),
  or ``[unknown]`` when the DSO is unknown too. With ``unknown_addresses=True``
  the address is kept in the name: ``[unknown <7f25900008f0>]`` (FlameGraph's
  ``--addrs`` spelling), which splits unknown frames by address.
  Kinds: ``kernel`` for DSOs ``[kernel.kallsyms]``, ``[guest.kernel.kallsyms]``,
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

import math
import os
import re
from array import array
from typing import BinaryIO, Iterator

import numpy as np

from ..errors import FlamekitError, FormatError
from ..model import Profile, ProfileBuilder, SampleType, Thread
from . import _io
from ._format import Format

NAME = "perf-script"

_CHUNK = 4 * 1024 * 1024
#: A single sample block larger than this is refused (bounded memory).
MAX_BLOCK = 64 * 1024 * 1024
_MAX_STORED_WARNINGS = 50
_LINE_CACHE_MAX = 500_000
_EXACT = 2 ** 53
_NO_STACK = "[no stack]"

# -- header lines --------------------------------------------------------------
# Anchor: " PID[/TID] [CPU] TIMESTAMP:" searched leftmost after the command.
_TS_ANCHOR = re.compile(rb"\s(\d+)(?:/(\d+))?\s+(?:\[(\d+)\]\s+)?(\d+\.\d+):(?=\s|$)")
# Old layout without timestamp: " PID[/TID] [CPU] [PERIOD] EVENT:".
_OLD_ANCHOR = re.compile(rb"\s(\d+)(?:/(\d+))?\s+(?:\[(\d+)\]\s+)?(?:(-?\d+)\s+)?"
                         rb"([^\s\d\[:]\S*?):(?=\s|$)")
_AFTER_TS = re.compile(rb"\s*(?:(-?\d+)\s+)?([^\s:]\S*?):(?=\s|$)\s*")
# The part before the timestamp in the fast path: "COMM PID[/TID] [CPU]".
_THREAD_PART = re.compile(rb"(.*?)\s+(\d+)(?:/(\d+))?(?:\s+\[(\d+)\])?\s*")
_SYMOFF = re.compile(r"\+0x[0-9a-fA-F]+$")
_PERF_MAP = re.compile(r"(?:^|/)perf-\d+\.map$")
_JITTED = re.compile(r"(?:^|/)jitted-\d+-\d+\.so$")
_HEXDIGITS = b"0123456789abcdefABCDEF"
_NOT_KERNEL_BRACKETS = frozenset(("[unknown]", "[vdso]", "[vsyscall]", "[vectors]", "[heap]",
                                  "[stack]", "[anon]", "[jit]", "[uprobes]", "[sigpage]",
                                  "[vvar]"))


def _is_hex(b: bytes) -> bool:
    return bool(b) and not b.translate(None, _HEXDIGITS)


def _split_dso(rest: bytes) -> tuple[bytes, bytes | None]:
    """Split ``SYMBOL (DSO)`` at the balanced parenthesised group that ends the text."""
    rest = rest.rstrip()
    if not rest.endswith(b")"):
        return rest, None
    k = rest.rfind(b" (")
    if k >= 0:
        mod = rest[k + 2:-1]
        if b"(" not in mod and b")" not in mod:
            return rest[:k].rstrip(), mod
    elif rest.startswith(b"(") and b"(" not in rest[1:-1] and b")" not in rest[1:-1]:
        return b"", rest[1:-1]
    depth = 0
    i = len(rest) - 1
    while i >= 0:
        c = rest[i]
        if c == 41:  # ')'
            depth += 1
        elif c == 40:  # '('
            depth -= 1
            if depth == 0:
                break
        i -= 1
    if i < 0 or (i > 0 and rest[i - 1] not in b" \t"):
        if k < 0:
            return rest, None
        i = k + 1
    return rest[:i].rstrip(), rest[i + 1:-1]


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _is_kernel_dso(mod: str) -> bool:
    if not mod:
        return False
    if mod.startswith("[") and mod.endswith("]"):
        return mod not in _NOT_KERNEL_BRACKETS
    base = mod.rsplit("/", 1)[-1]
    return base.startswith("vmlinux") or base.startswith("bpf_prog_")


def _event_unit(event: str, has_period: bool) -> str:
    if not has_period:
        return "samples"
    base = event.split(":", 1)[0]
    if base in ("cpu-clock", "task-clock"):
        return "nanoseconds"
    return "events"


class _Parser:
    """Turns sample blocks (bytes between blank lines) into profile columns."""

    def __init__(self, source: str, unknown_addresses: bool = False) -> None:
        self.source = source
        self.addrs = unknown_addresses
        self.b = ProfileBuilder([])
        self.frame_ids: dict[tuple, int] = {}
        self.line_cache: dict[bytes, int] = {}
        self.tuple_cache: dict[tuple, int] = {}
        self.sym_cache: dict[object, list[int]] = {}
        self.thread_cache: dict[bytes, int] = {}
        self.tail_cache: dict[bytes, tuple[int, int]] = {}
        self.thread_ids: dict[tuple, int] = {}
        self.threads: list[Thread] = []
        self.event_cache: dict[bytes, int] = {}
        self.events: list[str] = []
        self.event_has_period: list[bool] = []
        self.s_stack = array("q")
        self.s_thread = array("q")
        self.s_time = array("d")
        self.s_event = array("i")
        self.s_value = array("d")
        self.untimed = 0
        self.warnings: list[str] = []
        self.n_warnings = 0
        self.counts = {"weird_event_lines": 0, "weird_stack_lines": 0, "srclines": 0,
                       "blank_after_header": 0, "empty_stacks": 0, "negative_periods": 0,
                       "orphan_frame_lines": 0}
        self.inexact = False
        self.header_lines: list[str] = []
        self.pending: tuple | None = None  # a header-only sample awaiting its stack
        self.no_stack_sid = -1
        self.first_bad_line: tuple[int, str] | None = None

    # -- warnings ------------------------------------------------------------
    def warn(self, line: int, msg: str) -> None:
        self.n_warnings += 1
        if len(self.warnings) < _MAX_STORED_WARNINGS:
            self.warnings.append(f"line {line}: {msg}" if line > 0 else msg)

    # -- interning -----------------------------------------------------------
    def _frame(self, name: str, file: str, line: int, module: str, kind: str) -> int:
        key = (name, file, line, module, kind)
        fid = self.frame_ids.get(key)
        if fid is None:
            fid = self.frame_ids[key] = self.b.frame(name, file, line, module, kind)
        return fid

    def _thread(self, tid: int, comm: str, pid: int | None) -> int:
        key = (tid, comm, pid)
        i = self.thread_ids.get(key)
        if i is None:
            i = self.thread_ids[key] = len(self.threads)
            self.threads.append(Thread(tid, comm, pid))
        return i

    def _event(self, ev: bytes, has_period: bool) -> int:
        i = self.event_cache.get(ev)
        if i is None:
            i = self.event_cache[ev] = len(self.events)
            self.events.append(_dec(ev))
            self.event_has_period.append(has_period)
        return i

    # -- frames ----------------------------------------------------------------
    def parse_frame_text(self, text: bytes) -> list[int] | None:
        """Return frame ids (leaf first) for ``ADDR SYMBOL (DSO)``, or None if it is not one."""
        s = text.strip()
        sp = s.find(b" ")
        if sp <= 0:
            return None
        addr = s[:sp]
        if not _is_hex(addr):
            return None
        symb, modb = _split_dso(s[sp + 1:].lstrip())
        if modb is None:
            return None
        if symb.startswith(b"[unknown]"):
            return self._parse_symbol(symb, modb, addr)
        key = symb if symb.startswith(b"py::") and b":" in symb[4:] else (symb, modb)
        ids = self.sym_cache.get(key)
        if ids is None:
            if len(self.sym_cache) >= _LINE_CACHE_MAX:
                self.sym_cache = {}
            ids = self.sym_cache[key] = self._parse_symbol(symb, modb, addr)
        return ids

    def _parse_symbol(self, symb: bytes, modb: bytes, addr: bytes) -> list[int]:
        sym = _dec(symb)
        mod = _dec(modb)
        sym = _SYMOFF.sub("", sym)
        return self._classify(sym, mod, addr)

    def _classify(self, sym: str, mod: str, addr: bytes) -> list[int]:
        kind = "native"
        if mod == "inlined":
            return [self._frame(sym, "", 0, "", "inlined")]
        if _is_kernel_dso(mod):
            kind = "kernel"
        elif _PERF_MAP.search(mod) or _JITTED.search(mod):
            kind = "jit"
        if sym == "[unknown]":
            if mod and mod != "[unknown]":
                base = "[" + mod.rsplit("/", 1)[-1]
            else:
                base = "[unknown"
                kind = "unknown"
                try:
                    if int(addr, 16) >= 0xFFFF800000000000:
                        kind = "kernel"
                except ValueError:
                    pass
            name = base + (f" <{addr.decode('ascii')}>]" if self.addrs else "]")
            return [self._frame(name, "", 0, mod, kind)]
        if sym.startswith("py::"):
            qual, sep, file = sym[4:].partition(":")
            if sep:
                return [self._frame(qual, file, 0, "", "python")]
        if "->" in sym and kind == "jit":
            parts = sym.split("->")
            ids = [self._frame(parts[0], "", 0, mod, kind)]
            ids.extend(self._frame(p, "", 0, mod, "inlined") for p in parts[1:])
            ids.reverse()  # leaf first, like the lines of a stack
            return ids
        return [self._frame(sym, "", 0, mod, kind)]

    # -- samples ---------------------------------------------------------------
    def parse_header(self, hdr: bytes) -> tuple | None:
        """Return ``(thread, time, event, period, leaf_text)`` for a header line, or None.

        Fast path: ``COMM PID[/TID] [CPU] TS: [PERIOD] EVENT:``, with the part
        before the timestamp and the part after it looked up in caches.
        """
        k = hdr.find(b": ")
        if k < 0 and hdr.endswith(b":"):
            k = len(hdr) - 1
        if 0 < k < 300:
            left = hdr[:k]
            sp = left.rfind(b" ")
            tsb = left[sp + 1:]
            if sp > 0 and b"." in tsb and tsb.replace(b".", b"", 1).isdigit():
                key = left[:sp]
                th = self.thread_cache.get(key)
                if th is None:
                    m = _THREAD_PART.fullmatch(key)
                    if m is not None:
                        th = self._thread_info(m.group(1), m.group(2), m.group(3))[0]
                        if len(self.thread_cache) >= 100_000:
                            self.thread_cache = {}
                            self.line_cache = {}
                        self.thread_cache[key] = th
                if th is not None:
                    tail = hdr[k + 2:]
                    te = self.tail_cache.get(tail)
                    if te is not None:
                        return th, float(tsb), te[0], te[1], b""
                    parts = tail.split()
                    te = None
                    if len(parts) == 2 and parts[1].endswith(b":") and parts[0].isdigit():
                        te = (self._event(parts[1][:-1], True), int(parts[0]))
                    elif len(parts) == 1 and parts[0].endswith(b":"):
                        te = (self._event(parts[0][:-1], False), 1)
                    if te is not None:
                        if te[1] <= _EXACT:
                            if len(self.tail_cache) >= 10_000:
                                self.tail_cache = {}
                                self.line_cache = {}
                            self.tail_cache[tail] = te
                        return th, float(tsb), te[0], te[1], b""
        return self._parse_header_slow(hdr)

    def _thread_info(self, comm: bytes, a: bytes, b: bytes | None) -> tuple:
        c = _dec(comm)
        if b is None:
            tid, pid = int(a), None
        else:
            pid, tid = int(a), int(b)
        return (self._thread(tid, c, pid), c, pid, tid)

    def _parse_header_slow(self, hdr: bytes) -> tuple | None:
        if len(hdr) > 1_000_000:
            return None
        m = _TS_ANCHOR.search(hdr, 1)
        if m is not None:
            m2 = _AFTER_TS.match(hdr, m.end())
            if m2 is None:
                return None
            ts = float(m.group(4))
            per, ev, rest = m2.group(1), m2.group(2), hdr[m2.end():]
        else:
            m = _OLD_ANCHOR.search(hdr, 1)
            if m is None:
                return None
            ts = math.nan
            per, ev, rest = m.group(4), m.group(5), hdr[m.end():]
        if rest.strip() and not _looks_like_frame(rest):
            if b":" not in ev and b"=" not in rest:  # tracepoints print their fields here
                return None
            rest = b""
        th = self._thread_info(hdr[:m.start()].rstrip(), m.group(1), m.group(2))[0]
        if per is None:
            return th, ts, self._event(ev, False), 1, rest
        return th, ts, self._event(ev, True), int(per), rest

    def stack_from_lines(self, lines: list[bytes], lo: int, hi: int, first_line: int,
                         leaf: list[int] | None) -> tuple[int, int]:
        """Read stack lines ``lines[lo:hi]`` one by one; return ``(stack row or -1, next index)``.

        The stack ends at ``hi``, at a whitespace-only line (the next sample
        starts after it) or at an unindented line that parses as an event line
        (``perf script`` without ``-g`` prints no blank lines; it starts there).
        ``first_line`` is the line number of ``lines[lo]``.
        """
        lc = self.line_cache
        lget = lc.get
        out: list[int] = []
        nxt = hi
        for i in range(lo, hi):
            x = lines[i]
            f = lget(x)
            if f is not None:
                out.append(f)
                continue
            if not x.strip():
                nxt = i + 1
                break
            ids = self.parse_frame_text(x)
            if ids is not None:
                if len(ids) == 1:
                    if len(lc) >= _LINE_CACHE_MAX:
                        lc = self.line_cache = {}
                        lget = lc.get
                        self.tuple_cache = {}
                    lc[x] = ids[0]
                out.extend(ids)
                continue
            src = _srcline(x)
            if src is not None:
                self.counts["srclines"] += 1
                if out and src[0] != "??":
                    fr = self.b.frames[out[-1]]
                    if not fr.file:
                        out[-1] = self._frame(fr.name, src[0], src[1], fr.module, fr.kind)
                continue
            if x[:1] not in (b"\t", b" ", b"#") and self.parse_header(x) is not None:
                nxt = i
                break
            self.counts["weird_stack_lines"] += 1
            ln = first_line + i - lo
            if self.first_bad_line is None:
                self.first_bad_line = (ln, "unreadable stack line")
            self.warn(ln, f"skipped unreadable stack line {_show(x)}")
        if leaf:
            out = leaf + out
        if not out:
            return -1, nxt
        t = tuple(out)
        sid = self.tuple_cache.get(t)
        if sid is None:
            sid = self.b.stack(reversed(out))
            if len(self.tuple_cache) >= _LINE_CACHE_MAX:
                self.line_cache = {}
                self.tuple_cache = {}
            self.tuple_cache[t] = sid
        return sid, nxt

    def add(self, thread: int, ts: float, event: int, period: int, sid: int, line: int) -> None:
        if period < 0:
            self.counts["negative_periods"] += 1
            self.warn(line, f"skipped a sample with a negative period ({period})")
            return
        if sid < 0:
            self.counts["empty_stacks"] += 1
            if self.no_stack_sid < 0:
                self.no_stack_sid = self.b.stack([self._frame(_NO_STACK, "", 0, "", "unknown")])
            sid = self.no_stack_sid
        if period > _EXACT and not self.inexact:
            self.inexact = True
            self.warn(line, f"period {period} exceeds 2**53: stored rounded as float64")
        self.s_stack.append(sid)
        self.s_thread.append(thread)
        self.s_time.append(ts)
        self.s_event.append(event)
        self.s_value.append(period)

    def flush_pending(self) -> None:
        if self.pending is not None:
            th, ts, ev, per, leaf, line = self.pending
            self.pending = None
            self.add(th, ts, ev, per, leaf, line)

    def run(self, lines: list[bytes], line0: int) -> None:
        """Process a list of lines ending at a blank line; ``line0`` is the first one's number.

        The common sample (a cached thread part, event and period, every frame
        line and the whole frame-id tuple already seen) is handled inline here;
        anything else goes through :meth:`block`, which fills the caches.
        """
        index = lines.index
        n = len(lines)
        i = 0
        tget = self.thread_cache.get
        eget = self.tail_cache.get
        lget = self.line_cache.get
        cget = self.tuple_cache.get
        add_s, add_t, add_ts = self.s_stack.append, self.s_thread.append, self.s_time.append
        add_e, add_v = self.s_event.append, self.s_value.append
        pending = self.pending
        while i < n:
            try:
                j = index(b"", i)
            except ValueError:
                j = n
            if j > i:
                hdr = lines[i]
                k = hdr.find(b": ")
                sid = None
                if k > 0 and pending is None:
                    left = hdr[:k]
                    sp = left.rfind(b" ")
                    th = tget(left[:sp])
                    te = eget(hdr[k + 2:])
                    if th is not None and te is not None:
                        t = tuple(map(lget, lines[i + 1:j]))
                        if None not in t:
                            sid = cget(t)
                            if sid is not None:
                                try:
                                    ts = float(left[sp + 1:])
                                except ValueError:
                                    sid = None
                                else:
                                    add_s(sid)
                                    add_t(th)
                                    add_ts(ts)
                                    add_e(te[0])
                                    add_v(te[1])
                if sid is None:
                    self.block(lines[i:j], line0 + i)
                    pending = self.pending
                    if self.line_cache is not lget.__self__:  # a cache was reset
                        lget = self.line_cache.get
                        cget = self.tuple_cache.get
                        tget = self.thread_cache.get
                        eget = self.tail_cache.get
            i = j + 1

    def block(self, lines: list[bytes], line: int) -> None:
        """Process lines without an empty line among them; ``lines[0]`` is line ``line``."""
        i, n = 0, len(lines)
        while i < n:
            i = self.sample(lines, i, line + i)

    def sample(self, lines: list[bytes], i: int, line: int) -> int:
        """Process the sample (or comment, or stray lines) at ``lines[i]``; return the next index."""
        n = len(lines)
        hdr = lines[i]
        c0 = hdr[:1]
        if c0 == b"#":
            self.flush_pending()
            if len(self.header_lines) < 10_000:
                self.header_lines.append(_dec(hdr[:100_000]))
            return i + 1
        if c0 == b"\t" or c0 == b" ":
            return self.continuation(lines, i, line)
        if self.pending is not None:
            self.flush_pending()
        h = self.parse_header(hdr)
        if h is None:
            if not hdr.strip():
                return i + 1
            self.counts["weird_event_lines"] += 1
            if self.first_bad_line is None:
                self.first_bad_line = (line, "not a perf script event line")
            self.warn(line, f"skipped unreadable event line {_show(hdr)}")
            return self.skip_orphans(lines, i + 1)
        th, ts, ev, per, leaf_text = h
        leaf = None
        if leaf_text:
            leaf = self.parse_frame_text(leaf_text)
        if i + 1 == n:
            if leaf:
                sid, _ = self.stack_from_lines(lines, 0, 0, line, leaf)
                self.add(th, ts, ev, per, sid, line)
            else:
                self.pending = (th, ts, ev, per, -1, line)
            return n
        sid, nxt = self.stack_from_lines(lines, i + 1, n, line + 1, leaf)
        self.add(th, ts, ev, per, sid, line)
        return nxt

    def skip_orphans(self, lines: list[bytes], i: int) -> int:
        """Skip stack lines that belong to no event line; return the index of the next sample."""
        n = len(lines)
        while i < n:
            x = lines[i]
            if not x.strip():
                return i + 1
            if x[:1] not in (b"\t", b" ") and self.parse_header(x) is not None:
                return i
            self.counts["orphan_frame_lines"] += 1
            i += 1
        return n

    def continuation(self, lines: list[bytes], i: int, line: int) -> int:
        """An indented line where an event line should be: a stack cut off from its header."""
        if self.pending is not None:
            th, ts, ev, per, _, hline = self.pending
            self.pending = None
            self.counts["blank_after_header"] += 1
            self.warn(hline, "blank line between an event line and its stack; joined them")
            sid, nxt = self.stack_from_lines(lines, i, len(lines), line, None)
            self.add(th, ts, ev, per, sid, hline)
            return nxt
        if self.first_bad_line is None:
            self.first_bad_line = (line, "stack lines without an event line")
        self.warn(line, "skipped stack lines that follow no event line")
        return self.skip_orphans(lines, i)

    # -- result ----------------------------------------------------------------
    def build(self) -> Profile:
        self.flush_pending()
        n = len(self.s_stack)
        k = len(self.events)
        types = [SampleType(ev, _event_unit(ev, self.event_has_period[i]))
                 for i, ev in enumerate(self.events)]
        seen: dict[SampleType, int] = {}
        for i, st in enumerate(types):  # the same name with and without periods
            if st in seen:
                types[i] = SampleType(st.name, st.unit + f"#{i}")
            seen[types[i]] = i
        if n == 0 and self.first_bad_line is not None:
            ln, what = self.first_bad_line
            raise FormatError(NAME, self.source, ln, f"{what}; no samples could be read")
        ev = np.frombuffer(self.s_event, dtype=np.int32).astype(np.int64) if n else np.zeros(0, np.int64)
        vals = np.zeros((n, max(k, 1) if n else k))
        if n:
            vals[np.arange(n), ev] = np.frombuffer(self.s_value, dtype=np.float64)
        if not types:
            types = [SampleType("samples", "count")]
            vals = np.zeros((0, 1))
        times = np.frombuffer(self.s_time, dtype=np.float64) if n else None
        if times is not None:
            nan = ~np.isfinite(times)
            if nan.all():
                times = None
            elif nan.any():
                self.warn(0, f"{int(nan.sum())} samples have no (finite) timestamp: "
                             "sample times dropped")
                times = None
            else:
                times = times.copy()
        meta = self._meta(n)
        frames, stack_frame = self.b.frames, np.asarray(self.b.frame_of, dtype=np.int64)
        used = np.zeros(len(frames), dtype=bool)
        used[stack_frame] = True
        if not used.all():  # frames replaced by their srcline variant
            remap = np.cumsum(used) - 1
            frames = [f for f, u in zip(frames, used.tolist()) if u]
            stack_frame = remap[stack_frame]
        p = Profile(frames=frames, stack_prefix=self.b.prefix, stack_frame=stack_frame,
                    sample_stack=np.frombuffer(self.s_stack, dtype=np.int64).copy() if n else [],
                    sample_thread=np.frombuffer(self.s_thread, dtype=np.int64).copy() if n else [],
                    sample_time=times, values=vals, sample_types=types,
                    threads=self.threads or [Thread(0, "")], meta=meta)
        return p.check()

    def _meta(self, n: int) -> dict:
        header: dict[str, object] = {}
        for raw in self.header_lines:
            body = raw[1:].strip()
            if not body or body.startswith("====") or " : " not in body and ":" not in body:
                continue
            key, _, val = body.partition(" : ") if " : " in body else body.partition(":")
            key, val = key.strip(), val.strip()
            if not key:
                continue
            if key in header:
                old = header[key]
                if isinstance(old, list):
                    if len(old) < 1000:
                        old.append(val)
                else:
                    header[key] = [old, val]
            else:
                header[key] = val
        meta: dict[str, object] = {"tool": "perf", "format": NAME, "events": list(self.events),
                                   "perf_script": {"samples": n, **{k: v for k, v in self.counts.items() if v},
                                                   "unknown_addresses": self.addrs}}
        if header:
            meta["perf_header"] = header

            def first(key: str) -> str | None:
                v = header.get(key)
                return v[0] if isinstance(v, list) else v  # type: ignore[return-value]

            for key, mk in (("perf version", "tool_version"), ("hostname", "host"),
                            ("cmdline", "command"), ("captured on", "captured_on"),
                            ("os release", "os_release"), ("arch", "arch")):
                v = first(key)
                if v is not None:
                    meta[mk] = v
        if self.n_warnings:
            w = list(self.warnings)
            if self.n_warnings > len(w):
                w.append(f"... and {self.n_warnings - len(w)} more warnings")
            meta["warnings"] = w
        return meta


def _srcline(x: bytes) -> tuple[str, int] | None:
    s = x.strip()
    f, sep, ln = s.rpartition(b":")
    if sep and f and ln.isdigit() and b" (" not in s and len(ln) < 10:
        return _dec(f), int(ln)
    return None


def _show(x: bytes, n: int = 80) -> str:
    s = _dec(x[:n])
    return repr(s) + ("..." if len(x) > n else "")


def _iter_lines(f: BinaryIO, source: str) -> Iterator[tuple[list[bytes], int]]:
    """Yield ``(lines, number of the first line)``; each list ends just before a blank line.

    The chunk is split once; the lines after the chunk's last blank line are
    carried over (as a short list) to the next chunk, so nothing is copied twice.
    """
    carry: list[bytes] = []
    carry_bytes = 0
    line = 1
    first = True
    pending_cr = False
    while True:
        data = f.read(_CHUNK)
        if not data:
            break
        if first:
            first = False
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
        if pending_cr:
            data = b"\r" + data
            pending_cr = False
        if b"\r" in data:
            if data.endswith(b"\r"):
                data = data[:-1]
                pending_cr = True
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = data.split(b"\n")
        if carry:
            lines[0] = carry[-1] + lines[0]
            carry[-1:] = lines
            lines = carry
        # the last element is a partial line (b"" when data ended with a newline)
        k = len(lines) - 2
        while k >= 0 and lines[k]:
            k -= 1
        if k < 0:
            carry = lines
            carry_bytes += len(data)
            if carry_bytes > _CHUNK:
                # no blank line at all (perf script without -g): cut before the last
                # unindented line, where a sample starts
                m = len(lines) - 2
                while m > 0 and lines[m][:1] in (b"\t", b" ", b"#", b""):
                    m -= 1
                if m > 0:
                    carry = lines[m:]
                    carry_bytes = sum(map(len, carry))
                    del lines[m:]
                    yield lines, line
                    line += m
            if carry_bytes > MAX_BLOCK:
                raise FormatError(NAME, source, line,
                                  f"a single sample spans more than {MAX_BLOCK} bytes "
                                  "(no blank line): refusing to buffer it")
            continue
        carry = lines[k + 1:]
        carry_bytes = 0
        del lines[k:]
        yield lines, line
        line += k + 1
    if pending_cr:
        carry.append(b"")
    if carry and any(carry):
        yield carry, line


def _utf16_chunks(path: str, max_decompressed: int | None) -> BinaryIO:
    """Re-encode a UTF-16 (BOM) file to UTF-8 bytes, streaming."""
    import io

    text = _io.open_text(path, max_decompressed=max_decompressed)

    class _Enc(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:  # type: ignore[override]
            s = text.read(n if n and n > 0 else -1)
            return s.encode("utf-8", "surrogatepass") if s else b""

        def close(self) -> None:
            text.close()
            super().close()

    return _Enc()  # type: ignore[return-value]


def load(path: str | os.PathLike, *, max_decompressed: int | None = None,
         unknown_addresses: bool = False) -> Profile:
    """Load a ``perf script`` text file (streamed; gzip ok) into a :class:`Profile`.

    ``unknown_addresses=True`` keeps the address in the names of ``[unknown]``
    frames (``[unknown <7f25900008f0>]``), as FlameGraph's ``--addrs`` does.
    """
    source = os.fspath(path)
    f = _io.open_binary(source, max_decompressed=max_decompressed)
    try:
        raw4 = f.peek(4)[:4] if hasattr(f, "peek") else b""
        if raw4[:2] in (b"\xff\xfe", b"\xfe\xff"):
            f.close()
            f = _utf16_chunks(source, max_decompressed)
        p = _Parser(source, unknown_addresses)
        run = p.run
        for lines, line in _iter_lines(f, source):
            run(lines, line)
        return p.build()
    except FlamekitError:
        raise
    except (RecursionError, MemoryError) as e:
        raise FormatError(NAME, source, None,
                          f"input too large or too deep to load ({type(e).__name__})") from e
    except (ValueError, IndexError, KeyError, TypeError, OverflowError, UnicodeError) as e:
        raise FormatError(NAME, source, None, f"could not parse ({type(e).__name__}: {e})") from e
    finally:
        f.close()


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
        m = _TS_ANCHOR.search(x, 1)
        if m is not None:
            m2 = _AFTER_TS.match(x, m.end())
            if m2 is None:
                return False
            rest = x[m2.end():]
            if rest.strip():
                if _looks_like_frame(rest):
                    return True
                if b":" not in m2.group(2) and b"=" not in rest:
                    return False
        else:
            m = _OLD_ANCHOR.search(x, 1)
            if m is None or x[m.end():].strip():
                return False
        # the stack: a frame line among the next few lines (a blank line ends it)
        for y in lines[i + 1:i + 6]:
            y = y.rstrip(b"\r")
            if not y.strip():
                return m.re is _TS_ANCHOR
            if _looks_like_frame(y):
                return True
        return None if not complete and i + 6 > n else False
    if saw_perf_comment:
        return True
    return None if not complete else False


def _looks_like_frame(x: bytes) -> bool:
    s = x.strip()
    sp = s.find(b" ")
    return sp > 0 and _is_hex(s[:sp]) and s.rstrip().endswith(b")")


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
