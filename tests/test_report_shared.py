"""What a report computes once and shares (depths, each row's function, the shown type's call
tree) gives what each part computed alone gives, and the per-line figures match plain-Python
ground truth on small random profiles (exact and, as above 500k rows, approximate totals)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flamekit import model as M
from flamekit.analysis import source
from flamekit.analysis.hotspots import hotspots, row_functions
from flamekit.analysis.report import first_lines, report_data

TYPES = [M.SampleType("cpu", "samples"), M.SampleType("wall", "seconds")]


@st.composite
def profiles(draw):
    """Random profiles: functions seen at several lines, direct and indirect recursion,
    negative and fractional values, two sample types."""
    nfuncs = draw(st.integers(1, 4))
    b = M.ProfileBuilder(TYPES)
    frames = [b.frame(f"f{draw(st.integers(0, nfuncs - 1))}", "m.py", draw(st.integers(0, 4)),
                      kind="python") for _ in range(draw(st.integers(1, 8)))]
    for _ in range(draw(st.integers(1, 25))):
        path = draw(st.lists(st.sampled_from(frames), min_size=1, max_size=7))
        b.add(b.stack(path), (float(draw(st.integers(-2, 6))), draw(st.sampled_from([0.0, 0.25, 1.5]))))
    return b.build()


def ref_depths(prefix):
    """Depths by walking up from each row to a row of known depth (the root's parent: 0)."""
    known = {-1: 0}
    for i in range(len(prefix)):
        path, q = [], i
        while q not in known:
            path.append(q)
            q = int(prefix[q])
        for r in reversed(path):
            known[r] = known[q] + 1
            q = r
    return np.asarray([known[i] for i in range(len(prefix))])


def ref_lines(p, exact):
    """Per (function, line): self and total, by walking every sample's stack in plain Python."""
    fn = {i: (f.name, f.file, f.module, f.kind) for i, f in enumerate(p.frames)}
    self_, total = {}, {}
    for s, v in zip(p.sample_stack.tolist(), p.values.tolist()):
        path = p.stack_frames(s)
        leaf = (fn[path[-1]], max(p.frames[path[-1]].line, 0))
        self_[leaf] = [a + b for a, b in zip(self_.get(leaf, [0.0] * len(v)), v)]
        seen = set()
        for i, f in enumerate(path):
            key = fn[f]
            outer = key not in seen if exact else (i == 0 or fn[path[i - 1]] != key)
            seen.add(key)
            if outer:
                at = (key, max(p.frames[f].line, 0))
                total[at] = [a + b for a, b in zip(total.get(at, [0.0] * len(v)), v)]
    return self_, total


def got_lines(ld, t):
    out_self, out_total = {}, {}
    for fl in ld.functions:
        key = (fl.function.name, fl.function.file, fl.function.module, fl.function.kind)
        for j, ln in enumerate(fl.lines):
            out_self[(key, ln)] = fl.self[t, j]
            out_total[(key, ln)] = fl.total[t, j]
    return out_self, out_total


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles(), st.booleans())
def test_line_figures_match_plain_python(p, exact):
    if not exact:
        old, source.EXACT_ROWS = source.EXACT_ROWS, 0  # the approximate rule of large tables
    try:
        plain = source.line_data(p, source=False, max_functions=100)
        shared = source.line_data(p, source=False, max_functions=100,
                                  trees={0: M.call_tree(p, 0), 1: M.call_tree(p, 1)},
                                  functions_of_rows=row_functions(p))
    finally:
        if not exact:
            source.EXACT_ROWS = old
    assert plain.approximate == (not exact) or not any(f.line for f in p.frames)
    want_self, want_total = ref_lines(p, exact)
    for ld in (plain, shared):
        for t in range(2):
            got_self, got_total = got_lines(ld, t)
            for k, v in got_self.items():  # every listed line's figures are exact
                assert v == pytest.approx(want_self.get(k, [0.0, 0.0])[t])
                assert got_total[k] == pytest.approx(want_total.get(k, [0.0, 0.0])[t])
        for fl in ld.functions:  # each listed function shows every line with a figure
            key = (fl.function.name, fl.function.file, fl.function.module, fl.function.kind)
            want = {ln for (k, ln) in set(want_self) | set(want_total) if k == key and
                    any(want_self.get((k, ln), [0.0, 0.0])) or any(want_total.get((k, ln), [0.0, 0.0]))
                    and k == key}
            assert fl.lines == sorted(want)
    # sharing changes nothing: the same numbers in the same order
    assert [(f.function, f.lines) for f in plain.functions] == \
        [(f.function, f.lines) for f in shared.functions]
    for a, b in zip(plain.functions, shared.functions):
        assert np.array_equal(a.self, b.self) and np.array_equal(a.total, b.total)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles())
def test_hotspots_with_a_shared_tree_are_the_same(p):
    for t in range(2):
        assert hotspots(p, t, n=3, tree=M.call_tree(p, t), functions_of_rows=row_functions(p)) \
            == hotspots(p, t, n=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles())
