"""``flamekit compare`` says which runs py-spy recorded late: PR comment, JSON and stderr.

py-spy falling behind cannot be forced on demand (it takes a ~17 s recording at 20 kHz on
a machine it happens to fall behind on), so the runs here are real py-spy 0.4.3 recordings
of ``sample_workloads/regression_pair.py`` (tests/data) whose meta is made what the record
session makes of py-spy's real "behind in sampling" line (:func:`pyspy.stats` and
:func:`pyspy.warnings`, as ``record/session.py`` applies them), marked as compare marks
its runs. From there the path is compare's own: :func:`flamekit.compare.diff_runs` (the
diff of the recorded runs) and the CLI's :func:`flamekit.cli.compare.write_outputs`.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import flamekit
from flamekit import cli
from flamekit.cli.compare import write_outputs
from flamekit.compare import CompareOptions, Side, diff_runs
from flamekit.record import pyspy

from conftest import DATA
from test_pyspy_log import LOG

PAIR = DATA / "py-spy" / "0.4.3"
LATE_LINE = "py-spy> 1.24s behind in sampling, results may be inaccurate. Try reducing the sampling rate\n"


def _run(name: str, side: Side, run: int, log: str = "") -> flamekit.Profile:
    """One recorded run as compare keeps it; ``log``: py-spy's log of that recording."""
    p = flamekit.load(PAIR / f"regression_pair-{name}.raw.txt")
    meta = dict(p.meta, rate_hz=100)
    meta.update(pyspy.stats(log))
    meta["warnings"] = [*(meta.get("warnings") or []), *pyspy.warnings(meta)]
    meta["compare"] = {"side": side.name, "commit": side.commit, "ref": side.ref, "run": run,
                       "label": side.label}
    return p.copy(meta=meta)


def _compare(late: dict[tuple[str, int], str]):
    base = Side("base", "main", "1" * 40)
    head = Side("head", "feature", "2" * 40)
    opts = CompareOptions(base="main", head="feature", command=["python", "bench.py"], runs=3)
    bp = [_run("base", base, i, late.get(("base", i), "")) for i in (1, 2, 3)]
    hp = [_run("head", head, i, late.get(("head", i), "")) for i in (1, 2, 3)]
    return diff_runs(opts, base, head, bp, hp)


def test_the_comment_and_the_json_name_the_late_runs(tmp_path: Path, capsys) -> None:
    cr = _compare({("head", 3): LATE_LINE, ("base", 1): LOG})
    md, js = tmp_path / "d.md", tmp_path / "d.json"
    args = cli.build_parser("compare").parse_args(
        ["compare", "--base", "main", "--markdown", str(md), "--json", str(js), "-q", "--",
         "python", "bench.py"])
    write_outputs(cr, args)
    lines = md.read_text(encoding="utf-8").splitlines()
    at = lines.index("**⚠️ Input warnings**: base 1, head 1 (`flamekit info FILE` lists a "
                     "file's warnings)")
    # each late run once, by its own line (py-spy's long warning is not quoted beside it)
    assert lines[at + 1:at + 5] == [
        "",
        "- ⏱️ py-spy fell behind in run 1 of base (13.9 s late): its shares are less reliable.",
        "- ⏱️ py-spy fell behind in run 3 of head (1.24 s late): its shares are less reliable.",
        ""]
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert [r["sampling_behind_s"] for r in doc["base"]["runs"]] == [13.94, None, None]
    assert [r["sampling_behind_s"] for r in doc["head"]["runs"]] == [None, None, 1.24]
    assert doc["head"]["runs"][2]["warnings"] == pyspy.warnings({"sampling_behind_s": 1.24,
                                                                 "rate_hz": 100})
    assert doc["compare"]["late_runs"] == [
        {"side": "base", "run": 1, "sampling_behind_s": 13.94},
        {"side": "head", "run": 3, "sampling_behind_s": 1.24}]
    # the HTML artifact's box says the same, as plain text (diff.js sets it as text)
    from flamekit.render.diff_html import build_diff_data
    box = build_diff_data(cr.diff, title="t")["diff"]["warnings"]
    assert box == {"counts": "base 1, head 1", "more": 0, "lines": [
        "py-spy fell behind in run 1 of base (13.9 s late): its shares are less reliable.",
        "py-spy fell behind in run 3 of head (1.24 s late): its shares are less reliable."]}
    # stderr: each late run's warning, named by its run
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert err[0].startswith("flamekit: warning: base run 1: main (1111111): py-spy fell 13.94 s "
                             "behind its sampling schedule"), err
    assert err[1].startswith("flamekit: warning: head run 3: feature (2222222): py-spy fell 1.24 s "
                             "behind its sampling schedule"), err


def test_late_runs_are_said_not_dropped(tmp_path: Path) -> None:
    """The statistics are those of the same runs without the lateness: every run counts."""
    late, clean = _compare({("head", 3): LATE_LINE}), _compare({})
    assert (late.diff.base.n_runs, late.diff.head.n_runs) == (3, 3)
    pd.testing.assert_frame_equal(late.diff.table, clean.diff.table)
    assert clean.to_dict()["late_runs"] == []
    md = tmp_path / "clean.md"
    args = cli.build_parser("compare").parse_args(
        ["compare", "--base", "main", "--markdown", str(md), "-q", "--", "python", "bench.py"])
    write_outputs(clean, args)
    assert "Input warnings" not in md.read_text(encoding="utf-8")


@pytest.mark.parametrize("behind", [None, 0, "1.5", float("nan"), -2.0, "late"])
def test_odd_lateness_values_in_a_files_meta(behind) -> None:
    """A file's meta is untrusted: only a positive finite number of seconds is a lateness."""
    from flamekit.analysis.diff.prepare import run_behind

    want = 1.5 if behind == "1.5" else None
    assert run_behind({"sampling_behind_s": behind}) == want
