"""The inputs of a diff (pipeline stage: analysis): find, load and prepare each side's runs.

The one route from "what the user named" to prepared runs, for the library
(:func:`flamekit.diff`) and the CLI (``flamekit diff``) alike:
:func:`diff_inputs` checks the options, :func:`prepare_sides` expands paths
(files, globs, directories: :func:`expand_paths`), loads and prepares every
run in the process that loaded it (side by side in forked processes when the
files are big: :func:`map_paths`), and :func:`~flamekit.analysis.diff.diff`
joins them. Profiles already in memory are prepared here, in this process.
"""
from __future__ import annotations

import dataclasses
import glob
import os
from typing import Any, Callable, Sequence, Union

from ... import _forked
from ...errors import UsageError
from ...model import Profile, hide_libraries as hide
from .compare import check_options, diff
from .prepare import PreparedRun, prepare_paths, prepare_run
from .result import DEFAULT_ALPHA, DEFAULT_MIN_DELTA, DiffResult

#: One input: a path (file, glob or directory), a profile, or a prepared run.
Input = Union[str, "os.PathLike[str]", Profile, PreparedRun]
#: One side of a diff: an input or a list of them (repeated runs).
Side = Union[Input, Sequence[Input]]

#: Inputs at least this big (bytes, all files together) load in parallel processes.
PARALLEL_MIN_BYTES = 32 * 1024 * 1024


def expand_paths(specs: Sequence[str | os.PathLike]) -> list[str]:
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


