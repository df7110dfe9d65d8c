"""Operations on profiles (pipeline stage: model): each takes profiles and returns a new one.

Composable like pprof's Merge/Filter/Scale: :func:`merge`, :func:`compact`,
:func:`scale`, :func:`select`, :func:`focus`, :func:`ignore`, :func:`by_thread`, :func:`under`,
:func:`group` (frames merged by :func:`frame_key`; :func:`frame_keys` maps a
frame list to its keys, the one place that does).
"""
from __future__ import annotations

import copy
import re
from operator import attrgetter
from typing import Sequence

import numpy as np

from .. import tree
from ..errors import FlamekitError
from .builder import empty_profile
from .profile import LimitError, Frame, Profile, SampleType, Thread

_I64 = np.int64


def _reintern(prefix: np.ndarray, frame: np.ndarray, frame_map: np.ndarray,
              depth: np.ndarray | None = None, with_depth: bool = False
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Re-intern a stack table after mapping frames (``frame_map[f]``: new id of frame ``f``).

    Returns ``(new_prefix, new_frame, old_to_new, new_depth)`` (:func:`flamekit.tree.merge`;
    ``depth``: the old table's depths when known; ``new_depth`` None unless ``with_depth``).
    """
    frame_map = np.asarray(frame_map, dtype=_I64)
    nkeys = int(frame_map.max()) + 1 if len(frame_map) else 1
    if nkeys < 2**31:  # int32 keys: half the memory of a 20M-row table's column
        frame_map = frame_map.astype(np.int32)
    keys = frame_map[frame] if len(frame) else np.zeros(0, dtype=_I64)
    if depth is None:
        depth = tree.depths(prefix)
    new_prefix, new_frame, o2n, _ = tree.merge([(prefix, keys, depth)], nkeys, with_depth=False)
    del keys
    new_depth = None
    if with_depth:  # a new row's depth is any of its old rows' (in their dtype: no int64 copy)
        new_depth = np.empty(len(new_prefix), dtype=depth.dtype)
        new_depth[o2n[0]] = depth
    return new_prefix, new_frame, o2n[0], new_depth


def _remap_frames(p: Profile, new_frames: list[Frame], frame_map: np.ndarray) -> Profile:
    """Apply a frame mapping, drop emptied samples, re-intern (the depths known on both sides)."""
    prefix, frame, o2n, depth = _reintern(p.stack_prefix, p.stack_frame, frame_map,
                                          p.stack_depths(), with_depth=True)
    sstack = o2n[p.sample_stack] if p.n_samples else p.sample_stack
    del o2n  # 8 bytes an old row, freed before the checks below
    ok = sstack >= 0
    q = Profile(frames=new_frames, stack_prefix=prefix, stack_frame=frame,
                sample_stack=sstack[ok], sample_thread=p.sample_thread[ok],
                sample_time=None if p.sample_time is None else p.sample_time[ok],
                values=p.values[ok], sample_types=p.sample_types, threads=p.threads,
                meta=copy.deepcopy(p.meta), tables=copy.deepcopy(p.tables))
    q.know_depths(depth)
    return _drop_unused(q)


def _drop_unused(p: Profile) -> Profile:
    """Drop frames and stack rows no sample reaches; keeps row order."""
    ns = p.n_stacks
    if ns == 0:
        if p.frames:
            return p.copy(frames=())
        return p
    hit = np.zeros(ns, dtype=bool)
    hit[p.sample_stack] = True
    inner = np.zeros(ns + 1, dtype=bool)
    inner[p.stack_prefix] = True  # a root's -1 marks the spare last slot (no copy of the column)
    inner = inner[:ns]
    if (hit | inner).all():
        # every leaf has samples, so every row is used: only frames may be unused
        frames_used = np.zeros(len(p.frames), dtype=bool)
        frames_used[p.stack_frame] = True
        if frames_used.all():
            return p
        fmap = np.cumsum(frames_used) - 1
        return p.copy(frames=[f for f, u in zip(p.frames, frames_used.tolist()) if u],
                      stack_frame=fmap[p.stack_frame])
    used = tree.accumulate_up(p.stack_prefix, hit.astype(np.float64)) > 0  # used if any descendant is
    frames_used = np.zeros(len(p.frames), dtype=bool)
    frames_used[p.stack_frame[used]] = True
    fmap = np.cumsum(frames_used) - 1
    new_frames = [f for f, u in zip(p.frames, frames_used.tolist()) if u]
    rmap = np.cumsum(used) - 1
    pre = p.stack_prefix[used]
    pre = np.where(pre >= 0, rmap[np.maximum(pre, 0)], -1)
    return p.copy(frames=new_frames, stack_prefix=pre, stack_frame=fmap[p.stack_frame[used]],
                  sample_stack=rmap[p.sample_stack])


def _intern(items: Sequence, ids: dict, table: list) -> np.ndarray:
    """Return each item's index in ``table``, appending the items not in ``ids`` yet."""
    out = np.empty(len(items), dtype=_I64)
    for i, x in enumerate(items):
        j = ids.get(x)
        if j is None:
            j = ids[x] = len(table)
            table.append(x)
        out[i] = j
    return out


def merge(*profiles: Profile) -> Profile:
    """Merge profiles into one: union of sample types, frames, stacks and threads.

    A sample type missing from one input contributes 0 there. Times are kept
    only when every input has them. ``meta`` comes from the first input, with
    ``merged_from`` counting the inputs; tables are kept from the first input
    that has each name. Associative up to row order (compare with :func:`to_text`).
    """
    if not profiles:
        return empty_profile()
    types: list[SampleType] = []
    for p in profiles:
        for st in p.sample_types:
            if st not in types:
                types.append(st)
    frame_ids: dict[Frame, int] = {}
    frames: list[Frame] = []
    thread_ids: dict[Thread, int] = {}
    threads: list[Thread] = []
    pres, frs, stacks, threads_col, times, vals = [], [], [], [], [], []
    all_timed = all(p.sample_time is not None for p in profiles)
    offset = 0
    for p in profiles:
        fmap = _intern(p.frames, frame_ids, frames)
        tmap = _intern(p.threads, thread_ids, threads)
        pres.append(np.where(p.stack_prefix >= 0, p.stack_prefix + offset, -1))
        frs.append(fmap[p.stack_frame] if p.n_stacks else np.zeros(0, dtype=_I64))
        stacks.append(p.sample_stack + offset)
        offset += p.n_stacks
        cols = [types.index(st) for st in p.sample_types]
        v = np.zeros((p.n_samples, len(types)))
        v[:, cols] = p.values
        threads_col.append(tmap[p.sample_thread] if p.n_samples else np.zeros(0, dtype=_I64))
        vals.append(v)
        if all_timed:
            times.append(p.sample_time)
    cat_prefix = np.concatenate(pres) if pres else np.zeros(0, dtype=_I64)
    cat_frame = np.concatenate(frs) if frs else np.zeros(0, dtype=_I64)
    ident = np.arange(len(frames), dtype=_I64)
    new_prefix, new_frame, o2n, _ = _reintern(cat_prefix, cat_frame, ident)
    sstack = np.concatenate(stacks)
    meta = copy.deepcopy(profiles[0].meta)
    if len(profiles) > 1:
        meta["merged_from"] = sum(int(p.meta.get("merged_from") or 1) for p in profiles)
        warns = [w for p in profiles for w in p.meta.get("warnings") or []]
        if warns:
            meta["warnings"] = warns
    tables: dict = {}
    for p in profiles:
        for k, t in p.tables.items():
            tables.setdefault(k, copy.deepcopy(t))
    out = Profile(frames=frames, stack_prefix=new_prefix, stack_frame=new_frame,
                  sample_stack=o2n[sstack] if len(sstack) else sstack,
                  sample_thread=np.concatenate(threads_col),
                  sample_time=np.concatenate(times) if all_timed and times else None,
                  values=np.concatenate(vals), sample_types=types,
                  threads=threads or [Thread(0, "")], meta=meta, tables=tables)
    try:
        return out.check()
    except LimitError as e:
        raise LimitError(f"merging {len(profiles)} profiles: {e}") from None


def under(p: Profile, root: Frame) -> Profile:
    """Return ``p`` with every stack under one new root frame ``root``; totals are unchanged.

    A report shows each of several inputs this way, as a labelled root. The new
    root is stack row 0; ``root`` is appended to the frames unless ``p`` has it.
    """
    if p.n_stacks == 0:
        return p.copy()
    frames = list(p.frames)
    if root in frames:
        fid = frames.index(root)
    else:
        fid = len(frames)
        frames.append(root)
    prefix = np.concatenate([[-1], np.where(p.stack_prefix >= 0, p.stack_prefix + 1, 0)]).astype(_I64)
    frame = np.concatenate([[fid], p.stack_frame]).astype(_I64)
    return p.copy(frames=frames, stack_prefix=prefix, stack_frame=frame,
                  sample_stack=(p.sample_stack + 1).astype(_I64)).check()


def compact(p: Profile) -> Profile:
    """Re-intern frames and stacks, drop unused rows, and sum untimed samples per (stack, thread).

    Timed samples are kept one per row (their order matters). Idempotent.
    """
    q = merge(p)
    q.meta = copy.deepcopy(p.meta)
    if q.sample_time is not None or q.n_samples == 0:
        return _drop_unused(q).check()
    from ..keys import factorize

    key = q.sample_stack * max(len(q.threads), 1) + q.sample_thread
    codes, uniq = factorize(key, sort=False)
    vals = np.zeros((len(uniq), len(q.sample_types)))
    np.add.at(vals, codes, q.values)
    uniq = np.asarray(uniq, dtype=_I64)
    r = q.copy(sample_stack=uniq // max(len(q.threads), 1),
               sample_thread=uniq % max(len(q.threads), 1), values=vals, sample_time=None)
    return _drop_unused(r).check()


def scale(p: Profile, factor: float, sample_type: str | int | None = None) -> Profile:
    """Multiply values by ``factor`` (one sample type, or all when ``sample_type`` is None)."""
    vals = p.values.copy()
    if sample_type is None:
        vals *= factor
    else:
        vals[:, p.type_index(sample_type)] *= factor
    return p.copy(values=vals)


def select(p: Profile, sample_type: str | int | SampleType | None) -> Profile:
    """Keep one sample type (by index, ``name`` or ``name/unit``); drop samples valued 0 in it."""
    k = p.type_index(sample_type)
    v = p.values[:, k]
    keep = v != 0
    q = p.copy(values=v[keep].reshape(-1, 1), sample_types=(p.sample_types[k],),
               sample_stack=p.sample_stack[keep], sample_thread=p.sample_thread[keep],
               sample_time=None if p.sample_time is None else p.sample_time[keep])
    return _drop_unused(q)


def _matching_rows(p: Profile, pattern: str | re.Pattern) -> np.ndarray:
    """Rows whose path (root..row) contains a frame whose name matches ``pattern``."""
    rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    fmatch = np.asarray([bool(rx.search(f.name)) for f in p.frames], dtype=bool)
    if p.n_stacks == 0:
        return np.zeros(0, dtype=bool)
    rel = fmatch[p.stack_frame].astype(np.float64)
    return tree.propagate_down(p.stack_prefix, rel) > 0


def focus(p: Profile, pattern: str | re.Pattern) -> Profile:
    """Keep only samples whose stack has a frame name matching the regex ``pattern``."""
    m = _matching_rows(p, pattern)
    keep = m[p.sample_stack] if p.n_samples else np.zeros(0, dtype=bool)
    return _drop_unused(_filter_samples(p, keep))


def ignore(p: Profile, pattern: str | re.Pattern) -> Profile:
    """Drop samples whose stack has a frame name matching the regex ``pattern``."""
    m = _matching_rows(p, pattern)
    keep = ~m[p.sample_stack] if p.n_samples else np.zeros(0, dtype=bool)
    return _drop_unused(_filter_samples(p, keep))


def _filter_samples(p: Profile, keep: np.ndarray) -> Profile:
    return p.copy(sample_stack=p.sample_stack[keep], sample_thread=p.sample_thread[keep],
                  values=p.values[keep],
                  sample_time=None if p.sample_time is None else p.sample_time[keep])


def by_thread(p: Profile) -> dict[Thread, Profile]:
    """Split a profile into one profile per thread that has samples."""
    out = {}
    for i, t in enumerate(p.threads):
        keep = p.sample_thread == i
        if keep.any():
            q = _filter_samples(p, keep)
            q = q.copy(threads=(t,), sample_thread=np.zeros(int(keep.sum()), dtype=_I64))
            out[t] = _drop_unused(q)
    return out


def frame_key(f: Frame, by: str) -> Frame:
    """Return the identity of a frame at granularity ``by`` (function, line or file)."""
    if by == "line":
        return f
    if by == "function":
        return Frame(f.name, f.file, 0, f.module, f.kind)
    if by == "file":
        return Frame(f.file or f.module or f.name, "", 0, f.module if not f.file else "", f.kind)
    raise FlamekitError(f"unknown grouping {by!r} (use function, line or file)")


#: per ``(by, exact)``: the fields that make a frame's key (:func:`frame_keys`; by file: a loop)
_IDENTITY = {("function", True): attrgetter("name", "file", "module", "kind"),
             ("function", False): attrgetter("name", "file"),
             ("line", True): attrgetter("name", "file", "line", "module", "kind"),
             ("line", False): attrgetter("name", "file", "line")}


def frame_keys(frames: Sequence[Frame], by: str, exact: bool = True
               ) -> tuple[list[Frame], np.ndarray]:
    """Map frames to their keys at granularity ``by`` (:func:`frame_key`).

    Returns the distinct keys in order of first appearance and, per frame, the
    index of its key. With ``exact=False`` keys are matched by ``(name, file,
    line)`` only (the first key seen keeps its module and kind), as a diff
    matches functions across profiles.
    """
    ident = _IDENTITY.get((by, exact))
    if ident is not None and frames:
        # a key's fields as a tuple (a Frame compares its fields in order): no Frame made and
        # hashed per frame; each key is made from the first frame that has it, as below
        number: dict = {}
        fk = np.fromiter((number.setdefault(t, len(number)) for t in map(ident, frames)), dtype=_I64,
                         count=len(frames))
        first = np.flatnonzero(np.diff(np.maximum.accumulate(fk), prepend=-1))  # keys are 0, 1, 2...
        return [frame_key(frames[i], by) for i in first.tolist()], fk
    ids: dict = {}  # by file (or an unknown grouping: frame_key says so)
    keys: list[Frame] = []
    fk = np.empty(len(frames), dtype=_I64)
    for i, f in enumerate(frames):
        k = frame_key(f, by)
        t = k if exact else (k.name, k.file, k.line)
        j = ids.get(t)
        if j is None:
            j = ids[t] = len(keys)
            keys.append(k)
        fk[i] = j
    return keys, fk


def group(p: Profile, by: str = "function",
          keys: tuple[list[Frame], np.ndarray] | None = None) -> Profile:
    """Merge frames that share a ``function`` (name, file), ``line`` or ``file``; totals are kept.

    Directly recursive calls that collapse onto the same key are not merged:
    grouping only renames frames, the stack shape is kept. ``keys`` is
    ``frame_keys(p.frames, by)`` when the caller has it already.
    """
    new_frames, fmap = keys if keys is not None else frame_keys(p.frames, by)
    return _remap_frames(p, new_frames, fmap).check(trie=False)  # re-interned: a trie
