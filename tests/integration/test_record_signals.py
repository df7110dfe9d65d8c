"""Issue 16: ``flamekit record`` stopped by SIGTERM or SIGHUP behaves as Ctrl-C does.

A service manager's SIGTERM or a closed SSH session's SIGHUP reaches flamekit
alone (not the process group, unlike a terminal's Ctrl-C). For each backend and
mode: what was sampled is kept and written, the exit status is 128 + N, the
temporary folder is removed, a command flamekit started is ended, and a
process it only attached to is left running. Real py-spy and perf, real targets.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import psutil
import pytest

import flamekit
from conftest import require_tool
from record_helpers import REPO, WORKLOADS, env, profile_path, start_service, stop


def _record_then(sig: int, args: list[str], tmpdir: str,
                 after: float = 2.5) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "flamekit", "record", *args],
                            cwd=REPO, env=dict(env(), TMPDIR=tmpdir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)
    first = ""
    try:
        while not first.startswith("flamekit: recording"):  # notes (perf on 3.11...) come first
            line = proc.stderr.readline()
            assert line, first
            first = line
    except BaseException:
        proc.kill()
        raise
    time.sleep(after)
    proc.send_signal(sig)  # to flamekit only, as systemd's KillMode=process or `kill` would
    _, err = proc.communicate(timeout=90)
    return proc, first + err


def _launched_pids(seconds: str) -> list[int]:
    """Pids of service_loop.py processes started with ``--seconds SECONDS``."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info.get("cmdline") or []
        if (any(c.endswith("service_loop.py") for c in cmd) and "--seconds" in cmd
                and cmd[cmd.index("--seconds") + 1:][:1] == [seconds]):
            out.append(p.pid)
    return out


@pytest.mark.parametrize("backend", ["py-spy", "perf"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("mode", ["launch", "attach"])
def test_signal_stops_record_like_ctrl_c(tmp_path, backend, sig, mode):
    if backend == "perf":
        require_tool("perf", "apt-get install linux-perf")
    out = profile_path(tmp_path)
    marker = str(3000 + random.randrange(100_000))  # finds the launched target by its argv
    tmpdir = tmp_path / "tmp"  # flamekit's own temporary folder goes here
    tmpdir.mkdir()
    svc = start_service(duty=0.7) if mode == "attach" else None
    try:
        target = (["--pid", str(svc.pid)] if svc else
                  ["--", sys.executable, str(WORKLOADS / "service_loop.py"), "--duty", "0.7",
                   "--seconds", marker])
        proc, err = _record_then(sig, ["--backend", backend, "-o", str(out), *target], str(tmpdir))
        if svc:
            assert svc.poll() is None, "a process flamekit only attached to must keep running"
    finally:
        if svc:
            stop(svc)
    assert proc.returncode == 128 + sig, err
    assert f"wrote {out}" in err, err
    p = flamekit.load(out)
    assert p.n_samples > 0
    assert p.meta["stopped_by"] == "interrupt" and p.meta["stop_signal"] == signal.Signals(sig).name
    assert list(tmpdir.iterdir()) == [], "the temporary folder was left behind"
    if mode == "launch":
        deadline = time.monotonic() + 10
        while _launched_pids(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _launched_pids(marker), "the command flamekit started is still running"
