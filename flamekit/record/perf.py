"""perf recorder (pipeline stage: record): ``perf record`` then ``perf script``, native and kernel frames.

Runs ``perf record -e cpu-clock -F RATE -g`` on a pid (``-p``) or a command
(``-- CMD``: perf runs it and exits with its status), then ``perf script`` into
a text file for :mod:`flamekit.formats.perf_script`. ``cpu-clock`` is a
software event, so it works where hardware counters are not exposed (VMs,
containers). ``-k 1`` stamps samples with CLOCK_MONOTONIC, so :func:`load` puts
their times on the recording's clock (seconds since it began, the resource
timeline's), for the report's time order view.

Python frames (CPython's perf support, https://docs.python.org/3/howto/perf_profiling.html),
chosen by the launched interpreter's version:

* **3.13+**: ``PYTHON_PERF_JIT_SUPPORT=1`` (``-X perf_jit``) with
  ``--call-graph dwarf`` (and ``-k 1``, which jitdump needs) and ``perf inject --jit``: full mixed stacks
  (``py::function:file`` frames between the interpreter's C frames). This is
  what works on these machines, whose CPython is built without frame pointers.
* **3.12**: ``PYTHONPERFSUPPORT=1`` (``-X perf``) with ``-g``: Python frames
  appear, but frame-pointer unwinding stops early, so stacks are short.
* **older**: no perf support in CPython; only native frames show (flamekit
  says so; use py-spy for Python frames).

The variables are set in the environment of the launched command so Python
children get them too. Attached processes keep whatever they were started with
(a ``/tmp/perf-PID.map`` from ``-X perf`` gives short Python stacks; a
jitdump from ``-X perf_jit`` is NOT resolved for an attached process: ``perf
inject --jit`` found no ``py::`` frame that way with perf 6.1 and CPython 3.13,
so attached Python shows native frames only and flamekit says so). ``--idle`` and
``--gil`` have no perf meaning (perf samples on-CPU time) and are noted.

Sampling rate: 161 Hz by default, not perf's customary 99. ``cpu-clock`` on a
task fires every 1/RATE seconds of *the task's own CPU time*, a fixed period on
the same clock as work that is sliced by CPU time (``cpu_split.py`` alternates
7 ms / 3 ms of ``thread_time``; schedulers, batch loops and timers work in 10 ms
and 20 ms steps). At 99 Hz (10.1 ms) or 199 Hz (5.03 ms) each sample lands at
nearly the same phase of a 10 ms round for hundreds of rounds, so the split
depends on where the first sample fell: measured on cpu_split.py with
CPython 3.13 (``-X perf_jit``, dwarf), 3 runs each: 99 Hz gave 64/72/78 %,
199 Hz 66/75/96 % for a true 70 %; 161 Hz gave 69-70 % in 5 of 5 runs, 211 Hz
and 997 Hz 70 % in 3 of 3. The dwarf stack dump was not the cause (every
sample reached ``price_options`` or ``update_risk``). A rate within 3 % of a
multiple of 50 Hz up to 400 Hz gets a warning at record time
(:func:`aliasing_warning`).
"""
from __future__ import annotations

import glob
import os
import re
import subprocess

from ..errors import RecordError
from . import require_tool, tool_output, version_tuple

NAME = "perf"
#: not 99: see the module docstring ("Sampling rate")
DEFAULT_RATE = 161
#: perf's own stderr lines (kept in the log, not shown among the command's output)
TOOL_LINE = re.compile(r"^\[ perf record: ")
LAUNCHES_TARGET = True
INSTALL = "apt-get install linux-perf (Debian) or apt-get install linux-tools-$(uname -r) (Ubuntu)"
SCRIPT_TIMEOUT = 600.0


def tool_version() -> str:
    """Return perf's version (``6.1.187``); RecordError with the apt command if missing."""
    exe = require_tool("perf", INSTALL)
    m = re.search(r"(\d+\.\d+[\w.]*)", tool_output([exe, "--version"]))
    return m.group(1) if m else "unknown"


