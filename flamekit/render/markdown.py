"""The pull-request comment (pipeline stage: render): a diff as GitHub-flavored Markdown.

Layout: the hidden marker :data:`MARKER` (a CI job finds its previous comment
by it and edits it instead of adding a new one), a one-line verdict, the top
regressions and improvements as GFM tables (function, file, base %, head %,
Δ pp, status, q-value), then ``<details>`` blocks with every change and the
method. The text never exceeds :data:`MAX_CHARS` characters: the long table is
cut, with a note saying how many rows were left out.

Function names and files are untrusted (they come from the code under
review): :func:`cell` makes any string one inert table cell.
"""
from __future__ import annotations

import math
import re
import os
from typing import Any

import pandas as pd

from ..analysis.diff import DiffResult, SideInfo
from ..atomic import write_output

MARKER = "<!-- flamekit-diff -->"
#: GitHub refuses comments over 65,536 characters; stay well below.
MAX_CHARS = 60_000
TOP_ROWS = 10
_NAME_MAX = 160
_FILE_MAX = 100
_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:\"'$%^=,?/])")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_NEWLINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85")


def cell(text: Any, limit: int = _NAME_MAX, keep_end: bool = False) -> str:
    """Return ``text`` as inert Markdown table-cell text.

    One line (newlines become ``⏎``), at most ``limit`` characters (cut with
    ``…``; from the left when ``keep_end``, for file paths), control characters
    replaced, every ASCII punctuation character that Markdown could read
    backslash-escaped (``|`` cannot end the cell, backticks cannot open code),
    ``<`` and ``&`` as entities (no HTML), and ``@`` followed by a zero-width
    space (no mention pings).
    """
    s = _NEWLINES.sub("⏎", str(text))
    s = _CONTROL.sub("\ufffd", s)
    if len(s) > limit:
        s = ("…" + s[-(limit - 1):]) if keep_end else (s[:limit - 1] + "…")
    s = _PUNCT.sub(r"\\\1", s)
    s = s.replace("&", "&amp;").replace("<", "&lt;")
    s = s.replace("@", "@\u200b")
    return s or "\u200b"


