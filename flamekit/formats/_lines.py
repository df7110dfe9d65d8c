"""Tokenize-and-intern for the text importers (pipeline stage: formats).

:class:`LineTable` cuts a block of text into lines at ``\\n`` (exactly as
``bytes.split(b"\\n")``), optionally each line into tokens at one separator byte,
and gives each distinct token a dense id in order of first appearance over the
table's life. ``intern(buf, sep=-1)`` returns ``(ids, lengths, new)``: ``ids`` one
native int32 per token (as bytes), ``lengths`` the tokens per line (int32 bytes;
None when ``sep < 0``), ``new`` the tokens first seen in this call, in id order.

The compiled :mod:`._linetab` (built by ``setup.py`` when a C compiler is present)
is used when it imports; :class:`PyLineTable` is its pure-Python twin with identical
results. :data:`ACCELERATED` tells which one is in use (``flamekit --version`` prints it).
"""
from __future__ import annotations

from array import array

__all__ = ["ACCELERATED", "LineTable", "PyLineTable"]


class _Ids(dict):
    """token -> id; a missing token gets the next id and is recorded in ``new``."""

    new: list[bytes]

    def __missing__(self, token: bytes) -> int:
        i = self[token] = len(self)
        self.new.append(token)
        return i


class PyLineTable:
    """The pure-Python LineTable (see the module docstring)."""

    def __init__(self) -> None:
        self._ids = _Ids()

    def __len__(self) -> int:
        return len(self._ids)

    def clear(self) -> None:
        """Forget every token."""
        self._ids.clear()

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


try:
    from ._linetab import LineTable
    ACCELERATED = True
except ImportError:  # no compiler at install time: the identical pure-Python loop
    LineTable = PyLineTable  # type: ignore[misc,assignment]
    ACCELERATED = False
