"""Shared wording of a diff for every output (terminal, Markdown, JSON, HTML).

One place decides what a row's status says (words that match the numbers:
"not significant (−8.2 pp, q 0.14)", never "unchanged" for a non-zero change),
which frames are interpreter start-up (grouped into one row by default), how a
side is named (file, or git ref and short SHA), how paths are shortened, and
the run time of each side in seconds when both sides are time-based.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from ..analysis.diff import DiffResult, SideInfo

#: Seconds per unit for time-valued sample types.
_TIME_UNITS = {"s": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3, "milliseconds": 1e-3,
               "us": 1e-6, "microseconds": 1e-6, "ns": 1e-9, "nanoseconds": 1e-9}
_STARTUP_FILES = re.compile(
    r"^<frozen (importlib\._bootstrap(_external)?|site|runpy|zipimport|codecs|encodings[^>]*)>$"
    r"|(^|/)(site|runpy|sitecustomize|usercustomize)\.py$"
    r"|(^|/)importlib/_bootstrap(_external)?\.py$"
    r"|(^|/)__editable__[^/]*_finder\.py$")
STARTUP_ROW = "[interpreter start-up]"


def is_startup(file: str) -> bool:
    """Return True when ``file`` is interpreter start-up code (import machinery, ``site``, runpy)."""
    return bool(_STARTUP_FILES.search(str(file)))


def short_path(path: str, root: str | None = None) -> str:
    """Return ``path`` relative to ``site-packages/`` or the repository ``root`` when under it."""
    p = str(path)
    for marker in ("site-packages/", "dist-packages/"):
        i = p.rfind(marker)
        if i >= 0:
            return p[i + len(marker):]
    if root and os.path.isabs(p):
        r = root.rstrip("/") + "/"
        if p.startswith(r):
            return p[len(r):]
    m = re.match(r"^/usr(/local)?/lib/python3\.\d+/(.+)$", p)
    if m:
        return m.group(2)
    return p


def repo_root(start: str | None = None) -> str | None:
    """Return the git repository root above ``start`` (default: the working directory)."""
    d = os.path.abspath(start or os.getcwd())
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def fmt_pp(x: float) -> str:
    """Return a signed percentage-point figure with a true minus sign (``−8.2 pp``)."""
    if not math.isfinite(x):
        return "–"
    s = f"{x:+.2f}"
    return s.replace("-", "−") + " pp"


def fmt_q(q: float) -> str:
    """Return a q-value: 3 decimals, scientific below 0.001."""
    if not math.isfinite(q):
        return "–"
    return f"{q:.1e}" if q < 0.001 else f"{q:.3f}"


def status_text(r: Any, metric: str, alpha: float, min_delta: float) -> str:
    """Return a row's status in words that match its numbers."""
    d = float(r["delta_" + metric])
    q = float(r["q_value"])
    st = str(r["status"])
    if bool(r["regression"]):
        return f"slower ({fmt_pp(d)}, q {fmt_q(q)})"
    if bool(r["improvement"]):
        return f"faster ({fmt_pp(d)}, q {fmt_q(q)})"
    if abs(d) < 0.005:
        return "unchanged" if st not in ("new", "gone") else st
    prefix = f"{st}, " if st in ("new", "gone") else ""
    if bool(r["significant"]):
        return f"{prefix}significant but under {min_delta:g} pp ({fmt_pp(d)}, q {fmt_q(q)})"
    return f"{prefix}not significant ({fmt_pp(d)}, q {fmt_q(q)})"


def memory_status_text(r: Any) -> str:
    """Return a memory diff row's status in words (bytes; see analysis.memory_diff)."""
    d = float(r["delta_bytes"]) / 1048576
    st = str(r["status"])
    word = {"grown": "grew", "shrunk": "shrank"}.get(st, st)
    if st == "unchanged" and d != 0:
        word = "changed under the threshold"
    return f"{word} ({d:+.2f} MiB)" if d != 0 or st != "unchanged" else "unchanged (0 B)"


