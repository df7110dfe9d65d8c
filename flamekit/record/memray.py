"""memray recorder (pipeline stage: record): every allocation of a Python program, with its stack.

Launch: runs ``INTERPRETER [FLAGS] -m memray run -q -f --no-compress -o OUT.bin
[--native] (SCRIPT | -m MODULE | -c CODE) ARGS`` (memray 1.x CLI,
https://github.com/bloomberg/memray). memray tracks inside the program's own
interpreter, so the command must be a Python one and that interpreter must
have memray installed; memray exits with the program's status, which flamekit
passes on. ``--duration`` sends SIGINT at the deadline (memray then finishes
its file). The capture is not compressed: flamekit reads it at once.

Attach (``--pid``): ``memray attach`` injects the tracker into the running
interpreter through a debugger (lldb preferred, else gdb; Python >= 3.14 needs
neither: ``sys.remote_exec``). It is driven by :mod:`flamekit.record.memray_attach`,
a small child process that runs ``memray attach --duration S`` (``--duration`` is
required: memray stops tracking by itself S seconds after it started, rounded up
to whole seconds) and waits until memray closed the capture or the target
exited. lldb is preferred because gdb 13 (Debian
12) cannot call functions in a process on CPUs with AMX state ("Couldn't write
extended state status: Bad address") and leaves the target with a failed
system call. The target's interpreter needs memray installed (the tracker runs
inside it).

The capture is handed to :mod:`flamekit.formats.memray` (peak, leaked and
allocated bytes by stack, memory over time). ``--rate`` means nothing to memray
(it records every allocation) and is ignored with a note, as are
``--subprocesses``, ``--idle`` and ``--gil``.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import sys

from ..errors import RecordError, UsageError
from . import PTRACE_FIX, tool_output, version_tuple
from .tools import require_tool

NAME = "memray"
DEFAULT_RATE = 0
LAUNCHES_TARGET = True
TARGET_IS_TOOL = True  # memray runs the program in its own interpreter process
INSTALL = "pip install memray"
DEBUGGER_FIX = "apt-get install lldb (or gdb), or run the target on Python 3.14+ (sys.remote_exec)"

#: what the launched interpreter says when memray is missing: the log keeps it, the user
#: gets diagnose()'s one line instead
TOOL_LINE = re.compile(r"^\S*: No module named memray\b")
#: interpreter options that take a separate argument (``-X dev``, ``-W error``)
_ARG_FLAGS = ("-X", "-W")


def memray_command() -> list[str]:
    """Return how to run memray's CLI: the ``memray`` script installed beside flamekit's
    interpreter, else on PATH (:func:`~flamekit.record.tools.find_tool`); RecordError naming
    the pip command for this interpreter when it is missing."""
    return [require_tool("memray", package="memray")]


def tool_version() -> str:
    """Return memray's version (``1.20.0``): the one installed with flamekit (asked without
    starting memray's CLI, which takes seconds), else the ``memray`` script's."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("memray")
    except (ImportError, PackageNotFoundError):
        pass
    m = re.search(r"(\d+\.\d+(\.\d+)?)", tool_output(memray_command() + ["--version"]))
    return m.group(1) if m else "unknown"


def output_path(s) -> str:
    """Return where memray writes its capture."""
    return os.path.join(s.workdir, "memray.bin")


def attach_method(python_version: str | None) -> str:
    """Return memray's injection method for a target: sys.remote_exec, lldb or gdb
    (RecordError naming the fix when none is available)."""
    if version_tuple(python_version) >= (3, 14):
        return "sys.remote_exec"
    for dbg in ("lldb", "gdb"):
        if shutil.which(dbg):
            return dbg
    raise RecordError(f"memray attach needs a debugger to inject its tracker and neither lldb nor gdb "
                      f"is installed: {DEBUGGER_FIX}")


def _split_python_command(cmd: list[str], interpreter: str) -> tuple[list[str], list[str]]:
    """Split ``python [FLAGS] TARGET ARGS`` into (interpreter flags, memray run target + args)."""
    if os.path.realpath(shutil.which(cmd[0]) or cmd[0]) != os.path.realpath(interpreter):
        return [], list(cmd)  # a #! script: memray runs the file
    i, flags = 1, []
    while i < len(cmd) and cmd[i].startswith("-") and cmd[i] not in ("-m", "-c", "-"):
        if cmd[i][:2] in ("-m", "-c"):  # -mMODULE / -cCODE written together
            return flags, [cmd[i][:2], cmd[i][2:]] + cmd[i + 1:]
        step = 2 if cmd[i] in _ARG_FLAGS else 1
        flags += cmd[i:i + step]
        i += step
    rest = cmd[i:]
    if not rest or rest[0] == "-":
        raise UsageError("memray needs a program to run: -- python SCRIPT.py [ARGS...], "
                         "-- python -m MODULE [ARGS...] or -- python -c CODE")
    if rest[0] in ("-m", "-c") and len(rest) < 2:
        raise UsageError(f"python {rest[0]} needs an argument")
    return flags, rest


