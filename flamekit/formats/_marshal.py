"""A restricted reader of Python's ``marshal`` data (pipeline stage: formats).

Python's docs warn that ``marshal`` "is not intended to be secure against
erroneous or maliciously constructed data": ``marshal.loads`` pre-allocates
containers from a length field (a 5-byte file asks for 2^31 list slots), builds
code objects, and lets ``EOFError``/``ValueError`` escape. The cProfile importer
reads its input with this module instead, which knows only what a ``pstats``
file holds and refuses the rest:

* ``None``, booleans, ints (``i``, ``I``, ``l``), floats (``g``, ``f``), and the
  str types (``u``, ``t``, ``a``, ``A``, ``z``, ``Z``); bytes (``s``) are kept as
  ``bytes`` so the caller can say "Python 2";
* tuples, lists and dicts, nested at most :data:`MAX_DEPTH` deep;
* back-references (``r``, the ``FLAG_REF`` bit) to objects already complete:
  a shared reference is the same Python object, never a copy, so a tiny file
  describing a DAG of 2^60 logical nodes stays tiny in memory.

Containers are filled one element at a time and a length larger than the bytes
left is refused before anything is allocated. Format reference: CPython's
``Python/marshal.c`` (version 4, written by every Python 3.4+).
"""
from __future__ import annotations

import math
import struct
from typing import Any

#: Deepest container nesting accepted (a pstats file needs 4).
MAX_DEPTH = 16
#: Largest Python int accepted, in 15-bit marshal digits (2^150).
MAX_LONG_DIGITS = 10

_FLAG_REF = 0x80
_INT32 = struct.Struct("<i")
_DOUBLE = struct.Struct("<d")
_PENDING = object()


class MarshalError(ValueError):
    """The data is not marshal data this reader accepts; ``offset`` says where."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.refs: list[Any] = []

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise MarshalError(self.pos, "truncated data (the file ends inside a value)")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def int32(self) -> int:
        at = self.pos
        if at + 4 > len(self.data):
            raise MarshalError(at, "truncated data (the file ends inside a value)")
        self.pos = at + 4
        return _INT32.unpack_from(self.data, at)[0]

    def size(self, what: str, min_item: int) -> int:
        at = self.pos
        n = self.int32()
        if n < 0 or n * min_item > len(self.data) - self.pos:
            raise MarshalError(at, f"{what} length {n} is impossible for the "
                                   f"{len(self.data) - self.pos} bytes left")
        return n

    def value(self, depth: int) -> Any:
        data, at = self.data, self.pos
        if at >= len(data):
            raise MarshalError(at, "truncated data (the file ends inside a value)")
        code = data[at]
        self.pos = at + 1
        t = code & 0x7F
        # the common pstats values first, without the general dispatch
        if t == 0x72:  # 'r': a back-reference
            i = self.int32()
            if not 0 <= i < len(self.refs) or self.refs[i] is _PENDING:
                raise MarshalError(at, f"reference {i} to an object not yet read")
            return self.refs[i]  # a reference is never itself remembered (as in CPython)
        elif t == 0x7A or t == 0x5A:  # 'z'/'Z': short ASCII string
            if at + 1 >= len(data):
                raise MarshalError(at, "truncated data (the file ends inside a value)")
            n = data[at + 1]
            self.pos = at + 2
            v = self._text(n, at)
        elif t == 0x69:  # 'i'
            v = self.int32()
        elif t == 0x67:  # 'g'
            if at + 9 > len(data):
                raise MarshalError(at, "truncated data (the file ends inside a value)")
            v = _DOUBLE.unpack_from(data, at + 1)[0]
            self.pos = at + 9
        else:
            if code & _FLAG_REF:  # containers reserve their slot before their items
                slot = len(self.refs)
                self.refs.append(_PENDING)
                v = self._dispatch(chr(t), at, depth)
                self.refs[slot] = v
                return v
            return self._dispatch(chr(t), at, depth)
        if code & _FLAG_REF:
            self.refs.append(v)
        return v

    def _dispatch(self, t: str, at: int, depth: int) -> Any:
        if t == "N":
            return None
        if t == "T":
            return True
        if t == "F":
            return False
        if t == "i":
            return self.int32()
        if t == "I":
            return int(struct.unpack("<q", self.take(8))[0])
        if t == "l":
            n = self.int32()
            if abs(n) > MAX_LONG_DIGITS:
                raise MarshalError(at, f"integer of {abs(n)} digits is too large")
            digits = struct.unpack(f"<{abs(n)}H", self.take(2 * abs(n)))
            if any(d > 0x7FFF for d in digits):
                raise MarshalError(at, "malformed long integer digit")
            v = sum(d << (15 * i) for i, d in enumerate(digits))
            return -v if n < 0 else v
        if t == "g":
            return float(struct.unpack("<d", self.take(8))[0])
        if t == "f":
            text = self.take(self.take(1)[0])
            try:
                return float(text.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                raise MarshalError(at, "malformed text float") from None
        if t in "utaA":
            return self._text(self.size("string", 1), at)
        if t in "zZ":
            return self._text(self.take(1)[0], at)
        if t == "s":
            return bytes(self.take(self.size("bytes", 1)))
        if t in "()[":
            n = self.take(1)[0] if t == ")" else self.size("container", 1)
            return self._sequence(n, t != "[", depth)
        if t == "{":
            return self._dict(depth)
        if t == "r":
            i = self.int32()
            if not 0 <= i < len(self.refs) or self.refs[i] is _PENDING:
                raise MarshalError(at, f"reference {i} to an object not yet read")
            return self.refs[i]
        if t == "c":
            raise MarshalError(at, "a code object (refused: nothing here is ever executed)")
        if t == "0":
            raise MarshalError(at, "NULL where a value belongs")
        raise MarshalError(at, f"unsupported marshal type code {t!r}")

    def _text(self, n: int, at: int) -> str:
        raw = self.take(n)
        try:
            return raw.decode("utf-8", errors="surrogatepass")
        except UnicodeDecodeError:
            raise MarshalError(at, "string is not valid UTF-8") from None

    def _sequence(self, n: int, as_tuple: bool, depth: int) -> Any:
        if depth >= MAX_DEPTH:
            raise MarshalError(self.pos, f"containers nested deeper than {MAX_DEPTH}")
        items = [self.value(depth + 1) for _ in range(n)]
        return tuple(items) if as_tuple else items

    def _dict(self, depth: int) -> dict:
        if depth >= MAX_DEPTH:
            raise MarshalError(self.pos, f"containers nested deeper than {MAX_DEPTH}")
        out: dict = {}
        while True:
            if self.pos >= len(self.data):
                raise MarshalError(self.pos, "truncated data (a dict is not closed)")
            if self.data[self.pos] == 0x30:  # '0' (NULL) closes a dict
                self.pos += 1
                return out
            at = self.pos
            k = self.value(depth + 1)
            try:
                hash(k)
            except TypeError:
                raise MarshalError(at, "unhashable dict key") from None
            out[k] = self.value(depth + 1)


def loads(data: bytes) -> Any:
    """Parse one marshal value from ``data``; raise :class:`MarshalError` on anything else.

    Trailing bytes after the value are an error too.
    """
    r = _Reader(data)
    v = r.value(0)
    if r.pos != len(data):
        raise MarshalError(r.pos, f"{len(data) - r.pos} bytes of trailing data")
    return v


def is_finite_number(v: Any) -> bool:
    """Return True for an int or a finite float (not a boolean)."""
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return True
    return isinstance(v, float) and math.isfinite(v)
