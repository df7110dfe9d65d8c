"""The one "integer if integral" rule (flamekit/numfmt.py) and the one string table."""
from __future__ import annotations

import json
import math

import numpy as np

from flamekit.numfmt import (as_number, as_number_rows, as_number_segments, as_numbers, format_number,
                             is_integral)
from flamekit.strtable import StringTable


def test_as_number_is_json_exact() -> None:
    assert as_number(3.0) == 3 and isinstance(as_number(3.0), int)
    assert isinstance(as_number(np.float64(2.5)), float)
    big = float(2**53)  # not exact as an int in JavaScript: stays a float
    assert isinstance(as_number(big), float) and isinstance(as_number(big - 1), int)
    assert math.copysign(1.0, as_number(-0.0)) < 0  # keeps its sign
    assert isinstance(as_number(float("inf")), float)
    for x in (0.1, 1e300, -7.0, 123456789.0):
        assert json.loads(json.dumps(as_number(x))) == x


def test_as_numbers_all_or_nothing() -> None:
    assert as_numbers(np.array([1.0, 2.0])) == [1, 2]
    assert all(isinstance(v, int) for v in as_numbers(np.array([1.0, 2.0])))
    assert as_numbers(np.array([1.0, 2.5])) == [1.0, 2.5]
    assert all(isinstance(v, float) for v in as_numbers(np.array([1.0, 2.5])))
    assert as_numbers(np.zeros(0)) == []


def test_as_numbers_short_and_long_rows_agree() -> None:
    """Rows of <= 32 values take a plain-Python path: it must give what the array path gives."""
    rng = np.random.default_rng(7)
    specials = [0.0, -0.0, 1.0, 2.5, float(2**53), float(2**53 - 1), -float(2**53) + 1, 1e300,
                float("inf"), float("-inf"), float("nan"), 3.0, -4.0, 0.5]
    for trial in range(400):
        n = int(rng.integers(0, 33))
        pool = specials if trial % 2 else [float(x) for x in rng.integers(-9, 9, 5)]
        a = np.array([pool[int(i)] for i in rng.integers(0, len(pool), n)], dtype=np.float64)
        # the reference: the whole-array rule, forced by repeating the row past 32 values
        long = as_numbers(np.tile(a, 40))[: len(a)] if len(a) else []
        got = as_numbers(a)
        assert [type(v) for v in got] == [type(v) for v in long], a
        assert json.dumps(got) == json.dumps(long), a
        m = np.stack([a, a[::-1]]) if len(a) else np.zeros((2, 0))
        assert json.dumps(as_number_rows(m)) == json.dumps([as_numbers(r) for r in m])


def test_as_number_segments_is_as_number_rows_per_block() -> None:
    """Blocks of columns decided in whole-array passes: what each block alone would give."""
    rng = np.random.default_rng(11)
    specials = [0.0, -0.0, 1.0, 2.5, float(2**53), float(2**53 - 1), 1e300, float("inf"),
                float("nan"), -4.0, 0.5]
    for trial in range(200):
        widths = [int(w) for w in rng.integers(0, 40, int(rng.integers(0, 8)))]
        bounds = [0] + np.cumsum(widths).tolist() if widths else [0]
        k = int(rng.integers(1, 4))
        pool = specials if trial % 3 == 0 else [float(x) for x in rng.integers(-9, 9, 6)] + [0.25]
        m = np.array([pool[int(i)] for i in rng.integers(0, len(pool), k * bounds[-1])],
                     dtype=np.float64).reshape(k, bounds[-1])
        got = as_number_segments(m, bounds)
        want = [as_number_rows(m[:, lo:hi]) for lo, hi in zip(bounds, bounds[1:])]
        assert len(got) == len(widths)
        assert json.dumps(got) == json.dumps(want)
        assert [[type(v) for r in b for v in r] for b in got] == [[type(v) for r in b for v in r] for b in want]


def test_format_number_and_is_integral() -> None:
    assert format_number(12.0) == "12" and format_number(0.1) == "0.1"
    assert format_number(float(2**60)) == str(2**60)
    assert format_number(float("nan")) == "nan" and format_number(1e300) == "1e+300"
    assert not is_integral(float("inf")) and is_integral(4.0)


def test_string_table() -> None:
    t = StringTable()
    assert t("") == 0 and t("a") == 1 and t("b") == 2 and t("a") == 1
    assert t.table == ["", "a", "b"] and len(t) == 3
    one, many = StringTable(), StringTable()
    words = ["x", "", "y", "x", "z", "y", "w"]
    assert many.many(iter(words[:3])) + many.many(words[3:]) == [one(w) for w in words]
    assert many.table == one.table == ["", "x", "y", "z", "w"] and many("v") == 5 and many.table[5] == "v"
