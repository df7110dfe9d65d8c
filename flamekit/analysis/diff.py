"""Diff two sets of profiles (pipeline stage: analysis): what grew, what is new, is it real.

``diff(base, head)`` compares a BASE side and a HEAD side, each one or more
profiles of the same workload (repeated runs), and returns a :class:`DiffResult`:
a pandas table with one row per function (or line, or file) and the facts a
renderer needs. Nothing here formats strings for humans.

Each profile is first reduced on its own to a :class:`PreparedRun` (a call
tree keyed by function, with per-function figures: :func:`prepare_run`, or
:func:`prepare_paths` for folded files read as paths); the CLI does that in
the process that loaded the file, so :func:`diff` itself only joins keys and
tests, and the flame graph merges the keyed trees when it is drawn.

The method, documented for users in ``docs/diff.md``:

* **Identity.** Frames are matched by ``(name, file)`` (``by="function"``), so
  code that only moved lines is not new; ``by="line"`` adds the line,
  ``by="file"`` keeps only the file. Names are first normalized
  (:mod:`flamekit.analysis.normalize`) unless ``normalize=False``.
* **Measure.** Per run, a function's self (and total) value as a percentage of
  the run's grand total (runs of different length compare fairly); with
  ``absolute=True`` its value per second of the run instead, expressed as a
  percentage of the BASE side's mean total rate, so the same ``min_delta``
  applies. A side's figure is the mean over its runs.
* **Test.** One run per side: a two-proportion z test under the sampling
  (binomial) model on the effective sample counts, with the variance multiplied
  by an over-dispersion factor estimated from the data (genomic-control style:
  the median of the squared z scores of the well-sampled functions over its
  null expectation 0.455, never below 1, leaving out the most-changed function
  and rescaling shares to the rest; or, when larger, from the spread of each
  run's shares over time blocks of its ordered samples), because samples
  within a run are autocorrelated and runs differ by more than sampling noise.
  Two or more runs on a side: Welch's t on the per-run figures, each side's
  variance moderated toward φ x the sampling variance (limma style, 4 prior
  degrees of freedom) and never below the pure sampling variance. Shares
  compete, so every self test but the most-changed function's runs on shares
  of the time outside that function (dilution is not change).
  Benjamini–Hochberg over the functions whose
  BASE + HEAD figure could reach ``min_delta`` (independent filtering).
* **Verdict.** A function is a regression (improvement) when its q-value is
  at most ``alpha`` **and** its delta is at least ``min_delta`` percentage points
  up (down). ``metric="self"`` (default) judges self time; ``"total"`` judges
  inclusive time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import FlamekitError, UsageError
from .. import tree
from ..model import Frame, Profile, SampleType, StackPaths, frame_keys, type_index
from .normalize import DEFAULT_RULES, normalize_frames, normalize_profile, rules_info
from .stats import benjamini_hochberg, normal_two_sided, t_two_sided

if TYPE_CHECKING:  # pandas is imported where tables are built: `top` uses this module without it
    import pandas as pd

#: Defaults (documented in docs/diff.md and the CLI help).
DEFAULT_ALPHA = 0.01
DEFAULT_MIN_DELTA = 1.0
BY_CHOICES = ("function", "line", "file")
METRICS = ("self", "total")
STATUSES = ("new", "grown", "shrunk", "gone", "unchanged")

#: Units whose values are sample counts (one unit = one sample).
COUNT_UNITS = frozenset({"samples", "sample", "count", "counts", "events", "event"})
#: Time units in seconds (to turn a total time and a sampling rate into a count).
TIME_UNITS = {"nanoseconds": 1e-9, "ns": 1e-9, "microseconds": 1e-6, "us": 1e-6,
              "milliseconds": 1e-3, "ms": 1e-3, "seconds": 1.0, "s": 1.0}
_DURATION_KEYS = ("duration", "duration_s", "duration_seconds", "elapsed")
_RATE_KEYS = ("rate", "rate_hz", "sampling_rate", "frequency")
#: The median of a chi-square variable with one degree of freedom.
_CHI2_1_MEDIAN = 0.454936423119572
#: Genomic-control estimate: needs at least this many well-sampled functions.
_GC_MIN_KEYS = 3
_GC_MIN_COUNT = 10.0
#: A change smaller than this (percentage points) is rounding, not change: with no
#: sampling variance (a share of exactly 0 or 100 on both sides) it is not significant.
_DELTA_EPS = 1e-9


@dataclass
class RunInfo:
    """One input profile of a side: where it came from and its totals."""

    source: str
    total: float
    effective_samples: float
    duration_s: float | None
    frames_normalized: int = 0
    git: dict[str, str] | None = None  # {"commit", "ref"} from meta (flamekit compare, git_commit)


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
        from ..errors import RegressionFound

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
            if self._runs is None:
                raise FlamekitError("this diff result holds no profiles to build a tree from")
            self._tree = _build_tree(self)
        return self._tree

    def pruned_tree(self, min_percent: float) -> "PrunedTree":
        """Return the union tree without the nodes narrower than ``min_percent`` on both sides.

        Much cheaper than :meth:`tree` on big diffs: only the paths that are at
        least ``min_percent`` wide in some run are merged (:func:`_union_pruned`).
        Each kept node also gets the base and head totals of its pruned children,
        so a flame graph can draw them as one ``[other]`` node. Falls back to
        pruning :meth:`tree` for very deep trees or negative values.
        """
        if self._runs is None:
            raise FlamekitError("this diff result holds no profiles to build a tree from")
        return _pruned_tree(self, float(min_percent))

    def tree_rows(self) -> int:
        """Return the rows of every run's keyed call tree together (a bound on :meth:`tree`'s size)."""
        return sum(len(r.prefix) for r in self._runs) if self._runs else 0

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """Return the JSON document of ``flamekit diff --json`` (schema in docs/diff.md)."""
        from ..render.diff_json import to_dict  # the JSON layout lives with the renderers

        return to_dict(self, limit=limit)


# ---------------------------------------------------------------------------
# Per-run extraction
# ---------------------------------------------------------------------------
def _meta_float(meta: dict, keys: Sequence[str]) -> float | None:
    for k in keys:
        v = meta.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            return float(v)
    return None


def run_git(meta: dict) -> dict[str, str] | None:
    """Return ``{"commit", "ref"}`` of a run from its meta (``compare`` or ``git_commit``), or None."""
    c = meta.get("compare")
    if isinstance(c, dict) and c.get("commit"):
        return {"commit": str(c["commit"]), "ref": str(c.get("ref") or "")}
    if meta.get("git_commit"):
        return {"commit": str(meta["git_commit"]), "ref": str(meta.get("git_ref") or "")}
    return None


def run_duration(p: Profile) -> float | None:
    """Return a profile's duration in seconds: ``meta['duration']`` or the span of sample times."""
    d = _meta_float(p.meta, _DURATION_KEYS)
    if d is not None:
        return d
    if p.sample_time is not None and p.n_samples >= 2:
        t = np.sort(p.sample_time)
        span = float(t[-1] - t[0])
        if span > 0:
            return span + float(np.median(np.diff(t)))  # the last sample covers one interval
    return None


