"""``flamekit report`` (pipeline stage: cli): one self-contained HTML report from profiles."""
from __future__ import annotations

import argparse
import os
import sys

from .. import formats
from ..atomic import check_output, protect_input
from ..errors import UsageError
from ..model import merge
from .options import FRACTION, NON_NEGATIVE

NAME = "report"
HELP = "write a self-contained HTML report (flame graph, hotspots, allocations, notes)"
DESCRIPTION = """\
flamekit report - render profiles as one self-contained HTML file.

The report holds an interactive flame graph (zoom, search, sandwich view,
thread and sample-type selectors), hotspots, a table of all functions, the
allocation breakdown and resource timeline when the profile has them, a
reproducibility panel and your notes. It makes no network request (a
Content-Security-Policy forbids them) and is byte-identical for the same input.
Several PROFILEs are merged. Frames narrower than 0.1 px of a 1200 px graph are
merged into "[other]" nodes (the report says how much); see --min-width/--prune.

USAGE: flamekit report PROFILE [PROFILE...] [-o report.html] [--title T]
                       [--notes WRITEUP.md] [--sample-type T]
                       [--min-width PX | --prune FRACTION] [--by function|line]
                       [--svg FLAME.svg]
"""
EPILOG = """\
examples:
  flamekit record -o run.json -- python sample_workloads/cpu_split.py
  flamekit report run.json -o report.html --title "pricing loop" --notes notes.md
  flamekit report a.folded b.folded --prune 0        # merge two, keep every frame
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    p.epilog = EPILOG
    p.add_argument("profiles", nargs="+", metavar="PROFILE",
                   help="profile files (any readable format; several are merged)")
    p.add_argument("-o", "--output", default="report.html", metavar="FILE",
                   help="output HTML file (default report.html)")
    p.add_argument("--title", metavar="T", help="report title (default: from the command)")
    p.add_argument("--notes", metavar="WRITEUP.md",
                   help="Markdown notes to include (sanitized; images only as data: URIs)")
    p.add_argument("--sample-type", metavar="T",
                   help="sample type shown first (name or name/unit; default: the first)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--min-width", type=NON_NEGATIVE, metavar="PX",
                   help="merge frames narrower than PX pixels of a 1200 px graph (default 0.1)")
    g.add_argument("--prune", type=FRACTION, metavar="FRACTION",
                   help="merge frames below FRACTION of the total (0 keeps all; default 1/12000)")
    p.add_argument("--by", choices=("function", "line"), default="function",
                   help="flame graph frames per function (default) or per line")
    p.add_argument("--from", metavar="FORMAT", dest="from_format",
                   help="input format, skipping detection")
    p.add_argument("--svg", metavar="FILE",
                   help="also write a static SVG flame graph (flamegraph.pl style, 1200 px wide)")


def run(args: argparse.Namespace) -> int:
    """Load, merge, render and write the report."""
    from ..analysis.report import report_data
    from ..render.html import write_report
    from ..render.payload import DEFAULT_PRUNE

    if args.min_width is not None:
        if not args.min_width >= 0:
            raise UsageError("--min-width must be >= 0")
        fraction = args.min_width / 1200.0
    elif args.prune is not None:
        if not 0 <= args.prune <= 1:
            raise UsageError("--prune must be a fraction between 0 and 1")
        fraction = args.prune
    else:
        fraction = DEFAULT_PRUNE
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
    profile = profiles[0] if len(profiles) == 1 else merge(*profiles)
    if args.sample_type is not None:
        profile.type_index(args.sample_type)  # a clear error listing the choices
    data = report_data(profile, sample_type=args.sample_type, by=args.by)
    write_report(data, args.output, title=args.title, notes=notes, prune_fraction=fraction)
    print(f"wrote {args.output}", file=sys.stderr)
    if args.svg:
        from ..render.svg import write_svg
        write_svg(profile, args.svg, args.sample_type, title=args.title, by=args.by,
                  min_width=fraction * 1200.0)
        print(f"wrote {args.svg}", file=sys.stderr)
    return 0


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
