"""Time coverage wording (pipeline stage: render): how much of a recording the samples stand for.

Recorders store ``meta`` fields (see :func:`flamekit.record.tidy.time_coverage`):
``recorded_s`` (wall seconds recorded), ``active_s`` (seconds the samples stand
for, summed over ``threads_sampled`` threads), ``idle_included`` (whether idle
threads were sampled). Every place that shows a recording's time (``record``'s
summary, ``info``, the report header) says it with :func:`coverage_text`, so a
py-spy attach of 5 s that found the target busy for 1.4 s reads
"1.40 s active of 5.0 s recorded; idle excluded (--idle to include)", never
a bare "wall: 1.40 s".
"""
from __future__ import annotations

from typing import Any, Mapping


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if x == x and abs(x) < 1e12 else None


def coverage_text(meta: Mapping[str, Any]) -> str | None:
    """Return the one-line coverage statement for a recording's meta, or None without the fields."""
    rec, act = _num(meta.get("recorded_s")), _num(meta.get("active_s"))
    idle = meta.get("idle_included")
    if rec is None or act is None or not isinstance(idle, bool):
        return None
    threads = meta.get("threads_sampled")
    over = f" (summed over {threads} threads)" if isinstance(threads, int) and threads > 1 else ""
    tool = meta.get("tool") or meta.get("backend")
    if idle:
        return f"{act:.2f} s sampled{over} of {rec:.1f} s recorded; idle time included"
    if tool == "perf":
        return (f"{act:.2f} s on CPU{over} of {rec:.1f} s recorded; idle excluded "
                f"(perf samples on-CPU time only)")
    return f"{act:.2f} s active{over} of {rec:.1f} s recorded; idle excluded (--idle to include)"
