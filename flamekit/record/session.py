"""Recording lifecycle (pipeline stage: record): launch, watch, stop, collect.

:func:`run_recording` is the one place that starts processes for
``flamekit record``:

* **attach** (``--pid``): the tool attaches to the running process; the
  target is never signalled.
* **launch** (``-- CMD``): for py-spy, flamekit starts CMD itself as its own
  child and py-spy attaches to that pid at once (py-spy retries until the
  interpreter is up, so the first Python instruction is covered; measured on
  these machines: the attach lands during interpreter start-up). flamekit is the
  parent, so ``waitpid`` gives CMD's exact exit code, which py-spy's own launch
  mode loses (it always exits 0). perf and scalene run CMD themselves and
  return its exit status, so they launch it.

Stopping: the tool ends when the target exits (its samples are kept), when
``--duration`` ends (py-spy's ``-d``, or SIGINT from flamekit at the deadline)
or on Ctrl-C. flamekit catches SIGINT and forwards exactly one SIGINT to the
tool, which then writes what it sampled; a tool in flamekit's own process
group that already got the terminal's Ctrl-C is not signalled twice. A second
Ctrl-C kills the tool. A command flamekit launched (itself, or through perf or
scalene) that is still running when recording stops gets SIGINT, then SIGTERM,
and after a grace period SIGKILL, with every process it started; flamekit says
so on stderr and keeps what was sampled (:mod:`.stopping`).
"""
from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ..errors import FlamekitError, FormatError, RecordError, RecordInterrupted, UsageError
from ..model import Profile
from . import (RecordOptions, Recorder, ResourceSampler, check_pid, command_interpreter, get_recorder,
               host_meta, interpreter_version, load_average, process_python_version, python_facts,
               redact_argv, target_meta, version_tuple)
from .progress import ProgressDisplay
from .stopping import exit_code as _exit_code, kill_tree, say_killed, stop_grace, stop_process
from . import procs
from .tidy import no_samples_message, tidy_profile, time_coverage


@dataclass
class Session:
    """State of one recording, handed to the backend's hooks."""

    opts: RecordOptions
    backend: str
    recorder: Recorder
    tool_version: str
    workdir: str
    rate: int
    command: list[str] | None = None       # the command to launch (a backend may rewrite it)
    interpreter: str | None = None         # the launched command's Python, if any
    python_version: str | None = None
    target_pid: int | None = None
    target: subprocess.Popen | None = None  # CMD, when flamekit launched it itself
    tool: subprocess.Popen | None = None
    env: dict[str, str] | None = None       # extra variables for the launched command / tool
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # backend facts for the profile
    stop_signal: str | None = None         # SIGINT/SIGTERM/SIGHUP that stopped the recording
    interrupts: list[float] = field(default_factory=list)  # times of SIGINT/SIGTERM/SIGHUP received
    signums: list[int] = field(default_factory=list)       # and which signal each was
    tool_started: float = 0.0              # seconds from the recording's start to the tool's
    clock0: float = 0.0                    # time.monotonic() when the recording started
    restart_tool: Any = None               # starts the tool again (an attach that came too early)

    @property
    def attach(self) -> bool:
        """True when recording a running ``--pid``."""
        return self.opts.pid is not None


@dataclass
class Recording:
    """The result: the profile, the launched command's exit code (None when attached), the format."""

    profile: Profile
    exit_code: int | None
    source_format: str
    stopped_by: str


