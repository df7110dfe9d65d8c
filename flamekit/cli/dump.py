"""``flamekit dump`` (pipeline stage: cli): every thread's current stack in a running process, once."""
from __future__ import annotations

import argparse

from ..atomic import check_output, write_output
from .options import PID

NAME = "dump"
HELP = "print every thread's current stack of a running Python process (py-spy dump)"
DESCRIPTION = """\
flamekit dump - print every thread's current stack of a running Python process, once.

Reads the stacks with `py-spy dump` (the target is paused for the moment it
takes) and prints, per thread, its name, whether py-spy saw it active or
idle and whether it held the GIL, then its frames innermost first, as
`function (file:line)`. --json writes the same as JSON (see docs/cli.md).
Useful for "where is it stuck right now?"; for where time goes, record.

USAGE: flamekit dump --pid PID [--json] [--native] [-o FILE]
"""
EPILOG = """\
examples:
  flamekit dump --pid 4242
  flamekit dump --pid 4242 --json | jq '.threads[] | select(.owns_gil)'
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    p.add_argument("--pid", type=PID, required=True, metavar="PID", help="process to read")
    p.add_argument("--json", action="store_true", help="write JSON instead of text")
    p.add_argument("--native", action="store_true",
                   help="include native (C/C++/Cython) frames (py-spy --native)")
    p.add_argument("-o", "--output", default="-", metavar="FILE",
                   help="write to FILE instead of standard output")


def run(args: argparse.Namespace) -> int:
    """Read the stacks and print them."""
    from ..record.dump import dump_threads
    from ..render.stacks import render_json, render_text

    check_output(args.output)
    profile = dump_threads(args.pid, native=args.native)
    write_output(args.output, render_json(profile) if args.json else render_text(profile))
    return 0
