"""Benchmark: what ``flamekit record --backend py-spy`` costs over bare ``py-spy record``.

Runs a CPU-bound sample workload (``sample_workloads/backtest_loop.py``, fixed
work: ``--passes``) three ways, interleaved so machine noise hits all alike:

* bare:      ``python backtest_loop.py ...``
* py-spy:    ``py-spy record -r RATE -f speedscope -o X -- python backtest_loop.py ...``
* flamekit:  ``flamekit record --backend py-spy --rate RATE -o X.json -- python backtest_loop.py ...``

and prints, per way, the median of the workload's own time per pass (what
sampling slows down) and of the whole command's wall time (what the user
waits for, including flamekit's start-up, loading and writing), with ratios.
Target: flamekit within 1% of bare py-spy on the workload's time.

    python benchmarks/record_overhead.py --runs 5 --passes 3 --rate 100
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = REPO / "sample_workloads" / "backtest_loop.py"


def _run(argv: list[str], env: dict) -> tuple[float, float]:
    """Run one command; return (wall seconds, the workload's own seconds per pass)."""
    t = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=600,
                       stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(argv)}\n{r.stderr[-2000:]}")
    m = re.search(r"([\d.]+) s per pass", r.stdout)
    if not m:
        raise SystemExit(f"no timing line from: {' '.join(argv)}\n{r.stdout}")
    return wall, float(m.group(1))


def main(argv: list[str] | None = None) -> int:
    """Run the interleaved benchmark and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per way (default 5)")
    ap.add_argument("--passes", type=int, default=3, help="backtest passes per run (default 3)")
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--rate", type=int, default=100, help="sampling rate for both (default 100 Hz)")
    a = ap.parse_args(argv)
    pyspy = shutil.which("py-spy")
    if not pyspy:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    work = [sys.executable, str(WORKLOAD), "--bars", str(a.bars), "--passes", str(a.passes)]
    with tempfile.TemporaryDirectory(prefix="flamekit-bench-") as d:
        ways = {
            "bare": work,
            "py-spy": [pyspy, "record", "-r", str(a.rate), "-f", "speedscope",
                       "-o", os.path.join(d, "p.speedscope.json"), "--"] + work,
            "flamekit": [sys.executable, "-m", "flamekit", "record", "--no-progress", "--backend", "py-spy",
                         "--rate", str(a.rate), "-o", os.path.join(d, "p.json"), "--"] + work,
        }
        res: dict[str, list[tuple[float, float]]] = {k: [] for k in ways}
        _run(work, env)  # warm caches
        for i in range(a.runs):
            for k, cmd in ways.items():
                res[k].append(_run(cmd, env))
            print(f"run {i + 1}/{a.runs}: " + ", ".join(
                f"{k} {res[k][-1][1]:.3f} s/pass ({res[k][-1][0]:.2f} s wall)" for k in ways), flush=True)
    med = {k: (statistics.median(w for w, _ in v), statistics.median(p for _, p in v)) for k, v in res.items()}
    print(f"\nworkload: backtest_loop.py --bars {a.bars} --passes {a.passes}; rate {a.rate} Hz; "
          f"{a.runs} interleaved runs each; medians")
    print(f"{'way':10} {'s/pass':>9} {'wall s':>9} {'pass / bare':>12} {'wall / bare':>12}")
    for k, (wall, per) in med.items():
        print(f"{k:10} {per:9.3f} {wall:9.2f} {per / med['bare'][1]:12.3f} {wall / med['bare'][0]:12.3f}")
    fp, sp = med["flamekit"], med["py-spy"]
    print(f"\nflamekit vs bare py-spy: workload time x{fp[1] / sp[1]:.3f} "
          f"({(fp[1] / sp[1] - 1) * 100:+.1f}%), whole command x{fp[0] / sp[0]:.3f} "
          f"({fp[0] - sp[0]:+.2f} s: flamekit start-up, metadata, load and write)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
