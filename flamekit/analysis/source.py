"""Per-line self and total of each function, and the source text to show them on (pipeline stage: analysis).

The report's source view (scalene's per-line view, CPython 3.15's line heatmap)
needs, for a function, every line the profile saw it at with two figures:

* **self** of a line: the value of the samples whose leaf frame is that function
  at that line. The lines' self values sum to the function's self value.
* **total** of a line: the value of the samples in which the function is on the
  stack and its *outermost* occurrence on that stack is at that line (recursion
  counted once, as :func:`flamekit.model.functions` does). The lines' totals
  sum to the function's total.
* with library frames hidden (:func:`flamekit.model.hide_libraries`) a line's
  self also counts the samples whose leaf was library code it called; totals
  do not change.

Both come from the profile before it is grouped by function (recorders keep line
numbers: py-spy's speedscope output has one frame per line). Source text comes
from the profile when it carries it (scalene's ``scalene_lines.source``), else from
the file at report time when it exists, is a Python source file and is small
enough; :func:`line_data` with ``source=False`` (``flamekit report --no-source``)
reads and keeps no text at all. Source text is UNTRUSTED: the renderer escapes it.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

import numpy as np

from .. import tree
from ..model import CallTree, Frame, Profile, frame_keys
from .hotspots import row_functions

#: Functions that get per-line figures (the heaviest by absolute total of the shown type).
MAX_FUNCTIONS = 4000
#: Source lines kept per file (the lines the profile saw and their context).
MAX_FILE_LINES = 3000
#: Characters kept per source line.
MAX_LINE_CHARS = 400
#: Files whose text is kept, and their bytes in all (the heaviest functions' files first).
MAX_FILES = 200
MAX_TEXT_BYTES = 4 << 20
#: A file larger than this is not read at report time.
MAX_FILE_BYTES = 2 << 20
#: Above this many stack rows a line's total counts only direct recursion once (the exact
#: rule, :func:`flamekit.tree.topmost` over every row, would add ~20 % to a report's time).
EXACT_ROWS = 500_000
#: Lines of context kept around each line the profile saw (the page shows the same).
CONTEXT = 8
#: Only these files are read from disk: a hostile profile must not be able to name
#: ``~/.ssh/id_rsa`` and have its text embedded in a report.
SOURCE_SUFFIXES = (".py", ".pyw", ".pyx", ".pxd", ".pyi")


@dataclass
class FunctionLines:
    """Per-line figures of one function: ``self``/``total`` have one row per sample type."""

    function: Frame  # line 0: the function's identity (as ``group(p, "function")`` makes it)
    lines: list[int]  # ascending; 0 is "line unknown"
    self: np.ndarray  # shape (types, lines)
    total: np.ndarray
    #: the lines' self values with library frames hidden (``hide_libraries``), or None
    self_hidden: np.ndarray | None = None


@dataclass
class SourceText:
    """Text of the lines around the ones the profile saw: ``chunks`` of ``(first line, [text])``."""

    path: str
    chunks: list[tuple[int, list[str]]]
    origin: str  # "profile" (the profiler embedded it) or "file" (read at report time)
    cut: bool = False  # True when more than :data:`MAX_FILE_LINES` lines were wanted


@dataclass
class LineData:
    """Per-line figures of the heaviest functions and the source text of their files."""

    functions: list[FunctionLines] = field(default_factory=list)
    sources: dict[str, SourceText] = field(default_factory=dict)
    #: True when source text was left out on request (``--no-source``)
    omitted: bool = False
    #: True when totals count only direct recursion once (more than :data:`EXACT_ROWS` rows)
    approximate: bool = False


def line_data(p: Profile, *, source: bool = True, sample_type: int = 0,
              max_functions: int = MAX_FUNCTIONS, hidden: Profile | None = None,
              trees: dict[int, CallTree] | None = None,
              functions_of_rows: tuple[list[Frame], np.ndarray] | None = None,
              frame_functions: np.ndarray | None = None) -> LineData:
    """Return per-line self and total of the heaviest functions of ``p`` (see the module docstring).

    Functions are ranked by absolute total of ``sample_type``; only functions
    seen with a line number are listed. ``source=False`` keeps no text.
    ``hidden`` is ``hide_libraries(p)``: each function then also gets its lines'
    self values with library frames folded into it (``self_hidden``).
    ``trees`` (call trees of ``p`` by sample type index) and ``functions_of_rows``
    (:func:`.hotspots.row_functions`) save computing them again, as does
    ``frame_functions`` (each frame's function index, ``frame_keys(p.frames, "function")[1]``).
    """
    out = LineData(omitted=not source)
    if p.n_samples == 0 or not p.sample_types or not any(f.line for f in p.frames):
        return out
    out.approximate = p.n_stacks > EXACT_ROWS
    keys, pfunc, pline, sp, tp = _pairs(p, exact=not out.approximate, trees=trees,
                                        functions_of_rows=functions_of_rows,
                                        frame_functions=frame_functions)
    func_total = np.bincount(pfunc, weights=np.abs(tp[sample_type]), minlength=len(keys))
    has_line = np.bincount(pfunc, weights=(pline > 0).astype(float), minlength=len(keys)) > 0
    cand = np.flatnonzero(has_line & (func_total > 0))
    cand = cand[np.argsort(-func_total[cand], kind="stable")][:max_functions]
    starts = np.searchsorted(pfunc, cand)  # pairs are sorted by function, then line
    lens = np.searchsorted(pfunc, cand, side="right") - starts
    # every candidate's pairs, heaviest function first, in one gather (not numpy calls per function)
    idx = np.arange(int(lens.sum())) + np.repeat(starts - (np.cumsum(lens) - lens), lens)
    seen = (np.abs(sp).sum(axis=0) + np.abs(tp).sum(axis=0)) > 0  # lines with a value
    keep = idx[seen[idx]]
    ends = np.cumsum(np.bincount(np.repeat(np.arange(len(cand)), lens)[seen[idx]], minlength=len(cand)))
    ksp, ktp, kline = sp[:, keep], tp[:, keep], pline[keep].tolist()
    lo = 0
    for j, hi in zip(cand.tolist(), ends.tolist()):
        out.functions.append(FunctionLines(keys[j], kline[lo:hi], ksp[:, lo:hi], ktp[:, lo:hi]))
        lo = hi
    if hidden is not None and hidden.n_samples:
        # a user line's total is the same with libraries hidden; its self takes in the library time
        hkeys, hfunc, hline, hself, _ = _pairs(hidden, exact=False)  # totals unused
        at = {(hkeys[f], ln): i for i, (f, ln) in enumerate(zip(hfunc.tolist(), hline.tolist()))}
        for fl in out.functions:
            cols = np.asarray([at.get((fl.function, ln), -1) for ln in fl.lines], dtype=np.int64)
            fl.self_hidden = np.where(cols >= 0, hself[:, np.maximum(cols, 0)], 0.0)
    if source:
        out.sources = _sources(p, out.functions)
    return out


def _pairs(p: Profile, exact: bool = True, trees: dict[int, CallTree] | None = None,
           functions_of_rows: tuple[list[Frame], np.ndarray] | None = None,
           frame_functions: np.ndarray | None = None
           ) -> tuple[list[Frame], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(functions, function, line, self, total)`` per (function, line), sorted by both.

    ``self``/``total`` have one row per sample type; ``function`` indexes ``functions``.
    ``exact=False``: a row counts in totals unless its parent is the same function
    (direct recursion once, indirect recursion more than once). ``trees`` (by sample
    type index, ``call_tree(p, t)``) and ``functions_of_rows`` (:func:`.hotspots.row_functions`)
    are used when given instead of being computed again, as is ``frame_functions`` (each
    frame's index in ``functions``).
    """
    keys, key = functions_of_rows if functions_of_rows is not None else row_functions(p)
    fk = np.asarray(frame_functions if frame_functions is not None else
                    frame_keys(p.frames, "function")[1])
    nf, n, k = len(p.frames), p.n_stacks, len(p.sample_types)
    trees = trees or {}
    depth = p.stack_depths()
    if exact:
        outer = tree.topmost(p.stack_prefix, key, depth)
    else:
        outer = key[p.stack_prefix] != key  # a root's prefix -1 reads the last row: fixed below
        outer |= p.stack_prefix < 0
    self_f, total_f = np.zeros((k, nf)), np.zeros((k, nf))
    for t in range(k):
        ct = trees.get(t)
        if ct is None:
            self_row = np.bincount(p.sample_stack, weights=p.values[:, t], minlength=n)
            total_row = tree.accumulate_up(p.stack_prefix, self_row, depth)
        else:
            self_row, total_row = ct.self_, ct.total
        self_f[t] = np.bincount(p.stack_frame, weights=self_row, minlength=nf)
        del self_row
        # adding the zeros of the other rows leaves every sum as it was (row order kept)
        total_f[t] = np.bincount(p.stack_frame, weights=np.where(outer, total_row, 0.0), minlength=nf)
        del total_row
    del outer
    line = np.maximum(np.fromiter((f.line for f in p.frames), dtype=np.int64, count=nf), 0)
    # lines by rank (any 64-bit line: function * lines + line would overflow), ascending
    lines, lrank = np.unique(line, return_inverse=True)
    m = max(len(lines), 1)
    # one row per (function, line): frames that differ only in module or kind stay apart
    upair, inv = np.unique(fk * m + lrank.reshape(-1), return_inverse=True)
    sp = np.stack([np.bincount(inv, weights=self_f[t], minlength=len(upair)) for t in range(k)])
    tp = np.stack([np.bincount(inv, weights=total_f[t], minlength=len(upair)) for t in range(k)])
    return keys, upair // m, lines[upair % m], sp, tp


def _sources(p: Profile, funcs: list[FunctionLines]) -> dict[str, SourceText]:
    """Return the text around the sampled lines of the files of ``funcs`` (heaviest first), within the caps."""
    wanted: dict[str, list[list[int]]] = {}  # each file's functions' lines
    for fl in funcs:
        if fl.function.file:
            wanted.setdefault(fl.function.file, []).append(fl.lines)
    embedded = _embedded(p)
    out: dict[str, SourceText] = {}
    budget = MAX_TEXT_BYTES
    for path, seen in wanted.items():
        if len(out) >= MAX_FILES or budget <= 0 or not any(x > 0 for lines in seen for x in lines):
            break
        file_lines = None
        if path not in embedded:  # a file not on this machine costs one stat, no line spans
            file_lines = _read_lines(path)
            if file_lines is None:
                continue
        spans = _spans(sorted({x for lines in seen for x in lines if x > 0}))
        if file_lines is None:
            known = embedded[path]  # only the lines the profiler reported: spans shrink to them
            spans = [(min(have), max(have)) for have in
                     ([i for i in range(lo, hi + 1) if i in known] for lo, hi in spans) if have]
            text, origin = [[known.get(i, "") for i in range(lo, hi + 1)] for lo, hi in spans], "profile"
        else:
            text, origin = [[x.expandtabs(8) for x in file_lines[lo - 1:hi]] for lo, hi in spans], "file"
        chunks, n, cut = [], 0, False
        for (lo, _), t in zip(spans, text):
            if n + len(t) > MAX_FILE_LINES:
                t, cut = t[:MAX_FILE_LINES - n], True
            n += len(t)
            t = [x if len(x) <= MAX_LINE_CHARS else x[:MAX_LINE_CHARS - 1] + "\u2026" for x in t]
            if any(t):
                chunks.append((lo, t))
        if not chunks:
            continue
        budget -= sum(len(x) + 1 for _, t in chunks for x in t)
        out[path] = SourceText(path, chunks, origin, cut)
    return out


def _spans(lines: list[int]) -> list[tuple[int, int]]:
    """Return the line ranges within :data:`CONTEXT` of the sorted ``lines``, overlapping ones merged."""
    spans: list[tuple[int, int]] = []
    for x in lines:
        lo, hi = max(1, x - CONTEXT), x + CONTEXT
        if spans and lo <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
        else:
            spans.append((lo, hi))
    return spans


def _embedded(p: Profile) -> dict[str, dict[int, str]]:
    """Return the source lines a profile carries (scalene's ``scalene_lines``), per file."""
    t = p.tables.get("scalene_lines")
    if not isinstance(t, dict) or not all(isinstance(t.get(c), list) for c in ("file", "line", "source")):
        return {}
    out: dict[str, dict[int, str]] = {}
    for f, ln, s in zip(t["file"], t["line"], t["source"]):
        if isinstance(f, str) and isinstance(ln, int) and isinstance(s, str):
            out.setdefault(f, {})[ln] = s.rstrip("\r\n")
    return out


def _read_lines(path: str) -> list[str] | None:
    """Return the lines of a Python source file on this machine (tabs not expanded), or None."""
    if not path.endswith(SOURCE_SUFFIXES) or "\x00" in path:
        return None
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError):
        return None
    # the tokenizer's line ends only (str.splitlines would also split at \f, \x1c, U+2028...)
    lines = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":  # the end of the last line, not a line
        lines.pop()
    return lines
