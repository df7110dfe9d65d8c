"""Ending the processes a recording started (pipeline stage: record).

When a recording stops (``--duration``, Ctrl-C, SIGTERM, SIGHUP, or the tool
ending), a command flamekit launched is asked to stop: SIGINT then SIGTERM (for
perf and scalene, which launch the command, the tool sends its own SIGTERM).
A command that ignores both is killed with SIGKILL after a grace period, it and
every process it started (collected before the kill, so none escapes by being
re-parented), and flamekit says so on stderr. The tool itself is never killed
at that point: with its target gone it writes what it sampled and exits, so the
profile is kept. A process flamekit only attached to (``--pid``) is never
signalled.

The grace period is :data:`DEFAULT_GRACE` seconds, or ``FLAMEKIT_STOP_GRACE``
(seconds, a number >= 0; tests use a short one).
"""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys

from ..errors import UsageError

#: Seconds a launched command may take to stop after SIGINT/SIGTERM before SIGKILL.
DEFAULT_GRACE = 5.0
GRACE_ENV = "FLAMEKIT_STOP_GRACE"


def stop_grace() -> float:
    """Return the grace period in seconds (``FLAMEKIT_STOP_GRACE``, default :data:`DEFAULT_GRACE`)."""
    raw = os.environ.get(GRACE_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_GRACE
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or v < 0:
        raise UsageError(f"{GRACE_ENV} must be a number of seconds >= 0, not {raw[:40]!r}")
    return v


def exit_code(rc: int) -> int:
    """Map Popen's ``-N`` (killed by signal N) to the shell convention ``128 + N``."""
    return 128 - rc if rc < 0 else rc


def kill_tree(pid: int, *, spare: int | None = None) -> int:
    """SIGKILL ``pid`` and all its descendants (except ``spare``); return how many were killed."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0
    killed = 0
    for p in procs:
        if p.pid == spare:
            continue
        try:
            p.send_signal(signal.SIGKILL)
            killed += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return killed


def say_killed(label: str, pid: int, grace: float, killed: int) -> None:
    """Tell the user (stderr) that a launched command was killed after the grace period."""
    more = f" and {killed - 1} process(es) it started" if killed > 1 else ""
    print(f"flamekit: {label} (pid {pid}) was still running {grace:g} s after it was asked "
          f"to stop (SIGINT, SIGTERM); killed it{more} with SIGKILL (grace period: "
          f"{GRACE_ENV}, seconds)", file=sys.stderr, flush=True)


def stop_process(p: subprocess.Popen, label: str, grace: float | None = None) -> int:
    """Stop a command flamekit launched itself: SIGINT, SIGTERM, then SIGKILL of its tree.

    SIGINT and SIGTERM share the grace period (half each); the kill is announced on
    stderr. Return the command's exit code (``128 + N`` for signal N).
    """
    grace = stop_grace() if grace is None else grace
    for sig in (signal.SIGINT, signal.SIGTERM):
        if p.poll() is not None:
            return exit_code(p.returncode)
        try:
            p.send_signal(sig)
            p.wait(timeout=grace / 2)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    if p.poll() is None:
        say_killed(label, p.pid, grace, kill_tree(p.pid))
    return exit_code(p.wait())
