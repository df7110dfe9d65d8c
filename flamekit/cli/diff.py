"""``flamekit diff`` (pipeline stage: cli): compare BASE and HEAD profiles, gate CI on regressions."""
from __future__ import annotations

import argparse
import glob
import os
import sys
from typing import Any, Callable, Sequence

from ..errors import UsageError
from .options import DISPERSION, NON_NEGATIVE, PROBABILITY

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


#: Inputs at least this big (bytes, all files together) load in parallel processes.
PARALLEL_MIN_BYTES = 32 * 1024 * 1024


def load_paths(paths: Sequence[str], fmt: str | None = None, *, workers: int | None = None,
               while_waiting: Callable[[], object] | None = None) -> list:
    """Load ``paths`` in order, side by side in forked processes when big (:func:`map_paths`)."""
    from .. import formats

    return map_paths(lambda path: formats.load(path, fmt), paths, workers=workers,
                     while_waiting=while_waiting)


def map_paths(fn: Callable[[str], Any], paths: Sequence[str], *, workers: int | None = None,
              while_waiting: Callable[[], object] | None = None) -> list:
    """Return ``[fn(path) for path in paths]``, in up to two forked processes when big.

    Parsing is the biggest part of diffing two large exports; with two CPUs
    the files are done side by side (:mod:`flamekit._forked`: a result comes
    back through shared memory as a pickle whose numpy arrays travel as raw
    bytes), and ``while_waiting`` (e.g. importing the renderers) runs here
    meanwhile. Small inputs, one CPU, one file or no ``fork`` run in this
    process. (A busy machine is no reason to stay in one process: handing a
    result back costs tens of ms, and two processes get a larger share of
    contended CPUs than one; a 1-minute load average also counts the previous
    diff of a CI job, and once sent a job's second diff down the slow path.)
    With more files than workers, the children take them in turn. A path that
    fails in a child is done again here, so the error raised is the usual one.
    """
    from .. import _forked

    paths = list(paths)
    ncpu = _forked.cpus()
    n = min(2 if workers is None else workers, ncpu, len(paths))
    size = 0
    for p in paths:
        try:
            size += os.path.getsize(p)
        except OSError:
            pass
    if n < 2 or size < PARALLEL_MIN_BYTES or not _forked.can_fork():
        if while_waiting is not None:
            while_waiting()
        return [fn(p) for p in paths]
    # child j does paths j, j + n, j + 2n...: one fork per worker, results in order
    groups = [paths[j::n] for j in range(n)]
    children = [_forked.start(_quietly_each, fn, g) for g in groups]
    if while_waiting is not None:
        while_waiting()
    got: list = [None] * len(paths)
    for j, ch in enumerate(children):
        res = ch.result() if ch is not None else None
        if isinstance(res, list) and len(res) == len(groups[j]):
            got[j::n] = res
    return [g if g is not None else fn(p) for g, p in zip(got, paths)]


def _quietly_each(fn: Callable[[str], Any], paths: Sequence[str]) -> list:
    """Run ``fn`` on each path in a child process; a failure gives None (the parent redoes it)."""
    out = []
    for p in paths:
        try:
            out.append(fn(p))
        except Exception:  # the parent repeats the work and raises the proper error
            out.append(None)
    return out


def _import_renderers() -> None:
    """Import the diff renderers (jinja2, markdown-it): overlapped with parallel loads."""
    from ..render import diff_html, diff_json, markdown  # noqa: F401


def prepare_sides(bspec: Sequence[str], hspec: Sequence[str], fmt: str | None = None, *,
                  by: str = "function", normalize: bool = True, sample_type: str | None = None,
                  hide_libraries: bool = False) -> tuple[list, list[str], list, list[str]]:
    """Load and prepare BASE and HEAD runs (side by side when big).

    Returns ``(base runs, base paths, head runs, head paths)``, each run a
    :class:`~flamekit.analysis.diff.PreparedRun` made where its file was
    loaded. Without ``sample_type`` a HEAD run whose first sample type is not
    BASE's is prepared again for BASE's type. ``hide_libraries`` folds library
    frames (:func:`flamekit.model.hide_libraries`) before preparing and says on
    stderr how many it folded per input.
    """
    from .. import formats
    # imported before the fork: the children inherit pandas and the analysis code
    from ..analysis.diff import prepare_paths, prepare_run

    bpaths, hpaths = expand_paths(bspec), expand_paths(hspec)

    def prep(path: str, st: str | None = sample_type):
        kw = dict(by=by, normalize=normalize, sample_type=st, source=path)
        name = fmt or formats.detect(path).name  # detected once for both readers below
        if hide_libraries:
            from ..model import hide_libraries as hide
            from ..render.libraries import hidden_note
            from ..render.terminal import safe_text

            prof = hide(formats.load(path, name))
            print(f"flamekit: note: {safe_text(path)}: {hidden_note(prof)}", file=sys.stderr)
            return prepare_run(prof, **kw)
        sp = formats.load_paths(path, name)  # folded stacks: key frames before any stack table
        if sp is not None:
            return prepare_paths(sp, **kw)
        return prepare_run(formats.load(path, name), **kw)

    runs = map_paths(prep, bpaths + hpaths, while_waiting=_import_renderers)
    base, head = runs[:len(bpaths)], runs[len(bpaths):]
    if sample_type is None and base:
        want = base[0].sample_type
        for i, r in enumerate(head):
            if r.sample_type != want:
                head[i] = prep(hpaths[i], str(want))
    return base, bpaths, head, hpaths


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
    from ..analysis.diff import check_options

    check_options(by=args.by, metric=args.metric, alpha=args.alpha, min_delta=args.min_delta)
    from ..analysis.memory_diff import check_memory_threshold, exact_memory, parse_memory_threshold

    gate = (parse_memory_threshold(args.fail_on_memory_regression)
            if args.fail_on_memory_regression is not None else None)
    base, bpaths, head, hpaths = prepare_sides(bspec, hspec, args.from_format, by=args.by,
                                               normalize=args.normalize,
                                               sample_type=args.sample_type,
                                               hide_libraries=args.hide_libraries)
    from ..analysis.diff import diff
    from ..render import diff_json, markdown

    res = diff(base, head, by=args.by, sample_type=args.sample_type, metric=args.metric,
               alpha=args.alpha, min_delta=args.min_delta, absolute=args.absolute,
               normalize=args.normalize, dispersion=args.dispersion,
               fail_on_regression=args.fail_on_regression, base_sources=bpaths,
               head_sources=hpaths)
    if gate is not None or res.base.sample_type.unit == "bytes":
        res = exact_memory(res, gate)  # memray's bytes are exact: compared as they are
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


def _fork_html(res, path: str, title: str):
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


def _write_page(res, path: str, title: str) -> bool:
    from ..render.diff_html import write_diff_html

    write_diff_html(res, path, title=title)
    return True


def _wait_html(child, res, path: str, title: str) -> None:
    """Wait for the HTML child; when it failed, write the page here (raising its error)."""
    if child.result() is not True:
        _write_page(res, path, title)