def effective_samples(p: Profile, k: int) -> float:
    """Return how many independent-ish samples a profile's column ``k`` is made of.

    Count units (``samples``, ``count``...): the total. Time units with a known
    sampling rate (``meta['rate']`` in Hz): total seconds times the rate.
    Otherwise the number of sample rows with a non-zero value (a lower bound
    when the importer aggregated rows).
    """
    return _effective(p.sample_types[k], p.values[:, k] if p.n_samples else np.zeros(0), p.meta)


def _effective(st: SampleType, v: np.ndarray, meta: dict) -> float:
    """:func:`effective_samples` of one value column ``v`` with its type and metadata."""
    total = float(v.sum())
    if st.unit.lower() in COUNT_UNITS:
        return total
    scale = TIME_UNITS.get(st.unit.lower())
    rate = _meta_float(meta, _RATE_KEYS)
    if scale is not None and rate is not None:
        return total * scale * rate
    return float(np.count_nonzero(v))


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------
def _binomial_var(m: np.ndarray, expo: np.ndarray, absolute: bool) -> np.ndarray:
    """Per-run sampling variance of a percentage measure ``m`` (shape [runs, keys])."""
    if absolute:  # Poisson: m = g * count, var = g^2 * count = g * m; expo holds g
        return expo[:, None] * np.maximum(m, 0.0)
    mm = np.clip(m, 0.0, 100.0)
    return mm * (100.0 - mm) / np.maximum(expo[:, None], 1e-300)


def _pooled_mean(mb: np.ndarray, mh: np.ndarray, eb: np.ndarray, eh: np.ndarray,
                 absolute: bool) -> np.ndarray:
    """The common mean under H0, weighting runs by their exposure."""
    if absolute:  # exposure = 1/g
        wb, wh = 1.0 / eb, 1.0 / eh
    else:         # exposure = n
        wb, wh = eb, eh
    return (wb @ mb + wh @ mh) / max(float(wb.sum() + wh.sum()), 1e-300)