def _pct(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "–"


def _q(q: float) -> str:
    if not math.isfinite(q):
        return "–"
    if q < 0.001:
        return f"{q:.1e}"
    return f"{q:.3f}"


def _row(r: pd.Series, metric: str, show_line: bool) -> str:
    name = cell(r["name"])
    file = cell(r["file"], _FILE_MAX, keep_end=True) if r["file"] else "–"
    if show_line and int(r["line"]):
        file += f":{int(r['line'])}"
    sig = "**yes**" if r["significant"] else "no"
    return (f"| {name} | {file} | {_pct(r['base_' + metric])} | {_pct(r['head_' + metric])} | "
            f"{r['delta_' + metric]:+.2f} | {r['status']} | {_q(r['q_value'])} {sig} |")


def _table(rows: pd.DataFrame, metric: str, show_line: bool) -> list[str]:
    head = ["| Function | File | Base % | Head % | Δ pp | Status | q (significant) |",
            "|---|---|--:|--:|--:|---|---|"]
    return head + [_row(r, metric, show_line) for _, r in rows.iterrows()]


def verdict_line(result: DiffResult) -> str:
    """Return the one-line verdict (Markdown, names escaped)."""
    o = result.options
    regs, imps = result.regressions(), result.improvements()
    crit = f"q ≤ {o.alpha:g} and |Δ| ≥ {o.min_delta:g} pp of {o.metric} time"
    if len(regs):
        w = regs.iloc[0]
        return (f"🔴 **Regression**: {len(regs)} function(s) got slower ({crit}); worst: "
                f"{cell(w['name'])} {w['delta_' + o.metric]:+.2f} pp ({w['status']}). "
                f"{len(imps)} improvement(s).")
    if len(imps):
        b = imps.iloc[0]
        return (f"🟢 **Improvement**: {len(imps)} function(s) got faster ({crit}); best: "
                f"{cell(b['name'])} {b['delta_' + o.metric]:+.2f} pp. No regression.")
    return f"⚪ **No significant change** ({crit})."


def _side_text(side: SideInfo) -> str:
    tot = sum(r.total for r in side.runs)
    n = sum(r.effective_samples for r in side.runs)
    return (f"{side.n_runs} run{'s' if side.n_runs != 1 else ''}, {tot:,.0f} "
            f"{cell(side.sample_type.unit, 40)} (≈{n:,.0f} samples)")


def _method(result: DiffResult) -> list[str]:
    o = result.options
    if result.method == "binomial":
        test = (f"one run per side: two-proportion z test under the sampling model, variance × "
                f"{result.dispersion:.2f} for over-dispersion ({cell(result.dispersion_source, 200)})")
    else:
        test = ("several runs per side: Welch's t on per-run shares (variance never below "
                "the sampling variance)")
    ident = {"function": "(name, file): moved lines are not new code",
             "line": "(name, file, line)", "file": "file"}[o.by]
    lines = [f"- Frames matched by {ident}.",
             f"- Measure: {result.normalization['shares']}.",
             f"- Test: {test}; Benjamini–Hochberg over "
             f"{int(result.table['tested'].sum())} functions that could reach {o.min_delta:g} pp.",
             f"- Regression: q ≤ {o.alpha:g} and Δ ≥ {o.min_delta:g} pp of {o.metric} time."]
    names = result.normalization
    if names["names_enabled"]:
        ch_b, ch_h = names["frames_changed"]["base"], names["frames_changed"]["head"]
        rules = ", ".join(f"{cell(r['name'], 40)} ({ch_b.get(r['name'], 0)}/"
                          f"{ch_h.get(r['name'], 0)})" for r in names["rules"])
        lines.append(f"- Name normalization on (frames changed base/head): {rules}. "
                     "Turn off with `--no-normalize-names`.")
    else:
        lines.append("- Name normalization off.")
    return lines


def render(result: DiffResult, *, title: str = "flamekit diff", artifact_note: str = "",
           max_chars: int = MAX_CHARS, top: int = TOP_ROWS, min_detail_pp: float = 0.1) -> str:
    """Return the PR comment for a diff result (at most ``max_chars`` characters)."""
    o = result.options
    metric = o.metric
    show_line = o.by == "line"
    head = [MARKER, f"### {cell(title, 120)}", "", verdict_line(result), "",
            f"Base: {_side_text(result.base)} · Head: {_side_text(result.head)} · "
            f"sample type {cell(str(result.base.sample_type), 60)}", ""]
    regs = result.regressions().head(top)
    imps = result.improvements().head(top)
    body: list[str] = []
    if len(regs):
        body += [f"#### Regressions (top {len(regs)})", ""] + _table(regs, metric, show_line) + [""]
    if len(imps):
        body += [f"#### Improvements (top {len(imps)})", ""] + _table(imps, metric, show_line) + [""]
    t = result.table
    detail = t[(t["delta_self"].abs() >= min_detail_pp) | (t["delta_total"].abs() >= min_detail_pp)]
    method = ["<details><summary>Method</summary>", ""] + _method(result) + ["", "</details>", ""]
    tail = ([artifact_note, ""] if artifact_note else []) + \
        [f"<sub>flamekit diff · {len(t)} functions compared</sub>", ""]

    def build(n: int) -> str:
        rows = detail.head(n)
        det = [f"<details><summary>All changes ({len(detail)} functions with |Δ| ≥ "
               f"{min_detail_pp:g} pp)</summary>", ""]
        det += _table(rows, metric, show_line) if len(rows) else ["(none)"]
        if n < len(detail):
            det += ["", f"… {len(detail) - n} more rows left out to stay under "
                        f"{max_chars:,} characters; see the JSON or HTML output."]
        det += ["", "</details>", ""]
        return "\n".join(head + body + det + method + tail)

    text = build(len(detail))
    if len(text) <= max_chars:
        return text
    lo, hi = 0, len(detail)
    while lo < hi:  # the most rows that fit
        mid = (lo + hi + 1) // 2
        if len(build(mid)) <= max_chars:
            lo = mid
        else:
            hi = mid - 1
    text = build(lo)
    if len(text) > max_chars:  # only with absurd limits: keep the verdict and the marker
        text = "\n".join(head)[:max_chars]
    return text


def write(result: DiffResult, path: str | os.PathLike, **kwargs: Any) -> None:
    """Write the comment atomically to ``path`` (``-`` for stdout)."""
    write_output(path, render(result, **kwargs))
