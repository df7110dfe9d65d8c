"""``flamekit compare`` with real git, real py-spy and real processes, in throwaway repositories.

Ground truth: head's bench.py runs ``regression_pair.py --inject``, so
``slow_risk_check`` takes 25 % of head's CPU and 0 % of base's
(compare_repo.py). A/A (head = base) must pass the gate every time.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compare_repo import ROOT, compare_env, flamekit_compare, git, make_pair_repo, tree_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture()
def pair(tmp_path):
    """The throwaway repository and its (base, head) SHAs."""
    repo = tmp_path / "repo"
    base, head = make_pair_repo(repo)
    return repo, base, head


def assert_clean(repo: Path, tmpdir: Path, before: tuple) -> None:
    """Nothing left behind: same HEAD, index, status and worktree list; compare's TMPDIR empty."""
    assert tree_state(repo) == before
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    assert sorted(os.listdir(tmpdir)) == []


def test_regression_exits_3_naming_the_slow_function(pair, tmp_path):
    repo, base, head = pair
    tmpdir, out = tmp_path / "tmp", tmp_path / "out"
    out.mkdir()
    kept = out / "profiles"
    kept.mkdir()
    (repo / "notes.txt").write_text("an untracked file in the user's tree\n")
    before = tree_state(repo)
    # 5 runs a side, not 3, after one warm-up run a side: one slow run (the suite's first
    # recording, on a cold machine) widened the between-run spread enough to miss the
    # 25 % slow path (exit 0) once in CI
    r = flamekit_compare(repo, tmpdir, "--base", "main", "--head", "feature", "--runs", "5", "--warmup", "1",
                         "--fail-on-regression", "2", "--markdown", str(out / "d.md"), "--json",
                         str(out / "d.json"), "--html", str(out / "d.html"), "--keep-profiles", str(kept),
                         "--", "python3", "bench.py")
    assert r.returncode == 3, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("flamekit: ") and "slow_risk_check" in last, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    # interleaved: warm-up base, head, then base 1, head 1, base 2, ...
    order = [ln.split(": ", 1)[1].split(":")[0] for ln in r.stderr.splitlines()
             if ln.startswith("flamekit compare: ") and (" run " in ln or " warm-up " in ln)]
    assert order == (["base warm-up 1/1", "head warm-up 1/1"]
                     + [f"{side} run {i}/5" for i in range(1, 6) for side in ("base", "head")])
    assert_clean(repo, tmpdir, before)

    doc = json.loads((out / "d.json").read_text())
    assert doc["verdict"] == "regression"
    assert doc["regressions"][0]["name"] == "slow_risk_check"
    assert doc["regressions"][0]["file"] == "regression_pair.py"  # relative: base and head frames match
    assert 15 <= doc["worst_regression_pp"] <= 35, doc["worst_regression_pp"]  # 25 % by construction
    assert doc["compare"]["base"]["commit"] == base and doc["compare"]["head"]["commit"] == head
    assert doc["compare"]["runs"] == 5 and doc["compare"]["warmup"] == 1  # warm-ups are not recorded
    md = (out / "d.md").read_text()
    assert f"`main ({base[:7]})`" in md and f"`feature ({head[:7]})`" in md
    # every output names the sides by ref and short SHA (from the runs' compare meta)
    assert doc["base"]["name"] == f"main @ {base[:7]}" and doc["head"]["name"] == f"feature @ {head[:7]}"
    assert f"`main @ {base[:7]}`" in md
    html = (out / "d.html").read_text()
    assert f"main ({base[:7]}) → feature ({head[:7]})" in html

    import flamekit

    for side, sha, ref in (("base", base, "main"), ("head", head, "feature")):
        for run in (1, 2, 3):
            meta = flamekit.load(kept / f"{side}-{run}.json").meta
            assert meta["compare"]["side"] == side and meta["compare"]["commit"] == sha
            assert meta["compare"]["ref"] == ref and meta["compare"]["run"] == run


def test_aa_passes_five_times_of_five(pair, tmp_path):
    """head = base: no regression past the gate in 5 of 5 compares."""
    repo, base, _ = pair
    codes = []
    for i in range(5):
        r = flamekit_compare(repo, tmp_path / f"tmp{i}", "--base", base, "--head", base, "--runs", "3",
                             "--fail-on-regression", "2", "-q", "--", "python3", "bench.py")
        codes.append(r.returncode)
        assert r.returncode in (0, 3), r.stderr[-2000:]
    assert codes == [0] * 5, codes


