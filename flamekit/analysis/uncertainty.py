"""How sure a share is (pipeline stage: analysis): effective sample counts and 95 % intervals.

A sampling profiler's share (``price_options`` holds 70 % of the samples) is a
proportion estimated from ``n`` samples, so it carries binomial noise: with 50
samples a true 70 % comes out anywhere from about 57 % to 81 %. Every share
flamekit prints says so, as ``70.0% ±12.4`` (the 95 % Wilson score interval,
https://en.wikipedia.org/wiki/Binomial_proportion_confidence_interval#Wilson_score_interval,
written as its larger distance from the estimate).

The ``n`` is the **effective number of samples**, the same count the diff's statistics
use (:func:`column_samples`, here so that a report need not import the diff): the total for count units (a
folded line ``a;b 500`` is 500 samples); total seconds x ``meta["rate_hz"]`` for time
units of a recording (a py-spy sample stands for 1/rate s, perf's for its period);
otherwise the number of sample rows with a value.

Systematic sampling of a steady workload usually does better than the binomial
bound, so these intervals are conservative for it; what they cannot see is bias
(a sampling rate in step with the workload, see :mod:`flamekit.record.perf`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..model import TIME_UNITS, Profile, SampleType

#: the normal quantile for a two-sided 95 % interval
Z95 = 1.959963984540054
#: fewer effective samples than this cannot rank anything (a share's interval is > ±14 pp)
MIN_SAMPLES = 50


#: Units whose values are sample counts (one unit = one sample).
COUNT_UNITS = frozenset({"samples", "sample", "count", "counts", "events", "event"})
_RATE_KEYS = ("rate", "rate_hz", "sampling_rate", "frequency")


def _meta_float(meta: dict, keys: Sequence[str]) -> float | None:
    for k in keys:
        v = meta.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            return float(v)
    return None


def column_samples(st: SampleType, v: np.ndarray, meta: dict) -> float:
    """Return the effective number of samples of one value column ``v`` of type ``st``.

    Count units (``samples``, ``count``...): the total. Time units with a known
    sampling rate (``meta['rate']`` in Hz, or another of its spellings): total
    seconds times the rate. Otherwise the number of non-zero values (a lower
    bound when the importer aggregated rows).
    """
    total = float(v.sum())
    if st.unit.lower() in COUNT_UNITS:
        return total
    scale = TIME_UNITS.get(st.unit.lower())
    rate = _meta_float(meta, _RATE_KEYS)
    if scale is not None and rate is not None:
        return total * scale * rate
    return float(np.count_nonzero(v))


def effective_samples(p: Profile, sample_type: str | int | None = None) -> float:
    """Return the effective number of samples behind ``sample_type``'s shares (default: the first type)."""
    if p.n_samples == 0 or not p.sample_types:
        return 0.0
    k = p.type_index(sample_type)
    return float(column_samples(p.sample_types[k], p.values[:, k], p.meta))


def wilson_bounds(shares: np.ndarray, n: float, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Return the Wilson score interval bounds ``(low, high)`` of proportions ``shares`` of ``n`` samples."""
    s = np.clip(np.asarray(shares, dtype=np.float64), 0.0, 1.0)
    if n <= 0:
        return np.zeros_like(s), np.ones_like(s)
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (s + z2 / (2 * n)) / denom
    half = z / denom * np.sqrt(s * (1 - s) / n + z2 / (4 * n * n))
    return np.maximum(0.0, center - half), np.minimum(1.0, center + half)


def wilson(share: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Return the Wilson score interval ``(low, high)`` for a proportion ``share`` of ``n`` samples."""
    lo, hi = wilson_bounds(np.asarray([share]), n, z)
    return float(lo[0]), float(hi[0])


def margins(shares: np.ndarray, n: float, z: float = Z95) -> np.ndarray:
    """Return the ± of each share (fractions, 0..1): the larger distance to its interval's ends."""
    s = np.clip(np.asarray(shares, dtype=np.float64), 0.0, 1.0)
    lo, hi = wilson_bounds(s, n, z)
    return np.maximum(np.maximum(s - lo, hi - s), 0.0)


def margin(share: float, n: float, z: float = Z95) -> float:
    """Return the ± of one share (a fraction): see :func:`margins`."""
    return float(margins(np.asarray([share]), n, z)[0])


@dataclass(frozen=True)
class Resolution:
    """Whether a ranking rests on enough samples: ``n`` effective samples, ``ranked`` top entries
    whose order is settled (each one's interval clear of the next one's), ``enough`` False when the
    profile is too small to rank even its first two (or has fewer than :data:`MIN_SAMPLES`)."""

    n: float
    ranked: int
    enough: bool


def resolution(shares: np.ndarray, n: float, z: float = Z95) -> Resolution:
    """Tell how many leading entries of descending ``shares`` (fractions) are ordered beyond noise."""
    s = np.asarray(shares, dtype=np.float64)
    ranked = 0
    lo, hi = wilson_bounds(s, n, z)
    for i in range(len(s) - 1):
        if lo[i] <= hi[i + 1]:
            break
        ranked = i + 1
    if len(s) == 1 and n > 0:
        ranked = 1
    enough = n >= MIN_SAMPLES and (ranked >= 1 or len(s) < 2)
    return Resolution(n=float(n), ranked=ranked, enough=bool(enough))