def side_name(side: SideInfo) -> str:
    """Return how a side is named: ref and short SHA when known, else its file(s)."""
    names: list[str] = []
    for r in side.runs:
        git = getattr(r, "git", None) or {}
        if git.get("commit"):
            ref = git.get("ref") or ""
            nm = f"{ref} @ {str(git['commit'])[:7]}" if ref else str(git["commit"])[:7]
        else:
            nm = os.path.basename(r.source) or r.source
        if nm not in names:
            names.append(nm)
    if not names:
        return side.label.lower()
    if len(names) == 1:
        return names[0]
    return f"{names[0]} (+{len(names) - 1} more)"


#: How a py-spy recording's own lateness warning begins (:func:`flamekit.record.pyspy.warnings`):
#: a run whose ``sampling_behind_s`` is set is said late in a line of its own instead.
PYSPY_LATE = "py-spy fell "


def run_words(side: str, index: int, runs: int) -> str:
    """Return how a run is named in prose: ``run 3 of head``, or ``head`` when it is the only one."""
    return f"run {index} of {side}" if runs > 1 else side


def late_text(run_name: str, behind_s: float) -> str:
    """Return the sentence for a run py-spy recorded late (``run_name`` as given: plain text
    or Markdown)."""
    return (f"py-spy fell behind in {run_name} ({behind_s:.3g} s late): its shares are less "
            "reliable")


def run_doubts(side: SideInfo) -> list[tuple[int, Any, list[str]]]:
    """Return ``(run number, run, warnings to list)`` of each run of ``side`` with a doubt.

    The warnings to list leave out py-spy's lateness warning of a late run
    (:data:`PYSPY_LATE`; :func:`late_text` says it).
    """
    out = []
    for i, r in enumerate(side.runs, 1):
        late = r.sampling_behind_s
        warns = [w for w in r.warnings if not (late and w.startswith(PYSPY_LATE))]
        if late or warns or r.n_warnings:
            out.append((i, r, warns))
    return out


def input_doubts(result: DiffResult, shown: int = 6, *, prose: Callable[[str], str] = str,
                 quote: Callable[[str, int], str] = lambda t, _limit: t) -> dict | None:
    """Return what the outputs say of doubtful inputs, or None when there are none.

    ``{"counts": "base 1, head 0", "late": [...], "quoted": [...], "more": N}``: a
    sentence for each run py-spy recorded late (its shares lean toward what the
    program waited on), the first ``shown`` import warnings, each naming its run and
    file, and how many more there were. ``prose`` renders flamekit's own words and ``quote(text,
    limit)`` the input's (a file name, a warning): plain text for the diff page,
    code spans for the Markdown comment (:func:`flamekit.render.markdown.input_warnings`).
    """
    late: list[str] = []
    quoted: list[str] = []
    counts: list[str] = []
    more = 0
    for side in (result.base, result.head):
        name = side.label.lower()
        counts.append(f"{name} {sum(r.n_warnings for r in side.runs)}")
        for i, r, warns in run_doubts(side):
            who = prose(run_words(name, i, side.n_runs))
            if not r.source.startswith(f"{name} run "):  # a file (compare names runs itself)
                who += " " + quote(os.path.basename(r.source) or r.source, 80)
            if r.sampling_behind_s:
                late.append(late_text(who, r.sampling_behind_s) + ".")
            # the reader's "PATH: ..." is already named by the run
            quoted += [f"{who}: {quote(w.removeprefix(r.source + ': '), 200)}" for w in warns]
            more += r.n_warnings - len(r.warnings)
    if not late and not quoted and not more:
        return None
    more += max(len(quoted) - shown, 0)
    return {"counts": ", ".join(counts), "late": late, "quoted": quoted[:shown], "more": more}


