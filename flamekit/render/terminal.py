"""Terminal and CSV rendering (pipeline stage: render).

Tables go to a terminal as rich tables, to a pipe or file as plain aligned
text (stable, greppable, no colour codes), or as CSV through the :mod:`csv`
module. Function names and paths are untrusted text (they come from the code
being profiled): on a terminal and in plain text, control characters,
escape sequences and bidirectional overrides are shown as visible escapes,
and rich markup is never interpreted. CSV keeps every string exactly (the
``csv`` module quotes commas, quotes and newlines), so it round-trips through
:func:`csv.reader`.
"""
from __future__ import annotations

import csv
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Sequence

from ..model import TIME_UNITS
from ..numfmt import TEXT_INT_LIMIT, is_integral

if TYPE_CHECKING:  # typing only: `top` and `info` need not import the diff machinery
    from ..analysis.diff import DiffResult

# C0 controls (incl. ESC, CR, LF, TAB), DEL, C1 controls, and the Unicode
# format characters used in "Trojan Source" attacks (bidi embeddings,
# overrides and isolates, plus zero-width marks and the line/paragraph
# separators) that change how a terminal lays text out.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")

#: Labels longer than this are shortened in the middle on a terminal or in plain text.
MAX_LABEL = 160


def safe_text(s: Any, limit: int | None = MAX_LABEL) -> str:
    """Return ``s`` as one printable line: unsafe characters escaped, long text elided.

    Escaping happens before shortening, so an escape is never cut in half.
    """
    text = _UNSAFE.sub(_escape_char, str(s))
    if limit is not None and len(text) > limit:
        keep = limit - 1
        head = keep - keep // 3
        text = text[:head] + "…" + text[len(text) - (keep - head):]
    return text


def _escape_char(m: re.Match) -> str:
    c = m.group(0)
    o = ord(c)
    if c == "\n":
        return "\\n"
    if c == "\t":
        return "\\t"
    if c == "\r":
        return "\\r"
    return f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}"


