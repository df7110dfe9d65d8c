"""Integer keys numbered by first appearance, as :func:`pandas.factorize` numbers them.

The model, the tree algorithms and the report number integer keys (a stack and a thread,
a parent and a frame) many times. pandas' hash table is the fastest way for large inputs,
but importing pandas costs about 0.25 s, most of a small report's start-up; below
:data:`SMALL` keys the same numbering comes from numpy's sort, so a small profile never
imports pandas. Both ways give identical codes and uniques (``tests/test_keys.py``).
"""
from __future__ import annotations

import numpy as np

#: Inputs up to this many keys are numbered with numpy (no pandas import).
SMALL = 1 << 16


def factorize(keys: np.ndarray, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(codes, uniques)`` of 1-D integer ``keys``: ``uniques[codes] == keys``.

    ``uniques`` are in order of first appearance (ascending with ``sort``), exactly as
    ``pandas.factorize(keys, sort=sort)`` gives them; ``codes`` are ``intp``.
    """
    keys = np.asarray(keys)
    if len(keys) > SMALL:
        import pandas as pd

        codes, uniq = pd.factorize(keys, sort=sort)
        return codes, np.asarray(uniq)
    uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    inv = inv.reshape(-1).astype(np.intp, copy=False)
    if sort:
        return inv, uniq
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order), dtype=np.intp)
    return rank[inv], uniq[order]
