"""``flamekit top`` (pipeline stage: cli): the functions that cost the most."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from .. import formats
from ..analysis.uncertainty import effective_samples, margins, resolution
from ..errors import UsageError
from ..model import Profile, StackPaths, function_rows, hide_libraries, type_index
from ..numfmt import as_number
from ..render.libraries import hidden_note
from ..render.terminal import Table, format_pct, format_value, print_table, safe_text, write_csv
from .live import add_live_arguments, run_live

NAME = "top"
HELP = "list the hottest functions (self and total), as a table or CSV"
DESCRIPTION = """\
flamekit top - list the functions (or lines, or files) with the most samples.

"self" is what a function spent in its own code (it was the leaf of the
stack); "total" also counts its callees (a recursive function counts once
per stack). Percentages are of the profile's total for the sample type, on
the selected thread(s), each with its 95% interval (``70.12% ±3.4``: the
share is a proportion of the samples, so it is only as sure as their number
allows; see flamekit.analysis.uncertainty). On a terminal the list is a table; piped, it is plain
aligned text; --csv writes CSV (every field quoted as needed, so odd function
names survive).

USAGE: flamekit top PROFILE [-n N] [--by self|total] [--sample-type T]
                    [--group function|line|file] [--thread NAME_OR_ID] [--csv]
       flamekit top --pid PID [--duration S] [--backend py-spy|perf] [--record FILE]

With --pid, top samples a running process in consecutive short recordings
(one per --interval, default 1 s) and shows the last --window seconds (default
10), refreshed after every recording; q or Ctrl-C stops it. The unsampled gap
between recordings is measured and shown. Without a terminal it prints one
table over the whole run when --duration ends (or the target exits).
"""
EPILOG = """\
examples:
  flamekit top backtest.json -n 15
  flamekit top out.perf --by total --group file
  flamekit top run.json --sample-type wall --thread MainThread
  flamekit top run.json -n 0 --csv > functions.csv
  flamekit top --pid 4242                       # live, q to quit
  flamekit top --pid 4242 --duration 10 --record seen.json > top.txt
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    p.add_argument("profile", metavar="PROFILE", nargs="?",
                   help="profile file (any readable format); or --pid PID for a live view")
    p.add_argument("-n", "--limit", type=_count, default=20, metavar="N",
                   help="show the first N rows (0 = all; default 20)")
    p.add_argument("--by", choices=("self", "total"), default="self",
                   help="sort by self or total value (default self)")
    p.add_argument("--sample-type", metavar="T",
                   help="sample type to rank by (name or name/unit; default: the first)")
    p.add_argument("--group", choices=("function", "line", "file"), default="function",
                   help="aggregate by function (name and file, the default), line, or file")
    p.add_argument("--thread", metavar="NAME_OR_ID", action="append",
                   help="only samples of this thread: a name, a thread id, or #INDEX "
                        "(repeatable)")
    p.add_argument("--csv", action="store_true", help="write CSV instead of a table")
    p.add_argument("--hide-libraries", action="store_true",
                   help="fold standard library, site-packages and <frozen> frames into the user "
                        "frames that called them (a note counts what was folded)")
    p.add_argument("--csv-raw", action="store_true",
                   help="with --csv: write text cells exactly (default: a cell starting with = + - @ "
                        "TAB or CR gets a leading ' so spreadsheets never run it as a formula)")
    p.add_argument("--from", metavar="FORMAT", dest="from_format",
                   help="input format, skipping detection")
    add_live_arguments(p)


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return n


def _counted(p: Profile, k: int) -> bool:
    """Tell whether the effective sample count is a plain count (one per sample) for type ``k``."""
    st = p.sample_types[k]
    return st.unit in ("count", "samples") or bool(p.meta.get("rate_hz"))


def _thread_indices(threads, wanted: list[str]) -> list[int]:
    """Indices of the threads named by name, thread id or ``#index``; UsageError on no match."""
    chosen: set[int] = set()
    for w in wanted:
        hit = [i for i, t in enumerate(threads) if t.name == w]
        if not hit and w.lstrip("-").isdigit():
            hit = [i for i, t in enumerate(threads) if t.id == int(w)]
        if not hit and w.startswith("#") and w[1:].isdigit() and int(w[1:]) < len(threads):
            hit = [int(w[1:])]
        if not hit:
            avail = ", ".join(f"#{i} {t.label()}" for i, t in enumerate(threads))
            raise UsageError(f"no thread {w!r} in this profile (threads: {avail})")
        chosen.update(hit)
    return sorted(chosen)


def select_threads(p: Profile, wanted: list[str]) -> tuple[Profile, list[int]]:
    """Keep only samples of the threads named by name, thread id or ``#index``.

    Raise :class:`UsageError` (listing the threads) when one matches nothing.
    """
    idx = _thread_indices(p.threads, wanted)
    keep = np.isin(p.sample_thread, idx)
    q = p.copy(sample_stack=p.sample_stack[keep], sample_thread=p.sample_thread[keep],
               values=p.values[keep],
               sample_time=None if p.sample_time is None else p.sample_time[keep])
    return q, idx


def _select_path_threads(sp: StackPaths, wanted: list[str]) -> tuple[StackPaths, list[int]]:
    """:func:`select_threads` on paths (a folded file read without its stack table)."""
    idx = _thread_indices(sp.threads, wanted)
    thr = sp.thread if sp.thread is not None else np.zeros(sp.n_paths, dtype=np.int64)
    keep = np.isin(thr, idx)
    q = StackPaths(sp.frames, sp.flat[np.repeat(keep, sp.lengths)], sp.lengths[keep],
                   sp.values[keep], sp.sample_types, thr[keep], sp.threads, sp.meta)
    return q, idx


