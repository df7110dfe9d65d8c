"""Shrink a flame graph to a detail budget before its payload is built (pipeline stage: render).

A report keeps, in every sample type:

1. every call-tree node that holds at least ``min_share`` (default 0.1 %) of
   its thread's total: zooming into any such frame shows its children down to
   that share of the thread, however many threads or frames the profile has;
2. then, up to a budget of ``max_nodes`` kept nodes (default 50,000), the
   heaviest of the other nodes, so small and medium profiles keep far more.

Everything else is merged, per parent, into one ``[other]`` node holding the
exact total of what it replaces (as pyinstrument notes what it resampled and
pprof's ``-nodecount`` trims by a node budget). :class:`PruneInfo` says how many
frames went, what share of each type, and into which ``[other]`` nodes; the
report's notice (:func:`prune_note`) states it and how to keep more.

**The score.** A node's score is, in the type where it is largest, the sum over
threads of its subtree's share of that thread's total (absolute values). It
is at least the node's share of any one thread, so rule 1 keeps every node
that holds ``min_share`` of one of its threads; it never increases from a
parent to a child (absolute values add up the tree), so keeping the highest
scores (ties: lower row first, parents come first) is closed under ancestors;
and at every depth the scores add up to at most (threads × types), so rule 1
keeps at most (threads × types × depth / min_share) nodes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model import Frame, Profile
from ..tree import accumulate_up, prune as prune_table

#: Default share of its thread's total a node needs to be kept whatever the budget (0.1 %).
DEFAULT_MIN_SHARE = 0.001
#: Default detail budget: the most nodes kept beyond those (heaviest first).
DEFAULT_MAX_NODES = 50_000
#: The diff page's pruning width: 0.1 px of a 1200 px graph of the whole total.
DEFAULT_PRUNE = 1.0 / 12000
#: The frame that stands for the merged, pruned children of a node.
OTHER_FRAME = Frame("[other]", "", 0, "flamekit", "unknown")
#: Relative slack of the share test: a node at exactly ``min_share`` stays despite rounding.
_SLACK = 1e-9


@dataclass
class PruneInfo:
    """What :func:`prune` removed.

    ``fraction``: the ``min_share`` rule; ``nodes_before``/``nodes_after``: rows
    of the stack table before and after (after: kept rows, then the ``[other]``
    rows); ``pruned_nodes``: rows merged; ``share``: per sample type, the share
    of the absolute grand total that moved into ``[other]`` rows;
    ``other_frame``: the ``[other]`` frame id in the pruned profile (-1: nothing
    pruned); ``max_nodes``: the budget; ``other_rows``, ``other_children``,
    ``other_nodes``: per ``[other]`` row of the pruned profile, its row, how many
    children of its parent it replaces and how many nodes in all.
    """

    fraction: float
    nodes_before: int
    nodes_after: int
    pruned_nodes: int = 0
    share: list[float] = field(default_factory=list)
    other_frame: int = -1
    max_nodes: int = 0
    other_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    other_children: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    other_nodes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def node_scores(p: Profile, depth: np.ndarray | None = None) -> np.ndarray:
    """Return each stack row's score: max over types of the sum over threads of its
    subtree's share of the thread's total (absolute values; see the module docstring)."""
    n = p.n_stacks
    if n == 0 or p.n_samples == 0 or not p.sample_types:
        return np.zeros(n)
    nt = max(len(p.threads), 1)
    score = None
    for t in range(len(p.sample_types)):  # one type at a time: a few n-long arrays alive
        w = np.abs(p.values[:, t])
        grand = np.bincount(p.sample_thread, weights=w, minlength=nt)
        inv = np.divide(1.0, grand, out=np.zeros(nt), where=grand > 0)
        w *= inv[p.sample_thread]
        self_t = np.bincount(p.sample_stack, weights=w, minlength=n)
        del w
        tot = accumulate_up(p.stack_prefix, self_t, depth)
        del self_t
        if score is None:
            score = tot
        else:
            np.maximum(score, tot, out=score)
        del tot
    return score


def kth_largest(x: np.ndarray, k: int) -> float:
    """Return the ``k``-th largest value of ``x`` (``1 <= k <= len(x)``).

    Narrows a bracket ``[lo, hi]`` around it by counting (geometric steps on
    positive values: scores are heavy-tailed) until at most 2**20 values lie
    inside, then sorts those: ``np.partition`` took seconds on 15M scores with
    many ties; each count here is one pass.
    """
    lo, hi = _sampled_bracket(x, k)
    for _ in range(200):
        inside = np.count_nonzero((x >= lo) & (x <= hi))
        if inside <= 1 << 20 or lo == hi:
            break
        mid = (lo * hi) ** 0.5 if lo > 0 else (lo + hi) / 2 if lo < 0 or hi <= 1e-300 else hi * 1e-6
        if not lo < mid < hi:
            mid = lo + (hi - lo) / 2
            if not lo < mid < hi:
                break
        if np.count_nonzero(x >= mid) >= k:
            lo = mid  # still k values at or above lo
        else:
            hi = mid  # fewer than k values above hi
    above = int(np.count_nonzero(x > hi))
    band = np.sort(x[(x >= lo) & (x <= hi)])
    return float(band[len(band) - (k - above)])


def _sampled_bracket(x: np.ndarray, k: int) -> tuple[float, float]:
    """Return ``[lo, hi]`` holding the ``k``-th largest of ``x``: from the order statistics of
    every 64th value or so when they bracket it tightly (two counting passes check that),
    else ``[min, max]``."""
    n = len(x)
    if n < 1 << 22:
        return float(x.min()), float(x.max())
    step = n >> 18
    s = np.sort(x[::step])
    want = k / step  # the k-th largest of x is about the want-th largest of the sample
    margin = 6 * want ** 0.5 + 16
    lo = float(s[max(len(s) - int(want + margin) - 1, 0)])
    hi = float(s[min(len(s) - int(max(want - margin, 0.0)), len(s) - 1)])
    if np.count_nonzero(x >= lo) >= k and np.count_nonzero(x > hi) < k:
        return lo, hi
    return float(x.min()), float(x.max())


def keep_mask(score: np.ndarray, min_share: float, max_nodes: int) -> np.ndarray:
    """Return the rows to keep: score at least ``min_share``, then the highest other
    positive scores (lower row first on ties) until ``max_nodes`` rows are kept."""
    keep = score >= min_share * (1 - _SLACK)
    room = int(max_nodes) - int(keep.sum())
    if room <= 0:
        return keep
    positive = score > 0
    if int(positive.sum()) <= max_nodes:
        return keep | positive
    v = kth_largest(score, int(max_nodes))  # > 0 here: more positive scores than the budget
    keep |= score > v
    room = int(max_nodes) - int(keep.sum())
    if room > 0:  # ties at v: the lowest rows (a parent before its children)
        keep[np.flatnonzero((score == v) & ~keep)[:room]] = True
    return keep


def prune(p: Profile, min_share: float = DEFAULT_MIN_SHARE,
          max_nodes: int = DEFAULT_MAX_NODES) -> tuple[Profile, PruneInfo]:
    """Merge the nodes outside the detail budget into one ``[other]`` row per parent.

    Keeps every stack row holding at least ``min_share`` of its thread's
    total (in some sample type), then the heaviest others up to ``max_nodes``
    kept rows (see the module docstring). ``min_share <= 0`` keeps everything.
    Samples of a pruned subtree move to the ``[other]`` child of its nearest
    kept ancestor (a root-level ``[other]`` row when there is none), so every
    total is exact. Returns the new profile and a :class:`PruneInfo`.
    """
    n, k = p.n_stacks, len(p.sample_types)
    max_nodes = max(int(max_nodes), 0)
    info = PruneInfo(float(min_share), n, n, 0, [0.0] * k, -1, max_nodes)
    if n == 0 or min_share <= 0 or p.n_samples == 0:
        return p, info
    depth = p.stack_depths()
    keep = keep_mask(node_scores(p, depth), min_share, max_nodes)
    if keep.all():
        return p, info
    pr = prune_table(p.stack_prefix, keep, depth)
    del depth
    n_keep = pr.n_kept
    n_other = len(pr.prefix) - n_keep
    other_fid = len(p.frames)
    new_frame = np.concatenate([p.stack_frame[pr.kept],
                                np.full(n_other, other_fid, dtype=np.int64)])
    new_s = pr.new_rows(p.sample_stack)
    moved = ~keep[p.sample_stack]
    absv = np.abs(p.values)
    grand = absv.sum(axis=0)
    moved_share = absv[moved].sum(axis=0)
    del absv, moved
    info.share = [float(m / g) if g > 0 else 0.0 for m, g in zip(moved_share, grand)]
    info.pruned_nodes = int(n - n_keep)
    info.nodes_after = int(len(pr.prefix))
    info.other_frame = other_fid
    # per [other] row: the children it replaces (cut rows) and all the nodes it holds
    info.other_rows = np.arange(n_keep, n_keep + n_other, dtype=np.int64)
    info.other_children = np.bincount(pr.cut_other - n_keep, minlength=n_other).astype(np.int64)
    info.other_nodes = np.bincount(pr.dest[~keep] - n_keep, minlength=n_other).astype(np.int64)
    q = p.copy(frames=list(p.frames) + [OTHER_FRAME], stack_prefix=pr.prefix,
               stack_frame=new_frame, sample_stack=new_s)
    return q, info


def _count(n: int) -> str:
    return f"{n:,}"


def _pct(x: float) -> str:
    """A percentage with enough digits to be non-zero when ``x`` is."""
    v = 100 * x
    if v == 0 or v >= 1:
        return f"{v:.1f}%"
    return f"{v:.2g}%" if v >= 0.01 else f"{v:.1g}%"


def prune_note(info: PruneInfo, type_names: list[str]) -> str:
    """Return the report's sentence on what :func:`prune` dropped and how to keep more ("" when nothing)."""
    if info.pruned_nodes <= 0:
        return ""
    kept = info.nodes_before - info.pruned_nodes
    shares = ", ".join(f"{_pct(s)} of {name}" for s, name in zip(info.share, type_names))
    rule = f"every frame holding at least {_pct(info.fraction)} of its thread's total"
    if info.max_nodes > 0:
        rule += f", then the heaviest others up to {_count(info.max_nodes)} frames"
    more = [f"--max-nodes {_count(max(info.max_nodes, kept) * 4).replace(',', '')}",
            f"--min-share {info.fraction * 100 / 10:g}"]
    return (f"Showing {_count(kept)} of {_count(info.nodes_before)} call-tree frames: {rule}. "
            f"The other {_count(info.pruned_nodes)} frames ({shares}) are merged into "
            f"{_count(len(info.other_rows))} \u201c[other]\u201d frames, one per parent, with their "
            f"exact totals. To keep more: {' or '.join(more)} (--min-share 0 keeps every frame).")
