"""The folded-stack reader's loop (pipeline stage: formats); the grammar is in :mod:`.folded`.

The text is read in blocks of :data:`CHUNK` bytes; each block's complete lines go
to :meth:`LineTable.folded <flamekit.formats._lines.PyLineTable.folded>`, which cuts
every ``STACK COUNT`` line into ``;`` tokens and interns each distinct token to a
dense id (the compiled :mod:`._linetab` when it is built, else its pure-Python twin;
same ids). Python then parses each distinct token's frame text once
(:class:`._folded_frames.FrameIds`) and maps the block's token ids to frame ids
with one numpy gather. The rare lines the table does not take (no valid count, a
count that is not a finite float64, py-spy's ``thread``/``process`` root frames)
are handled here one at a time, with the line number, exactly as before.

:func:`build_profile` turns the paths into a profile with the compiled
``paths_tree`` (rows numbered exactly as :func:`flamekit.tree.from_paths` numbers
them) when it exists, else with :meth:`StackPaths.to_profile`.
"""
from __future__ import annotations

import math
import os

import numpy as np

from ..errors import FormatError
from ..model import Profile, SampleType, StackPaths, Thread
from ..tree import LOOP_DEPTH, loop_is_faster
from . import _io, _lines
from ._folded_frames import FrameIds

NAME = "folded"
SAMPLE_TYPE = SampleType("samples", "count")
CHUNK = 8 * 1024 * 1024  #: bytes read at a time (folded.CHUNK is what folded.py passes)
_MAX_INT_DIGITS = 308  # 10**308 < float max; longer integer counts overflow to inf
COUNT_RX = _lines.COUNT_RX  #: ``STACK COUNT``: the count is the last ``[ \t]COUNT`` of the line


def _parse_count(cnt: bytes, source: str, lineno: int) -> float:
    if b"." not in cnt and len(cnt) > _MAX_INT_DIGITS:
        raise FormatError(NAME, source, lineno,
                          f"count has {len(cnt)} digits, too large for a float64 value")
    v = float(cnt)
    if not math.isfinite(v):
        raise FormatError(NAME, source, lineno, "count too large for a float64 value")
    return v