@dataclass
class RunTimes:
    """Each side's mean run time in seconds and the change."""

    base_s: float
    head_s: float
    source: str  # "duration" or the unit

    @property
    def change_s(self) -> float:
        """Head minus base, seconds per run."""
        return self.head_s - self.base_s

    @property
    def change_pct(self) -> float:
        """The change as a percentage of base."""
        return 100.0 * self.change_s / self.base_s if self.base_s > 0 else math.inf

    def text(self) -> str:
        """``4.05 s → 4.89 s per run, +0.84 s, +21%``."""
        pct = f"{self.change_pct:+.0f}%" if math.isfinite(self.change_pct) else "new"
        return (f"{fmt_s(self.base_s)} → {fmt_s(self.head_s)} per run, "
                f"{fmt_s(self.change_s, sign=True)}, {pct}".replace("-", "−"))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        pct = self.change_pct
        return {"base_s": self.base_s, "head_s": self.head_s, "change_s": self.change_s,
                "change_pct": pct if math.isfinite(pct) else None, "from": self.source}


def fmt_s(x: float, sign: bool = False) -> str:
    """Return seconds with 2 decimals (3 significant below 0.1 s)."""
    if not math.isfinite(x):
        return "–"
    fmt = "+" if sign else ""
    if abs(x) >= 0.1 or x == 0:
        return f"{x:{fmt}.2f} s"
    return f"{x:{fmt}.3g} s"


def _side_seconds(side: SideInfo) -> tuple[float, str] | None:
    if not side.runs:
        return None
    if all(r.duration_s is not None and r.duration_s > 0 for r in side.runs):
        return sum(float(r.duration_s) for r in side.runs) / len(side.runs), "duration"  # type: ignore[arg-type]
    per = _TIME_UNITS.get(side.sample_type.unit.lower())
    if per is not None:
        return sum(r.total for r in side.runs) * per / len(side.runs), side.sample_type.unit
    return None


def run_times(result: DiffResult) -> RunTimes | None:
    """Return each side's run time when both sides are time-based, else None."""
    b, h = _side_seconds(result.base), _side_seconds(result.head)
    if b is None or h is None:
        return None
    return RunTimes(b[0], h[0], b[1] if b[1] == h[1] else f"{b[1]}/{h[1]}")


def row_seconds(r: Any, metric: str, times: RunTimes | None) -> float | None:
    """Return a row's change in seconds per run (head share × head time − base share × base time)."""
    if times is None:
        return None
    return (float(r["head_" + metric]) * times.head_s - float(r["base_" + metric]) * times.base_s) / 100.0


def detail_rows(result: DiffResult, min_pp: float, show_startup: bool = False) -> pd.DataFrame:
    """Return the rows whose judged |Δ| meets ``min_pp``, start-up frames grouped into one row.

    The grouped row is named :data:`STARTUP_ROW` and sums the start-up frames'
    base and head shares (it is listed only when its own |Δ| meets the rule).
    """
    t = result.table
    m = result.options.metric
    if not show_startup and len(t):
        su = t["file"].map(is_startup).astype(bool)
        if su.any():
            s = t[su]
            row: dict[str, Any] = {c: t[c].iloc[0] for c in t.columns}
            row.update(name=STARTUP_ROW, file="", line=0, module="", kind="startup",
                       status="grouped", significant=False, regression=False, improvement=False,
                       p_value=math.nan, q_value=math.nan, ratio=math.nan)
            for side in ("base", "head"):
                for mm in ("self", "total"):
                    row[f"{side}_{mm}"] = float(s[f"{side}_{mm}"].sum()) if mm == "self" \
                        else float(s[f"{side}_{mm}"].max())
            row["delta_self"] = row["head_self"] - row["base_self"]
            row["delta_total"] = row["head_total"] - row["base_total"]
            row["startup_functions"] = int(su.sum())
            t = pd.concat([t[~su], pd.DataFrame([row])], ignore_index=True)
    d = t["delta_" + m].astype(float)
    keep = d.abs() >= min_pp - 1e-12
    out = t[keep]
    order = out["delta_" + m].abs().sort_values(ascending=False, kind="mergesort").index
    return out.loc[order]
