"""Command-line spine (pipeline stage: cli): ``flamekit <command> ...``.

Each subcommand lives in its own module exposing ``NAME``, ``HELP``,
``DESCRIPTION``, ``add_arguments(parser)`` and ``run(args) -> int``. ``main``
turns every :class:`~flamekit.errors.FlamekitError` into one line,
``flamekit: <message>``, and its exit code (2 bad input/usage, 1 failed
recording, 3 regression gate); no traceback for expected failures.
"""
from __future__ import annotations

import argparse
import importlib
import signal
import sys
from typing import Sequence

from .. import __version__
from ..errors import FlamekitError

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = ("record", "report", "diff", "top", "info", "convert")


def _modules():
    mods = []
    for name in COMMANDS:
        try:
            mods.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as e:  # a command not written yet
            if e.name != f"{__name__}.{name}":
                raise
    return mods


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level argument parser with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="flamekit",
        description="Record, convert, diff and report Python profiles (py-spy, scalene, perf).",
        epilog="example: flamekit record -o run.json -- python sample_workloads/backtest_loop.py\n"
               "         flamekit top run.json -n 15",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"flamekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


class _Parser(argparse.ArgumentParser):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run flamekit with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except FlamekitError as e:
        print(f"flamekit: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("flamekit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # e.g. `flamekit top x | head`: not an error worth a traceback
        try:
            sys.stdout = None  # type: ignore[assignment]
        except Exception:
            pass
        return 0


_ = signal
