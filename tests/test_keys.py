"""flamekit.keys.factorize numbers keys exactly as pandas.factorize does, with or without pandas."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flamekit import keys
from flamekit.keys import SMALL, factorize


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("sort", [False, True])
def test_numpy_path_equals_pandas(dtype, sort) -> None:
    rng = np.random.default_rng(3)
    for trial in range(300):
        n = int(rng.integers(0, 400))
        hi = int(rng.choice([2, 50, 10**6, 2**31 - 1]))
        k = rng.integers(-hi, hi, n).astype(dtype)
        codes, uniq = factorize(k, sort=sort)
        pc, pu = pd.factorize(k, sort=sort)
        assert codes.dtype == np.intp and np.array_equal(codes, pc), (trial, k)
        assert uniq.dtype == np.asarray(pu).dtype and np.array_equal(uniq, pu), (trial, k)
        assert np.array_equal(uniq[codes], k)


def test_both_sides_of_the_threshold_agree(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    k = rng.integers(0, 5000, 3000)
    small = factorize(k)
    monkeypatch.setattr(keys, "SMALL", 10)  # the same keys through pandas' hash table
    large = factorize(k)
    assert all(np.array_equal(a, b) for a, b in zip(small, large))
    assert SMALL >= 1 << 16  # a 1k-stack report stays below it
