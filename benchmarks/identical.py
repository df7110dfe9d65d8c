"""Are the benchmark stages' outputs byte-identical before and after a change? (issue 15)

Runs each case with a BEFORE tree (a git worktree of ``--before``, default the
merge-base of HEAD and main) and with this checkout (AFTER), and compares the
sha256 of what each wrote (the output file, or standard output). Cases: ``convert``
of the perf script to folded stacks (default form, ``--threads``) and to native
JSON, ``top -n 0 --csv`` (self and total ranking) on the folded files and the
perf script, and ``diff folded-N.txt diff-N.b.txt -o x.html --json x.json`` (both
files hashed) where ``gen_corpus.py``'s ``diff-N.b.txt`` pair exists. A case that fails on either side is reported, never hidden.

    nice python benchmarks/identical.py --before 6bf1bd6
    nice python benchmarks/identical.py --only top --inputs folded-1k.txt
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from before_tree import build_extension

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("FLAMEKIT_CORPUS", Path.home() / ".cache" / "flamekit-corpus"))
INPUTS = ("perf-scaled.txt", "folded-1k.txt", "folded-100k.txt")


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def _digest(tree: Path, argv: list[str], out: Path | tuple[Path, ...] | None) -> str:
    """sha256 (16 hex digits) of what ``python -m flamekit ARGV`` wrote, run from ``tree``
    (several output files: their contents, each with its length, one after the other)."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    r = subprocess.run([sys.executable, "-m", "flamekit", *argv], env=env, cwd=str(tree),
                       capture_output=True)
    if r.returncode != 0:
        return f"failed ({r.returncode}): {r.stderr.decode(errors='replace').strip()[-120:]}"
    if isinstance(out, tuple):
        data = b"".join(b"%d:" % len(d) + d for d in (f.read_bytes() for f in out))
    else:
        data = out.read_bytes() if out is not None else r.stdout
    return hashlib.sha256(data).hexdigest()[:16]


def cases(inp: Path, tmp: Path) -> list[tuple[str, list[str], Path | tuple[Path, ...] | None]]:
    """(label, argv, output file or None for standard output) for one input."""
    out = []
    if inp.name.startswith("perf"):
        for extra in ([], ["--threads"]):
            f = tmp / "out.folded"
            out.append((f"convert --to folded {' '.join(extra)}".strip(),
                        ["convert", str(inp), "--to", "folded", "-o", str(f), *extra], f))
        j = tmp / "out.json"
        out.append(("convert -o out.json", ["convert", str(inp), "-o", str(j)], j))
    out.append(("top -n 0 --csv", ["top", str(inp), "-n", "0", "--csv"], None))
    out.append(("top --by total -n 0 --csv", ["top", str(inp), "--by", "total", "-n", "0", "--csv"],
                None))
    pair = inp.with_name(inp.name.replace("folded-", "diff-").replace(".txt", ".b.txt"))
    if inp.name.startswith("folded-") and pair.is_file():
        h, j = tmp / "x.html", tmp / "x.json"
        out.append((f"diff {pair.name} -o --json", ["diff", str(inp), str(pair), "-o", str(h),
                                                    "--json", str(j), "-q"], (h, j)))
    return out


def main() -> int:
    """Run every case on both trees and print whether the outputs are the same."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", help="git ref of the BEFORE tree (default: merge-base of HEAD and main)")
    ap.add_argument("--inputs", default=",".join(INPUTS), help=f"corpus files ({', '.join(INPUTS)})")
    ap.add_argument("--only", choices=("convert", "top", "diff"), help="only these cases")
    args = ap.parse_args()
    ref = args.before or _git("merge-base", "HEAD", "main")
    print(f"before: {ref} ({_git('rev-parse', '--short', ref)}); after: {ROOT} (working tree)")
    different = 0
    with tempfile.TemporaryDirectory(prefix="flamekit-identical-") as tmpd:
        tmp = Path(tmpd)
        before = tmp / "before"
        _git("worktree", "add", "--detach", str(before), ref)
        print(f"before: {build_extension(before)} tokenizer")
        try:
            for name in [s.strip() for s in args.inputs.split(",") if s.strip()]:
                inp = CORPUS / name
                if not inp.is_file():
                    print(f"skipped {name}: missing (benchmarks/gen_corpus.py makes it)")
                    continue
                for label, argv, out in cases(inp, tmp):
                    if args.only and not label.startswith(args.only):
                        continue
                    a = _digest(before, argv, out)
                    b = _digest(ROOT, argv, out)
                    same = a == b and not a.startswith("failed")
                    different += not same
                    print(f"{'same     ' if same else 'DIFFERENT'} {name:<18} {label:<28} "
                          f"before {a}  after {b}", flush=True)
        finally:
            _git("worktree", "remove", "--force", str(before))
    print("all identical" if not different else f"{different} case(s) differ or failed")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
