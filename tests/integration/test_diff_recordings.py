"""flamekit diff on REAL py-spy recordings: A/A stays quiet, A/B finds the injected function, moved code is not new.

Recordings (py-spy 200 Hz, about 1.2 s of CPU each, speedscope output) are made
once per module: 4 baseline runs and 3 ``--inject`` runs of
``sample_workloads/regression_pair.py`` (``slow_risk_check`` takes ~10 % of CPU),
plus a program and its copy shifted down by 40 lines, recorded at the same path.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import flamekit
from flamekit.analysis.diff import diff
from flamekit.cli import main

from conftest import ROOT

pytestmark = pytest.mark.integration  # py-spy is a dependency: a missing one fails the recording

PAIR = ROOT / "sample_workloads" / "regression_pair.py"
AB_JOB = ROOT / "tests" / "data" / "programs" / "ab_job.py"
SECONDS = "1.2"


def record(out: Path, *cmd: str) -> Path:
    """Record ``python cmd...`` with py-spy into ``out`` (speedscope JSON).

    A recording py-spy itself calls inaccurate ("behind in sampling": it ran late on a
    machine busier than its cores, and a wall-clock sampler then piles samples on the lines
    the program waited on) is taken again, once: the A/A pairs test the statistics, not a
    neighbour's load.
    """
    for _attempt in range(2):
        r = subprocess.run(["py-spy", "record", "-r", "200", "-f", "speedscope", "-o", str(out), "--",
                            sys.executable, *cmd], capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or not out.exists():
            pytest.fail(f"py-spy failed ({r.returncode}): {r.stderr[-800:]}")
        if "behind in sampling" not in r.stderr:
            break
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("diffrec")
    a = [record(d / f"A{i}.json", str(PAIR), "--seconds", SECONDS) for i in range(4)]
    b = [record(d / f"B{i}.json", str(PAIR), "--seconds", SECONDS, "--inject") for i in range(3)]
    return d, a, b


def test_aa_pairs_raise_no_regression(runs):
    _, a, _ = runs
    for x, y in ((a[0], a[1]), (a[2], a[3]), (a[1], a[2])):
        res = flamekit.diff(str(x), str(y))
        assert res.verdict != "regression", res.regressions()[["name", "delta_self", "q_value"]]
    res = flamekit.diff(a[:2], a[2:])
    assert res.method == "welch" and res.verdict != "regression"


def test_ab_finds_the_injected_function_with_its_file(runs, tmp_path):
    _, a, b = runs
    out = tmp_path / "d.json"
    code = main(["diff", "--base", *map(str, a[:3]), "--head", *map(str, b), "--json", str(out),
                 "-q", "--fail-on-regression", "3"])
    doc = json.loads(out.read_text())
    new = [f for f in doc["functions"] if f["status"] == "new"]
    top = max(new, key=lambda f: f["delta_self"])
    assert top["name"] == "slow_risk_check", [(f["name"], f["delta_self"]) for f in new[:5]]
    assert Path(top["file"]).name == "regression_pair.py"
    assert top["base_self"] == 0 and 3.0 < top["head_self"] < 15.0
    # Welch's t over 3 runs per side: clearly significant before the multiple-testing step;
    # after it, a regression in most runs (benchmarks/diff_accuracy.py measures the rate)
    assert top["p_value"] < 0.02, top
    if doc["verdict"] == "regression":
        assert doc["regressions"][0]["name"] == "slow_risk_check"
        assert code == (3 if top["delta_self"] >= 3 else 0)
    else:
        assert code == 0
    # the single-run comparison ranks it first among new functions too
    res = flamekit.diff(str(a[0]), str(b[0]))
    new = res.table[res.table["status"] == "new"]
    assert new.iloc[0]["name"] == "slow_risk_check"


def test_moved_code_is_not_new_by_function(tmp_path):
    src = AB_JOB.read_text()
    prog = tmp_path / "job.py"
    prog.write_text(src)
    base = record(tmp_path / "base.json", str(prog), "--seconds", SECONDS)
    lines = src.split("\n")
    cut = next(i for i, ln in enumerate(lines) if ln.startswith("def load_ticks"))
    shifted = "\n".join(lines[:cut] + ["# moved down"] * 40 + lines[cut:])
    prog.write_text(shifted)  # same path, functions 40 lines lower
    head = record(tmp_path / "head.json", str(prog), "--seconds", SECONDS)
    pb, ph = flamekit.load(base), flamekit.load(head)
    lb = {f.line for f in pb.frames if f.name == "compute_vwap"}
    lh = {f.line for f in ph.frames if f.name == "compute_vwap"}
    assert lb and lh and not (lb & lh), (lb, lh)   # the lines really moved
    res = diff(pb, ph)
    mine = res.table[res.table["file"].str.endswith("job.py")]
    assert set(mine["status"]) == {"unchanged"}, mine[["name", "status"]]
    assert res.verdict != "regression"
    by_line = diff(pb, ph, by="line")
    mine = by_line.table[by_line.table["file"].str.endswith("job.py")]
    assert {"new", "gone"} <= set(mine["status"])
