"""Start-up cost of flamekit commands on a small input, before vs after (issue 15).

Times whole processes (``python -m flamekit ...``) of ``--version``, ``info``,
``top`` and ``report`` on the 1k-stack folded file from ``gen_corpus.py``,
for two trees: BEFORE, a git worktree of ``--before`` (default: the merge-base
of HEAD and main) made in a temporary folder, and AFTER, this checkout. Runs
alternate (B A B A ...) so both see the same machine load; the table gives
medians and the before/after ratio, and the load average is printed before
and after, since the machine is shared.

    nice python benchmarks/startup.py --runs 5
    python benchmarks/startup.py --before v0.1 --input my-small.folded
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from before_tree import build_extension

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("FLAMEKIT_CORPUS", Path.home() / ".cache" / "flamekit-corpus"))


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def _time(tree: Path, argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``python -m flamekit ARGV`` run with ``tree`` first on the path.

    CPU is user + system time of the child: on a loaded machine it moves far
    less than wall time, which then mostly measures waiting for a core.
    """
    env = dict(os.environ, PYTHONPATH=str(tree))
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "flamekit", *argv], env=env, cwd=str(tree),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if r.returncode != 0:
        raise SystemExit(f"startup.py: {tree}: flamekit {' '.join(argv)} failed: "
                         f"{r.stderr.decode(errors='replace')[-400:]}")
    return dt, cpu


def main() -> int:
    """Time each command N times per tree, alternating, and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", help="git ref of the BEFORE tree (default: merge-base of HEAD and main)")
    ap.add_argument("--input", type=Path, default=CORPUS / "folded-1k.txt",
                    help="small profile (default: the corpus's folded-1k.txt; make it with gen_corpus.py --only folded-1k)")
    ap.add_argument("--runs", type=int, default=5, help="runs per command and tree (default 5)")
    args = ap.parse_args()
    if not args.input.is_file():
        raise SystemExit(f"startup.py: {args.input}: missing; run benchmarks/gen_corpus.py --only folded-1k")
    ref = args.before or _git("merge-base", "HEAD", "main")
    sha = _git("rev-parse", "--short", ref)
    print(f"before: {ref} ({sha})   after: {ROOT} (HEAD {_git('rev-parse', '--short', 'HEAD')}, "
          f"working tree)   input: {args.input} ({args.input.stat().st_size / 1e6:.1f} MB)")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} CPUs)   runs: {args.runs} per command and tree, alternating")
    with tempfile.TemporaryDirectory(prefix="flamekit-startup-") as tmp:
        before = Path(tmp) / "before"
        _git("worktree", "add", "--detach", str(before), ref)
        print(f"before: {build_extension(before)} tokenizer")
        try:
            out = Path(tmp) / "out.html"
            inp = str(args.input)
            cases = [("--version", ["--version"]), ("info", ["info", inp]),
                     ("top", ["top", inp, "-n", "20"]), ("report", ["report", inp, "-o", str(out)])]
            print(f"\n{'command':<10} {'before s':>9} {'after s':>9} {'ratio':>7}"
                  f"   {'before CPU s':>12} {'after CPU s':>11} {'ratio':>7}")
            for label, argv in cases:
                _time(before, argv), _time(ROOT, argv)  # warm the page cache (OS) and .pyc files
                tb, ta = [], []
                for _ in range(args.runs):
                    tb.append(_time(before, argv))
                    ta.append(_time(ROOT, argv))
                mb, ma = (statistics.median(t[0] for t in x) for x in (tb, ta))
                cb, ca = (statistics.median(t[1] for t in x) for x in (tb, ta))
                print(f"{label:<10} {mb:9.3f} {ma:9.3f} {mb / ma:6.2f}x   {cb:12.3f} {ca:11.3f} "
                      f"{cb / ca:6.2f}x", flush=True)
        finally:
            _git("worktree", "remove", "--force", str(before))
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
