"""Run preparation (pipeline stage: analysis): one profile reduced to what a diff needs.

:func:`prepare_run` (a profile) and :func:`prepare_paths` (a folded file read
as root-first paths) make a :class:`PreparedRun`: the run's call tree keyed by
function (or line, or file), with self, subtree totals and per-key figures
(recursion-safe totals: :func:`flamekit.tree.topmost`). Runs are prepared
independently, in the process that loaded them
(:mod:`flamekit.analysis.diff.inputs`), so :func:`~flamekit.analysis.diff.diff`
itself only joins keys and tests.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ... import tree
from ...errors import FlamekitError, UsageError
from ...model import (Frame, Profile, SampleType, StackPaths, duration, frame_keys,
                      meta_duration, type_index)
from ..normalize import normalize_frames, normalize_profile
from ..uncertainty import column_samples
from .result import BY_CHOICES, RunInfo


def run_git(meta: dict) -> dict[str, str] | None:
    """Return ``{"commit", "ref"}`` of a run from its meta (``compare`` or ``git_commit``), or None."""
    c = meta.get("compare")
    if isinstance(c, dict) and c.get("commit"):
        return {"commit": str(c["commit"]), "ref": str(c.get("ref") or "")}
    if meta.get("git_commit"):
        return {"commit": str(meta["git_commit"]), "ref": str(meta.get("git_ref") or "")}
    return None


#: A run keeps at most this many of its import warnings' texts (and counts them all).
MAX_RUN_WARNINGS = 50


def run_warnings(meta: dict) -> tuple[list[str], int]:
    """Return a run's import warnings (``meta["warnings"]``, the first :data:`MAX_RUN_WARNINGS`
    as strings) and how many it has."""
    w = meta.get("warnings")
    if isinstance(w, str):
        w = [w]
    if not isinstance(w, (list, tuple)):
        return [], 0
    return [str(x) for x in w[:MAX_RUN_WARNINGS]], len(w)


def run_behind(meta: dict) -> float | None:
    """Return how many seconds py-spy said it fell behind (``meta["sampling_behind_s"]``), or None."""
    try:
        s = float(meta.get("sampling_behind_s") or 0.0)
    except (TypeError, ValueError):
        return None
    return s if math.isfinite(s) and s > 0 else None


def run_allocator(meta: dict) -> str:
    """Return memray's Python allocator of a run (see :attr:`RunInfo.python_allocator`)."""
    a = meta.get("python_allocator")
    if not isinstance(a, str) or meta.get("format") != "memray":
        return ""
    return f"{a} (traced)" if a == "pymalloc" and meta.get("trace_python_allocators") else a


#: A profile's duration in seconds (the model's one accessor: metadata, else sample times).
run_duration = duration


def effective_samples(p: Profile, k: int) -> float:
    """Return how many independent-ish samples a profile's column ``k`` is made of.

    Count units (``samples``, ``count``...): the total. Time units with a known
    sampling rate (``meta['rate']`` in Hz): total seconds times the rate.
    Otherwise the number of sample rows with a non-zero value (a lower bound
    when the importer aggregated rows).
    """
    return column_samples(p.sample_types[k], p.values[:, k] if p.n_samples else np.zeros(0), p.meta)


#: Within-run dispersion (:func:`~flamekit.analysis.diff.stats.within_dispersion`):
#: time blocks per run, and the fewest ordered samples per block.
BLOCKS = 20
_BLOCK_MIN = 10


def _ordered_samples(p: Profile, k: int = 0) -> np.ndarray | None:
    """Return the rows of ``p`` in time order when they are single samples, else None.

    Rows are single samples in time order when they carry times, or when every
    row has the same value and stacks repeat across rows (a sampled speedscope
    profile, say); aggregated inputs (folded, pprof: one row per distinct stack
    with its count) do not qualify.
    """
    n = p.n_samples
    if n < BLOCKS * _BLOCK_MIN:
        return None
    if p.sample_time is not None:
        return np.argsort(p.sample_time, kind="stable")
    v = p.values[:, k]
    if float(v.min()) != float(v.max()) or len(np.unique(p.sample_stack)) * 4 > n:
        return None
    return np.arange(n)


def _block_counts(p: Profile, k: int, node_key: np.ndarray, nk: int
                  ) -> tuple[np.ndarray | None, int]:
    """Return one run's self sample counts per time block and local key, and the block size.

    ``(None, 0)`` when the run's rows are not ordered single samples (see
    :func:`_ordered_samples`). The first ``BLOCKS * m`` ordered samples are cut
    into ``BLOCKS`` blocks of ``m``; ``k`` is the value column, ``node_key`` the local
    key of each stack row.
    """
    order = _ordered_samples(p, k)
    if order is None or not len(node_key) or nk == 0:
        return None, 0
    sk = node_key[p.sample_stack[order]]
    m = len(sk) // BLOCKS
    if m == 0:
        return None, 0
    sk = sk[: m * BLOCKS]
    blk = np.repeat(np.arange(BLOCKS, dtype=np.int64), m)
    counts = np.bincount(blk * nk + sk, minlength=BLOCKS * nk).astype(np.float64)
    return counts.reshape(BLOCKS, nk), m


