"""Benchmark ``flamekit report`` on the folded corpus (1k / 100k / 1M unique stacks).

For each ``folded-<size>.txt`` in the corpus folder (default ~/.cache/flamekit-corpus,
made by benchmarks/gen_corpus.py or ../shared/bench/gen_corpus.py) this prints:

* build: wall time and peak RSS of ``flamekit report FILE -o OUT`` (a fresh
  process: import, load, prune, payload, render, write);
* the HTML size;
* draw: time from navigation start until the flame graph is drawn in headless
  Chromium (``window.flamekitState.ready``), and the page's own drawing time;
* end to end = build + draw, and ratios against the reference figures of
  FlameGraph's flamegraph.pl measured on this machine (issue 4: 0.54 s / 22.9 s /
  267 s; 6-7 MB SVGs; about 4.3 s for Chromium to paint such an SVG). When
  ``flamegraph.pl`` is on PATH it is also run on the 1k input as an in-run baseline.

    python benchmarks/report.py [--corpus DIR] [--sizes 1k,100k,1m] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
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
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    from browser import chromium_browser
    from playwright.sync_api import sync_playwright

    outdir = Path(args.keep or tempfile.mkdtemp(prefix="flamekit-bench-"))
    outdir.mkdir(parents=True, exist_ok=True)
    rows = []
    with sync_playwright() as pw:
        browser = chromium_browser(pw)
        for size in args.sizes.split(","):
            src = Path(args.corpus) / f"folded-{size}.txt"
            if not src.exists():
                print(f"{size}: {src} missing (run benchmarks/gen_corpus.py)", file=sys.stderr)
                continue
            out = outdir / f"report-{size}.html"
            secs, rss = build(src, out)
            nav_ms, draw_ms = draw_times(browser, out)
            base = flamegraph_pl(src, outdir / f"flamegraph-{size}.svg") if size == "1k" else None
            rows.append((size, src.stat().st_size, secs, rss, out.stat().st_size, nav_ms, draw_ms, base))
        browser.close()
    print(f"{'input':>6} {'in MB':>7} {'build s':>8} {'peak RSS MB':>11} {'HTML MB':>8} "
          f"{'load+draw ms':>12} {'draw ms':>8} {'e2e s':>6} {'vs flamegraph.pl':>16} {'target':>7}")
    for size, inb, secs, rss, outb, nav, drw, base in rows:
        e2e = secs + nav / 1000
        ref = base if base else REFERENCE.get(size)
        ratio = f"{ref / e2e:.1f}x faster" if ref else "-"
        tgt = TARGET.get(size)
        ok = "-" if tgt is None else ("ok" if e2e <= tgt else "MISSED")
        print(f"{size:>6} {inb / 1e6:7.1f} {secs:8.2f} {rss:11.0f} {outb / 1e6:8.2f} {nav:12.0f} "
              f"{drw:8.0f} {e2e:6.2f} {ratio:>16} {ok:>7}")
    print(f"reference: flamegraph.pl {REFERENCE} s, SVG about {SVG_BYTES / 1e6:.0f} MB, "
          f"Chromium paints it in about 4.3 s; reports kept in {outdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
