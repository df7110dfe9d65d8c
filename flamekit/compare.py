"""``compare``: did my branch make it slower? Record base and head of a git repository, then diff.

A thin composition of :func:`flamekit.record.record` and :func:`flamekit.diff`
(DESIGN.md): the merge base of BASE and HEAD, and HEAD, are checked out into
temporary ``git worktree``\\ s (:mod:`flamekit.worktrees`); the command runs in
each, N times, **interleaved** (base 1, head 1, base 2, head 2, ...) so that
drift of a shared machine hits both sides alike; the two sets of runs are
diffed with the usual statistics. ``warmup`` unrecorded runs of each side
(interleaved too) go first, so that a cold first run (files not yet in the page
cache, byte code compiled in a fresh worktree) is not one of the measured ones.

Each side runs its own code: its worktree root (and ``src/`` when present)
goes first on ``PYTHONPATH``, ``--setup`` runs in each worktree before the
first run, and a relative program path (``.venv/bin/python``) is the side's
own. After each run, :func:`foreign_frames` checks that the profile's frames
of project files come from that side's worktree; a profile that ran the other
side's code, or an installed copy of the project (an editable install's import
hook beats ``PYTHONPATH``), stops the comparison with the fix. Every profile
carries ``meta["compare"]``: side, commit, ref, run index.

``head="WORKTREE"`` runs head in the user's working tree itself, uncommitted
changes included. The user's working tree and index are never touched; the
temporary worktrees are removed on success, error and Ctrl-C.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .errors import RecordError, UsageError
from .worktrees import Worktrees, git, merge_base, repo_root, resolve_commit

__all__ = ["CompareOptions", "Side", "CompareResult", "compare", "diff_runs", "foreign_frames",
           "WORKTREE"]

#: ``--head WORKTREE``: head is the user's working tree itself (uncommitted changes included).
WORKTREE = "WORKTREE"
MAX_RUNS = 100


@dataclass
class Side:
    """One side of a comparison: what was checked out and where it ran."""

    name: str            # "base" or "head"
    ref: str             # the ref as given (base: its merge base with head is what runs)
    commit: str          # full SHA that runs
    path: str = ""       # worktree folder the command runs in
    dirty: bool = False  # head = WORKTREE with uncommitted changes

    @property
    def short(self) -> str:
        """Return the short SHA (7 hex digits, as git shows it)."""
        return self.commit[:7]

    @property
    def label(self) -> str:
        """Return ``ref (short SHA)``, e.g. ``origin/main (1a2b3c4)``."""
        if self.ref == WORKTREE:
            return f"working tree ({self.short}{' + uncommitted changes' if self.dirty else ''})"
        return f"{self.ref} ({self.short})"

    def to_dict(self) -> dict[str, Any]:
        """Return the side as JSON-ready facts (no temporary paths)."""
        return {"side": self.name, "ref": self.ref, "commit": self.commit, "short": self.short,
                "label": self.label, "dirty": self.dirty}


@dataclass
class CompareOptions:
    """What ``flamekit compare`` was asked; ``diff`` holds :func:`flamekit.diff` keywords."""

    base: str
    command: list[str]
    head: str = "HEAD"
    runs: int = 3
    #: unrecorded runs of each side before the recorded ones (their output is discarded)
    warmup: int = 0
    backend: str = "py-spy"
    setup: str | None = None
    rate: int | None = None
    cwd: str = "."
    diff: dict[str, Any] = field(default_factory=dict)
    keep_profiles: str | None = None
    #: names shown for base and head instead of the refs as given (e.g. ``main`` for a base SHA)
    base_name: str | None = None
    head_name: str | None = None
    #: called with one line per step (setup, each run); None: silent
    progress: Callable[[str], None] | None = None

    def validate(self) -> None:
        """Raise UsageError for options compare cannot run with."""
        if not self.command:
            raise UsageError("compare needs a command to run: flamekit compare --base REF -- CMD [ARGS...]")
        if not 1 <= self.runs <= MAX_RUNS:
            raise UsageError(f"--runs must be between 1 and {MAX_RUNS}, not {self.runs}")
        if not 0 <= self.warmup <= MAX_RUNS:
            raise UsageError(f"--warmup must be between 0 and {MAX_RUNS}, not {self.warmup}")
        from .record import BACKENDS

        if self.backend not in BACKENDS + ("auto",):
            raise UsageError(f"unknown backend {self.backend!r} (choose {', '.join(BACKENDS)})")
        if self.keep_profiles and not os.path.isdir(self.keep_profiles):
            raise UsageError(f"--keep-profiles: no such directory: {self.keep_profiles}")


@dataclass
class CompareResult:
    """The outcome: both sides, every run's profile, and the :class:`DiffResult` of base vs head."""

    base: Side
    head: Side
    diff: Any
    base_profiles: list = field(default_factory=list)
    head_profiles: list = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    backend: str = ""
    warmup: int = 0

    @property
    def title(self) -> str:
        """Return the title naming both sides by ref and short SHA."""
        return f"flamekit compare: {self.base.label} → {self.head.label}"

    def to_dict(self) -> dict[str, Any]:
        """Return what was compared, for the JSON output (``compare`` key)."""
        return {"base": self.base.to_dict(), "head": self.head.to_dict(),
                "runs": len(self.base_profiles), "warmup": self.warmup, "backend": self.backend,
                "command": list(self.command), "late_runs": self.late_runs()}

    def late_runs(self) -> list[dict[str, Any]]:
        """Return the runs py-spy said it recorded late: ``{"side", "run", "sampling_behind_s"}``
        each (run numbers from 1), base first. Their shares lean toward what the program
        waited on; they are diffed like the others."""
        return [{"side": name, "run": i, "sampling_behind_s": r.sampling_behind_s}
                for name, side in (("base", self.diff.base), ("head", self.diff.head))
                for i, r in enumerate(side.runs, 1) if r.sampling_behind_s is not None]


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def project_files(tree: str) -> set[str]:
    """Return the tracked and untracked (not ignored) ``.py`` files of a worktree, relative to it."""
    out = git(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*.py"], tree)
    return {p for p in out.split("\0") if p}


def foreign_frames(profile: Any, own: str, others: list[str], project: set[str]) -> list[str]:
    """Return the profile's frame files that are project code from outside ``own`` (sorted).

    Foreign: a file under another checkout in ``others`` (the other side's
    worktree, the user's clone), or under ``site-packages``/``dist-packages`` at
    a path that is a project file (``pkg/mod.py`` or ``src/pkg/mod.py`` in
    ``project``): an installed copy that shadowed the worktree.
    """
    own = os.path.realpath(own)
    others = [os.path.realpath(o) for o in others if o and os.path.realpath(o) != own]
    bad: set[str] = set()
    for f in {fr.file for fr in profile.frames if fr.file and os.path.isabs(fr.file)}:
        real = os.path.realpath(f)
        if _under(real, own):
            continue
        if any(_under(real, o) for o in others):
            bad.add(f)
            continue
        for marker in (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}"):
            if marker in f:
                rel = f.rsplit(marker, 1)[1]
                if rel in project or f"src/{rel}" in project:
                    bad.add(f)
    return sorted(bad)


def _side_env(side: Side) -> dict[str, str]:
    """Return the variables added for a side's setup and runs: its own code first on PYTHONPATH."""
    paths = [side.path] + ([os.path.join(side.path, "src")] if os.path.isdir(os.path.join(side.path, "src"))
                           else [])
    old = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": os.pathsep.join(paths + ([old] if old else [])),
            "FLAMEKIT_COMPARE_SIDE": side.name, "FLAMEKIT_COMPARE_COMMIT": side.commit,
            "FLAMEKIT_COMPARE_WORKTREE": side.path}