def test_head_worktree_runs_uncommitted_changes(pair, tmp_path):
    """--head WORKTREE: the user's dirty tree is head; it stays as it was."""
    repo, base, head = pair
    git(repo, "checkout", "-q", "feature")
    text = (repo / "bench.py").read_text()
    assert "'0.25'" in text
    (repo / "bench.py").write_text(text.replace("'0.25'", "'0.5'"))
    before = tree_state(repo)
    r = flamekit_compare(repo, tmp_path / "tmp", "--base", "main", "--head", "WORKTREE", "--runs", "2",
                         "--json", str(tmp_path / "d.json"), "-q", "--", "python3", "bench.py")
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads((tmp_path / "d.json").read_text())
    assert doc["compare"]["head"]["dirty"] is True and doc["compare"]["head"]["commit"] == head
    row = next(f for f in doc["functions"] if f["name"] == "slow_risk_check")
    assert 38 <= row["head_self"] <= 62, row  # the uncommitted 50 % share ran, not the committed 25 %
    assert_clean(repo, tmp_path / "tmp", before)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_ctrl_c_removes_the_worktrees(pair, tmp_path, sig):
    """Ctrl-C (SIGINT to the foreground group) or SIGTERM (a cancelled CI job) mid-run: nothing left."""
    repo, _, _ = pair
    tmpdir = tmp_path / "tmp"
    before = tree_state(repo)
    p = subprocess.Popen([sys.executable, "-m", "flamekit", "compare", "--base", "main", "--head", "feature",
                          "--runs", "5", "--", "python3", "bench.py"], cwd=repo, env=compare_env(tmpdir),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = ""
    deadline = time.monotonic() + 120
    while "head run 1/5" not in seen and time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        seen += line
    assert "head run 1/5" in seen, seen
    assert len(git(repo, "worktree", "list").splitlines()) == 3  # base + head checked out meanwhile
    time.sleep(1.0)  # mid-run
    if sig == "SIGINT":
        os.killpg(p.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    else:
        p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    # SIGTERM: 143 when it lands between recordings, 130 when a recording caught it as an interrupt
    assert p.returncode in ((130,) if sig == "SIGINT" else (130, 128 + signal.SIGTERM)), seen + err
    # the command's own stderr may hold its KeyboardInterrupt; flamekit's last word is one line
    assert err.strip().splitlines()[-1].startswith("flamekit: "), err
    assert_clean(repo, tmpdir, before)
    assert running_in(tmpdir) == []  # the command and py-spy were stopped, not left behind


def running_in(folder: Path) -> list[str]:
    """Return the command lines of live processes whose working directory is under ``folder``."""
    import psutil

    out = []
    for q in psutil.process_iter(["cmdline"]):
        try:
            if q.status() != psutil.STATUS_ZOMBIE and q.cwd().startswith(str(folder)):
                out.append(" ".join(q.info["cmdline"] or []))
        except psutil.Error:
            pass
    return out


def test_outside_a_git_repository(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    r = flamekit_compare(plain, tmp_path / "tmp", "--base", "main", "--", "python3", "-c", "pass",
                         env=compare_env(tmp_path / "tmp", GIT_CEILING_DIRECTORIES=str(tmp_path)))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("flamekit: ") and "not inside a git repository" in r.stderr


def test_unknown_ref(pair, tmp_path):
    repo, _, _ = pair
    r = flamekit_compare(repo, tmp_path / "tmp", "--base", "no-such-branch", "--", "python3", "bench.py")
    assert r.returncode == 2 and "'no-such-branch' names no commit" in r.stderr, r.stderr
    assert_clean(repo, tmp_path / "tmp", tree_state(repo))


def test_shadowed_worktree_is_refused(tmp_path):
    """A side that imports the project from the user's clone (PYTHONPATH=$PWD/lib) fails with the fix."""
    repo = tmp_path / "repo"
    (repo / "lib" / "mypkg").mkdir(parents=True)
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    git(repo, "config", "user.email", "test@example.invalid")
    git(repo, "config", "user.name", "flamekit test")
    (repo / "lib" / "mypkg" / "__init__.py").write_text(
        "def crunch():\n    return sum(i * i for i in range(3_000_000))\n")
    (repo / "bench.py").write_text("import mypkg\n\nfor _ in range(3):\n    mypkg.crunch()\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    r = flamekit_compare(repo, tmp_path / "tmp", "--base", "HEAD", "--runs", "1", "--", "python3", "bench.py",
                         env=compare_env(tmp_path / "tmp", PYTHONPATH=f"{ROOT}{os.pathsep}{repo / 'lib'}"))
    assert r.returncode == 1, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert "ran project code from outside its worktree" in last and "lib/mypkg/__init__.py" in last, last
    assert "--setup" in last
    assert len(git(repo, "worktree", "list").splitlines()) == 1


def test_setup_runs_in_each_worktree(pair, tmp_path):
    """--setup runs once per side in that side's worktree, before its runs; a failing setup is exit 1."""
    repo, base, head = pair
    log = tmp_path / "setup.log"
    r = flamekit_compare(repo, tmp_path / "tmp", "--base", "main", "--head", "feature", "--runs", "1", "-q",
                         "--setup", f'echo "$FLAMEKIT_COMPARE_SIDE $(git rev-parse HEAD) $PWD" >> {log}',
                         "--", "python3", "bench.py")
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [ln.split() for ln in log.read_text().splitlines()]
    assert [(s, sha) for s, sha, _ in lines] == [("base", base), ("head", head)]
    assert all(os.path.basename(d) == s and str(repo) not in d for s, _, d in lines)
    r = flamekit_compare(repo, tmp_path / "tmp", "--base", "main", "--setup", "exit 7", "--", "python3",
                         "bench.py")
    assert r.returncode == 1 and "--setup failed on base" in r.stderr and "exit status 7" in r.stderr
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    # a command that fails in its warm-up run stops before anything is recorded, saying why
    r = flamekit_compare(repo, tmp_path / "tmp", "--base", "main", "--warmup", "1", "--", "sh", "-c",
                         'echo "no market data" >&2; exit 5')
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 1 and last.startswith("flamekit: "), r.stderr[-2000:]
    assert "failed on base" in last and "(warm-up 1) with exit status 5: no market data" in last, last
    assert " run 1/" not in r.stderr and len(git(repo, "worktree", "list").splitlines()) == 1
