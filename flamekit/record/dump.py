"""Thread stack snapshot (pipeline stage: record): every thread's current stack, once (``py-spy dump``).

Runs ``py-spy dump --pid PID --json`` (https://github.com/benfred/py-spy)
through :func:`flamekit.record.require_tool` and hands its output to
:func:`flamekit.formats.pyspy_dump.parse`: a Profile with one sample per
thread, thread names, and idle/GIL state in ``tables["thread_state"]``.
py-spy pauses the target for the moment it reads the stacks (``--nonblocking``
is not used: a consistent snapshot matters more here than a few ms).

Failures are one line with the fix: no such pid, a zombie, a process that
is not Python (use perf or gdb), ptrace refused (:data:`PTRACE_FIX`).
"""
from __future__ import annotations

import datetime as _dt
import os
import subprocess

import psutil

from ..errors import RecordError, UsageError
from ..formats.pyspy_dump import parse
from ..model import Profile
from . import PTRACE_FIX, check_pid, process_python_version, redact_argv, require_tool, tool_output

#: Seconds py-spy may take to read the stacks before flamekit gives up.
TIMEOUT = 30.0


def dump_threads(pid: int, *, native: bool = False, timeout: float = TIMEOUT) -> Profile:
    """Return every thread's current stack in process ``pid`` (see the module docstring).

    ``native`` adds C/C++/Cython frames (py-spy ``--native``). Raises
    :class:`RecordError` (exit 1) when the process is missing or refuses
    access, :class:`UsageError` (exit 2) when it does not run Python.
    """
    proc = check_pid(pid)
    version = process_python_version(proc)
    if version is None:
        if not os.access(f"/proc/{pid}/maps", os.R_OK):  # cannot even see what it runs
            raise RecordError(f"permission refused reading pid {pid}: {PTRACE_FIX}")
        try:
            name = proc.name()
        except psutil.Error:
            name = "?"
        raise UsageError(f"pid {pid} ({name}) is not a Python process, so py-spy cannot read its "
                         f"stacks (for native stacks use gdb or eu-stack)")
    exe = require_tool("py-spy")
    cmd = [exe, "dump", "--pid", str(pid), "--json"] + (["--native"] if native else [])
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise RecordError(f"py-spy dump did not answer within {timeout:g} s for pid {pid}") from None
    if r.returncode != 0:
        raise RecordError(diagnose(pid, r.returncode, (r.stderr or "") + (r.stdout or "")))
    p = parse(r.stdout, pid=pid)
    ver = tool_output([exe, "--version"]).split()
    try:
        command = redact_argv(proc.cmdline())
    except psutil.Error:
        command = []
    p.meta.update({"tool_version": ver[-1] if ver else "unknown", "command": command,
                   "python_version": version,
                   "start_time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    return p


def diagnose(pid: int, rc: int, log: str) -> str:
    """Turn a failed ``py-spy dump`` into one line with the fix."""
    low = log.lower()
    if "permission denied" in low or "operation not permitted" in low or "eperm" in low:
        return f"py-spy was refused access to pid {pid}: {PTRACE_FIX}"
    if "no such process" in low or "no such file" in low or "process not found" in low:
        return f"pid {pid} exited before py-spy could read its stacks"
    if "failed to find python version" in low or "couldn't find python" in low:
        return f"py-spy found no Python interpreter in pid {pid} (for native stacks use gdb or eu-stack)"
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith("error")]
    detail = (errors or lines or ["no output"])[0]
    return f"py-spy dump failed (exit status {rc}): {detail}"
