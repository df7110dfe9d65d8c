"""Significance (pipeline stage: analysis): is a function's change in a diff real?

The tests behind :func:`~flamekit.analysis.diff.diff`, on per-run figures
(``[runs, keys]`` percentages) and exposures: :func:`significance` (one run a
side: a binomial z test with an over-dispersion factor; several: Welch's t on
moderated variances), :func:`within_dispersion` (over-dispersion from each run's
time blocks), :func:`most_changed` (the function whose change dilutes the others)
and :func:`bh_filtered` (Benjamini-Hochberg over the tested functions). The
distributions and the false-discovery procedure are :mod:`flamekit.analysis.stats`.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..stats import benjamini_hochberg, normal_two_sided, t_two_sided
from .prepare import BLOCKS

if TYPE_CHECKING:
    from .prepare import PreparedRun

#: The median of a chi-square variable with one degree of freedom.
_CHI2_1_MEDIAN = 0.454936423119572
#: Genomic-control estimate: needs at least this many well-sampled functions.
_GC_MIN_KEYS = 3
_GC_MIN_COUNT = 10.0
#: A change smaller than this (percentage points) is rounding, not change: with no
#: sampling variance (a share of exactly 0 or 100 on both sides) it is not significant.
_DELTA_EPS = 1e-9
#: One-sided level at which the block spread must exceed the binomial to be used.
_WITHIN_Z = 1.645


def _binomial_var(m: np.ndarray, expo: np.ndarray, absolute: bool) -> np.ndarray:
    """Per-run sampling variance of a percentage measure ``m`` (shape [runs, keys])."""
    if absolute:  # Poisson: m = g * count, var = g^2 * count = g * m; expo holds g
        return expo[:, None] * np.maximum(m, 0.0)
    mm = np.clip(m, 0.0, 100.0)
    return mm * (100.0 - mm) / np.maximum(expo[:, None], 1e-300)


def _pooled_mean(mb: np.ndarray, mh: np.ndarray, eb: np.ndarray, eh: np.ndarray,
                 absolute: bool) -> np.ndarray:
    """The common mean under H0, weighting runs by their exposure."""
    if absolute:  # exposure = 1/g
        wb, wh = 1.0 / eb, 1.0 / eh
    else:         # exposure = n
        wb, wh = eb, eh
    return (wb @ mb + wh @ mh) / max(float(wb.sum() + wh.sum()), 1e-300)


def significance(mb: np.ndarray, mh: np.ndarray, eb: np.ndarray, eh: np.ndarray, absolute: bool,
          dispersion: float | None, common: np.ndarray, self_shares: tuple[np.ndarray, np.ndarray],
          within: tuple[float, str] | None = None) -> tuple[np.ndarray, float, str, str]:
    """Return (p-values, dispersion used, its source, method) for one metric.

    ``mb``/``mh``: [runs, keys] percentages; ``eb``/``eh``: per-run exposure
    (effective samples, or the Poisson factor ``g`` with ``absolute``).
    ``common`` flags keys present on both sides and ``self_shares`` holds the
    per-run self percentages of both sides (they rescale shares to a set of keys
    when estimating dispersion, see :func:`_estimate_dispersion`); ``within``
    is the within-run estimate of :func:`within_dispersion` (the larger is used).
    """
    rb, rh = mb.shape[0], mh.shape[0]
    if rb == 1 and rh == 1:
        z, var, delta = _z_scores(mb, mh, eb, eh, absolute)
        if dispersion is not None:
            phi, src = max(float(dispersion), 1e-9), "given"
        else:
            phi, src = _estimate_dispersion(mb, mh, eb, eh, absolute, common, self_shares)
            if within is not None and within[0] > phi:
                phi, src = within
        p = normal_two_sided(z / math.sqrt(phi))
        p = np.where((var <= 0) & (np.abs(delta) > _DELTA_EPS), 0.0, p)
        return p, phi, src, "binomial"
    # Welch's t on per-run figures, each side's variance moderated (see _moderated_var);
    # a one-run side borrows the other side's variance.
    pooled = _pooled_mean(mb, mh, eb, eh, absolute)
    delta = mh.mean(axis=0) - mb.mean(axis=0)
    floor_b = _binomial_var(np.broadcast_to(pooled, mb.shape), eb, absolute).mean(axis=0)
    floor_h = _binomial_var(np.broadcast_to(pooled, mh.shape), eh, absolute).mean(axis=0)
    ok = _well_sampled_runs(pooled, np.concatenate([eb, eh]), absolute)
    sb = mb.var(axis=0, ddof=1) if rb >= 2 else None
    sh = mh.var(axis=0, ddof=1) if rh >= 2 else None
    phis = []
    if sb is not None:
        vb, phi_b = _moderated_var(sb, floor_b, rb - 1, ok, dispersion)
        var_b, df_b = vb / rb, float(rb - 1 + _PRIOR_DF)
        phis.append(phi_b)
    if sh is not None:
        vh, phi_h = _moderated_var(sh, floor_h, rh - 1, ok, dispersion)
        var_h, df_h = vh / rh, float(rh - 1 + _PRIOR_DF)
        phis.append(phi_h)
    phi = max(phis)
    if sb is None:
        var_b, df_b = np.maximum(phi * floor_b, sh if sh is not None else 0.0) / rb, math.inf
    if sh is None:
        var_h, df_h = np.maximum(phi * floor_h, sb if sb is not None else 0.0) / rh, math.inf
    se2 = var_b + var_h
    den = (var_b ** 2 / df_b if math.isfinite(df_b) else 0.0) + \
          (var_h ** 2 / df_h if math.isfinite(df_h) else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(den > 0, se2 ** 2 / np.where(den > 0, den, 1.0), np.inf)
        t = np.where(se2 > 0, delta / np.sqrt(se2), 0.0)
    p = t_two_sided(t, df)
    p = np.where((se2 <= 0) & (np.abs(delta) > _DELTA_EPS), 0.0, p)
    src = ("given" if dispersion is not None else
           f"run-to-run variance, moderated toward φ × the sampling variance ({_PRIOR_DF:g} "
           f"prior degrees of freedom; φ = median run-to-run / sampling variance of "
           f"{int(ok.sum())} well-sampled functions, at least 1)")
    return p, phi, src, "welch"


#: Prior degrees of freedom of the moderated run-to-run variance (weight of φ x sampling
#: variance against a function's own variance over its runs).
_PRIOR_DF = 4.0


def _well_sampled_runs(pooled: np.ndarray, expo: np.ndarray, absolute: bool) -> np.ndarray:
    """Flag keys with at least ``_GC_MIN_COUNT`` expected samples in (and outside) every run."""
    if absolute:
        return pooled / float(expo.max()) >= _GC_MIN_COUNT
    n = float(expo.min())
    counts = pooled / 100.0 * n
    return (counts >= _GC_MIN_COUNT) & ((n - counts) >= _GC_MIN_COUNT)


def _chi2_median_ratio(d: float) -> float:
    """Return median(chi2_d) / d (exact for d = 1, 2; Wilson-Hilferty beyond)."""
    if d <= 1:
        return _CHI2_1_MEDIAN
    if d <= 2:
        return math.log(2.0)
    return (1.0 - 2.0 / (9.0 * d)) ** 3


def _moderated_var(s2: np.ndarray, floor: np.ndarray, d: int, ok: np.ndarray,
                   dispersion: float | None) -> tuple[np.ndarray, float]:
    """Return (per-key variance of one run, φ) for one side, moderated as in limma.

    With 2-5 runs a key's own variance has 1-4 degrees of freedom, so Welch's t
    has very heavy tails and misses real regressions. Its variance is pulled
    toward a prior, φ x the sampling variance: ``(d0 * prior + d * s2) / (d0 + d)``
    with ``d0 = _PRIOR_DF``, and the test gets ``d0 + d`` degrees of freedom.
    φ is the median over well-sampled keys of their run-to-run variance over the
    sampling variance, divided by that ratio's null median (never below 1), or
    ``dispersion`` when given. The result is never below the sampling variance.
    """
    if dispersion is not None:
        phi = max(float(dispersion), 1e-9)
    else:
        good = ok & (floor > 0)
        phi = 1.0
        if int(good.sum()) >= _GC_MIN_KEYS:
            phi = max(1.0, float(np.median(s2[good] / floor[good])) / _chi2_median_ratio(d))
    v = (_PRIOR_DF * phi * floor + d * s2) / (_PRIOR_DF + d)
    return np.maximum(v, floor), phi


def _z_scores(mb: np.ndarray, mh: np.ndarray, eb: np.ndarray, eh: np.ndarray, absolute: bool
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-sample z under the sampling model with the pooled mean; returns (z, var, delta)."""
    pooled = _pooled_mean(mb, mh, eb, eh, absolute)
    delta = mh[0] - mb[0]
    var = (_binomial_var(pooled[None, :], eb, absolute)[0]
           + _binomial_var(pooled[None, :], eh, absolute)[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, delta / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    return z, var, delta


def _well_sampled(pooled: np.ndarray, eb: np.ndarray, eh: np.ndarray, absolute: bool
                  ) -> np.ndarray:
    """Flag keys with at least ``_GC_MIN_COUNT`` expected samples in (and outside) them."""
    if absolute:
        return (pooled / eb[0] + pooled / eh[0]) >= _GC_MIN_COUNT
    n_sum = float(eb[0] + eh[0])
    counts = pooled / 100.0 * n_sum
    return (counts >= _GC_MIN_COUNT) & ((n_sum - counts) >= _GC_MIN_COUNT)


def _rescaled(m: np.ndarray, shares: np.ndarray, keep: np.ndarray, absolute: bool) -> np.ndarray:
    """Rescale per-run percentages so that the self shares of the ``keep`` keys sum to 100."""
    if absolute:
        return m
    s = shares[:, keep].sum(axis=1)
    f = np.where(s > 0, 100.0 / np.where(s > 0, s, 1.0), 1.0)
    return m * f[:, None]


def within_dispersion(runs: list["PreparedRun"], gmaps: list[np.ndarray], key_map: np.ndarray
                       ) -> tuple[float, str] | None:
    """Estimate over-dispersion inside each run from the variance of its block shares.

    Samples close in time are not independent (a busy machine preempts the
    process and the sampler sees the same stack again and again; a sampler's
    interval can alias with a loop). Each run's ordered samples are cut into
    ``BLOCKS`` consecutive blocks (:func:`~flamekit.analysis.diff.prepare.prepare_run`, done when the run is
    prepared); for a well-sampled function the variance of
    its self share across blocks over the binomial variance of one block is
    about 1 for independent samples. The mean of that ratio over the
    well-sampled functions of both runs estimates φ; a changed function
    inflates nothing here (only within-run spread counts). None when a run's
    rows are not ordered single samples, or when the mean is not clearly
    above 1 (a one-sided 5 % chi-square test).
    """
    ratios: list[float] = []
    indep = 0
    nk = int(key_map.max()) + 1 if len(key_map) else 0
    for r, g in zip(runs, gmaps):
        if r.blocks is None or r.block_size == 0 or nk == 0:
            return None
        m = r.block_size
        cols = key_map[g] if len(g) else np.zeros(0, np.int64)
        ok = cols >= 0
        counts = np.zeros((BLOCKS, nk))
        counts[:, cols[ok]] = r.blocks[:, ok]  # local keys are distinct, so are their rows
        share = counts / m
        p = counts.sum(axis=0) / (m * BLOCKS)
        good = (p * m * BLOCKS >= 2 * _GC_MIN_COUNT) & ((1 - p) * m * BLOCKS >= 2 * _GC_MIN_COUNT)
        if good.any():
            v = share[:, good].var(axis=0, ddof=1)
            ratios.extend((v / (p[good] * (1 - p[good]) / m)).tolist())
            # shares sum to 1: when the well-sampled functions hold nearly all samples,
            # one of their ratios repeats the others (two functions: the same ratio twice)
            gg = int(good.sum())
            indep += max(1, gg - 1) if float(p[good].sum()) >= 0.9 else gg
    if not ratios:
        return None
    phi = float(np.mean(ratios))
    # Use it only when the spread is clearly above the binomial (one-sided 5 % test
    # of mean ratio against chi2_df / df, Wilson-Hilferty, df from the independent
    # ratios): an estimate that merely wobbles above 1 would cost power for nothing.
    df = indep * (BLOCKS - 1)
    c = 2.0 / (9.0 * df)
    if phi <= (1.0 - c + _WITHIN_Z * math.sqrt(c)) ** 3:
        return None
    return phi, (f"within-run spread: {len(ratios)} function-runs cut into {BLOCKS} time "
                 "blocks (block-share variance / binomial, clearly above 1)")


def _estimate_dispersion(mb: np.ndarray, mh: np.ndarray, eb: np.ndarray, eh: np.ndarray,
                         absolute: bool, common: np.ndarray,
                         self_shares: tuple[np.ndarray, np.ndarray]) -> tuple[float, str]:
    """Estimate over-dispersion from the diff itself (genomic control: median z^2 / 0.455).

    Shares compete: a function that is new or grew by 10 pp scales every other
    share down by about 10 % relative, which would read as noise everywhere and
    inflate the estimate (hiding the very regression). So the estimate uses
    only keys present on both sides, leaves out the single most-changed key
    (largest |z|), and rescales the shares to the keys it keeps before
    computing the z scores of the well-sampled ones among them.
    """
    sb, sh = self_shares
    pooled = _pooled_mean(mb, mh, eb, eh, absolute)
    ok = _well_sampled(pooled, eb, eh, absolute) & common
    keep = common.copy()
    zc, _, _ = _z_scores(_rescaled(mb, sb, keep, absolute), _rescaled(mh, sh, keep, absolute),
                         eb, eh, absolute)
    if ok.any():  # leave out the most-changed well-sampled key, then rescale again
        top = int(np.flatnonzero(ok)[np.argmax(np.abs(zc[ok]))])
        keep[top] = False
        ok[top] = False
        zc, _, _ = _z_scores(_rescaled(mb, sb, keep, absolute),
                             _rescaled(mh, sh, keep, absolute), eb, eh, absolute)
    n_ok = int(ok.sum())
    if n_ok < _GC_MIN_KEYS:
        return 1.0, (f"none (fewer than {_GC_MIN_KEYS} well-sampled functions besides the "
                     "most-changed one; 1 = the sampling model)")
    phi = float(np.median(zc[ok] ** 2)) / _CHI2_1_MEDIAN
    return max(1.0, phi), (f"estimated from {n_ok} functions (median z^2 / 0.455, shares "
                           "rescaled without new, gone and the most-changed function)")


#: The dilution correction applies while the most-changed function holds less than this
#: share (percent) of every run (beyond it too little time is left outside it to compare).
_DILUTION_MAX_SHARE = 80.0


def most_changed(ms: np.ndarray, expo: np.ndarray, rb: int, absolute: bool) -> int | None:
    """Return the key whose self share changed most (largest |z| at φ = 1), or None.

    None with ``absolute`` (rates do not compete), fewer than two keys, no
    change, or when that key holds ``_DILUTION_MAX_SHARE`` % or more of a run.
    """
    if absolute or ms.shape[1] < 2:
        return None
    mb, mh = ms[:rb].mean(axis=0, keepdims=True), ms[rb:].mean(axis=0, keepdims=True)
    z, _, _ = _z_scores(mb, mh, np.array([expo[:rb].sum()]), np.array([expo[rb:].sum()]), False)
    if not np.any(z != 0):
        return None
    k = int(np.argmax(np.abs(z)))
    if float(ms[:, k].max()) >= _DILUTION_MAX_SHARE:
        return None
    return k


def bh_filtered(p: np.ndarray, tested: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg over the tested rows; untested rows get q = 1."""
    q = np.ones_like(p)
    if tested.any():
        q[tested] = benjamini_hochberg(p[tested])
    return q