def _iso_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _resolve_target(opts: RecordOptions) -> tuple[str, dict[str, Any], str | None, str | None]:
    """Check the target; return (backend, target meta, interpreter, python version)."""
    if opts.pid is not None:
        proc = check_pid(opts.pid)
        tmeta = target_meta(proc)
        pyver = process_python_version(proc)
        backend = opts.backend if opts.backend != "auto" else ("py-spy" if pyver else "perf")
        return backend, tmeta, None, pyver
    cmd = opts.command or []
    if not (shutil.which(cmd[0]) or (os.sep in cmd[0] and os.path.exists(cmd[0]))):
        raise UsageError(f"command not found: {cmd[0]!r} (give a program on PATH or a path to it after --)")
    interp = command_interpreter(cmd)
    backend = opts.backend if opts.backend != "auto" else ("py-spy" if interp else "perf")
    # only perf needs the exact version up front (to pick its mode); otherwise it is read
    # from the running target (saves starting the interpreter, slow behind a pyenv shim)
    pyver = interpreter_version(interp) if interp and backend == "perf" else None
    tmeta = {"command": redact_argv(list(cmd))}
    exe = shutil.which(cmd[0])
    if exe:
        tmeta["exe"] = os.path.realpath(exe)
    if pyver:
        tmeta["python_version"] = pyver
    return backend, tmeta, interp, pyver


def run_recording(opts: RecordOptions) -> Recording:
    """Record as ``opts`` asks and return the :class:`Recording`; raise on failure.

    Raises :class:`UsageError` (exit 2) for bad usage and :class:`RecordError`
    (exit 1) when the tool is missing, the system refuses, or nothing was recorded.
    """
    opts.validate()
    backend, tmeta, interp, pyver = _resolve_target(opts)
    rec = get_recorder(backend)
    version = rec.tool_version()
    workdir = tempfile.mkdtemp(prefix="flamekit-record-")
    s = Session(opts=opts, backend=backend, recorder=rec, tool_version=version, workdir=workdir,
                rate=int(opts.rate or rec.DEFAULT_RATE), command=list(opts.command or []) or None,
                interpreter=interp, python_version=pyver, target_pid=opts.pid,
                env=dict(opts.env) if opts.env else None)
    # SIGINT is caught from here on (not only while the tool runs): a Ctrl-C during start-up
    # then stops the recording like any other, instead of leaving a launched command behind
    # SIGTERM (a service manager) and SIGHUP (a closed SSH session) stop the recording as
    # Ctrl-C does: what was sampled is kept
    old: list = []
    if threading.current_thread() is threading.main_thread():
        def on_signal(signum, frame):  # noqa: ARG001
            s.interrupts.append(time.monotonic())
            s.signums.append(signum)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            old.append((sig, signal.signal(sig, on_signal)))
    try:
        rec.prepare(s)
        return _run(s, tmeta)
    finally:
        for sig, handler in old:
            signal.signal(sig, handler)
        shutil.rmtree(workdir, ignore_errors=True)