def prepare(s) -> None:
    """Check the target (a Python command, or a Python pid) and that memray can run there."""
    s.meta["rate_hz"] = None  # memray records every allocation: there is no sampling rate
    if s.opts.rate:
        s.notes.append("--rate is not a memray option (it records every allocation): ignored")
    for flag, on in (("--subprocesses", s.opts.subprocesses), ("--idle", s.opts.idle), ("--gil", s.opts.gil)):
        if on:
            s.notes.append(f"{flag} is not a memray option: ignored")
    if s.attach:
        _prepare_attach(s)
        return
    if s.interpreter is None:
        raise UsageError(f"memray tracks Python programs: {s.command[0]!r} is not one "
                         f"(use `-- python SCRIPT.py ARGS`, or --backend perf)")
    flags, target = _split_python_command(list(s.command), s.interpreter)
    # whether that interpreter has memray is told by its own "No module named memray" (see
    # diagnose): asking first would start one more interpreter per recording
    s.memray_launch = (flags, target)  # type: ignore[attr-defined]


def _prepare_attach(s) -> None:
    import psutil

    from . import process_python_version

    try:
        proc = psutil.Process(s.opts.pid)
        name = proc.name()
    except psutil.Error:
        return  # checked already; memray will report what happened
    pyver = process_python_version(proc)
    if pyver is None:
        raise UsageError(f"pid {s.opts.pid} ({name}) is not a Python process, so memray cannot "
                         f"track it: use --backend perf")
    if not s.opts.duration:
        raise UsageError(f"memray attach needs --duration S: memray stops tracking pid {s.opts.pid} by "
                         f"itself after S seconds (stopping it early with `memray detach` is not reliable)")
    s.memray_method = attach_method(pyver)  # type: ignore[attr-defined]
    s.meta["attach_method"] = s.memray_method
    # memray counts the duration from the end of the injection (seconds after the driver
    # starts): the session must not SIGINT the driver at its own, earlier deadline (it can
    # land before the driver's handler is in place). collect() puts the option back.
    s.memray_duration = s.opts.duration  # type: ignore[attr-defined]
    s.opts.duration = None


def argv(s) -> list[str]:
    """Return the ``memray run`` command line, or the attach driver's."""
    if s.attach:
        cmd = [sys.executable, "-m", "flamekit.record.memray_attach", "--method", s.memray_method,
               "--output", output_path(s), "--duration", repr(float(s.memray_duration))]
        if s.opts.native:
            cmd.append("--native")
        return cmd + ["--memray", shlex.join(memray_command()), str(s.opts.pid)]
    flags, target = s.memray_launch
    cmd = [s.interpreter] + flags + ["-m", "memray", "run", "-q", "-f", "--no-compress", "-o", output_path(s)]
    if s.opts.native:
        cmd.append("--native")
    return cmd + target


def collect(s, rc: int, log: str) -> tuple[str, str]:
    """Return memray's capture file (attach: restore ``--duration`` for the metadata)."""
    if s.attach:
        s.opts.duration = s.memray_duration
        if "closed the capture" in log:
            s.meta["stopped_by"] = "duration"
    return output_path(s), "memray"


def stats(log: str) -> dict:
    """memray reports no counts on its console (the capture has them)."""
    return {}


def diagnose(s, rc: int, log: str) -> str | None:
    """Turn a failed memray run or attach into one line with the fix (None when it wrote its capture)."""
    out = output_path(s)
    if os.path.exists(out) and os.path.getsize(out) > 0:
        return None
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    low = log.lower()
    if "no module named memray" in low:
        if s.attach:
            return f"memray is not installed for pid {s.opts.pid}'s Python: {INSTALL} there"
        return f"memray is not installed for {s.interpreter}: {s.interpreter} -m {INSTALL}"
    if s.attach:
        pid = s.opts.pid
        if "operation not permitted" in low or "permission denied" in low or "ptrace" in low:
            return f"memray could not attach to pid {pid} (the debugger was refused): {PTRACE_FIX}"
        if "cannot find a supported" in low or "no gdb" in low or "no lldb" in low:
            return f"memray attach found no usable debugger: {DEBUGGER_FIX}"
        errs = [ln for ln in lines if ln.startswith("flamekit-memray:") or "error" in ln.lower()
                or "failed" in ln.lower()]
        detail = (errs or lines or ["no output"])[-1].replace("flamekit-memray: ", "")
        return f"memray could not attach to pid {pid}: {detail}"
    errs = [ln for ln in lines if "error" in ln.lower() or "memray" in ln.lower()]
    detail = (errs or lines or ["no output"])[-1]
    return f"memray wrote no capture (exit status {rc}): {detail}"
