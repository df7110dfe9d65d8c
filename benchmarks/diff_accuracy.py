#!/usr/bin/env python3
"""Measure ``flamekit diff``'s false-alarm and detection rates on real py-spy recordings.

    python benchmarks/diff_accuracy.py [-n 10] [--runs 1] [--seconds 1.5] [--rate 200] [--busy N]
                                       [--program sample_workloads/regression_pair.py]

Records N A/A pairs (baseline vs baseline) and N A/B pairs with an injected
regression of 5 % and of 10 % of CPU (``regression_pair.py --inject
--inject-share S``; ``tests/data/programs/ab_job.py --inject S`` also works),
each side made of ``--runs`` recordings (1: the binomial test with the
over-dispersion correction; >= 2: Welch's t with moderated variances).
Prints, at default settings (alpha 0.01, min-delta 1.0 pp):

* false-alarm rate: A/A pairs with any regression (target <= 5 %);
* detection rate: A/B pairs whose regressions include the injected function
  (target >= 95 % at 10 %), and how often it is the TOP regression;
* as a baseline from the same recordings, the same rates with the
  over-dispersion factor fixed at 1 (``dispersion=1``: the plain sampling
  model; the dilution correction of docs/diff.md still applies).

The workload's injected share is exact by construction (a fixed number of
iterations of the baseline's loop body, no clock reads in the loop); what a
200 Hz py-spy recording of 1.5 s measures of it varies (about 2-9 % for 5 %).

Recordings go to a temporary folder (``--keep DIR`` keeps them); the runs of a
pair are recorded back to back, alternating sides, so slow drifts of the
machine hit both sides alike.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flamekit import formats  # noqa: E402
from flamekit.analysis.diff import diff  # noqa: E402

INJECTED = {"regression_pair.py": "slow_risk_check", "ab_job.py": "audit_trail"}


def record(out: Path, program: Path, seconds: float, rate: int, share: float) -> Path:
    """Record one run of ``program`` (share 0 = baseline) with py-spy; return the file."""
    args = [sys.executable, str(program), "--seconds", str(seconds)]
    if share > 0:
        args += (["--inject", "--inject-share", str(share)] if program.name == "regression_pair.py"
                 else ["--inject", str(share)])
    cmd = ["py-spy", "record", "-r", str(rate), "-f", "speedscope", "-o", str(out), "--", *args]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return out


def verdicts(base: list, head: list, injected: str) -> dict[str, tuple[bool, bool, bool]]:
    """Return {method: (any regression, injected found, injected is top)} for two variants."""
    out = {}
    for label, kw in (("flamekit (corrected)", {}), ("dispersion fixed at 1", {"dispersion": 1.0})):
        res = diff(base, head, **kw)
        regs = res.regressions()
        names = list(regs["name"])
        out[label] = (bool(len(regs)), injected in names, bool(names) and names[0] == injected)
    return out


def main(argv: list[str] | None = None) -> int:
    """Record the pairs and print the rates."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10, help="pairs of each kind (default 10)")
    ap.add_argument("--runs", type=int, default=1, help="recordings per side (default 1)")
    ap.add_argument("--seconds", type=float, default=1.5, help="CPU seconds per run (default 1.5)")
    ap.add_argument("--rate", type=int, default=200, help="py-spy rate in Hz (default 200)")
    ap.add_argument("--shares", default="0.05,0.10", help="injected shares (default 0.05,0.10)")
    ap.add_argument("--program", default=str(ROOT / "sample_workloads" / "regression_pair.py"))
    ap.add_argument("--keep", metavar="DIR", help="keep the recordings in DIR")
    ap.add_argument("--busy", type=int, default=0, metavar="N",
                    help="run N CPU-bound processes during the recordings (a busy CI runner)")
    a = ap.parse_args(argv)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(max(0, a.busy))]
    try:
        return _run(a)
    finally:
        for b in burners:  # only the processes started here
            b.kill()
            b.wait()


def _run(a: argparse.Namespace) -> int:
    """Record the pairs and print the rates (``main`` handles --busy)."""
    program = Path(a.program)
    injected = INJECTED.get(program.name, "slow_risk_check")
    shares = [float(s) for s in a.shares.split(",")]
    tmp = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="fk-acc-"))
    tmp.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    kinds = [("A/A", 0.0)] + [(f"A/B {s:.0%}", s) for s in shares]
    tallies: dict[str, dict[str, list[tuple[bool, bool, bool]]]] = {k: {} for k, _ in kinds}
    n_rec = 0
    for i in range(a.n):
        for kind, share in kinds:
            base, head = [], []
            for r in range(a.runs):  # alternate sides
                tag = f"{kind.replace('/', '').replace(' ', '').replace('%', '')}-{i}-{r}"
                base.append(formats.load(record(tmp / f"{tag}-a.json", program, a.seconds,
                                                a.rate, 0.0)))
                head.append(formats.load(record(tmp / f"{tag}-b.json", program, a.seconds,
                                                a.rate, share)))
                n_rec += 2
            for label, v in verdicts(base, head, injected).items():
                tallies[kind].setdefault(label, []).append(v)
        print(f"  pair set {i + 1}/{a.n} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr,
              flush=True)
    el = time.perf_counter() - t0
    print(f"diff_accuracy: {program.name}, {a.n} pairs per kind, {a.runs} run(s) per side, "
          f"{a.seconds} s at {a.rate} Hz, {n_rec} recordings in {el:.0f} s; alpha 0.01, "
          f"min-delta 1.0 pp" + (f"; {a.busy} CPU-bound processes alongside" if a.busy else ""))
    for label in ("flamekit (corrected)", "dispersion fixed at 1"):
        print(f"\n{label}:")
        aa = tallies["A/A"][label]
        fa = sum(v[0] for v in aa)
        print(f"  false alarms (A/A with any regression): {fa}/{len(aa)} = {fa / len(aa):.0%}"
              f"   (target <= 5%)")
        for kind, share in kinds[1:]:
            ab = tallies[kind][label]
            found = sum(v[1] for v in ab)
            top = sum(v[2] for v in ab)
            tgt = "   (target >= 95%)" if abs(share - 0.10) < 1e-9 else ""
            print(f"  detection {kind}: {found}/{len(ab)} = {found / len(ab):.0%} "
                  f"(top regression {top}/{len(ab)}){tgt}")
    if not a.keep:
        for f in tmp.iterdir():
            f.unlink()
        os.rmdir(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
