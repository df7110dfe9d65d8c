"""``flamekit record`` (pipeline stage: cli): profile a PID or a launched command into a flamekit profile."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from ..errors import FlamekitError, OutputError, RecordError, UsageError
from .options import COUNT, PID, POSITIVE
from .notices import print_import_warnings

NAME = "record"
HELP = "record a PID or a command with py-spy, scalene, perf or memray"
DESCRIPTION = """\
Record a running process (--pid) or a command (after --) with py-spy, scalene, perf or
memray (every allocation: peak, leaked and allocated bytes by stack) and write a flamekit
profile. --backend auto picks py-spy for Python targets and perf
otherwise. Ctrl-C stops recording and keeps what was sampled; a launched command's exit
code becomes flamekit's exit code and is stored in the profile's metadata. When the
recording stops (--duration, Ctrl-C, SIGTERM) a launched command gets SIGINT and SIGTERM;
one still running after FLAMEKIT_STOP_GRACE seconds (default 5) is killed with SIGKILL,
with the processes it started, and flamekit says so (exit status 137, the command's).
A process recorded with --pid is never signalled. py-spy drops
the samples of idle (sleeping, waiting) threads unless --idle: the summary says how many
seconds the samples cover of the time recorded.

usage: flamekit record [--backend auto|py-spy|scalene|perf|memray] (--pid PID | -- CMD [ARGS...])
                       [--duration S] [--rate HZ] [--native] [--subprocesses] [--idle] [--gil]
                       [-o PROFILE] [--html REPORT] [--title T]

examples:
  flamekit record -o backtest.json -- python sample_workloads/backtest_loop.py
  flamekit record --pid 4242 --duration 30 -o service.json --html service.html
  flamekit record --backend perf -- python3.13 sample_workloads/native_numpy.py
  flamekit record --backend scalene -o alloc.json -- python sample_workloads/alloc_heavy.py
  flamekit record --backend memray -o mem.json -- python sample_workloads/mem_known.py
  flamekit record --backend memray --pid 4242 --duration 10 -o mem.json   # needs lldb or gdb

exit status: the launched command's, else 0; 130 after Ctrl-C (the profile is still
written and its path printed); 1 when recording failed, was refused or took no sample;
2 for bad usage."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``record`` flags."""
    p.add_argument("--backend", default="auto", choices=("auto", "py-spy", "scalene", "perf", "memray"),
                   help="profiler to drive (default: auto = py-spy for Python, perf otherwise)")
    p.add_argument("--pid", type=PID, help="attach to this running process")
    p.add_argument("--duration", type=POSITIVE, metavar="S",
                   help="stop after S seconds (default: when the target exits or on Ctrl-C)")
    p.add_argument("--rate", type=COUNT, metavar="HZ", help="samples per second (default 100; perf 161, off the 10 ms beat of CPU-sliced work)")
    p.add_argument("--native", action="store_true",
                   help="py-spy, memray: include native (C/C++/Cython) frames; scalene: keep the "
                        "interpreter's native frames instead of folding them into the Python frame they serve")
    p.add_argument("--subprocesses", action="store_true", help="py-spy: also profile child processes")
    p.add_argument("--idle", action="store_true",
                   help="py-spy: keep samples of idle (sleeping, waiting) threads; without it, only "
                        "active time is profiled and the summary says how much of the recording that was")
    p.add_argument("--gil", action="store_true", help="py-spy: only samples holding the GIL")
    p.add_argument("-o", "--output", metavar="PROFILE",
                   help="profile to write (format from the suffix; default flamekit-YYYYmmdd-HHMMSS.json)")
    p.add_argument("--html", metavar="REPORT", help="also write a self-contained HTML report")
    p.add_argument("--title", help="title stored in the profile and shown in the report")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar or periodic progress lines")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]",
                   help="command to launch and record")


def run(args: argparse.Namespace) -> int:
    """Record, write the profile (and the report); return the command's exit code or 0."""
    from ..formats import dump, names
    from ..record import RecordOptions, record
    from ..render.coverage import coverage_text

    cmd = list(args.cmd or [])
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if args.pid is not None and cmd:
        raise UsageError("give either --pid PID or -- CMD, not both")
    if args.pid is None and not cmd:
        raise UsageError("nothing to record: give --pid PID or -- CMD [ARGS...]")
    out = args.output or time.strftime("flamekit-%Y%m%d-%H%M%S.json")
    fmt = None
    try:
        from ..formats import format_for_output

        format_for_output(out)
    except FlamekitError:
        if "native" not in names(writable=True):
            raise UsageError(f"cannot tell the profile format from {out!r} (writable: "
                             f"{', '.join(names(writable=True))})") from None
        fmt = "native"
    if args.html:
        from ..atomic import check_output

        check_output(args.html)  # before recording, not after
    out_dir = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(out_dir):
        raise UsageError(f"output directory does not exist: {out_dir}")
    opts = RecordOptions(backend=args.backend, pid=args.pid, command=cmd or None,
                         duration=args.duration, rate=args.rate, native=args.native,
                         subprocesses=args.subprocesses, idle=args.idle, gil=args.gil,
                         title=args.title, progress=args.progress)
    rec = record(opts)
    p = rec.profile
    try:
        written = dump(p, out, fmt)
    except OutputError as e:
        raise RecordError(str(e)) from None
    m = p.meta
    interrupted = rec.stopped_by == "interrupt"
    print(f"flamekit: {'interrupted; ' if interrupted else ''}wrote {out} ({written}): {p.n_samples} "
          f"samples, {coverage_text(m) or format(m.get('duration_s', 0), '.1f') + ' s'}, "
          f"with {m.get('tool')} {m.get('tool_version')}"
          + (f", command exit status {rec.exit_code}" if rec.exit_code is not None else ""),
          file=sys.stderr)
    print_import_warnings(p, out)  # the tool's own doubts (py-spy ran late), up to 3
    if args.html:
        from ..analysis.report import report_data
        from ..render.html import write_report

        write_report(report_data(p), args.html, title=args.title, notes=m.get("notes"))
        print(f"flamekit: wrote {args.html}", file=sys.stderr)
    if interrupted:  # the shell's code for the signal (130 for Ctrl-C), whatever the command's status
        return 128 + signal.Signals[str(m.get("stop_signal") or "SIGINT")].value
    return rec.exit_code if rec.exit_code is not None else 0
