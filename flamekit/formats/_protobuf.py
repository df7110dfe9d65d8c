"""A small protocol-buffers wire-format reader and writer (pipeline stage: formats).

Just enough of the protobuf encoding
(https://protobuf.dev/programming-guides/encoding/) for ``profile.proto``:
varints, 64/32-bit fixed fields, length-delimited fields and packed repeated
varints. Groups (wire types 3 and 4) and the undefined wire types 6 and 7 are
errors. Nothing here allocates from a length field: every length is checked
against the end of the enclosing message *before* it is used, so a hostile
``length = 2**31`` costs nothing.

Errors are :class:`ProtoError` with the byte offset of the problem; the caller
turns them into a :class:`~flamekit.errors.FormatError`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

WIRE_VARINT, WIRE_I64, WIRE_LEN, WIRE_I32 = 0, 1, 2, 5

_U64 = 1 << 64


class ProtoError(Exception):
    """Malformed protobuf data at byte ``offset``."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"offset {offset}: {reason}")
        self.offset = offset
        self.reason = reason


def read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """Decode one base-128 varint at ``pos``; return ``(value, next_pos)`` (value < 2**64)."""
    b = buf[pos] if pos < end else -1
    if 0 <= b < 0x80:  # fast path: one byte
        return b, pos + 1
    result = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            raise ProtoError(start, "truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift >= 70:
            raise ProtoError(start, "bad varint (more than 10 bytes)")
    if result >= _U64:
        raise ProtoError(start, "bad varint (overflows 64 bits)")
    return result, pos


def signed64(v: int) -> int:
    """Reinterpret an unsigned 64-bit varint as a two's-complement int64."""
    return v - _U64 if v >= 1 << 63 else v


def iter_fields(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield ``(field, wire, a, b)`` for each field of the message in ``buf[start:end]``.

    For varints and fixed fields ``a`` is the value and ``b`` the offset of the
    tag; for length-delimited fields ``(a, b)`` is the payload's ``[a, b)`` span.
    """
    pos = start
    while pos < end:
        tag_at = pos
        tag, pos = read_varint(buf, pos, end)
        field, wire = tag >> 3, tag & 7
        if field == 0:
            raise ProtoError(tag_at, "field number 0 is invalid")
        if wire == WIRE_VARINT:
            v, pos = read_varint(buf, pos, end)
            yield field, wire, v, tag_at
        elif wire == WIRE_LEN:
            n, pos = read_varint(buf, pos, end)
            if n > end - pos:
                raise ProtoError(tag_at, f"length {n} runs past the end of the message "
                                         f"({end - pos} bytes left)")
            yield field, wire, pos, pos + n
            pos += n
        elif wire == WIRE_I64:
            if pos + 8 > end:
                raise ProtoError(tag_at, "truncated 64-bit field")
            yield field, wire, int.from_bytes(buf[pos:pos + 8], "little"), tag_at
            pos += 8
        elif wire == WIRE_I32:
            if pos + 4 > end:
                raise ProtoError(tag_at, "truncated 32-bit field")
            yield field, wire, int.from_bytes(buf[pos:pos + 4], "little"), tag_at
            pos += 4
        elif wire in (3, 4):
            raise ProtoError(tag_at, f"groups (wire type {wire}) are not supported")
        else:
            raise ProtoError(tag_at, f"unknown wire type {wire}")


def packed_varints(buf: bytes, start: int, end: int) -> list[int]:
    """Decode a packed repeated varint payload ``buf[start:end]``."""
    out = []
    pos = start
    append = out.append
    while pos < end:
        b = buf[pos]
        if b < 0x80:
            append(b)
            pos += 1
        else:
            v, pos = read_varint(buf, pos, end)
            append(v)
    return out


def packed_int64_array(buf: bytes, start: int, end: int) -> "np.ndarray":
    """Decode a packed repeated varint payload as int64 (two's complement), vectorized.

    The same values as :func:`packed_varints` followed by :func:`signed64`, and the
    same errors, at 8 bytes per value and no Python object per value.
    """
    import numpy as np

    raw = np.frombuffer(buf, dtype=np.uint8, count=end - start, offset=start)
    last = raw < 0x80
    if last.all():
        return raw.astype(np.int64)
    ends = np.flatnonzero(last)
    starts = np.empty(len(ends), dtype=np.int64)
    if len(starts):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    width = ends - starts + 1
    if (not len(ends) or ends[-1] != len(raw) - 1 or int(width.max()) > 10
            or (raw[starts[width == 10] + 9] > 1).any()):
        packed_varints(buf, start, end)  # raises the first error, at its offset
        raise ProtoError(start, "bad varint")  # pragma: no cover (not reached)
    pos = np.arange(len(raw), dtype=np.int64) - np.repeat(starts, width)
    parts = (raw & 0x7F).astype(np.uint64) << (7 * pos).astype(np.uint64)
    return np.bitwise_or.reduceat(parts, starts).view(np.int64)


def repeated_varints(buf: bytes, wire: int, a: int, b: int, out: list[int]) -> None:
    """Append a repeated varint field occurrence (packed or not) to ``out``."""
    if wire == WIRE_LEN:
        out.extend(packed_varints(buf, a, b))
    elif wire == WIRE_VARINT:
        out.append(a)
    else:
        raise ProtoError(b, f"wire type {wire} where a varint was expected")


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def varint(v: int) -> bytes:
    """Encode an int (negative ints as 64-bit two's complement, as protobuf's int64 does)."""
    if v < 0:
        v += _U64
    if v < 0x80:
        return bytes((v,))
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field_varint(field: int, v: int) -> bytes:
    """Encode a varint field (omitted when 0, as proto3 does for defaults)."""
    if not v:
        return b""
    return varint(field << 3) + varint(v)


def field_bytes(field: int, payload: bytes, *, keep_empty: bool = False) -> bytes:
    """Encode a length-delimited field (an empty payload is omitted unless ``keep_empty``)."""
    if not payload and not keep_empty:
        return b""
    return varint((field << 3) | WIRE_LEN) + varint(len(payload)) + payload


def field_packed(field: int, values: list[int]) -> bytes:
    """Encode a packed repeated varint field."""
    if not values:
        return b""
    return field_bytes(field, b"".join(varint(v) for v in values))