def _paranoid() -> int | None:
    try:
        with open("/proc/sys/kernel/perf_event_paranoid") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def prepare(s) -> None:
    """Pick the unwinding mode and CPython perf support for the target; note what will show."""
    mode = "fp"
    if s.attach:
        pid = s.opts.pid
        if os.path.exists(f"/tmp/perf-{pid}.map"):
            s.notes.append(f"pid {pid} writes a perf map (-X perf): Python frames show, in short stacks")
        elif s.python_version:
            # a jitdump (-X perf_jit) is not enough here: perf inject --jit resolved no py:: frame
            # for a process perf attached to (perf 6.1, CPython 3.13), only for ones it launched
            s.notes.append(f"pid {pid} runs Python {s.python_version}: attached perf shows only native "
                           f"frames (launch it with flamekit record --backend perf -- python3.13 ..., "
                           f"or record it with py-spy)")
    elif s.interpreter:
        v = version_tuple(s.python_version)
        if v >= (3, 13):
            mode = "jit"
            s.env = {**(s.env or {}), "PYTHON_PERF_JIT_SUPPORT": "1"}
        elif v >= (3, 12):
            s.env = {**(s.env or {}), "PYTHONPERFSUPPORT": "1"}
            s.notes.append("Python 3.12: perf shows Python frames via -X perf, but this CPython has no "
                           "frame pointers, so stacks are short (Python 3.13+ gets full stacks)")
        else:
            s.notes.append(f"Python {s.python_version or '?'} has no perf support (3.12+ needed): only "
                           f"native frames will show; use --backend py-spy for Python frames")
    for flag, on in (("--idle", s.opts.idle), ("--gil", s.opts.gil)):
        if on:
            s.notes.append(f"{flag} has no meaning for perf (it samples on-CPU time): ignored")
    warn = aliasing_warning(s.rate)
    if warn:
        s.notes.append(warn)
    s.meta["perf_unwind"] = "dwarf+jit" if mode == "jit" else "frame-pointer"
    s.perf_mode = mode  # type: ignore[attr-defined]
    for n in s.notes:
        print(f"flamekit: note: {n}", file=__import__("sys").stderr)


def aliasing_warning(rate: float) -> str | None:
    """Return a warning when ``rate`` (Hz) samples in step with 10 ms / 20 ms periodic work, else None.

    That is a rate within 3 % of 50, 100, ... 400 Hz: a sample period within 3 % of
    a divisor of 20 ms visits only a few phases of such work, so shares come out
    wrong by tens of points (see the module docstring).
    """
    k = round(rate / 50.0)
    if 1 <= k <= 8 and abs(rate - 50.0 * k) <= 0.03 * 50.0 * k:
        return (f"perf at {rate:g} Hz samples in step with work that repeats every 10 or 20 ms "
                f"(its period {1000.0 / rate:.2f} ms nearly divides it), so shares can be off by tens "
                f"of points: prefer a rate such as {DEFAULT_RATE} Hz")
    return None


def _data(s) -> str:
    return os.path.join(s.workdir, "perf.data")


def argv(s) -> list[str]:
    """Return the ``perf record`` command line."""
    # -k 1: time stamps on CLOCK_MONOTONIC (Python's time.monotonic), so load() can put the
    # samples on the recording's clock, the resource timeline's
    cmd = [require_tool("perf", INSTALL), "record", "-e", "cpu-clock", "-F", str(s.rate), "-k", "1",
           "-o", _data(s)]
    if getattr(s, "perf_mode", "fp") == "jit":
        cmd += ["--call-graph", "dwarf"]
    else:
        cmd += ["-g"]
    if s.attach:
        return cmd + ["-p", str(s.opts.pid)]
    return cmd + ["--"] + list(s.command)


