"""scalene JSON: real-world schemas, scalene 2.4.0 fixtures (ground truth), hostile input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import CORPUS, DATA, HOSTILE as HOSTILE_ROOT, realworld_names
from hostile_util import assert_clean_failure, assert_ok, run_isolated

from flamekit.formats import detect, load_with_format, scalene_json
from flamekit.model import SampleType, functions, group

SC = DATA / "scalene" / "2.4.0"
RW = CORPUS / "realworld" / "scalene"
HOSTILE = HOSTILE_ROOT / "scalene"
LINE_COLS = {"file", "line", "function", "source", "cpu_python_pct", "cpu_native_pct",
             "cpu_system_pct", "gpu_pct", "malloc_mb", "peak_mb", "mallocs", "copy_mb_s"}


def _rw_files():
    return [RW / n for n in realworld_names("scalene")]


@pytest.mark.parametrize("path", _rw_files(), ids=lambda p: p.name)
def test_realworld_schemas_import(path: Path) -> None:
    p, fmt = load_with_format(path)
    assert fmt == "scalene" and p.n_samples > 0
    doc = json.loads(path.read_text())
    lines = p.tables["scalene_lines"]
    assert LINE_COLS <= set(lines)
    assert len(lines["line"]) == sum(len(f["lines"]) for f in doc["files"].values())
    # per-line CPU seconds = sum of percentages x elapsed
    pct = sum(l["n_cpu_percent_python"] for f in doc["files"].values() for l in f["lines"])
    k = p.type_index("cpu_python/seconds")
    assert p.totals()[k] == pytest.approx(pct / 100 * doc["elapsed_time_sec"])
    k = p.type_index("alloc_space/megabytes")
    mb = sum(l["n_malloc_mb"] for f in doc["files"].values() for l in f["lines"])
    assert p.totals()[k] == pytest.approx(mb)
    assert p.meta["elapsed_time_sec"] == doc["elapsed_time_sec"]
    assert p.meta["max_footprint_mb"] == doc["max_footprint_mb"]
    tl = p.tables["scalene_memory_timeline"]
    assert len(tl["footprint_mb"]) == len(doc["samples"])


def test_old_schema_functions_from_sparse_source() -> None:
    p = load_with_format(RW / "scalene__gui-profile-2022-01.json")[0]
    t = p.tables["scalene_lines"]
    fn = dict(zip(t["line"], t["function"]))
    assert (fn[1], fn[12], fn[14], fn[19], fn[31], fn[46]) == (
        "<module>", "doit1", "doit1", "doit2", "doit2", "stuff")
    assert p.meta["scalene_schema"] == "2022-01" and t["source"][0] == "import numpy as np"
    assert all(x is None for x in p.tables["scalene_memory_timeline"]["t_sec"])


def test_gpu_type_only_when_used() -> None:
    p = load_with_format(RW / "scalene__root-profile-2022-09.json")[0]
    assert SampleType("gpu", "seconds") in p.sample_types
    q = load_with_format(RW / "scalene__gui-profile-2024.json")[0]
    assert SampleType("gpu", "seconds") not in q.sample_types


# -- scalene 2.4.0 fixtures ----------------------------------------------------------
def test_cpu_fixture_ground_truth_70_30() -> None:
    """cpu_split.py: price_options gets 70% of the CPU, update_risk 30% (scalene's CPU stacks)."""
    p, fmt = load_with_format(SC / "cpu_split.scalene.json.gz")
    assert fmt == "scalene" and p.meta["scalene_schema"] == "2.x"
    assert p.sample_types[0] == SampleType("cpu", "samples")
    assert {SampleType("alloc_space", "megabytes")}.isdisjoint(p.sample_types)  # --cpu-only
    df = functions(p, "cpu/samples").set_index("name")
    hot, cold = df.loc["price_options", "total"], df.loc["update_risk", "total"]
    assert 0.60 <= hot / (hot + cold) <= 0.80
    # the Python view: the interpreter's native frames folded into the Python frame they serve
    assert p.meta["view"] == "python" and {f.kind for f in p.frames} == {"python"}
    assert df.loc["_burn", "self"] == df.loc["_burn", "total"] > 0  # the leaf owns its C time
    full = scalene_json.load(SC / "cpu_split.scalene.json.gz", native_frames=True)
    assert full.meta["view"] == "native" and {f.kind for f in full.frames} == {"python", "native"}
    assert full.totals()[0] == p.totals()[0]  # folding moves samples, never drops them
    fn_full = functions(full, "cpu/samples").set_index("name")
    assert fn_full.loc["price_options", "total"] == hot and fn_full.loc["_burn", "self"] == 0
    top_native = fn_full.sort_values("self", ascending=False).index[0]
    assert top_native not in ("_burn", "price_options")  # why the Python view is the default
    # per-line CPU: only _burn's lines burn CPU; their seconds fit in the elapsed time
    el = p.meta["elapsed_time_sec"]
    cpu = sum(p.totals()[p.type_index(t)] for t in ("cpu_python", "cpu_native", "cpu_system"))
    assert 0.5 * el <= cpu <= 1.01 * el
    g = functions(group(p, "function"), "cpu_python/seconds")
    assert g["name"].iloc[0] == "_burn"


def test_memory_fixture_allocation_sites() -> None:
    """alloc_heavy.py --mb 30 --rounds 3: load_ticks and rolling_mean each allocate ~3 x 30 MB."""
    p = load_with_format(SC / "alloc_heavy.scalene.json.gz")[0]
    # no peak column: a peak is a maximum, and a sample type is summed over lines and stacks
    assert [str(s) for s in p.sample_types] == [
        "cpu/samples", "cpu_python/seconds", "cpu_native/seconds", "cpu_system/seconds",
        "alloc_space/megabytes", "mallocs/count"]
    assert p.meta["peak_memory_bytes"] == round(p.meta["max_footprint_mb"] * 2**20)
    assert p.meta["max_footprint_mb"] >= max(p.tables["scalene_lines"]["peak_mb"])
    df = functions(p, "alloc_space/megabytes").set_index("name")
    for fn in ("load_ticks", "rolling_mean"):
        assert 60 <= df.loc[fn, "self"] <= 130, (fn, df.loc[fn, "self"])
    assert df.loc["backtest", "total"] == pytest.approx(p.totals()[p.type_index("alloc_space")])
    t = p.tables["scalene_lines"]
    sites = {(fn, ln): mb for fn, ln, mb in zip(t["function"], t["line"], t["malloc_mb"]) if mb}
    assert set(sites) == {("load_ticks", 17), ("rolling_mean", 28)}
    assert sum(sites.values()) == pytest.approx(p.totals()[p.type_index("alloc_space")], rel=0.01)
    assert p.meta["max_footprint_mb"] > 30 and p.meta["memory"] is True
    tl = p.tables["scalene_memory_timeline"]
    assert len(tl["t_sec"]) > 10 and tl["t_sec"] == sorted(tl["t_sec"])
    assert max(tl["footprint_mb"]) <= p.meta["max_footprint_mb"] + 1e-6


@pytest.mark.parametrize("name", ["cpu_split.scalene.json.gz", "alloc_heavy.scalene.json.gz"])
def test_fixture_detected_by_content(name: str, tmp_path: Path) -> None:
    import gzip
    f = tmp_path / "noext"
    f.write_bytes(gzip.decompress((SC / name).read_bytes()))
    assert detect(f).name == "scalene"


# -- hostile input --------------------------------------------------------------
def test_sc01_missing_files() -> None:
    assert_clean_failure(run_isolated(HOSTILE / "SC01-missing-files.json"), "files")


def test_sc02_source_kept_verbatim() -> None:
    p = load_with_format(HOSTILE / "SC02-source-breakout.json")[0]
    t = p.tables["scalene_lines"]
    assert t["source"][0] == 'x = 1  # </script><script>alert("scalene #629")</script>'
    assert "</script>" in t["file"][0] and p.frames[0].file == t["file"][0]


def test_sc04_clamped_with_warnings() -> None:
    out = run_isolated(HOSTILE / "SC04-out-of-range.json")
    assert_ok(out)
    assert out["sample_types"] == ["cpu_python/percent", "cpu_native/percent", "cpu_system/percent"]
    assert out["totals"] == [100.0, 0.0, 0.0] and min(out["totals"]) >= 0
    w = " ".join(out["warnings"])
    assert "elapsed_time_sec" in w and "negative" in w and "above 100" in w


BUILT = {
    "SC01-wrong-types-lines": {"elapsed_time_sec": 1, "files": {"a.py": {"lines": {}}}},
    "SC01-wrong-types-functions": {"elapsed_time_sec": 1, "files": {"a.py": {"lines": [],
                                                                              "functions": None}}},
    "SC01-wrong-types-elapsed": {"elapsed_time_sec": "1s", "files": {}},
    "SC01-bad-lineno": {"elapsed_time_sec": 1, "files": {"a.py": {"lines": [{"lineno": "x"}]}}},
    "SC01-bad-stack": {"elapsed_time_sec": 1, "files": {}, "combined_stacks": [[{"x": 1}]]},
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_built_hostile_rejected(name: str, tmp_path: Path) -> None:
    f = tmp_path / (name + ".json")
    f.write_text(json.dumps(BUILT[name]))
    assert_clean_failure(run_isolated(f))


def test_sc03_nan_tolerated(tmp_path: Path) -> None:
    f = tmp_path / "SC03-nan.json"
    f.write_text('{"elapsed_time_sec": 2.0, "files": {"a.py": {"functions": [], "lines": ['
                 '{"lineno": 1, "line": "x", "n_cpu_percent_python": NaN, "n_cpu_percent_c": 50,'
                 ' "n_sys_percent": Infinity, "n_malloc_mb": 1.5, "n_peak_mb": 1.0}]}}}')
    p = load_with_format(f)[0]
    assert p.totals()[p.type_index("cpu_native/seconds")] == 1.0
    assert p.totals()[p.type_index("cpu_system/seconds")] == 0.0
    w = " ".join(p.meta["warnings"])
    assert "NaN" in w and "infinite" in w
