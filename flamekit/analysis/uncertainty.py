"""How sure a share is (pipeline stage: analysis): effective sample counts and 95 % intervals.

A sampling profiler's share (``price_options`` holds 70 % of the samples) is a
proportion estimated from ``n`` samples, so it carries binomial noise: with 50
samples a true 70 % comes out anywhere from about 57 % to 81 %. Every share
flamekit prints says so, as ``70.0% ±12.4`` (the 95 % Wilson score interval,
https://en.wikipedia.org/wiki/Binomial_proportion_confidence_interval#Wilson_score_interval,
written as its larger distance from the estimate).

The ``n`` is the **effective number of samples** (:func:`effective_samples`):

* count-valued types (``samples``/``count``) with whole values: the count itself
  (a folded line ``a;b 500`` is 500 samples);
* time-valued types when the recording's rate is known (``meta["rate_hz"]``):
  seconds x rate (a py-spy sample stands for 1/rate s; perf's for its period);
* otherwise Kish's effective size ``(sum w)^2 / sum w^2`` over the sample rows, which
  equals the row count when weights are equal and shrinks when a few rows carry
  most of the weight (scalene's per-line seconds, allocation megabytes).

Systematic sampling of a steady workload usually does better than the binomial
bound, so these intervals are conservative for it; what they cannot see is bias
(a sampling rate in step with the workload, see :mod:`flamekit.record.perf`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..model import Profile

#: the normal quantile for a two-sided 95 % interval
Z95 = 1.959963984540054
_SECONDS = {"seconds": 1.0, "s": 1.0, "milliseconds": 1e-3, "ms": 1e-3, "microseconds": 1e-6,
            "us": 1e-6, "nanoseconds": 1e-9, "ns": 1e-9}
#: fewer effective samples than this cannot rank anything (a share's interval is > ±14 pp)
MIN_SAMPLES = 50


def effective_samples(p: Profile, sample_type: str | int | None = None) -> float:
    """Return the effective number of samples behind ``sample_type``'s shares (see the module doc)."""
    if p.n_samples == 0:
        return 0.0
    k = p.type_index(sample_type)
    st = p.sample_types[k]
    w = p.values[:, k]
    w = w[w != 0]
    if not len(w):
        return 0.0
    total = float(w.sum())
    if st.unit in ("count", "samples") and np.all(w == np.round(w)) and total > 0:
        return total
    rate = p.meta.get("rate_hz")
    if st.unit in _SECONDS and isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0:
        n = total * _SECONDS[st.unit] * float(rate)
        if n >= 1:
            return n
    sq = float(np.square(w).sum())
    return total * total / sq if sq > 0 else 0.0


def wilson(share: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Return the Wilson score interval ``(low, high)`` for a proportion ``share`` of ``n`` samples."""
    if n <= 0:
        return 0.0, 1.0
    s = min(max(float(share), 0.0), 1.0)
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (s + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(s * (1 - s) / n + z2 / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


def margin(share: float, n: float, z: float = Z95) -> float:
    """Return the ± of a share (a fraction, 0..1): the larger distance from ``share`` to its interval's ends."""
    lo, hi = wilson(share, n, z)
    return max(share - lo, hi - share, 0.0)


def margins(shares: np.ndarray, n: float, z: float = Z95) -> np.ndarray:
    """Vectorized :func:`margin` over an array of shares (fractions)."""
    s = np.clip(np.asarray(shares, dtype=np.float64), 0.0, 1.0)
    if n <= 0:
        return np.maximum(s, 1.0 - s)
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (s + z2 / (2 * n)) / denom
    half = z / denom * np.sqrt(s * (1 - s) / n + z2 / (4 * n * n))
    return np.maximum(np.maximum(s - (center - half), (center + half) - s), 0.0)


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
    for i in range(len(s) - 1):
        lo_i, _ = wilson(s[i], n, z)
        _, hi_next = wilson(s[i + 1], n, z)
        if lo_i <= hi_next:
            break
        ranked = i + 1
    if len(s) == 1 and n > 0:
        ranked = 1
    enough = n >= MIN_SAMPLES and (ranked >= 1 or len(s) < 2)
    return Resolution(n=float(n), ranked=ranked, enough=bool(enough))