def _run(s: Session, tmeta: dict[str, Any]) -> Recording:
    opts, rec = s.opts, s.recorder
    # the command's working directory: a launched command's, or the attached process's
    hmeta = host_meta(opts.cwd if not s.attach else tmeta.get("cwd"))
    log_path = os.path.join(s.workdir, "tool.log")
    start_iso = _iso_now()
    t0 = s.clock0 = time.monotonic()
    env = None
    if s.env:
        env = dict(os.environ)
        env.update(s.env)
    launched_by_us = not s.attach and not rec.LAUNCHES_TARGET
    grace = stop_grace()  # a bad FLAMEKIT_STOP_GRACE fails before anything starts
    if launched_by_us:
        pre = procs.allow_any_tracer if procs.yama_scope() >= 1 else None
        try:
            s.target = subprocess.Popen(s.command, env=env, preexec_fn=pre, cwd=opts.cwd)
        except OSError as e:
            raise UsageError(f"cannot start {s.command[0]!r}: {e.strerror or e}") from None
        s.target_pid = s.target.pid
    argv = rec.argv(s)
    tool_own_group = s.attach or launched_by_us
    # a tool that launches the command (perf, scalene) hands it our stdout, and its stderr
    # (the command's and the tool's) is copied to ours and to the log, minus the tool's chatter
    passthrough = not s.attach and rec.LAUNCHES_TARGET
    log = open(log_path, "wb")
    try:
        s.tool = subprocess.Popen(argv, stdout=None if passthrough else log,
                                  stderr=subprocess.PIPE if passthrough else subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL if tool_own_group else None,
                                  start_new_session=tool_own_group, env=env, cwd=opts.cwd)
    except OSError as e:
        log.close()
        if s.target is not None:
            stop_process(s.target, _label(s))
        raise RecordError(f"cannot run {argv[0]}: {e.strerror or e}") from None
    s.tool_started = time.monotonic() - t0
    tee = None
    if passthrough:
        tee = threading.Thread(target=procs.tee, args=(s.tool.stderr, log, getattr(rec, "TOOL_LINE", None)),
                               name="flamekit-stderr", daemon=True)
        tee.start()
    else:
        log.close()
    if s.target_pid is None:  # the tool launched the command
        s.target_pid = s.tool.pid if getattr(rec, "TARGET_IS_TOOL", False) else procs.find_child(s.tool.pid)

    sampler = None
    if s.target_pid is not None:
        sampler = ResourceSampler(s.target_pid, t0, opts.resource_interval, children=opts.subprocesses)
        sampler.start()
    if launched_by_us and not passthrough and getattr(rec, "attached_too_early", None):
        s.restart_tool = lambda: _restart_tool(s, argv, env, log_path, t0)
    stopped_by = _watch(s, sampler, t0, grace)
    elapsed = time.monotonic() - t0
    if sampler is not None:
        sampler.stop()
    if tee is not None:
        tee.join(timeout=10.0)

    exit_code: int | None = None
    if s.target is not None:
        exit_code = (_exit_code(s.target.returncode) if s.target.poll() is not None
                     else stop_process(s.target, _label(s), grace))
    elif not s.attach:
        exit_code = _exit_code(s.tool.returncode)
    tool_rc = s.tool.returncode
    with open(log_path, "rb") as f:
        log_text = f.read(2_000_000).decode("utf-8", "replace")
    problem = rec.diagnose(s, tool_rc, log_text)
    if problem and (stopped_by == "interrupt" or s.interrupts):
        # Ctrl-C before the tool had anything to write (also one that reached the command
        # and the tool before flamekit's own handler ran)
        raise _interrupted(s, f"interrupted after {elapsed:.1f} s, before {s.backend} wrote any sample; "
                              f"no profile written")
    if problem:
        raise RecordError(problem)
    path, fmt = rec.collect(s, tool_rc, log_text)
    if not os.path.exists(path):
        last = [ln for ln in log_text.splitlines() if ln.strip()][-1:] or ["no output"]
        raise RecordError(f"{s.backend} wrote no profile ({last[0].strip()}); tool exit status {tool_rc}")
    from ..formats import load_with_format, names

    if os.path.getsize(path) == 0:  # e.g. perf script of an idle target: nothing on CPU
        raise _no_samples(s, elapsed, stopped_by, exit_code)
    try:
        if hasattr(rec, "load"):  # a recorder that reads its tool's output with options
            profile, fmt_name = rec.load(s, path), fmt
        else:
            profile, fmt_name = load_with_format(path, fmt if fmt in names() else None)
    except FormatError as e:
        if not s.attach and exit_code:  # e.g. scalene's stub JSON for a program that failed at once
            raise _no_samples(s, elapsed, stopped_by, exit_code) from None
        raise RecordError(f"could not read {s.backend}'s output: {e.reason}") from None
    if profile.n_samples == 0 or not profile.totals().any():
        raise _no_samples(s, elapsed, stopped_by, exit_code)
    profile = tidy_profile(profile, s.target_pid)
    meta = dict(profile.meta)
    meta.update(hmeta)
    meta.update(tmeta)
    if sampler is not None and not s.attach:
        meta.update({k: v for k, v in sampler.info.items() if k != "command"})
    meta.update({
        "tool": s.backend, "tool_version": s.tool_version, "backend": s.backend,
        "mode": "attach" if s.attach else "launch", "start_time": start_iso,
        "duration_s": round(elapsed, 3), "rate_hz": s.rate, "sample_count": profile.n_samples,
        "stopped_by": stopped_by,
        **({"stop_signal": s.stop_signal} if s.stop_signal else {}),
        **time_coverage(s.backend, profile, elapsed, s.rate, opts.idle),
        "record_options": {"native": opts.native, "subprocesses": opts.subprocesses,
                           "idle": opts.idle, "gil": opts.gil, "duration": opts.duration},
    })
    meta.update(s.meta)
    meta.update({k: v for k, v in rec.stats(log_text).items() if v is not None})
    told = getattr(rec, "warnings", lambda _m: [])(meta)
    if told:  # the tool's own doubts about this recording, kept with it (info, report, stderr)
        meta["warnings"] = [*(meta.get("warnings") or []), *told]
    meta.update(_end_facts(meta))
    if sampler is not None and sampler.peak_threads:
        meta["thread_count"] = max(int(meta.get("thread_count") or 0), sampler.peak_threads)
    if exit_code is not None:
        meta["exit_code"] = exit_code
    if opts.title:
        meta["title"] = opts.title
    if s.notes:
        meta["notes"] = list(s.notes)
    tables = dict(profile.tables)
    if sampler is not None:
        tables["resources"] = sampler.table()
    profile = profile.copy(meta=meta, tables=tables)
    if s.interrupts and stopped_by != "interrupt":  # a signal while the tool's output was read
        stopped_by = profile.meta["stopped_by"] = "interrupt"
        profile.meta["stop_signal"] = signal.Signals(s.signums[0]).name
    return Recording(profile=profile, exit_code=exit_code, source_format=fmt_name, stopped_by=stopped_by)