def test_depths_are_computed_once_and_follow_the_table(p):
    d = p.stack_depths()
    assert np.array_equal(d, ref_depths(p.stack_prefix))
    assert p.stack_depths() is d and not d.flags.writeable
    assert p.copy(meta={"x": 1}).stack_depths() is d  # the same table: the same depths
    q = M.group(p, "function")  # depths known from the re-interning
    assert np.array_equal(q.stack_depths(), ref_depths(q.stack_prefix))
    p.forget_depths()
    again = p.stack_depths()
    assert again is not d and np.array_equal(again, d)
    other = p.copy(stack_prefix=np.full(p.n_stacks, -1), stack_frame=np.arange(p.n_stacks) % len(p.frames))
    assert np.array_equal(other.stack_depths(), np.ones(p.n_stacks))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles())
def test_report_data_shares_without_changing_a_figure(p):
    d = report_data(p)
    assert d.hotspots == [hotspots(p, t, n=15) for t in range(2)]
    alone = source.line_data(p, sample_type=d.default_type)
    assert [(f.function, f.lines) for f in d.lines.functions] == \
        [(f.function, f.lines) for f in alone.functions]
    for a, b in zip(d.lines.functions, alone.functions):
        assert np.array_equal(a.self, b.self) and np.array_equal(a.total, b.total)
    if any(f.line for f in p.frames):
        assert d.flame == first_lines(p, M.group(p, "function"))


def test_kth_largest_from_a_sampled_bracket_is_exact():
    # above 4M scores the bracket comes from every 64th value or so; the answer must not change
    from flamekit.render.prune import kth_largest

    rng = np.random.default_rng(7)
    heavy = rng.pareto(1.5, 1 << 22)
    ties = np.repeat(rng.random(512), 1 << 13)
    zeros = np.r_[np.zeros(1 << 22), rng.random(1000)]
    for x in (heavy, ties, zeros, heavy[::-1].copy()):
        desc = np.sort(x)[::-1]
        for k in (1, 37, 50_000, 300_000, len(x)):
            assert kth_largest(x, k) == desc[k - 1]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=120), st.integers(1, 5),
       st.lists(st.integers(0, 6), min_size=1, max_size=70))
def test_topmost_of_a_few_keys_matches_plain_python(parents, nkeys, wanted):
    from flamekit import tree

    prefix = np.asarray([-1] + [min(q, i) - 1 if q % 3 else -1 for i, q in enumerate(parents)])
    key = np.asarray([(i * 7 + q) % nkeys for i, q in enumerate(prefix.tolist())])
    keys = np.unique(np.asarray(wanted) % (nkeys + 1))  # some keys never occur; >16 and >64 bits
    keys = np.unique(np.r_[keys, np.arange(0, 70 * (len(wanted) > 40), 1)])
    got = tree.topmost(prefix, key, keys=keys)
    for i in range(len(prefix)):
        q, seen = int(prefix[i]), False
        while q >= 0:
            seen |= bool(key[q] == key[i])
            q = int(prefix[q])
        assert got[i] == (key[i] in keys and not seen)


def test_check_finds_a_forward_prefix_in_any_block():
    # check() tests the prefix column in blocks of 2**20 rows: a bad row in a later block
    n = (1 << 20) + 5000
    for bad_row, bad_prefix in ((n - 3, n - 3), ((1 << 20) + 1, n - 1), (7, -2)):
        prefix = np.arange(-1, n - 1)
        prefix[bad_row] = bad_prefix
        p = M.Profile(frames=[M.Frame("a")], stack_prefix=prefix, stack_frame=np.zeros(n, dtype=np.int64),
                      sample_stack=[n - 1], values=[1.0], sample_types=[TYPES[0]])
        with pytest.raises(M.ModelError, match="topologically"):
            p.check(trie=False)
    ok = M.Profile(frames=[M.Frame("a")], stack_prefix=np.arange(-1, n - 1),
                   stack_frame=np.zeros(n, dtype=np.int64), sample_stack=[n - 1], values=[1.0],
                   sample_types=[TYPES[0]])
    assert ok.check() is ok


@pytest.mark.parametrize("n", [1023, 1024, 1025, 2049, 4096 + 17])
def test_depths_at_the_block_edges_of_the_running_maximum(n):
    # tree.depths finds each level's end from running maxima of 1024-row blocks
    from flamekit import tree

    rng = np.random.default_rng(n)
    for roots in (0.0, 0.02, 0.5):
        prefix = np.full(n, -1)
        for i in range(1, n):
            prefix[i] = -1 if rng.random() < roots else (i - 1 if rng.random() < 0.5 else rng.integers(-1, i))
        d = ref_depths(prefix)
        order = np.argsort(d, kind="stable")  # the same tree in level order (one block a level)
        inv = np.empty(n, dtype=np.int64)
        inv[order] = np.arange(n)
        level = np.where(prefix[order] >= 0, inv[np.maximum(prefix[order], 0)], -1)
        for pr in (prefix, level, np.arange(-1, n - 1)):
            assert np.array_equal(tree.depths(pr), ref_depths(pr))