def _run(args: list[str], out_path: str | None = None) -> tuple[int, str]:
    out = open(out_path, "wb") if out_path else subprocess.DEVNULL
    try:
        r = subprocess.run(args, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           timeout=SCRIPT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RecordError(f"{' '.join(args[:2])} took longer than {SCRIPT_TIMEOUT:.0f} s") from None
    finally:
        if out_path:
            out.close()
    return r.returncode, r.stderr.decode("utf-8", "replace")


def collect(s, rc: int, log: str) -> tuple[str, str]:
    """Run ``perf inject --jit`` (3.13 mode) and ``perf script``; return the text file."""
    perf = require_tool("perf", INSTALL)
    data = _data(s)
    if getattr(s, "perf_mode", "fp") == "jit":
        injected = data + ".jit"
        irc, err = _run([perf, "inject", "--jit", "-i", data, "-o", injected])
        if irc == 0 and os.path.exists(injected):
            data = injected
        else:
            s.notes.append(f"perf inject --jit failed, Python frames may be missing: {err.strip()[-200:]}")
    out = os.path.join(s.workdir, "perf.script.txt")
    src, err = _run([perf, "script", "-i", data], out)
    if src != 0:
        raise RecordError(f"perf script failed (exit status {src}): {(err.strip().splitlines() or ['?'])[-1]}")
    if not s.attach and s.target_pid:
        _cleanup_jit_files(s.target_pid)
    return out, "perf-script"


def _cleanup_jit_files(pid: int) -> None:
    """Remove the perf map / jitdump / jitted .so files CPython wrote for a command we launched."""
    for pat in (f"/tmp/perf-{pid}.map", f"/tmp/jit-{pid}.dump", f"/tmp/jitted-{pid}-*.so"):
        for path in glob.glob(pat):
            try:
                os.unlink(path)
            except OSError:
                pass


def load(s, path: str):
    """Read ``perf script``'s text with sample times in seconds since the recording began.

    ``perf record -k 1`` stamps samples with CLOCK_MONOTONIC, the clock of
    ``time.monotonic()``, so subtracting the recording's start puts them on the
    resource timeline's clock (``meta["sample_clock"] = "recording"``).
    """
    from ..formats import load_with_format

    p, _ = load_with_format(path, "perf-script")
    if p.sample_time is None or not s.clock0:
        return p
    meta = dict(p.meta)
    meta["sample_clock"] = "recording"
    return p.copy(sample_time=p.sample_time - s.clock0, meta=meta)


def stats(log: str) -> dict:
    """Parse perf's ``(N samples)`` and ``lost N chunks`` lines."""
    out: dict = {}
    m = re.search(r"\((\d+) samples\)", log)
    if m:
        out["tool_sample_count"] = int(m.group(1))
    lost = [int(x) for x in re.findall(r"lost (\d+) chunks", log, re.I)]
    lost += [int(x) for x in re.findall(r"(\d+) lost samples", log, re.I)]
    if lost:
        out["lost_samples"] = sum(lost)
    return out


def diagnose(s, rc: int, log: str) -> str | None:
    """Turn a failed ``perf record`` into one line with the fix (None when it wrote data)."""
    data = _data(s)
    if os.path.exists(data) and os.path.getsize(data) > 0 and "Captured and wrote" in log:
        return None
    low = log.lower()
    if "perf_event_paranoid" in low or "permission" in low or "not permitted" in low or "eacces" in low:
        p = _paranoid()
        return (f"perf was refused by the kernel (kernel.perf_event_paranoid={p}): run "
                f"`sudo sysctl kernel.perf_event_paranoid=1` or run as root (CAP_PERFMON); in a container "
                f"allow perf_event_open in its seccomp profile")
    if "no such process" in low or "couldn't find" in low and s.attach:
        return f"pid {s.opts.pid} exited before perf could attach: nothing was recorded"
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    if os.path.exists(data) and os.path.getsize(data) > 0:
        return None
    return f"perf record failed (exit status {rc}): {lines[-1] if lines else 'no output'}"
