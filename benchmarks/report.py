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
* draw: time from navigation start until the flame graph is drawn in headless
  Chromium (``window.flamekitState.ready``), and the page's own drawing time;
* end to end = build + draw, and ratios against the reference figures of
  FlameGraph's flamegraph.pl measured on this machine (issue 4: 0.54 s / 22.9 s /
  267 s; 6-7 MB SVGs; about 4.3 s for Chromium to paint such an SVG). When
  ``flamegraph.pl`` is on PATH it is also run on the 1k input as an in-run baseline.

    python benchmarks/report.py [--corpus DIR] [--sizes 1k,100k,1m] [--keep DIR]
                                [--repeat N] [--no-browser]
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

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = {"1k": 0.54, "100k": 22.9, "1m": 267.0}  # flamegraph.pl seconds (issue 4)
TARGET = {"1k": None, "100k": 2.3, "1m": 27.0}
SVG_BYTES = 7_000_000


def build(src: Path, out: Path) -> tuple[float, float]:
    """Run ``flamekit report`` in a fresh process; return (seconds, peak RSS in MB)."""
    code = ("import resource, sys; from flamekit.cli import main; rc = main(sys.argv[1:]); "
            "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, "report", str(src), "-o", str(out)],
                       capture_output=True, text=True, timeout=900,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"flamekit report failed on {src}:\n{r.stderr}")
    rss_kb = next(int(ln.split()[1]) for ln in r.stdout.splitlines() if ln.startswith("MAXRSS"))
    return dt, rss_kb / 1024


def line_loop(src: Path) -> float:
    """Time Python's bare ``for line in open(f, 'rb'): pass`` in a fresh process (seconds)."""
    code = ("import sys, time\nt = time.perf_counter()\nfor line in open(sys.argv[1], 'rb'): pass\n"
            "print(time.perf_counter() - t)")
    r = subprocess.run([sys.executable, "-c", code, str(src)], capture_output=True, text=True,
                       timeout=900, check=True)
    return float(r.stdout.split()[0])


def draw_times(browser, html: Path) -> tuple[float, float]:
    """Return (ms from navigation start to drawn, ms the page spent drawing) in Chromium."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    try:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.resolve().as_uri())
        page.wait_for_function("window.flamekitState && window.flamekitState.ready", timeout=120000)
        if errors:
            raise SystemExit(f"page errors: {errors}")
        total = page.evaluate("performance.now()")
        drawn = page.evaluate("window.flamekitState.graph.drawMs")
        return total, drawn
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
    args = ap.parse_args()
    outdir = Path(args.keep or tempfile.mkdtemp(prefix="flamekit-bench-"))
    outdir.mkdir(parents=True, exist_ok=True)
    inputs = []
    for size in args.sizes.split(","):
        src = Path(args.corpus) / f"folded-{size}.txt"
        if not src.exists():
            print(f"{size}: {src} missing (run benchmarks/gen_corpus.py)", file=sys.stderr)
            continue
        inputs.append((size, src))
    rows = []
    for size, src in inputs:
        out = outdir / f"report-{size}.html"
        runs, base = [], []
        for _ in range(max(1, args.repeat)):  # interleaved, so both see the same load
            base.append(line_loop(src))
            runs.append(build(src, out))
        secs = sorted(s for s, _ in runs)
        rss = max(r for _, r in runs)
        fg = flamegraph_pl(src, outdir / f"flamegraph-{size}.svg") if size == "1k" else None
        rows.append([size, src.stat().st_size, secs[0], statistics.median(secs), rss,
                     out.stat().st_size, min(base), None, None, fg])
        print(f"{size}: build {' '.join(f'{s:.2f}' for s, _ in runs)} s; "
              f"line loop {' '.join(f'{b:.2f}' for b in base)} s", file=sys.stderr)
    if not args.no_browser and rows:
        sys.path.insert(0, str(ROOT / "tests" / "integration"))
        from browser import chromium_browser
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = chromium_browser(pw)
            for row in rows:
                draws = [draw_times(browser, outdir / f"report-{row[0]}.html")
                         for _ in range(max(1, args.repeat))]
                row[7] = min(d[0] for d in draws)
                row[8] = min(d[1] for d in draws)
            browser.close()
    print(f"{'input':>6} {'in MB':>7} {'build s':>8} {'median':>7} {'line loop s':>11} "
          f"{'x loop':>6} {'peak RSS MB':>11} {'HTML MB':>8} {'load+draw ms':>12} {'draw ms':>8} "
          f"{'e2e s':>6} {'vs flamegraph.pl':>16} {'build target':>12}")
    for size, inb, best, med, rss, outb, loop, nav, drw, fg in rows:
        e2e = best + (nav or 0) / 1000
        ref = fg if fg else REFERENCE.get(size)
        ratio = f"{ref / e2e:.1f}x faster" if ref else "-"
        tgt = TARGET.get(size)
        ok = "-" if tgt is None else ("ok" if best <= tgt else "MISSED")
        nav_s = f"{nav:12.0f}" if nav is not None else f"{'-':>12}"
        drw_s = f"{drw:8.0f}" if drw is not None else f"{'-':>8}"
        print(f"{size:>6} {inb / 1e6:7.1f} {best:8.2f} {med:7.2f} {loop:11.2f} {best / loop:6.1f} "
              f"{rss:11.0f} {outb / 1e6:8.2f} {nav_s} {drw_s} {e2e:6.2f} {ratio:>16} {ok:>12}")
    print(f"build = best of {args.repeat} fresh `flamekit report` processes; x loop = build / the best "
          f"bare line loop of the same run; e2e = build + load+draw in Chromium.")
    print(f"reference: flamegraph.pl {REFERENCE} s, SVG about {SVG_BYTES / 1e6:.0f} MB, "
          f"Chromium paints it in about 4.3 s; reports kept in {outdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
