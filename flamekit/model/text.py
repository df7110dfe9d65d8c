"""A stable text dump of a profile (pipeline stage: model), for golden tests."""
from __future__ import annotations

import json

import numpy as np

from .profile import Profile
from ..numfmt import format_number


def _esc(s: str) -> str:
    """Escape a string for the text dump: one line, ``;`` and ``\\`` visible."""
    return json.dumps(s, ensure_ascii=False)[1:-1].replace(";", "\\u003b")


def to_text(p: Profile, include_meta: bool = True) -> str:
    """Return a stable, human-readable dump of a profile (for golden tests).

    Samples are summed per (thread, stack) and listed sorted; stacks are
    written root first as ``name (file:line) [kind]`` joined by `` ; ``.
    Sample order and times are summarized, not listed.
    """
    out = ["flamekit-profile-text 1",
           "sample_types: " + ", ".join(_esc(str(s)) for s in p.sample_types)]
    totals = p.totals()
    out.append("totals: " + ", ".join(format_number(float(t)) for t in totals))
    out.append(f"samples: {p.n_samples}")
    if p.sample_time is not None and p.n_samples:
        out.append(f"timed: yes ({format_number(float(p.sample_time.min()))}.."
                   f"{format_number(float(p.sample_time.max()))} s)")
    out.append("threads:")
    for i, t in enumerate(p.threads):
        out.append(f"  [{i}] tid={t.id} pid={t.pid} name=\"{_esc(t.name)}\"")
    if include_meta:
        m = {k: v for k, v in p.meta.items()}
        out.append("meta: " + json.dumps(m, sort_keys=True, ensure_ascii=False))
        if p.tables:
            out.append("tables: " + ", ".join(f"{k}({len(next(iter(v.values()), []))} rows)"
                                                for k, v in sorted(p.tables.items())))
    labels = []
    for f in p.frames:
        lab = _esc(f.name)
        if f.file or f.line:
            lab += f" ({_esc(f.file)}:{f.line})"
        if f.module:
            lab += f" <{_esc(f.module)}>"
        lab += f" [{f.kind}]"
        labels.append(lab)
    agg: dict[tuple[int, int], np.ndarray] = {}
    for s, t, v in zip(p.sample_stack.tolist(), p.sample_thread.tolist(), p.values):
        key = (t, s)
        if key in agg:
            agg[key] = agg[key] + v
        else:
            agg[key] = v.copy()
    lines = []
    cache: dict[int, str] = {}
    for (t, s), v in agg.items():
        txt = cache.get(s)
        if txt is None:
            txt = cache[s] = " ; ".join(labels[f] for f in p.stack_frames(s))
        lines.append(f"  [{t}] {txt} = " + " ".join(format_number(float(x)) for x in v))
    lines.sort()
    out.append("stacks:")
    out.extend(lines)
    return "\n".join(out) + "\n"


def equivalent(a: Profile, b: Profile, include_meta: bool = True) -> bool:
    """Return True when two profiles have the same :func:`to_text` dump."""
    return to_text(a, include_meta) == to_text(b, include_meta)
