"""flamekit record --backend memray against the real memray on real processes (no mocks).

The workload is ``sample_workloads/mem_known.py`` (known answer by construction:
``keep_positions`` keeps N MiB alive until exit, ``churn_ticks`` allocates and
frees M MiB). Attaching needs lldb or gdb (``.ci/run`` installs them).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import flamekit
from conftest import ROOT, require_tool

sys.path.insert(0, str(ROOT / "tests" / "integration"))
from record_helpers import env, flamekit_record  # noqa: E402

pytestmark = pytest.mark.integration

MIB = 1 << 20
WORKLOAD = str(ROOT / "sample_workloads" / "mem_known.py")
KEEP, CHURN = 24, 96


def by_function(p: flamekit.Profile, sample_type: str):
    """Return the function table sorted by self value, largest first."""
    df = flamekit.functions(flamekit.group(p, "function"), sample_type)
    return df.sort_values("self", ascending=False).reset_index(drop=True)


def value(df, name: str) -> float:
    return float(df[df["name"] == name]["self"].sum())


def _one_line_error(r: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == code, (r.returncode, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("flamekit: "), r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> flamekit.Profile:
    """mem_known.py recorded through flamekit with memray (keep 24 MiB, churn 96 MiB)."""
    out = tmp_path_factory.mktemp("memray") / "mem.json"
    r = flamekit_record("--backend", "memray", "-o", str(out), "--", sys.executable, WORKLOAD,
                        "--keep-mib", str(KEEP), "--churn-mib", str(CHURN), "--sleep", "0.3", timeout=180)
    assert r.returncode == 0, r.stderr
    return flamekit.load(out)


def test_known_answer(recorded):
    p = recorded
    leaked = by_function(p, "leaked_space")
    assert leaked["name"].iloc[0] == "keep_positions"
    assert value(leaked, "keep_positions") == pytest.approx(KEEP * MIB, rel=0.05)
    assert p.totals()[p.type_index("peak_space")] >= KEEP * MIB
    peak = by_function(p, "peak_space")
    assert peak["name"].iloc[0] == "keep_positions"
    alloc = by_function(p, "alloc_space")
    assert alloc["name"].iloc[0] == "churn_ticks"
    assert value(alloc, "churn_ticks") == pytest.approx(CHURN * MIB, rel=0.05)
    m = p.meta
    assert m["tool"] == "memray" and m["backend"] == "memray" and m["mode"] == "launch"
    assert m["exit_code"] == 0 and m["tool_version"][0].isdigit() and m.get("rate_hz") is None
    # memory over time from memray's snapshots, beside flamekit's own resource timeline
    mem = p.tables["memory"]
    assert max(mem["heap_bytes"]) >= KEEP * MIB
    assert len(p.tables["resources"]["time"]) > 0


def test_exit_code_and_native_frames(tmp_path):
    out = tmp_path / "n.json"
    code = "import sys\nimport numpy\nx = numpy.ones(1 << 20)\nsys.exit(7)"
    r = flamekit_record("--backend", "memray", "--native", "-o", str(out), "--", sys.executable, "-c", code,
                        timeout=120)
    assert r.returncode == 7, r.stderr
    p = flamekit.load(out)
    assert p.meta["exit_code"] == 7 and p.meta["native_traces"] is True
    kinds = {f.kind for f in p.frames}
    assert {"python", "native"} <= kinds, kinds
    # numpy.ones' 8 MiB buffer is found under a native frame
    big = by_function(p, "peak_space")
    assert big["self"].iloc[0] >= 8 * MIB


def test_same_function_first_with_scalene(tmp_path, recorded):
    """scalene (sampled net growth) and memray (exact) name the same function first: the one
    that keeps the memory. scalene does not see memory freed soon after it was allocated, so
    its alloc_space is compared with memray's leaked and peak views."""
    out = tmp_path / "sc.json"
    r = flamekit_record("--backend", "scalene", "-o", str(out), "--", sys.executable, WORKLOAD,
                        "--keep-mib", str(KEEP), "--churn-mib", str(CHURN), "--sleep", "0.3", timeout=240)
    assert r.returncode == 0, r.stderr
    sc = by_function(flamekit.load(out), "alloc_space")
    first = sc["name"].iloc[0]
    assert first == by_function(recorded, "leaked_space")["name"].iloc[0] == "keep_positions"
    assert first == by_function(recorded, "peak_space")["name"].iloc[0]
    # and they agree on the amount: scalene's MiB against memray's bytes
    assert value(sc, "keep_positions") * MIB == pytest.approx(
        value(by_function(recorded, "leaked_space"), "keep_positions"), rel=0.1)


