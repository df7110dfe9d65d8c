"""Paired peer run of issue 15: each flamekit stage against its peer, alternating.

Stages (inputs from ``benchmarks/gen_corpus.py``, in ``$FLAMEKIT_CORPUS`` or
``~/.cache/flamekit-corpus``):

=========== ============================== ==========================================
stage       flamekit                       peer
=========== ============================== ==========================================
convert     ``convert perf --to folded``   ``stackcollapse-perf.pl``
report-1k   ``report folded-1k -o x.html`` ``flamegraph.pl folded-1k > x.svg``
report-100k same, folded-100k              same
report-1m   same, folded-1m                same
diff-100k   ``diff -o x.html --json x.json`` ``difffolded.pl a b | flamegraph.pl``
top-1k/1m   ``top folded-1k/1m``            ``go tool pprof -top`` on the same data as pprof
=========== ============================== ==========================================

Runs alternate flamekit and peer (A B A B ...) in this one process, so both see
the same load; each figure is the median of ``--runs`` whole-process wall
times, with the child's peak RSS (``wait4``). A stage whose peer is missing
(``FLAMEGRAPH_DIR`` unset or not a FlameGraph checkout; ``go`` not on PATH) or
whose input is missing is timed for flamekit alone and the reason printed.

    nice python benchmarks/peers.py --only report-1k --runs 3
    FLAMEGRAPH_DIR=~/src/FlameGraph python benchmarks/peers.py
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path(os.environ.get("FLAMEKIT_CORPUS", Path.home() / ".cache" / "flamekit-corpus"))
STAGES = ("convert", "report-1k", "report-100k", "report-1m", "diff-100k", "top-1k", "top-1m")
FK = [sys.executable, "-m", "flamekit"]


def run(cmd: list[str], stdout: Path | None = None) -> tuple[float, float]:
    """Run ``cmd`` (stdout to a file or discarded); return (wall s, peak RSS MB) of the child."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        err = p.stderr.read() if p.stderr else b""
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout:
            out.close()
    if p.returncode != 0:
        raise SystemExit(f"peers.py: {' '.join(cmd)} failed: {err.decode(errors='replace')[-400:]}")
    return dt, ru.ru_maxrss / 1024


def shell(script: str) -> list[str]:
    """A pipeline as one command (its peak RSS is the largest process of the pipeline)."""
    return ["sh", "-c", script]


def stages(tmp: Path, fg: Path | None, go: str | None) -> list[tuple[str, str, Path | list[Path], list, object, str]]:
    """(stage, input label, input(s), flamekit cmd, peer cmd or None, why the peer is missing)."""
    c = CORPUS
    nofg = ("FLAMEGRAPH_DIR is not set to a FlameGraph checkout (it cannot be fetched here: "
            "no GitHub access)")
    pl = (lambda name: str(fg / name)) if fg else None
    html, svg = tmp / "x.html", tmp / "x.svg"
    out = []
    perf = c / "perf-scaled.txt"
    out.append(("convert", "perf script", perf, FK + ["convert", str(perf), "--to", "folded", "-o",
                                                       str(tmp / "x.folded")],
                (["perl", pl("stackcollapse-perf.pl"), str(perf)], tmp / "peer.folded") if fg else None,
                nofg))
    for size in ("1k", "100k", "1m"):
        f = c / f"folded-{size}.txt"
        out.append((f"report-{size}", f"{size} stacks", f, FK + ["report", str(f), "-o", str(html)],
                    (["perl", pl("flamegraph.pl"), str(f)], svg) if fg else None, nofg))
    a, b = c / "folded-100k.txt", c / "diff-100k.b.txt"
    out.append(("diff-100k", "two 100k files", [a, b],
                FK + ["diff", str(a), str(b), "-o", str(html), "--json", str(tmp / "x.json")],
                (shell(f"perl '{pl('difffolded.pl')}' '{a}' '{b}' | perl '{pl('flamegraph.pl')}'"), svg)
                if fg else None, nofg))
    for size, label in (("1k", "1k stacks"), ("1m", "1M stacks")):
        f = c / f"folded-{size}.txt"
        pb = tmp / f"top-{size}.pb.gz"
        out.append((f"top-{size}", label, f, FK + ["top", str(f)],
                    ([go, "tool", "pprof", "-top", str(pb)], None, pb, f) if go else None,
                    "go is not on PATH"))
    return out


def main() -> int:
    """Run the chosen stages, alternating flamekit and its peer, and print the ratio table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(STAGES), help=f"comma list of stages ({', '.join(STAGES)})")
    ap.add_argument("--runs", type=int, default=3, help="runs per side (default 3)")
    args = ap.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in STAGES]
    if bad:
        raise SystemExit(f"peers.py: unknown stage(s) {', '.join(bad)}; known: {', '.join(STAGES)}")
    fg_env = os.environ.get("FLAMEGRAPH_DIR")
    fg = Path(fg_env) if fg_env and (Path(fg_env) / "flamegraph.pl").is_file() else None
    go = shutil.which("go")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs); "
          f"FlameGraph: {fg or 'absent'}; go: {go or 'absent'}; runs: {args.runs} per side, alternating")
    rows = []
    with tempfile.TemporaryDirectory(prefix="flamekit-peers-") as tmpd:
        tmp = Path(tmpd)
        for name, label, inp, fk, peer, why in stages(tmp, fg, go):
            if name not in only:
                continue
            inputs = inp if isinstance(inp, list) else [inp]
            missing = [str(p) for p in inputs if not p.is_file()]
            if missing:
                print(f"skipped {name}: {', '.join(missing)} missing (benchmarks/gen_corpus.py makes it)")
                continue
            mb = sum(p.stat().st_size for p in inputs) / 1e6
            if peer is not None and len(peer) == 4:  # pprof needs the same data as a profile file
                run(FK + ["convert", str(peer[3]), "-o", str(peer[2])])
            if peer is None:
                print(f"{name}: peer skipped: {why}; timing flamekit alone")
            fk_t, pe_t = [], []
            for _ in range(args.runs):
                fk_t.append(run(fk))
                if peer is not None:
                    pe_t.append(run(peer[0], peer[1]))
            f_s, f_m = statistics.median(t for t, _ in fk_t), max(m for _, m in fk_t)
            if pe_t:
                p_s, p_m = statistics.median(t for t, _ in pe_t), max(m for _, m in pe_t)
                rows.append((name, f"{label}, {mb:.1f} MB", f"{f_s:.2f} s, {f_m:.0f} MB",
                             f"{p_s:.2f} s, {p_m:.0f} MB", f"{p_s / f_s:.1f}x"))
            else:
                rows.append((name, f"{label}, {mb:.1f} MB", f"{f_s:.2f} s, {f_m:.0f} MB", "skipped", "-"))
            print(f"  {name}: done", flush=True)
    print("\n| stage | input | flamekit | peer | ratio (peer / flamekit) |\n|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
