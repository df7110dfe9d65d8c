"""``flamekit diff`` (pipeline stage: cli): compare BASE and HEAD profiles, gate CI on regressions."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..errors import UsageError
from .notices import print_diff_warnings
from .options import DISPERSION, NON_NEGATIVE, PROBABILITY

if TYPE_CHECKING:
    from .. import _forked
    from ..analysis.diff import DiffResult
    from ..model import Profile

NAME = "diff"
HELP = "compare profiles: new hotspots, with statistics, a differential flame graph and CI output"
DESCRIPTION = """\
flamekit diff - find what got slower between BASE and HEAD profiles.

Functions are matched by (name, file), so code that only moved lines is not new
(--by line / --by file to change that); names with addresses, generated lambda
ids or temp paths are normalized first (--no-normalize-names). Each function's
self and total time is compared as a share of its run's total (--absolute: per
second). One run per side: a binomial test with an over-dispersion correction;
two or more runs per side (recommended in CI): Welch's t on per-run shares,
variances moderated toward the sampling model. Functions other than the
most-changed one are judged on their share of the time outside it (dilution is
not change). Benjamini-Hochberg over all functions. A regression is significant at --alpha
(default 0.01) AND at least --min-delta percentage points (default 1.0).
Exit status 3 when a regression reaches --fail-on-regression PP.

Memory profiles (memray: every allocation, exact bytes) are compared exactly, per
function, in bytes as well as shares: by default the high-water mark (peak_space;
--sample-type leaked_space or alloc_space for the others). Exit status 3 when a
function's bytes grew by at least --fail-on-memory-regression MB (MiB) or N% (of
BASE's total).

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
  flamekit diff base.bin head.bin --fail-on-memory-regression 64 --markdown comment.md   # memray
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
    p.add_argument("--min-delta", type=NON_NEGATIVE, default=1.0, metavar="PP",
                   help="smallest change that counts, percentage points (default 1.0)")
    p.add_argument("--alpha", type=PROBABILITY, default=0.01, metavar="A",
                   help="false-discovery rate, Benjamini-Hochberg (default 0.01)")
    p.add_argument("--fail-on-regression", type=NON_NEGATIVE, metavar="PP",
                   help="exit 3 when a significant regression is at least PP points")
    p.add_argument("--fail-on-memory-regression", metavar="MB|N%",
                   help="memory profiles: exit 3 when a function's bytes (default peak_space) grew by "
                        "at least MB MiB, or N%% of BASE's total")
    p.add_argument("--absolute", action="store_true",
                   help="compare per-second rates instead of shares (needs durations)")
    p.add_argument("--no-normalize-names", dest="normalize", action="store_false",
                   help="match names exactly (no address / lambda id / temp path rules)")
    p.add_argument("--dispersion", type=DISPERSION, metavar="PHI",
                   help="fix the over-dispersion factor φ of the one-run test and of the "
                        "several-run test's variance prior (default: estimated)")
    p.add_argument("--hide-libraries", action="store_true",
                   help="fold standard library, site-packages and <frozen> frames into the user "
                        "frames that called them, in both sides (a note counts what was folded)")
    p.add_argument("--show-startup", action="store_true",
                   help="list interpreter start-up frames (importlib bootstrap, site, runpy) "
                        "one by one in the Markdown table instead of one start-up row")
    p.add_argument("--title", metavar="T", help="title of the HTML page and comment")
    p.add_argument("--from", metavar="FORMAT", dest="from_format",
                   help="input format, skipping detection")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print no summary on success (inputs' warnings still go to stderr)")


def _import_renderers() -> None:
    """Import the diff renderers (jinja2, markdown-it): overlapped with parallel loads."""
    from ..render import diff_html, diff_json, markdown  # noqa: F401


def _say_hidden(path: str, profile: "Profile") -> None:
    """Say on stderr how many library frames ``--hide-libraries`` folded in one input."""
    from ..render.libraries import hidden_note
    from ..render.terminal import safe_text

    print(f"flamekit: note: {safe_text(path)}: {hidden_note(profile)}", file=sys.stderr)


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
    bspec, hspec = _sides(args)
    from ..analysis.diff import diff_inputs
    from ..analysis.memory_diff import check_memory_threshold, exact_memory, parse_memory_threshold

    gate = (parse_memory_threshold(args.fail_on_memory_regression)
            if args.fail_on_memory_regression is not None else None)
    res = diff_inputs(bspec, hspec, fmt=args.from_format, by=args.by,
                      sample_type=args.sample_type, metric=args.metric, alpha=args.alpha,
                      min_delta=args.min_delta, absolute=args.absolute,
                      normalize=args.normalize, dispersion=args.dispersion,
                      fail_on_regression=args.fail_on_regression,
                      hide_libraries=args.hide_libraries,
                      on_hidden=_say_hidden if args.hide_libraries else None,
                      while_waiting=_import_renderers)
    print_diff_warnings(res)  # each input's own doubts (skipped lines...), named by side
    if gate is not None or res.base.sample_type.unit == "bytes":
        res = exact_memory(res, gate)  # memray's bytes are exact: compared as they are
    from ..render import diff_json, markdown

    title = args.title or "flamekit diff"
    html_child = _fork_html(res, args.output, title) if args.output and (args.json or
                                                                         args.markdown) else None
    if args.output and html_child is None:
        _write_page(res, args.output, title)
    if args.markdown:
        markdown.write(res, args.markdown, title=title, show_startup=args.show_startup)
    if args.json:
        diff_json.write(res, args.json)
    if html_child is not None:
        _wait_html(html_child, res, args.output, title)
    if not args.quiet and "-" not in (args.markdown, args.json):
        from ..render.terminal import print_diff_summary

        print_diff_summary(res)
    res.check_threshold()
    check_memory_threshold(res, gate)
    return 0


#: Diffs whose runs' keyed call trees have at least this many rows together write the
#: HTML page (which merges them into the union tree) in a forked process while this one
#: writes the JSON and Markdown outputs.
PARALLEL_HTML_MIN_NODES = 200_000


def _fork_html(res: "DiffResult", path: str, title: str) -> "_forked.Child | None":
    """Start writing the HTML page in a forked child when the diff is big; return the child.

    Rendering the flame graph and serializing the JSON of a large diff each take
    a few hundred ms of one CPU; with a second CPU idle after the diff they run
    side by side. Returns None (the caller writes the page itself) for small
    diffs, one CPU, or no ``fork``.
    """
    from .. import _forked

    if res.tree_rows() < PARALLEL_HTML_MIN_NODES or _forked.cpus() < 2:
        return None
    return _forked.start(_write_page, res, path, title)


def _write_page(res: "DiffResult", path: str, title: str) -> bool:
    from ..render.diff_html import write_diff_html

    write_diff_html(res, path, title=title)
    return True


def _wait_html(child: "_forked.Child", res: "DiffResult", path: str, title: str) -> None:
    """Wait for the HTML child; when it failed, write the page here (raising its error)."""
    if child.result() is not True:
        _write_page(res, path, title)