def _end_facts(meta: dict[str, Any]) -> dict[str, Any]:
    """Return what is known once the recording ended: load average, the interpreter's full version."""
    out: dict[str, Any] = {}
    load = load_average()
    if load:
        out["load_avg_end"] = load
    exe = meta.get("exe")
    if isinstance(exe, str) and meta.get("python_version"):  # the target ran Python: ask it
        facts = python_facts(exe)
        if facts and version_tuple(facts["python_version"]) == version_tuple(str(meta["python_version"])):
            out.update(facts)
    return out


def _no_samples(s: Session, elapsed: float, stopped_by: str, exit_code: int | None) -> RecordError:
    name = None
    if s.attach:
        try:
            import psutil

            name = psutil.Process(s.target_pid).name()
        except Exception:  # gone, or not ours to read: the pid alone says enough
            name = None
    msg = no_samples_message(s.backend, attach=s.attach, pid=s.target_pid, name=name,
                             python=bool(s.python_version), elapsed=elapsed, stopped_by=stopped_by,
                             exit_code=exit_code, idle=s.opts.idle)
    return _interrupted(s, msg) if stopped_by == "interrupt" else RecordError(msg)


def _interrupted(s: Session, msg: str) -> RecordInterrupted:
    """Return the error for a recording stopped by a signal before its first sample (exit 128+N)."""
    e = RecordInterrupted(msg)
    if s.signums:
        e.exit_code = 128 + int(s.signums[0])
    return e


def _label(s: Session) -> str:
    """Name the target for progress and messages: ``pid N`` or the command's first words."""
    return (f"pid {s.target_pid}" if s.attach
            else " ".join(os.path.basename(c) for c in (s.command or ["?"])[:2]))


def _kill_launched(s: Session, grace: float) -> None:
    """SIGKILL the command the tool launched (and what it started); never the tool, never --pid."""
    tool = s.tool
    assert tool is not None and not s.attach
    pids = [s.target_pid] if s.target_pid and s.target_pid != tool.pid else []
    if not pids:
        import psutil
        try:
            pids = [c.pid for c in psutil.Process(tool.pid).children()]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pids = []
    killed = sum(kill_tree(pid, spare=tool.pid) for pid in pids)
    if killed:
        say_killed(_label(s), pids[0], grace, killed)


#: For this long after the start, a tool that attached to the command flamekit launched
#: before its interpreter was ready (a shell shim like pyenv's, a busy host) and gave up
#: is started again while the command runs.
_ATTACH_WINDOW = 15.0