# ---------------------------------------------------------------------------
# Prepared runs: one profile reduced to a call tree keyed by function
# ---------------------------------------------------------------------------
@dataclass
class PreparedRun:
    """One profile reduced to what a diff needs (made by :func:`prepare_run`).

    Everything is keyed by the run's own function keys (``keys[i]`` is local
    key ``i``: ``(name, file, line, module, kind)``, distinct by name, file and
    line), so runs are prepared independently (the CLI prepares each one in the
    process that loaded it, side by side) and :func:`diff` only unifies the keys
    and, for the flame graph, merges the keyed call trees.

    The call tree has one row per distinct path of keys: ``prefix`` (parent
    row, -1 at a root, ``prefix[i] < i``), ``key`` (local key), ``depth`` (root
    = 1), ``self_`` and ``total`` (subtree) values. ``key_self`` and
    ``key_total`` are per local key, the total counting recursion once.
    ``blocks`` holds self sample counts per time block (``[BLOCKS, len(keys)]``,
    ``block_size`` samples per block) for the within-run dispersion, or None.
    """

    info: RunInfo
    sample_type: SampleType
    by: str
    normalized: bool
    changed: dict[str, int]
    keys: list[tuple[str, str, int, str, str]]
    prefix: np.ndarray
    key: np.ndarray
    depth: np.ndarray
    self_: np.ndarray
    total: np.ndarray
    key_self: np.ndarray
    key_total: np.ndarray
    blocks: np.ndarray | None = None
    block_size: int = 0


def _frame_keys(frames: Sequence[Frame], by: str
                ) -> tuple[list[tuple[str, str, int, str, str]], np.ndarray]:
    """Return the local key table (distinct by name, file and line) and each frame's key."""
    keys, fk = frame_keys(frames, by, exact=False)
    return [(k.name, k.file, k.line, k.module, k.kind) for k in keys], fk


def prepare_run(p: Profile, *, by: str = "function", normalize: bool = True,
                sample_type: str | None = None, source: str = "profile") -> PreparedRun:
    """Reduce one profile to a :class:`PreparedRun` for :func:`diff`.

    Picks the sample type (``None``: the first), applies the name rules
    (``normalize``), maps frames to keys (``by``), merges the stack table into
    a call tree keyed by those keys (one hash factorization per depth level;
    merging by function also merges a function's different lines), and computes
    self, subtree totals and per-key figures (recursion-safe totals from
    :func:`flamekit.tree.topmost`). Raises :class:`UsageError` for an unknown
    ``by`` or a missing sample type.
    """
    if not isinstance(p, Profile):
        raise UsageError(f"{source}: expected a Profile, got {type(p).__name__}")
    k, st = _pick_type(p.sample_types, sample_type, source, by)
    if normalize:
        p, changed = normalize_profile(p)
    else:
        changed = {}
    values = p.values[:, k] if p.n_samples else np.zeros(0)
    info = RunInfo(source, float(values.sum()), column_samples(st, values, p.meta), run_duration(p),
                   sum(changed.values()), run_git(p.meta), run_allocator(p.meta),
                   *run_warnings(p.meta), run_behind(p.meta))
    keys, fk = _frame_keys(p.frames, by)
    if not p.n_stacks:
        return _finish(info, st, by, normalize, changed, keys, None, values)
    node_key = fk[p.stack_frame]
    depth = tree.depths(p.stack_prefix)
    prefix, key, o2n, cdepth = tree.merge([(p.stack_prefix, node_key, depth)], len(keys),
                                          sort=True)
    self_ = (np.bincount(o2n[0][p.sample_stack], weights=values, minlength=len(prefix))
             if p.n_samples else np.zeros(len(prefix)))
    blocks, m = _block_counts(p, k, node_key, len(keys))
    return _finish(info, st, by, normalize, changed, keys, (prefix, key, cdepth), self_,
                   blocks, m)


