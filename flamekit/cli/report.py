"""``flamekit report`` (pipeline stage: cli): one self-contained HTML report from profiles."""
from __future__ import annotations

import argparse
import os
import sys

from .. import formats
from ..atomic import check_output, protect_input
from ..errors import UsageError
from ..model import merge
from .options import FRACTION, NON_NEGATIVE, number

PERCENT = number(0, 100)
NODES = number(0, integer=True)

NAME = "report"
HELP = "write a self-contained HTML report (flame graph, hotspots, allocations, notes)"
DESCRIPTION = """\
flamekit report - render profiles as one self-contained HTML file.

The report holds your notes first (--notes), then an interactive flame graph
(zoom, search, sandwich view, thread and sample-type selectors, a colour
legend, tooltips with file:line), hotspots, a table of all functions, the
allocation breakdown and resource timeline when the profile has them, and a
reproducibility panel (working directory, git commit and dirty flag, Python
version and implementation, flamekit and backend versions, sampling rate, host,
CPU model and count, load average at start and end; "not recorded" where the
profile does not say). It makes no network request (a Content-Security-Policy
forbids them) and is byte-identical for the same input.

Several PROFILEs are compared as labelled roots: each input is one root of the
flame graph, named by --label (default: its file name), as wide as its own
total; tooltips give shares of the whole page and of the input's own total,
and every panel lists every input ("Side by side" on the page shows the first
two as separate flame graphs). --merge adds them into one profile instead.
The flame graph keeps every frame holding at least 0.1% of its thread's total
(zoom into any of them and its children are there), then the heaviest others up to
50,000 frames; the rest is merged, per parent, into "[other]" frames with exact
totals (the report says how much); see --min-share and --max-nodes.

USAGE: flamekit report PROFILE [PROFILE...] [-o report.html] [--title T]
                       [--notes WRITEUP.md] [--label NAME]... [--merge]
                       [--sample-type T] [--min-share PCT | --prune FRACTION | --min-width PX]
                       [--max-nodes N] [--by function|line] [--svg FLAME.svg] [--no-source]

The source view shows a selected function's lines with self and total per
line, from the source the profile carries (scalene) or the .py files named
in the profile when they exist here; --no-source leaves all source text out.
"""
EPILOG = """\
examples:
  flamekit record -o run.json -- python sample_workloads/cpu_split.py
  flamekit report run.json -o report.html --title "pricing loop" --notes notes.md
  flamekit report base.json head.json --label before --label after   # two labelled roots
  flamekit report a.folded b.folded --merge --min-share 0   # one merged profile, every frame
  flamekit report big.folded --max-nodes 200000      # more detail (a larger page)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    p.epilog = EPILOG
    p.add_argument("profiles", nargs="+", metavar="PROFILE",
                   help="profile files (any readable format; several: one labelled root each)")
    p.add_argument("-o", "--output", default="report.html", metavar="FILE",
                   help="output HTML file (default report.html)")
    p.add_argument("--title", metavar="T", help="report title (default: from the command)")
    p.add_argument("--notes", metavar="WRITEUP.md",
                   help="Markdown notes to include (sanitized; images only as data: URIs)")
    p.add_argument("--label", action="append", metavar="NAME", default=None,
                   help="name of the next input's root (repeat, in input order; default: the "
                        "file name without format suffixes, made unique)")
    p.add_argument("--merge", action="store_true",
                   help="merge several inputs into one profile (no labelled roots)")
    p.add_argument("--sample-type", metavar="T",
                   help="sample type shown first (name or name/unit; default: the first)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--min-share", type=PERCENT, metavar="PCT",
                   help="keep every frame holding at least PCT%% of its thread's total "
                        "(default 0.1; 0 keeps every frame)")
    g.add_argument("--prune", type=FRACTION, metavar="FRACTION",
                   help="the same as a fraction (--prune 0.001 is --min-share 0.1)")
    g.add_argument("--min-width", type=NON_NEGATIVE, metavar="PX",
                   help="the same in pixels of a 1200 px graph (--min-width 1.2 is --min-share 0.1)")
    p.add_argument("--max-nodes", type=NODES, metavar="N", default=None,
                   help="detail budget: beyond those, keep the heaviest frames up to N in all "
                        "(default 50000; 0: only the --min-share rule)")
    p.add_argument("--by", choices=("function", "line"), default="function",
                   help="flame graph frames per function (default) or per line")
    p.add_argument("--from", metavar="FORMAT", dest="from_format",
                   help="input format, skipping detection")
    p.add_argument("--no-source", action="store_true",
                   help="leave source text out of the report (the per-line figures stay)")
    p.add_argument("--svg", metavar="FILE",
                   help="also write a static SVG flame graph (flamegraph.pl style, 1200 px wide)")


def run(args: argparse.Namespace) -> int:
    """Load, merge, render and write the report."""
    from ..analysis.report import input_labels, report_data, report_inputs
    from ..render.html import write_report
    from ..render.prune import DEFAULT_MAX_NODES, DEFAULT_MIN_SHARE
    from .notices import print_import_warnings

    explicit = args.min_share is not None or args.min_width is not None or args.prune is not None
    if args.min_share is not None:
        fraction = args.min_share / 100.0
    elif args.min_width is not None:
        fraction = args.min_width / 1200.0
    elif args.prune is not None:
        fraction = args.prune
    else:
        fraction = DEFAULT_MIN_SHARE
    max_nodes = DEFAULT_MAX_NODES if args.max_nodes is None else int(args.max_nodes)
    labels = args.label or []
    if len(labels) > len(args.profiles):
        raise UsageError(f"{len(labels)} --label values for {len(args.profiles)} input(s): "
                         "give at most one per input")
    if labels and args.merge:
        raise UsageError("--label names the roots of separate inputs: it does not go with --merge")
    if any(not lab.strip() for lab in labels):
        raise UsageError("--label must not be empty")
    notes = read_notes(args.notes) if args.notes else None
    inputs = list(args.profiles) + ([args.notes] if args.notes else [])
    check_output(args.output, inputs)
    if args.svg:
        check_output(args.svg, inputs)
    profiles = []
    for path in args.profiles:
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such file")
        profiles.append(formats.load(path, args.from_format))
        print_import_warnings(profiles[-1], path)
    release_memory()  # the importers' scratch space, before the report's own peak
    if len(profiles) > 1 and not args.merge or labels:
        names = input_labels(list(args.profiles), labels)
        data = report_inputs(profiles, names, sample_type=args.sample_type, by=args.by,
                             source=not args.no_source)
        profile = data.profile
    else:
        profile = profiles[0] if len(profiles) == 1 else merge(*profiles)
        if args.sample_type is not None:
            profile.type_index(args.sample_type)  # a clear error listing the choices
        data = report_data(profile, sample_type=args.sample_type, by=args.by, source=not args.no_source)
    release_memory()
    write_report(data, args.output, title=args.title, notes=notes, prune_fraction=fraction,
                 max_nodes=max_nodes)
    print(f"wrote {args.output}", file=sys.stderr)
    if args.svg:
        from ..render.svg import write_svg
        write_svg(profile, args.svg, args.sample_type, title=args.title, by=args.by,
                  **({"min_width": fraction * 1200.0} if explicit else {}))
        print(f"wrote {args.svg}", file=sys.stderr)
    return 0


def release_memory() -> None:
    """Hand freed heap memory back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Loading a million-stack profile frees hundreds of MB of small blocks that glibc
    keeps; the report's large arrays never reuse them (they are mapped apart), so
    they would only add to the peak.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


#: Notes are a write-up, not data: past this size they are refused (``--notes /dev/zero``).
NOTES_MAX_BYTES = 1 << 20


def read_notes(path: str) -> str:
    """Read a Markdown notes file (UTF-8, invalid bytes replaced), at most :data:`NOTES_MAX_BYTES`."""
    try:
        with open(path, "rb") as f:
            protect_input(os.fstat(f.fileno()), path)
            raw = f.read(NOTES_MAX_BYTES + 1)
    except OSError as e:
        raise UsageError(f"cannot read notes {path}: {e.strerror}") from None
    if len(raw) > NOTES_MAX_BYTES:
        raise UsageError(f"notes {path} are larger than {NOTES_MAX_BYTES >> 20} MiB: "
                         "a write-up belongs in the report, data does not")
    return raw.decode("utf-8", "replace")
