"""Native-heavy job: numpy linear algebra and FFTs (time spent in C/BLAS, not in Python).

``covariance_risk`` builds a returns matrix and its covariance (BLAS matmul),
``fft_filter`` low-passes a price signal with FFTs, ``sort_orders`` argsorts
order ids. Record with ``--native`` (py-spy) or ``--backend perf`` to see the
native frames. Prints the time split.

    python sample_workloads/native_numpy.py --seconds 2 --size 400
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def covariance_risk(rng: np.random.Generator, n: int) -> float:
    """Return the portfolio variance of ``n`` assets from simulated returns (matmul)."""
    r = rng.standard_normal((4 * n, n))
    cov = (r.T @ r) / (4 * n - 1)
    w = np.full(n, 1.0 / n)
    return float(w @ cov @ w)


def fft_filter(rng: np.random.Generator, n: int) -> float:
    """Low-pass a random-walk price signal with an FFT round trip."""
    x = np.cumsum(rng.standard_normal(n * 256))
    f = np.fft.rfft(x)
    f[len(f) // 20:] = 0
    return float(np.fft.irfft(f, len(x))[-1])


def sort_orders(rng: np.random.Generator, n: int) -> int:
    """Argsort random order ids (native sort)."""
    ids = rng.integers(0, 1 << 40, size=n * 500)
    return int(np.argsort(ids, kind="stable")[0])


def main(argv: list[str] | None = None) -> int:
    """Run the three native kernels for --seconds; print the split."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="run time (default 3)")
    ap.add_argument("--size", type=int, default=400, help="problem size (default 400)")
    a = ap.parse_args(argv)
    rng = np.random.default_rng(5)
    spent = {"covariance_risk": 0.0, "fft_filter": 0.0, "sort_orders": 0.0}
    fns = {"covariance_risk": covariance_risk, "fft_filter": fft_filter, "sort_orders": sort_orders}
    t_end = time.perf_counter() + a.seconds
    rounds = 0
    while time.perf_counter() < t_end:
        for name, fn in fns.items():
            t = time.perf_counter()
            fn(rng, a.size)
            spent[name] += time.perf_counter() - t
        rounds += 1
    tot = sum(spent.values()) or 1.0
    print(f"native_numpy: {rounds} rounds; " + ", ".join(f"{k} {v / tot:.0%}" for k, v in spent.items()),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
