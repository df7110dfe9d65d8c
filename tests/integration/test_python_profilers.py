"""cProfile and pyinstrument run for real on sample_workloads/cpu_split.py (no mocks).

cpu_split spends a measured 70 % of its CPU in ``price_options`` and 30 % in
``update_risk``; each tool's file, read by flamekit, must show that split under
each function (within 15 points: the machine is shared), and cProfile's rebuilt
tree must keep each function's self time exactly as the stdlib's ``pstats`` reads it.
"""
from __future__ import annotations

import importlib.util
import pstats
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, subtree_total
from flamekit.formats import load_with_format

pytestmark = pytest.mark.integration

CPU_SPLIT = str(ROOT / "sample_workloads" / "cpu_split.py")


def _share(p) -> float:
    hot, cold = subtree_total(p, "price_options"), subtree_total(p, "update_risk")
    assert hot > 0 and cold > 0, "both functions must appear"
    return hot / (hot + cold)


def test_cprofile_recording(tmp_path: Path):
    out = tmp_path / "cpu_split.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), CPU_SPLIT,
                    "--seconds", "1"], check=True, capture_output=True, timeout=120)
    p, fmt = load_with_format(out)
    assert fmt == "pstats" and "approximate" in p.meta
    assert 0.55 < _share(p) < 0.85
    stats = pstats.Stats(str(out)).stats
    assert p.totals()[0] == pytest.approx(sum(v[2] for v in stats.values()), rel=1e-9)


@pytest.mark.parametrize("renderer", ["json", "pyisession"])
def test_pyinstrument_recording(tmp_path: Path, renderer: str):
    if importlib.util.find_spec("pyinstrument") is None:
        pytest.fail("pyinstrument is not installed: pip install -e '.[test]' (.ci/run installs it)")
    out = tmp_path / f"cpu_split.{renderer}"
    subprocess.run([sys.executable, "-m", "pyinstrument", "-r", renderer, "-o", str(out),
                    CPU_SPLIT, "--seconds", "1"], check=True, capture_output=True, timeout=120)
    p, fmt = load_with_format(out)
    assert fmt == "pyinstrument"
    assert 0.55 < _share(p) < 0.85
    assert p.meta["tool"] == "pyinstrument" and p.meta["duration"] > 0.9