def _test(mb: np.ndarray, mh: np.ndarray, eb: np.ndarray, eh: np.ndarray, absolute: bool,
          dispersion: float | None, common: np.ndarray, self_shares: tuple[np.ndarray, np.ndarray],
          within: tuple[float, str] | None = None) -> tuple[np.ndarray, float, str, str]:
    """Return (p-values, dispersion used, its source, method) for one metric.

    ``mb``/``mh``: [runs, keys] percentages; ``eb``/``eh``: per-run exposure
    (effective samples, or the Poisson factor ``g`` with ``absolute``).
    ``common`` flags keys present on both sides and ``self_shares`` holds the
    per-run self percentages of both sides (they rescale shares to a set of keys
    when estimating dispersion, see :func:`_estimate_dispersion`); ``within``
    is the within-run estimate of :func:`_within_dispersion` (the larger is used).
    """
    rb, rh = mb.shape[0], mh.shape[0]
    if rb == 1 and rh == 1:
        z, var, delta = _z_scores(mb, mh, eb, eh, absolute)
        if dispersion is not None:
            phi, src = max(float(dispersion), 1e-9), "given"
        else:
            phi, src = _estimate_dispersion(mb, mh, eb, eh, absolute, common, self_shares)
            if within is not None and within[0] > phi:
                phi, src = within
        p = normal_two_sided(z / math.sqrt(phi))
        p = np.where((var <= 0) & (np.abs(delta) > _DELTA_EPS), 0.0, p)
        return p, phi, src, "binomial"
    # Welch's t on per-run figures, each side's variance moderated (see _moderated_var);
    # a one-run side borrows the other side's variance.
    pooled = _pooled_mean(mb, mh, eb, eh, absolute)
    delta = mh.mean(axis=0) - mb.mean(axis=0)
    floor_b = _binomial_var(np.broadcast_to(pooled, mb.shape), eb, absolute).mean(axis=0)
    floor_h = _binomial_var(np.broadcast_to(pooled, mh.shape), eh, absolute).mean(axis=0)
    ok = _well_sampled_runs(pooled, np.concatenate([eb, eh]), absolute)
    sb = mb.var(axis=0, ddof=1) if rb >= 2 else None
    sh = mh.var(axis=0, ddof=1) if rh >= 2 else None
    phis = []
    if sb is not None:
        vb, phi_b = _moderated_var(sb, floor_b, rb - 1, ok, dispersion)
        var_b, df_b = vb / rb, float(rb - 1 + _PRIOR_DF)
        phis.append(phi_b)
    if sh is not None:
        vh, phi_h = _moderated_var(sh, floor_h, rh - 1, ok, dispersion)
        var_h, df_h = vh / rh, float(rh - 1 + _PRIOR_DF)
        phis.append(phi_h)
    phi = max(phis)
    if sb is None:
        var_b, df_b = np.maximum(phi * floor_b, sh if sh is not None else 0.0) / rb, math.inf
    if sh is None:
        var_h, df_h = np.maximum(phi * floor_h, sb if sb is not None else 0.0) / rh, math.inf
    se2 = var_b + var_h
    den = (var_b ** 2 / df_b if math.isfinite(df_b) else 0.0) + \
          (var_h ** 2 / df_h if math.isfinite(df_h) else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(den > 0, se2 ** 2 / np.where(den > 0, den, 1.0), np.inf)
        t = np.where(se2 > 0, delta / np.sqrt(se2), 0.0)
    p = t_two_sided(t, df)
    p = np.where((se2 <= 0) & (np.abs(delta) > _DELTA_EPS), 0.0, p)
    src = ("given" if dispersion is not None else
           f"run-to-run variance, moderated toward φ × the sampling variance ({_PRIOR_DF:g} "
           f"prior degrees of freedom; φ = median run-to-run / sampling variance of "
           f"{int(ok.sum())} well-sampled functions, at least 1)")
    return p, phi, src, "welch"


#: Prior degrees of freedom of the moderated run-to-run variance (weight of φ x sampling
#: variance against a function's own variance over its runs).
_PRIOR_DF = 4.0


def _well_sampled_runs(pooled: np.ndarray, expo: np.ndarray, absolute: bool) -> np.ndarray:
    """Flag keys with at least ``_GC_MIN_COUNT`` expected samples in (and outside) every run."""
    if absolute:
        return pooled / float(expo.max()) >= _GC_MIN_COUNT
    n = float(expo.min())
    counts = pooled / 100.0 * n
    return (counts >= _GC_MIN_COUNT) & ((n - counts) >= _GC_MIN_COUNT)


def _chi2_median_ratio(d: float) -> float:
    """Return median(chi2_d) / d (exact for d = 1, 2; Wilson-Hilferty beyond)."""
    if d <= 1:
        return _CHI2_1_MEDIAN
    if d <= 2:
        return math.log(2.0)
    return (1.0 - 2.0 / (9.0 * d)) ** 3


def _moderated_var(s2: np.ndarray, floor: np.ndarray, d: int, ok: np.ndarray,
                   dispersion: float | None) -> tuple[np.ndarray, float]:
    """Return (per-key variance of one run, φ) for one side, moderated as in limma.

    With 2-5 runs a key's own variance has 1-4 degrees of freedom, so Welch's t
    has very heavy tails and misses real regressions. Its variance is pulled
    toward a prior, φ x the sampling variance: ``(d0 * prior + d * s2) / (d0 + d)``
    with ``d0 = _PRIOR_DF``, and the test gets ``d0 + d`` degrees of freedom.
    φ is the median over well-sampled keys of their run-to-run variance over the
    sampling variance, divided by that ratio's null median (never below 1), or
    ``dispersion`` when given. The result is never below the sampling variance.
    """
    if dispersion is not None:
        phi = max(float(dispersion), 1e-9)
    else:
        good = ok & (floor > 0)
        phi = 1.0
        if int(good.sum()) >= _GC_MIN_KEYS:
            phi = max(1.0, float(np.median(s2[good] / floor[good])) / _chi2_median_ratio(d))
    v = (_PRIOR_DF * phi * floor + d * s2) / (_PRIOR_DF + d)
    return np.maximum(v, floor), phi


def _z_scores(mb: np.ndarray, mh: np.ndarray, eb: np.ndarray, eh: np.ndarray, absolute: bool
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-sample z under the sampling model with the pooled mean; returns (z, var, delta)."""
    pooled = _pooled_mean(mb, mh, eb, eh, absolute)
    delta = mh[0] - mb[0]
    var = (_binomial_var(pooled[None, :], eb, absolute)[0]
           + _binomial_var(pooled[None, :], eh, absolute)[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, delta / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    return z, var, delta


def _well_sampled(pooled: np.ndarray, eb: np.ndarray, eh: np.ndarray, absolute: bool
                  ) -> np.ndarray:
    """Flag keys with at least ``_GC_MIN_COUNT`` expected samples in (and outside) them."""
    if absolute:
        return (pooled / eb[0] + pooled / eh[0]) >= _GC_MIN_COUNT
    n_sum = float(eb[0] + eh[0])
    counts = pooled / 100.0 * n_sum
    return (counts >= _GC_MIN_COUNT) & ((n_sum - counts) >= _GC_MIN_COUNT)


def _rescaled(m: np.ndarray, shares: np.ndarray, keep: np.ndarray, absolute: bool) -> np.ndarray:
    """Rescale per-run percentages so that the self shares of the ``keep`` keys sum to 100."""
    if absolute:
        return m
    s = shares[:, keep].sum(axis=1)
    f = np.where(s > 0, 100.0 / np.where(s > 0, s, 1.0), 1.0)
    return m * f[:, None]


#: Within-run dispersion: blocks per run, fewest ordered samples per block, and the
#: one-sided level at which the block spread must exceed the binomial to be used.
_BLOCKS = 20
_BLOCK_MIN = 10
_WITHIN_Z = 1.645


def _ordered_samples(p: Profile, k: int = 0) -> np.ndarray | None:
    """Return the rows of ``p`` in time order when they are single samples, else None.

    Rows are single samples in time order when they carry times, or when every
    row has the same value and stacks repeat across rows (a sampled speedscope
    profile, say); aggregated inputs (folded, pprof: one row per distinct stack
    with its count) do not qualify.
    """
    n = p.n_samples
    if n < _BLOCKS * _BLOCK_MIN:
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
    :func:`_ordered_samples`). The first ``_BLOCKS * m`` ordered samples are cut
    into ``_BLOCKS`` blocks of ``m``; ``k`` is the value column, ``node_key`` the local
    key of each stack row.
    """
    order = _ordered_samples(p, k)
    if order is None or not len(node_key) or nk == 0:
        return None, 0
    sk = node_key[p.sample_stack[order]]
    m = len(sk) // _BLOCKS
    if m == 0:
        return None, 0
    sk = sk[: m * _BLOCKS]
    blk = np.repeat(np.arange(_BLOCKS, dtype=np.int64), m)
    counts = np.bincount(blk * nk + sk, minlength=_BLOCKS * nk).astype(np.float64)
    return counts.reshape(_BLOCKS, nk), m


def _within_dispersion(runs: list["PreparedRun"], gmaps: list[np.ndarray], key_map: np.ndarray
                       ) -> tuple[float, str] | None:
    """Estimate over-dispersion inside each run from the variance of its block shares.

    Samples close in time are not independent (a busy machine preempts the
    process and the sampler sees the same stack again and again; a sampler's
    interval can alias with a loop). Each run's ordered samples are cut into
    ``_BLOCKS`` consecutive blocks (:func:`_block_counts`, done when the run is
    prepared); for a well-sampled function the variance of
    its self share across blocks over the binomial variance of one block is
    about 1 for independent samples. The mean of that ratio over the
    well-sampled functions of both runs estimates φ; a changed function
    inflates nothing here (only within-run spread counts). None when a run's
    rows are not ordered single samples, or when the mean is not clearly
    above 1 (a one-sided 5 % chi-square test).
    """
    ratios: list[float] = []
    indep = 0
    nk = int(key_map.max()) + 1 if len(key_map) else 0
    for r, g in zip(runs, gmaps):
        if r.blocks is None or r.block_size == 0 or nk == 0:
            return None
        m = r.block_size
        cols = key_map[g] if len(g) else np.zeros(0, np.int64)
        ok = cols >= 0
        counts = np.zeros((_BLOCKS, nk))
        counts[:, cols[ok]] = r.blocks[:, ok]  # local keys are distinct, so are their rows
        share = counts / m
        p = counts.sum(axis=0) / (m * _BLOCKS)
        good = (p * m * _BLOCKS >= 2 * _GC_MIN_COUNT) & ((1 - p) * m * _BLOCKS >= 2 * _GC_MIN_COUNT)
        if good.any():
            v = share[:, good].var(axis=0, ddof=1)
            ratios.extend((v / (p[good] * (1 - p[good]) / m)).tolist())
            # shares sum to 1: when the well-sampled functions hold nearly all samples,
            # one of their ratios repeats the others (two functions: the same ratio twice)
            gg = int(good.sum())
            indep += max(1, gg - 1) if float(p[good].sum()) >= 0.9 else gg
    if not ratios:
        return None
    phi = float(np.mean(ratios))
    # Use it only when the spread is clearly above the binomial (one-sided 5 % test
    # of mean ratio against chi2_df / df, Wilson-Hilferty, df from the independent
    # ratios): an estimate that merely wobbles above 1 would cost power for nothing.
    df = indep * (_BLOCKS - 1)
    c = 2.0 / (9.0 * df)
    if phi <= (1.0 - c + _WITHIN_Z * math.sqrt(c)) ** 3:
        return None
    return phi, (f"within-run spread: {len(ratios)} function-runs cut into {_BLOCKS} time "
                 "blocks (block-share variance / binomial, clearly above 1)")


def _estimate_dispersion(mb: np.ndarray, mh: np.ndarray, eb: np.ndarray, eh: np.ndarray,
                         absolute: bool, common: np.ndarray,
                         self_shares: tuple[np.ndarray, np.ndarray]) -> tuple[float, str]:
    """Estimate over-dispersion from the diff itself (genomic control: median z^2 / 0.455).

    Shares compete: a function that is new or grew by 10 pp scales every other
    share down by about 10 % relative, which would read as noise everywhere and
    inflate the estimate (hiding the very regression). So the estimate uses
    only keys present on both sides, leaves out the single most-changed key
    (largest |z|), and rescales the shares to the keys it keeps before
    computing the z scores of the well-sampled ones among them.
    """
    sb, sh = self_shares
    pooled = _pooled_mean(mb, mh, eb, eh, absolute)
    ok = _well_sampled(pooled, eb, eh, absolute) & common
    keep = common.copy()
    zc, _, _ = _z_scores(_rescaled(mb, sb, keep, absolute), _rescaled(mh, sh, keep, absolute),
                         eb, eh, absolute)
    if ok.any():  # leave out the most-changed well-sampled key, then rescale again
        top = int(np.flatnonzero(ok)[np.argmax(np.abs(zc[ok]))])
        keep[top] = False
        ok[top] = False
        zc, _, _ = _z_scores(_rescaled(mb, sb, keep, absolute),
                             _rescaled(mh, sh, keep, absolute), eb, eh, absolute)
    n_ok = int(ok.sum())
    if n_ok < _GC_MIN_KEYS:
        return 1.0, (f"none (fewer than {_GC_MIN_KEYS} well-sampled functions besides the "
                     "most-changed one; 1 = the sampling model)")
    phi = float(np.median(zc[ok] ** 2)) / _CHI2_1_MEDIAN
    return max(1.0, phi), (f"estimated from {n_ok} functions (median z^2 / 0.455, shares "
                           "rescaled without new, gone and the most-changed function)")


# ---------------------------------------------------------------------------
# The diff
# ---------------------------------------------------------------------------
def _as_list(x: Any) -> list:
    if isinstance(x, (Profile, PreparedRun)):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    raise UsageError(f"expected a Profile or a list of profiles, got {type(x).__name__}")


def _type_matches(st: SampleType, want: str) -> bool:
    return want in (str(st), st.name)


def _prepare_side(side: list, label: str, sources: Sequence[str] | None, opts: DiffOptions,
                  sample_type: str | None) -> list["PreparedRun"]:
    """Prepare every profile of one side (runs already prepared are checked, not redone)."""
    if not side:
        raise UsageError(f"{label}: no profiles given")
    out: list[PreparedRun] = []
    st: SampleType | None = None
    for i, p in enumerate(side):
        src = sources[i] if sources and i < len(sources) else f"{label.lower()}[{i}]"
        if isinstance(p, PreparedRun):
            if p.by != opts.by or p.normalized != opts.normalize:
                raise UsageError(f"{src}: prepared with by={p.by!r}, normalize={p.normalized}; "
                                 f"this diff uses by={opts.by!r}, normalize={opts.normalize}")
            if sample_type is not None and not _type_matches(p.sample_type, sample_type):
                raise UsageError(f"{src}: prepared for sample type {p.sample_type}, not "
                                 f"{sample_type!r}")
            r = p
        elif isinstance(p, Profile):
            r = prepare_run(p, by=opts.by, normalize=opts.normalize, sample_type=sample_type,
                            source=src)
        else:
            raise UsageError(f"{label}: expected a Profile, got {type(p).__name__}")
        if st is None:
            st = r.sample_type
        elif r.sample_type != st:
            raise UsageError(f"{r.info.source}: sample type {r.sample_type} differs from {st} of "
                             f"the other {label} profiles; pick one with --sample-type")
        out.append(r)
    return out


def check_options(*, by: str = "function", metric: str = "self", alpha: float = DEFAULT_ALPHA,
                  min_delta: float = DEFAULT_MIN_DELTA) -> None:
    """Raise :class:`UsageError` for an option :func:`diff` cannot use (checked before loading)."""
    if by not in BY_CHOICES:
        raise UsageError(f"unknown --by {by!r} (use {', '.join(BY_CHOICES)})")
    if metric not in METRICS:
        raise UsageError(f"unknown metric {metric!r} (use self or total)")
    if not (0 < alpha < 1):
        raise UsageError(f"--alpha must be between 0 and 1, got {alpha}")
    if not (min_delta >= 0) or not math.isfinite(min_delta):
        raise UsageError(f"--min-delta must be a number >= 0, got {min_delta}")


def diff(base: Profile | Sequence[Profile], head: Profile | Sequence[Profile], *,
         by: str = "function", sample_type: str | None = None, metric: str = "self",
         alpha: float = DEFAULT_ALPHA, min_delta: float = DEFAULT_MIN_DELTA,
         absolute: bool = False, normalize: bool = True, dispersion: float | None = None,
         fail_on_regression: float | None = None, base_sources: Sequence[str] | None = None,
         head_sources: Sequence[str] | None = None) -> DiffResult:
    """Compare BASE and HEAD profiles (one or several runs each) and return a :class:`DiffResult`.

    ``by``: ``function`` (``(name, file)``, default), ``line`` or ``file``.
    ``sample_type``: name or ``name/unit`` (default: BASE's first type; HEAD must
    have it). ``metric``: judge ``self`` (default) or ``total`` time. ``alpha``:
    false-discovery level for Benjamini–Hochberg (default 0.01). ``min_delta``:
    smallest change that counts, in percentage points (default 1.0).
    ``absolute``: compare per-second rates (needs durations). ``normalize``:
    apply :data:`~flamekit.analysis.normalize.DEFAULT_RULES` to names (default
    on). ``dispersion``: fix the over-dispersion factor of the one-run test
    instead of estimating it. ``fail_on_regression``: threshold (pp) used by
    :meth:`DiffResult.check_threshold`; this function never raises for it.
    """
    check_options(by=by, metric=metric, alpha=alpha, min_delta=min_delta)
    opts = DiffOptions(by, sample_type, metric, alpha, min_delta, absolute, normalize,
                       dispersion, fail_on_regression)
    bl, hl = _as_list(base), _as_list(head)
    bprep = _prepare_side(bl, "BASE", base_sources, opts, sample_type)
    bst = bprep[0].sample_type
    hprep = _prepare_side(hl, "HEAD", head_sources, opts,
                          sample_type if sample_type is not None else str(bst))
    hst = hprep[0].sample_type
    if hst != bst:
        raise UsageError(f"sample types differ: BASE {bst}, HEAD {hst}")

    # every run's per-key figures on one key table (function, or line, or file)
    prepared = bprep + hprep
    allk, S, T, gmaps, key_map = _key_table(prepared)
    nk = len(allk)
    nr = S.shape[0]
    rb = len(bprep)
    runs = [r.info for r in prepared]
    bruns, hruns = runs[:rb], runs[rb:]
    bchg, hchg = [r.changed for r in bprep], [r.changed for r in hprep]
    grand = np.array([r.total for r in runs])
    neff = np.array([max(r.effective_samples, 1e-9) for r in runs])
    if absolute:
        durs = [r.duration_s for r in runs]
        missing = [r.source for r in runs if r.duration_s is None]
        if missing:
            raise UsageError("--absolute needs each profile's duration (meta 'duration' or "
                             f"sample times); none known for: {', '.join(missing)}")
        dur = np.array(durs, dtype=np.float64)
        base_rate = float(np.mean(grand[:rb] / dur[:rb])) or 1.0
        scale = 100.0 / (dur * base_rate)
        # one effective sample is worth grand/neff units: g = percent per sample
        expo = scale * grand / neff
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(grand > 0, 100.0 / np.where(grand > 0, grand, 1.0), 0.0)
        expo = neff
    MS = S * scale[:, None]
    MT = T * scale[:, None]

    in_base = (T[:rb] > 0).any(axis=0)
    in_head = (T[rb:] > 0).any(axis=0)
    common = in_base & in_head
    within = _within_dispersion(prepared, gmaps, key_map) if rb == 1 and nr == 2 else None
    p_self, phi_s, src_s, method = _test(MS[:rb], MS[rb:], expo[:rb], expo[rb:], absolute,
                                         dispersion, common, (MS[:rb], MS[rb:]), within)
    top_k = _most_changed(MS, expo, rb, absolute)
    if top_k is not None:
        # Shares compete: when one function grows (or shrinks) a lot, every other share moves
        # the other way in proportion. Judge the others on their share of the time OUTSIDE
        # the most-changed function (with the sample count outside it): what moved only by
        # dilution is then unchanged. The most-changed function keeps its plain test.
        out = 1.0 - MS[:, top_k] / 100.0
        MR = MS / out[:, None]
        er = expo * out
        p_r, _, _, _ = _test(MR[:rb], MR[rb:], er[:rb], er[rb:], absolute, phi_s if method ==
                             "binomial" else dispersion, common, (MR[:rb], MR[rb:]))
        p_r[top_k] = p_self[top_k]
        p_self = p_r
    p_total, phi_t, src_t, _ = _test(MT[:rb], MT[rb:], expo[:rb], expo[rb:], absolute,
                                     dispersion, common, (MS[:rb], MS[rb:]), within)
    # Independent filtering (as in DESeq2): a function whose BASE + HEAD figure is
    # below min_delta can never change by min_delta, so it is not a test in the
    # Benjamini-Hochberg family. The sum does not depend on the direction of the
    # change, so the filter keeps the false-discovery guarantee.
    tested_s = (MS[:rb].mean(axis=0) + MS[rb:].mean(axis=0)) >= max(min_delta, 1e-12)
    tested_t = (MT[:rb].mean(axis=0) + MT[rb:].mean(axis=0)) >= max(min_delta, 1e-12)
    q_self = _bh_filtered(p_self, tested_s)
    q_total = _bh_filtered(p_total, tested_t)

    table = allk.copy()
    table["base_self"] = MS[:rb].mean(axis=0)
    table["head_self"] = MS[rb:].mean(axis=0)
    table["delta_self"] = table["head_self"] - table["base_self"]
    table["base_total"] = MT[:rb].mean(axis=0)
    table["head_total"] = MT[rb:].mean(axis=0)
    table["delta_total"] = table["head_total"] - table["base_total"]
    judged = metric
    pv, qv = (p_self, q_self) if judged == "self" else (p_total, q_total)
    b, h = table[f"base_{judged}"].to_numpy(), table[f"head_{judged}"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        table["ratio"] = np.where(b > 0, h / np.where(b > 0, b, 1.0), np.where(h > 0, np.inf, 1.0))
    table["p_value"], table["q_value"] = pv, qv
    table["p_value_self"], table["q_value_self"] = p_self, q_self
    table["p_value_total"], table["q_value_total"] = p_total, q_total
    d = h - b
    sig = qv <= alpha
    big = np.abs(d) >= min_delta
    status = np.where(~in_base & in_head, "new",
                      np.where(in_base & ~in_head, "gone",
                               np.where(sig & big & (d > 0), "grown",
                                        np.where(sig & big & (d < 0), "shrunk", "unchanged"))))
    table["status"] = status
    table["significant"] = sig
    table["regression"] = sig & big & (d > 0)
    table["improvement"] = sig & big & (d < 0)
    table["base_value"] = S[:rb].sum(axis=0)
    table["head_value"] = S[rb:].sum(axis=0)
    table["tested"] = tested_s if metric == "self" else tested_t
    table["_k"] = np.arange(nk)
    table["_abs"] = np.abs(d)
    table = table.sort_values(["_abs", "name", "file", "line"],
                              ascending=[False, True, True, True], kind="mergesort")
    keys = list(zip(allk["name"], allk["file"], allk["line"].astype(int)))
    table = table.drop(columns=["_abs"]).reset_index(drop=True)
    cols = ["name", "file", "line", "module", "kind", "status", "base_self", "head_self",
            "delta_self", "base_total", "head_total", "delta_total", "ratio", "p_value",
            "q_value", "p_value_self", "q_value_self", "p_value_total", "q_value_total",
            "tested", "significant", "regression", "improvement", "base_value", "head_value", "_k"]
    table = table[cols]
    norm = {
        "shares": ("absolute: value per second of each run, as a percentage of BASE's mean "
                   "total per second" if absolute else
                   "share of each run's total, averaged over the runs of a side"),
        "names_enabled": bool(normalize),
        "rules": rules_info(DEFAULT_RULES) if normalize else [],
        "frames_changed": {
            "base": _sum_counts(bchg), "head": _sum_counts(hchg)},
    }
    phi = phi_s if metric == "self" else phi_t
    src = src_s if metric == "self" else src_t
    res = DiffResult(opts, SideInfo("BASE", bst, bruns), SideInfo("HEAD", hst, hruns), table,
                     method, phi, src, norm, keys)
    res._runs = prepared
    res._gmaps = gmaps
    res._key_map = key_map
    return res


#: The dilution correction applies while the most-changed function holds less than this
#: share (percent) of every run (beyond it too little time is left outside it to compare).
_DILUTION_MAX_SHARE = 80.0


def _most_changed(ms: np.ndarray, expo: np.ndarray, rb: int, absolute: bool) -> int | None:
    """Return the key whose self share changed most (largest |z| at φ = 1), or None.

    None with ``absolute`` (rates do not compete), fewer than two keys, no
    change, or when that key holds ``_DILUTION_MAX_SHARE`` % or more of a run.
    """
    if absolute or ms.shape[1] < 2:
        return None
    mb, mh = ms[:rb].mean(axis=0, keepdims=True), ms[rb:].mean(axis=0, keepdims=True)
    z, _, _ = _z_scores(mb, mh, np.array([expo[:rb].sum()]), np.array([expo[rb:].sum()]), False)
    if not np.any(z != 0):
        return None
    k = int(np.argmax(np.abs(z)))
    if float(ms[:, k].max()) >= _DILUTION_MAX_SHARE:
        return None
    return k


def _bh_filtered(p: np.ndarray, tested: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg over the tested rows; untested rows get q = 1."""
    q = np.ones_like(p)
    if tested.any():
        q[tested] = benjamini_hochberg(p[tested])
    return q


def _sum_counts(chg: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in chg:
        for k, v in c.items():
            out[k] = out.get(k, 0) + int(v)
    return out


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
    ``blocks`` holds self sample counts per time block (``[_BLOCKS, len(keys)]``,
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
    info = RunInfo(source, float(values.sum()), _effective(st, values, p.meta), run_duration(p),
                   sum(changed.values()), run_git(p.meta))
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
    info = RunInfo(source, float(values.sum()), _effective(st, values, sp.meta),
                   _meta_float(sp.meta, _DURATION_KEYS), sum(changed.values()), run_git(sp.meta))
    keys, fk = _frame_keys(frames, by)
    if not sp.n_paths:
        return _finish(info, st, by, normalize, changed, keys, None, values)
    prefix, key, leaf = tree.from_paths(fk[sp.flat], sp.lengths, sort=True)
    self_ = np.bincount(leaf, weights=values, minlength=len(prefix))
    return _finish(info, st, by, normalize, changed, keys, (prefix, key, tree.depths(prefix)), self_)


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


# ---------------------------------------------------------------------------
# Joining runs: one key table, the union tree
# ---------------------------------------------------------------------------
def _key_table(runs: list[PreparedRun]
               ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """Unify the runs' local keys: (key table, self [R, K], total [R, K], local -> global key
    per run, global key -> table row or -1 when no run has a value for it)."""
    keymap: dict[tuple[str, str, int], int] = {}
    info: list[tuple[str, str, int, str, str]] = []
    gmaps: list[np.ndarray] = []
    for r in runs:
        g = np.empty(len(r.keys), dtype=np.int64)
        for i, k in enumerate(r.keys):
            j = keymap.get(k[:3])
            if j is None:
                j = keymap[k[:3]] = len(info)
                info.append(k)
            g[i] = j
        gmaps.append(g)
    nk0, nr = len(info), len(runs)
    S0 = np.zeros((nr, nk0))
    T0 = np.zeros((nr, nk0))
    for i, (r, g) in enumerate(zip(runs, gmaps)):
        S0[i, g] = r.key_self  # local keys are distinct by (name, file, line): g is one-to-one
        T0[i, g] = r.key_total
    used = (T0 != 0).any(axis=0) | (S0 != 0).any(axis=0)
    key_map = np.where(used, np.cumsum(used) - 1, -1)
    kept = np.flatnonzero(used)
    import pandas as pd

    allk = pd.DataFrame([info[i] for i in kept.tolist()],
                        columns=["name", "file", "line", "module", "kind"])
    if not len(allk):
        allk = pd.DataFrame({"name": [], "file": [], "line": [], "module": [], "kind": []})
    allk["line"] = allk["line"].astype(np.int64)
    return allk, S0[:, kept], T0[:, kept], gmaps, key_map


@dataclass
class _Union:
    """Every run's keyed call tree merged into one trie, with per-run values."""

    prefix: np.ndarray      # [U] parent row, -1 at roots
    key: np.ndarray         # [U] global key id
    self_: np.ndarray       # [U, R] self value per run
    total: np.ndarray       # [U, R] subtree total per run


def _union(runs: list[PreparedRun], gmaps: list[np.ndarray]) -> _Union:
    """Merge the runs' keyed call trees (keys made global) into the union trie.

    A run's rows map one to one onto union rows (both are keyed by the path of
    keys), so per-run self and total values are placed, not recomputed.
    """
    nk = max((int(g.max()) + 1 for g in gmaps if len(g)), default=0)
    tables = [(r.prefix, g[r.key] if len(r.key) else r.key, r.depth) for r, g in zip(runs, gmaps)]
    uprefix, ukey, o2n, _ = tree.merge(tables, nk)
    nu, nr = len(uprefix), len(runs)
    selfm = np.zeros((nu, nr))
    totm = np.zeros((nu, nr))
    for i, (r, m) in enumerate(zip(runs, o2n)):
        if len(m):
            selfm[:, i] = np.bincount(m, weights=r.self_, minlength=nu)
            totm[:, i] = np.bincount(m, weights=r.total, minlength=nu)
    return _Union(uprefix, ukey, selfm, totm)


def _run_scales(res: DiffResult) -> tuple[np.ndarray, np.ndarray]:
    """Per run: the factor from values to percent of its side's measure, and that factor
    times the side's run count (one run's own percent)."""
    runs = res.base.runs + res.head.runs
    rb, rh = res.base.n_runs, res.head.n_runs
    if res.options.absolute:
        base_rate = float(np.mean([r.total / r.duration_s for r in res.base.runs]))  # type: ignore[operator]
        own = np.array([100.0 / (float(r.duration_s) * base_rate) for r in runs])  # type: ignore[arg-type]
    else:
        own = np.array([100.0 / r.total if r.total else 0.0 for r in runs])
    return own / np.array([rb] * rb + [rh] * rh, dtype=np.float64), own


def _build_tree(res: DiffResult) -> DiffTree:
    """Return the union call tree in percent of each side's measure, averaged over its runs."""
    assert res._runs is not None and res._gmaps is not None and res._key_map is not None
    u = _union(res._runs, res._gmaps)
    return _as_diff_tree(res, u.prefix, u.key, u.self_, u.total)


def _as_diff_tree(res: DiffResult, prefix: np.ndarray, gkey: np.ndarray, selfm: np.ndarray,
                  totm: np.ndarray) -> DiffTree:
    assert res._key_map is not None
    rb = res.base.n_runs
    sc, _ = _run_scales(res)
    key = res._key_map[gkey] if len(gkey) else np.zeros(0, np.int64)
    return DiffTree(prefix, key, selfm[:, :rb] @ sc[:rb], totm[:, :rb] @ sc[:rb],
                    selfm[:, rb:] @ sc[rb:], totm[:, rb:] @ sc[rb:])


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


def _lookup(rows: np.ndarray, parent_c: np.ndarray, gkey: np.ndarray, m: np.ndarray,
            index: pd.Index, base: int) -> None:
    """Map ``rows`` (not yet matched; parents matched to ``parent_c``, -1 at a root) onto
    the candidate nodes in ``index`` (codes ``(parent + 1) * base + key``); -1 when absent."""
    if len(rows):
        m[rows] = index.get_indexer((parent_c + 1) * base + gkey[rows])


def _match_children(prefix: np.ndarray, gkey: np.ndarray, m: np.ndarray, index: pd.Index,
                    base: int) -> None:
    """Match a run's rows to the candidate nodes, walking down from the roots through the
    children of matched rows only (``prefix`` never decreases, so a row's children are
    one contiguous range found by binary search): work in proportion to the matches."""
    nroot = int(np.searchsorted(prefix, -1, side="right"))
    front = np.arange(nroot, dtype=np.int64)
    todo = front[m[front] < 0]
    _lookup(todo, np.full(len(todo), -1, np.int64), gkey, m, index, base)
    front = front[m[front] >= 0]
    while len(front):
        lo = np.searchsorted(prefix, front, side="left")
        hi = np.searchsorted(prefix, front, side="right")
        n = hi - lo
        if not n.any():
            break
        # children of every frontier row, back to back
        kids = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()), dtype=np.int64)
        todo = kids[m[kids] < 0]
        _lookup(todo, m[prefix[todo]], gkey, m, index, base)
        front = kids[m[kids] >= 0]


def _match_levels(prefix: np.ndarray, gkey: np.ndarray, depth: np.ndarray, m: np.ndarray,
                  index: pd.Index, base: int) -> None:
    """:func:`_match_children` for tables in any order: one pass over each depth level."""
    order, bounds = tree.levels(depth)
    b = bounds.tolist()
    for d in range(1, len(b)):
        lo, hi = b[d - 1], b[d]
        if hi == lo:
            continue
        lv = np.arange(lo, hi) if order is None else order[lo:hi]
        par = prefix[lv]
        pm = np.where(par >= 0, m[np.maximum(par, 0)], -1)
        sel = (m[lv] < 0) & ((pm >= 0) | (par < 0))
        if sel.any():
            _lookup(lv[sel], pm[sel], gkey, m, index, base)


def _pruned_tree(res: DiffResult, thr: float) -> PrunedTree:
    """See :meth:`DiffResult.pruned_tree` (``thr`` in percent)."""
    assert res._runs is not None and res._gmaps is not None
    runs = res._runs
    deep = any(len(r.depth) and tree.loop_is_faster(int(r.depth.max()), len(r.depth))
               for r in runs)
    negative = any(len(r.self_) and float(r.self_.min()) < 0 for r in runs)
    sc, own = _run_scales(res)
    rb = res.base.n_runs
    if thr <= 0 or deep or negative:
        t = res.tree()
        keep = np.maximum(t.base_total, t.head_total) >= thr if thr > 0 else \
            np.ones(len(t.prefix), bool)
        pruned = int((~keep).sum())
    else:
        prefix, gkey, selfm, totm = _union_pruned(runs, res._gmaps, own, thr)
        t = _as_diff_tree(res, prefix, gkey, selfm, totm)
        keep = np.maximum(t.base_total, t.head_total) >= thr
        pruned = None
    # keep is closed upward (a parent is at least as wide as its child on both sides)
    pr = tree.prune(t.prefix, keep)
    idx = pr.kept
    nk = pr.n_kept
    pre = pr.prefix[:nk]
    kt = DiffTree(pre, t.key[idx], t.base_self[idx], t.base_total[idx], t.head_self[idx],
                  t.head_total[idx])
    # pruned children per kept parent (slot nk: the pruned roots): measured directly when
    # every node is at hand, else as the parent's total minus its self and its kept children
    slot = np.where(pre >= 0, pre, nk)
    if pruned is not None:
        other = pr.row_map[pr.cut] - nk  # the [other] row of each pruned subtree's top
        oslot = np.where(pr.other_parent >= 0, pr.other_parent, nk)
        ob = np.zeros(nk + 1)
        oh = np.zeros(nk + 1)
        no = len(oslot)
        ob[oslot] = np.bincount(other, weights=t.base_total[pr.cut], minlength=no)
        oh[oslot] = np.bincount(other, weights=t.head_total[pr.cut], minlength=no)
    else:
        # a side's whole width: every run's total in percent, averaged over the side
        side_b = float(sum(ri.total * f for ri, f in zip(res.base.runs, sc[:rb])))
        side_h = float(sum(ri.total * f for ri, f in zip(res.head.runs, sc[rb:])))
        ob = np.zeros(nk + 1)
        oh = np.zeros(nk + 1)
        ob[:nk] = kt.base_total - kt.base_self
        oh[:nk] = kt.head_total - kt.head_self
        ob[nk] = side_b
        oh[nk] = side_h
        ob -= np.bincount(slot, weights=kt.base_total, minlength=nk + 1)
        oh -= np.bincount(slot, weights=kt.head_total, minlength=nk + 1)
        # rounding leaves crumbs of 1e-13 where nothing was pruned
        eps = 1e-9 * max(side_b, side_h, 1e-300)
        ob[ob < eps] = 0.0
        oh[oh < eps] = 0.0
    return PrunedTree(kt, ob, oh, pruned)


def _union_pruned(runs: list[PreparedRun], gmaps: list[np.ndarray], own: np.ndarray,
                  thr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge only the paths that are at least ``thr`` percent wide in some run.

    A union node kept by the flame graph has a side average of at least ``thr``,
    so at least one run holds it at ``thr`` or more (``own`` turns a run's
    values into its own percent). Those rows (closed upward: a parent is as
    wide as its child) are merged; then each run's other rows are looked up,
    level by level, under their matched parents, so every run's value of every
    candidate node is exact. Returns ``(prefix, global key, self [C, R],
    total [C, R])`` of the candidate nodes.
    """
    nk = max((int(g.max()) + 1 for g in gmaps if len(g)), default=0)
    base = nk + 1
    subs, cand_rows = [], []
    for r, g, f in zip(runs, gmaps, own):
        rows = np.flatnonzero(r.total * f >= thr) if len(r.total) else np.zeros(0, np.int64)
        remap = np.full(len(r.prefix), -1, np.int64)
        remap[rows] = np.arange(len(rows))
        par = r.prefix[rows]
        subs.append((np.where(par >= 0, remap[np.maximum(par, 0)], -1),
                     g[r.key[rows]] if len(rows) else np.zeros(0, np.int64), r.depth[rows]))
        cand_rows.append(rows)
    cprefix, ckey, o2n, _ = tree.merge(subs, nk)
    nc, nr = len(cprefix), len(runs)
    selfm = np.zeros((nc, nr))
    totm = np.zeros((nc, nr))
    if nc == 0:
        return cprefix, ckey, selfm, totm
    import pandas as pd

    index = pd.Index((cprefix + 1) * base + ckey)
    for i, (r, g, rows, m0) in enumerate(zip(runs, gmaps, cand_rows, o2n)):
        m = np.full(len(r.prefix), -1, np.int64)
        m[rows] = m0
        if len(r.prefix) > 1 and bool((r.prefix[1:] >= r.prefix[:-1]).all()):
            _match_children(r.prefix, g[r.key], m, index, base)
        else:
            _match_levels(r.prefix, g[r.key], r.depth, m, index, base)
        hit = m >= 0
        selfm[:, i] = np.bincount(m[hit], weights=r.self_[hit], minlength=nc)
        totm[:, i] = np.bincount(m[hit], weights=r.total[hit], minlength=nc)
    return cprefix, ckey, selfm, totm
