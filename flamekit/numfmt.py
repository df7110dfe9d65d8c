"""Numbers as flamekit writes them (bottom layer, like ``tree.py``: imports nothing of flamekit).

The one "integer if integral" rule, for every output that writes numbers:
JSON documents and payloads (:func:`as_number`, :func:`as_numbers`) and text
dumps and CSV cells (:func:`format_number`). An integral value is written as
an integer only while the integer reads back as the same float64 in every
reader (JSON consumers such as JavaScript hold numbers as doubles, so
``|x| < 2**53``; a text dump read by Python allows ``|x| < 2**63``).
"""
from __future__ import annotations

import math

import numpy as np

#: Integers below this magnitude are exact in a float64 (and in JavaScript).
JSON_INT_LIMIT = 2**53
#: Integers below this magnitude fit an int64 (text dumps, CSV).
TEXT_INT_LIMIT = 2**63


def is_integral(x: float, limit: float = JSON_INT_LIMIT) -> bool:
    """Return True when ``x`` is finite, integral and below ``limit`` in magnitude."""
    return math.isfinite(x) and x == int(x) and abs(x) < limit


def as_number(x: float) -> int | float:
    """Return ``x`` as an ``int`` when integral and JSON-exact, else as a ``float``.

    ``-0.0`` stays a float, so the value reads back with its sign.
    """
    x = float(x)
    if is_integral(x) and not (x == 0 and math.copysign(1.0, x) < 0):
        return int(x)
    return x


def as_numbers(a: np.ndarray) -> list:
    """Return an array as a JSON-ready list: all ints when every value is integral, else floats."""
    a = np.asarray(a, dtype=np.float64)
    if len(a) <= 32:  # short rows (the source view has thousands): plain floats are cheaper
        return _list_numbers(a.tolist())
    if np.isfinite(a).all() and (a == np.round(a)).all() and (np.abs(a) < JSON_INT_LIMIT).all():
        return a.astype(np.int64).tolist()
    return a.tolist()


def _list_numbers(vals: list[float]) -> list:
    if vals and all(v.is_integer() and abs(v) < JSON_INT_LIMIT for v in vals):
        return [int(v) for v in vals]
    return vals


def as_number_rows(m: np.ndarray) -> list[list]:
    """Return ``[as_numbers(row) for row in m]`` for a 2-D array, without numpy calls per row."""
    m = np.asarray(m, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] > 32:
        return [as_numbers(r) for r in m]
    return [_list_numbers(vals) for vals in m.tolist()]


def as_number_segments(m: np.ndarray, bounds: list[int]) -> list[list[list]]:
    """Return ``[as_number_rows(m[:, lo:hi]) for lo, hi in zip(bounds, bounds[1:])]`` for a 2-D array.

    The columns of many small blocks (the source view's functions, thousands of
    them) are decided and converted in a few whole-array passes, not per block.
    """
    m = np.asarray(m, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError("as_number_segments needs a 2-D array")
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(m) & (m == np.round(m)) & (np.abs(m) < JSON_INT_LIMIT)
    bad = np.zeros((m.shape[0], m.shape[1] + 1), dtype=np.int64)
    np.cumsum(~ok, axis=1, out=bad[:, 1:])
    b = np.asarray(bounds, dtype=np.int64)
    whole = (bad[:, b[1:]] == bad[:, b[:-1]]).tolist()  # per row and block: all integral
    spans = list(zip(bounds, bounds[1:]))
    rows = []
    for t in range(m.shape[0]):
        ints = np.where(ok[t], m[t], 0.0).astype(np.int64).tolist()
        if bad[t, -1] == 0:  # the whole row is integral
            rows.append([ints[lo:hi] for lo, hi in spans])
        else:
            floats = m[t].tolist()
            rows.append([(ints if w else floats)[lo:hi] for w, (lo, hi) in zip(whole[t], spans)])
    if len(rows) == 1:
        return [[block] for block in rows[0]]
    return [list(block) for block in zip(*rows)] if rows else [[] for _ in spans]


def format_number(x: float) -> str:
    """Return ``x`` as text: ``12`` when integral (int64 range), else the shortest repr (``0.1``)."""
    x = float(x)
    return str(int(x)) if is_integral(x, TEXT_INT_LIMIT) else repr(x)
