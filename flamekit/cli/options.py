"""Argument types for numeric options: every number is checked when it is parsed.

``float("nan")``, ``float("inf")`` and ``-1`` parse as floats, so ``type=float``
let ``--fail-on-regression nan`` switch a CI gate off and ``-1`` through. These
types reject what makes no sense for the option (not a finite number, below or
above its range) with argparse's usual one-line usage error and exit 2.
"""
from __future__ import annotations

import argparse
import math
from typing import Callable


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '≥'} {lo:g}"
    if hi is not None:
        return f"{'<' if hi_open else '≤'} {hi:g}"
    return "finite"


def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
           hi_open: bool = False, integer: bool = False) -> Callable[[str], float]:
    """Return an argparse ``type`` accepting a finite number (an integer when ``integer``) in range."""
    want = "a whole number" if integer else "a number"
    rng = _range_text(lo, hi, lo_open, hi_open)

    def parse(text: str) -> float:
        try:
            x: float = int(text, 10) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {want} {rng}, not {text!r}") from None
        bad = not math.isfinite(x) if not integer else False
        if not bad and lo is not None:
            bad = x <= lo if lo_open else x < lo
        if not bad and hi is not None:
            bad = x >= hi if hi_open else x > hi
        if bad:
            raise argparse.ArgumentTypeError(f"expected {want} {rng}, not {text!r}")
        return x

    parse.__name__ = "integer" if integer else "number"  # argparse names the type in messages
    return parse


#: Shared kinds of option.
POSITIVE = number(0, lo_open=True)            # seconds, intervals
NON_NEGATIVE = number(0)                      # percentage points, pixels
FRACTION = number(0, 1)                       # shares
PROBABILITY = number(0, 1, lo_open=True, hi_open=True)  # alpha
COUNT = number(1, integer=True)               # runs, rates
NON_NEGATIVE_INT = number(0, integer=True)     # warm-up runs
PID = number(1, integer=True)                  # a missing process is the recorder's error (exit 1)
DISPERSION = number(0, lo_open=True)       # an over-dispersion factor (1 = binomial)
