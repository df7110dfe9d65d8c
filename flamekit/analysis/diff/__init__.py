"""Diff two sets of profiles (pipeline stage: analysis): what grew, what is new, is it real.

``diff(base, head)`` compares a BASE side and a HEAD side, each one or more
profiles of the same workload (repeated runs), and returns a :class:`DiffResult`:
a pandas table with one row per function (or line, or file) and the facts a
renderer needs. Nothing here formats strings for humans.

Each profile is first reduced on its own to a :class:`PreparedRun` (a call
tree keyed by function, with per-function figures: :func:`prepare_run`, or
:func:`prepare_paths` for folded files read as paths), in the process that
loaded the file (:func:`diff_inputs`, the one route from paths to a result for
both :func:`flamekit.diff` and ``flamekit diff``), so :func:`diff` itself only
joins keys and tests, and the flame graph merges the keyed trees when it is
drawn.

Modules: :mod:`.result` (:class:`DiffResult` and its parts), :mod:`.prepare`
(runs), :mod:`.stats` (significance), :mod:`.union` (key table, union tree),
:mod:`.compare` (:func:`diff`), :mod:`.inputs` (paths, forked loading).

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

from .compare import check_options, diff
from .inputs import diff_inputs, expand_paths, map_paths, prepare_sides
from ...model import TIME_UNITS
from ..uncertainty import COUNT_UNITS
from .prepare import PreparedRun, effective_samples, prepare_paths, prepare_run, run_duration
from .result import (BY_CHOICES, DEFAULT_ALPHA, DEFAULT_MIN_DELTA, METRICS, STATUSES,
                     DiffOptions, DiffResult, DiffTree, PrunedTree, RunInfo, SideInfo)

__all__ = ["BY_CHOICES", "COUNT_UNITS", "DEFAULT_ALPHA", "DEFAULT_MIN_DELTA", "METRICS",
           "STATUSES", "TIME_UNITS", "DiffOptions", "DiffResult", "DiffTree", "PreparedRun",
           "PrunedTree", "RunInfo", "SideInfo", "check_options", "diff", "diff_inputs",
           "effective_samples", "expand_paths", "map_paths", "prepare_paths", "prepare_run",
           "prepare_sides", "run_duration"]
