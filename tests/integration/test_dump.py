"""``flamekit dump --pid``: every thread's stack of a running sample workload, read with the real py-spy."""
from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from flamekit.errors import FormatError
from flamekit.formats.pyspy_dump import parse
from flamekit.record.dump import diagnose
from flamekit.render.stacks import render_json, render_text

from conftest import require_tool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record_helpers import WORKLOADS, env, stop, wait_for  # noqa: E402

pytestmark = pytest.mark.integration
THREADS = {"MainThread", "pricer-0", "pricer-1", "risk-agg", "feed"}


def flamekit_dump(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flamekit", "dump", *args], env=env(), text=True,
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def workload():
    """multithreaded.py with its five named threads running."""
    require_tool("py-spy", "pip install py-spy")
    p = subprocess.Popen([sys.executable, str(WORKLOADS / "multithreaded.py"), "--seconds", "60"],
                         stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: psutil.Process(p.pid).num_threads() >= 5, timeout=15)
        yield p
    finally:
        stop(p)


def test_dump_json_lists_every_thread_with_state(workload):
    r = flamekit_dump("--pid", str(workload.pid), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["pid"] == workload.pid and doc["python_version"] == "%d.%d" % sys.version_info[:2]
    by_name = {t["name"]: t for t in doc["threads"]}
    assert set(by_name) == THREADS
    assert doc["threads"][0]["name"] == "MainThread" and doc["threads"][0]["id"] == workload.pid
    inner = {n: [f["name"] for f in t["frames"]] for n, t in by_name.items()}
    assert "poll_feed" in inner["feed"] and "price_curve" in inner["pricer-0"]
    assert inner["risk-agg"][0] == "aggregate_risk"  # innermost first
    assert inner["MainThread"][-1] == "<module>"
    idle = [by_name["feed"]["active"] is False]
    while not idle[-1] and len(idle) < 5:  # feed wakes every 10 ms: a dump may catch it running
        again = json.loads(flamekit_dump("--pid", str(workload.pid), "--json").stdout)
        idle.append(next(t for t in again["threads"] if t["name"] == "feed")["active"] is False)
    assert idle[-1], idle  # waiting on an Event: idle
    assert all(isinstance(t["active"], bool) and isinstance(t["owns_gil"], bool) for t in doc["threads"])
    assert sum(t["owns_gil"] for t in doc["threads"]) <= 1
    f = by_name["risk-agg"]["frames"][0]
    assert f["file"].endswith("multithreaded.py") and f["line"] > 0


def test_dump_text(workload):
    r = flamekit_dump("--pid", str(workload.pid))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith(f"Process {workload.pid}: ") and "multithreaded.py" in out.splitlines()[0]
    for name in THREADS:
        assert f'"{name}" (' in out, name
    assert re.search(r'"feed" \((idle|active)(, holds the GIL)?\)\n', out)  # it wakes every 10 ms
    assert "    poll_feed (" in out and "multithreaded.py:" in out


def test_dump_errors_are_one_line(tmp_path):
    r = flamekit_dump("--pid", "999999999")
    assert r.returncode == 1 and r.stderr.strip() == \
        "flamekit: no process with pid 999999999 (it does not exist or has exited)"
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        r = flamekit_dump("--pid", str(sleeper.pid))
    finally:
        stop(sleeper)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "is not a Python process" in r.stderr and "Traceback" not in r.stderr
    r = flamekit_dump("--pid", "1", "-o", str(tmp_path / "nope" / "x.txt"))
    assert r.returncode in (1, 2) and r.stderr.startswith("flamekit: ")


def test_permission_refused_message(workload, tmp_path):
    """py-spy run as an unprivileged user against our (root-owned) workload: its real refusal, one line."""
    if os.geteuid() != 0:
        pytest.fail("this test drops to user nobody and needs to run as root (as CI does)")
    setpriv = require_tool("setpriv", "apt-get install util-linux")
    exe = tmp_path / "py-spy"  # a copy outside any private home directory
    shutil.copy(require_tool("py-spy", "pip install py-spy"), exe)
    os.chmod(tmp_path, 0o755)
    r = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", str(exe), "dump",
                        "--pid", str(workload.pid)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    msg = diagnose(workload.pid, r.returncode, r.stderr + r.stdout)
    assert msg.startswith(f"py-spy was refused access to pid {workload.pid}: ") and "ptrace_scope" in msg
    assert "\n" not in msg


def test_snapshot_escapes_and_rejects_bad_json():
    """Thread and function names are untrusted: text output escapes them; broken JSON is a FormatError."""
    doc = [{"pid": 7, "thread_id": 1, "os_thread_id": 7, "thread_name": "evil\x1b[2J\u202e", "active": True,
            "owns_gil": True, "frames": [{"name": "f\nx", "filename": "/a.py", "line": 3, "module": None}]},
           {"pid": 7, "thread_id": 2, "os_thread_id": 9, "thread_name": None, "frames": []}]
    p = parse(json.dumps(doc), pid=7)
    text = render_text(p)
    assert '"evil\\x1b[2J\\u202e" (active, holds the GIL)' in text and "    f\\nx (/a.py:3)" in text
    assert "\x1b" not in text and "\u202e" not in text
    assert "(no Python frames)" in text
    back = json.loads(render_json(p))
    assert back["threads"][0]["name"] == "evil\x1b[2J\u202e" and back["threads"][1]["active"] is None
    for bad in ("{", "{}", "[1]", '[{"frames": [1]}]'):
        with pytest.raises(FormatError):
            parse(bad)