def map_paths(fn: Callable[[str], Any], paths: Sequence[str], *, workers: int | None = None,
              while_waiting: Callable[[], object] | None = None,
              before_fork: Callable[[], object] | None = None) -> list:
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
    ``before_fork`` runs here just before the children start (e.g. importing
    what every child would otherwise import again: the children inherit it).
    """
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
    if before_fork is not None:
        before_fork()
    children = [_forked.start(_quietly_each, fn, g) for g in groups]
    if while_waiting is not None:
        while_waiting()
    got: list = [None] * len(paths)
    for j, ch in enumerate(children):
        res = ch.result() if ch is not None else None
        if isinstance(res, list) and len(res) == len(groups[j]):
            got[j::n] = res
    return [g if g is not None else fn(p) for g, p in zip(got, paths)]


def _import_for_children() -> None:
    """Import what preparing a run imports, once, before forking (each child would import it
    again: issue 15 counts CPU seconds on a shared machine).

    The format registry always; pandas (about 0.25 s of CPU) only where the
    compiled tree builder is missing and the children's ``tree.from_paths`` needs
    its hashing; otherwise this process imports it while the children work (the
    diff's tables need it here anyway).
    """
    import numpy as np

    from ... import formats

    if formats.paths_tree(np.zeros(1, np.int32), np.ones(1, np.int64)) is None:
        import pandas  # noqa: F401


def _quietly_each(fn: Callable[[str], Any], paths: Sequence[str]) -> list:
    """Run ``fn`` on each path in a child process; a failure gives None (the parent redoes it)."""
    _forked.keep_freed_heap()  # the child exits after these loads: freed memory is reused
    out = []
    for p in paths:
        try:
            out.append(fn(p))
        except Exception:  # the parent repeats the work and raises the proper error
            out.append(None)
    return out


def _expand_side(side: Side, names: Sequence[str] | None, label: str) -> tuple[list, list[str]]:
    """Return one side's inputs, paths expanded, and their sources: ``names`` when given (one
    per input after expansion), else each path, or ``profile[i]``."""
    items = list(side) if isinstance(side, (list, tuple)) else [side]
    out: list = []
    srcs: list[str] = []
    for it in items:
        if isinstance(it, (str, os.PathLike)):
            paths = expand_paths([it])
            out += paths
            srcs += paths
        else:
            out.append(it)
            srcs.append(f"profile[{len(srcs)}]")
    if names is not None:
        if len(names) != len(out):
            raise UsageError(f"{label}: {len(names)} source names for {len(out)} inputs")
        srcs = [str(n) for n in names]
    return out, srcs


def _named(run: PreparedRun, source: str) -> PreparedRun:
    """Return ``run`` with its source name set (a path's run is named by its path first)."""
    if run.info.source != source:
        run.info = dataclasses.replace(run.info, source=source)
    return run


def prepare_sides(base: Side, head: Side, fmt: str | None = None, *, by: str = "function",
                  normalize: bool = True, sample_type: str | None = None,
                  while_waiting: Callable[[], object] | None = None,
                  base_sources: Sequence[str] | None = None,
                  head_sources: Sequence[str] | None = None, hide_libraries: bool = False,
                  on_hidden: Callable[[str, Profile], object] | None = None
                  ) -> tuple[list, list[str], list, list[str]]:
    """Load and prepare BASE and HEAD runs (files side by side in forked processes when big).

    Each side is a path (file, glob or directory), a Profile, or a list of
    them. Returns ``(base runs, base sources, head runs, head sources)``, each
    run a :class:`~flamekit.analysis.diff.prepare.PreparedRun` made where its
    file was loaded (folded files are prepared straight from their paths). A
    run is named by ``base_sources`` / ``head_sources`` (one name per input,
    after expansion) when given, else by its path, or ``profile[i]`` (its place
    in its side). ``fmt`` skips format detection; ``while_waiting`` runs while
    children load. Without
    ``sample_type`` a HEAD run whose first sample type is not BASE's is
    prepared again for BASE's type. ``hide_libraries`` folds library frames
    first (:func:`flamekit.model.hide_libraries`; ``on_hidden(source, profile)``
    is called for each input then, e.g. to say how many). Anything else is
    passed through for :func:`~flamekit.analysis.diff.diff` to judge.
    """
    from ... import formats

    bitems, bsrc = _expand_side(base, base_sources, "BASE")
    hitems, hsrc = _expand_side(head, head_sources, "HEAD")
    items, srcs = bitems + hitems, bsrc + hsrc

    def _hidden(p: Profile, source: str) -> Profile:
        q = hide(p)
        if on_hidden is not None:
            on_hidden(source, q)
        return q

    def prep_path(path: str, st: str | None = sample_type) -> PreparedRun:
        kw = dict(by=by, normalize=normalize, sample_type=st, source=path)
        name = fmt or formats.detect(path).name  # detected once for both readers below
        if hide_libraries:
            return prepare_run(_hidden(formats.load(path, name), path), **kw)
        sp = formats.load_paths(path, name)  # folded stacks: key frames before any stack table
        if sp is not None:
            return prepare_paths(sp, **kw)
        return prepare_run(formats.load(path, name), **kw)

    def prep(i: int, st: str | None = sample_type) -> Any:
        it = items[i]
        if isinstance(it, str):
            return _named(prep_path(it, st), srcs[i])
        if isinstance(it, Profile):
            prof = _hidden(it, srcs[i]) if hide_libraries else it
            return prepare_run(prof, by=by, normalize=normalize, sample_type=st, source=srcs[i])
        return it

    at = [i for i, it in enumerate(items) if isinstance(it, str)]
    runs: list = list(items)
    for i, r in zip(at, map_paths(prep_path, [items[i] for i in at], while_waiting=while_waiting,
                                  before_fork=_import_for_children)):
        runs[i] = _named(r, srcs[i])
    for i, it in enumerate(items):
        if isinstance(it, Profile):
            runs[i] = prep(i)
    nb = len(bitems)
    if sample_type is None and nb and isinstance(runs[0], PreparedRun):
        want = runs[0].sample_type
        for i in range(nb, len(runs)):
            r = runs[i]
            if isinstance(r, PreparedRun) and r.sample_type != want and \
                    isinstance(items[i], (str, Profile)):
                runs[i] = prep(i, str(want))
    return runs[:nb], bsrc, runs[nb:], hsrc


def diff_inputs(base: Side, head: Side, *, fmt: str | None = None, by: str = "function",
                sample_type: str | None = None, metric: str = "self",
                alpha: float = DEFAULT_ALPHA, min_delta: float = DEFAULT_MIN_DELTA,
                absolute: bool = False, normalize: bool = True, dispersion: float | None = None,
                fail_on_regression: float | None = None,
                base_sources: Sequence[str] | None = None,
                head_sources: Sequence[str] | None = None, hide_libraries: bool = False,
                on_hidden: Callable[[str, Profile], object] | None = None,
                while_waiting: Callable[[], object] | None = None) -> DiffResult:
    """Check the options, load and prepare both sides (:func:`prepare_sides`) and diff them.

    What :func:`flamekit.diff` and ``flamekit diff`` both run; options as in
    :func:`~flamekit.analysis.diff.diff`, ``base_sources`` / ``head_sources`` to name
    the runs, ``hide_libraries`` and ``on_hidden`` (:func:`prepare_sides`). Options
    are checked before anything is loaded.
    """
    check_options(by=by, metric=metric, alpha=alpha, min_delta=min_delta)
    b, bs, h, hs = prepare_sides(base, head, fmt, by=by, normalize=normalize,
                                 sample_type=sample_type, while_waiting=while_waiting,
                                 base_sources=base_sources, head_sources=head_sources,
                                 hide_libraries=hide_libraries, on_hidden=on_hidden)
    return diff(b, h, by=by, sample_type=sample_type, metric=metric, alpha=alpha,
                min_delta=min_delta, absolute=absolute, normalize=normalize,
                dispersion=dispersion, fail_on_regression=fail_on_regression,
                base_sources=bs, head_sources=hs)
