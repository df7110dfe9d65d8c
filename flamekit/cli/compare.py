"""``flamekit compare`` (pipeline stage: cli): record base and head of a git repository, diff, gate CI."""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .notices import print_diff_warnings
from .options import COUNT, NON_NEGATIVE, NON_NEGATIVE_INT, PROBABILITY

if TYPE_CHECKING:
    from ..compare import CompareResult

NAME = "compare"
HELP = "did my branch make it slower? record base and head in git worktrees, interleaved, and diff"
DESCRIPTION = """\
flamekit compare - record a command on the merge base of BASE and HEAD and on HEAD, and diff.

Checks out the merge base of --base and --head, and --head, into temporary git
worktrees; runs the command in each --runs times, interleaved (base, head,
base, head, ... so machine drift hits both sides alike), records every run
with --backend, and diffs the two sets with the statistics of `flamekit diff`.
Each side runs its own code: its worktree root (and src/) first on PYTHONPATH,
--setup run in each worktree first, then --warmup unrecorded runs a side
(a cold first run is the commonest outlier); a run whose project frames come from
elsewhere (an installed copy shadowing the worktree) stops with the fix.
The worktrees are removed afterwards (also on error and Ctrl-C); your working
tree and index are not touched. --head WORKTREE runs head in your working tree
itself, uncommitted changes included.

usage: flamekit compare --base REF [--head REF|WORKTREE] [--runs N] [--warmup N] [--backend ...]
                        [--setup CMD] [--fail-on-regression PP] [--fail-on-memory-regression MB|N%]
                        [--html d.html] [--markdown d.md] [--json d.json] -- CMD [ARGS...]
"""
EPILOG = """\
examples:
  flamekit compare --base origin/main -- python bench/backtest.py --days 5
  flamekit compare --base main --head WORKTREE --runs 5 --warmup 1 --markdown d.md -- python bench.py
  flamekit compare --base origin/main --setup 'python -m venv .venv && .venv/bin/pip install .' \\
      --fail-on-regression 2 --html d.html --json d.json -- .venv/bin/python bench.py
  flamekit compare --base origin/main --backend memray --fail-on-memory-regression 64 -- python job.py

exit status: 0 no regression past the gate, 3 a regression reached --fail-on-regression
(or a function's memory grew by --fail-on-memory-regression),
1 a setup or run failed (or ran code from outside its worktree), 2 bad usage (e.g. not in
a git repository), 130 interrupted.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    p.add_argument("--base", required=True, metavar="REF", help="base ref; its merge base with HEAD runs")
    p.add_argument("--head", default="HEAD", metavar="REF",
                   help="head ref (default HEAD); WORKTREE = your working tree with its changes")
    p.add_argument("--runs", type=COUNT, default=3, metavar="N", help="runs per side, interleaved (default 3)")
    p.add_argument("--warmup", type=NON_NEGATIVE_INT, default=0, metavar="N",
                   help="unrecorded runs a side before the recorded ones, interleaved (default 0)")
    p.add_argument("--backend", default="py-spy", choices=("py-spy", "scalene", "perf", "memray"),
                   help="profiler (default py-spy; memray: memory, compared exactly in bytes)")
    p.add_argument("--rate", type=COUNT, metavar="HZ", help="samples per second (default: the backend's)")
    p.add_argument("--setup", metavar="CMD", help="shell command run in each worktree before its runs")
    p.add_argument("--fail-on-regression", type=NON_NEGATIVE, metavar="PP",
                   help="exit 3 when a significant regression is at least PP points")
    p.add_argument("--fail-on-memory-regression", metavar="MB|N%",
                   help="memory (--backend memray): exit 3 when a function's bytes (default peak_space) "
                        "grew by at least MB MiB, or N%% of base's total")
    p.add_argument("--html", metavar="d.html", help="write the differential flame graph")
    p.add_argument("--markdown", metavar="d.md", help="write the PR comment ('-' = stdout)")
    p.add_argument("--json", metavar="d.json", help="write the JSON result ('-' = stdout)")
    p.add_argument("--base-name", metavar="NAME", help="name shown for base (default: --base as given)")
    p.add_argument("--head-name", metavar="NAME", help="name shown for head (default: --head as given)")
    p.add_argument("--keep-profiles", metavar="DIR", help="also write every run's profile into DIR")
    p.add_argument("--by", choices=("function", "line", "file"), default="function",
                   help="frame identity (default function = (name, file))")
    p.add_argument("--metric", choices=("self", "total"), default="self", help="judged time (default self)")
    p.add_argument("--min-delta", type=NON_NEGATIVE, default=1.0, metavar="PP",
                   help="smallest change that counts, percentage points (default 1.0)")
    p.add_argument("--alpha", type=PROBABILITY, default=0.01, metavar="A",
                   help="false-discovery rate, Benjamini-Hochberg (default 0.01)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines, no summary")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]", help="command to compare")


def run(args: argparse.Namespace) -> int:
    """Compare, write the outputs, print the summary, and gate on --fail-on-regression."""
    from ..atomic import check_output
    from ..analysis.memory_diff import parse_memory_threshold
    from ..compare import CompareOptions, compare

    cmd = list(args.cmd or [])
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("nothing to run: flamekit compare --base REF -- CMD [ARGS...]")
    for out in (args.html, args.markdown, args.json):
        if out and out != "-":
            check_output(out)
    gate = (parse_memory_threshold(args.fail_on_memory_regression)
            if args.fail_on_memory_regression is not None else None)
    say = None if args.quiet else (lambda line: print(f"flamekit compare: {line}", file=sys.stderr,
                                                      flush=True))
    opts = CompareOptions(base=args.base, head=args.head, command=cmd, runs=args.runs, warmup=args.warmup,
                          backend=args.backend, setup=args.setup, rate=args.rate,
                          keep_profiles=args.keep_profiles, progress=say,
                          base_name=args.base_name, head_name=args.head_name,
                          diff={"by": args.by, "metric": args.metric, "min_delta": args.min_delta,
                                "alpha": args.alpha, "fail_on_regression": args.fail_on_regression})
    cr = compare(opts)
    write_outputs(cr, args, gate)
    return 0


def write_outputs(cr: "CompareResult", args: argparse.Namespace, gate: Any = None) -> None:
    """Say the runs' warnings, write the HTML, Markdown and JSON outputs, print the summary and
    gate: what ``flamekit compare`` does once the runs are recorded and diffed.

    ``gate`` is the parsed ``--fail-on-memory-regression``; raises
    :class:`~flamekit.errors.RegressionFound` (exit 3) when a gate is reached.
    """
    from ..analysis.memory_diff import check_memory_threshold, exact_memory
    from ..atomic import write_output
    from ..render import diff_json, markdown
    from ..render.terminal import print_diff_summary

    res = cr.diff
    print_diff_warnings(res)  # e.g. py-spy fell behind in a run
    if gate is not None or res.base.sample_type.unit == "bytes":
        res = exact_memory(res, gate)  # memray's bytes are exact: compared as they are
    if args.html:
        from ..render.diff_html import write_diff_html

        write_diff_html(res, args.html, title=cr.title)
    if args.markdown:
        note = (f"Base: {markdown.code(cr.base.label)} (merge base with {markdown.code(cr.head.ref)}) · "
                f"Head: {markdown.code(cr.head.label)} · command: "
                f"{markdown.code(' '.join(cr.command), 300)}")
        markdown.write(res, args.markdown, title=cr.title, artifact_note=note)
    if args.json:
        doc = diff_json.to_dict(res)
        doc["compare"] = cr.to_dict()
        write_output(args.json, json.dumps(doc, sort_keys=True, ensure_ascii=False) + "\n")
    if not args.quiet and "-" not in (args.markdown, args.json):
        print(cr.title)
        print_diff_summary(res)
    res.check_threshold()
    check_memory_threshold(res, gate)
