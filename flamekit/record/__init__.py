"""Recording (pipeline stage: record): drive py-spy, scalene, perf or memray against a PID or a command.

A recorder builds the external tool's command line, runs it with
:mod:`subprocess` (never a shell) and hands the tool's *own* output file to
:mod:`flamekit.formats`. This module holds what the recorders share:

* :class:`RecordOptions` (what ``flamekit record`` was asked) and the
  :class:`Recorder` protocol each backend module implements;
* target checks with psutil (exists, not a zombie, accessible, Python or not);
* :class:`ResourceSampler`, a ~10 Hz thread storing the target's CPU % and RSS
  as ``profile.tables["resources"]`` (columns ``time``, ``cpu_percent``,
  ``rss_bytes``; time in seconds since the recording started);
* metadata (:func:`target_meta`, :func:`host_meta`): target command line,
  executable, start time, thread count, pid, host, CPU model, Python version,
  tool and version, rate, duration, sample counts, exit code, git commit.
  Never environment variables; command-line values that look like secrets
  (``--password=...``, ``--token x``) are redacted.

The lifecycle (launch, Ctrl-C, early exit, exit code) lives in
:mod:`flamekit.record.session`. Exit codes: 1 when a recording fails or the
system refuses it (:class:`~flamekit.errors.RecordError`), 2 for bad usage
(:class:`~flamekit.errors.UsageError`).
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import psutil

from ..errors import RecordError, UsageError
from .tools import find_tool, require_tool  # noqa: F401  (public: the backends use them)

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

BACKENDS: tuple[str, ...] = ("py-spy", "scalene", "perf", "memray")

#: One-line fixes for permission refusals, shared by the recorders.
PTRACE_FIX = ("run flamekit as root or as the target's user; if kernel.yama.ptrace_scope is 1 or more, "
              "`sudo sysctl kernel.yama.ptrace_scope=0`; in a container, add --cap-add SYS_PTRACE")


@dataclass
class RecordOptions:
    """What to record and how; mirrors the ``flamekit record`` flags.

    Exactly one of ``pid`` (attach) and ``command`` (launch) is set. ``rate``
    is in Hz (None: the backend's default, 100 for py-spy, 161 for perf);
    ``duration`` in seconds (None: until the target exits or Ctrl-C).
    """

    backend: str = "auto"
    pid: int | None = None
    command: list[str] | None = None
    duration: float | None = None
    rate: int | None = None
    native: bool = False
    subprocesses: bool = False
    idle: bool = False
    gil: bool = False
    title: str | None = None
    progress: bool = True
    #: seconds between plain progress lines when stderr is not a terminal
    progress_interval: float = 2.0
    #: resource sampling period in seconds (10 Hz)
    resource_interval: float = 0.1
    #: working directory of a launched command (None: flamekit's own)
    cwd: str | None = None
    #: variables added to a launched command's environment (and its tool's)
    env: dict[str, str] | None = None

    def validate(self) -> None:
        """Raise :class:`UsageError` for contradictory or out-of-range options."""
        if (self.pid is None) == (not self.command):
            raise UsageError("record needs exactly one target: --pid PID or -- CMD [ARGS...]")
        if self.backend not in ("auto",) + BACKENDS:
            raise UsageError(f"unknown backend {self.backend!r} (choose auto, {', '.join(BACKENDS)})")
        if self.duration is not None and not (0 < self.duration < 1e7):
            raise UsageError(f"--duration must be a positive number of seconds, not {self.duration}")
        if self.rate is not None and not (1 <= self.rate <= 100_000):
            raise UsageError(f"--rate must be between 1 and 100000 Hz, not {self.rate}")
        if self.pid is not None and self.pid <= 0:
            raise UsageError(f"--pid must be a positive process id, not {self.pid}")


class Recorder(Protocol):
    """What each backend module (``pyspy``, ``scalene``, ``perf``) provides.

    ``LAUNCHES_TARGET``: True when the tool itself runs the command (perf,
    scalene: the tool reports the command's exit code); False when flamekit
    starts the command and the tool attaches to its pid (py-spy, which loses
    the exit code when it launches).

    Optional: ``TOOL_LINE`` (a regex matching the tool's own stderr lines, kept out of
    a launched command's passed-through output) and ``load(s, path) -> Profile`` (read
    the tool's output with options, instead of the format registry's detection).
    """

    NAME: str
    DEFAULT_RATE: int
    LAUNCHES_TARGET: bool

    def tool_version(self) -> str:
        """Return the tool's version; raise RecordError with the install command if missing."""

    def prepare(self, s: "Session") -> None:
        """Check the target and options for this tool (UsageError/RecordError), add notes."""

    def argv(self, s: "Session") -> list[str]:
        """Return the tool's command line (no shell)."""

    def collect(self, s: "Session", rc: int, log: str) -> tuple[str, str]:
        """Post-process after the tool ends; return ``(output file, format name)``."""

    def diagnose(self, s: "Session", rc: int, log: str) -> str | None:
        """Return a one-line error with the fix when the tool failed, else None."""

    def stats(self, log: str) -> dict:
        """Return what the tool reported (``sample_count``, ``errored_samples``, ``lost_samples``)."""


def get_recorder(name: str) -> Recorder:
    """Return the recorder module for a backend name (``py-spy``, ``scalene``, ``perf``)."""
    from . import memray, perf, pyspy, scalene

    mods = {"py-spy": pyspy, "scalene": scalene, "perf": perf, "memray": memray}
    try:
        return mods[name]  # type: ignore[return-value]
    except KeyError:
        raise UsageError(f"unknown backend {name!r} (choose auto, {', '.join(BACKENDS)})") from None


def tool_output(argv: list[str], timeout: float = 20.0) -> str:
    """Run a short helper command (``--version``) and return stdout+stderr ('' on failure)."""
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, errors="replace")
    except (OSError, subprocess.SubprocessError):
        return ""
    return (r.stdout or "") + (r.stderr or "")


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------
_PY_EXE = re.compile(r"^(python|pypy)[0-9.]*(d|m|dm)?$|^python.*\.exe$", re.I)
_LIBPY = re.compile(r"lib(python|pypy)[^/]*?([23])\.(\d+)")


def check_pid(pid: int) -> psutil.Process:
    """Return the psutil process for ``pid``; RecordError if missing, a zombie or not accessible."""
    try:
        proc = psutil.Process(pid)
        status = proc.status()
        proc.cmdline()
    except psutil.NoSuchProcess:
        raise RecordError(f"no process with pid {pid} (it does not exist or has exited)") from None
    except psutil.AccessDenied:
        raise RecordError(f"permission refused reading pid {pid}: {PTRACE_FIX}") from None
    if status == psutil.STATUS_ZOMBIE:
        raise RecordError(f"pid {pid} is a zombie (it has exited and waits for its parent): nothing to record")
    return proc


def _maps(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as f:
            return f.read(4_000_000)
    except OSError:
        return ""


def process_python_version(proc: psutil.Process) -> str | None:
    """Return ``"3.X"`` when the process runs CPython (exe name or a mapped libpython), else None."""
    m = _LIBPY.search(_maps(proc.pid))
    if m:
        return f"{m.group(2)}.{m.group(3)}"
    try:
        exe = os.path.basename(proc.exe() or (proc.cmdline() or [""])[0])
    except (psutil.Error, IndexError):
        return None
    if _PY_EXE.match(exe):
        m = re.search(r"(\d)\.(\d+)", exe)
        return f"{m.group(1)}.{m.group(2)}" if m else "3"
    return None


def is_python_process(proc: psutil.Process) -> bool:
    """Tell whether a running process is a Python interpreter (or embeds libpython)."""
    return process_python_version(proc) is not None


def command_interpreter(command: list[str]) -> str | None:
    """Return the Python interpreter a command runs (``python x.py`` or a ``#!`` script), else None."""
    exe = shutil.which(command[0]) or command[0]
    if _PY_EXE.match(os.path.basename(command[0])) or _PY_EXE.match(os.path.basename(exe)):
        return exe
    try:
        with open(exe, "rb") as f:
            head = f.readline(256)
    except OSError:
        return None
    if head.startswith(b"#!"):
        parts = head[2:].decode("utf-8", "replace").split()
        if parts and os.path.basename(parts[0]) == "env" and len(parts) > 1:
            parts = parts[1:]
        if parts and _PY_EXE.match(os.path.basename(parts[0])):
            return shutil.which(parts[0]) or parts[0]
    return None


def interpreter_version(interpreter: str) -> str | None:
    """Return ``"3.X.Y"`` for a Python interpreter path by asking it (None if that fails)."""
    out = tool_output([interpreter, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
    m = re.search(r"^(\d+\.\d+\.\d+)\s*$", out, re.M)
    return m.group(1) if m else None


def version_tuple(v: str | None) -> tuple[int, ...]:
    """Return ``(3, 12)`` from ``"3.12.1"`` (empty tuple for None)."""
    return tuple(int(x) for x in re.findall(r"\d+", v or "")[:2])


_SECRET = re.compile(r"(pass(word|wd)?|secret|token|api[-_]?key|credential|auth)", re.I)


def redact_argv(argv: list[str]) -> list[str]:
    """Return ``argv`` with values of secret-looking options replaced by ``***``."""
    out: list[str] = []
    hide_next = False
    for a in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        if a.startswith("-") and _SECRET.search(a):
            if "=" in a:
                out.append(a.split("=", 1)[0] + "=***")
            else:
                out.append(a)
                hide_next = True
            continue
        out.append(a)
    return out


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(timespec="seconds")


def target_meta(proc: psutil.Process) -> dict[str, Any]:
    """Return the target's command line, executable, start time, thread count and pid."""
    out: dict[str, Any] = {"pid": proc.pid}
    with proc.oneshot():
        for key, getter in (("command", lambda: redact_argv(proc.cmdline())), ("exe", proc.exe),
                            ("target_name", proc.name), ("thread_count", proc.num_threads),
                            ("cwd", proc.cwd),
                            ("target_start_time", lambda: _iso(proc.create_time()))):
            try:
                out[key] = getter()
            except (psutil.Error, OSError):
                pass
    v = process_python_version(proc)
    if v:
        out["python_version"] = v
    return out


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _git_commit(cwd: str) -> str | None:
    if not shutil.which("git"):
        return None
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                           timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    sha = r.stdout.strip()
    return sha if r.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", sha) else None


def _git_dirty(cwd: str) -> bool | None:
    """Tell whether tracked files in ``cwd``'s work tree differ from HEAD (None if git cannot say)."""
    try:
        r = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                           capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(r.stdout.strip()) if r.returncode == 0 else None


def host_meta(cwd: str | None = None) -> dict[str, Any]:
    """Return host facts: hostname, CPU model and count, OS, load average, and ``cwd``'s git state.

    ``cwd`` (default: flamekit's own) is the command's working directory; when it is
    inside a git work tree, ``git_commit`` is its HEAD and ``git_dirty`` tells whether
    tracked files differ from it (untracked files do not count, as for ``git describe --dirty``).
    ``load_avg_start`` is the 1, 5 and 15 minute load average now.
    """
    from ..version import __version__

    cwd = os.path.abspath(cwd or os.getcwd())
    out: dict[str, Any] = {"host": socket.gethostname(), "cpu_count": os.cpu_count(),
                           "os": f"{platform.system()} {platform.release()}",
                           "flamekit_version": __version__, "cwd": cwd}
    cpu = _cpu_model()
    if cpu:
        out["cpu_model"] = cpu
    load = load_average()
    if load:
        out["load_avg_start"] = load
    sha = _git_commit(cwd)
    if sha:
        out["git_commit"] = sha
        dirty = _git_dirty(cwd)
        if dirty is not None:
            out["git_dirty"] = dirty
    return out


def load_average() -> list[float] | None:
    """Return the host's 1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def python_facts(exe: str) -> dict[str, str]:
    """Return ``python_version`` (``3.X.Y``) and ``python_implementation`` of a Python executable.

    Asks the interpreter itself (one short run); empty when ``exe`` is not a
    Python interpreter by name or does not answer.
    """
    if not exe or not _PY_EXE.match(os.path.basename(exe)):
        return {}
    out = tool_output([exe, "-c", "import platform; print('flamekit-facts', "
                       "platform.python_implementation(), platform.python_version())"], timeout=15.0)
    m = re.search(r"^flamekit-facts (\S+) (\d+\.\d+\.\d+\S*)\s*$", out, re.M)
    return {"python_implementation": m.group(1), "python_version": m.group(2)} if m else {}


# ---------------------------------------------------------------------------
# Resource timeline
# ---------------------------------------------------------------------------
class ResourceSampler(threading.Thread):
    """Sample a process's CPU % and RSS about every ``interval`` seconds in a daemon thread.

    With ``children=True`` the target's descendants are added (``--subprocesses``).
    ``latest`` holds the last ``(cpu_percent, rss_bytes)`` for the progress display.
    CPU % is per core, like ``top`` (200 means two busy cores).
    """

    def __init__(self, pid: int, t0: float, interval: float = 0.1, children: bool = False) -> None:
        super().__init__(name="flamekit-resources", daemon=True)
        self.pid, self.t0, self.interval, self.children = pid, t0, interval, children
        self.time: list[float] = []
        self.cpu: list[float] = []
        self.rss: list[int] = []
        self.peak_threads = 0
        self.latest: tuple[float, int] | None = None
        #: :func:`target_meta` of the live target, refreshed about once a second (a launched
        #: command may exec through a wrapper first, e.g. a pyenv shim)
        self.info: dict[str, Any] = {}
        self._stop_evt = threading.Event()
        self._procs: dict[int, psutil.Process] = {}

    def _tracked(self, root: psutil.Process) -> list[psutil.Process]:
        procs = [root]
        if self.children:
            try:
                procs += root.children(recursive=True)
            except psutil.Error:
                pass
        out = []
        for p in procs:  # keep one Process object per pid so cpu_percent has a baseline
            known = self._procs.setdefault(p.pid, p)
            out.append(known)
        return out

    def run(self) -> None:
        """Sample until :meth:`stop` or the target is gone."""
        try:
            root = psutil.Process(self.pid)
            root.cpu_percent(None)
        except psutil.Error:
            return
        self._procs[root.pid] = root
        nxt = time.monotonic()
        while not self._stop_evt.is_set():
            nxt += self.interval
            if self._stop_evt.wait(max(0.0, nxt - time.monotonic())):
                break
            cpu, rss, alive = 0.0, 0, False
            for p in self._tracked(root):
                try:
                    with p.oneshot():
                        cpu += p.cpu_percent(None)
                        rss += p.memory_info().rss
                        if p.pid == self.pid:
                            self.peak_threads = max(self.peak_threads, p.num_threads())
                            alive = p.status() != psutil.STATUS_ZOMBIE
                except psutil.Error:
                    continue
            if not alive:
                break
            self.time.append(round(time.monotonic() - self.t0, 4))
            self.cpu.append(round(cpu, 1))
            self.rss.append(int(rss))
            self.latest = (cpu, rss)
            if len(self.time) % 10 == 1:
                try:
                    self.info = target_meta(root)
                except (psutil.Error, OSError):
                    pass

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop_evt.set()
        if self.is_alive():
            self.join(timeout=2.0)

    def table(self) -> dict[str, list]:
        """Return the timeline as a column table (``time``, ``cpu_percent``, ``rss_bytes``)."""
        return {"time": list(self.time), "cpu_percent": list(self.cpu), "rss_bytes": list(self.rss)}


def record(opts: RecordOptions):
    """Record a profile as ``opts`` asks; return a :class:`~flamekit.record.session.Recording`."""
    from .session import run_recording

    return run_recording(opts)


__all__ = ["RecordOptions", "Recorder", "ResourceSampler", "BACKENDS", "record", "check_pid",
           "find_tool", "require_tool",
           "is_python_process", "command_interpreter", "target_meta", "host_meta", "redact_argv", "load_average", "python_facts"]

