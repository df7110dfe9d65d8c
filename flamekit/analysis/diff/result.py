"""The outcome of a diff (pipeline stage: analysis): :class:`DiffResult` and its parts.

Plain data for the renderers: the per-function table, both sides' runs
(:class:`SideInfo`, :class:`RunInfo`), the options (:class:`DiffOptions`) and,
on demand, the union call tree for flame graphs (:class:`DiffTree`,
:class:`PrunedTree`, built by :mod:`.union`). Nothing here formats text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import FlamekitError, RegressionFound
from ...model import SampleType

if TYPE_CHECKING:  # pandas is imported where tables are built: `top` uses this package without it
    import pandas as pd

    from .prepare import PreparedRun

#: Defaults (documented in docs/diff.md and the CLI help).
DEFAULT_ALPHA = 0.01
DEFAULT_MIN_DELTA = 1.0
BY_CHOICES = ("function", "line", "file")
METRICS = ("self", "total")
STATUSES = ("new", "grown", "shrunk", "gone", "unchanged")


@dataclass
class RunInfo:
    """One input profile of a side: where it came from and its totals."""

    source: str
    total: float
    effective_samples: float
    duration_s: float | None
    frames_normalized: int = 0
    git: dict[str, str] | None = None  # {"commit", "ref"} from meta (flamekit compare, git_commit)
    #: memray's Python allocator: "pymalloc" (seen as 1 MiB arenas), "malloc", or
    #: "pymalloc (traced)" with ``--trace-python-allocators``; "" when not a memray capture
    python_allocator: str = ""
    #: the input's import warnings (``meta["warnings"]``: skipped lines, approximations, a
    #: recorder's doubts) as the reader or recorder wrote them (untrusted text), the first 50
    warnings: list[str] = field(default_factory=list)
    #: how many import warnings the input has (``warnings`` holds the first 50 of them)
    n_warnings: int = 0
    #: how far py-spy said it fell behind its sampling schedule (``meta["sampling_behind_s"]``,
    #: seconds): its shares lean toward what the program waited on; None when it kept up
    sampling_behind_s: float | None = None


@dataclass
class SideInfo:
    """One side of the diff (BASE or HEAD): its runs and sample type."""

    label: str
    sample_type: SampleType
    runs: list[RunInfo]

    @property
    def n_runs(self) -> int:
        """Number of profiles on this side."""
        return len(self.runs)


@dataclass
class DiffOptions:
    """The knobs of a diff, as given (see :func:`diff` for meanings and defaults)."""

    by: str = "function"
    sample_type: str | None = None
    metric: str = "self"
    alpha: float = DEFAULT_ALPHA
    min_delta: float = DEFAULT_MIN_DELTA
    absolute: bool = False
    normalize: bool = True
    dispersion: float | None = None
    fail_on_regression: float | None = None


@dataclass
class DiffTree:
    """The union of the BASE and HEAD call trees, for the differential flame graph.

    Node ``i`` has parent ``prefix[i]`` (``-1`` at a root, ``prefix[i] < i``) and
    is the function ``key[i]`` (a row index of :attr:`DiffResult.table`'s key
    order, see :attr:`DiffResult.keys`). Values are percentages on the diff's
    measure (share of total, or of the base rate with ``absolute``).
    """

    prefix: np.ndarray
    key: np.ndarray
    base_self: np.ndarray
    base_total: np.ndarray
    head_self: np.ndarray
    head_total: np.ndarray


@dataclass
class DiffResult:
    """The outcome of :func:`diff`: a table per function plus what produced it.

    ``table`` columns: ``name, file, line, module, kind, status,
    base_self, head_self, delta_self, base_total, head_total, delta_total``
    (percent and percentage points), ``ratio`` (head/base of the judged
    metric; ``inf`` when new), ``p_value, q_value`` (judged metric),
    ``p_value_self, q_value_self, p_value_total, q_value_total``,
    ``tested`` (in the Benjamini–Hochberg family: BASE + HEAD >= ``min_delta``),
    ``significant, regression, improvement`` (bool), ``base_value, head_value``
    (self, in the sample type's unit, summed over runs). Rows are sorted by the
    judged delta's size, largest first.
    """

    options: DiffOptions
    base: SideInfo
    head: SideInfo
    table: pd.DataFrame
    method: str
    dispersion: float
    dispersion_source: str
    normalization: dict[str, Any]
    keys: list[tuple[str, str, int]] = field(default_factory=list)
    _runs: list["PreparedRun"] | None = field(default=None, repr=False)
    _gmaps: list[np.ndarray] | None = field(default=None, repr=False)
    _key_map: np.ndarray | None = field(default=None, repr=False)
    _tree: DiffTree | None = field(default=None, repr=False)

    # -- views -------------------------------------------------------------
    def delta_column(self) -> str:
        """Return the name of the judged delta column (``delta_self`` or ``delta_total``)."""
        return "delta_" + self.options.metric

    def regressions(self) -> pd.DataFrame:
        """Return the regression rows, largest increase first."""
        t = self.table[self.table["regression"]]
        return t.sort_values(self.delta_column(), ascending=False, kind="mergesort")

    def improvements(self) -> pd.DataFrame:
        """Return the improvement rows, largest decrease first."""
        t = self.table[self.table["improvement"]]
        return t.sort_values(self.delta_column(), ascending=True, kind="mergesort")

    @property
    def verdict(self) -> str:
        """Return ``regression``, ``improvement`` or ``no-change``."""
        if bool(self.table["regression"].any()):
            return "regression"
        if bool(self.table["improvement"].any()):
            return "improvement"
        return "no-change"

    def counts(self) -> dict[str, int]:
        """Return the number of rows per status, plus regressions and improvements."""
        vc = self.table["status"].value_counts()
        out = {s: int(vc.get(s, 0)) for s in STATUSES}
        out["regressions"] = int(self.table["regression"].sum())
        out["improvements"] = int(self.table["improvement"].sum())
        return out

    def worst_regression(self) -> float:
        """Return the largest judged delta (pp) among regressions, 0.0 when none."""
        r = self.regressions()
        return float(r[self.delta_column()].max()) if len(r) else 0.0

    def check_threshold(self, threshold: float | None = None) -> None:
        """Raise :class:`~flamekit.errors.RegressionFound` if a regression reaches ``threshold`` pp."""
        thr = self.options.fail_on_regression if threshold is None else threshold
        if thr is None:
            return
        r = self.regressions()
        hit = r[r[self.delta_column()] >= thr]
        if len(hit):
            row = hit.iloc[0]
            raise RegressionFound(
                f"{len(hit)} significant regression(s) of at least {thr:g} pp; worst: "
                f"{row['name']!r} ({row['file']}) {row[self.delta_column()]:+.2f} pp "
                f"(q = {row['q_value']:.2g})")

    def tree(self) -> DiffTree:
        """Return (and cache) the union call tree of both sides, for flame graphs."""
        if self._tree is None:
            from . import union

            runs, gmaps, key_map = self._parts()
            sc, _ = union.run_scales(self.base, self.head, self.options.absolute)
            self._tree = union.union_tree(runs, gmaps, key_map, sc, self.base.n_runs)
        return self._tree

    def pruned_tree(self, min_percent: float) -> "PrunedTree":
        """Return the union tree without the nodes narrower than ``min_percent`` on both sides.

        Much cheaper than :meth:`tree` on big diffs: only the paths that are at
        least ``min_percent`` wide in some run are merged
        (:func:`~flamekit.analysis.diff.union.pruned_tree`). Each kept node also
        gets the base and head totals of its pruned children, so a flame graph
        can draw them as one ``[other]`` node. Falls back to pruning
        :meth:`tree` for very deep trees or negative values.
        """
        from . import union

        runs, gmaps, key_map = self._parts()
        return union.pruned_tree(runs, gmaps, key_map, self.base, self.head,
                                 self.options.absolute, float(min_percent), self.tree)

    def tree_rows(self) -> int:
        """Return the rows of every run's keyed call tree together (a bound on :meth:`tree`'s size)."""
        return sum(len(r.prefix) for r in self._runs) if self._runs else 0

    def _parts(self) -> tuple[list["PreparedRun"], list[np.ndarray], np.ndarray]:
        if self._runs is None or self._gmaps is None or self._key_map is None:
            raise FlamekitError("this diff result holds no profiles to build a tree from")
        return self._runs, self._gmaps, self._key_map


@dataclass
class PrunedTree:
    """The union tree's nodes at least ``min_percent`` wide on a side (see
    :meth:`DiffResult.pruned_tree`).

    ``other_base[i]`` / ``other_head[i]`` is the total of node ``i``'s pruned
    children; the last entry (index ``len(tree.prefix)``) is that of the pruned
    roots. ``pruned_nodes`` counts the pruned nodes when known (None when only
    the wide paths were merged).
    """

    tree: DiffTree
    other_base: np.ndarray
    other_head: np.ndarray
    pruned_nodes: int | None