def _run_dir(side: Side, rel: str) -> str:
    d = os.path.normpath(os.path.join(side.path, rel))
    return d if os.path.isdir(d) else side.path


def _setup(opts: CompareOptions, side: Side, rel: str) -> None:
    """Run ``--setup`` (a shell command, like a CI step) in the side's worktree; RecordError if it fails."""
    assert opts.setup
    _say(opts, f"setup on {side.name} {side.label}: {opts.setup}")
    try:
        out = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        out = None
    r = subprocess.run(opts.setup, shell=True, cwd=_run_dir(side, rel), env={**os.environ, **_side_env(side)},
                       stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    if r.returncode != 0:
        raise RecordError(f"--setup failed on {side.name} {side.label} with exit status {r.returncode}: "
                          f"{opts.setup}")


def _say(opts: CompareOptions, line: str) -> None:
    if opts.progress is not None:
        opts.progress(line)


def _command_for(cmd: list[str], run_dir: str) -> list[str]:
    """Return the command with a relative program path (``.venv/bin/python``) made the side's own."""
    prog = cmd[0]
    if os.sep in prog and not os.path.isabs(prog):
        prog = os.path.join(run_dir, prog)
    return [prog] + list(cmd[1:])


def _warm_up(opts: CompareOptions, side: Side, rel: str, run: int) -> None:
    """Run the command once on one side, unrecorded, its output discarded; RecordError if it fails."""
    _say(opts, f"{side.name} warm-up {run}/{opts.warmup}: {side.label}")
    run_dir = _run_dir(side, rel)
    try:
        r = subprocess.run(_command_for(opts.command, run_dir), cwd=run_dir, env={**os.environ, **_side_env(side)},
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as e:
        raise RecordError(f"cannot run the command on {side.name} {side.label} (warm-up {run}): "
                          f"{e.strerror or e}") from None
    if r.returncode != 0:
        tail = r.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise RecordError(f"the command failed on {side.name} {side.label} (warm-up {run}) with exit status "
                          f"{r.returncode}" + (": " + " / ".join(tail) if tail else ""))


def _record_run(opts: CompareOptions, side: Side, rel: str, run: int) -> Any:
    """Record one run of the command on one side; return its profile with ``meta["compare"]``."""
    from .record import RecordOptions, record

    _say(opts, f"{side.name} run {run}/{opts.runs}: {side.label}")
    run_dir = _run_dir(side, rel)
    ro = RecordOptions(backend=opts.backend, command=_command_for(opts.command, run_dir), rate=opts.rate,
                       progress=False, cwd=run_dir, env=_side_env(side))
    rec = record(ro)
    if rec.stopped_by == "interrupt":
        raise KeyboardInterrupt
    if rec.exit_code not in (None, 0):
        raise RecordError(f"the command failed on {side.name} {side.label} (run {run}) with exit status "
                          f"{rec.exit_code}")
    meta = dict(rec.profile.meta)
    meta["compare"] = {"side": side.name, "commit": side.commit, "ref": side.ref, "run": run,
                       "label": side.label}
    meta["git_commit"] = side.commit
    meta["title"] = f"{side.name} run {run}: {side.label}"
    return rec.profile.copy(meta=meta)


def _check_own_code(profile: Any, side: Side, other: Side, root: str, project: set[str], run: int) -> None:
    bad = foreign_frames(profile, side.path, [other.path, root], project)
    if bad:
        shown = ", ".join(repr(b) for b in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise RecordError(
            f"the {side.name} run {run} ({side.label}) ran project code from outside its worktree: {shown}. "
            f"An installed copy of the project shadows the checkout (e.g. `pip install -e .` of your clone, "
            f"whose import hook wins over PYTHONPATH), so base and head would run the same code. "
            f"Uninstall it, or install each side into its own environment with --setup "
            f"(e.g. --setup 'python -m venv .venv && .venv/bin/pip install .' and run .venv/bin/python)")


def relative_to_tree(profile: Any, tree: str) -> Any:
    """Return the profile with frame files under ``tree`` made relative to it (``pkg/mod.py``).

    Frames are matched by ``(name, file)``: base and head ran from different
    folders, so their absolute paths would never match.
    """
    tree = os.path.realpath(tree)
    frames = []
    changed = False
    for fr in profile.frames:
        f = fr.file
        if f and os.path.isabs(f):
            real = os.path.realpath(f)
            if _under(real, tree) and real != tree:
                fr = dataclasses.replace(fr, file=os.path.relpath(real, tree))
                changed = True
        frames.append(fr)
    return profile.copy(frames=tuple(frames)) if changed else profile


def _keep(opts: CompareOptions, profile: Any, side: Side, run: int) -> None:
    if opts.keep_profiles:
        from . import dump

        dump(profile, os.path.join(opts.keep_profiles, f"{side.name}-{run}.json"), "native")


@contextlib.contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """Stop on SIGTERM (a CI job cancelled, ``kill``) the way Ctrl-C stops, then pass SIGTERM on.

    While compare runs, SIGTERM becomes a SIGINT to this process: a recording in
    progress stops as on Ctrl-C (tool and command ended, nothing left running)
    and elsewhere Python raises KeyboardInterrupt, so the worktrees are removed.
    On the way out the SIGTERM is sent again to the handler that was there
    before (the CLI's: exit status 143).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def on_term(signum: int, frame: object) -> None:  # noqa: ARG001
        got.append(signum)
        os.kill(os.getpid(), signal.SIGINT)

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
        if got:
            os.kill(os.getpid(), signal.SIGTERM)


def compare(opts: CompareOptions) -> CompareResult:
    """Check out, run and record base and head interleaved, verify each ran its own code, and diff.

    Raises UsageError (exit 2: not a git repository, unknown ref, bad options)
    and RecordError (exit 1: a setup or run failed, a side ran foreign code);
    KeyboardInterrupt passes through after the worktrees are removed.
    """
    opts.validate()
    cwd = os.path.realpath(opts.cwd)
    root = repo_root(cwd)
    rel = os.path.relpath(cwd, root)
    worktree_head = opts.head == WORKTREE
    head_sha = resolve_commit(root, "HEAD" if worktree_head else opts.head)
    base_sha = resolve_commit(root, opts.base)
    base = Side("base", opts.base_name or opts.base, merge_base(root, base_sha, head_sha))
    head = Side("head", opts.head_name or opts.head, head_sha)
    if worktree_head:
        head.path = root
        head.dirty = bool(git(["status", "--porcelain", "--untracked-files=no"], root))
    with _term_as_interrupt(), Worktrees(root) as wt:
        base.path = wt.add("base", base.commit)
        if not worktree_head:
            head.path = wt.add("head", head.commit)
        project = {s.name: project_files(s.path) for s in (base, head)}
        if opts.setup:
            for side in (base, head):
                _setup(opts, side, rel)
        for run in range(1, opts.warmup + 1):
            for side in (base, head):
                _warm_up(opts, side, rel, run)
        profiles: dict[str, list] = {"base": [], "head": []}
        for run in range(1, opts.runs + 1):
            for side, other in ((base, head), (head, base)):
                p = _record_run(opts, side, rel, run)
                _check_own_code(p, side, other, root, project[side.name], run)
                p = relative_to_tree(p, side.path)
                _keep(opts, p, side, run)
                profiles[side.name].append(p)
    _say(opts, f"diffing {opts.runs} base run(s) against {opts.runs} head run(s)")
    return diff_runs(opts, base, head, profiles["base"], profiles["head"])


def diff_runs(opts: CompareOptions, base: Side, head: Side, base_profiles: list,
              head_profiles: list) -> CompareResult:
    """Diff the recorded runs of both sides (the last step of :func:`compare`).

    Each run is named ``base run N: LABEL`` (``head run N: ...``) unless
    ``opts.diff`` names them; every run's meta (import warnings, py-spy's
    ``sampling_behind_s``) travels into the result's runs.
    """
    from .analysis.diff import diff as diff_profiles  # takes the run labels (flamekit.diff does not)

    kw = dict(opts.diff)
    kw.setdefault("base_sources", [f"base run {i + 1}: {base.label}"
                                   for i in range(len(base_profiles))])
    kw.setdefault("head_sources", [f"head run {i + 1}: {head.label}"
                                   for i in range(len(head_profiles))])
    res = diff_profiles(base_profiles, head_profiles, **kw)
    return CompareResult(base=base, head=head, diff=res, base_profiles=list(base_profiles),
                         head_profiles=list(head_profiles), command=list(opts.command),
                         backend=opts.backend, warmup=opts.warmup)
