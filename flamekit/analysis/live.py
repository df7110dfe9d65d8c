"""Rolling function table (pipeline stage: analysis) for ``flamekit top --pid``.

Self and total per function are sums over samples (a function's total
counts each sample once, however often it recurses), so the table of a span
of time is the sum of the tables of its windows: :class:`RollingFunctions`
keeps one small table per window and adds up the last few on demand, instead
of merging profiles every second.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import pandas as pd

from ..model import Profile, SampleType, functions

_KEY = ["name", "file", "module", "kind"]


@dataclass
class Span:
    """The function table of a span of windows: rows sorted by ``by``, the grand total, seconds covered."""

    table: pd.DataFrame
    grand_total: float
    seconds: float
    windows: int
    gap_seconds: float
    sample_type: SampleType | None


class RollingFunctions:
    """Per-window function tables; :meth:`span` sums the newest ones (or all of them)."""

    def __init__(self) -> None:
        self._tables: deque[tuple[pd.DataFrame, float, float, float]] = deque()
        self.sample_type: SampleType | None = None

    def add(self, profile: Profile, seconds: float, gap_before: float | None = None) -> None:
        """Add one window's profile (first sample type), its sampling time and the gap before it."""
        if profile.n_samples and self.sample_type is None:
            self.sample_type = profile.sample_types[0]  # an empty window may name another type
        df = functions(profile, 0, by="function") if profile.n_samples else None
        grand = float(profile.values[:, 0].sum()) if profile.n_samples else 0.0
        if df is None or not len(df):
            df = pd.DataFrame({c: [] for c in _KEY + ["self", "total"]})
        self._tables.append((df[_KEY + ["self", "total"]], grand, float(seconds), float(gap_before or 0.0)))

    def __len__(self) -> int:
        return len(self._tables)

    def span(self, last_seconds: float | None = None, by: str = "self") -> Span:
        """Sum the newest windows covering ``last_seconds`` of sampling (None: all windows)."""
        picked = []
        covered = 0.0
        for t in reversed(self._tables):
            if last_seconds is not None and picked and covered >= last_seconds:
                break
            picked.append(t)
            covered += t[2]
        gaps = sum(t[3] for t in picked[:-1]) if picked else 0.0  # the oldest window's gap lies outside
        grand = sum(t[1] for t in picked)
        frames = [t[0] for t in picked if len(t[0])]
        if frames:
            df = pd.concat(frames, ignore_index=True).groupby(_KEY, sort=False, dropna=False)[
                ["self", "total"]].sum().reset_index()
        else:
            df = pd.DataFrame({c: [] for c in _KEY + ["self", "total"]})
        df["self_pct"] = df["self"] / grand * 100 if grand else 0.0
        df["total_pct"] = df["total"] / grand * 100 if grand else 0.0
        other = "total" if by == "self" else "self"
        df = df.sort_values([by, other, "name", "file"], ascending=[False, False, True, True],
                            kind="mergesort").reset_index(drop=True)
        return Span(df, grand, covered, len(picked), gaps, self.sample_type)
