"""flamekit compare --backend memray: base and head of a real git repository, memory gated in bytes.

The repository's ``job.py`` keeps 8 MiB alive in ``load_book``; head's adds
``load_history``, which keeps 6 MiB more (ground truth by construction).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "integration"))
from compare_repo import flamekit_compare, git  # noqa: E402

pytestmark = pytest.mark.integration

JOB = '''KEPT = []


def load_book():
    for _ in range(8):
        KEPT.append(bytearray(1 << 20))


def load_history():
    for _ in range(6):
        KEPT.append(bytearray(1 << 20))


load_book()
'''


def test_compare_memray_gates_memory(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "test@example.invalid")
    git(repo, "config", "user.name", "flamekit test")
    (repo / "job.py").write_text(JOB)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "job.py").write_text(JOB + "load_history()\n")
    git(repo, "commit", "-q", "-am", "head keeps history")
    git(repo, "checkout", "-q", "main")
    out = tmp_path / "d.json"
    r = flamekit_compare(repo, tmp_path / "tmp", "--base", "main", "--head", "feature", "--runs", "2",
                         "--backend", "memray", "--fail-on-memory-regression", "4", "--json", str(out),
                         "-q", "--", sys.executable, "job.py")
    assert r.returncode == 3, r.stderr[-3000:]
    last = [ln for ln in r.stderr.splitlines() if ln.strip()][-1]
    assert last.startswith("flamekit: ") and "load_history" in last and "+6.0 MiB" in last, last
    doc = json.loads(out.read_text())
    assert doc["compare"]["backend"] == "memray" and doc["statistics"]["method"] == "exact"
    rows = {r["name"]: r for r in doc["functions"]}
    assert rows["load_history"]["delta_bytes"] == pytest.approx(6 * (1 << 20), rel=0.01)
    assert rows["load_book"]["status"] == "unchanged"
    r = flamekit_compare(repo, tmp_path / "tmp2", "--base", "main", "--head", "feature", "--runs", "1",
                         "--backend", "memray", "--fail-on-memory-regression", "8", "-q", "--",
                         sys.executable, "job.py")
    assert r.returncode == 0, r.stderr[-3000:]
