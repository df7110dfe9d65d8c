"""The one "integer if integral" rule (flamekit/numfmt.py) and the one string table."""
from __future__ import annotations

import json
import math

import numpy as np

from flamekit.numfmt import as_number, as_numbers, format_number, is_integral
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


def test_format_number_and_is_integral() -> None:
    assert format_number(12.0) == "12" and format_number(0.1) == "0.1"
    assert format_number(float(2**60)) == str(2**60)
    assert format_number(float("nan")) == "nan" and format_number(1e300) == "1e+300"
    assert not is_integral(float("inf")) and is_integral(4.0)


def test_string_table() -> None:
    t = StringTable()
    assert t("") == 0 and t("a") == 1 and t("b") == 2 and t("a") == 1
    assert t.table == ["", "a", "b"] and len(t) == 3
