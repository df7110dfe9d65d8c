"""Memory diff (pipeline stage: analysis): exact bytes per function, and the memory gate.

memray records every allocation, so a memory profile's figures (``peak_space``,
``leaked_space``, ``alloc_space`` in bytes) are measurements, not samples: there
is no sampling error to test. :func:`exact_memory` turns a :class:`DiffResult`
computed on such a sample type into an exact comparison:

* ``base_bytes``, ``head_bytes``, ``delta_bytes``: each function's self value
  (what its own frame allocated), mean over the runs of a side, in bytes
  (a ``megabytes``/``kilobytes`` type is converted, MB = 2**20 bytes);
* shares keep their meaning (percent of the side's total), ``p``/``q`` values
  are 0 where the bytes changed and 1 where they did not (``method = "exact"``);
* a function grew (``regression``) when its bytes rose by at least
  ``min_delta`` percent of BASE's total (bytes do not dilute: another
  function's growth does not move them), or by at least the memory gate;
  rows are sorted by the size of the change in bytes.

The gate (``flamekit diff --fail-on-memory-regression``) is a
:class:`MemoryThreshold`: MiB (``64``, ``64MB``, ``64MiB``) or a percentage of
BASE's total (``5%``); :func:`check_memory_threshold` raises
:class:`~flamekit.errors.RegressionFound` (exit 3) naming the function that
grew most and by how many MiB.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import RegressionFound, UsageError
from ..model import SampleType
from .diff import DiffResult

#: the memory sample type a memory diff judges by default (memray's high-water mark)
DEFAULT_MEMORY_TYPE = "peak_space"
MIB = float(1 << 20)
#: bytes per unit of the memory units flamekit's importers write
BYTE_UNITS = {"bytes": 1.0, "byte": 1.0, "b": 1.0, "kilobytes": 1024.0, "kb": 1024.0,
              "megabytes": MIB, "mb": MIB}
_THRESHOLD = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(%|mib|mb|m)?\s*$", re.I)


def is_memory_type(st: SampleType) -> bool:
    """Tell whether a sample type holds memory sizes (bytes, kilobytes or megabytes)."""
    return st.unit.lower() in BYTE_UNITS


@dataclass(frozen=True)
class MemoryThreshold:
    """The memory gate: a growth in MiB, or in percent of BASE's total."""

    mib: float | None = None
    percent: float | None = None

    def bytes_for(self, base_total: float) -> float:
        """Return the gate in bytes for a BASE total (bytes, mean per run)."""
        if self.mib is not None:
            return self.mib * MIB
        return float(self.percent or 0.0) / 100.0 * base_total

    def __str__(self) -> str:
        return f"{self.mib:g} MiB" if self.mib is not None else f"{self.percent:g}% of BASE's total"


def parse_memory_threshold(text: str) -> MemoryThreshold:
    """Parse ``64``, ``64MB``, ``64MiB`` (MiB) or ``5%`` (of BASE's total); UsageError otherwise."""
    m = _THRESHOLD.match(str(text))
    if not m:
        raise UsageError(f"--fail-on-memory-regression takes MiB (64, 64MB) or a percentage (5%), "
                         f"not {text!r}")
    value = float(m.group(1))
    if m.group(2) == "%":
        return MemoryThreshold(percent=value)
    return MemoryThreshold(mib=value)