def is_terminal(stream: IO | None = None) -> bool:
    """Return True when ``stream`` (default stdout) is an interactive terminal.

    ``NO_COLOR``/``TERM=dumb`` do not change this (rich honours them itself);
    ``FLAMEKIT_PLAIN=1`` forces plain text.
    """
    stream = sys.stdout if stream is None else stream
    if os.environ.get("FLAMEKIT_PLAIN"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# ---------------------------------------------------------------------------
# Number formatting
# ---------------------------------------------------------------------------
_BYTE_UNITS = {"bytes": 1, "byte": 1, "b": 1, "kilobytes": 1024, "kb": 1024,
               "megabytes": 1024**2, "mb": 1024**2}


def format_value(x: float, unit: str = "") -> str:
    """Return a short human form of a value in ``unit`` (``1.25 s``, ``3.0 MiB``, ``1,234``)."""
    if not math.isfinite(x):
        return str(x)
    u = unit.lower()
    if u in TIME_UNITS:
        secs = x * TIME_UNITS[u]
        a = abs(secs)
        if a == 0:
            return "0 s"
        for div, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
            if a >= div:
                return f"{secs / div:.3g} {name}" if a / div < 1000 else f"{secs / div:,.0f} {name}"
        return f"{secs / 1e-9:.3g} ns"
    if u in _BYTE_UNITS:
        b = x * _BYTE_UNITS[u]
        a = abs(b)
        for div, name in ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
            if a >= div:
                return f"{b / div:.3g} {name}"
        return f"{b:,.0f} B"
    if is_integral(x, TEXT_INT_LIMIT):
        return f"{int(x):,}"
    return f"{x:,.3f}".rstrip("0").rstrip(".")


def format_pct(x: float) -> str:
    """Return a percentage with two decimals (``12.34%``)."""
    return f"{x:.2f}%"


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------
@dataclass
class Table:
    """A table to render: column headers, rows of strings, which columns align right."""

    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    right: frozenset[int] = frozenset()
    title: str = ""
    caption: str = ""


def render_plain(table: Table) -> str:
    """Return a table as plain aligned text (title line, header, rows; no colours)."""
    cols = [safe_text(c) for c in table.columns]
    rows = [[safe_text(c) for c in r] for r in table.rows]
    widths = [len(c) for c in cols]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, c in enumerate(cells):
            last = i == len(cells) - 1
            if i in table.right:
                out.append(c.rjust(widths[i]))
            else:
                out.append(c if last else c.ljust(widths[i]))
        return "  ".join(out).rstrip()

    out = []
    if table.title:
        out.append(safe_text(table.title, None))
    out.append(line(cols))
    out.extend(line(r) for r in rows)
    if table.caption:
        out.append(safe_text(table.caption, None))
    return "\n".join(out) + "\n"


def print_table(table: Table, stream: IO | None = None, *, terminal: bool | None = None) -> None:
    """Print a table: a rich table on a terminal, plain aligned text otherwise."""
    stream = sys.stdout if stream is None else stream
    if terminal is None:
        terminal = is_terminal(stream)
    if not terminal:
        stream.write(render_plain(table))
        return
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    console = Console(file=stream, highlight=False, soft_wrap=False)
    # Title and caption as lines of their own: a table title would wrap at the table's width.
    if table.title:
        console.print(Text(safe_text(table.title, None)), soft_wrap=True)
    rt = RichTable(header_style="bold", box=None, pad_edge=False, show_edge=False)
    cols = [safe_text(c) for c in table.columns]
    rows = [[safe_text(c) for c in r] for r in table.rows]
    _fit(cols, rows, table.right, console.width)
    for i, c in enumerate(cols):
        # one line per row; numbers keep their full width, text was shortened by _fit
        num = i in table.right
        w = max([len(c)] + [len(r[i]) for r in rows])
        rt.add_column(Text(c), justify="right" if num else "left", no_wrap=True,
                      overflow="ellipsis", min_width=w if num else min(w, 16))
    for r in rows:
        # Text objects, never markup strings: "[bold]" in a function name stays literal.
        rt.add_row(*(Text(c) for c in r))
    console.print(rt)
    if table.caption:
        console.print(Text(safe_text(table.caption, None)), soft_wrap=True)


def elide_left(text: str, width: int) -> str:
    """Shorten ``text`` to ``width`` characters keeping its end (``…/pkg/module.py:12``)."""
    return text if len(text) <= width else "…" + text[len(text) - width + 1:]


def _fit(cols: list[str], rows: list[list[str]], right: frozenset[int], width: int) -> None:
    """Shorten text columns so each row fits ``width`` terminal columns, numbers untouched.

    The last column (a location) loses its start first (its file name stays
    visible), down to 16 characters; then the other text columns lose their end.
    """
    if not cols or not rows:
        return
    n = len(cols)
    widths = [max(len(cols[i]), *(len(r[i]) for r in rows)) for i in range(n)]
    excess = sum(widths) + 2 * (n - 1) - width
    if excess <= 0:
        return
    last = n - 1
    if last not in right and widths[last] > 16:
        cut = min(excess, widths[last] - 16)
        widths[last] -= cut
        excess -= cut
        for r in rows:
            r[last] = elide_left(r[last], widths[last])
    for i in range(n - 1):
        if excess <= 0:
            break
        if i in right or widths[i] <= 16:
            continue
        cut = min(excess, widths[i] - 16)
        widths[i] -= cut
        excess -= cut
        for r in rows:
            if len(r[i]) > widths[i]:
                r[i] = r[i][:widths[i] - 1] + "…"


def write_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]], stream: IO | None = None, *,
              raw: bool = False) -> None:
    """Write rows as CSV (RFC 4180 quoting, ``\\r\\n`` line ends).

    Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
    ``@``, TAB, CR first) get a leading ``'`` unless ``raw``; numbers are kept.
    """
    from ..formats.csv_export import defuse

    stream = sys.stdout if stream is None else stream
    w = csv.writer(stream, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    w.writerow(columns if raw else [defuse(c) for c in columns])
    for r in rows:
        w.writerow(r if raw else [defuse(c) for c in r])


def print_sections(sections: Sequence[tuple[str, Sequence[tuple[str, str]]]],
                   stream: IO | None = None, *, terminal: bool | None = None) -> None:
    """Print titled ``key: value`` sections (``flamekit info``): bold titles on a terminal."""
    stream = sys.stdout if stream is None else stream
    if terminal is None:
        terminal = is_terminal(stream)
    console = None
    if terminal:
        from rich.console import Console

        console = Console(file=stream, highlight=False, soft_wrap=True)
    for n, (title, items) in enumerate(sections):
        if not items:
            continue
        width = max(len(k) for k, _ in items)
        lines = [f"  {safe_text(k + ':', None).ljust(width + 1)} {safe_text(v)}" for k, v in items]
        if console is not None:
            from rich.text import Text

            if n:
                console.print()
            console.print(Text(safe_text(title, None), style="bold"))
            for ln in lines:
                console.print(Text(ln))
        else:
            if n:
                stream.write("\n")
            stream.write(safe_text(title, None) + "\n" + "\n".join(lines) + "\n")


def diff_summary(result: DiffResult, limit: int = 15) -> str:
    """Return the plain-text summary ``flamekit diff`` prints: the verdict, then the top changes.

    The significant changes (all rows' five largest when there is none), at
    most ``limit``; names and files go through :func:`safe_text` like every
    other terminal output.
    """
    from . import diff_words as words

    o = result.options
    m = o.metric
    out = [f"flamekit diff: {result.verdict} ({result.base.n_runs} base run(s), "
           f"{result.head.n_runs} head run(s), {result.method}, by {o.by}, {m} time)",
           f"  base: {safe_text(words.side_name(result.base), 120)}",
           f"  head: {safe_text(words.side_name(result.head), 120)}"]
    times = words.run_times(result)
    if times is not None:
        out.append(f"  run time: {times.text()}")
    t = result.table
    rows = t[t["regression"] | t["improvement"]]
    if not len(rows):
        rows = t.head(5)
    exact = "delta_bytes" in t.columns  # a memory diff: bytes, exact
    if exact:
        out[0] = out[0].replace(f"{m} time)", f"{result.base.sample_type.name}, exact bytes)")
    for r in rows.head(limit).to_dict("records"):
        name = safe_text(r["name"], 80)
        loc = elide_left(safe_text(words.short_path(r["file"]), None), 60)
        if exact:
            out.append(f"  {words.memory_status_text(r)}  {r['base_bytes'] / 1048576:.2f} -> "
                       f"{r['head_bytes'] / 1048576:.2f} MiB ({r['base_self']:.2f}% -> "
                       f"{r['head_self']:.2f}%)  {name}  {loc}")
            continue
        sec = words.row_seconds(r, m, times)
        secs = f" ({sec:+.2f} s/run)" if sec is not None else ""
        out.append(f"  {words.status_text(r, m, o.alpha, o.min_delta)}{secs}  "
                   f"{r['base_' + m]:6.2f}% -> {r['head_' + m]:6.2f}%  {name}  {loc}")
    return "\n".join(out) + "\n"


def print_diff_summary(result: DiffResult, stream: IO | None = None) -> None:
    """Print :func:`diff_summary` to ``stream`` (default stdout)."""
    (sys.stdout if stream is None else stream).write(diff_summary(result))
