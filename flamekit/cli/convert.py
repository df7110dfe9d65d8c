"""``flamekit convert`` (pipeline stage: cli): any readable format to any writable one."""
from __future__ import annotations

import argparse
import sys

from .. import formats
from ..atomic import check_output
from ..errors import UsageError
from ..model import select
from .notices import print_import_warnings

NAME = "convert"
HELP = "convert a profile between formats (folded, speedscope, native JSON, ...)"
DESCRIPTION = """\
flamekit convert - convert a profile from any readable format to any writable one.

The input format is detected by content (gzip is unpacked on the fly); the
output format comes from --to or from the output file's suffix (.folded,
.speedscope.json, .json; add .gz to compress; .svg draws a static flame
graph in the style of flamegraph.pl, 1200 px wide). Formats that hold one value
per stack (folded) get the first sample type unless --sample-type names
another. The output is written to a temporary file and renamed into place:
a failure never leaves half a file behind.

perf script to folded writes what FlameGraph's stackcollapse-perf.pl writes
(flamegraph.pl then draws the same graph): one root frame per command name,
its naming rules (C++ names cut at the first '(', quotes removed, ';' as ':'),
the first event's periods. --pid/--tid make the roots COMM-PID or
COMM-PID/TID, --kernel/--jit/--all add its _[k]/_[j] marks. --threads writes
flamekit's own folded form instead (names unchanged, one 'thread (TID): COMM'
root per thread; it reads back losslessly), which is what every other input
gets: thread roots (py-spy's 'thread (TID)' and 'process PID:"cmd"' frames)
only where the profile has threads.

USAGE: flamekit convert IN -o OUT [--to FORMAT] [--sample-type T] [--pid|--tid|--threads]
"""
EPILOG = """\
examples:
  # py-spy raw/folded output -> speedscope JSON (open it at the speedscope viewer)
  flamekit convert profile.txt -o profile.speedscope.json

  # perf script text -> FlameGraph folded stacks -> SVG with flamegraph.pl
  # (the same lines as stackcollapse-perf.pl; --pid/--tid as its --pid/--tid)
  perf script -i perf.data > out.perf
  flamekit convert out.perf -o - --to folded | flamegraph.pl > perf.svg
  perf script | flamekit convert - -o - --to folded --tid | flamegraph.pl > by-thread.svg

  # a static SVG flame graph to attach to a ticket or a README
  flamekit convert run.json -o flame.svg

  # keep the wall-time column of a multi-type profile, as compressed native JSON
  flamekit convert run.json -o wall.json.gz --sample-type wall
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    p.add_argument("input", metavar="IN", help="profile file (any readable format)")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="output file, or - for standard output (then --to is required)")
    writable = ", ".join(formats.names(writable=True) + ["svg (a flame graph picture)"])
    p.add_argument("--to", metavar="FORMAT", dest="to",
                   help=f"output format ({writable}); default: from OUT's suffix")
    readable = ", ".join(formats.names(readable=True)) or "none installed"
    p.add_argument("--from", metavar="FORMAT", dest="from_format",
                   help=f"input format, skipping detection ({readable})")
    p.add_argument("--sample-type", metavar="T",
                   help="keep only this sample type (name or name/unit, e.g. cpu or wall/nanoseconds)")
    p.add_argument("--csv-raw", action="store_true",
                   help="CSV: write text cells exactly (default: a cell starting with = + - @ "
                        "TAB or CR gets a leading ' so spreadsheets never run it as a formula)")
    fg = p.add_argument_group("perf script to folded (the options of FlameGraph's stackcollapse-perf.pl)")
    roots = fg.add_mutually_exclusive_group()
    roots.add_argument("--pid", action="store_true",
                       help="root frames COMM-PID (one per process; ? when perf printed no pid)")
    roots.add_argument("--tid", action="store_true",
                       help="root frames COMM-PID/TID (one per thread)")
    roots.add_argument("--threads", action="store_true",
                       help="flamekit's own folded form instead: names unchanged, py-spy style "
                            "'thread (TID): COMM' roots (what every other input gets)")
    fg.add_argument("--kernel", action="store_true", help="mark kernel frames with _[k]")
    fg.add_argument("--jit", action="store_true", help="mark /tmp/perf-PID.map frames with _[j]")
    fg.add_argument("--all", action="store_true", help="both --kernel and --jit")


def run(args: argparse.Namespace) -> int:
    """Load ``IN``, optionally select a sample type, write ``OUT`` atomically."""
    out = args.output
    if out == "-" and not args.to:
        raise UsageError("writing to standard output (-o -) needs --to FORMAT "
                         f"({', '.join(formats.names(writable=True))})")
    svg = (args.to or "").lower() == "svg" or (args.to is None and out.lower().endswith(".svg"))
    # Decide the output format before the (possibly long) load: a typo fails fast.
    mod = None if svg else formats.format_for_output("out" if out == "-" else out, args.to)
    fg = {k: True for k in ("pid", "tid", "kernel", "jit") if getattr(args, k)}
    if args.all:
        fg.update(kernel=True, jit=True)
    fg_flags = " ".join(f"--{k}" for k in ("pid", "tid", "kernel", "jit", "all", "threads")
                        if getattr(args, k))
    if args.threads and fg:
        raise UsageError(f"{fg_flags}: --threads writes flamekit's form, the others "
                         "stackcollapse-perf.pl's; pick one")
    if fg_flags and (mod is None or mod.name != "folded"):
        raise UsageError(f"{fg_flags}: only for perf script input written as folded stacks "
                         f"(--to folded), not {'svg' if mod is None else mod.name}")
    check_output(out, [args.input])
    if svg:  # a picture, not a re-readable format
        from ..render.svg import write_svg
        profile = formats.load(args.input, args.from_format)
        print_import_warnings(profile, args.input)
        write_svg(profile, out, args.sample_type)
        return 0
    profile, in_fmt = formats.load_with_format(args.input, args.from_format)
    print_import_warnings(profile, args.input)
    if fg and in_fmt != "perf-script":
        raise UsageError(f"{fg_flags}: only for perf script input (this input is {in_fmt})")
    if args.sample_type is not None:
        profile.type_index(args.sample_type)  # raises, listing the available types
        profile = select(profile, args.sample_type)
    elif len(profile.sample_types) > 1 and mod.one_value_per_stack:
        rest = ", ".join(str(s) for s in profile.sample_types[1:])
        print(f"flamekit: note: {mod.name} holds one value per stack; writing "
              f"{profile.sample_types[0]} (also available: {rest}; pick one with --sample-type)",
              file=sys.stderr)
    options: dict = {"raw": True} if args.csv_raw and mod.name == "csv" else {}
    if in_fmt == "perf-script" and mod.name == "folded" and not args.threads:
        options["flamegraph"] = fg  # stackcollapse-perf.pl's lines (see DESCRIPTION)
    formats.dump(profile, out, mod.name, **options)  # "-": built fully first, a failure writes nothing
    return 0