class _Paths:
    """What ``top`` reads of a profile, for root-first paths (see :func:`path_functions`)."""

    def __init__(self, sp: StackPaths) -> None:
        self.sp = sp
        self.sample_types, self.threads, self.meta = sp.sample_types, sp.threads, sp.meta
        self.values, self.n_samples = sp.values, sp.n_paths

    def type_index(self, sample_type: str | int | None) -> int:
        return type_index(self.sample_types, sample_type)


def _load(args: argparse.Namespace):
    """Load the profile, as paths when its format is line oriented and nothing needs the stack table.

    A 1M-stack folded file then never builds its 20M-row stack table (time and memory).
    """
    fmt = formats.get(args.from_format) if args.from_format else formats.detect(args.profile)
    if fmt.load_paths is not None and not args.hide_libraries:
        sp = formats.load_paths(args.profile, fmt.name)
        if sp is not None:
            return _Paths(sp), fmt.name
    return formats.load_with_format(args.profile, fmt.name)


def _functions(p, k: int, by: str) -> list:
    return function_rows(p.sp if isinstance(p, _Paths) else p, k, by=by)


def run(args: argparse.Namespace) -> int:
    """Load the profile, rank its functions and print them."""
    if (args.pid is None) == (args.profile is None):
        raise UsageError("top needs exactly one of PROFILE or --pid PID "
                         "(usage: flamekit top PROFILE [options] | flamekit top --pid PID [options])")
    if args.pid is not None:
        return run_live(args)
    p, fmt = _load(args)
    if args.hide_libraries:
        p = hide_libraries(p)
    k = p.type_index(args.sample_type)  # raises, listing the available types
    st = p.sample_types[k]
    where = ""
    if args.thread:
        if isinstance(p, _Paths):
            sp, idx = _select_path_threads(p.sp, args.thread)
            p = _Paths(sp)
        else:
            p, idx = select_threads(p, args.thread)
        where = " on " + ", ".join(p.threads[i].label() for i in idx)
    by_self = _functions(p, k, args.group)
    df = by_self
    if args.by == "total":
        df = sorted(df, key=lambda r: (-r.total, -r.self))
    n_all = len(df)
    if args.limit:
        df = df[:args.limit]
    grand = float(p.values[:, k].sum()) if p.n_samples else 0.0
    n_eff = effective_samples(p, k)
    self_pm = margins(np.array([r.self_pct for r in df], dtype=float) / 100.0, n_eff) * 100.0
    total_pm = margins(np.array([r.total_pct for r in df], dtype=float) / 100.0, n_eff) * 100.0

    if args.csv:
        cols = ["rank", "self", "self_pct", "total", "total_pct", "unit",
                "name", "file", "line", "module", "kind", "self_pct_pm", "total_pct_pm"]
        rows = [[r + 1, as_number(row.self), f"{row.self_pct:.4f}", as_number(row.total),
                 f"{row.total_pct:.4f}", st.unit, row.name, row.file, row.line,
                 row.module, row.kind, f"{self_pm[r]:.4f}", f"{total_pm[r]:.4f}"]
                for r, row in enumerate(df)]
        write_csv(cols, rows, sys.stdout, raw=args.csv_raw)
        return 0

    what = {"function": "functions", "line": "lines", "file": "files"}[args.group]
    title = (f"top {len(df)} of {n_all} {what} by {args.by} {st}{where}; "
             f"total {format_value(grand, st.unit)} ({fmt}); ± is the 95% interval from "
             f"{round(n_eff):,} {'samples' if _counted(p, k) else 'effective samples'}")
    label = {"function": "function", "line": "line", "file": "file"}[args.group]
    cols = ["self", "self%", "total", "total%", label, "location" if args.group != "file" else "kind"]
    rows = []
    for r, row in enumerate(df):
        if args.group == "file":
            loc = row.kind
        elif row.file:
            loc = f"{row.file}:{row.line}" if row.line else row.file
        else:
            loc = row.module or ""
        rows.append([format_value(row.self, st.unit), f"{format_pct(row.self_pct)} ±{self_pm[r]:.1f}",
                     format_value(row.total, st.unit), f"{format_pct(row.total_pct)} ±{total_pm[r]:.1f}",
                     row.name, loc])
    if rows and not any(r[-1] for r in rows):  # no file, module or kind to show
        cols.pop()
        for r in rows:
            r.pop()
    caption = "" if n_all else "(no samples)"
    # ranked by self: totals of callers nest (every root holds 100%), so they cannot be told apart
    ranked = np.array([r.self_pct for r in (by_self if args.by == "total" else df)], dtype=float)
    res = resolution(ranked[:2] / 100.0, n_eff)
    if n_all and not res.enough:
        caption = (f"too few samples to rank the top {what}: {round(n_eff):,} samples, and the first two "
                   f"are within each other's 95% interval; record longer or at a higher --rate")
    print_table(Table(cols, rows, right=frozenset({0, 1, 2, 3}), title=title, caption=caption))
    if isinstance(p.meta.get("approximate"), str):  # e.g. a cProfile graph rebuilt as a tree
        print("note: " + safe_text(p.meta["approximate"], 400))
    if args.hide_libraries:
        print("note: " + hidden_note(p, k))
    return 0