def exact_memory(res: DiffResult, threshold: MemoryThreshold | None = None) -> DiffResult:
    """Return ``res`` compared exactly, in bytes (see the module doc); ``res`` is changed in place.

    Raises :class:`UsageError` when the diff's sample type is not a memory one.
    """
    st = res.base.sample_type
    if not is_memory_type(st):
        raise UsageError(f"a memory diff needs a memory sample type (bytes), not {st}: "
                         f"pick one with --sample-type (e.g. {DEFAULT_MEMORY_TYPE})")
    per = BYTE_UNITS[st.unit.lower()]
    t = res.table.copy()
    b = t["base_value"].to_numpy(np.float64) / max(res.base.n_runs, 1) * per
    h = t["head_value"].to_numpy(np.float64) / max(res.head.n_runs, 1) * per
    d = h - b
    base_total = sum(r.total for r in res.base.runs) / max(res.base.n_runs, 1) * per
    gate = threshold.bytes_for(base_total) if threshold is not None else np.inf
    changed = d != 0
    p = np.where(changed, 0.0, 1.0)
    for c in ("p_value", "q_value", "p_value_self", "q_value_self", "p_value_total", "q_value_total"):
        t[c] = p
    # judged on bytes against BASE's total (a share that moved only because others grew or
    # shrank is no change: dilution does not exist in bytes)
    floor = max(res.options.min_delta / 100.0 * base_total, 1.0)
    big = (np.abs(d) >= floor) | (np.abs(d) >= gate)
    t["base_bytes"], t["head_bytes"], t["delta_bytes"] = b, h, d
    t["significant"] = changed
    t["tested"] = changed
    t["regression"] = changed & big & (d > 0)
    t["improvement"] = changed & big & (d < 0)
    status = t["status"].to_numpy(object).copy()
    keep = (status == "new") | (status == "gone")
    status[~keep] = np.where(t["regression"].to_numpy()[~keep], "grown",
                             np.where(t["improvement"].to_numpy()[~keep], "shrunk", "unchanged"))
    t["status"] = status
    t["_abs"] = np.abs(d)
    t = t.sort_values(["_abs", "name", "file", "line"], ascending=[False, True, True, True],
                      kind="mergesort").drop(columns=["_abs"]).reset_index(drop=True)
    res.table = t
    res.method = "exact"
    res.dispersion = 1.0
    res.dispersion_source = "exact: every allocation recorded, no sampling error"
    res.normalization = dict(res.normalization, memory={
        "sample_type": str(st), "base_total_bytes": base_total,
        "head_total_bytes": sum(r.total for r in res.head.runs) / max(res.head.n_runs, 1) * per,
        "gate": None if threshold is None else str(threshold),
        "gate_bytes": None if threshold is None else gate,
        "allocator_note": allocator_note(res)})
    res.options.metric = "self"
    return res


#: why bytes under pymalloc are exact per arena, not per call (memray's own caveat)
PYMALLOC_NOTE = ("{n} of {m} run(s) were recorded under pymalloc, which memray sees as 1 MiB arenas "
                 "charged to the call that opened them: a function's bytes can move by up to an "
                 "arena between two runs of the same code. Record with PYTHONMALLOC=malloc (or "
                 "memray run --trace-python-allocators) to charge every allocation to its caller.")


def allocator_note(res: DiffResult) -> str | None:
    """Return the caveat on per-function bytes when a run used untraced pymalloc, else None."""
    runs = res.base.runs + res.head.runs
    n = sum(r.python_allocator == "pymalloc" for r in runs)
    return PYMALLOC_NOTE.format(n=n, m=len(runs)) if n else None


def memory_regressions(res: DiffResult, threshold: MemoryThreshold):
    """Return the rows whose bytes grew by at least the gate, largest growth first."""
    base_total = res.normalization.get("memory", {}).get("base_total_bytes", 0.0)
    gate = threshold.bytes_for(base_total)
    t = res.table
    hit = t[t["delta_bytes"] >= gate] if gate > 0 else t[t["delta_bytes"] > 0]
    return hit.sort_values("delta_bytes", ascending=False, kind="mergesort")


def check_memory_threshold(res: DiffResult, threshold: MemoryThreshold | None) -> None:
    """Raise :class:`RegressionFound` (exit 3) when a function's bytes grew by at least the gate."""
    if threshold is None:
        return
    hit = memory_regressions(res, threshold)
    if len(hit):
        w = hit.iloc[0]
        st = res.base.sample_type.name
        raise RegressionFound(
            f"{len(hit)} function(s) grew by at least {threshold} of {st}; worst: {w['name']!r} "
            f"({w['file']}) +{w['delta_bytes'] / MIB:.1f} MiB ({w['base_bytes'] / MIB:.1f} -> "
            f"{w['head_bytes'] / MIB:.1f} MiB)")
