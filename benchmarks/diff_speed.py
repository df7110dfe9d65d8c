#!/usr/bin/env python3
"""Benchmark ``flamekit diff`` on big folded pairs: time to JSON and to HTML, and hotspots found.

    python benchmarks/diff_speed.py [--corpus DIR] [--sizes 100k,1m] [--make-1m]

For each size N it diffs ``folded-N.txt`` (BEFORE) against ``diff-N.b.txt``
(AFTER, with injected hotspots; ground truth in ``diff-N.truth.json``) from
``benchmarks/gen_corpus.py`` (default folder ``~/.cache/flamekit-corpus``; a
missing pair is skipped with a note). Prints load, diff, JSON and HTML
times, peak RSS, and whether every injected hotspot leaf is reported as a
significant regression. The reference figure (issue 5): FlameGraph's
``difffolded.pl | flamegraph.pl`` takes 20.7 s and 1.2 GB on the 100k pair;
the target is <= 2 s for that pair. A baseline measured in the same run is the
time to merely load both files as profiles one after the other. The pipeline
timed is the CLI's: both sides loaded and prepared in two forked processes when
big (``flamekit.analysis.diff.prepare_sides``), diff, JSON, HTML; then
``python -m flamekit diff`` end to end (start-up, imports, writing the HTML and
JSON side by side), ``--repeat`` times, with its peak RSS; flamekit's bytecode is
compiled first, as a ``pip install`` leaves it.

``gen_corpus.py`` makes no ``diff-1m`` pair; ``--make-1m`` writes
``diff-1m.b.txt`` + ``diff-1m.truth.json`` next to ``folded-1m.txt`` with the
same injection (``gen_corpus.write_diff``: several GB of RAM, minutes).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flamekit import formats  # noqa: E402
from flamekit.analysis.diff import diff  # noqa: E402
from flamekit.analysis.diff import prepare_sides  # noqa: E402
from flamekit.render import diff_json  # noqa: E402
from flamekit.render.diff_html import render_diff_html  # noqa: E402

REFERENCE_100K_S = 20.7
_FRAME = re.compile(r"^(.*) \((.*):(\d+)\)$")


def peak_rss_mb() -> float:
    """Return this process's peak RSS in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def find_pair(corpus: Path, label: str) -> tuple[Path, Path, Path] | None:
    """Return (before, after, truth) paths for a size label, searching the corpus and subfolders."""
    for d in [corpus] + sorted(p for p in corpus.iterdir() if p.is_dir()):
        a, b, t = d / f"folded-{label}.txt", d / f"diff-{label}.b.txt", d / f"diff-{label}.truth.json"
        if a.exists() and b.exists() and t.exists():
            return a, b, t
    return None


def leaf_key(stack: str) -> tuple[str, str]:
    """Return (name, file) of a folded stack's leaf frame."""
    leaf = stack.rsplit(";", 1)[-1]
    m = _FRAME.match(leaf)
    return (m.group(1), m.group(2)) if m else (leaf, "")


def cli_runs(a: Path, b: Path, repeat: int) -> tuple[list[float], float, bool, str]:
    """Time ``python -m flamekit diff A B -o x.html --json x.json`` ``repeat`` times.

    Returns (wall seconds per run, peak RSS in MB of the command and its forked
    children, all runs ok, the last error text).
    """
    times: list[float] = []
    ok, err = True, ""
    with tempfile.TemporaryDirectory() as d:
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "flamekit", "diff", str(a), str(b), "-o",
                                str(Path(d, "cli.html")), "--json", str(Path(d, "cli.json")),
                                "-q"], cwd=str(Path(__file__).resolve().parents[1]),
                               capture_output=True, text=True, timeout=3600)
            times.append(time.perf_counter() - t0)
            if r.returncode not in (0, 3) or not Path(d, "cli.html").exists():
                ok, err = False, r.stderr[-300:]
    # the command waits for its children, so their peak RSS reaches us through it
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return times, rss, ok, err


