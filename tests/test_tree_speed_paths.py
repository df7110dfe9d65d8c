"""The fast paths of the model's tree helpers, hotspots and the folded reader agree with
plain reference implementations (random trees in level order and in depth-first order,
deep chains, recursion, ties, threads, negative values, block boundaries)."""
from __future__ import annotations

import numpy as np
import pytest

from flamekit import model as M
from flamekit import tree
from flamekit.analysis.hotspots import hotspots
from flamekit.formats import folded


# -- references: plain Python loops over prefix[i] < i --------------------------------------
def ref_depths(prefix):
    d = []
    for q in prefix.tolist():
        d.append(1 if q < 0 else d[q] + 1)
    return np.asarray(d)


def ref_up(prefix, v):
    out = np.array(v, dtype=float, copy=True)
    for i in range(len(prefix) - 1, -1, -1):
        if prefix[i] >= 0:
            out[prefix[i]] += out[i]
    return out


def ref_topmost(prefix, key):
    top = []
    for i in range(len(prefix)):
        q, seen = int(prefix[i]), False
        while q >= 0:
            if key[q] == key[i]:
                seen = True
                break
            q = int(prefix[q])
        top.append(not seen)
    return np.asarray(top)


def random_table(rng, n, shape):
    """A valid stack table: 'dfs' (parents usually just before), 'level' (level order), 'chain'."""
    if shape == "chain":
        return np.arange(-1, n - 1)
    prefix = np.full(n, -1)
    for i in range(1, n):
        prefix[i] = i - 1 if rng.random() < 0.5 else rng.integers(-1, i)
    if shape == "level":
        d = ref_depths(prefix)
        order = np.argsort(d, kind="stable")
        inv = np.empty(n, dtype=int)
        inv[order] = np.arange(n)
        prefix = np.where(prefix[order] >= 0, inv[np.maximum(prefix[order], 0)], -1)
    return prefix


@pytest.mark.parametrize("shape", ["dfs", "level", "chain"])
@pytest.mark.parametrize("n", [1, 2, 17, 600, 3000])
def test_tree_helpers_match_reference(shape, n):
    rng = np.random.default_rng(n)
    prefix = random_table(rng, n, shape)
    depth = tree.depths(prefix)
    assert (depth == ref_depths(prefix)).all()
    v = rng.integers(-5, 9, n).astype(float)
    assert np.array_equal(tree.accumulate_up(prefix, v, depth), ref_up(prefix, v))
    v2 = rng.random((n, 3))
    want = np.stack([ref_up(prefix, v2[:, c]) for c in range(3)], axis=1)
    assert np.allclose(tree.accumulate_up(prefix, v2, depth), want)
    down = tree.propagate_down(prefix, v, depth)
    assert all(down[i] == v[i] + (down[prefix[i]] if prefix[i] >= 0 else 0) for i in range(n))
    for nkeys in (1, 3, 50):
        key = rng.integers(0, nkeys, n)
        assert (tree.topmost(prefix, key, depth) == ref_topmost(prefix, key)).all()


def test_depths_pointer_jumping_fallback():
    # a depth-first table with many tiny blocks takes the pointer-jumping path
    prefix = np.array([-1] + [i - 1 if i % 2 else i - 2 for i in range(1, 5001)])
    prefix = np.minimum(prefix, np.arange(len(prefix)) - 1)
    assert (tree.depths(prefix) == ref_depths(prefix)).all()


def test_check_finds_duplicate_rows():
    p = M.Profile(frames=[M.Frame("a"), M.Frame("b")], stack_prefix=[-1, 0, 0],
                  stack_frame=[0, 1, 1], sample_stack=[1, 2], values=[1.0, 1.0],
                  sample_types=[M.SampleType("cpu", "samples")])
    with pytest.raises(M.ModelError, match="duplicate"):
        p.check()


# -- hotspots: the top-n fast path against the full function table ------------------------
def random_profile(seed, nsamp, nframes, maxdepth, neg=False, threads=1, deep=False):
    r = np.random.default_rng(seed)
    b = M.ProfileBuilder([M.SampleType("cpu", "samples"), M.SampleType("wall", "ns")])
    fids = [b.frame(f"f{i % 5}", f"m{i % 3}.py", i, kind="python") for i in range(nframes)]
    ths = [b.thread(t) for t in range(threads)]
    for _ in range(nsamp):
        d = int(r.integers(300, 400)) if deep else int(r.integers(1, maxdepth))
        st = b.stack([fids[int(x)] for x in r.integers(0, nframes, d)])
        b.add(st, (float(r.integers(-3 if neg else 0, 5)), float(r.integers(0, 3))),
              ths[int(r.integers(0, threads))])
    return b.build()


