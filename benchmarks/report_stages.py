"""CPU seconds of ``flamekit report``'s stages after loading, before vs after (issue 15).

For one folded corpus file (default ``folded-1m.txt`` from gen_corpus.py) each
run is a fresh process that loads the profile (timed apart: the importer is
another benchmark's subject), then times ``report_data`` (hotspots, source
lines, grouping) and ``write_report`` (pruning, payload, rendering) in CPU
seconds, and reports the process's peak RSS (``VmHWM``) and its RSS once
loaded. With ``--before REF`` the tree of a git ref (extracted to a temporary
folder) runs too, alternating with this checkout (B A B A ...), with this
checkout's templates for both, so the two HTML files must be byte-identical
(said in the last line). The load average is printed: on a shared 2-core
machine compare the CPU seconds and the ratio of one run.

    nice python benchmarks/report_stages.py --corpus DIR --size 1m --before 9e78e6f
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from before_tree import build_extension

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, sys, time
def status(key):
    return next(int(ln.split()[1]) for ln in open('/proc/self/status') if ln.startswith(key)) / 1024
from flamekit import formats
from flamekit.analysis.report import report_data
from flamekit.render.html import write_report
t0 = time.process_time()
p = formats.load(sys.argv[1])
try:
    from flamekit.cli.report import release_memory
    release_memory()
except ImportError:
    pass
t1 = time.process_time()
loaded = status('VmRSS:')
data = report_data(p)
t2 = time.process_time()
write_report(data, sys.argv[2])
t3 = time.process_time()
print(json.dumps({"load": t1 - t0, "report_data": t2 - t1, "write_report": t3 - t2,
                  "post_load": t3 - t1, "loaded_mb": loaded, "peak_mb": status('VmHWM:')}))
"""


def run(tree: Path, src: Path, out: Path) -> dict:
    """Run one measured child with ``tree`` first on the path (it is also the child's cwd)."""
    r = subprocess.run([sys.executable, "-c", CHILD, str(src), str(out)], capture_output=True,
                       text=True, cwd=str(tree), env={**os.environ, "PYTHONPATH": str(tree)},
                       timeout=3600)
    if r.returncode != 0:
        raise SystemExit(f"report stages failed in {tree}:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path,
                    default=Path(os.environ.get("FLAMEKIT_CORPUS", Path.home() / ".cache" / "flamekit-corpus")))
    ap.add_argument("--size", default="1m", help="corpus size: 1k, 100k or 1m (default 1m)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--before", metavar="REF", help="also run the tree of this git ref")
    args = ap.parse_args()
    src = args.corpus / f"folded-{args.size}.txt"
    if not src.is_file():
        raise SystemExit(f"{src}: missing (python benchmarks/gen_corpus.py --only folded-{args.size})")
    tmp = Path(tempfile.mkdtemp(prefix="flamekit-stages-"))
    trees = {"after": ROOT}
    if args.before:
        before = tmp / "before"
        before.mkdir()
        arch = subprocess.run(["git", "-C", str(ROOT), "archive", args.before], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(before)], input=arch.stdout, check=True)
        print(f"before: {args.before}, {build_extension(before)} tokenizer")
        shutil.rmtree(before / "templates")
        shutil.copytree(ROOT / "templates", before / "templates")  # the page's code: the same
        trees = {"before": before, "after": ROOT}
    print(f"load average at start: {os.getloadavg()}")
    best: dict[str, dict] = {}
    for _ in range(args.repeat):
        for name, tree in trees.items():
            r = run(tree, src, tmp / f"{name}.html")
            print(f"{name:6s} load {r['load']:6.2f} s  report_data {r['report_data']:6.2f} s  "
                  f"write_report {r['write_report']:5.2f} s  post-load {r['post_load']:6.2f} s CPU; "
                  f"RSS loaded {r['loaded_mb']:5.0f} MB, peak {r['peak_mb']:5.0f} MB", flush=True)
            if name not in best or r["post_load"] < best[name]["post_load"]:
                best[name] = r
    print(f"load average at end: {os.getloadavg()}")
    if "before" in best:
        b, a = best["before"], best["after"]
        same = (tmp / "before.html").read_bytes() == (tmp / "after.html").read_bytes()
        print(f"post-load CPU (best of {args.repeat}): before {b['post_load']:.2f} s, after {a['post_load']:.2f} s, "
              f"{b['post_load'] / a['post_load']:.2f}x; peak RSS {b['peak_mb']:.0f} -> {a['peak_mb']:.0f} MB; "
              f"HTML byte-identical: {same}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
