"""``flamekit top --pid``: live tables of a running sample workload, recorded with the real py-spy and perf.

Ground truth: ``cpu_split.py --hot 0.7`` spends 70 % of its CPU in
``price_options`` and 30 % in ``update_risk`` (both through ``_burn``).
"""
from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flamekit import formats
from flamekit.analysis.live import RollingFunctions
from flamekit.model import functions, merge

from conftest import DATA, require_tool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record_helpers import REPO, WORKLOADS, env, shares, stop  # noqa: E402

pytestmark = pytest.mark.integration
ROW = re.compile(r"^\s*(\S+(?: \S+)?)\s+([\d.]+)%\s+(\S+(?: \S+)?)\s+([\d.]+)%\s+(\S+)\s+(.*)$")


@pytest.fixture()
def cpu_split():
    require_tool("py-spy", "pip install py-spy")
    p = subprocess.Popen([sys.executable, str(WORKLOADS / "cpu_split.py"), "--seconds", "120", "--hot", "0.7"],
                         stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    time.sleep(0.3)
    yield p
    stop(p)


def top(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flamekit", "top", *args], env=env(), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def table_rows(out: str) -> list[tuple[str, float, float]]:
    """Return ``(function, self%, total%)`` of each table row, in order."""
    rows = []
    for ln in out.splitlines():
        m = ROW.match(ln)
        if m:
            rows.append((m.group(5), float(m.group(2)), float(m.group(4))))
    return rows


def test_top_pid_without_tty(cpu_split, tmp_path):
    """The table printed at the end of --duration: hot path first, 70/30 split, gap stated, --record loads."""
    rec = tmp_path / "seen.json"
    t0 = time.monotonic()
    r = top("--pid", str(cpu_split.pid), "--duration", "4", "-n", "0", "--record", str(rec))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    first = out.splitlines()[0]
    m = re.search(r"; ([\d.]+) s of samples in (\d+) windows", first)
    assert m and 3.0 <= float(m.group(1)) <= 4.6 and int(m.group(2)) >= 3, first
    rows = table_rows(out)
    names = [n for n, _, _ in rows]
    assert names[0] == "_burn" and rows[0][1] > 90  # the self hot spot leads
    assert names.index("price_options") < names.index("update_risk")
    hot = dict((n, t) for n, _, t in rows)
    share = hot["price_options"] / (hot["price_options"] + hot["update_risk"])
    assert 0.58 <= share <= 0.82, share
    gap = re.search(r"gap between windows: mean (\d+) ms, max (\d+) ms over (\d+) gaps \(measured", out)
    assert gap, out
    assert 0 < int(gap.group(1)) < 1000 and int(gap.group(3)) == int(m.group(2)) - 1
    assert time.monotonic() - t0 < 60
    p = formats.load(rec)
    assert p.meta["live_windows"] == int(m.group(2)) and len(p.meta["live_gaps_s"]) == int(gap.group(3))
    s = shares(p, "price_options", "update_risk")
    assert 0.58 <= s["price_options"] <= 0.82, s
    assert abs(s["price_options"] - share) < 0.02  # the table is the recorded profile's table


def _drive_pty(argv: list[str], key: bytes, refreshes: int = 2, timeout: float = 90):
    """Run ``argv`` on a pseudo-terminal; after ``refreshes`` redraws send ``key``; return (exit, output, seen, seconds to exit)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: flamekit on the terminal
        os.environ.update(env(COLUMNS="150", LINES="40", TERM="xterm-256color"))
        os.chdir(REPO)
        os.execv(sys.executable, [sys.executable, "-m", "flamekit", *argv])
    buf, sent, t_key = b"", False, None
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                buf += data
            seen = {int(x) for x in re.findall(rb"refresh (\d+) at", buf)}
            if not sent and len(seen) >= refreshes:
                os.write(fd, key)
                sent, t_key = True, time.monotonic()
    finally:
        if not sent:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    seen = {int(x) for x in re.findall(rb"refresh (\d+) at", buf)}
    return os.waitstatus_to_exitcode(status), buf.decode("utf-8", "replace"), seen, \
        (time.monotonic() - t_key) if t_key else None


def test_top_pid_tty_refreshes_and_q_stops(cpu_split):
    """On a terminal: rich's live view redraws after every window (<= 2 s apart) and q ends it."""
    t0 = time.monotonic()
    code, out, seen, quit_after = _drive_pty(["top", "--pid", str(cpu_split.pid), "-n", "8"], b"q", 3)
    assert code == 0, out[-2000:]
    assert {1, 2, 3} <= seen, seen
    assert quit_after is not None and quit_after < 5, quit_after
    stamps = re.findall(r"refresh (\d+) at (\d\d):(\d\d):(\d\d)", out)
    secs = {int(n): int(h) * 3600 + int(m) * 60 + int(s) for n, h, m, s in stamps}
    assert secs[3] - secs[1] <= 5  # two refreshes in at most ~2 x (1 s window + gap) + clock rounding
    assert "price_options" in out and "gap between windows" in out
    assert time.monotonic() - t0 < 80


def test_top_pid_tty_ctrl_c_keeps_record(cpu_split, tmp_path):
    """Ctrl-C on the terminal stops the view cleanly and --record still writes what was seen."""
    rec = tmp_path / "seen.json"
    code, out, seen, quit_after = _drive_pty(["top", "--pid", str(cpu_split.pid), "--record", str(rec)],
                                             b"\x03", 2)
    assert code == 0, out[-2000:]
    assert len(seen) >= 2 and quit_after < 5
    p = formats.load(rec)
    assert p.meta["live_windows"] >= 2 and p.n_samples > 50


def test_top_pid_perf_backend(cpu_split):
    """--backend perf: native frames of the interpreter, windows and gaps from perf's own timestamps."""
    require_tool("perf", "apt-get install linux-perf")
    r = top("--pid", str(cpu_split.pid), "--duration", "4", "--backend", "perf", "-n", "10")
    assert r.returncode == 0, r.stderr
    assert "(perf " in r.stdout.splitlines()[0]
    names = [n for n, _, _ in table_rows(r.stdout)]
    assert any(n.startswith(("_PyEval", "PyFloat", "math_", "Py")) for n in names), names
    assert re.search(r"gap between windows: mean \d+ ms", r.stdout), r.stdout


def test_top_pid_errors():
    r = top("--pid", "999999999")
    assert r.returncode == 1 and r.stderr.strip() == \
        "flamekit: no process with pid 999999999 (it does not exist or has exited)"
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        r = top("--pid", str(sleeper.pid), "--duration", "1")
    finally:
        stop(sleeper)
    assert r.returncode == 2 and "not a Python process" in r.stderr and "Traceback" not in r.stderr
    r = top()
    assert r.returncode == 2 and "exactly one of PROFILE or --pid" in r.stderr
    r = top(str(DATA / "py-spy/0.4.3/cpu_split.raw.txt"), "--pid", "1")
    assert r.returncode == 2
    r = top("--pid", "1", "--record", "/nonexistent-dir/x.json")
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_rolling_span_equals_merged_profile():
    """Summing per-window tables gives the table of the merged profile (recursion-safe totals)."""
    a = formats.load(DATA / "py-spy/0.4.3/cpu_split.speedscope.json")
    b = formats.load(DATA / "py-spy/0.4.3/two_threads.speedscope.json")
    roll = RollingFunctions()
    roll.add(a, 1.0)
    roll.add(b, 1.0, 0.1)
    roll.add(a, 1.0, 0.2)
    want = functions(merge(a, b, a), 0).set_index(["name", "file"])
    got = roll.span().table.set_index(["name", "file"])
    assert set(got.index) == set(want.index)
    for k in want.index:
        assert got.loc[k, "self"] == pytest.approx(want.loc[k, "self"])
        assert got.loc[k, "total"] == pytest.approx(want.loc[k, "total"])
        assert got.loc[k, "total_pct"] == pytest.approx(want.loc[k, "total_pct"])
    last = roll.span(1.0)
    assert last.windows == 1 and last.gap_seconds == 0.0
    two = roll.span(1.5)
    assert two.windows == 2 and two.gap_seconds == pytest.approx(0.2)


def test_top_pid_ends_when_the_target_exits():
    """Without --duration, top stops when the target exits and prints what it saw."""
    require_tool("py-spy", "pip install py-spy")
    p = subprocess.Popen([sys.executable, str(WORKLOADS / "cpu_split.py"), "--seconds", "1.5"],
                         stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        r = top("--pid", str(p.pid), "-n", "5")
    finally:
        stop(p)
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert "(the target exited)" in first, first
    assert "price_options" in r.stdout
