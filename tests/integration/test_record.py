"""flamekit record against real py-spy, scalene and perf on real processes (no mocks).

Each recording lasts 1-3 s. Ground truth comes from sample_workloads/cpu_split.py,
which spends a measured 70/30 split of its CPU time in price_options/update_risk.
"""
from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time

import pytest

import flamekit
from conftest import require_tool
from flamekit.record import RecordOptions, record

from record_helpers import (REPO, WORKLOADS, env, flamekit_record, hot_names, profile_path, python,
                            shares, start_service, stop, wait_for)

pytestmark = pytest.mark.integration

CPU_SPLIT = str(WORKLOADS / "cpu_split.py")
PY313 = python("3.13")
needs_perf = pytest.mark.usefixtures("perf_tool")


@pytest.fixture
def perf_tool() -> str:
    """The perf binary (the test fails, never skips, when it is missing)."""
    return require_tool("perf", "apt-get install linux-perf")


def _one_line_error(r: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == code, (r.returncode, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("flamekit: "), r.stderr
    assert "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


# -- attach by PID -----------------------------------------------------------------
def test_pyspy_attach_to_service_loop(tmp_path):
    svc = start_service(duty=0.7)
    try:
        out = profile_path(tmp_path)
        r = flamekit_record("--pid", str(svc.pid), "--duration", "1.5", "--rate", "200", "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert svc.poll() is None, "attaching must not stop the target"
    finally:
        stop(svc)
    p = flamekit.load(out)
    assert p.n_samples > 20
    assert "handle_order" in hot_names(p, 5)
    if out.suffix == ".json" and "native" in flamekit.formats.names():
        assert p.meta["mode"] == "attach" and p.meta["pid"] == svc.pid
        assert "exit_code" not in p.meta
        # attached: the working directory is the target's (it inherited ours), the Python its own
        assert p.meta["cwd"] == os.path.realpath(os.getcwd())
        assert p.meta["python_version"] == platform.python_version()
        assert p.meta["python_implementation"] == platform.python_implementation()
        assert len(p.meta["load_avg_start"]) == len(p.meta["load_avg_end"]) == 3


@needs_perf
def test_perf_attach_to_service_loop_native_frames(tmp_path):
    svc = start_service(duty=0.7)
    try:
        out = profile_path(tmp_path)
        r = flamekit_record("--backend", "perf", "--pid", str(svc.pid), "--duration", "1.5", "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert svc.poll() is None
    finally:
        stop(svc)
    p = flamekit.load(out)
    assert p.n_samples > 10
    # handle_order spins in math.sqrt and the eval loop: native frames of the interpreter
    names = hot_names(p, 15)
    assert {"math_sqrt", "_PyEval_EvalFrameDefault"} & set(names), names
    if "native" in flamekit.formats.names():
        assert any("only native frames" in n for n in p.meta.get("notes", []))


# -- launch ------------------------------------------------------------------------
def test_pyspy_launch_ground_truth_70_30():
    rec = record(RecordOptions(backend="py-spy", command=[sys.executable, CPU_SPLIT, "--seconds", "2.5"],
                               rate=250, progress=False))
    sh = shares(rec.profile, "price_options", "update_risk")
    assert abs(sh["price_options"] - 0.70) <= 0.10, sh
    assert rec.exit_code == 0


@needs_perf
@pytest.mark.skipif(PY313 is None, reason="Python 3.13 is not installed under ~/.pyenv")
def test_perf_launch_python313_full_stacks(tmp_path):
    out = profile_path(tmp_path)
    # the default rate (161 Hz): 199 Hz nearly divides the workload's 10 ms rounds (flamekit
    # warns of it), and once such a run locked in phase and split the two functions 50/50
    r = flamekit_record("--backend", "perf", "-o", str(out), "--",
                        PY313, CPU_SPLIT, "--seconds", "2")
    assert r.returncode == 0, r.stderr
    assert "samples in step" not in r.stderr, r.stderr
    p = flamekit.load(out)
    # Python frames under the interpreter's C frames; the hot one is the hotter
    # (test_record_numbers holds the default rate's split to +-10 pp)
    sh = shares(p, "price_options", "update_risk")
    assert sh["price_options"] > sh["update_risk"] > 0, sh
    # mixed stacks: interpreter C frames and Python frames in the same profile
    kinds = {f.kind for f in p.frames}
    assert "native" in kinds or "kernel" in kinds, kinds
    assert not os.path.exists(f"/tmp/jit-{p.meta.get('pid', -1)}.dump")


@needs_perf
def test_perf_launch_old_python_notes_native_only(tmp_path):
    rec = record(RecordOptions(backend="perf", command=[sys.executable, CPU_SPLIT, "--seconds", "1"],
                               progress=False))
    assert rec.profile.n_samples > 10
    assert any("only native frames" in n for n in rec.profile.meta.get("notes", [])), rec.profile.meta
    assert rec.exit_code == 0


def test_scalene_launch_names_hot_function(tmp_path):
    out = profile_path(tmp_path)
    r = flamekit_record("--backend", "scalene", "-o", str(out), "--",
                        sys.executable, str(WORKLOADS / "regression_pair.py"), "--seconds", "3",
                        "--inject", "--inject-share", "0.7", timeout=120)
    assert r.returncode == 0, r.stderr
    p = flamekit.load(out)
    assert p.n_samples > 0
    # scalene's per-line Python CPU seconds, grouped by function: the injected 70 % comes
    # first (at 50 % against price_book's 30 %, scalene once put price_book ahead on a busy
    # machine: its line attribution is noisy, so the margin is wide)
    cpu = flamekit.functions(flamekit.group(p, "function"), "cpu_python").sort_values("total", ascending=False)
    assert cpu["name"].iloc[0] == "slow_risk_check", cpu.head()
    three = cpu[cpu["name"].isin(["slow_risk_check", "price_book", "hedge_positions"])]
    # scalene's share of the three swung 0.55-0.75 over 3 s runs on this shared 2-core
    # machine (py-spy's ground-truth test above holds +-10 pp); +-20 pp still fails a
    # recorder that loses or misattributes the injected function
    share = float(three["total"].iloc[0] / three["total"].sum())
    assert abs(share - 0.7) <= 0.2, share


def test_auto_picks_perf_for_a_non_python_command(perf_tool):
    rec = record(RecordOptions(command=["sh", "-c", "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done"],
                               progress=False))
    assert rec.profile.meta["tool"] == "perf" and rec.exit_code == 0


# -- lifecycle ---------------------------------------------------------------------
def _sigint_midway(args: list[str], tmp_path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "flamekit", "record", *args],
                            cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)
    first = proc.stderr.readline()  # "flamekit: recording ...": the tool runs (a busy machine is slow)
    assert first.startswith("flamekit: recording"), first
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)  # to flamekit only, not its process group
    _, err = proc.communicate(timeout=60)
    return proc, first + err


def test_sigint_in_launch_mode_keeps_the_profile(tmp_path):
    out = profile_path(tmp_path)
    proc, err = _sigint_midway(["-o", str(out), "--", sys.executable, str(WORKLOADS / "service_loop.py"),
                                "--duty", "0.7"], tmp_path)
    assert proc.returncode == 130, err  # whatever service_loop's own status on SIGINT
    assert "interrupted" in err
    p = flamekit.load(out)
    assert p.n_samples > 10 and "handle_order" in hot_names(p, 5)


def test_sigint_in_attach_mode_keeps_profile_and_target(tmp_path):
    svc = start_service(duty=0.7)
    try:
        out = profile_path(tmp_path)
        proc, err = _sigint_midway(["-o", str(out), "--pid", str(svc.pid)], tmp_path)
        assert proc.returncode == 130, err
        assert svc.poll() is None, "Ctrl-C of flamekit must not stop an attached target"
    finally:
        stop(svc)
    assert flamekit.load(out).n_samples > 10


def test_target_exiting_early_keeps_its_samples(tmp_path):
    out = profile_path(tmp_path)
    t = time.monotonic()
    r = flamekit_record("--duration", "20", "-o", str(out), "--", sys.executable, CPU_SPLIT, "--seconds", "1")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t < 15
    p = flamekit.load(out)
    assert p.n_samples > 20 and "price_options" in hot_names(p, 8)


def test_pyspy_waits_for_an_interpreter_behind_a_shim(tmp_path):
    """A launcher that starts Python late (a pyenv-style shell shim; any launch on a busy host).

    py-spy attaches to the pid flamekit started and gives up after about 0.5 s when no
    interpreter is there yet; flamekit used to stop the command then and blame it
    ("the command exited (status -2) before py-spy could attach"). It now starts py-spy
    again while the command runs, and the shim's 1.5 s of shell are no obstacle.
    """
    shim = tmp_path / "python3"
    shim.write_text(f"#!/bin/sh\nsleep 1.5\nexec {sys.executable} \"$@\"\n")
    shim.chmod(0o755)
    out = profile_path(tmp_path)
    r = flamekit_record("-o", str(out), "--", str(shim), CPU_SPLIT, "--seconds", "1")
    assert r.returncode == 0, r.stderr
    p = flamekit.load(out)
    assert p.n_samples > 20 and "price_options" in hot_names(p, 8)


EXIT7 = "import sys, time\nt = time.time()\nwhile time.time() - t < 0.4: pass\nsys.exit(7)"


@pytest.mark.parametrize("backend", ["py-spy", "perf", "scalene"])
def test_launched_command_exit_code_comes_back(tmp_path, backend):
    if backend == "perf":
        require_tool("perf", "apt-get install linux-perf")
    out = profile_path(tmp_path)
    if backend == "scalene":
        script = tmp_path / "exit7.py"
        script.write_text(EXIT7)
        cmd = [sys.executable, str(script)]
    else:
        cmd = [sys.executable, "-c", EXIT7]
    r = flamekit_record("--backend", backend, "-o", str(out), "--", *cmd, timeout=120)
    assert r.returncode == 7, r.stderr
    if "native" in flamekit.formats.names():
        assert flamekit.load(out).meta["exit_code"] == 7


def test_duration_stops_a_launched_command(tmp_path):
    rec = record(RecordOptions(command=[sys.executable, str(WORKLOADS / "service_loop.py"), "--duty", "0.7"],
                               duration=1.2, progress=False))
    assert rec.stopped_by == "duration"
    assert 1.0 <= rec.profile.meta["duration_s"] < 6
    assert rec.profile.n_samples > 5


# -- metadata and the resource timeline ------------------------------------------------
def test_resource_timeline_and_metadata():
    rec = record(RecordOptions(command=[sys.executable, CPU_SPLIT, "--seconds", "1.5"], progress=False))
    p = rec.profile
    res = p.tables["resources"]
    assert set(res) == {"time", "cpu_percent", "rss_bytes"}
    n = len(res["time"])
    assert len(res["cpu_percent"]) == len(res["rss_bytes"]) == n
    span = p.meta["duration_s"]
    assert 4 * span <= n <= 13 * span, (n, span)  # ~10 Hz (a loaded machine delays some wake-ups)
    assert all(b > a for a, b in zip(res["time"], res["time"][1:]))
    assert max(res["cpu_percent"]) > 20 and min(res["rss_bytes"]) > 1_000_000, res
    m = p.meta
    for key in ("tool", "tool_version", "flamekit_version", "command", "exe", "host", "cpu_model",
                "python_version", "start_time", "duration_s", "rate_hz", "sample_count", "exit_code"):
        assert key in m, key
    assert m["tool"] == "py-spy" and m["rate_hz"] == 100 and m["exit_code"] == 0
    assert m["python_version"].startswith(f"{sys.version_info[0]}.{sys.version_info[1]}")
    assert m["sample_count"] == p.n_samples > 0
    if (REPO / ".git").exists():
        assert len(m.get("git_commit", "")) == 40
    blob = json.dumps(m)
    assert os.environ.get("PATH", "/nonexistent-path") not in blob  # no environment in the metadata


def test_secret_looking_arguments_are_redacted():
    from flamekit.record import redact_argv

    assert redact_argv(["svc", "--api-key", "abc", "--password=x", "--seconds", "3"]) == \
        ["svc", "--api-key", "***", "--password=***", "--seconds", "3"]


def test_record_writes_an_html_report_when_asked(tmp_path):
    out, html = profile_path(tmp_path), tmp_path / "r.html"
    r = flamekit_record("-o", str(out), "--html", str(html), "--title", "cpu split", "--",
                        sys.executable, CPU_SPLIT, "--seconds", "1")
    assert r.returncode == 0, r.stderr
    assert html.stat().st_size > 1000 and "price_options" in html.read_text(encoding="utf-8")


# -- one-line errors -------------------------------------------------------------------
def test_missing_pid(tmp_path):
    pid = 4_000_000  # above the default pid_max: never a real process
    _one_line_error(flamekit_record("--pid", str(pid), "-o", str(profile_path(tmp_path))), 1,
                    f"no process with pid {pid}")


def test_non_python_pid_with_pyspy(tmp_path):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        r = flamekit_record("--backend", "py-spy", "--pid", str(sleeper.pid), "-o", str(profile_path(tmp_path)))
    finally:
        sleeper.kill()
        sleeper.wait()
    _one_line_error(r, 2, "not a Python process", "--backend perf")


def test_pid_with_scalene_is_refused():
    r = flamekit_record("--backend", "scalene", "--pid", str(os.getpid()))
    _one_line_error(r, 2, "scalene cannot attach", "--backend py-spy")


def test_missing_tool(tmp_path):
    """An interpreter without py-spy beside it (a fresh venv) and none on PATH: the venv's pip command."""
    from venv_helpers import fresh_venv

    py = fresh_venv(tmp_path / "venv")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    r = subprocess.run([str(py), "-m", "flamekit", "record", "--no-progress", "--backend", "py-spy",
                        "-o", str(profile_path(tmp_path)), "--", str(py), "-c", "pass"],
                       cwd=REPO, env=env(PATH=str(empty)), capture_output=True, text=True, timeout=60)
    _one_line_error(r, 1, "py-spy is not installed", f"{py} -m pip install py-spy")


def test_bad_usage():
    _one_line_error(flamekit_record(), 2, "--pid PID or -- CMD")
    _one_line_error(flamekit_record("--pid", "1", "--", "true"), 2, "not both")
    _one_line_error(flamekit_record("--", "no-such-program-xyz"), 2, "command not found")


def test_nothing_left_running():
    """The recordings above leave no py-spy or perf child of this test process behind."""
    import psutil

    assert wait_for(lambda: not [c for c in psutil.Process().children(recursive=True)
                                 if c.name() in ("py-spy", "perf") and c.status() != psutil.STATUS_ZOMBIE],
                    timeout=5)
