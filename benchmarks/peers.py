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

With ``--before REF`` a git worktree of REF (e.g. the merge-base with main) is
timed too, in the same alternation (before, after, peer), so one run shows what a
change gained. Where the peer cannot run here, the row also gives the ratio
against the issue's own peer figure, scaled by how this machine ran BEFORE
compared with the issue's flamekit figure: ``issue_peer * (before / issue_flamekit)
/ after`` (marked ``est.``). Times are medians of whole-process wall seconds; CPU
seconds (user + system of the child) are printed beside them, since on a loaded
machine wall time mostly measures waiting for a core.

    nice python benchmarks/peers.py --only report-1k --runs 3
    nice python benchmarks/peers.py --only convert,top-1m --before main --runs 3
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

from before_tree import build_extension

CORPUS = Path(os.environ.get("FLAMEKIT_CORPUS", Path.home() / ".cache" / "flamekit-corpus"))
STAGES = ("convert", "report-1k", "report-100k", "report-1m", "diff-100k", "top-1k", "top-1m")
FK = [sys.executable, "-m", "flamekit"]
ROOT = Path(__file__).resolve().parent.parent
#: The issue's table (issue 15): flamekit s, peer s, goal; measured on this machine under load.
ISSUE = {"convert": (1.35, 6.90, ">= 10x"), "report-1k": (0.42, 0.50, ">= 2x"),
         "report-100k": (2.00, 19.3, ">= 10x"), "report-1m": (21.3, 219.0, "<= 15 s, <= 1.5 GB"),
         "diff-100k": (2.9, 18.5, ">= 10x"), "top-1m": (17.7, 26.5, ">= 2x, less memory than Go")}


def run(cmd: list[str], stdout: Path | None = None, tree: Path | None = None
        ) -> tuple[float, float, float]:
    """Run ``cmd`` (stdout to a file or discarded); return (wall s, peak RSS MB, CPU s) of the child.

    ``tree``: run ``python -m flamekit`` from that checkout (its folder first on the path).
    """
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    env = dict(os.environ, PYTHONPATH=str(tree)) if tree else None
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env,
                             cwd=str(tree) if tree else None)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        err = p.stderr.read() if p.stderr else b""
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout:
            out.close()
    if p.returncode != 0:
        raise SystemExit(f"peers.py: {' '.join(cmd)} failed: {err.decode(errors='replace')[-400:]}")
    return dt, ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime


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


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def _med(ts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """(median wall s, peak RSS MB, median CPU s) of some runs."""
    return (statistics.median(t[0] for t in ts), max(t[1] for t in ts),
            statistics.median(t[2] for t in ts))


def _cell(m: tuple[float, float, float]) -> str:
    return f"{m[0]:.2f} s ({m[2]:.2f} CPU), {m[1]:.0f} MB"


def main() -> int:
    """Run the chosen stages, alternating (before,) flamekit and its peer, and print the ratio table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(STAGES), help=f"comma list of stages ({', '.join(STAGES)})")
    ap.add_argument("--runs", type=int, default=3, help="runs per side (default 3)")
    ap.add_argument("--before", metavar="REF", help="also time a git worktree of REF (e.g. main)")
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
    if fg is None:
        print("FlameGraph peers skipped: FLAMEGRAPH_DIR is not set to a FlameGraph checkout (it cannot "
              "be fetched here); rows without a peer give 'est.', the issue's peer figure scaled by "
              "BEFORE (with --before)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="flamekit-peers-") as tmpd:
        tmp = Path(tmpd)
        before = None
        if args.before:
            before = tmp / "before"
            _git("worktree", "add", "--detach", str(before), args.before)
            print(f"before: {args.before} ({_git('rev-parse', '--short', args.before)}, "
                  f"{build_extension(before)} tokenizer); "
                  f"after: {ROOT} (HEAD {_git('rev-parse', '--short', 'HEAD')}, working tree)")
        try:
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
                    print(f"{name}: peer skipped: {why}")
                fk_t, be_t, pe_t = [], [], []
                for _ in range(args.runs):
                    if before is not None:
                        be_t.append(run(fk, tree=before))
                    fk_t.append(run(fk))
                    if peer is not None:
                        pe_t.append(run(peer[0], peer[1]))
                f = _med(fk_t)
                b = _med(be_t) if be_t else None
                issue = ISSUE.get(name)
                if pe_t:
                    p = _med(pe_t)
                    peer_cell, ratio = _cell(p), f"{p[0] / f[0]:.1f}x (CPU {p[2] / f[2]:.1f}x)"
                elif b is not None and issue:
                    est = issue[1] * b[0] / issue[0]
                    est_cpu = issue[1] * b[2] / issue[0]
                    peer_cell = f"skipped; est. {est:.2f} s (issue {issue[1]} s x before/{issue[0]} s)"
                    ratio = f"est. {est / f[0]:.1f}x (CPU {est_cpu / f[2]:.1f}x)"
                else:
                    peer_cell, ratio = "skipped", "-"
                rows.append((name, f"{label}, {mb:.1f} MB", _cell(f),
                             _cell(b) + f"; after {b[0] / f[0]:.2f}x faster (CPU {b[2] / f[2]:.2f}x)"
                             if b else "-", peer_cell, ratio, issue[2] if issue else "-"))
                print(f"  {name}: done", flush=True)
        finally:
            if before is not None:
                _git("worktree", "remove", "--force", str(before))
    print("\n| stage | input | flamekit | before | peer | ratio (peer / flamekit) | goal |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
