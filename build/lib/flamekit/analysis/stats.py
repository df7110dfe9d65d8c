"""Small statistics helpers for the diff (pipeline stage: analysis).

numpy only (no SciPy dependency): the two-sided normal and Student-t tail
probabilities, and the Benjamini–Hochberg step-up adjustment. The t tail uses
the regularized incomplete beta function, evaluated with the modified Lentz
continued fraction (Numerical Recipes §6.4 describes the method; this is our
own vectorized version). ``tests/test_diff.py`` checks it against SciPy when
SciPy happens to be installed.
"""
from __future__ import annotations

import math

import numpy as np

_TINY = 1e-300


def normal_two_sided(z: np.ndarray) -> np.ndarray:
    """Return ``P(|Z| >= |z|)`` for a standard normal ``Z`` (elementwise)."""
    z = np.abs(np.asarray(z, dtype=np.float64))
    erfc = np.vectorize(math.erfc, otypes=[np.float64])
    return erfc(z / math.sqrt(2.0)) if z.size else z.copy()


def _betacf(a: np.ndarray, b: np.ndarray, x: np.ndarray, iters: int = 400) -> np.ndarray:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = np.where(np.abs(d) < _TINY, _TINY, d)
    d = 1.0 / d
    h = d.copy()
    for m in range(1, iters + 1):
        m2 = 2.0 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1.0 / d
        h = h * d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1.0 / d
        de = d * c
        h = h * de
        if np.all(np.abs(de - 1.0) < 1e-15):
            break
    return h


def betainc(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Return the regularized incomplete beta function ``I_x(a, b)`` (elementwise)."""
    a, b, x = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float), np.asarray(x, float))
    out = np.where(x <= 0, 0.0, 1.0)
    inner = (x > 0) & (x < 1)
    if not inner.any():
        return out
    ai, bi, xi = a[inner], b[inner], x[inner]
    lg = np.vectorize(math.lgamma, otypes=[np.float64])
    lbt = lg(ai + bi) - lg(ai) - lg(bi) + ai * np.log(xi) + bi * np.log1p(-xi)
    bt = np.exp(lbt)
    swap = xi >= (ai + 1.0) / (ai + bi + 2.0)
    res = np.empty_like(xi)
    if (~swap).any():
        s = ~swap
        res[s] = bt[s] * _betacf(ai[s], bi[s], xi[s]) / ai[s]
    if swap.any():
        res[swap] = 1.0 - bt[swap] * _betacf(bi[swap], ai[swap], 1.0 - xi[swap]) / bi[swap]
    out[inner] = np.clip(res, 0.0, 1.0)
    return out


def t_two_sided(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Return ``P(|T| >= |t|)`` for Student's t with ``df`` degrees of freedom.

    ``df`` may be ``inf`` (or very large): the normal tail is used there.
    """
    t = np.abs(np.asarray(t, dtype=np.float64))
    df = np.broadcast_to(np.asarray(df, dtype=np.float64), t.shape)
    out = np.ones_like(t)
    big = ~np.isfinite(df) | (df > 1e7)
    if big.any():
        out[big] = normal_two_sided(t[big])
    small = ~big & (df > 0)
    if small.any():
        v, tt = df[small], t[small]
        out[small] = betainc(v / 2.0, np.full_like(v, 0.5), v / (v + tt * tt))
    return np.clip(out, 0.0, 1.0)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Return Benjamini–Hochberg adjusted p-values (q-values) for a family of tests.

    ``q_(i) = min_{j >= i} p_(j) * m / j`` over the sorted p-values, capped at 1.
    NaN entries are not counted in ``m`` and stay NaN.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adj = np.empty(m)
    adj[order] = np.minimum(ranked, 1.0)
    q[ok] = adj
    return q
