"""The flame graph's detail budget (issue 11, Report): what is kept, what is merged, and the notice.

A generated 50k-stack, three-thread profile (fixed seed) is checked against
ground truth computed here in plain Python from its paths: every call-tree node
holding at least 0.1 % of its thread's total is in the payload with its exact
per-thread totals, each ``[other]`` node holds exactly what it replaces, and the
dropped share, counts and notice agree with that truth.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from flamekit.model import Frame, SampleType, Thread
from flamekit.model.builder import StackPaths
from flamekit.render.payload import build_payload, decode
from flamekit.render.prune import keep_mask, prune, prune_note

SHARE = 0.001
N_STACKS = 50_000


def budget_paths(n_stacks: int = N_STACKS, seed: int = 11) -> tuple[list[list[str]], list[int], list[int]]:
    """Return (paths of names, weights, thread index) of a heavy-tailed three-thread profile.

    Threads: 0 "MainThread" (most samples), 1 "worker", 2 "tiny" (about 3 % of the
    samples, 1 a stack: its frames are narrow in the merged graph, below what a
    share of the whole keeps, but count against the thread's own total). "tiny" has a
    planted frame ``target`` under ``t2_f0_0`` holding 0.2 % of the thread, with children
    ``child_a`` (0.12 %) and ``child_b`` (0.08 %, over ``leaf_j`` children of 1 sample).
    """
    rng = np.random.default_rng(seed)
    thread = rng.choice(3, size=n_stacks, p=[0.6, 0.3, 0.1]).tolist()
    depth = rng.integers(3, 13, size=n_stacks).tolist()
    weight = np.floor(rng.pareto(1.3, size=n_stacks) + 1).astype(int)
    weight[np.asarray(thread) == 2] = 1  # the tiny thread: 1 a stack
    fan = np.array([5, 40, 300] + [3000] * 9)  # narrower choices near the roots: shared prefixes
    pick = (rng.random((n_stacks, 12)) * fan).astype(int).tolist()
    paths = [[f"t{thread[i]}_f0_{pick[i][0]}"] + [f"f{d}_{pick[i][d]}" for d in range(1, depth[i])]
             for i in range(n_stacks)]
    w = weight.tolist()
    tiny = sum(x for x, t in zip(w, thread) if t == 2)
    x = round(0.002 * tiny / 0.998)  # target = 0.2 % of the final "tiny" total
    a = round(0.6 * x)
    paths.append(["t2_f0_0", "target", "child_a"])
    w.append(a)
    thread.append(2)
    for j in range(x - a):
        paths.append(["t2_f0_0", "target", "child_b", f"leaf_{j}"])
        w.append(1)
        thread.append(2)
    return paths, w, thread


def to_stack_paths(paths: list[list[str]], weights: list[int], thread: list[int]) -> StackPaths:
    """Build the profile's root-first paths (what a folded importer produces)."""
    ids: dict[str, int] = {}
    flat = [ids.setdefault(n, len(ids)) for p in paths for n in p]
    frames = [Frame(n, f"{n.split('_')[0]}.py", 0, "", "python") for n in ids]
    return StackPaths(frames, np.asarray(flat, dtype=np.int32),
                      np.asarray([len(p) for p in paths], dtype=np.int64),
                      np.asarray(weights, dtype=np.float64).reshape(-1, 1),
                      (SampleType("cpu", "samples"),), np.asarray(thread, dtype=np.int64),
                      (Thread(1, "MainThread"), Thread(2, "worker"), Thread(3, "tiny")))


class Truth:
    """The call tree of the paths in plain Python: node ids root first (a trie of names),
    each node's total per thread, its children, its subtree size, each thread's total."""

    def __init__(self, paths, weights, thread) -> None:
        self.ids: dict[tuple[int, str], int] = {}
        self.parent: list[int] = []
        tot: list[list[float]] = []
        self_w: list[float] = []
        self.grand = [0.0, 0.0, 0.0]
        for pth, w, t in zip(paths, weights, thread):
            self.grand[t] += w
            node = -1
            for name in pth:
                key = (node, name)
                nxt = self.ids.get(key)
                if nxt is None:
                    nxt = self.ids[key] = len(self.parent)
                    self.parent.append(node)
                    tot.append([0.0, 0.0, 0.0])
                    self_w.append(0.0)
                node = nxt
                tot[node][t] += w
            self_w[node] += w
        self.tot, self.self_w = tot, self_w
        self.children: dict[int, list[int]] = defaultdict(list)
        for i, par in enumerate(self.parent):
            self.children[par].append(i)
        self.size = [1] * len(self.parent)
        for i in range(len(self.parent) - 1, -1, -1):
            if self.parent[i] >= 0:
                self.size[self.parent[i]] += self.size[i]

    def score(self, i: int) -> float:
        """Sum over threads of the node's share of the thread (the pruning score)."""
        return sum(x / g for x, g in zip(self.tot[i], self.grand) if g)

    def node(self, *names: str) -> int:
        """Return the node of a root-first path of names."""
        node = -1
        for name in names:
            node = self.ids[(node, name)]
        return node


@pytest.fixture(scope="module")
def case():
    paths, w, th = budget_paths()
    profile = to_stack_paths(paths, w, th).to_profile()
    return profile, Truth(paths, w, th)


def truth_ids(payload: dict, t: Truth) -> list[int]:
    """Each payload node's truth node (-1 for an [other] node)."""
    dec = decode(payload)
    other = set(payload["pruned"]["other"]["node"])
    out: list[int] = []
    for i, (par, name) in enumerate(zip(dec.parent.tolist(), dec.node_names())):
        out.append(-1 if i in other else t.ids[(out[par] if par >= 0 else -1, name)])
    return out


@pytest.mark.parametrize("max_nodes", [0, 20_000])
def test_every_node_of_a_thread_share_is_kept_and_other_adds_up(case, max_nodes):
    p, t = case
    n = len(t.parent)
    assert p.n_stacks == n > 50_000
    payload, info = build_payload(p, prune_fraction=SHARE, max_nodes=max_nodes)
    dec = decode(payload)
    tid = truth_ids(payload, t)
    kept = {i for i in tid if i >= 0}
    assert len(kept) == len(tid) - len(payload["pruned"]["other"]["node"])
    # 1. every node with >= 0.1 % of one of its threads is there; the tiny thread's too
    must = {i for i in range(n) if any(x >= SHARE * g for x, g in zip(t.tot[i], t.grand))}
    assert must <= kept
    assert any(t.tot[i][2] and not t.tot[i][0] for i in must)
    assert t.node("t2_f0_0", "target", "child_a") in kept  # 0.12 % of "tiny"
    # 2. without a budget nothing else is kept (the score rule: sum over threads of the shares);
    #    with one, exactly max_nodes, the heaviest (no dropped node outscores a kept one)
    if max_nodes == 0:
        assert kept == {i for i in range(n) if t.score(i) >= SHARE * (1 - 1e-9)}
    else:
        assert len(kept) == max_nodes
        assert max(t.score(i) for i in range(n) if i not in kept) <= min(t.score(i) for i in kept)
    # 3. kept nodes carry their exact per-thread totals
    views = [dec.view(0, th)[1] for th in range(3)]
    for i, j in enumerate(tid):
        if j >= 0:
            assert [v[i] for v in views] == t.tot[j]
    # 4. each [other] holds exactly the pruned children of its parent (and says how many)
    other = payload["pruned"]["other"]
    n_dropped = 0
    for node, n_kids, n_frames in zip(other["node"], other["children"], other["frames"]):
        par = dec.parent[node]
        gone = [c for c in t.children[tid[par] if par >= 0 else -1] if c not in kept]
        assert n_kids == len(gone) > 0
        assert n_frames == sum(t.size[c] for c in gone)
        assert [v[node] for v in views] == [sum(t.tot[c][th] for c in gone) for th in range(3)]
        n_dropped += n_frames
    assert n_dropped == info.pruned_nodes == n - len(kept)
    # 5. the dropped share of the samples (a sample moves when its own stack's node was
    #    dropped) and every thread's total are exact
    moved = sum(x for i, x in enumerate(t.self_w) if i not in kept)
    assert info.share[0] == pytest.approx(moved / sum(t.grand), rel=1e-12)
    assert [float(v[dec.parent < 0].sum()) for v in views] == t.grand


def test_the_notice_states_what_was_dropped_and_how_to_keep_more(case):
    p, t = case
    _, info = prune(p, SHARE, 20_000)
    note = prune_note(info, ["cpu"])
    share = f"{100 * info.share[0]:.1f}%"
    assert note == (
        f"Showing 20,000 of {len(t.parent):,} call-tree frames: every frame holding at least 0.1% "
        "of its thread's total, then the heaviest others up to 20,000 frames. The other "
        f"{len(t.parent) - 20_000:,} frames ({share} of cpu) are merged into "
        f"{len(info.other_rows):,} \u201c[other]\u201d frames, one per parent, with their exact "
        "totals. To keep more: --max-nodes 80000 or --min-share 0.01 (--min-share 0 keeps every frame).")
    assert prune_note(prune(p, 0)[1], ["cpu"]) == ""


def test_keep_mask_ties_and_edges():
    # a chain of equal scores: the budget keeps the first rows (parents before children)
    s = np.array([1.0, 0.5, 0.5, 0.5, 0.0])
    assert keep_mask(s, 0.9, 3).tolist() == [True, True, True, False, False]
    assert keep_mask(s, 0.9, 0).tolist() == [True, False, False, False, False]
    # zero scores are never spent budget on; min_share keeps past the budget
    assert keep_mask(s, 0.9, 10).tolist() == [True, True, True, True, False]
    assert keep_mask(s, 0.5, 1).tolist() == [True, True, True, True, False]


def test_several_inputs_share_the_budget_and_keep_their_other_counts():
    """Two inputs as labelled roots: each pruned on its own half of the budget; every
    ``[other]`` node of the merged page still says what it merges."""
    from flamekit.analysis.report import report_inputs
    from flamekit.render.html import report_json

    paths, w, th = budget_paths()
    half = [[i for i in range(len(paths)) if i % 2 == k] for k in (0, 1)]
    profiles = [to_stack_paths([paths[i] for i in ix], [w[i] for i in ix], [th[i] for i in ix]).to_profile()
                for ix in half]
    data = report_inputs(profiles, ["even", "odd"])
    doc = report_json(data, title="two", prune_fraction=SHARE, max_nodes=20_000)
    payload = doc["payload"]
    dec = decode(payload)
    names = dec.node_names()
    other = payload["pruned"]["other"]
    solo = [prune(d.flame, SHARE, 10_000)[1] for d in data.parts]
    assert payload["pruned"]["nodes"] == sum(i.pruned_nodes for i in solo) > 0
    kept = len(names) - len(other["node"])
    assert kept <= 20_000 + 2 + sum(1 for n in names if n in ("even", "odd"))
    # every drawn [other] node is listed with its counts, and the counts are the inputs' own
    total = dec.view()[1]
    drawn = {i for i, n in enumerate(names) if n == "[other]" and total[i] != 0}
    assert set(other["node"]) == drawn
    assert sorted(other["frames"]) == sorted(x for i in solo for x in i.other_nodes.tolist())
    assert sum(other["frames"]) == payload["pruned"]["nodes"]