class _Reader:
    """State of one load: the token table, token -> frame ids, the paths read so far."""

    def __init__(self, source: str, table: type) -> None:
        self.source = source
        self.ids = FrameIds()
        self.table = table()
        self.tok2frame = np.zeros(1024, dtype=np.int32)
        self.tok2frame_list: list[int] = []
        self.ntok = 0
        self.py_flat: list[int] = []  # lines read one at a time, not yet in the parts
        self.py_lens: list[int] = []
        self.py_cnts: list[float] = []
        self.py_thr: list[int] = []
        # every path's frame ids back to back, in one buffer grown in place (resize: a
        # realloc, so neither a copy of the ids read nor a second buffer to concatenate)
        self.flat = np.empty(1 << 16, dtype=np.int32)
        self.nflat = 0
        self.lens: list[np.ndarray] = []
        self.cnts: list[np.ndarray] = []
        self.thr: list[np.ndarray] = []
        self.nlines = 0  # lines taken into the parts (for the thread column's padding)
        self.thread_keys: dict[tuple, int] = {}
        self.thread_names: dict[int, str] = {}
        self.processes: dict[str, str] = {}
        self.skipped = 0
        self.skipped_lines: list[int] = []
        self.lineno = 0
        self.any_markers = False

    def _map_new(self, new: list[bytes]) -> None:
        """Give the tokens first seen (in id order) their frame ids."""
        if not new:
            return
        fids = list(map(self.ids.__getitem__, new))
        self.tok2frame_list.extend(fids)
        n = self.ntok + len(new)
        if n > len(self.tok2frame):
            grown = np.zeros(max(n, 2 * len(self.tok2frame)), dtype=np.int32)
            grown[:self.ntok] = self.tok2frame[:self.ntok]
            self.tok2frame = grown
        self.tok2frame[self.ntok:n] = fids
        self.ntok = n

    def _put(self, ids: np.ndarray, mapping: np.ndarray | None) -> None:
        """Append frame ids (``mapping[ids]`` when a mapping is given) to :attr:`flat`."""
        end = self.nflat + len(ids)
        if end > len(self.flat):
            self.flat.resize(max(end, 2 * len(self.flat)), refcheck=False)
        if mapping is None:
            self.flat[self.nflat:end] = ids
        else:
            np.take(mapping, ids, out=self.flat[self.nflat:end], mode="wrap")  # ids < ntok
        self.nflat = end

    def _flush(self) -> None:
        """Move the lines read one at a time into the parts."""
        if self.py_lens:
            self._put(np.array(self.py_flat, dtype=np.int32), None)
            self.lens.append(np.array(self.py_lens, dtype=np.int64))
            self.cnts.append(np.array(self.py_cnts, dtype=np.float64))
            if self.any_markers:
                self.thr.append(np.array(self.py_thr, dtype=np.int64))
            self.py_flat, self.py_lens, self.py_cnts, self.py_thr = [], [], [], []

    def feed(self, buf: bytes, start: int, end: int) -> None:
        """Read the complete lines of ``buf[start:end]``."""
        pos = start
        folded = self.table.folded
        while pos < end:
            tok, lens, cnts, new, stop, n, nskip, first_skipped = folded(buf, pos, end)
            self._map_new(new)
            if nskip:
                for k in first_skipped:
                    if len(self.skipped_lines) < 5:
                        self.skipped_lines.append(self.lineno + k + 1)
                self.skipped += nskip
            self.lineno += n
            if lens:
                self._flush()
                lens_a = np.frombuffer(lens, dtype=np.int32).astype(np.int64)
                if self.any_markers:  # lines without py-spy root frames: the default thread
                    t = self.thread_keys.setdefault((None, None), len(self.thread_keys))
                    self.thr.append(np.full(len(lens_a), t, dtype=np.int64))
                self._put(np.frombuffer(tok, dtype=np.int32), self.tok2frame)
                self.lens.append(lens_a)
                self.cnts.append(np.frombuffer(cnts, dtype=np.float64))
                self.nlines += len(lens_a)
            pos = stop
            if pos < end:  # a line the table did not take: this one is read here
                nl = buf.find(b"\n", pos, end)
                le = end if nl < 0 else nl
                self.lineno += 1
                self._line(bytes(buf[pos:le]))
                pos = le + 1

    def _line(self, line: bytes) -> None:
        """Read one line the table stopped before (py-spy root frames, or a count that
        is not a finite float64: an error naming the line)."""
        m = COUNT_RX.match(line)
        if m is None:  # not reached (the table skips such lines); kept for safety
            if line.strip():
                self.skipped += 1
                if len(self.skipped_lines) < 5:
                    self.skipped_lines.append(self.lineno)
            return
        stack = m.group(1)
        c = _parse_count(m.group(2), self.source, self.lineno)
        tok, _, new = self.table.intern(stack, ord(";"))
        self._map_new(new)
        t2f = self.tok2frame_list
        flat = [t2f[i] for i in np.frombuffer(tok, dtype=np.int32).tolist()]
        if self.ids.markers:
            if not self.any_markers:
                self.any_markers = True
                if self.nlines:  # earlier lines had no markers: thread 0
                    self.thread_keys[(None, None)] = 0
                    self.py_thr = [0] * len(self.py_lens)
            self.py_thr.append(self._strip_markers(flat))
        self.py_flat += flat
        self.py_lens.append(len(flat))
        self.py_cnts.append(c)
        self.nlines += 1

    def _strip_markers(self, flat: list[int]) -> int:
        """Remove py-spy process/thread root frames from the line's ids; return its thread index."""
        ids = self.ids
        pid = tid = None
        name = ""
        k = 0
        n = len(flat)
        while k < n and k < 2 and flat[k] < 0:
            kind, num, text, _ = ids.markers[-1 - flat[k]]
            if kind == "process" and pid is None and tid is None:
                pid = num
                self.processes.setdefault(str(num), text)
            elif kind == "thread" and tid is None:
                tid, name = num, text
            else:
                break
            k += 1
        if k == n:  # only markers: the innermost one stays as a frame
            k -= 1
        if k > 0:
            del flat[:k]
        if min(flat) < 0:
            for j in range(len(flat)):
                if flat[j] < 0:
                    flat[j] = ids.as_frame(flat[j])
        key = (pid, tid)
        t = self.thread_keys.get(key)
        if t is None:
            t = self.thread_keys[key] = len(self.thread_keys)
        if name and not self.thread_names.get(t):
            self.thread_names[t] = name
        return t

    def paths(self) -> StackPaths:
        """The paths read, as :class:`StackPaths`."""
        meta: dict = {}
        if self.skipped:
            where = ", ".join(str(x) for x in self.skipped_lines) + (
                ", ..." if self.skipped > len(self.skipped_lines) else "")
            meta["warnings"] = [f"{self.source}: skipped {self.skipped} line(s) without a valid "
                                f"'stack COUNT' form (line {where})"]
        if self.processes:
            meta["processes"] = self.processes
        if self.thread_keys:
            names = self.thread_names
            threads = tuple(Thread(tid if tid is not None else 0, names.get(i, ""), pid)
                            for (pid, tid), i in sorted(self.thread_keys.items(),
                                                        key=lambda kv: kv[1]))
        else:
            threads = (Thread(0, ""),)
        self._flush()
        frames = self.ids.frames
        if not self.lens:
            e = np.zeros(0, dtype=np.int64)
            return StackPaths(list(frames), np.zeros(0, dtype=np.int32), e, np.zeros((0, 1)),
                              (SAMPLE_TYPE,), None, threads, meta)
        flat = self.flat
        flat.resize(self.nflat, refcheck=False)  # no view of it exists
        self.flat = np.empty(0, dtype=np.int32)
        lengths = np.concatenate(self.lens)
        counts = np.concatenate(self.cnts)
        thr = None
        if self.thr:
            thr = np.concatenate(self.thr)
            if len(thr) < len(lengths):
                thr = np.concatenate([np.zeros(len(lengths) - len(thr), dtype=np.int64), thr])
        return StackPaths(frames, flat, lengths, counts.reshape(-1, 1), (SAMPLE_TYPE,), thr,
                          threads, meta)


