"""py-spy recorder (pipeline stage: record): sample a Python process with ``py-spy record``.

Runs ``py-spy record --pid PID --format speedscope`` (https://github.com/benfred/py-spy)
and hands its speedscope file to :mod:`flamekit.formats.speedscope`: speedscope
output keeps one profile per thread, in time order. ``--full-filenames`` keeps
real paths so frames compare across runs. Options map one to one:
``--rate`` -> ``-r``, ``--duration`` -> ``-d`` (rounded up; flamekit stops it
at the exact deadline with SIGINT), ``--native`` -> ``-n``, ``--subprocesses``
-> ``-s``, ``--idle`` -> ``-i``, ``--gil`` -> ``-g``.

py-spy always attaches: in launch mode flamekit starts the command and points
py-spy at its pid (see :mod:`flamekit.record.session` for why).

Sample times: py-spy's speedscope file has none, but it lists each thread's
samples in the order taken, each weighing ``1/rate`` seconds. :func:`load` times
them as speedscope's Time Order view does (the summed weights before each
sample), counted from when py-spy was started, in seconds since the recording
began (the clock of the resource timeline). That is wall time for a thread
that was sampled at every tick (always busy, or ``--idle``); the waits of a
thread that idles without ``--idle`` are not sampled, so its later samples
come early by the time it waited. ``meta["sample_times"]`` says so.
"""
from __future__ import annotations

import math
import os
import re

import psutil

from ..errors import RecordError, UsageError
from . import PTRACE_FIX, is_python_process, require_tool, tool_output

NAME = "py-spy"
DEFAULT_RATE = 100
LAUNCHES_TARGET = False


def tool_version() -> str:
    """Return py-spy's version (e.g. ``0.4.3``); RecordError with the pip command if missing."""
    exe = require_tool("py-spy")
    out = tool_output([exe, "--version"])
    m = re.search(r"(\d+\.\d+(\.\d+)?)", out)
    return m.group(1) if m else "unknown"


def prepare(s) -> None:
    """Refuse non-Python targets with the fix (use perf)."""
    if s.attach:
        try:
            proc = psutil.Process(s.opts.pid)
            name = proc.name()
        except psutil.Error:
            return  # checked already; py-spy will report what happened
        if not is_python_process(proc):
            raise UsageError(f"pid {s.opts.pid} ({name}) is not a Python process, so py-spy cannot "
                             f"profile it: use --backend perf")
    elif s.interpreter is None and not s.opts.subprocesses:
        raise UsageError(f"{os.path.basename(s.command[0])!r} is not a Python command, so py-spy cannot "
                         f"profile it: use --backend perf (or --subprocesses if it starts Python children)")


def output_path(s) -> str:
    """Return where py-spy writes its speedscope file."""
    return os.path.join(s.workdir, "py-spy.speedscope.json")


def argv(s) -> list[str]:
    """Return the ``py-spy record`` command line."""
    o = s.opts
    cmd = [require_tool("py-spy"), "record", "--pid", str(s.target_pid), "--format", "speedscope",
           "--output", output_path(s), "--rate", str(s.rate), "--full-filenames"]
    if o.duration:
        cmd += ["--duration", str(max(1, math.ceil(o.duration)))]
    for flag, on in (("--native", o.native), ("--subprocesses", o.subprocesses),
                     ("--idle", o.idle), ("--gil", o.gil)):
        if on:
            cmd.append(flag)
    return cmd


def collect(s, rc: int, log: str) -> tuple[str, str]:
    """Return the speedscope file py-spy wrote."""
    return output_path(s), "speedscope"


def load(s, path: str):
    """Read py-spy's speedscope file with sample times (see the module docstring)."""
    from ..formats import speedscope

    p = speedscope.load(path, sampled_times=True)
    if p.sample_time is None:
        return p
    meta = dict(p.meta)
    meta["sample_times"] = ("py-spy sample order, 1/rate apart per thread" +
                            ("" if s.opts.idle else "; waits not sampled (no --idle) are left out"))
    meta["sample_clock"] = "recording"
    return p.copy(sample_time=p.sample_time + float(s.tool_started), meta=meta)


#: py-spy's own warning when its sampling loop runs late ("13.94s behind in sampling, results
#: may be inaccurate"; the delay is Rust's Duration, printed in s, ms, µs or ns)
_BEHIND = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(s|ms|µs|us|ns) behind in sampling")
_SECONDS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}


def stats(log: str) -> dict:
    """Parse ``Samples: N Errors: M`` from py-spy's closing line, and how far behind its
    schedule py-spy said it fell (``sampling_behind_s``, the largest delay it printed)."""
    out: dict = {}
    m = re.search(r"Samples:\s*(\d+)\s+Errors:\s*(\d+)", log)
    if m:
        out.update(tool_sample_count=int(m.group(1)), errored_samples=int(m.group(2)))
    late = [float(v) * _SECONDS[u] for v, u in _BEHIND.findall(log)]
    if late:
        out["sampling_behind_s"] = round(max(late), 3)
    return out


def warnings(meta: dict) -> list[str]:
    """Return what a reader of this recording must know: py-spy fell behind its schedule."""
    behind = meta.get("sampling_behind_s")
    if not behind:
        return []
    return [f"py-spy fell {behind:g} s behind its sampling schedule and said its results may be "
            f"inaccurate: the machine was busier than its cores, or --rate {meta.get('rate_hz')} Hz is "
            f"more than it keeps up with. Shares lean toward the lines the program waited on; record "
            f"again on a quieter machine or at a lower --rate"]


#: What py-spy says when it attached before the launched interpreter was ready.
_TOO_EARLY = ("failed to find python version", "failed to find a python interpreter",
              "couldn't find python", "failed to get process executable name")


def attached_too_early(s, log: str) -> bool:
    """Tell whether py-spy gave up on a launched command that may not have been ready yet."""
    if os.path.exists(output_path(s)) and os.path.getsize(output_path(s)) > 0:
        return False
    low = log.lower()
    return any(m in low for m in _TOO_EARLY)


def diagnose(s, rc: int, log: str) -> str | None:
    """Turn a failed py-spy run into one line with the fix (None when it wrote its output)."""
    if os.path.exists(output_path(s)) and os.path.getsize(output_path(s)) > 0:
        return None
    low = log.lower()
    pid = s.target_pid
    if "permission denied" in low or "operation not permitted" in low or "eperm" in low:
        return f"py-spy was refused access to pid {pid}: {PTRACE_FIX}"
    if "no such process" in low or "process not found" in low:
        return f"pid {pid} exited before py-spy could attach: nothing was recorded"
    if "failed to find python version" in low or "not a python" in low or "couldn't find python" in low:
        if not s.attach and s.target is not None and s.target.poll() is not None:
            return (f"the command exited (status {s.target.returncode}) before py-spy could attach: "
                    f"nothing was recorded")
        return f"py-spy found no Python interpreter in pid {pid}: use --backend perf"
    errors = [ln.strip() for ln in log.splitlines() if "error" in ln.lower()]
    if rc != 0 or errors:
        detail = (errors or [ln.strip() for ln in log.splitlines() if ln.strip()] or ["no output"])[-1]
        return f"py-spy failed (exit status {rc}): {detail}"
    return None


_ = RecordError
