"""flamekit diff on memory profiles: exact bytes per function and the memory gate (exit 3).

BASE and HEAD are real recordings of ``sample_workloads/mem_known.py``; HEAD also runs
``load_reference_data``, which keeps a known extra number of MiB alive until exit,
so the answer is known: that function is new at exactly that many MiB of peak
and leaked memory, and nothing else grew.

The workload runs with ``PYTHONMALLOC=malloc``. Under pymalloc, memray charges a whole
1 MiB arena to whichever call happened to open it, so which function holds an arena at
the high-water mark can differ between two runs of the same program (a clean-clone CI
run once saw runpy's ``_get_code_from_file`` "grow" that way, above the 1 % floor). With
the system allocator every allocation is charged to its own caller and "nothing else
grew" is exact.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import flamekit
from conftest import ROOT
from flamekit.analysis.diff import diff
from flamekit.analysis.memory_diff import (MIB, check_memory_threshold, exact_memory,
                                           parse_memory_threshold)
from flamekit.errors import RegressionFound, UsageError

sys.path.insert(0, str(ROOT / "tests" / "integration"))
from browser import open_page  # noqa: E402
from record_helpers import env, flamekit_record  # noqa: E402

pytestmark = pytest.mark.integration

WORKLOAD = str(ROOT / "sample_workloads" / "mem_known.py")
KEEP, EXTRA = 16, 12
#: the recorded workload's environment: every allocation charged to its own caller
EXACT = {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flamekit", *args], capture_output=True, text=True,
                          timeout=180, cwd=ROOT, stdin=subprocess.DEVNULL)


def memray_run(out: Path, *args: str) -> Path:
    r = subprocess.run([sys.executable, "-m", "memray", "run", "-q", "-f", "-o", str(out), WORKLOAD,
                        "--keep-mib", str(KEEP), "--churn-mib", "16", *args], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL, env=env(**EXACT))
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    """BASE and HEAD recorded through flamekit with memray; HEAD keeps EXTRA MiB more."""
    d = tmp_path_factory.mktemp("memdiff")
    out = []
    for name, extra in (("base", "0"), ("head", str(EXTRA))):
        p = d / f"{name}.json"
        r = flamekit_record("--backend", "memray", "-o", str(p), "--", sys.executable, WORKLOAD,
                            "--keep-mib", str(KEEP), "--churn-mib", "16", "--extra-mib", extra, timeout=180,
                            env=env(**EXACT))
        assert r.returncode == 0, r.stderr
        assert flamekit.load(p).meta["python_allocator"] == "malloc"
        out.append(p)
    return out[0], out[1]


def test_gate_names_the_function_and_its_growth(pair, tmp_path):
    base, head = pair
    md, js, html = tmp_path / "c.md", tmp_path / "d.json", tmp_path / "d.html"
    r = cli("diff", str(base), str(head), "--fail-on-memory-regression", "8", "--markdown", str(md),
            "--json", str(js), "-o", str(html))
    assert r.returncode == 3, r.stderr
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("flamekit: "), r.stderr
    assert "load_reference_data" in err[0] and f"+{EXTRA:.1f} MiB" in err[0], err[0]
    # the default measure is the high-water mark, per function, in bytes and shares
    doc = json.loads(js.read_text())
    assert doc["options"]["sample_type"] == "peak_space/bytes" and doc["statistics"]["method"] == "exact"
    rows = {r["name"]: r for r in doc["functions"]}
    lrd = rows["load_reference_data"]
    assert lrd["status"] == "new" and lrd["regression"]
    assert lrd["delta_bytes"] == pytest.approx(EXTRA * MIB, rel=0.01)
    assert lrd["head_self"] == pytest.approx(100 * lrd["head_bytes"] / doc["memory"]["head_total_bytes"])
    keep = rows["keep_positions"]
    assert keep["status"] == "unchanged" and not keep["regression"]  # its share fell; its bytes did not
    assert abs(keep["delta_bytes"]) < 0.01 * KEEP * MIB and keep["delta_self"] < -20
    assert [r["name"] for r in doc["regressions"]] == ["load_reference_data"]
    text = md.read_text()
    assert "Memory regression" in text and f"+{EXTRA:.2f}" in text and "`load_reference_data`" in text
    assert "Δ MiB" in text
    assert doc["memory"]["allocator_note"] is None and "Allocator:" not in text  # malloc: per call
    assert html.stat().st_size > 10_000 and "flamekit-data" in html.read_text()
    # stdout summary in MiB
    assert "MiB" in r.stdout and "load_reference_data" in r.stdout


def test_gate_thresholds(pair):
    base, head = map(str, pair)
    assert cli("diff", base, head, "-q", "--fail-on-memory-regression", f"{EXTRA + 4}").returncode == 0
    assert cli("diff", base, head, "-q", "--fail-on-memory-regression", "50%").returncode == 3  # 12 of ~16.3
    assert cli("diff", base, head, "-q", "--fail-on-memory-regression", "90%").returncode == 0
    # leaked memory grew by the same allocation
    r = cli("diff", base, head, "-q", "--sample-type", "leaked_space", "--fail-on-memory-regression", "10MB")
    assert r.returncode == 3 and "load_reference_data" in r.stderr and "leaked_space" in r.stderr
    r = cli("diff", base, head, "--fail-on-memory-regression", "lots")
    assert r.returncode == 2 and r.stderr.startswith("flamekit: ") and "MiB" in r.stderr


def test_several_runs_per_side_and_no_change(tmp_path):
    b = [memray_run(tmp_path / f"b{i}.bin") for i in range(2)]
    h = [memray_run(tmp_path / f"h{i}.bin", "--extra-mib", "6") for i in range(2)]
    bp, hp = [flamekit.load(p) for p in b], [flamekit.load(p) for p in h]
    res = exact_memory(diff(bp, hp), parse_memory_threshold("4MiB"))
    t = res.table.set_index("name")
    assert t.loc["load_reference_data", "delta_bytes"] == pytest.approx(6 * MIB, rel=0.01)
    assert t.loc["load_reference_data", "head_bytes"] == pytest.approx(6 * MIB, rel=0.01)  # mean per run
    with pytest.raises(RegressionFound, match=r"load_reference_data.*\+6\.0 MiB"):
        check_memory_threshold(res, parse_memory_threshold("4MiB"))
    # the same capture on both sides: nothing changed, exactly
    same = exact_memory(diff(bp[0], bp[0]))
    assert same.verdict == "no-change" and (same.table["delta_bytes"] == 0).all()
    check_memory_threshold(same, parse_memory_threshold("0"))


def test_pymalloc_captures_carry_the_arena_caveat(browser, tmp_path):
    """A capture under pymalloc (the committed memray 1.20 file) says its bytes are per arena,
    in the JSON, the Markdown and the page's summary line."""
    cap = ROOT / "tests" / "data" / "memray" / "1.20.0" / "mem_known.bin"
    assert flamekit.load(cap).meta["python_allocator"] == "pymalloc"
    md, js, html = tmp_path / "c.md", tmp_path / "d.json", tmp_path / "d.html"
    r = cli("diff", str(cap), str(cap), "-q", "--markdown", str(md), "--json", str(js), "-o", str(html))
    assert r.returncode == 0, r.stderr
    note = json.loads(js.read_text())["memory"]["allocator_note"]
    assert note.startswith("2 of 2 run(s) were recorded under pymalloc") and "PYTHONMALLOC=malloc" in note
    assert "- Allocator: 2 of 2 run(s) were recorded under pymalloc" in md.read_text()
    page = open_page(browser, html)
    assert "Allocator: 2 of 2 run(s) were recorded under pymalloc" in page.inner_text("#fk-summary")
    assert page.fk_errors == []
    page.close()


def test_threshold_parsing_and_non_memory_types():
    assert parse_memory_threshold("64").mib == 64 and parse_memory_threshold("64MB").mib == 64
    assert parse_memory_threshold("1.5 MiB").mib == 1.5 and parse_memory_threshold("5%").percent == 5
    for bad in ("", "-3", "5 GB", "%", "abc"):
        with pytest.raises(UsageError):
            parse_memory_threshold(bad)
    cpu = flamekit.load(next((ROOT / "tests" / "data" / "py-spy").rglob("*.json")))
    with pytest.raises(UsageError, match="memory sample type"):
        exact_memory(diff(cpu, cpu))
