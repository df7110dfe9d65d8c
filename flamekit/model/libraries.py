"""Hide library frames (pipeline stage: model): fold standard library, site-packages and
``<frozen ...>`` frames into the user frame that called them (pyinstrument's "hide library frames").

On real code the user's functions are buried under import machinery, ``threading``
bootstraps and pandas internals. :func:`hide_libraries` returns a profile in which
every *library frame with a user frame above it on its stack* is removed: its
callees move up to the nearest remaining caller, and samples that ended in it (its
self time) become self time of that caller. Library frames with no user frame
above them (``Thread._bootstrap``, ``runpy``) are kept, so every sample keeps a
stack and the totals do not change.

A frame is a *library* frame when its file is ``<frozen ...>``, lies in a
``site-packages`` or ``dist-packages`` folder, or in a CPython standard library
folder (``.../lib/python3.X/``, ``...\\Lib\\``). Files come from the profiled
machine, so this is a rule on the path text, not a lookup of local folders.

What was folded is counted in ``meta["hidden_libraries"]``: ``frames`` (distinct
frames removed from every stack), ``functions`` (distinct ``(name, file)`` among
them), ``rows`` (call paths removed) and ``self`` (per sample type, the value whose
leaf was a removed frame: now the self value of the user frame that called it).
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .. import tree
from .profile import Frame, Profile

_I64 = np.int64
_LIBRARY = re.compile(r"^<frozen[ >]|[/\\](site|dist)-packages[/\\]|[/\\]lib[/\\]python\d+(\.\d+)?t?[/\\]"
                      r"|[/\\]Lib[/\\]")


def is_library(frame: Frame) -> bool:
    """Tell whether ``frame`` is standard library, third-party (site-packages) or ``<frozen ...>`` code."""
    return frame.kind != "kernel" and bool(_LIBRARY.search(frame.file or ""))


def library_frames(frames: Sequence[Frame]) -> np.ndarray:
    """Return :func:`is_library` of each frame as a bool array (the path rule read once per file)."""
    lib = {f: bool(_LIBRARY.search(f or "")) for f in {f.file for f in frames}}
    return np.fromiter((lib[f.file] and f.kind != "kernel" for f in frames), dtype=bool, count=len(frames))


def fold_targets(p: Profile, lib_frame: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(drop, target)`` per stack row of ``p``: whether :func:`hide_libraries` removes
    the row (library code with user code above it), and the row its samples and children go
    to (itself when kept, else its nearest kept ancestor). ``lib_frame``: ``library_frames(p.frames)``
    when the caller has it."""
    if lib_frame is None:
        lib_frame = library_frames(p.frames)
    lib = lib_frame[p.stack_frame] if p.n_stacks else np.zeros(0, dtype=bool)
    prefix = p.stack_prefix
    # a row goes when it is library code and some strict ancestor is user code
    user_at_or_above = tree.nearest_marked(prefix, ~lib)
    parent_user = np.where(prefix >= 0, user_at_or_above[np.maximum(prefix, 0)], -1)
    drop = lib & (parent_user >= 0)
    return drop, tree.nearest_marked(prefix, ~drop)


def hide_libraries(p: Profile) -> Profile:
    """Return ``p`` with library frames folded into the user frames that called them (see the module docstring)."""
    prefix = p.stack_prefix
    drop, target = fold_targets(p)
    info = {"frames": 0, "functions": 0, "rows": int(drop.sum()),
            "self": [0.0] * len(p.sample_types)}
    if not drop.any():
        q = p.copy()
        q.meta["hidden_libraries"] = info
        return q
    keep = ~drop  # target: where each row's samples and children go
    par = np.where(prefix >= 0, target[np.maximum(prefix, 0)], -1)
    kept = np.flatnonzero(keep)
    newid = np.cumsum(keep) - 1
    kp = par[kept]
    k_prefix = np.where(kp >= 0, newid[np.maximum(kp, 0)], -1)
    k_frame = p.stack_frame[kept]
    sstack = p.sample_stack
    moved = drop[sstack] if p.n_samples else np.zeros(0, dtype=bool)
    gone = np.unique(p.stack_frame[drop])
    still = np.zeros(len(p.frames), dtype=bool)
    still[p.stack_frame[kept]] = True
    hidden = gone[~still[gone]]
    info.update(frames=int(len(hidden)),
                functions=len({(p.frames[i].name, p.frames[i].file) for i in hidden.tolist()}),
                self=[float(x) for x in p.values[moved].sum(axis=0)] if p.n_samples else info["self"])
    used = np.flatnonzero(still)  # frames no stack uses any more leave the frame list
    k_frame = np.searchsorted(used, k_frame).astype(_I64)
    # two user calls that reached the same callee through different library paths meet here
    m_prefix, m_frame, o2n, _ = tree.merge([(k_prefix, k_frame, tree.depths(k_prefix))], len(used),
                                          with_depth=False)
    q = p.copy(frames=[p.frames[i] for i in used.tolist()], stack_prefix=m_prefix, stack_frame=m_frame,
               sample_stack=o2n[0][newid[target]][sstack] if p.n_samples else sstack)
    q.meta["hidden_libraries"] = info
    return q.check()
