"""The profile model: operations on hand-built profiles with exact numbers, deep stacks, algebra."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flamekit import model as M
from flamekit.errors import FlamekitError
from flamekit.model import (Frame, Profile, ProfileBuilder, SampleType, Thread, build_trie,
                            call_tree, compact, empty_profile, focus, functions,
                            group, ignore, merge, scale, select, to_text)

CPU = SampleType("cpu", "samples")
WALL = SampleType("wall", "nanoseconds")


def _profile(rows, types=(CPU, WALL), threads=None) -> Profile:
    """rows: (list of frame names or (name, file, line) tuples root first, values, thread)."""
    b = ProfileBuilder(list(types))
    for t in threads or ():
        b.thread(*t)
    for frames, vals, *rest in rows:
        ids = [b.frame(*(f if isinstance(f, tuple) else (f, "app.py", 0))) for f in frames]
        b.add(b.stack(ids), vals, rest[0] if rest else 0)
    return b.build()


@pytest.fixture
def small() -> Profile:
    # main -> a -> b (3 cpu), main -> a (2), main -> c -> b (5), main (1)
    return _profile([(["main", "a", "b"], [3, 30]), (["main", "a"], [2, 20]),
                     (["main", "c", "b"], [5, 50]), (["main"], [1, 10])])


def _fn(df, name):
    row = df[df["name"] == name]
    assert len(row) == 1, f"{name}: {len(row)} rows"
    return float(row["self"].iloc[0]), float(row["total"].iloc[0])


def test_totals_and_call_tree(small):
    assert small.totals().tolist() == [11.0, 110.0]
    tree = call_tree(small)
    labels = {tuple(small.frames[f].name for f in small.stack_frames(i)): (tree.self_[i], tree.total[i])
              for i in range(small.n_stacks)}
    assert labels == {("main",): (1, 11), ("main", "a"): (2, 5), ("main", "a", "b"): (3, 3),
                      ("main", "c"): (0, 5), ("main", "c", "b"): (5, 5)}
    assert tree.grand_total == 11
    assert call_tree(small, "wall").total[0] == 110


def test_functions(small):
    df = functions(small)
    assert _fn(df, "b") == (8, 8) and _fn(df, "main") == (1, 11)
    assert _fn(df, "a") == (2, 5) and _fn(df, "c") == (0, 5)
    assert list(df["name"][:2]) == ["b", "a"]  # sorted by self desc
    assert df.loc[df["name"] == "b", "self_pct"].iloc[0] == pytest.approx(800 / 11)


def test_recursion_counted_once_in_total():
    p = _profile([(["main", "f", "f", "f"], [4, 0]), (["main", "f", "g", "f"], [6, 0]),
                  (["main", "g"], [1, 0])])
    df = functions(p)
    assert _fn(df, "f") == (10, 10)  # not 4*3 + 6*2
    assert _fn(df, "g") == (1, 7)
    assert _fn(df, "main") == (0, 11)


def test_functions_by_line_and_thread():
    p = _profile([([("main", "m.py", 1), ("f", "m.py", 10)], [2, 0], 0),
                  ([("main", "m.py", 1), ("f", "m.py", 11)], [3, 0], 1)],
                 threads=[(1, "A"), (2, "B")])
    by_fn = functions(p)
    assert _fn(by_fn, "f") == (5, 5)
    by_line = functions(p, by="line")
    assert sorted(by_line.loc[by_line["name"] == "f", "self"].tolist()) == [2, 3]
    assert _fn(functions(p, thread=1), "f") == (3, 3)


def test_select_focus_ignore_scale(small):
    s = select(small, "wall")
    assert s.sample_types == (WALL,) and s.totals().tolist() == [110.0]
    f = focus(small, "^c$")
    assert f.totals().tolist() == [5.0, 50.0] and {fr.name for fr in f.frames} == {"main", "c", "b"}
    i = ignore(small, "^c$")
    assert i.totals().tolist() == [6.0, 60.0]
    assert scale(small, 2.0).totals().tolist() == [22.0, 220.0]
    assert scale(small, 0.5, "cpu").totals().tolist() == [5.5, 110.0]
    with pytest.raises(FlamekitError, match="available"):
        select(small, "nope")


def test_group_function_merges_lines():
    p = _profile([([("main", "m.py", 1), ("f", "m.py", 10)], [2, 0]),
                  ([("main", "m.py", 2), ("f", "m.py", 11)], [3, 0])])
    g = group(p, "function")
    assert len(g.frames) == 2 and g.n_stacks == 2
    assert to_text(g).count("f (m.py:0)") == 1
    assert g.totals().tolist() == p.totals().tolist()


def test_merge_and_compact(small):
    other = _profile([(["main", "z"], [7])], types=(CPU,), threads=[(9, "T")])
    m = merge(small, other)
    assert m.sample_types == (CPU, WALL)
    assert m.totals().tolist() == [18.0, 110.0]
    assert m.threads == (Thread(0, ""), Thread(9, "T"))
    assert m.meta["merged_from"] == 2
    doubled = compact(merge(small, small))
    assert doubled.n_samples == small.n_samples
    assert doubled.totals().tolist() == [22.0, 220.0]


def test_deep_stack_100k():
    n = 100_000
    b = ProfileBuilder([CPU])
    fr = [b.frame(f"f{i % 7}", "deep.py", i % 7) for i in range(n)]
    b.add(b.stack(fr), 1.0)
    b.add(b.stack(fr[:10]), 2.0)
    p = b.build()
    tree = call_tree(p)
    assert tree.total[0] == 3.0 and tree.self_[p.sample_stack[0]] == 1.0
    assert int(tree.depth.max()) == n
    df = functions(p)
    assert _fn(df, "f0") == (0.0, 3.0)  # recursion counted once in total
    assert _fn(df, "f2") == (2.0, 3.0) and _fn(df, "f4") == (1.0, 3.0)  # the two leaves
    g = group(p, "function")
    assert g.n_stacks == n and g.totals().tolist() == [3.0]
    text = to_text(p)
    assert text.count(" ; ") == (n - 1) + 9
    assert _same_sums(p, compact(p))
    assert focus(p, "^f6$").totals().tolist() == [3.0]


def test_build_trie_matches_builder():
    paths = [[1, 2, 3], [1, 2], [4], [1, 2, 3], [1, 5, 3]]
    flat = np.array([x for p in paths for x in p])
    prefix, frame, leaf = build_trie(flat, np.array([len(p) for p in paths]))
    assert len(prefix) == 6  # 1, 4, 1-2, 1-5, 1-2-3, 1-5-3
    assert (prefix < np.arange(len(prefix))).all()
    for p, l in zip(paths, leaf.tolist()):
        got = []
        while l >= 0:
            got.append(int(frame[l]))
            l = int(prefix[l])
        assert got[::-1] == p
    assert leaf[0] == leaf[3]


# -- empty profile: every op works ---------------------------------------------------
def test_empty_profile_ops():
    e = empty_profile()
    for q in (merge(e), merge(e, e), compact(e), scale(e, 3.0), select(e, 0), focus(e, "x"),
              ignore(e, "x"), group(e, "function"), group(e, "line"), group(e, "file")):
        q.check()
        assert q.n_samples == 0 and q.totals().tolist() == [0.0]
    assert call_tree(e).grand_total == 0.0 and len(call_tree(e).total) == 0
    assert len(functions(e)) == 0
    assert "stacks:" in to_text(e)
    assert merge().n_samples == 0
    assert M.by_thread(e) == {}


def _same_sums(a: Profile, b: Profile) -> bool:
    """to_text equality except the raw sample-row count (compact sums rows)."""
    strip = lambda p: [ln for ln in to_text(p).splitlines() if not ln.startswith("samples: ")]
    return strip(a) == strip(b)


# -- hypothesis algebra --------------------------------------------------------------
_frames = st.sampled_from([("main", "m.py", 1), ("f", "m.py", 2), ("f", "m.py", 3),
                           ("g", "g.py", 1), ("h", "", 0), ("<lambda>", "x.py", 9)])
_row = st.tuples(st.lists(_frames, min_size=1, max_size=6),
                 st.lists(st.integers(0, 1000), min_size=2, max_size=2), st.integers(0, 2))
_types = st.sampled_from([(CPU, WALL), (WALL, CPU), (CPU, SampleType("alloc", "bytes"))])


@st.composite
def profiles(draw):
    rows = draw(st.lists(_row, max_size=8))
    types = draw(_types)
    return _profile([(f, [float(x) for x in v], t) for f, v, t in rows], types=types,
                    threads=[(i, f"t{i}") for i in range(3)])


@settings(max_examples=60, deadline=None)
@given(profiles(), profiles(), profiles())
def test_merge_associative(a, b, c):
    left = merge(merge(a, b), c)
    right = merge(a, merge(b, c))
    flat = merge(a, b, c)
    assert to_text(compact(left), include_meta=False) == to_text(compact(right), include_meta=False)
    assert to_text(compact(left), include_meta=False) == to_text(compact(flat), include_meta=False)
    np.testing.assert_allclose(sorted(left.totals()), sorted(right.totals()))


@settings(max_examples=60, deadline=None)
@given(profiles())
def test_compact_idempotent(p):
    once = compact(p)
    assert compact(once) == once
    assert _same_sums(once, p)


@settings(max_examples=60, deadline=None)
@given(profiles(), st.sampled_from(["function", "line", "file"]))
def test_group_preserves_totals(p, by):
    g = group(p, by)
    assert g.totals().tolist() == p.totals().tolist()
    assert g.n_samples == p.n_samples
    for k in range(len(p.sample_types)):
        assert call_tree(g, k).grand_total == call_tree(p, k).grand_total


@settings(max_examples=40, deadline=None)
@given(profiles())
def test_functions_self_sums_to_total(p):
    df = functions(p)
    assert df["self"].sum() == pytest.approx(p.totals()[0])
    assert (df["total"] >= df["self"]).all()
    assert (df["total"] <= p.totals()[0] + 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(profiles(), st.sampled_from(["^f$", "main", "nomatch", "lambda"]))
def test_focus_ignore_partition(p, rx):
    f, i = focus(p, rx), ignore(p, rx)
    np.testing.assert_allclose(f.totals() + i.totals(), p.totals())


def test_frame_label():
    assert Frame("f", "a.py", 3).label() == "f (a.py:3)"
    assert Frame("f", "a.py", 0).label() == "f (a.py)"
    assert Frame("f").label() == "f"


def test_frame_keys_numbers_keys_by_first_appearance():
    """frame_keys against the rule spelled out: frame_key per frame, numbered as first seen;
    exact=False matches (name, file, line) and keeps the first key's module and kind."""
    rng = np.random.default_rng(5)
    pick = lambda xs: xs[int(rng.integers(0, len(xs)))]  # noqa: E731
    frames = [Frame(pick(["a", "b", "c"]), pick(["x.py", "y.py", ""]), int(rng.integers(0, 3)),
                    pick(["m", "n", ""]), pick(["python", "native", "unknown"])) for _ in range(400)]
    for by in ("function", "line", "file"):
        for exact in (True, False):
            keys, fk = M.frame_keys(frames, by, exact)
            ident = [M.frame_key(f, by) if exact else (M.frame_key(f, by).name, M.frame_key(f, by).file,
                                                       M.frame_key(f, by).line) for f in frames]
            order = list(dict.fromkeys(ident))
            assert fk.dtype == np.int64 and fk.tolist() == [order.index(t) for t in ident]
            assert keys == [M.frame_key(frames[ident.index(t)], by) for t in order]
    keys, fk = M.frame_keys([], "function")
    assert keys == [] and len(fk) == 0
    with pytest.raises(FlamekitError):
        M.frame_keys(frames, "module")
