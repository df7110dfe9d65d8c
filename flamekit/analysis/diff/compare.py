"""The diff itself (pipeline stage: analysis): join the prepared runs' keys and test them.

:func:`diff` takes BASE and HEAD runs (profiles, or runs prepared where they
were loaded: :mod:`.prepare`, :mod:`.inputs`), unifies their function keys
(:func:`.union.key_table`), runs the tests of :mod:`.stats` and returns a
:class:`~flamekit.analysis.diff.result.DiffResult`. The method is described in
:mod:`flamekit.analysis.diff` and, for users, in ``docs/diff.md``.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ...errors import UsageError
from ...model import Profile, SampleType
from ..normalize import DEFAULT_RULES, rules_info
from .prepare import PreparedRun, prepare_run
from .result import (BY_CHOICES, DEFAULT_ALPHA, DEFAULT_MIN_DELTA, METRICS, DiffOptions,
                     DiffResult, SideInfo)
from .stats import bh_filtered, most_changed, significance, within_dispersion
from .union import key_table


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
        if not r.info.total > 0:  # a failed recording must not pass a CI gate as "no change"
            raise UsageError(f"{label.lower()} {r.info.source} has no samples ({r.sample_type} total "
                             f"{r.info.total:g}): nothing to compare; was its recording empty?")
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
    allk, S, T, gmaps, key_map = key_table(prepared)
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
    within = within_dispersion(prepared, gmaps, key_map) if rb == 1 and nr == 2 else None
    p_self, phi_s, src_s, method = significance(MS[:rb], MS[rb:], expo[:rb], expo[rb:], absolute,
                                         dispersion, common, (MS[:rb], MS[rb:]), within)
    top_k = most_changed(MS, expo, rb, absolute)
    if top_k is not None:
        # Shares compete: when one function grows (or shrinks) a lot, every other share moves
        # the other way in proportion. Judge the others on their share of the time OUTSIDE
        # the most-changed function (with the sample count outside it): what moved only by
        # dilution is then unchanged. The most-changed function keeps its plain test.
        out = 1.0 - MS[:, top_k] / 100.0
        MR = MS / out[:, None]
        er = expo * out
        p_r, _, _, _ = significance(MR[:rb], MR[rb:], er[:rb], er[rb:], absolute, phi_s if method ==
                             "binomial" else dispersion, common, (MR[:rb], MR[rb:]))
        p_r[top_k] = p_self[top_k]
        p_self = p_r
    p_total, phi_t, src_t, _ = significance(MT[:rb], MT[rb:], expo[:rb], expo[rb:], absolute,
                                     dispersion, common, (MS[:rb], MS[rb:]), within)
    # Independent filtering (as in DESeq2): a function whose BASE + HEAD figure is
    # below min_delta can never change by min_delta, so it is not a test in the
    # Benjamini-Hochberg family. The sum does not depend on the direction of the
    # change, so the filter keeps the false-discovery guarantee.
    tested_s = (MS[:rb].mean(axis=0) + MS[rb:].mean(axis=0)) >= max(min_delta, 1e-12)
    tested_t = (MT[:rb].mean(axis=0) + MT[rb:].mean(axis=0)) >= max(min_delta, 1e-12)
    q_self = bh_filtered(p_self, tested_s)
    q_total = bh_filtered(p_total, tested_t)

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
    return DiffResult(opts, SideInfo("BASE", bst, bruns), SideInfo("HEAD", hst, hruns), table,
                      method, phi, src, norm, keys, _runs=prepared, _gmaps=gmaps,
                      _key_map=key_map)


def _sum_counts(chg: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in chg:
        for k, v in c.items():
            out[k] = out.get(k, 0) + int(v)
    return out
