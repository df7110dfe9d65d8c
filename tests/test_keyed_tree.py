"""A diff prepares each run's keyed call tree with the compiled tree builder when it is built
(``prepare.keyed_tree``): the arrays must be exactly those of ``tree.from_paths(sort=True)``
(issue 15). Ground truth: ``from_paths`` itself and a plain-Python trie on small random
paths (shallow and wide, deep and narrow past ``tree.LOOP_DEPTH``, recursive, one-frame
paths, one path), and the whole prepared run of the speed corpus's files where present.
"""
from __future__ import annotations

import numpy as np
import pytest

from flamekit import formats, tree
from flamekit.analysis.diff import prepare as P
from flamekit.formats import _lines


def _random_paths(rng: np.random.Generator, n: int, maxlen: int, nkeys: int):
    lengths = rng.integers(1, maxlen + 1, size=n)
    flat = rng.integers(0, nkeys, size=int(lengths.sum()))
    return flat, lengths


def _plain_trie(flat, lengths):
    """Rows level by level, each level in (parent, key) order: the plain-Python truth."""
    paths, at = [], 0
    for n in lengths.tolist():
        paths.append(tuple(flat[at:at + n].tolist()))
        at += n
    prefixes = {p[:d] for p in paths for d in range(1, len(p) + 1)}
    row: dict[tuple, int] = {}
    for d in range(1, max(map(len, paths)) + 1):
        level = sorted((row[p[:-1]] if d > 1 else -1, p[-1], p) for p in prefixes if len(p) == d)
        for _, _, p in level:
            row[p] = len(row)
    order = sorted(row, key=row.get)
    prefix = [row[p[:-1]] if len(p) > 1 else -1 for p in order]
    return np.array(prefix), np.array([p[-1] for p in order]), np.array([row[p] for p in paths])


@pytest.mark.parametrize("seed", range(6))
def test_keyed_tree_is_from_paths_sorted_and_the_plain_trie(seed):
    rng = np.random.default_rng(seed)
    shapes = [(300, 6, 5), (200, 12, 40), (1, 4, 3), (50, 1, 7), (40, 300, 3)]  # last: deeper than LOOP_DEPTH
    for n, maxlen, nkeys in shapes:
        flat, lengths = _random_paths(rng, n, maxlen, nkeys)
        want = tree.from_paths(flat, lengths, sort=True)
        got = P.keyed_tree(flat, lengths)
        for w, g, g32 in zip(want, got, P.keyed_tree(flat.astype(np.int32), lengths)):
            assert w.dtype == g.dtype == g32.dtype and np.array_equal(w, g), (n, maxlen, nkeys)
            assert np.array_equal(w, g32), ("int32 ids", n, maxlen, nkeys)
        assert np.array_equal(got[3], tree.depths(want[0]))
        if maxlen <= tree.LOOP_DEPTH:  # from_paths sorts every level (no loop-walked tail)
            for w, g in zip(_plain_trie(flat, lengths), got):
                assert np.array_equal(w, g), (n, maxlen, nkeys)


def test_the_compiled_builder_is_used_and_its_absence_falls_back(monkeypatch):
    flat, lengths = _random_paths(np.random.default_rng(1), 100, 8, 6)
    want = tree.from_paths(flat, lengths, sort=True)
    if _lines.paths_tree is not None:
        assert formats.paths_tree(flat, lengths) is not None
        calls = []
        real = formats.paths_tree
        monkeypatch.setattr(formats, "paths_tree", lambda *a: calls.append(1) or real(*a))
        P.keyed_tree(flat, lengths)
        assert calls == [1]
    monkeypatch.setattr(_lines, "paths_tree", None)  # no extension: from_paths itself
    assert formats.paths_tree(flat, lengths) is None
    for w, g in zip(want, P.keyed_tree(flat, lengths)):
        assert np.array_equal(w, g)


def test_prepared_runs_of_folded_files_are_unchanged():
    """prepare_paths through the compiled builder equals it through from_paths, field by field."""
    import glob

    from conftest import require_corpus

    files = sorted(glob.glob(str(require_corpus("realworld/folded") / "*")))
    assert files
    for path in files:
        sp = formats.load_paths(path, "folded")
        fast = P.prepare_paths(sp, source=path)
        real = P.keyed_tree
        try:
            P.keyed_tree = lambda f, n: (lambda t: (*t, tree.depths(t[0])))(
                tree.from_paths(f, n, sort=True))
            slow = P.prepare_paths(sp, source=path)
        finally:
            P.keyed_tree = real
        for field in ("prefix", "key", "depth", "self_", "total", "key_self", "key_total"):
            assert np.array_equal(getattr(fast, field), getattr(slow, field)), (path, field)