def load_paths(path: str | os.PathLike, *, max_decompressed: int | None = None,
               chunk: int = CHUNK, table: type | None = None) -> StackPaths:
    """Read a folded file into root-first paths, one per line, without building a stack table.

    ``chunk``: the block size read at a time. ``table``: the LineTable class to read
    with (default: the compiled one when built, else the pure-Python twin; tests pass each).
    """
    source = os.fspath(path)
    r = _Reader(source, table or _lines.LineTable)
    immutable = isinstance(r.table, _lines.PyLineTable)  # the twin keeps a block's lines
    with _io.open_binary(source, max_decompressed=max_decompressed) as f:
        carry: list[bytes] = []  # a line cut by the end of a block
        for block in _io.text_blocks(f, chunk, reuse=True):
            first = block.find(b"\n")
            if first < 0:
                carry.append(bytes(block))
                continue
            start = 0
            if carry:
                line = b"".join(carry) + block[:first + 1]
                r.feed(line, 0, len(line))
                carry = []
                start = first + 1
            cut = block.rfind(b"\n") + 1
            if cut > start:
                r.feed(bytes(block) if immutable else block, start, cut)
            if cut < len(block):
                carry.append(bytes(block[cut:]))
        if carry:
            line = b"".join(carry)
            r.feed(line, 0, len(line))
    return r.paths()


def _tree_levels(lengths: np.ndarray) -> tuple[np.ndarray, int]:
    """Return the path order and the number of levels :func:`flamekit.tree.from_paths`
    numbers one level at a time (the rest it walks path by path)."""
    maxlen = int(lengths.max())
    if loop_is_faster(maxlen, int(lengths.sum())):
        return np.arange(len(lengths), dtype=np.int64), 0
    # stable order by length, longest first (int16 keys: numpy's radix sort, ~5x faster)
    keys = -lengths.astype(np.int16) if maxlen < 2**15 else -lengths
    order = np.argsort(keys, kind="stable")
    lens_sorted = lengths[order]
    if maxlen <= LOOP_DEPTH:  # loop_is_faster needs more than LOOP_DEPTH levels left
        return order, maxlen
    frames_before = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lens_sorted, out=frames_before[1:])
    for d in range(maxlen):
        alive = int(np.searchsorted(-lens_sorted, -(d + 1), side="right"))
        if loop_is_faster(maxlen - d, int(frames_before[alive]) - alive * d):
            return order, d
    return order, maxlen


def stack_table(flat: np.ndarray, lengths: np.ndarray, *, paths_tree=None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`flamekit.tree.from_paths` (``sort=False``) with the compiled ``paths_tree``:
    the same ``(prefix, frame, leaf)``. Requires the extension (or ``paths_tree``, the
    function of an extension module loaded from elsewhere) and paths of length >= 1."""
    paths_tree = paths_tree or _lines.paths_tree
    lengths = np.ascontiguousarray(lengths, dtype=np.int64)
    n = len(lengths)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    order, levels = _tree_levels(lengths)
    prefix = np.empty(len(flat), dtype=np.int64)  # an upper bound; untouched pages cost nothing
    frame = np.empty(len(flat), dtype=np.int64)
    leaf = np.empty(n, dtype=np.int64)
    rows = paths_tree(np.ascontiguousarray(flat, dtype=np.int32), starts, lengths,
                      np.ascontiguousarray(order, dtype=np.int64), levels, prefix, frame, leaf)
    prefix.resize(rows, refcheck=False)  # in place: the untouched tail is given back
    frame.resize(rows, refcheck=False)
    return prefix, frame, leaf


def build_profile(sp: StackPaths) -> Profile:
    """Return ``sp.to_profile()``, built with the compiled stack table when it exists."""
    if _lines.paths_tree is None or not sp.n_paths or sp.flat.dtype != np.int32 \
            or int(sp.lengths.min()) < 1 or sp.n_paths >= 2**31 - 1:
        return sp.to_profile()
    return sp.to_profile(tree=stack_table)
