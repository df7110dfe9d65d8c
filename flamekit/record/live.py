"""Live sampling (pipeline stage: record): consecutive short recordings of a running process.

``flamekit top --pid`` needs fresh numbers every second, and neither py-spy
nor perf streams its samples in a form flamekit reads, so :class:`LiveSampler`
runs the backend's own recorder (the ``argv``/``collect``/``diagnose`` hooks
of :mod:`flamekit.record.pyspy` and :mod:`flamekit.record.perf`, exactly as
``flamekit record --pid`` drives them) for one *window* of ``interval``
seconds at a time, stops it with SIGINT, and loads its output through
:mod:`flamekit.formats`. Each finished window is handed over as a
:class:`Window`.

**The gap.** Between two windows nothing is sampled: the next tool must
attach before it samples again. The next window's tool is started the moment
the previous one is told to stop (its start-up overlaps the previous tool's
writing), and the gap is measured, not assumed:

* py-spy prints ``Sampling process N times a second`` when its sampling loop
  starts; the gap is the time from the previous window's SIGINT to that line.
* perf prints nothing when it starts, but its samples carry timestamps from
  one clock: the gap is the time from the previous window's last sample to
  the next window's first, minus one sampling period.

Tools run in a session of their own, so a Ctrl-C on the terminal reaches
flamekit only (which then stops the current window and keeps it), and each
carries a safety ``--duration`` so that it cannot outlive flamekit by more
than a few seconds.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

from ..errors import FlamekitError, RecordError, UsageError
from ..formats import load
from ..model import Profile
from . import RecordOptions, check_pid, get_recorder, process_python_version
from .session import Session

#: Seconds a window's tool may run before it stops itself (flamekit normally stops it first).
SAFETY = 10
BACKENDS = ("py-spy", "perf")


@dataclass
class Window:
    """One finished window: its profile and when it sampled (``time.monotonic`` seconds).

    ``gap_before`` is the measured unsampled time between the previous window
    and this one (None for the first window or when it could not be measured).
    """

    index: int
    profile: Profile
    start: float
    stop: float
    gap_before: float | None

    @property
    def seconds(self) -> float:
        """Return the window's sampling time in seconds."""
        return max(self.stop - self.start, 0.0)


@dataclass
class _Running:
    session: Session
    proc: subprocess.Popen
    spawned: float
    start: float | None = None
    stop: float | None = None
    log: str = ""