def prepare_paths(sp: StackPaths, *, by: str = "function", normalize: bool = True,
                  sample_type: str | None = None, source: str = "profile") -> PreparedRun:
    """Reduce root-first paths (a folded file read by :func:`flamekit.formats.load_paths`)
    to a :class:`PreparedRun`, the same one :func:`prepare_run` makes of their profile.

    Frames are keyed first, so the keyed call tree is built straight from the
    paths: the frame-level stack table, the profile and the merge by key are
    skipped (about 0.25 s and a third of the memory on a 100k-stack file). Paths
    of several threads go through their profile (its sample rows are what the
    within-run dispersion looks at).
    """
    if not isinstance(sp, StackPaths):
        raise UsageError(f"{source}: expected StackPaths, got {type(sp).__name__}")
    if not sp.single_thread():
        return prepare_run(sp.to_profile(), by=by, normalize=normalize, sample_type=sample_type,
                           source=source)
    k, st = _pick_type(sp.sample_types, sample_type, source, by)
    if normalize:
        frames, changed = normalize_frames(sp.frames)
    else:
        frames, changed = list(sp.frames), {}
    values = sp.values[:, k] if sp.n_paths else np.zeros(0)
    # (effective samples of a count unit are its total; folded counts are the only paths yet)
    info = RunInfo(source, float(values.sum()), column_samples(st, values, sp.meta),
                   meta_duration(sp.meta), sum(changed.values()), run_git(sp.meta),
                   run_allocator(sp.meta), *run_warnings(sp.meta), run_behind(sp.meta))
    keys, fk = _frame_keys(frames, by)
    if not sp.n_paths:
        return _finish(info, st, by, normalize, changed, keys, None, values)
    # int32 key ids (half the memory traffic of the 4M-frame gather; the builder takes int32)
    kid = fk.astype(np.int32) if len(keys) < 2**31 - 1 else fk
    prefix, key, leaf, depth = keyed_tree(kid[sp.flat], sp.lengths)
    self_ = np.bincount(leaf, weights=values, minlength=len(prefix))
    return _finish(info, st, by, normalize, changed, keys, (prefix, key, depth), self_)


def keyed_tree(flat: np.ndarray, lengths: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return :func:`flamekit.tree.from_paths` ``(prefix, key, leaf)`` with ``sort=True`` and
    the rows' depths: the same arrays (int64 ids, whatever the dtype of ``flat``), from the
    compiled tree builder when it is built.

    The compiled builder (:func:`flamekit.formats.paths_tree`, about 4x faster on
    100k folded stacks) numbers each level's rows in first-seen order; they are
    then renumbered level by level in ``(parent, key)`` order, which is what
    ``sort=True`` gives (one argsort per level). Paths deeper than
    :data:`flamekit.tree.LOOP_DEPTH`, whose tails ``from_paths`` walks in a loop
    (unsorted), and inputs the builder does not take go to ``from_paths`` itself.
    """
    from ... import formats

    lengths = np.asarray(lengths)
    got = None
    if len(lengths) and int(lengths.max()) <= tree.LOOP_DEPTH:
        got = formats.paths_tree(flat, lengths)
    if got is None:
        prefix, key, leaf = tree.from_paths(np.asarray(flat, dtype=np.int64), lengths, sort=True)
        return prefix, key, leaf, tree.depths(prefix)
    prefix, key, leaf = got
    depth = tree.depths(prefix)
    _, bounds = tree.levels(depth)  # level ordered: each level is one slice
    b = bounds.tolist()
    base = int(key.max()) + 1 if len(key) else 1
    new = np.empty(len(prefix), dtype=np.int64)  # old row -> row in (parent, key) order
    for d in range(1, len(b)):
        lo, hi = b[d - 1], b[d]
        if hi == lo:
            continue
        # codes are distinct (one row per parent and key): any sort gives the one order
        code = key[lo:hi] if d == 1 else new[prefix[lo:hi]] * base + key[lo:hi]
        new[lo + np.argsort(code)] = np.arange(lo, hi, dtype=np.int64)
    sprefix = np.empty_like(prefix)
    sprefix[new] = np.where(prefix >= 0, new[np.maximum(prefix, 0)], -1)
    skey = np.empty_like(key)
    skey[new] = key
    return sprefix, skey, new[leaf], depth


def _pick_type(types: Sequence[SampleType], sample_type: str | None, source: str,
               by: str) -> tuple[int, SampleType]:
    if by not in BY_CHOICES:
        raise UsageError(f"unknown --by {by!r} (use {', '.join(BY_CHOICES)})")
    try:
        k = type_index(types, sample_type)
    except FlamekitError as e:
        raise UsageError(f"{source}: {e}") from None
    return k, types[k]


def _finish(info: RunInfo, st: SampleType, by: str, normalize: bool, changed: dict[str, int],
            keys: list, table: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
            self_: np.ndarray, blocks: np.ndarray | None = None, m: int = 0) -> PreparedRun:
    """Complete a prepared run from its keyed call tree ``(prefix, key, depth)`` and self values:
    subtree totals, per-key self and recursion-safe totals."""
    nk = len(keys)
    if table is None:
        e, z = np.zeros(0, np.int64), np.zeros(0)
        return PreparedRun(info, st, by, normalize, changed, keys, e, e, e, z, z,
                           np.zeros(nk), np.zeros(nk))
    prefix, key, depth = table
    tot = tree.accumulate_up(prefix, self_, depth)
    top = tree.topmost(prefix, key, depth)
    key_self = np.bincount(key, weights=self_, minlength=nk)
    key_total = np.bincount(key[top], weights=tot[top], minlength=nk)
    return PreparedRun(info, st, by, normalize, changed, keys, prefix, key, depth, self_, tot,
                       key_self, key_total, blocks, m)