def bench(label: str, a: Path, b: Path, truth_path: Path, repeat: int) -> None:
    """Time one pair and print the figures."""
    truth = json.loads(truth_path.read_text())
    t0 = time.perf_counter()
    formats.load(a, "folded")
    formats.load(b, "folded")
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    ra, _, rb, _ = prepare_sides([str(a)], [str(b)], "folded")
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = diff(ra, rb, base_sources=[str(a)], head_sources=[str(b)])
    t_diff = time.perf_counter() - t1
    t2 = time.perf_counter()
    text = diff_json.dumps(res)
    t_json = time.perf_counter() - t2
    t3 = time.perf_counter()
    html = render_diff_html(res, title=f"diff {label}")
    t_html = time.perf_counter() - t3
    rss_here = peak_rss_mb()
    cli, cli_rss, cli_ok, cli_err = cli_runs(a, b, repeat)
    t_cli = statistics.median(cli)
    injected = {leaf_key(s["stack"]): s["share_of_a_total"] if "share_of_a_total" in s else None
                for s in truth["injected_new_stacks"]}
    regs = res.regressions()
    found = {(n, f) for n, f in zip(regs["name"], regs["file"])}
    hit = [k for k in injected if k in found]
    top = list(zip(regs["name"], regs["file"]))[:len(injected)]
    total = t_load + t_diff + t_json + t_html
    print(f"\n== {label}: {a.name} ({a.stat().st_size / 1e6:.0f} MB) vs {b.name} "
          f"({b.stat().st_size / 1e6:.0f} MB); keyed call trees {ra[0].prefix.size:,} + "
          f"{rb[0].prefix.size:,} rows")
    print(f"  baseline: load both profiles one after the other {t_seq:7.2f} s")
    print(f"  load + prepare both {t_load:7.2f} s   (two forked processes; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"  diff        {t_diff:7.2f} s   ({len(res.table):,} functions, method {res.method}, "
          f"dispersion {res.dispersion:.1f})")
    print(f"  JSON        {t_json:7.2f} s   ({len(text) / 1e6:.1f} MB)")
    print(f"  HTML        {t_html:7.2f} s   ({len(html) / 1e6:.1f} MB)")
    print(f"  in process  {total:7.2f} s   = {total / max(t_seq, 1e-9):.2f}x the baseline; "
          f"peak RSS {rss_here:,.0f} MB (this process)")
    print(f"  CLI end to end, python -m flamekit diff A B -o x.html --json x.json, {repeat} runs: "
          f"median {t_cli:.2f} s (runs {', '.join(f'{t:.2f}' for t in cli)}; the HTML and JSON "
          f"written side by side); peak RSS {cli_rss:,.0f} MB (its largest process)"
          f"{'' if cli_ok else '  (FAILED: ' + cli_err + ')'}")
    if label == "100k":
        print(f"  vs difffolded.pl | flamegraph.pl {REFERENCE_100K_S} s: CLI "
              f"{REFERENCE_100K_S / t_cli:.1f}x faster (target <= 2 s: "
              f"{'met' if t_cli <= 2.0 else 'NOT met'})")
    print(f"  injected hotspots found as significant regressions: {len(hit)}/{len(injected)}"
          f"; top {len(top)} regressions are injected: "
          f"{sum(1 for k in top if k in injected)}/{len(top)}")
    for k in injected:
        r = res.table[(res.table["name"] == k[0]) & (res.table["file"] == k[1])]
        if len(r):
            r = r.iloc[0]
            print(f"    {k[0]:24} {r['status']:9} {r['base_self']:6.2f}% -> {r['head_self']:6.2f}% "
                  f"q={r['q_value']:.1e} {'FOUND' if k in found else 'missed'}")


def make_1m(corpus: Path) -> None:
    """Write the 'after' side of the 1M pair with gen_corpus's injection (same seeds)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import gen_corpus  # noqa: E402  (a sibling script)

    man = json.loads((corpus / "MANIFEST.json").read_text()) if (corpus / "MANIFEST.json").exists() \
        else {}
    n = gen_corpus.SIZES["1m"]
    seed = int(man.get("files", {}).get("folded-1m.txt", {}).get("seed", 20240601 + n))
    t0 = time.perf_counter()
    info = gen_corpus.write_diff("folded-1m.txt", str(corpus / "diff-1m.b.txt"),
                                 str(corpus / "diff-1m.truth.json"), n, seed)
    print(f"made diff-1m.b.txt ({info['unique_stacks']:,} stacks) in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each requested size."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=os.path.expanduser("~/.cache/flamekit-corpus"))
    ap.add_argument("--sizes", default="100k,1m")
    ap.add_argument("--repeat", type=int, default=5, help="CLI runs per pair (median printed)")
    ap.add_argument("--make-1m", action="store_true",
                    help="first write diff-1m.b.txt + truth next to folded-1m.txt (gen_corpus's "
                         "injection; GBs of RAM, minutes)")
    a = ap.parse_args(argv)
    corpus = Path(a.corpus)
    # An installed flamekit has its bytecode compiled (pip does it at install time); a
    # checkout run with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module
    # on each CLI start (about 0.1 s). Compile once, as an install would.
    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    str(Path(__file__).resolve().parents[1] / "flamekit")], check=False,
                   capture_output=True)
    if a.make_1m:
        make_1m(corpus)
    for label in a.sizes.split(","):
        pair = find_pair(corpus, label) if corpus.is_dir() else None
        if pair is None:
            print(f"\n== {label}: no folded-{label}.txt + diff-{label}.b.txt + truth in {corpus} "
                  f"(make them with: python benchmarks/gen_corpus.py --only folded-{label},diff-{label})")
            continue
        bench(label, *pair, repeat=a.repeat if label != "1m" else min(a.repeat, 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
