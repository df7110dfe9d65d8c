"""Benchmark: what ``flamekit record`` costs over the bare profiler (py-spy or memray).

``--backend py-spy`` (default) runs a CPU-bound sample workload
(``sample_workloads/backtest_loop.py``, fixed work: ``--passes``) three ways,
interleaved so machine noise hits all alike:

* bare:      ``python backtest_loop.py ...``
* py-spy:    ``py-spy record -r RATE -f speedscope -o X -- python backtest_loop.py ...``
* flamekit:  ``flamekit record --backend py-spy --rate RATE -o X.json -- python backtest_loop.py ...``

``--backend memray`` runs an allocation-heavy workload
(``sample_workloads/mem_known.py --churn-mib M --block-kib 4``: M * 256 small
``bytearray`` allocations and frees, fixed work) the same three ways, with
``python -m memray run -q -f -o X.bin ...`` (memray's defaults, lz4 included) as the
bare tool and ``flamekit record --backend memray`` beside it.

It prints, per way, the median of the workload's own time (what sampling or
tracking slows down) and of the whole command's wall time (what the user
waits for, including flamekit's start-up, loading and writing), with ratios.
Targets: flamekit within 1% of bare py-spy, within 2% of bare memray, on the
workload's time.

    python benchmarks/record_overhead.py --runs 5 --passes 3 --rate 100
    nice python benchmarks/record_overhead.py --backend memray --runs 5 --churn-mib 2048
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
MEM_WORKLOAD = REPO / "sample_workloads" / "mem_known.py"


#: the workload's own time in its output, per backend
TIMING = {"py-spy": re.compile(r"([\d.]+) s per pass"), "memray": re.compile(r", ([\d.]+) s, peak rss")}


def _run(argv: list[str], env: dict, timing: re.Pattern) -> tuple[float, float]:
    """Run one command; return (wall seconds, the workload's own seconds)."""
    t = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=600,
                       stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(argv)}\n{r.stderr[-2000:]}")
    m = timing.search(r.stdout)
    if not m:
        raise SystemExit(f"no timing line from: {' '.join(argv)}\n{r.stdout}")
    return wall, float(m.group(1))


def _ways(a: argparse.Namespace, d: str) -> tuple[dict[str, list[str]], str]:
    """Return the commands to compare (bare, tool, flamekit) and a description of the workload."""
    fk = [sys.executable, "-m", "flamekit", "record", "--no-progress", "--backend", a.backend]
    if a.backend == "memray":
        args = ["--keep-mib", "32", "--churn-mib", str(a.churn_mib), "--block-kib", "4"]
        work = [sys.executable, str(MEM_WORKLOAD)] + args
        if subprocess.run([sys.executable, "-c", "import memray"], capture_output=True).returncode:
            raise SystemExit(f"memray is not installed: {sys.executable} -m pip install memray")
        return {"bare": work,
                "memray": [sys.executable, "-m", "memray", "run", "-q", "-f", "-o", os.path.join(d, "m.bin"),
                           str(MEM_WORKLOAD)] + args,
                "flamekit": fk + ["-o", os.path.join(d, "m.json"), "--"] + work}, \
            f"mem_known.py {' '.join(args)} ({a.churn_mib * 256} allocations of 4 KiB)"
    pyspy = shutil.which("py-spy")
    if not pyspy:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    work = [sys.executable, str(WORKLOAD), "--bars", str(a.bars), "--passes", str(a.passes)]
    return {"bare": work,
            "py-spy": [pyspy, "record", "-r", str(a.rate), "-f", "speedscope",
                       "-o", os.path.join(d, "p.speedscope.json"), "--"] + work,
            "flamekit": fk + ["--rate", str(a.rate), "-o", os.path.join(d, "p.json"), "--"] + work}, \
        f"backtest_loop.py --bars {a.bars} --passes {a.passes}; rate {a.rate} Hz"


def main(argv: list[str] | None = None) -> int:
    """Run the interleaved benchmark and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("py-spy", "memray"), default="py-spy",
                    help="profiler to compare against (default py-spy)")
    ap.add_argument("--runs", type=int, default=5, help="runs per way (default 5)")
    ap.add_argument("--passes", type=int, default=3, help="py-spy: backtest passes per run (default 3)")
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--rate", type=int, default=100, help="py-spy: sampling rate for both (default 100 Hz)")
    ap.add_argument("--churn-mib", type=int, default=2048,
                    help="memray: MiB allocated and freed in 4 KiB blocks per run (default 2048)")
    a = ap.parse_args(argv)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    timing = TIMING[a.backend]
    with tempfile.TemporaryDirectory(prefix="flamekit-bench-") as d:
        ways, what = _ways(a, d)
        res: dict[str, list[tuple[float, float]]] = {k: [] for k in ways}
        _run(ways["bare"], env, timing)  # warm caches
        for i in range(a.runs):
            for k, cmd in ways.items():
                res[k].append(_run(cmd, env, timing))
            print(f"run {i + 1}/{a.runs}: " + ", ".join(
                f"{k} {res[k][-1][1]:.3f} s ({res[k][-1][0]:.2f} s wall)" for k in ways), flush=True)
    med = {k: (statistics.median(w for w, _ in v), statistics.median(p for _, p in v)) for k, v in res.items()}
    print(f"\nworkload: {what}; {a.runs} interleaved runs each; medians")
    print(f"{'way':10} {'work s':>9} {'wall s':>9} {'work / bare':>12} {'wall / bare':>12}")
    for k, (wall, per) in med.items():
        print(f"{k:10} {per:9.3f} {wall:9.2f} {per / med['bare'][1]:12.3f} {wall / med['bare'][0]:12.3f}")
    fp, sp = med["flamekit"], med[a.backend]
    print(f"\nflamekit vs bare {a.backend}: workload time x{fp[1] / sp[1]:.3f} "
          f"({(fp[1] / sp[1] - 1) * 100:+.1f}%), whole command x{fp[0] / sp[0]:.3f} "
          f"({fp[0] - sp[0]:+.2f} s: flamekit start-up, metadata, load and write)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
