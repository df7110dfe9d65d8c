"""``top --pid`` stopped (q, Ctrl-C, ``--duration``) just as a window's tool starts.

A live view records window after window; the next window's py-spy is started while the
last one writes its output. py-spy prints its banner ("Sampling process ...") a moment
before it installs its SIGINT handler, and a stop in that moment kills it with SIGINT:
it writes nothing. A clean-clone CI run hit it: q after the third refresh, then
``flamekit: py-spy failed (exit status -2)`` and exit 1.

That moment cannot be hit on demand with the real py-spy, so these tests put a stand-in
in front of it (the one thing here that is not the real tool): a script that prints
py-spy's banner, keeps SIGINT's default action for a while as py-spy does before its
handler is set, then runs the real py-spy with the same arguments. Its first run goes
straight to py-spy, so the first window is a real recording of a real workload.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from flamekit.errors import FlamekitError
from flamekit.record.live import LiveSampler

from conftest import require_tool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record_helpers import WORKLOADS, stop  # noqa: E402

pytestmark = pytest.mark.integration

FRONT = """import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_DFL)  # as py-spy before its handler: SIGINT ends it
count = sys.argv[1]
runs = int(open(count).read() or 0) if os.path.exists(count) else 0
open(count, "w").write(str(runs + 1))
if runs >= 1:
    print("py-spy> Sampling process 100 times a second. Press Control-C to exit.", flush=True)
    time.sleep(5)
os.execv(sys.argv[2], sys.argv[2:])
"""


class Front:
    """The real py-spy recorder, with its command run through the stand-in."""

    def __init__(self, real, script: Path, count: Path) -> None:
        self._real, self._script, self._count = real, script, count

    def __getattr__(self, name: str):
        return getattr(self._real, name)

    def argv(self, s) -> list[str]:
        """py-spy's own command line, behind the stand-in."""
        return [sys.executable, str(self._script), str(self._count), *self._real.argv(s)]


@pytest.fixture()
def sampler(tmp_path):
    require_tool("py-spy", "pip install py-spy")
    target = subprocess.Popen([sys.executable, str(WORKLOADS / "cpu_split.py"), "--seconds", "60"],
                              stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    time.sleep(0.3)
    s = LiveSampler(target.pid, backend="py-spy", interval=0.5)
    script = tmp_path / "front.py"
    script.write_text(FRONT)
    s.recorder = Front(s.recorder, script, tmp_path / "runs")
    yield s
    s.close()
    stop(target)


def test_a_stop_as_the_next_window_starts_keeps_what_was_seen(sampler):
    seen = []
    for w in sampler.windows():
        seen.append(w)
        sampler.stop()  # q right after a refresh: the next window's tool has just started
    assert len(seen) == 1 and seen[0].profile.n_samples > 0, seen
    assert sampler.stopped_by == "stop"
    assert all(p.poll() is not None for p in sampler._procs)  # no tool left running


def test_a_stop_before_the_first_window_shows_nothing_and_fails_nothing(sampler, tmp_path):
    (tmp_path / "runs").write_text("1")  # every run of the stand-in waits before py-spy
    sampler.stop()
    assert list(sampler.windows()) == []
    assert sampler.stopped_by == "stop"


def test_a_tool_killed_without_a_stop_is_still_an_error(sampler, tmp_path):
    """The stop is what makes a SIGINT death harmless: without one it stays a failure."""
    (tmp_path / "runs").write_text("1")
    it = sampler.windows()
    sampler.interval = 0.2  # the window ends (SIGINT) while the stand-in still has SIGINT's default
    with pytest.raises(FlamekitError, match="exit status -2"):
        next(it)
