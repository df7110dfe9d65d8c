"""Tokenize-and-intern for the text importers (pipeline stage: formats).

:class:`LineTable` cuts a block of text into lines at ``\\n`` (exactly as
``bytes.split(b"\\n")``), optionally each line into tokens at one separator byte,
and gives each distinct token a dense id in order of first appearance over the
table's life. ``intern(buf, sep=-1)`` returns ``(ids, lengths, new)``: ``ids`` one
native int32 per token (as bytes), ``lengths`` the tokens per line (int32 bytes;
None when ``sep < 0``), ``new`` the tokens first seen in this call, in id order.
``folded(buf, start=0, end=-1)`` reads folded-stack lines ``STACK COUNT`` the same
way (see :meth:`PyLineTable.folded`); :func:`paths_tree` (compiled only; its
pure-Python equivalent is :func:`flamekit.tree.from_paths`) builds a stack table.

The compiled :mod:`._linetab` (built by ``setup.py`` when a C compiler is present)
is used when it imports; :class:`PyLineTable` is its pure-Python twin with identical
results. :data:`ACCELERATED` tells which one is in use (``flamekit --version`` prints it).
"""
from __future__ import annotations

import math
import re
from array import array
from bisect import bisect_left
from itertools import accumulate

__all__ = ["ACCELERATED", "COUNT_RX", "LineTable", "PyLineTable", "paths_tree"]

#: folded.py's count grammar: the count is the last ``[ \t]COUNT`` of the line
COUNT_RX = re.compile(rb"^(.*)[ \t]([0-9]+(?:\.[0-9]+)?)[ \t]*$", re.S)
_MARKERS = frozenset((b"thread (", b"process "))  # py-spy's root frames start so


class _Ids(dict):
    """token -> id; a missing token gets the next id and is recorded in ``new`` (and its id
    in ``markers`` when it starts like a py-spy root frame)."""

    new: list[bytes]
    markers: set[int]

    def __missing__(self, token: bytes) -> int:
        i = self[token] = len(self)
        self.new.append(token)
        if token[:8] in _MARKERS:
            self.markers.add(i)
        return i


class PyLineTable:
    """The pure-Python LineTable (see the module docstring)."""

    def __init__(self) -> None:
        self._ids = _Ids()
        self._ids.markers = set()
        self._split: tuple[object, list[bytes], list[int]] | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def clear(self) -> None:
        """Forget every token."""
        self._ids.clear()
        self._ids.markers.clear()

    def intern(self, buf: bytes, sep: int = -1) -> tuple[bytes, bytes | None, list[bytes]]:
        """Return ``(ids, lengths, new)`` for ``buf`` (see the module docstring)."""
        d = self._ids
        d.new = new = []
        get = d.__getitem__
        lines = bytes(buf).split(b"\n")
        if sep < 0:
            return array("i", map(get, lines)).tobytes(), None, new
        s = bytes([sep])
        ids = array("i")
        lens = array("i")
        for line in lines:
            toks = line.split(s)
            ids.extend(map(get, toks))
            lens.append(len(toks))
        return ids.tobytes(), lens.tobytes(), new

    def folded(self, buf: bytes, start: int = 0, end: int = -1
               ) -> tuple[bytes, bytes, bytes, list[bytes], int, int, int, list[int]]:
        """Read the folded-stack lines of ``buf[start:end]``; stop before a line not taken.

        Each line is ``STACK COUNT`` (the count: the last space- or tab-separated
        ``[0-9]+(.[0-9]+)?`` of the line, spaces and tabs after it allowed); STACK is
        cut at ``;`` and its tokens interned as by :meth:`intern`. Blank lines and
        lines without a valid count are passed over (the latter counted). The call
        stops before the first line with a count that is not a finite float64 (or an
        integer of over 308 digits), interning none of its tokens, or with a token
        starting ``thread (`` or ``process `` (py-spy's root frames), interning the
        tokens before that one (the caller reads that line next, so they are met in
        the same order). Returns ``(ids, lengths, counts,
        new, pos, lines, skipped, first_skipped)``: ``counts`` one native float64 per
        stack (bytes), ``pos`` the offset where it stopped (the end when every line
        was taken), ``lines`` the lines passed, ``skipped`` how many had no count and
        ``first_skipped`` the indexes of the first five (0: the line at ``start``).
        """
        d = self._ids
        d.new = new = []
        get = d.__getitem__
        markers = d.markers
        if end < 0 or end > len(buf):
            end = len(buf)
        lines, offs = self._lines_of(buf)
        first = bisect_left(offs, start)
        last = bisect_left(offs, end)  # the lines that start before ``end``
        ids: list[int] = []
        lens: list[int] = []
        cnts: list[float] = []
        ids_extend, lens_append, cnts_append = ids.extend, lens.append, cnts.append
        skipped: list[int] = []
        nskipped = 0
        i = first - 1
        stopped = False
        for line in lines[first:last]:
            i += 1
            stack, sep, cnt = line.rpartition(b" ")
            if sep and cnt.isdigit() and len(cnt) < 16:
                c: float = int(cnt)  # exact: below 2**53
            elif not line.strip():
                continue
            else:
                m = COUNT_RX.match(line)
                if m is None:
                    if nskipped < 5:
                        skipped.append(i - first)
                    nskipped += 1
                    continue
                stack, cnt = m.group(1), m.group(2)
                if b"." not in cnt and len(cnt) > 308:
                    stopped = True
                    break
                c = float(cnt)
                if not math.isfinite(c):
                    stopped = True
                    break
            toks = stack.split(b";")
            n0, k0 = len(ids), len(new)
            ids_extend(map(get, toks))
            if markers and not markers.isdisjoint(ids[n0:]):
                # a py-spy root frame: only the tokens before the first one stay interned
                del ids[n0:]
                k = next(j for j, t in enumerate(toks) if t[:8] in _MARKERS)
                keep = set(toks[:k])
                while len(new) > k0 and new[-1] not in keep:
                    markers.discard(d.pop(new.pop()))
                stopped = True
                break
            lens_append(len(toks))
            cnts_append(c)
        if not stopped:
            i = last
        pos = min(offs[i], end) if i < len(lines) else end
        return (array("i", ids).tobytes(), array("i", lens).tobytes(),
                array("d", cnts).tobytes(), new, pos, i - first, nskipped, skipped)

    def _lines_of(self, buf: bytes) -> tuple[list[bytes], list[int]]:
        """The lines of ``buf`` and their offsets, kept for the next call on the same buffer
        (a block read with many lines handled elsewhere is split once, not once a call)."""
        if self._split is not None and self._split[0] is buf:
            return self._split[1], self._split[2]
        lines = bytes(buf).split(b"\n")
        offs = [0]
        offs.extend(accumulate(len(x) + 1 for x in lines))
        offs.pop()
        if lines and not lines[-1]:  # after the last newline: not a line
            lines.pop()
            offs.pop()
        self._split = (buf, lines, offs)
        return lines, offs


try:
    from ._linetab import LineTable, paths_tree
    if not hasattr(LineTable, "folded"):  # a stale build from before the folded reader's loop
        raise ImportError("flamekit.formats._linetab is out of date: reinstall flamekit")
    ACCELERATED = True
except ImportError:  # no compiler at install time: the identical pure-Python loop
    LineTable = PyLineTable  # type: ignore[misc,assignment]
    paths_tree = None
    ACCELERATED = False
