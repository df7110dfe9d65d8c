"""Benchmark the report's call tree, library switch and source view in headless Chromium.

Builds ``flamekit report PROFILE`` with this checkout (default: the corpus file
``~/.cache/flamekit-corpus/folded-100k.txt``, made by benchmarks/gen_corpus.py), opens it
in Chromium (Playwright, ``/usr/bin/chromium``) and times, in the page, each view's
response, median of ``--repeat`` runs, beside the flame graph's own recompute (what a
thread or sample-type change costs, measured in the same run: the machine is shared and
noisy, the ratio is steadier than the milliseconds):

* ``calltree build``: the call tree made again from scratch (heavy paths opened);
* ``calltree expand``: the heaviest closed row opened (its children made);
* ``calltree reveal``: the deepest drawn frame selected in the flame graph: the tree
  opened down to it, its row marked and scrolled to (from a freshly built tree);
* ``source view``: the source view drawn for another function;
* ``library fold``: ``flamekit.foldLibraries`` on the page's payload; when no frame is
  library code (the synthetic corpus names ``venv/lib/...`` files) frames whose file
  holds ``/lib/`` are flagged for the measurement;
* ``library toggle``: the switch's whole response: the folded tree drawn, hotspots,
  function table, call tree and source view updated (then switched back).

    python benchmarks/report_views.py [PROFILE ...] [--repeat N] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("FLAMEKIT_CHROMIUM", "/usr/bin/chromium")

MEASURE = """() => {
  const fk = window.flamekit, g = fk.instances.fk, t = fk.callTree, now = () => performance.now();
  const view = name => fk.reportViews.find(v => v.name === name);
  const out = {};
  let t0 = now(); g.recompute(true); out['flame graph recompute (baseline)'] = now() - t0;
  t.data = null; t0 = now(); t.update(g); out['calltree build'] = now() - t0;
  const closed = [...document.querySelectorAll('#fk-calltree-body .fk-ct-row[aria-expanded=false]')]
    .map(r => +r.getAttribute('data-node')).sort((a, b) => g.view.total[b] - g.view.total[a]);
  t0 = now(); if (closed.length) t.expand(closed[0]); out['calltree expand'] = now() - t0;
  const D = g.data; let deep = -1;
  g.main.rows.forEach(r => { for (let i = 0; i < r.length; i += 3) if (deep < 0 || D.depth[r[i]] > D.depth[deep]) deep = r[i]; });
  t.data = null; t.update(g);
  t0 = now(); t.select(deep, true); out['calltree reveal'] = now() - t0;
  out['reveal depth'] = D.depth[deep];
  const fns = [], seen = {};
  for (let i = 0; i < D.n && fns.length < 2; i++) { const f = D.func[D.frame[i]]; if (!seen[f] && g.view.total[i] > 0) { seen[f] = 1; fns.push(f); } }
  const src = view('source'), cur = g.sandwichFunc;
  g.selectFunction(fns[0] === cur ? fns[1] : fns[0]);
  t0 = now(); src.update(g); out['source view'] = now() - t0;
  g.selectFunction(cur); src.update(g);
  let P = D.p;
  if (!P.frames.library || !P.frames.library.some(x => x)) {
    const S = P.strings;
    P = Object.assign({}, P, {frames: Object.assign({}, P.frames,
      {library: P.frames.file.map(k => S[k].indexOf('/lib/') >= 0 ? 1 : 0)})});
  }
  t0 = now(); const folded = fk.foldLibraries(P); out['library fold'] = now() - t0;
  out['nodes before/after fold'] = D.n + ' / ' + folded.nodes.parent.length;
  t0 = now(); g.setPayload(folded); g.changed(); out['library toggle'] = now() - t0;
  g.setPayload(D.p); g.changed();
  return out;
}"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profiles", nargs="*", metavar="PROFILE")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", metavar="DIR", help="keep the reports here")
    args = ap.parse_args()
    profiles = args.profiles or [os.path.expanduser("~/.cache/flamekit-corpus/folded-100k.txt")]
    from playwright.sync_api import sync_playwright

    out_dir = Path(args.keep or tempfile.mkdtemp(prefix="fk-views-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--headless", "--no-sandbox", "--disable-gpu"])
        for src in profiles:
            if not Path(src).is_file():
                print(f"{src}: missing (run benchmarks/gen_corpus.py)", file=sys.stderr)
                continue
            html = out_dir / (Path(src).name + ".html")
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "flamekit", "report", str(src), "-o", str(html)],
                               capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            if r.returncode:
                print(r.stderr, file=sys.stderr)
                return 1
            print(f"{src}: report built in {time.perf_counter() - t0:.1f} s, {html.stat().st_size / 1e6:.2f} MB")
            runs: dict[str, list] = {}
            for _ in range(args.repeat):
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.goto(html.resolve().as_uri())
                page.wait_for_function("window.flamekitState && window.flamekitState.ready === true",
                                       timeout=120000)
                runs.setdefault("page draw (flamekitState.drawMs)", []).append(page.evaluate("flamekitState.drawMs"))
                for k, v in page.evaluate(MEASURE).items():
                    runs.setdefault(k, []).append(v)
                page.close()
            base = statistics.median(runs["flame graph recompute (baseline)"])
            print(f"  {'step':<36} {'median ms':>10} {'x baseline':>11}   (load average {os.getloadavg()[0]:.1f})")
            for k, vs in runs.items():
                if isinstance(vs[0], str) or k == "reveal depth":
                    print(f"  {k:<36} {vs[0]!s:>10}")
                    continue
                m = statistics.median(vs)
                print(f"  {k:<36} {m:>10.1f} {m / base if base else 0:>11.2f}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
