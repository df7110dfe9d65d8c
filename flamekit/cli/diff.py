"""``flamekit diff`` (pipeline stage: cli): compare BASE and HEAD profiles, gate CI on regressions."""
from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from typing import Sequence

from ..errors import UsageError

_CTRL = re.compile("[\x00-\x1f\x7f-\x9f]")  # no terminal escapes from function names

NAME = "diff"
HELP = "compare profiles: new hotspots, with statistics, a differential flame graph and CI output"
DESCRIPTION = """\
flamekit diff - find what got slower between BASE and HEAD profiles.

Functions are matched by (name, file), so code that only moved lines is not new
(--by line / --by file to change that); names with addresses, generated lambda
ids or temp paths are normalized first (--no-normalize-names). Each function's
self and total time is compared as a share of its run's total (--absolute: per
second). One run per side: a binomial test with an over-dispersion correction;
two or more runs per side (recommended in CI): Welch's t on per-run shares.
Benjamini-Hochberg over all functions. A regression is significant at --alpha
(default 0.01) AND at least --min-delta percentage points (default 1.0).
Exit status 3 when a regression reaches --fail-on-regression PP.

USAGE: flamekit diff BASE HEAD [options]
       flamekit diff --base A1 A2 A3 --head B1 B2 B3 [options]
Each BASE/HEAD may be a file, a glob ('runs/base-*.json') or a directory (all
its files). Any format flamekit reads.
"""
EPILOG = """\
examples:
  flamekit diff base.json head.json -o diff.html --markdown comment.md
  flamekit diff --base 'base/*.json' --head 'head/*.json' --json diff.json --fail-on-regression 2
  flamekit diff base/ head/ --by line --sample-type alloc_space
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    p.epilog = EPILOG
    p.add_argument("pair", nargs="*", metavar="BASE HEAD",
                   help="a BASE and a HEAD profile (file, glob or directory each)")
    p.add_argument("--base", nargs="+", metavar="PROFILE", help="BASE profiles (several runs)")
    p.add_argument("--head", nargs="+", metavar="PROFILE", help="HEAD profiles (several runs)")
    p.add_argument("-o", "--output", metavar="diff.html", help="write the differential flame graph")
    p.add_argument("--markdown", metavar="comment.md", help="write the PR comment ('-' = stdout)")
    p.add_argument("--json", metavar="diff.json", help="write the JSON result ('-' = stdout)")
    p.add_argument("--by", choices=("function", "line", "file"), default="function",
                   help="frame identity (default function = (name, file))")
    p.add_argument("--sample-type", metavar="T", help="sample type (default: BASE's first)")
    p.add_argument("--metric", choices=("self", "total"), default="self",
                   help="judge self time (default) or total (inclusive) time")
    p.add_argument("--min-delta", type=float, default=1.0, metavar="PP",
                   help="smallest change that counts, percentage points (default 1.0)")
    p.add_argument("--alpha", type=float, default=0.01, metavar="A",
                   help="false-discovery rate, Benjamini-Hochberg (default 0.01)")
    p.add_argument("--fail-on-regression", type=float, metavar="PP",
                   help="exit 3 when a significant regression is at least PP points")
    p.add_argument("--absolute", action="store_true",
                   help="compare per-second rates instead of shares (needs durations)")
    p.add_argument("--no-normalize-names", dest="normalize", action="store_false",
                   help="match names exactly (no address / lambda id / temp path rules)")
    p.add_argument("--dispersion", type=float, metavar="PHI",
                   help="fix the over-dispersion factor of one-run tests (default: estimated)")
    p.add_argument("--title", metavar="T", help="title of the HTML page and comment")
    p.add_argument("--from", metavar="FORMAT", dest="from_format",
                   help="input format, skipping detection")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def expand_paths(specs: Sequence[str]) -> list[str]:
    """Expand files, globs and directories (their non-hidden files, sorted) into file paths."""
    out: list[str] = []
    for spec in specs:
        spec = os.fspath(spec)
        if os.path.isdir(spec):
            files = sorted(os.path.join(spec, n) for n in os.listdir(spec)
                           if not n.startswith(".") and os.path.isfile(os.path.join(spec, n)))
            if not files:
                raise UsageError(f"{spec}: directory holds no profile files")
            out += files
        elif os.path.exists(spec):
            out.append(spec)
        elif glob.has_magic(spec):
            files = sorted(f for f in glob.glob(spec) if os.path.isfile(f))
            if not files:
                raise UsageError(f"{spec}: no file matches")
            out += files
        else:
            raise UsageError(f"{spec}: no such file or directory")
    return out


def load_side(specs: Sequence[str], fmt: str | None = None) -> tuple[list, list[str]]:
    """Load every profile named by ``specs``; return ``(profiles, paths)``."""
    from .. import formats

    paths = expand_paths(specs)
    return [formats.load(p, fmt) for p in paths], paths


def _sides(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    if args.base or args.head:
        if args.pair or not (args.base and args.head):
            raise UsageError("use either BASE HEAD or both --base ... and --head ...")
        return args.base, args.head
    if len(args.pair) != 2:
        raise UsageError("give a BASE and a HEAD (or --base ... --head ... for several runs)")
    return [args.pair[0]], [args.pair[1]]


def run(args: argparse.Namespace) -> int:
    """Load both sides, diff, write the outputs, and gate on --fail-on-regression."""
    from ..analysis.diff import diff
    from ..render import diff_json, markdown

    bspec, hspec = _sides(args)
    base, bpaths = load_side(bspec, args.from_format)
    head, hpaths = load_side(hspec, args.from_format)
    res = diff(base, head, by=args.by, sample_type=args.sample_type, metric=args.metric,
               alpha=args.alpha, min_delta=args.min_delta, absolute=args.absolute,
               normalize=args.normalize, dispersion=args.dispersion,
               fail_on_regression=args.fail_on_regression, base_sources=bpaths,
               head_sources=hpaths)
    title = args.title or "flamekit diff"
    if args.output:
        from ..render.diff_html import write_diff_html

        write_diff_html(res, args.output, title=title)
    if args.markdown:
        markdown.write(res, args.markdown, title=title)
    if args.json:
        diff_json.write(res, args.json)
    if not args.quiet and "-" not in (args.markdown, args.json):
        _print_summary(res)
    res.check_threshold()
    return 0


def _print_summary(res) -> None:
    """Print the verdict and the top changes as plain text."""
    m = res.options.metric
    out = sys.stdout
    print(f"flamekit diff: {res.verdict} ({res.base.n_runs} base run(s), {res.head.n_runs} head "
          f"run(s), {res.method}, by {res.options.by}, {m} time)", file=out)
    rows = res.table[(res.table["regression"]) | (res.table["improvement"])]
    if not len(rows):
        rows = res.table.head(5)
    for _, r in rows.head(15).iterrows():
        name = _CTRL.sub("\ufffd", str(r["name"]).replace("\n", "⏎"))[:80]
        loc = _CTRL.sub("\ufffd", str(r["file"]))[-60:]
        print(f"  {r['status']:9} {r['delta_' + m]:+7.2f} pp  {r['base_' + m]:6.2f}% -> "
              f"{r['head_' + m]:6.2f}%  q={r['q_value']:.2g}  {name}  {loc}", file=out)
