"""Benchmark the report's Time order view on a large timed profile (issue 14: small and fast pages).

Builds a synthetic perf-like profile in memory: ``--samples`` timed samples (default 1M)
over ``--stacks`` distinct stacks (default 100k) in 4 threads over 60 s (a thread's stack
changes between two of its samples with probability ``--churn``), with a second
value column that varies per sample (like perf's periods); each function has ``--lines``
rows at distinct lines (default 3, so the source view has per-line figures and the page
carries the source view's stacks; ``--lines 0``: the profile of before, lines all 0).
Writes two reports in this
run: the profile as it is (with ``report["timeline"]``) and the same profile without
sample times (the same-run baseline: no time order section). Prints for each:

* build: seconds of ``render_report`` + write (in this process), and the HTML size;
* page: time until ``flamekitState.ready`` in headless Chromium (the flame graph drawn),
  the timeline's own build time (``flamekit.timeline.buildMs``: decode the rows, build
  the flame chart's boxes, first drawing), the time of ``setRange`` over the middle
  third of the time (filter the flame graph, hotspots, functions table; redraw the chart),
  of ``reset``, and of the flame graph's own recompute (what a thread or sample-type change
  costs); each both as the call's own time and until the next frame is painted (style,
  layout and paint of what the call changed included); the source view's redraw for the
  range's heaviest function by self, in the range and after reset;

and the ratios timed / untimed.

    python benchmarks/timeline.py [--samples 1000000] [--stacks 100000] [--churn 0.3] [--lines 3] [--repeat 3] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from flamekit.analysis.report import report_data  # noqa: E402
from flamekit.model import Frame, Profile, SampleType, Thread  # noqa: E402
from flamekit.render.html import write_report  # noqa: E402


def synthetic(samples: int, stacks: int, churn: float = 0.3, seed: int = 1, lines: int = 0) -> Profile:
    """Return a timed profile: a random trie of ``stacks`` rows, 4 threads, 60 s of samples.

    ``lines`` > 0: rows ``i`` of one function ``i // lines`` are at lines ``10 + i % lines``
    (the source view then has per-line figures); 0: every frame at line 0, one function a row.
    """
    rng = np.random.default_rng(seed)
    nf = stacks  # one frame per row: no two siblings share a frame
    if lines > 0:
        frames = [Frame(f"mod{i // lines % 97}.func_{i // lines}", f"/src/mod{i // lines % 97}.py",
                        10 + i % lines, "", "python") for i in range(nf)]
    else:
        frames = [Frame(f"mod{i % 97}.func_{i}", f"/src/mod{i % 97}.py", 0, "", "python") for i in range(nf)]
    prefix = np.empty(stacks, dtype=np.int64)
    depth = np.zeros(stacks, dtype=np.int64)
    prefix[:8] = -1
    for i in range(8, stacks):  # a parent among the last rows that are under 40 deep: depths 1..40
        q = i - 1 - int(rng.integers(0, min(i, 64)))
        while depth[q] >= 39:
            q = prefix[q]
        prefix[i], depth[i] = q, depth[q] + 1
    frame = np.arange(stacks)
    t = np.sort(rng.uniform(0.0, 60.0, samples))
    # phases: the hot leaf region moves with time, so ranges differ; a thread keeps its stack
    # from one sample to the next with probability 1 - churn (1.0: a new stack every sample)
    phase = (t / 60.0 * stacks).astype(np.int64)
    fresh = np.clip(phase + rng.integers(-stacks // 10, stacks // 10, samples), 0, stacks - 1)
    thread = rng.integers(0, 4, samples)
    change = rng.random(samples) < churn
    s = np.empty(samples, dtype=np.int64)
    cur = fresh[:4].copy()
    for i in range(samples):  # a plain loop: 1M steps take about a second
        th = thread[i]
        if change[i]:
            cur[th] = fresh[i]
        s[i] = cur[th]
    vals = np.stack([np.ones(samples), rng.integers(900_000, 1_100_000, samples).astype(float)], axis=1)
    p = Profile(frames=frames, stack_prefix=prefix, stack_frame=frame, sample_stack=s,
                sample_thread=thread, sample_time=t, values=vals,
                sample_types=[SampleType("cpu", "samples"), SampleType("cpu", "nanoseconds")],
                threads=[Thread(100 + i, f"worker-{i}") for i in range(4)], meta={"tool": "synthetic"})
    return p.check()


SOURCE_VIEW = """() => {
    const fk = window.flamekit, g = fk.instances.fk, D = g.data, src = fk.reportViews.find(v => v.name === 'source');
    let best = -1;
    for (let i = 0; i < D.n; i++) if (best < 0 || g.view.self[i] > g.view.self[best]) best = i;
    g.sandwichFunc = -1; src.update(g);
    g.selectFunction(D.func[D.frame[best]]);
    const t0 = performance.now(); src.update(g); return performance.now() - t0;
}"""


def page_times(browser, html: Path, timed: bool) -> dict:
    """Open the page; return ready, timeline build and setRange times (ms)."""
    from browser import open_page

    t0 = time.perf_counter()
    page = open_page(browser, html, width=1280, timeout_ms=120_000)
    out = {"ready_s": time.perf_counter() - t0, "draw_ms": page.evaluate("flamekitState.drawMs")}
    # each action: its synchronous time, and the time until the next frame is painted (style,
    # layout and paint included: what a user waits for; rAF runs before the frame, a task
    # queued from it after)
    act = """(code) => new Promise(res => { const a = performance.now(); (0, eval)(code);
        const sync = performance.now() - a;
        requestAnimationFrame(() => setTimeout(() => res([sync, performance.now() - a]), 0)); })"""
    out["recompute_ms"], out["recompute_frame_ms"] = page.evaluate(act, "flamekit.instances.fk.recompute(true)")
    if timed:
        out["timeline_ms"] = page.evaluate("flamekit.timeline.buildMs")
        out["range_ms"], out["range_frame_ms"] = page.evaluate(
            act, "{ const tl = flamekit.timeline, v = tl.view, s = v.t1 - v.t0; tl.setRange(v.t0 + s / 3, v.t0 + 2 * s / 3); }")
        # the source view of the range's heaviest function by self (whole-profile figures
        # before the range filtered it: the same call either way)
        out["source_range_ms"] = page.evaluate(SOURCE_VIEW)
        out["reset_ms"], out["reset_frame_ms"] = page.evaluate(act, "flamekit.timeline.reset()")
        out["source_whole_ms"] = page.evaluate(SOURCE_VIEW)
    page.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--stacks", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--churn", type=float, default=0.3,
                    help="chance a thread's stack changes between its samples (default 0.3; 1: every sample)")
    ap.add_argument("--lines", type=int, default=3,
                    help="lines per function (default 3: the source view has per-line figures; 0: none)")
    ap.add_argument("--keep", type=Path, default=None, help="write the reports here (default: a temp dir)")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    p = synthetic(args.samples, args.stacks, args.churn, lines=args.lines)
    print(f"profile: {p.n_samples:,} samples, {p.n_stacks:,} stacks, {len(p.threads)} threads, churn {args.churn}, "
          f"{args.lines} lines a function "
          f"(built in {time.perf_counter() - t:.1f} s)")
    out = args.keep or Path(tempfile.mkdtemp(prefix="fk-timeline-"))
    out.mkdir(parents=True, exist_ok=True)
    res = {}
    for label, prof in (("timed", p), ("untimed", p.copy(sample_time=None))):
        html = out / f"{label}.html"
        builds = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            write_report(report_data(prof), html)
            builds.append(time.perf_counter() - t)
        res[label] = {"build_s": min(builds), "build_med_s": statistics.median(builds),
                      "bytes": html.stat().st_size, "html": html}
    if not args.no_browser:
        from playwright.sync_api import sync_playwright
        from browser import chromium_browser

        with sync_playwright() as pw:
            b = chromium_browser(pw)
            for label in res:
                runs = [page_times(b, res[label]["html"], label == "timed") for _ in range(args.repeat)]
                for k in runs[0]:
                    res[label][k] = statistics.median(r[k] for r in runs)
            b.close()
    for label, r in res.items():
        line = (f"{label:8s} build {r['build_s']:.2f} s (median {r['build_med_s']:.2f}), "
                f"HTML {r['bytes'] / 1e6:.2f} MB")
        if "ready_s" in r:
            line += f", page ready {r['ready_s']:.2f} s (flame graph drawn in {r['draw_ms']:.0f} ms)"
        if "timeline_ms" in r:
            line += (f", timeline built+drawn {r['timeline_ms']:.0f} ms, setRange {r['range_ms']:.0f} ms "
                     f"(painted {r['range_frame_ms']:.0f}), reset {r['reset_ms']:.0f} ms (painted {r['reset_frame_ms']:.0f}), "
                     f"source view in the range {r['source_range_ms']:.0f} ms, whole {r['source_whole_ms']:.0f} ms")
        if "recompute_ms" in r:
            line += f", flame graph recompute {r['recompute_ms']:.0f} ms (painted {r['recompute_frame_ms']:.0f})"
        print(line)
    a, b_ = res["timed"], res["untimed"]
    print(f"load average (1, 5, 15 min) at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"ratios timed/untimed: build {a['build_s'] / b_['build_s']:.2f}, HTML {a['bytes'] / b_['bytes']:.2f}"
          + (f", page ready {a['ready_s'] / b_['ready_s']:.2f}" if "ready_s" in a else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