def test_attach_for_a_duration(tmp_path):
    if not any(require_tool_quiet(t) for t in ("lldb", "gdb")):
        require_tool("lldb", "apt-get install lldb (or gdb)")
    target = subprocess.Popen([sys.executable, WORKLOAD, "--keep-mib", "1", "--churn-mib", "1",
                               "--serve", "90"], stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert "ready" in target.stdout.readline()
        out = tmp_path / "att.json"
        r = flamekit_record("--backend", "memray", "--pid", str(target.pid), "--duration", "1",
                            "-o", str(out), timeout=120)
        assert r.returncode == 0, r.stderr
        assert target.poll() is None  # the target runs on after memray stopped tracking
    finally:
        target.terminate()
        target.wait(timeout=10)
    p = flamekit.load(out)
    assert p.meta["mode"] == "attach" and p.meta["attach_method"] in ("lldb", "gdb", "sys.remote_exec")
    assert 0.9 <= p.meta["tracked_s"] < 10
    alloc = by_function(p, "alloc_space")
    assert alloc["name"].iloc[0] == "churn_ticks"
    # the serve loop churns 4 MiB every ~20 ms: at least a few dozen MiB in a second
    assert value(alloc, "churn_ticks") >= 8 * MIB
    assert value(alloc, "churn_ticks") / p.totals()[p.type_index("alloc_space")] > 0.9


def require_tool_quiet(name: str) -> bool:
    import shutil

    return shutil.which(name) is not None


def test_attach_errors(tmp_path):
    target = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.DEVNULL)
    try:
        out = str(tmp_path / "x.json")
        _one_line_error(flamekit_record("--backend", "memray", "--pid", str(target.pid), "-o", out), 2,
                        "memray attach needs --duration")
        bare = tmp_path / "bin"  # no debugger on PATH: the one-line fix
        bare.mkdir()
        r = flamekit_record("--backend", "memray", "--pid", str(target.pid), "--duration", "1", "-o", out,
                            env=env(PATH=str(bare)))
        _one_line_error(r, 1, "neither lldb nor gdb", "apt-get install")
    finally:
        target.kill()
        target.wait()
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        _one_line_error(flamekit_record("--backend", "memray", "--pid", str(sleeper.pid), "--duration", "1"),
                        2, "not a Python process")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_module_target_and_launch_errors(tmp_path):
    out = tmp_path / "m.json"
    r = flamekit_record("--backend", "memray", "-o", str(out), "--", sys.executable, "-m", "timeit",
                        "-n", "3", "bytearray(1 << 20)", timeout=120)
    assert r.returncode == 0, r.stderr
    assert any(f.file.endswith("timeit.py") for f in flamekit.load(out).frames)
    _one_line_error(flamekit_record("--backend", "memray", "-o", str(out), "--", "sleep", "1"), 2,
                    "memray tracks Python programs")
    import venv

    bare = tmp_path / "venv"  # an interpreter without memray: the fix names it
    venv.create(bare, with_pip=False, system_site_packages=False)
    py = str(bare / "bin" / "python")
    _one_line_error(flamekit_record("--backend", "memray", "-o", str(out), "--", py, "-c", "pass"), 1,
                    "memray is not installed for", "pip install memray")
