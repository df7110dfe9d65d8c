"""Issue 16: ``record --duration`` stops a target that ignores SIGINT and SIGTERM.

``tests/data/programs/stubborn.py`` ignores both and starts a child that does the
same. With real perf and real py-spy, launched: after the grace period
(``FLAMEKIT_STOP_GRACE=1`` here, 5 s by default) flamekit kills the command and
its child with SIGKILL, says so on stderr, and writes what was sampled (exit
status 137, the command's). Attached (``--pid``): the target is never signalled
and keeps running.
"""
from __future__ import annotations

import random
import subprocess
import sys
import time

import psutil
import pytest

import flamekit
from conftest import DATA, require_tool
from record_helpers import env, flamekit_record, profile_path, wait_for

pytestmark = pytest.mark.integration

STUBBORN = DATA / "programs" / "stubborn.py"
MESSAGE = "was still running 1 s after it was asked to stop (SIGINT, SIGTERM); killed it"


def _stubborn_pids(marker: str) -> list[int]:
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info.get("cmdline") or []
        if any(c.endswith("stubborn.py") for c in cmd) and marker in cmd:
            out.append(p.pid)
    return out


def _kill(marker: str) -> None:
    for pid in _stubborn_pids(marker):
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass


@pytest.mark.parametrize("backend", ["perf", "py-spy"])
def test_launched_stubborn_target_is_killed_and_profile_kept(tmp_path, backend):
    require_tool("perf" if backend == "perf" else "py-spy",
                 "apt-get install linux-perf" if backend == "perf" else "pip install py-spy")
    marker = str(60 + random.randrange(1000)) + ".5"  # --seconds: finds this test's processes
    out = profile_path(tmp_path)
    t0 = time.monotonic()
    try:
        proc = flamekit_record("--backend", backend, "--duration", "3", "-o", str(out), "--",
                               sys.executable, str(STUBBORN), "--child", "--seconds", marker,
                               env=env(FLAMEKIT_STOP_GRACE="1"), timeout=50)
        wall = time.monotonic() - t0
        assert proc.returncode == 137, proc.stderr  # the command's status: killed by SIGKILL
        assert MESSAGE in proc.stderr and "and 1 process(es) it started" in proc.stderr, proc.stderr
        assert f"wrote {out}" in proc.stderr, proc.stderr
        assert wall < 40, f"took {wall:.0f} s"
        p = flamekit.load(out)
        assert p.n_samples > 0 and p.meta["stopped_by"] == "duration"
        assert p.meta["exit_code"] == 137
        if backend == "py-spy":  # Python frames: the loop the target spins in
            assert any(f.name == "spin_in_stubborn_loop" for f in p.frames)
        assert wait_for(lambda: not _stubborn_pids(marker), timeout=10), \
            "the command or its child is still running"
    finally:
        _kill(marker)


@pytest.mark.parametrize("backend", ["perf", "py-spy"])
def test_attached_stubborn_target_is_never_signalled(tmp_path, backend):
    require_tool("perf" if backend == "perf" else "py-spy",
                 "apt-get install linux-perf" if backend == "perf" else "pip install py-spy")
    marker = str(60 + random.randrange(1000)) + ".25"
    target = subprocess.Popen([sys.executable, str(STUBBORN), "--seconds", marker],
                              stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert "ready" in target.stdout.readline()
        out = profile_path(tmp_path)
        proc = flamekit_record("--backend", backend, "--duration", "2", "-o", str(out),
                               "--pid", str(target.pid), env=env(FLAMEKIT_STOP_GRACE="1"), timeout=50)
        assert proc.returncode == 0, proc.stderr
        assert "killed" not in proc.stderr, proc.stderr
        time.sleep(1.5)  # past the grace period: still running
        assert target.poll() is None, "a process flamekit only attached to was stopped"
        assert flamekit.load(out).n_samples > 0
    finally:
        target.kill()
        target.wait()
        target.stdout.close()


def test_bad_grace_is_a_usage_error(tmp_path):
    proc = flamekit_record("--duration", "1", "-o", str(profile_path(tmp_path)), "--",
                           sys.executable, "-c", "pass", env=env(FLAMEKIT_STOP_GRACE="nan"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("flamekit: FLAMEKIT_STOP_GRACE must be a number"), proc.stderr
