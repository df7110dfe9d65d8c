"""Sample blocks of ``perf script`` text -> profile columns (pipeline stage: formats).

:class:`Parser` is fed lists of lines by :mod:`.perf_script` (which owns the
reading and documents the rules) and builds the :class:`~flamekit.model.Profile`.
"""
from __future__ import annotations

import math
from array import array

import numpy as np

from ..errors import FormatError
from ..model import Profile, SampleType, Thread
from ._io import check_value_cells
from ._lines import LineTable
from ._perf_text import (AFTER_TS, LINE_CACHE_MAX, NO_STACK, OLD_ANCHOR, TS_ANCHOR, THREAD_PART,
                         FrameReader, dec, event_unit, looks_like_frame, show, srcline)

NAME = "perf-script"
_MAX_STORED_WARNINGS = 50
_EXACT = 2 ** 53


class Parser(FrameReader):
    """Turns sample blocks (bytes between blank lines) into profile columns."""

    def __init__(self, source: str, unknown_addresses: bool = False) -> None:
        super().__init__(unknown_addresses)
        self.source = source
        self.line_cache: dict[bytes, int] = {}
        self.tuple_cache: dict[tuple, int] = {}
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
        self.lines = LineTable()  # line text -> line id (run_text)
        self.texts: list[bytes] = []  # line id -> text
        self.fid = np.zeros(0, dtype=np.int32)  # line id -> frame id; -1 blank, -3 not a known frame
        self.key_cache: dict[bytes, int] = {}  # frame ids (int32 bytes) -> stack row

    # -- warnings ------------------------------------------------------------
    def warn(self, line: int, msg: str) -> None:
        self.n_warnings += 1
        if len(self.warnings) < _MAX_STORED_WARNINGS:
            self.warnings.append(f"line {line}: {msg}" if line > 0 else msg)

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
            self.events.append(dec(ev))
            self.event_has_period.append(has_period)
        return i

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
                    m = THREAD_PART.fullmatch(key)
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
        c = dec(comm)
        pid, tid = (None, int(a)) if b is None else (int(a), int(b))
        return (self._thread(tid, c, pid), c, pid, tid)

    def _parse_header_slow(self, hdr: bytes) -> tuple | None:
        if len(hdr) > 1_000_000:
            return None
        m = TS_ANCHOR.search(hdr, 1)
        if m is not None:
            m2 = AFTER_TS.match(hdr, m.end())
            if m2 is None:
                return None
            ts = float(m.group(4))
            per, ev, rest = m2.group(1), m2.group(2), hdr[m2.end():]
        else:
            m = OLD_ANCHOR.search(hdr, 1)
            if m is None:
                return None
            ts = math.nan
            per, ev, rest = m.group(4), m.group(5), hdr[m.end():]
        if rest.strip() and not looks_like_frame(rest):
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
                    if len(lc) >= LINE_CACHE_MAX:
                        lc = self.line_cache = {}
                        lget = lc.get
                        self.tuple_cache = {}
                    lc[x] = ids[0]
                out.extend(ids)
                continue
            src = srcline(x)
            if src is not None:
                self.counts["srclines"] += 1
                if out and src[0] != "??":
                    fr = self.b.frames[out[-1]]
                    if not fr.file:
                        out[-1] = self.frame(fr.name, src[0], src[1], fr.module, fr.kind)
                continue
            if x[:1] not in (b"\t", b" ", b"#") and self.parse_header(x) is not None:
                nxt = i
                break
            self.counts["weird_stack_lines"] += 1
            ln = first_line + i - lo
            if self.first_bad_line is None:
                self.first_bad_line = (ln, "unreadable stack line")
            self.warn(ln, f"skipped unreadable stack line {show(x)}")
        if leaf:
            out = leaf + out
        if not out:
            return -1, nxt
        return self._intern(out), nxt

    def _intern(self, out: list[int]) -> int:
        """Return the stack row of frame ids ``out`` (leaf first), through the tuple cache."""
        t = tuple(out)
        sid = self.tuple_cache.get(t)
        if sid is None:
            sid = self.b.stack(reversed(out))
            if len(self.tuple_cache) >= LINE_CACHE_MAX:
                self.line_cache = {}
                self.tuple_cache = {}
            self.tuple_cache[t] = sid
        return sid

    def add(self, thread: int, ts: float, event: int, period: int, sid: int, line: int) -> None:
        if period < 0:
            self.counts["negative_periods"] += 1
            self.warn(line, f"skipped a sample with a negative period ({period})")
            return
        if sid < 0:
            self.counts["empty_stacks"] += 1
            if self.no_stack_sid < 0:
                self.no_stack_sid = self.b.stack([self.frame(NO_STACK, "", 0, "", "unknown")])
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

    def run_text(self, text: bytes, line0: int) -> int:
        """Process whole lines (``feed_text_blocks``), the first numbered ``line0``; return their LFs.

        Lines become interned ids (:mod:`._lines`). A sample whose thread part, event tail
        and frame lines are known is added from caches; any other goes through :meth:`block`
        (which fills them). Caches only memoize: the result never depends on the path taken.
        """
        lines = self.lines
        if len(lines) >= LINE_CACHE_MAX:  # bounded memory: forget the interned lines
            self.lines = lines = LineTable()
            self.texts, self.fid = [], np.zeros(0, dtype=np.int32)
        ids_b, _, new = lines.intern(text)
        texts = self.texts
        if new:
            texts.extend(new)
            self.fid = np.concatenate([self.fid, np.fromiter(map(self._code, new), dtype=np.int32,
                                                             count=len(new))])
        ids = np.frombuffer(ids_b, dtype=np.int32)
        fr = self.fid[ids]
        blank = np.flatnonzero(fr == -1)
        lo = np.concatenate(([0], blank + 1))
        hi = np.concatenate((blank, [len(ids)]))
        keep = hi - lo > 0
        lo, hi = lo[keep], hi[keep]
        neg = np.cumsum(fr < 0)
        unknown = (neg[hi - 1] - neg[lo]).tolist()  # frame lines of each sample not yet known
        fb = fr.tobytes()
        tget, eget, kget = self.thread_cache.get, self.tail_cache.get, self.key_cache.get
        add_s, add_t, add_ts = self.s_stack.append, self.s_thread.append, self.s_time.append
        add_e, add_v = self.s_event.append, self.s_value.append
        for a, b, unk, hid in zip(lo.tolist(), hi.tolist(), unknown, ids[lo].tolist()):
            hdr = texts[hid]
            k = hdr.find(b": ")
            sid = None
            if k > 0 and b - a > 1 and self.pending is None:
                left = hdr[:k]
                sp = left.rfind(b" ")
                th = tget(left[:sp])
                te = eget(hdr[k + 2:])
                if th is not None and te is not None:
                    key = fb[4 * a + 4:4 * b] if not unk else self._known(ids[a + 1:b])
                    if key is not None:
                        sid = kget(key)
                        if sid is None:
                            sid = self._stack_of(key)
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
                self.block([texts[x] for x in ids[a:b].tolist()], line0 + a)
                tget, eget, kget = self.thread_cache.get, self.tail_cache.get, self.key_cache.get
        return len(ids) - 1

    def _code(self, line: bytes) -> int:
        """A new line's frame id if it is a known one-frame line; -1 blank; -3 otherwise."""
        if not line:
            return -1
        f = self.line_cache.get(line)
        if f is None:
            f = self.known_frame(line) if line[:1] in (b"\t", b" ") else -3
        return f

    def _known(self, seg: np.ndarray) -> bytes | None:
        """Frame ids of lines ``seg`` as int32 bytes if all are known frames (unknown ones re-checked)."""
        fid = self.fid
        f = fid[seg]
        if len(f) and int(f.min()) < 0:
            for x in seg[f < 0].tolist():
                fid[x] = self._code(self.texts[x])
            f = fid[seg]
        return f.tobytes() if len(f) and int(f.min()) >= 0 else None

    def _stack_of(self, key: bytes) -> int:
        """Intern the stack of frame ids ``key`` (int32 bytes, leaf first) and cache it."""
        if len(self.key_cache) >= LINE_CACHE_MAX:
            self.key_cache = {}
        sid = self.key_cache[key] = self._intern(np.frombuffer(key, dtype=np.int32).tolist())
        return sid

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
                self.header_lines.append(dec(hdr[:100_000]))
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
            self.warn(line, f"skipped unreadable event line {show(hdr)}")
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
    def build(self, input_bytes: int = 0) -> Profile:
        """Return the profile; ``input_bytes`` (decompressed) bounds its value matrix."""
        self.flush_pending()
        n = len(self.s_stack)
        k = len(self.events)
        # one column per event, dense: 20k events x 20k samples would be 3.2 GB
        check_value_cells(NAME, self.source, n, k, input_bytes, "events")
        types = [SampleType(ev, event_unit(ev, self.event_has_period[i]))
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