class LiveSampler:
    """Record ``pid`` in consecutive windows of ``interval`` seconds with ``backend``.

    Call :meth:`windows` (a generator) from one thread; call :meth:`stop`
    from any thread to end the current window early (it is still yielded).
    ``stopped_by`` tells why it ended: ``stop`` or ``target exited``.
    """

    def __init__(self, pid: int, *, backend: str = "py-spy", interval: float = 1.0,
                 rate: int | None = None) -> None:
        if backend not in BACKENDS:
            raise UsageError(f"unknown backend {backend!r} for top --pid (choose {', '.join(BACKENDS)})")
        if not interval > 0:
            raise UsageError("the refresh interval must be more than 0 seconds")
        self.pid = pid
        self.interval = float(interval)
        proc = check_pid(pid)
        self.target = proc
        self.python_version = process_python_version(proc)
        self.recorder = get_recorder(backend)
        self.backend = backend
        self.tool_version = self.recorder.tool_version()
        self.rate = int(rate or self.recorder.DEFAULT_RATE)
        self.workdir = tempfile.mkdtemp(prefix="flamekit-top-")
        self._n = 0
        self._stop = threading.Event()
        self.stopped_by = ""
        opts = RecordOptions(backend=backend, pid=pid, duration=SAFETY, rate=self.rate, progress=False)
        self._base = Session(opts=opts, backend=backend, recorder=self.recorder,
                             tool_version=self.tool_version, workdir=self.workdir, rate=self.rate,
                             python_version=self.python_version, target_pid=pid)
        self.recorder.prepare(self._base)  # refuses a non-Python pid for py-spy, with the fix

    def stop(self) -> None:
        """Ask the sampler to end after (a shortened) current window."""
        self._stop.set()

    def close(self) -> None:
        """Remove the temporary folder."""
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _alive(self) -> bool:
        try:
            return self.target.is_running() and self.target.status() != "zombie"
        except Exception:
            return False

    def _spawn(self) -> _Running:
        d = os.path.join(self.workdir, f"w{self._n:06d}")
        self._n += 1
        os.mkdir(d)
        s = dataclasses.replace(self._base, workdir=d, notes=[], meta=dict(self._base.meta))
        argv = self.recorder.argv(s)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self._procs = [p for p in getattr(self, "_procs", []) if p.poll() is None] + [proc]
        return _Running(s, proc, time.monotonic())

    def _wait_started(self, r: _Running) -> None:
        """Note when the tool starts sampling (py-spy's banner; for perf, when it was spawned)."""
        if self.backend != "py-spy":
            r.start = r.spawned
            return
        line = r.proc.stdout.readline()
        r.start = time.monotonic()
        r.log += line.decode("utf-8", "replace")

    def _finish(self, r: _Running) -> Profile:
        """Stop the tool (if running), wait for its output and load it."""
        if r.stop is None:
            r.stop = time.monotonic()
        if r.proc.poll() is None:
            try:
                os.kill(r.proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        try:
            out, _ = r.proc.communicate(timeout=SAFETY + 30)
        except subprocess.TimeoutExpired:
            r.proc.kill()
            out, _ = r.proc.communicate()
        r.log += out.decode("utf-8", "replace")
        problem = self.recorder.diagnose(r.session, r.proc.returncode, r.log)
        if problem:
            raise RecordError(problem)
        path, fmt = self.recorder.collect(r.session, r.proc.returncode, r.log)
        try:
            return load(path, fmt)
        finally:
            shutil.rmtree(r.session.workdir, ignore_errors=True)

    def windows(self):
        """Yield a :class:`Window` per finished recording until :meth:`stop` or the target exits."""
        self._procs: list[subprocess.Popen] = []
        try:
            yield from self._windows()
        finally:  # an exception or an abandoned generator: no tool outlives the loop
            for proc in self._procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()

    def _windows(self):
        cur = self._spawn()
        self._wait_started(cur)
        prev_stop: float | None = None
        prev_last: float | None = None
        index = 0
        while True:
            deadline = cur.start + self.interval
            while not self._stop.is_set() and cur.proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._stop.wait(min(left, 0.05))
            cur.stop = time.monotonic()
            if cur.proc.poll() is None:
                os.kill(cur.proc.pid, signal.SIGINT)
            ended = cur.proc.poll() is not None and not self._stop.is_set()
            go_on = not self._stop.is_set() and self._alive() and not ended
            nxt = self._spawn() if go_on else None  # attaches while `cur` writes its output
            try:
                prof = self._finish(cur)
            except FlamekitError:
                if nxt is not None:
                    self._finish_quietly(nxt)
                if self._stop.is_set() and cur.proc.returncode == -signal.SIGINT:
                    # stopped (q, Ctrl-C, --duration) just as this window's tool started: it
                    # died of our SIGINT before it set its handler (py-spy prints its banner
                    # first) and wrote nothing, so there is no window to show
                    self.stopped_by = "stop"
                    return
                if index and not self._alive():
                    self.stopped_by = "target exited"
                    return
                raise
            if self.backend == "perf" and prof.sample_time is not None and len(prof.sample_time):
                # perf starts sampling some time after it is spawned: the samples tell when
                span = float(prof.sample_time.max() - prof.sample_time.min()) + 1.0 / self.rate
                cur.start = max(cur.start, cur.stop - span)
            gap = None
            if prev_stop is not None:
                gap = self._gap(cur, prev_stop, prev_last, prof)
            yield Window(index, prof, cur.start, cur.stop, gap)
            index += 1
            if nxt is None:
                self.stopped_by = "stop" if self._stop.is_set() else "target exited"
                return
            prev_stop, prev_last = cur.stop, _last_time(prof)
            cur = nxt
            self._wait_started(cur)

    def _gap(self, cur: _Running, prev_stop: float, prev_last: float | None, prof: Profile) -> float:
        """Return the measured unsampled time before window ``cur`` (see the module docstring)."""
        if self.backend == "perf" and prev_last is not None and prof.sample_time is not None \
                and len(prof.sample_time):
            return max(float(prof.sample_time.min()) - prev_last - 1.0 / self.rate, 0.0)
        return max(cur.start - prev_stop, 0.0)

    def _finish_quietly(self, r: _Running) -> None:
        try:
            self._finish(r)
        except FlamekitError:
            pass


def _last_time(p: Profile) -> float | None:
    if p.sample_time is None or not len(p.sample_time):
        return None
    return float(p.sample_time.max())
