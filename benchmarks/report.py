"""Benchmark ``flamekit report`` on the folded corpus (1k / 100k / 1M unique stacks).

For each ``folded-<size>.txt`` in the corpus folder (default ~/.cache/flamekit-corpus,
made by benchmarks/gen_corpus.py or ../shared/bench/gen_corpus.py) this prints:

* build: wall time and peak RSS of ``flamekit report FILE -o OUT`` (a fresh
  process: import, load, prune, payload, render, write), best and median of
  ``--repeat`` runs;
* baseline: Python's bare ``for line in open(f, 'rb'): pass`` over the same file in
  a fresh process, measured in the same run (the machine is shared and noisy: the
  ratio build / baseline is steadier than the absolute figures);
* the HTML size;
* draw: in headless Chromium at 1280 px, the time from navigation start until the
  flame graph is drawn (``window.flamekitState.ready``), the page script's own time
  from its start to the first drawn graph (``flamekitState.drawMs``: JSON.parse,
  decoding, layout and the first canvas draw, measured with ``performance.now()``),
  and the canvas redraw alone (``graph.drawMs``);
* peak RSS is the child's own ``VmHWM`` (``ru_maxrss`` can carry a forking
  parent's RSS across ``execve``);
* ``--before REF`` also builds each report with the tree of a git ref (extracted
  to a temporary folder), alternating BEFORE and AFTER runs, and says whether the
  two HTML files are byte-identical; the load average is printed with the table.
* end to end = build + draw, and ratios against the reference figures of
  FlameGraph's flamegraph.pl measured on this machine (issue 4: 0.54 s / 22.9 s /
  267 s; 6-7 MB SVGs; about 4.3 s for Chromium to paint such an SVG). When
  ``flamegraph.pl`` is on PATH it is also run on the 1k input as an in-run baseline.

    python benchmarks/report.py [--corpus DIR] [--sizes 1k,100k,1m] [--keep DIR]
                                [--repeat N] [--no-browser] [--before REF]
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

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = {"1k": 0.54, "100k": 22.9, "1m": 267.0}  # flamegraph.pl seconds (issue 4)
TARGET = {"1k": None, "100k": 2.3, "1m": 15.0}  # issue 15: 1M within 15 s and 1.5 GB
SVG_BYTES = 7_000_000


def build(src: Path, out: Path, tree: Path = ROOT) -> tuple[float, float]:
    """Run ``flamekit report`` (of the source tree ``tree``) in a fresh process; return
    (seconds, peak RSS in MB: the child's own VmHWM)."""
    code = ("import sys; from flamekit.cli import main; rc = main(sys.argv[1:]); "
            "print('VMHWM', next(ln.split()[1] for ln in open('/proc/self/status') "
            "if ln.startswith('VmHWM:'))); sys.exit(rc)")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, "report", str(src), "-o", str(out)],
                       capture_output=True, text=True, timeout=1800, cwd=str(tree),
                       env={**os.environ, "PYTHONPATH": str(tree)})
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"flamekit report failed on {src}:\n{r.stderr}")
    rss_kb = next(int(ln.split()[1]) for ln in r.stdout.splitlines() if ln.startswith("VMHWM"))
    return dt, rss_kb / 1024


def extract(ref: str, dest: Path) -> Path:
    """Extract the tree of git ``ref`` into ``dest`` (``git archive``; no worktree is added)."""
    dest.mkdir(parents=True, exist_ok=True)
    arch = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=arch.stdout, check=True)
    print(f"before: {ref}, {build_extension(dest)} tokenizer")
    return dest


def line_loop(src: Path) -> float:
    """Time Python's bare ``for line in open(f, 'rb'): pass`` in a fresh process (seconds)."""
    code = ("import sys, time\nt = time.perf_counter()\nfor line in open(sys.argv[1], 'rb'): pass\n"
            "print(time.perf_counter() - t)")
    r = subprocess.run([sys.executable, "-c", code, str(src)], capture_output=True, text=True,
                       timeout=900, check=True)
    return float(r.stdout.split()[0])


