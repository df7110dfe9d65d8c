"""``--hide-libraries`` for ``top`` (a file and ``--pid``) and ``diff``, on real py-spy recordings.

``backtest_vectorized.py`` spends most of its samples inside numpy, pandas and
import machinery; with the switch the user's ``positions`` and ``rolling_sum``
lead, no library frame is left under user code, user totals do not move, and
a note counts what was folded.
"""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flamekit.model import is_library
from flamekit.model import Frame

from conftest import DATA, require_tool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record_helpers import REPO, WORKLOADS, env, flamekit_record, profile_path, stop  # noqa: E402

pytestmark = pytest.mark.integration
PYSPY = DATA / "py-spy" / "0.4.3"


def flamekit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flamekit", *args], env=env(), cwd=REPO, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def rows(csv_text: str) -> dict[tuple[str, str], dict]:
    return {(r["name"], r["file"]): r for r in csv.DictReader(io.StringIO(csv_text))}


@pytest.fixture(scope="module")
def vectorized(tmp_path_factory) -> Path:
    require_tool("py-spy", "pip install py-spy")
    out = profile_path(tmp_path_factory.mktemp("hide"))
    r = flamekit_record("-o", str(out), "--", sys.executable, str(WORKLOADS / "backtest_vectorized.py"),
                        "--seconds", "2")
    assert r.returncode == 0, r.stderr
    return out


def test_top_hide_libraries(vectorized):
    plain = rows(flamekit("top", str(vectorized), "-n", "0", "--csv").stdout)
    hidden = rows(flamekit("top", str(vectorized), "-n", "0", "--csv", "--hide-libraries").stdout)
    lib = {k for k in plain if is_library(Frame(k[0], k[1]))}
    assert len(lib) > 20 and len(hidden) < len(plain) / 3  # numpy, pandas, importlib internals
    user = [k for k in hidden if not is_library(Frame(k[0], k[1]))]
    for k in user:  # a user function's total does not move; its self takes in the library time
        assert float(hidden[k]["total"]) == pytest.approx(float(plain[k]["total"]))
        assert float(hidden[k]["self"]) >= float(plain[k]["self"]) - 1e-9
    ranked = sorted(hidden.values(), key=lambda r: -float(r["self"]))
    assert {"positions", "rolling_sum"} <= {r["name"] for r in ranked[:4]}, [r["name"] for r in ranked[:6]]
    table = flamekit("top", str(vectorized), "-n", "5", "--hide-libraries")
    assert table.returncode == 0, table.stderr
    note = re.search(r"note: library frames hidden: (\d+) frames of (\d+) functions .*; .* \(([\d.]+)% of the "
                     r"total\) of self time moved", table.stdout)
    assert note and int(note.group(1)) >= len(lib) - 5 and float(note.group(3)) > 10, table.stdout


def test_diff_hide_libraries(tmp_path):
    base, head = PYSPY / "regression_pair-base.raw.txt", PYSPY / "regression_pair-head.raw.txt"
    out = tmp_path / "d.json"
    r = flamekit("diff", str(base), str(head), "--hide-libraries", "--json", str(out), "-q")
    assert r.returncode == 0, r.stderr
    notes = [ln for ln in r.stderr.splitlines() if "library frames hidden" in ln]
    assert len(notes) == 2 and str(base) in notes[0] and str(head) in notes[1]
    names = {(f["name"], f["file"]) for f in json.loads(out.read_text())["functions"]}
    plain = tmp_path / "p.json"
    assert flamekit("diff", str(base), str(head), "--json", str(plain), "-q").returncode == 0
    before = {(f["name"], f["file"]) for f in json.loads(plain.read_text())["functions"]}
    assert names < before and any(f.startswith("<frozen") for _, f in before - names)
    assert ("slow_risk_check", "regression_pair.py") in names


def test_top_pid_hide_libraries():
    require_tool("py-spy", "pip install py-spy")
    p = subprocess.Popen([sys.executable, str(WORKLOADS / "md_transform.py"), "--seconds", "60"],
                         stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        r = flamekit("top", "--pid", str(p.pid), "--duration", "3", "-n", "0", "--hide-libraries")
    finally:
        stop(p)
    assert r.returncode == 0, r.stderr
    assert "library frames hidden: up to" in r.stdout
    files = [ln.split()[-1] for ln in r.stdout.splitlines() if ln.rstrip().endswith(".py")]
    assert files and not any("/lib/python3" in f or "site-packages" in f for f in files), files
