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
from . import diff_words as words

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


_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")


def code(text: Any, limit: int = _NAME_MAX, keep_end: bool = False) -> str:
    """Return ``text`` as an inert code span for a GFM table cell.

    One line (newlines become ``⏎``), at most ``limit`` characters (cut with
    ``…``; from the left when ``keep_end``), control and bidirectional-override
    characters replaced, fenced by one more backtick than the longest run of
    backticks inside (CommonMark code spans; a space pads a name that starts or
    ends with a backtick), and ``|`` escaped so it cannot end the cell. Nothing
    else is escaped: inside a code span Markdown and HTML are literal text, so
    the name stays greppable.
    """
    s = _NEWLINES.sub("⏎", str(text))
    s = _CONTROL.sub("\ufffd", s)
    s = _BIDI.sub("\ufffd", s)
    if not s:
        return "–"
    if len(s) > limit:
        s = ("…" + s[-(limit - 1):]) if keep_end else (s[:limit - 1] + "…")
    run = max((len(m) for m in re.findall("`+", s)), default=0)
    fence = "`" * (run + 1)
    if s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" ")):
        s = f" {s} "
    return f"{fence}{s.replace('|', chr(92) + '|')}{fence}"


def _plain(text: str) -> str:
    """flamekit's own prose: only ``<``, ``&``, ``|`` and backticks made inert."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|").replace("`", "'")


def _pct(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "–"


_ICONS = {"slower": "🔴 slower", "faster": "🔵 faster"}


def _status_cell(r: pd.Series, o: Any) -> str:
    if r["kind"] == "startup":
        return f"start-up ({int(r['startup_functions'])} functions)"
    text = words.status_text(r, o.metric, o.alpha, o.min_delta)
    head = text.split(" (", 1)[0]
    return _ICONS.get(head, head)


def _row(r: pd.Series, o: Any, show_line: bool, times: words.RunTimes | None,
         root: str | None) -> str:
    metric = o.metric
    name = code(r["name"])
    fl = words.short_path(r["file"], root) if r["file"] else ""
    file = code(fl, _FILE_MAX, keep_end=True) if fl else "–"
    if show_line and int(r["line"]):
        file += f":{int(r['line'])}"
    q = "–" if r["kind"] == "startup" else words.fmt_q(float(r["q_value"]))
    if r["significant"]:
        q = f"**{q}**"
    cells = [_status_cell(r, o), f"{r['delta_' + metric]:+.2f}"]
    if times is not None:
        sec = words.row_seconds(r, metric, times)
        cells.append(f"{sec:+.3f}" if sec is not None else "–")
    cells += [q, name, file, _pct(r["base_" + metric]), _pct(r["head_" + metric])]
    return "| " + " | ".join(cells) + " |"


def _mib(x: float, sign: bool = False) -> str:
    x = float(x)
    if not math.isfinite(x):
        return "–"
    return f"{x / 1048576:+,.2f}" if sign else f"{x / 1048576:,.2f}"


def _memory_row(r: pd.Series, show_line: bool, root: str | None) -> str:
    """A row of a memory diff (analysis.diff.memory): exact bytes, then shares."""
    fl = words.short_path(r["file"], root) if r["file"] else ""
    file = code(fl, _FILE_MAX, keep_end=True) if fl else "–"
    if show_line and int(r["line"]):
        file += f":{int(r['line'])}"
    status = words.memory_status_text(r).split(" (", 1)[0]
    return (f"| {status} | {_mib(r['delta_bytes'], True)} | {code(r['name'])} | {file} | "
            f"{_mib(r['base_bytes'])} | {_mib(r['head_bytes'])} | {_pct(r['base_self'])} | "
            f"{_pct(r['head_self'])} |")


def _table(rows: pd.DataFrame, o: Any, show_line: bool, times: words.RunTimes | None,
           root: str | None) -> list[str]:
    if "delta_bytes" in rows.columns:  # a memory diff: exact bytes beside the shares
        return (["| Status | Δ MiB | Function | File | Base MiB | Head MiB | Base % | Head % |",
                 "|---|--:|---|---|--:|--:|--:|--:|"]
                + [_memory_row(r, show_line, root) for _, r in rows.iterrows()])
    cols = ["Status", "Δ pp"] + (["Δ s/run"] if times is not None else []) + \
        ["q", "Function", "File", "Base %", "Head %"]
    align = ["---", "--:"] + (["--:"] if times is not None else []) + \
        ["--:", "---", "---", "--:", "--:"]
    head = ["| " + " | ".join(cols) + " |", "|" + "|".join(align) + "|"]
    return head + [_row(r, o, show_line, times, root) for _, r in rows.iterrows()]


def verdict_line(result: DiffResult) -> str:
    """Return the one-line verdict (Markdown, names in code spans)."""
    o = result.options
    regs, imps = result.regressions(), result.improvements()
    mem = result.normalization.get("memory")
    if mem is not None:
        return _memory_verdict(result, mem, regs, imps)
    crit = f"q ≤ {o.alpha:g} and |Δ| ≥ {o.min_delta:g} pp of {o.metric} time"
    times = words.run_times(result)
    run = f" Run time: {times.text()}." if times is not None else ""
    if len(regs):
        w = regs.iloc[0]
        sec = words.row_seconds(w, o.metric, times)
        secs = f", {words.fmt_s(sec, sign=True)} per run" if sec is not None else ""
        return (f"🔴 **Regression**: {len(regs)} function(s) got slower ({crit}); worst: "
                f"{code(w['name'])} {w['delta_' + o.metric]:+.2f} pp{secs} ({w['status']}, "
                f"q {words.fmt_q(float(w['q_value']))}). {len(imps)} improvement(s).{run}")
    if len(imps):
        b = imps.iloc[0]
        return (f"🔵 **Improvement**: {len(imps)} function(s) got faster ({crit}); best: "
                f"{code(b['name'])} {b['delta_' + o.metric]:+.2f} pp. No regression.{run}")
    return f"⚪ **No significant change** ({crit}).{run}"


def _memory_verdict(result: DiffResult, mem: dict, regs: pd.DataFrame, imps: pd.DataFrame) -> str:
    """The verdict of a memory diff: bytes first, then shares."""
    st = code(result.base.sample_type.name, 40)
    crit = f"|Δ| ≥ {result.options.min_delta:g}% of base's {st}" + (
        f" or ≥ {cell(mem['gate'], 60)}" if mem.get("gate") else "")
    tot = (f"{st}: {_mib(mem['base_total_bytes'])} → {_mib(mem['head_total_bytes'])} MiB "
           f"({_mib(mem['head_total_bytes'] - mem['base_total_bytes'], True)} MiB)")
    if len(regs):
        w = regs.iloc[0]
        return (f"🔴 **Memory regression**: {len(regs)} function(s) grew ({crit}); worst: "
                f"{code(w['name'])} {_mib(w['delta_bytes'], True)} MiB ({w['status']}). {tot}.")
    if len(imps):
        b = imps.iloc[0]
        return (f"🔵 **Memory improvement**: {len(imps)} function(s) shrank ({crit}); best: "
                f"{code(b['name'])} {_mib(b['delta_bytes'], True)} MiB. {tot}.")
    return f"⚪ **No memory change** ({crit}). {tot}."


def _side_text(side: SideInfo, seconds: float | None) -> str:
    tot = sum(r.total for r in side.runs)
    n = sum(r.effective_samples for r in side.runs)
    if side.sample_type.unit == "bytes":  # exact sizes, not samples (memray)
        return (f"{code(words.side_name(side), 120)} ({side.n_runs} run{'s' if side.n_runs != 1 else ''}, "
                f"{_mib(tot / max(side.n_runs, 1))} MiB per run)")
    secs = f", {words.fmt_s(seconds)} per run" if seconds is not None else ""
    return (f"{code(words.side_name(side), 120)} ({side.n_runs} run{'s' if side.n_runs != 1 else ''}, "
            f"{tot:,.0f} {cell(side.sample_type.unit, 40)}, ≈{n:,.0f} samples{secs})")


#: import warnings the comment quotes before "… and N more"
SHOWN_WARNINGS = 6


def input_warnings(result: DiffResult, shown: int = SHOWN_WARNINGS) -> list[str]:
    """Return the comment's lines on doubtful inputs ([] when there are none).

    A count per side, then each run py-spy recorded late (its shares lean toward
    what the program waited on), then the first ``shown`` import warnings, each
    naming its run (the text is the input's: a code span), then how many more
    (:func:`flamekit.render.diff_words.input_doubts`, which the diff page shows too).
    """
    d = words.input_doubts(result, shown, prose=_plain, quote=code)
    if d is None:
        return []
    lines = [f"- ⏱️ {ln}" for ln in d["late"]] + [f"- {ln}" for ln in d["quoted"]]
    return ([f"**⚠️ Input warnings**: {d['counts']} (`flamekit info FILE` lists a "
             "file's warnings)", ""] + lines
            + ([f"- … and {d['more']} more"] if d["more"] else []) + [""])


def _method(result: DiffResult) -> list[str]:
    o = result.options
    if result.method == "exact":  # a memory diff (analysis.diff.memory)
        return [f"- Frames matched by {'(name, file)' if o.by == 'function' else o.by}.",
                f"- Measure: each function's own bytes of {code(str(result.base.sample_type), 60)}, "
                f"mean over a side's runs, and its share of the side's total.",
                "- Exact: memray records every allocation, so there is no sampling error to test.",
                f"- Grew: Δ bytes ≥ {o.min_delta:g}% of base's total, or at least the memory gate "
                f"({cell(result.normalization['memory'].get('gate') or 'none', 60)})."] + (
                    [f"- Allocator: {_plain(note)}"]
                    if (note := result.normalization['memory'].get('allocator_note')) else [])
    if result.method == "binomial":
        test = (f"one run per side: two-proportion z test under the sampling model, variance × "
                f"{result.dispersion:.2f} for over-dispersion ({_plain(result.dispersion_source)})")
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
        rules = ", ".join(f"{code(r['name'], 40)} ({ch_b.get(r['name'], 0)}/"
                          f"{ch_h.get(r['name'], 0)})" for r in names["rules"])
        lines.append(f"- Name normalization on (frames changed base/head): {rules}. "
                     "Turn off with `--no-normalize-names`.")
    else:
        lines.append("- Name normalization off.")
    return lines


def render(result: DiffResult, *, title: str = "flamekit diff", artifact_note: str = "",
           max_chars: int = MAX_CHARS, top: int = TOP_ROWS, min_detail_pp: float = 0.1,
           show_startup: bool = False, root: str | None = None) -> str:
    """Return the PR comment for a diff result (at most ``max_chars`` characters).

    The long table lists only rows whose judged |Δ| meets ``min_detail_pp``;
    interpreter start-up frames are one row unless ``show_startup``. Paths are
    shortened relative to ``root`` (default: the git repository around the
    working directory) or ``site-packages/``.
    """
    o = result.options
    show_line = o.by == "line"
    if root is None:
        root = words.repo_root()
    times = words.run_times(result)
    head = [MARKER, f"### {cell(title, 120)}", "", verdict_line(result), "",
            f"Base: {_side_text(result.base, times.base_s if times else None)} · "
            f"Head: {_side_text(result.head, times.head_s if times else None)} · "
            f"sample type {code(str(result.base.sample_type), 60)}", ""] + input_warnings(result)
    regs = result.regressions().head(top)
    imps = result.improvements().head(top)
    body: list[str] = []
    if len(regs):
        body += [f"#### Regressions (top {len(regs)})", ""] + \
            _table(regs, o, show_line, times, root) + [""]
    if len(imps):
        body += [f"#### Improvements (top {len(imps)})", ""] + \
            _table(imps, o, show_line, times, root) + [""]
    t = result.table
    detail = words.detail_rows(result, min_detail_pp, show_startup)
    method = ["<details><summary>Method</summary>", ""] + _method(result) + ["", "</details>", ""]
    tail = ([artifact_note, ""] if artifact_note else []) + \
        [f"<sub>flamekit diff · {len(t)} functions compared</sub>", ""]
    startup = "" if show_startup else "; interpreter start-up frames grouped into one row"

    def build(n: int) -> str:
        rows = detail.head(n)
        det = [f"<details><summary>All changes ({len(detail)} rows with |Δ {o.metric}| ≥ "
               f"{min_detail_pp:g} pp{startup})</summary>", ""]
        det += _table(rows, o, show_line, times, root) if len(rows) else ["(none)"]
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