def draw_times(browser, html: Path) -> tuple[float, float, float]:
    """Return, in ms, (navigation start to drawn, the page script's start to its first
    drawn graph, the canvas redraw alone) in Chromium at 1280 px."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.resolve().as_uri())
        page.wait_for_function("window.flamekitState && window.flamekitState.ready", timeout=120000)
        if errors:
            raise SystemExit(f"page errors: {errors}")
        total = page.evaluate("performance.now()")
        first = page.evaluate("window.flamekitState.drawMs")
        drawn = page.evaluate("window.flamekitState.graph.drawMs")
        return total, first, drawn
    finally:
        page.close()


def flamegraph_pl(src: Path, out: Path) -> float | None:
    exe = shutil.which("flamegraph.pl")
    if not exe:
        return None
    t0 = time.perf_counter()
    with open(out, "wb") as f:
        subprocess.run([exe, str(src)], stdout=f, stderr=subprocess.DEVNULL, timeout=900, check=False)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=os.path.expanduser("~/.cache/flamekit-corpus"))
    ap.add_argument("--sizes", default="1k,100k,1m")
    ap.add_argument("--keep", help="keep the HTML reports in this folder")
    ap.add_argument("--repeat", type=int, default=3, help="build runs per input (default 3)")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium drawing time")
    ap.add_argument("--before", metavar="REF",
                    help="also run the tree of this git ref (BEFORE), alternating with this one")
    args = ap.parse_args()
    outdir = Path(args.keep or tempfile.mkdtemp(prefix="flamekit-bench-"))
    outdir.mkdir(parents=True, exist_ok=True)
    sides = [("after", ROOT)]
    if args.before:
        sides.insert(0, ("before", extract(args.before, outdir / "before-tree")))
    load0 = os.getloadavg()
    inputs = []
    for size in args.sizes.split(","):
        src = Path(args.corpus) / f"folded-{size}.txt"
        if not src.exists():
            print(f"{size}: {src} missing (run benchmarks/gen_corpus.py)", file=sys.stderr)
            continue
        inputs.append((size, src))
    rows = []
    for size, src in inputs:
        runs: dict[str, list] = {name: [] for name, _ in sides}
        base = []
        for _ in range(max(1, args.repeat)):  # interleaved, so every side sees the same load
            base.append(line_loop(src))
            for name, tree in sides:
                runs[name].append(build(src, outdir / f"report-{size}-{name}.html", tree))
        fg = flamegraph_pl(src, outdir / f"flamegraph-{size}.svg") if size == "1k" else None
        for name, _ in sides:
            secs = sorted(x for x, _ in runs[name])
            out = outdir / f"report-{size}-{name}.html"
            rows.append([size, name, src.stat().st_size, secs[0], statistics.median(secs),
                         max(r for _, r in runs[name]), out.stat().st_size, min(base),
                         None, None, None, fg])
            print(f"{size} {name}: build {' '.join(f'{x:.2f}' for x, _ in runs[name])} s, peak RSS "
                  f"{' '.join(f'{r:.0f}' for _, r in runs[name])} MB; line loop "
                  f"{' '.join(f'{b:.2f}' for b in base)} s", file=sys.stderr)
        if args.before:
            a, b = (outdir / f"report-{size}-{n}.html" for n in ("before", "after"))
            same = a.read_bytes() == b.read_bytes()
            print(f"{size}: before and after HTML {'byte-identical' if same else 'differ'}",
                  file=sys.stderr)
    if not args.no_browser and rows:
        sys.path.insert(0, str(ROOT / "tests" / "integration"))
        from browser import chromium_browser
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = chromium_browser(pw)
            for row in rows:
                draws = [draw_times(browser, outdir / f"report-{row[0]}-{row[1]}.html")
                         for _ in range(max(1, args.repeat))]
                row[8] = min(d[0] for d in draws)
                row[9] = min(d[1] for d in draws)
                row[10] = min(d[2] for d in draws)
            browser.close()
    load1 = os.getloadavg()
    print(f"{'input':>6} {'side':>6} {'in MB':>7} {'build s':>8} {'median':>7} {'line loop s':>11} "
          f"{'x loop':>6} {'peak RSS MB':>11} {'HTML MB':>8} {'nav+draw ms':>11} {'1st draw ms':>11} "
          f"{'redraw ms':>9} {'e2e s':>6} {'vs flamegraph.pl':>16} {'build target':>12}")
    for size, side, inb, best, med, rss, outb, loop, nav, first, drw, fg in rows:
        e2e = best + (nav or 0) / 1000
        ref = fg if fg else REFERENCE.get(size)
        ratio = f"{ref / e2e:.1f}x faster" if ref else "-"
        tgt = TARGET.get(size)
        ok = "-" if tgt is None else ("ok" if best <= tgt else "MISSED")
        ms = [f"{v:{w}.0f}" if v is not None else f"{'-':>{w}}" for v, w in ((nav, 11), (first, 11), (drw, 9))]
        print(f"{size:>6} {side:>6} {inb / 1e6:7.1f} {best:8.2f} {med:7.2f} {loop:11.2f} {best / loop:6.1f} "
              f"{rss:11.0f} {outb / 1e6:8.2f} {ms[0]} {ms[1]} {ms[2]} {e2e:6.2f} {ratio:>16} {ok:>12}")
    print(f"build = best of {args.repeat} fresh `flamekit report` processes (peak RSS: the largest "
          f"VmHWM); x loop = build / the best bare line loop of the same run; 1st draw = the page "
          f"script's start to its first drawn graph (performance.now); e2e = build + nav+draw.")
    print(f"load average (1, 5, 15 min) at start {', '.join(f'{x:.1f}' for x in load0)}, at end "
          f"{', '.join(f'{x:.1f}' for x in load1)} on {os.cpu_count()} CPUs")
    print(f"reference: flamegraph.pl {REFERENCE} s, SVG about {SVG_BYTES / 1e6:.0f} MB, "
          f"Chromium paints it in about 4.3 s; reports kept in {outdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
