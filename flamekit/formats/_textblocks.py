"""Whole-line text blocks for tokenizers that split the text themselves (pipeline stage: formats).

:func:`feed_text_blocks` is :func:`._io.iter_line_blocks` without the split into
lines: the ``perf script`` importer hands each block to :mod:`._lines` in one call.
"""
from __future__ import annotations

from typing import BinaryIO, Callable

from ._io import text_blocks

__all__ = ["feed_text_blocks"]


def feed_text_blocks(f: BinaryIO, chunk: int, run: Callable[[bytes, int], int], *,
                     max_block: int, starts_record: Callable[[bytes], bool],
                     too_big: Callable[[int], Exception]) -> int:
    """Call ``run(text, number of its first line)`` for whole-line blocks of ``f``.

    ``text`` (bytes, a bytearray or a memoryview, valid only during the call) is
    whole lines joined by LF (no final one), cut where :func:`._io.iter_line_blocks`
    may cut: at a blank line (left out) or, when a whole chunk has none, before a
    line for which ``starts_record`` is true. ``run`` returns the number of LF bytes
    in ``text`` (its tokenizer has just split it), which numbers the next block's
    lines without a second pass over the text. ``f`` is read into one reused buffer.
    Returns the bytes given to ``run``, plus one (a newline) for each call.
    """
    carry = b""
    line = 1
    size = 0

    def feed(text, line: int) -> int:
        nonlocal size
        size += len(text) + 1
        return run(text, line)

    for block in text_blocks(f, chunk, reuse=True):
        if carry:  # the carried lines end at the first blank line (if any) of the new block
            if carry.endswith(b"\n") and block.startswith(b"\n"):
                first = -1
            else:
                first = block.find(b"\n\n")
                first = -2 if first < 0 else first
            if first >= -1:
                head = carry[:-1] if first < 0 else carry + block[:first]
                line += (feed(head, line) if head else 0) + 2
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
            line += (feed(memoryview(text)[start:k], line) if k > start else 0) + 2
            carry = text[k + 2:]  # a copy: ``block`` is overwritten by the next read
            continue
        carry = text[start:] if start or text is block else text
        held = carry.rfind(b"\n") + 1  # bytes of the complete lines held
        if held > chunk:  # no blank line in a whole chunk: cut before a record's first line
            text = carry
            j = held - 1
            while j > 0:
                s0 = text.rfind(b"\n", 0, j)
                if s0 < 0:
                    break
                if starts_record(text[s0 + 1:j]):
                    line += feed(memoryview(text)[:s0], line) + 1
                    carry = text[s0 + 1:]
                    held -= s0 + 1
                    break
                j = s0
        if held > max_block:
            raise too_big(line)
    if carry.strip(b"\n"):
        feed(carry, line)
    return size
