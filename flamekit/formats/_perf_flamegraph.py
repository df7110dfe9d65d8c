"""FlameGraph ``stackcollapse-perf.pl`` compatible folding of a perf profile (stage: formats).

A view for comparison and export, computed FROM THE MODEL: the profile keeps
perf's raw names, and this module applies the Perl collapser's naming on the
way out (as observed on its test results; no code of it is used). Used by the
conformance tests against FlameGraph's expected collapses.
"""
from __future__ import annotations

import re

import numpy as np

from ..errors import FlamekitError
from ..model import Profile
from ._perf_text import NO_STACK

_FG_PERF_MAP = re.compile(r"/tmp/perf-\d+\.map")

_CUT_PAREN = re.compile(r"\((?!anonymous namespace\)).*", re.S)
_GO_METHOD = re.compile(r"\.\(.*\)\.", re.S)


def _fg_tidy(name: str, java: bool) -> str:
    name = name.replace(";", ":")
    if not _GO_METHOD.search(name):
        name = _CUT_PAREN.sub("", name, count=1)
    name = name.replace('"', "").replace("'", "")
    if java and "/" in name and name.startswith("L"):
        name = name[1:]
    return name


def collapse_flamegraph(profile: Profile, *, sample_type: str | int | None = None,
                        pid: bool = False, tid: bool = False, kernel: bool = False,
                        jit: bool = False, addrs: bool = False) -> dict[str, int]:
    """Fold a perf-script profile the way FlameGraph's ``stackcollapse-perf.pl`` does.

    Returns ``{folded stack: summed value}`` for one sample type (the FIRST event
    by default, as the Perl script does). The root frame is the command with
    spaces turned into ``_`` (``comm-PID`` with ``pid``, ``comm-PID/TID`` with
    ``tid``; an unknown pid prints as ``?``). Names get its "tidy" rules: ``;``
    becomes ``:``, C++ names are cut at the first ``(`` (except
    ``(anonymous namespace)`` and Go ``.(*T).`` methods), quotes are removed,
    Java ``Lpkg/Class;`` loses its ``L`` for command ``java``; ``[no stack]`` adds
    no frame; an empty symbol is written as one space. ``kernel`` adds
    ``_[k]`` to frames of bracketed or ``vmlinux`` DSOs, ``jit`` adds ``_[j]`` to
    ``/tmp/perf-PID.map`` frames; inner ``A->B`` parts always get ``_[i]``.
    ``addrs`` needs a profile loaded with ``perf_script.load(..., unknown_addresses=True)``.
    Known difference: CPython ``py::`` frames are written back as ``py::NAME:FILE``
    but get no ``_[j]`` (the model does not keep their per-process map name). The model
    itself keeps the raw names; this is a view for comparison and export.
    """
    ps = profile.meta.get("perf_script")
    if addrs and not (isinstance(ps, dict) and ps.get("unknown_addresses")):
        raise FlamekitError("collapse_flamegraph(addrs=True) needs a profile loaded with "
                            "perf_script.load(..., unknown_addresses=True)")
    if profile.n_samples == 0:
        return {}
    k = profile.type_index(sample_type)
    frames = profile.frames
    java_names: list[str] = []
    plain_names: list[str] = []
    for f in frames:
        raw = f"py::{f.name}:{f.file}" if f.kind == "python" else (f.name or " ")
        if f.name == NO_STACK and f.kind == "unknown" and not f.module:
            java_names.append("")
            plain_names.append("")
            continue
        suffix = ""
        if f.kind == "inlined" and f.module:
            suffix = "_[i]"
        elif kernel and (f.module.startswith("[") or f.module.endswith("vmlinux")) \
                and "unknown" not in f.module:
            suffix = "_[k]"
        elif jit and _FG_PERF_MAP.search(f.module):
            suffix = "_[j]"
        plain_names.append(_fg_tidy(raw, False) + suffix)
        java_names.append(_fg_tidy(raw, True) + suffix)
    roots = []
    for t in profile.threads:
        comm = t.name
        if tid:
            r = f"{comm}-{'?' if t.pid is None else t.pid}/{t.id}"
        elif pid:
            r = f"{comm}-{'?' if t.pid is None else t.pid}"
        else:
            r = comm
        roots.append(r.replace(" ", "_"))
    # (stack, thread) -> summed value, in order of first appearance (as a dict would add
    # them: bincount adds each group's values one by one in sample order)
    vals = np.asarray(profile.values[:, k], dtype=np.float64)
    nz = np.flatnonzero(vals != 0)
    keys = np.asarray(profile.sample_stack, dtype=np.int64)[nz] * len(profile.threads) \
        + np.asarray(profile.sample_thread, dtype=np.int64)[nz]
    uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    sums = np.bincount(inv.ravel(), weights=vals[nz], minlength=len(uniq))
    order = np.argsort(first, kind="stable")
    # threads with the same root and naming (java or not) write the same lines
    kinds: dict[tuple[str, bool], int] = {}
    group = [kinds.setdefault((r, t.name == "java"), len(kinds))
             for r, t in zip(roots, profile.threads)]
    group_of = list(kinds)
    out: dict[str, int] = {}
    paths: dict[tuple[int, bool], list[str]] = {}
    lines: dict[tuple[int, int], str] = {}
    nth = len(profile.threads)
    for key, v in zip(uniq[order].tolist(), sums[order].tolist()):
        s, th = divmod(key, nth)
        g = group[th]
        line = lines.get((s, g))
        if line is None:
            root, java = group_of[g]
            path = paths.get((s, java))
            if path is None:
                names = java_names if java else plain_names
                path = paths[(s, java)] = [x for x in (names[fid] for fid in profile.stack_frames(s)) if x]
            line = lines[(s, g)] = ";".join([root] + path)
        out[line] = out.get(line, 0) + int(v)
    return out


def format_folded(collapsed: dict[str, int]) -> str:
    """Return folded text (``stack count`` lines, sorted) for a :func:`collapse_flamegraph` result."""
    return "".join(f"{s} {c}\n" for s, c in sorted(collapsed.items()))