def reference_hotspots(p, st, n, thread):
    """What hotspots() meant before the fast path: the function table's top n, heaviest row."""
    df = M.functions(p, st, by="function", thread=thread)
    df = df[df["self"] != 0].head(n)
    tree = M.call_tree(p, st, thread)
    keys = [M.frame_key(f, "function") for f in p.frames]
    out = []
    for r in df.itertuples(index=False):
        k = M.Frame(r.name, r.file, 0, r.module, r.kind)
        rows = [i for i in range(p.n_stacks) if keys[p.stack_frame[i]] == k]
        best = min(rows, key=lambda i: (-abs(tree.self_[i]), -abs(tree.total[i]), i))
        out.append((r.name, r.file, p.frames[p.stack_frame[best]].line, r.self, r.total,
                    r.self_pct, r.total_pct, tuple(p.stack_frames(best))))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_hotspots_match_function_table(seed):
    r = np.random.default_rng(seed)
    deep = seed % 13 == 0
    p = random_profile(seed, int(r.integers(1, 8 if deep else 150)), int(r.integers(1, 30)),
                       int(r.integers(2, 12)),
                       neg=seed % 5 == 0, threads=1 + seed % 3, deep=deep)
    for st in (0, 1):
        for n in (1, 4, 20):
            for thread in (None, 0):
                got = [(h.name, h.file, h.line, h.self, h.total, h.self_pct, h.total_pct,
                        tuple(p.frames.index(f) for f in h.path))
                       for h in hotspots(p, st, n=n, thread=thread)]
                want = reference_hotspots(p, st, n, thread)
                assert len(got) == len(want)
                for g, w in zip(got, want):
                    assert g[:3] == w[:3] and g[7] == w[7]
                    assert np.allclose(g[3:7], w[3:7])


def test_hotspots_many_ties_use_the_table():
    b = M.ProfileBuilder([M.SampleType("cpu", "samples")])
    root = b.frame("main", "m.py", 1)
    for i in range(400):  # 400 functions with the same self value
        b.add(b.stack([root, b.frame(f"f{i}", "m.py", i + 2)]), 1.0)
    hs = hotspots(b.build(), n=5)
    assert [h.name for h in hs] == ["f0", "f1", "f10", "f100", "f101"]  # ties: by name
    assert all(h.self == 1 and h.total == 1 for h in hs)


# -- folded reader: block boundaries anywhere give the same profile -----------------------
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 64])
def test_folded_block_boundaries(tmp_path, monkeypatch, chunk):
    text = (b"main (a.py:1);work (a.py:2) 3\r\nmain (a.py:1);idle 2\rmain;x\\x3by 1\n"
            b"# comment\n\nthread (7): T;main (a.py:1) 4\r\nmain (a.py:1);work (a.py:2) 1.5\n"
            b"main 7")
    src = tmp_path / "a.folded"
    src.write_bytes(text)
    want = folded.load(src)
    monkeypatch.setattr(folded, "CHUNK", chunk)
    assert folded.load(src) == want
    assert want.totals().tolist() == [18.5] and want.meta["warnings"]


# -- tree.py: the loop and the level strategies build the same tries ---------------------
def _paths_of(prefix, frame):
    """Every row as its tuple of frames, root first (order-free view of a trie)."""
    out = []
    for i in range(len(prefix)):
        out.append((out[prefix[i]] if prefix[i] >= 0 else ()) + (int(frame[i]),))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_from_paths_and_merge_agree_across_strategies(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = 60 if seed % 2 else 8000  # few paths: all walked by the loop; many: only the deep tail
    paths = [rng.integers(0, 4, int(rng.integers(1, 30))).tolist() for _ in range(n)]
    paths += [[1] * 400, [1] * 300 + [2]]  # deep and narrow
    flat = np.array([f for p in paths for f in p])
    lengths = np.array([len(p) for p in paths])
    got = {}
    for limit in (tree.LOOP_DEPTH, 10**6):  # default (loops for the deep tail), levels only
        monkeypatch.setattr(tree, "LOOP_DEPTH", limit)
        prefix, frame, leaf = tree.from_paths(flat, lengths)
        assert (prefix < np.arange(len(prefix))).all()
        rows = _paths_of(prefix, frame)
        assert len(set(rows)) == len(rows)  # a trie: no duplicate rows
        assert [rows[x] for x in leaf] == [tuple(p) for p in paths]
        # merging the table with itself (keys mapped 0..3 -> 0..1) re-interns it
        keys = frame % 2
        up, uk, o2n, d = tree.merge([(prefix, keys, tree.depths(prefix))] * 2, 2)
        assert (d == tree.depths(up)).all() and (o2n[0] == o2n[1]).all()
        merged = _paths_of(up, uk)
        assert [merged[x] for x in o2n[0]] == [tuple(k % 2 for k in r) for r in rows]
        got[limit] = (sorted(rows), sorted(merged))
    assert got[tree.LOOP_DEPTH] == got[10**6]


def test_prune_moves_each_pruned_subtree_to_its_parents_other_row():
    #        0
    #      1   2        keep 0, 1, 3: rows 2, 4 (under 0) and 5 (under 1) are cut
    #    3  5  4
    prefix = np.array([-1, 0, 0, 1, 2, 1, -1])  # row 6: a second root, pruned too
    keep = np.array([True, True, False, True, False, False, False])
    pr = tree.prune(prefix, keep)
    assert pr.kept.tolist() == [0, 1, 3]
    assert pr.prefix.tolist() == [-1, 0, 1, -1, 0, 1]  # kept, then [other] of: roots, 0, 1
    assert pr.cut.tolist() == [False, False, True, False, False, True, True]
    assert pr.new_rows(np.arange(7)).tolist() == [0, 1, 4, 2, 4, 5, 3]


def test_one_rule_decides_the_loop():
    assert not tree.loop_is_faster(tree.LOOP_DEPTH, 10)  # shallow: numpy passes
    assert tree.loop_is_faster(tree.LOOP_DEPTH + 1, 1000)  # deep and narrow: the loop
    assert not tree.loop_is_faster(1000, tree.LOOP_DEPTH * 1000 + 1)  # deep but wide
