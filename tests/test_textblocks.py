"""The perf importer's block reader (``formats/_textblocks.feed_text_blocks``).

The reader hands whole-line blocks to a tokenizer and numbers each block's first line
from the tokenizer's own count of the previous blocks' lines; each block must be
exactly the input's lines at that number, whatever the chunk size and however blank
lines and cut points fall (random inputs, checked against ``bytes.split``).
"""
from __future__ import annotations

import io
import random

import pytest

from flamekit.formats._textblocks import feed_text_blocks
from flamekit.formats.perf_script import _starts_sample


def _random_text(rng: random.Random) -> bytes:
    parts = []
    for i in range(rng.randrange(0, 30)):
        r = rng.random()
        if r < 0.5:
            parts.append(b"app %d 1.0: 1 cycles:\n" % i
                         + b"".join(b"\t %x f (/a)\n" % j for j in range(rng.randrange(0, 6))))
        elif r < 0.8:
            parts.append(b"\n" * rng.randrange(1, 4))
        else:
            parts.append(b"\t orphan\n")
    data = b"".join(parts)
    return data.rstrip(b"\n") if rng.random() < 0.3 else data


@pytest.mark.parametrize("seed", range(4))
def test_blocks_are_the_input_lines_at_their_numbers(seed):
    rng = random.Random(seed)
    for _ in range(400):
        data = _random_text(rng)
        lines = data.split(b"\n")
        chunk = rng.choice([1, 2, 3, 5, 8, 16, 64, 1000])
        got: list[tuple[bytes, int]] = []

        def run(text, line: int) -> int:
            text = bytes(text)  # a view of the reused read buffer: copied now
            got.append((text, line))
            return text.count(b"\n")

        size = feed_text_blocks(io.BufferedReader(io.BytesIO(data)), chunk, run,
                                max_block=10**9, starts_record=_starts_sample,
                                too_big=lambda line: AssertionError(line))
        assert size == sum(len(t) + 1 for t, _ in got)
        for text, line in got:
            mine = text.split(b"\n")
            assert lines[line - 1:line - 1 + len(mine)] == mine, (data, chunk, text, line)
        # every non-blank input line is in exactly one block, in order
        fed = [x for t, _ in got for x in t.split(b"\n") if x]
        assert fed == [x for x in lines if x], (data, chunk)
        nums = [line for _, line in got]
        assert nums == sorted(nums)
