"""scalene recorder (pipeline stage: record): CPU and memory of a launched Python script.

Runs ``scalene run -o OUT.json --cpu-sampling-rate 1/RATE SCRIPT --- ARGS``
(scalene 2.4 CLI, https://github.com/plasma-umass/scalene) and hands its JSON to
:mod:`flamekit.formats.scalene_json`, which turns CPU and memory results
(per-line malloc MB, peak MB, memory stacks) into sample types and line tables.

Stacks are read in the Python view (the interpreter's native frames folded into the
Python frame they serve); ``--native`` keeps those native frames.

scalene runs the program inside its own interpreter, so it can only launch:
``--pid`` is refused (it cannot attach, by design) with a pointer to py-spy.
The command is ``python SCRIPT ARGS`` or ``SCRIPT ARGS`` (a ``#!`` Python
script); ``-m``/``-c`` targets are refused. scalene runs as
``INTERPRETER -m scalene`` (always: the program then runs on the Python it names). scalene exits
with the program's status, which flamekit passes on. ``--duration`` sends
SIGINT at the deadline (scalene then writes what it has).
"""
from __future__ import annotations

import os
import re
import shutil

from ..errors import RecordError, UsageError
from . import require_tool, tool_output

NAME = "scalene"
DEFAULT_RATE = 100
LAUNCHES_TARGET = True
TARGET_IS_TOOL = True  # scalene runs the program in its own process
#: scalene's own closing lines (kept in the log, not shown among the program's output)
TOOL_LINE = re.compile(r"^(Scalene: |  To view in (a )?(browser|terminal): |By default, Scalene only profiles "
                       r"|To track the time spent in all files)")


def tool_version() -> str:
    """Return scalene's version (``2.4.0``); RecordError with the pip command if missing."""
    exe = require_tool("scalene")
    m = re.search(r"version\s+(\d+\.\d+(\.\d+)?)", tool_output([exe, "--version"]), re.I)
    return m.group(1) if m else "unknown"


def prepare(s) -> None:
    """Refuse ``--pid`` and commands scalene cannot run; split the command into script + args."""
    if s.attach:
        raise UsageError(f"scalene cannot attach to a running process (--pid {s.opts.pid}): it must start "
                         f"the program itself; use --backend py-spy --pid {s.opts.pid}, or launch with "
                         f"--backend scalene -- python SCRIPT.py")
    cmd = list(s.command)
    if s.interpreter is None:
        raise UsageError(f"scalene profiles Python scripts: {cmd[0]!r} is not one "
                         f"(use `-- python SCRIPT.py ARGS`, or --backend perf)")
    if os.path.realpath(shutil.which(cmd[0]) or cmd[0]) == os.path.realpath(s.interpreter):
        i = 1
        while i < len(cmd) and cmd[i].startswith("-"):
            if cmd[i][:2] in ("-m", "-c"):
                raise UsageError("scalene runs a script file; `python -m`/`-c` targets are not supported "
                                 "(use --backend py-spy)")
            i += 2 if cmd[i] in ("-X", "-W") else 1  # interpreter flags do not carry over to scalene
        rest = cmd[i:]
        if not rest:
            raise UsageError("scalene needs a script to run: -- python SCRIPT.py [ARGS...]")
        script, args = rest[0], rest[1:]
    else:
        script, args = cmd[0], cmd[1:]
    if "ok" not in tool_output([s.interpreter, "-c", "import scalene; print('ok')"]):
        raise RecordError(f"scalene is not installed for {s.interpreter}: "
                          f"{s.interpreter} -m pip install scalene")
    launcher = [s.interpreter, "-m", "scalene"]
    s.scalene_cmd = (launcher, script, args)  # type: ignore[attr-defined]
    for flag, on in (("--idle", s.opts.idle), ("--gil", s.opts.gil),
                     ("--subprocesses", s.opts.subprocesses)):
        if on:
            s.notes.append(f"{flag} is not a scalene option: ignored")


def _out(s) -> str:
    return os.path.join(s.workdir, "scalene.json")


def argv(s) -> list[str]:
    """Return the ``scalene run`` command line."""
    launcher, script, args = s.scalene_cmd
    cmd = launcher + ["run", "-o", _out(s), "--cpu-sampling-rate", f"{1.0 / s.rate:.6g}", script]
    if args:
        cmd += ["---"] + list(args)
    return cmd


def collect(s, rc: int, log: str) -> tuple[str, str]:
    """Return scalene's JSON file."""
    return _out(s), "scalene"


def load(s, path: str):
    """Read scalene's JSON: the Python view, or with ``--native`` the interpreter's native frames too."""
    from ..formats import scalene_json

    return scalene_json.load(path, native_frames=s.opts.native)


def stats(log: str) -> dict:
    """scalene reports no sample counts on its console."""
    return {}


def diagnose(s, rc: int, log: str) -> str | None:
    """Turn a failed scalene run into one line (None when it wrote its JSON)."""
    out = _out(s)
    if os.path.exists(out) and os.path.getsize(out) > 0:
        return None
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    errs = [ln for ln in lines if "error" in ln.lower() or "scalene:" in ln.lower()]
    detail = (errs or lines or ["no output"])[-1]
    return f"scalene wrote no profile (exit status {rc}): {detail}"
