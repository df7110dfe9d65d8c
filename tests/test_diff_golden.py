"""Goldens of the diff's Markdown comment and JSON document, from a real in-repo pair.

The pair is two py-spy 0.4.3 recordings (``--rate 100 -f raw``) of
``sample_workloads/regression_pair.py --seconds 1.5``, without and with
``--inject`` (``slow_risk_check`` takes 10 % of the loop iterations by
construction), kept under ``tests/data/py-spy/0.4.3/``. The goldens are
``tests/data/golden/regression_pair.diff.md`` and ``.diff.json``;
``pytest --update-golden`` rewrites them (review the change in ``git diff``).
The CLI writes the same documents (its JSON compact, the same object).
"""
from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import flamekit
from flamekit.analysis.diff import diff
from flamekit.render import diff_json, markdown

from conftest import DATA, ROOT

PAIR = DATA / "py-spy" / "0.4.3"
BASE, HEAD = "regression_pair-base.raw.txt", "regression_pair-head.raw.txt"
GOLDEN = DATA / "golden"


def _check(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text, encoding="utf-8", newline="")
        return
    assert path.is_file(), f"missing golden {path}: run pytest {__file__} --update-golden"
    with open(path, encoding="utf-8", newline="") as f:
        want = f.read()
    if text != want:
        d = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                         "golden", "now", n=1))
        pytest.fail(f"{name} differs from its golden:\n{d[:4000]}")


@pytest.fixture(scope="module")
def result():
    return diff(flamekit.load(PAIR / BASE), flamekit.load(PAIR / HEAD),
                base_sources=[BASE], head_sources=[HEAD])


def test_the_pair_finds_the_injected_function(result) -> None:
    regs = result.regressions()
    assert list(regs["name"]) == ["slow_risk_check"]
    assert 6.0 <= float(regs["delta_self"].iloc[0]) <= 14.0  # injected: 10 % of the iterations


def test_markdown_golden(result, update_golden: bool) -> None:
    _check("regression_pair.diff.md", markdown.render(result, title="regression pair"),
           update_golden)


def test_json_golden(result, update_golden: bool) -> None:
    _check("regression_pair.diff.json", diff_json.dumps(result, indent=2), update_golden)


def test_cli_writes_the_golden_documents(tmp_path: Path) -> None:
    md, js = tmp_path / "c.md", tmp_path / "d.json"
    proc = subprocess.run([sys.executable, "-m", "flamekit", "diff", BASE, HEAD, "-q",
                           "--title", "regression pair", "--markdown", str(md), "--json", str(js)],
                          cwd=PAIR, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert md.read_text(encoding="utf-8") == \
        (GOLDEN / "regression_pair.diff.md").read_text(encoding="utf-8")
    assert json.loads(js.read_text(encoding="utf-8")) == \
        json.loads((GOLDEN / "regression_pair.diff.json").read_text(encoding="utf-8"))
