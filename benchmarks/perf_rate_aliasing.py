"""Benchmark: how perf's sampling rate moves a known 70/30 split (the measurement behind perf's 161 Hz).

``sample_workloads/cpu_split.py`` alternates 7 ms and 3 ms of its own CPU time
between ``price_options`` and ``update_risk`` and prints the split it achieved.
``perf record -e cpu-clock`` on a task samples every 1/RATE s of *that task's*
CPU time: the same clock. When 1/RATE nearly divides the 10 ms round (99 Hz,
199 Hz...), each sample lands at almost the same phase of the round for
hundreds of rounds, and the measured split depends on where the first one fell.

For each rate this records the workload ``--runs`` times through
``flamekit record --backend perf`` (CPython 3.13, ``-X perf_jit``, dwarf
unwinding), and prints each run's ``price_options`` share of the two, the
spread, and the share of samples that reached either function (dwarf stacks
cut short would lower it; they did not).

    nice python benchmarks/perf_rate_aliasing.py --rates 99,161,199,211 --runs 5 --seconds 1.5

Figures on this 2-core VM (loaded): 99 Hz 0.64/0.72/0.78, 199 Hz 0.66/0.75/0.96,
97 Hz 0.63-0.77; 161 Hz 0.693-0.702 in 5 of 5, 211 Hz 0.696-0.701, 997 Hz 0.699-0.701.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import flamekit  # noqa: E402
from flamekit.record import RecordOptions, record  # noqa: E402


def _python313() -> str | None:
    for d in sorted((Path.home() / ".pyenv" / "versions").glob("3.13.*")):
        exe = d / "bin" / "python3"
        if exe.exists():
            return str(exe)
    return None


def _share(p: flamekit.Profile) -> tuple[float, float]:
    """Return (price_options / (price_options + update_risk), reached share of all samples)."""
    df = flamekit.functions(p)
    po = float(df[df["name"] == "price_options"]["total"].sum())
    ur = float(df[df["name"] == "update_risk"]["total"].sum())
    grand = float(p.values[:, 0].sum()) or 1.0
    return po / ((po + ur) or 1.0), (po + ur) / grand


def main(argv: list[str] | None = None) -> int:
    """Record cpu_split.py under perf at each rate and print the split per run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="99,161,199,211", help="comma-separated rates in Hz")
    ap.add_argument("--runs", type=int, default=5, help="recordings per rate (default 5)")
    ap.add_argument("--seconds", type=float, default=1.5, help="CPU seconds per run (default 1.5)")
    args = ap.parse_args(argv)
    py = _python313()
    if py is None:
        print("needs CPython 3.13 under ~/.pyenv (perf's Python frames)", file=sys.stderr)
        return 2
    workload = str(ROOT / "sample_workloads" / "cpu_split.py")
    for rate in (int(r) for r in args.rates.split(",")):
        shares, reached = [], []
        for i in range(args.runs):
            rec = record(RecordOptions(backend="perf", rate=rate, progress=False,
                                       command=[py, workload, "--seconds", str(args.seconds)]))
            s, r = _share(rec.profile)
            shares.append(s)
            reached.append(r)
            print(f"  {rate} Hz run {i + 1}: price_options {s:.3f} ({rec.profile.n_samples} samples)",
                  file=sys.stderr, flush=True)
        print(f"{rate:5d} Hz: shares {' '.join(f'{s:.3f}' for s in shares)}; "
              f"spread {max(shares) - min(shares):.3f}; within 0.10 of 0.70: "
              f"{sum(abs(s - 0.70) <= 0.10 for s in shares)}/{len(shares)}; "
              f"reached {statistics.mean(reached):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
