"""Whole-line text blocks for tokenizers that split the text themselves (pipeline stage: formats).

:func:`iter_text_blocks` is :func:`._io.iter_line_blocks` without the split into
lines: the ``perf script`` importer hands each block to :mod:`._lines` in one call.
"""
from __future__ import annotations

from typing import BinaryIO, Callable, Iterator

from ._io import text_blocks

__all__ = ["iter_text_blocks"]


def _newlines(text: bytes, end: int, start: int = 0) -> int:
    """Count the LF bytes of ``text[start:end]`` (numpy: bytes.count goes byte by byte)."""
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(text, dtype=np.uint8, count=end - start,
                                              offset=start) == 10))


def iter_text_blocks(f: BinaryIO, chunk: int, *, max_block: int,
                     starts_record: Callable[[bytes], bool],
                     too_big: Callable[[int], Exception]) -> Iterator[tuple[bytes, int]]:
    """Like :func:`._io.iter_line_blocks`, but yield ``(text, number of its first line)``.

    ``text`` (a memoryview) is whole lines joined by LF (no final one), cut where
    :func:`._io.iter_line_blocks` may cut: at a blank line (left out) or, when a whole
    chunk has none, before a line for which ``starts_record`` is true. For
    tokenizers that split the text themselves (:mod:`._lines`).
    """
    carry = b""
    line = 1
    for block in text_blocks(f, chunk):
        if carry:  # the carried lines end at the first blank line (if any) of the new block
            if carry.endswith(b"\n") and block.startswith(b"\n"):
                first = -1
            else:
                first = block.find(b"\n\n")
                first = -2 if first < 0 else first
            if first >= -1:
                head = carry[:-1] if first < 0 else carry + block[:first]
                if head:
                    yield head, line
                line += _newlines(head, len(head)) + 2
                carry = b""
                start = first + 2
            else:  # no blank line in the block: the carried text grows
                text, carry, start = carry + block, b"", 0
        else:
            text, start = block, 0
        if start:
            text = block
        k = text.rfind(b"\n\n", start)
        if k >= start:
            if k > start:
                yield memoryview(text)[start:k], line
            line += _newlines(text, k, start) + 2
            carry = text[k + 2:]
            continue
        carry = text[start:] if start else text
        held = carry.rfind(b"\n") + 1  # bytes of the complete lines held
        if held > chunk:  # no blank line in a whole chunk: cut before a record's first line
            text = carry
            j = held - 1
            while j > 0:
                s0 = text.rfind(b"\n", 0, j)
                if s0 < 0:
                    break
                if starts_record(text[s0 + 1:j]):
                    yield memoryview(text)[:s0], line
                    line += _newlines(text, s0) + 1
                    carry = text[s0 + 1:]
                    held -= s0 + 1
                    break
                j = s0
        if held > max_block:
            raise too_big(line)
    if carry.strip(b"\n"):
        yield carry, line