def _restart_tool(s: Session, argv: list[str], env: dict[str, str] | None, log_path: str,
                  t0: float) -> bool:
    """Start the tool again when it gave up on a launched command too early; True if it did."""
    if (s.interrupts or s.target is None or s.target.poll() is not None
            or time.monotonic() - t0 > _ATTACH_WINDOW
            or not s.recorder.attached_too_early(s, procs.read_log(log_path))):
        return False
    time.sleep(0.1)
    with open(log_path, "wb") as log:
        try:
            s.tool = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True,
                                      env=env, cwd=s.opts.cwd)
        except OSError:
            return False
    s.tool_started = time.monotonic() - t0
    return True


def _watch(s: Session, sampler: ResourceSampler | None, t0: float, grace: float) -> str:
    """Wait for the tool while showing progress; handle Ctrl-C and the deadline. Return why it stopped.

    Once the tool was told to stop, a command it launched that still runs ``grace``
    seconds later is killed (:mod:`.stopping`); a tool still running 30 s later is too.
    """
    opts, tool = s.opts, s.tool
    assert tool is not None
    interrupts, signums = s.interrupts, s.signums
    deadline = t0 + opts.duration if opts.duration else None
    grouped = not (s.attach or s.target is not None)  # tool shares our process group
    signalled = 0
    asked_at: float | None = None  # when the tool was first told to stop
    killed = False
    stopped_by = "target-exit"
    label = _label(s)
    display = ProgressDisplay(enabled=opts.progress, total=opts.duration,
                              label=f"{s.backend} {label}", interval=opts.progress_interval)
    try:
        display.start()
        while tool.poll() is None or (signalled == 0 and s.restart_tool is not None
                                      and s.restart_tool()):
            tool = s.tool
            now = time.monotonic()
            if s.target is not None:
                s.target.poll()  # reap an exited command at once so the tool sees it gone
            if interrupts and signalled < len(interrupts):
                stopped_by = "interrupt"
                if signalled == 0:
                    # only a terminal's Ctrl-C reaches the whole group; SIGTERM/SIGHUP
                    # came to flamekit alone, so the tool is told here
                    if not (grouped and signums[0] == signal.SIGINT and procs.sigint_reaches_group()):
                        _signal(tool, signal.SIGINT)
                    asked_at = now
                else:  # a second Ctrl-C: the user insists
                    _signal(tool, signal.SIGKILL)
                signalled = len(interrupts)
            elif deadline is not None and now >= deadline and signalled == 0:
                stopped_by = "duration"
                _signal(tool, signal.SIGINT)
                signalled = 1
                asked_at = now
                deadline = None
            elif asked_at is not None and now - asked_at > grace and not killed and \
                    not s.attach and s.target is None:
                killed = True  # the tool waits for a command that ignores SIGINT and SIGTERM
                _kill_launched(s, grace)
            elif asked_at is not None and now - asked_at > grace + 30:
                _signal(tool, signal.SIGKILL)  # a tool that does not stop after 30 s more
            display.update(now - t0, sampler.latest if sampler else None)
            try:
                tool.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        if interrupts:
            # a Ctrl-C to the whole group can end the command and the tool before this loop
            # sees the signal: the recording was still stopped by it
            stopped_by = "interrupt"
        elif stopped_by == "target-exit" and _target_alive(s):
            # the tool stopped on its own (py-spy's -d) while the target runs on
            stopped_by = "duration" if opts.duration else "tool-exit"
    finally:
        if signums:
            s.stop_signal = signal.Signals(signums[0]).name
        display.close(time.monotonic() - t0, stopped_by)
    return stopped_by


def _signal(p: subprocess.Popen, sig: int) -> None:
    try:
        p.send_signal(sig)
    except (ProcessLookupError, OSError):
        pass


_ = (math, FlamekitError)


def _target_alive(s) -> bool:
    """Return True when the recorded process still runs (not exited, not a zombie)."""
    import psutil

    pid = s.target_pid
    if not pid:
        return False
    if s.target is not None and s.target.poll() is not None:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
