"""How reliably does ``flamekit compare`` catch an injected regression of a given size?

    python benchmarks/compare_detection.py --share 0.10 --runs 3 --trials 10
    python benchmarks/compare_detection.py --share 0.00 --runs 3 --trials 5     # A/A: false alarms

Builds the throwaway repository of the compare tests (tests/integration/compare_repo.py:
base runs ``sample_workloads/regression_pair.py``, head the same with ``--inject
--inject-share SHARE``, so ``slow_risk_check`` takes SHARE of head's CPU by
construction) and runs ``flamekit compare --runs N --fail-on-regression PP`` TRIALS
times. Prints, per trial, the exit code (3 = the gate tripped), slow_risk_check's
measured change in percentage points and its q value, then the detection rate
(``--share 0``: the false-alarm rate). Each run records with py-spy.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from compare_repo import compare_env, make_pair_repo  # noqa: E402


def find_row(doc: dict, name: str) -> dict | None:
    """Return the first dict in the compare JSON whose ``name`` is ``name`` (a regression row or a diff row)."""
    stack = [doc]
    while stack:
        x = stack.pop(0)
        if isinstance(x, dict):
            if x.get("name") == name:
                return x
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the trials and print one line each, then the rate."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--share", default="0.10", help="slow_risk_check's share of head's CPU (0 = A/A)")
    ap.add_argument("--seconds", default="0.5", help="CPU seconds of each recorded run (tests use 0.5)")
    ap.add_argument("--runs", type=int, default=3, help="runs per side (default 3)")
    ap.add_argument("--trials", type=int, default=10, help="compares to run (default 10)")
    ap.add_argument("--fail-on-regression", default="2", help="the gate in pp (tests use 2)")
    ap.add_argument("--rate", help="py-spy samples per second (default: py-spy's 100)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fk-detect-") as tmp:
        repo = Path(tmp) / "repo"
        aa = float(a.share) == 0.0
        make_pair_repo(repo, share="0.5" if aa else a.share, seconds=a.seconds)
        head = "main" if aa else "feature"
        hits = 0
        for i in range(a.trials):
            out = Path(tmp) / f"d{i}.json"
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "flamekit", "compare", "--base", "main", "--head", head,
                                "--runs", str(a.runs), "--fail-on-regression", a.fail_on_regression,
                                "--json", str(out), "-q", *(["--rate", a.rate] if a.rate else []),
                                "--", "python3", "bench.py"],
                               cwd=repo, env=compare_env(Path(tmp) / f"t{i}"), capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, timeout=900)
            wall = time.perf_counter() - t0
            if r.returncode not in (0, 3):
                print(f"trial {i + 1}: exit {r.returncode}: {r.stderr[-800:]}", flush=True)
                continue
            doc = json.loads(out.read_text())
            row = find_row(doc, "slow_risk_check") or {}
            hits += r.returncode == 3
            figs = ", ".join(f"{k} {row[k]:.3g}" for k in ("base_self", "head_self", "delta_self", "p_value",
                                                           "q_value") if isinstance(row.get(k), (int, float)))
            print(f"trial {i + 1}: exit {r.returncode}, verdict {doc.get('verdict')}, slow_risk_check: "
                  f"{figs or 'no row'} (shares in %, p/q of the judged metric), {wall:.0f} s wall", flush=True)
        what = "false alarms (A/A)" if aa else f"detected (share {a.share})"
        print(f"{what}: {hits} of {a.trials} with --runs {a.runs}, --seconds {a.seconds}, "
              f"--fail-on-regression {a.fail_on_regression}, --rate {a.rate or 'default'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
