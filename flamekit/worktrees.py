"""Git plumbing for ``flamekit compare``: resolve refs, check out commits into temporary worktrees.

Only ``git`` commands that leave the user's working tree and index alone are
used: ``rev-parse``, ``merge-base``, ``worktree add --detach`` into a fresh
temporary folder, and ``worktree remove --force`` + ``worktree prune`` to
clean up (on success, error and Ctrl-C alike: :class:`Worktrees` is a context
manager). Every git failure becomes a :class:`~flamekit.errors.UsageError`
naming the ref or folder.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass

from .errors import UsageError

__all__ = ["git", "repo_root", "resolve_commit", "merge_base", "Worktrees"]


def git(args: list[str], cwd: str, *, check: bool = True, timeout: float = 300) -> str:
    """Run ``git ARGS`` in ``cwd`` and return its stdout (stripped); UsageError when it fails."""
    if not shutil.which("git"):
        raise UsageError("git is not installed: compare needs git (apt-get install git)")
    try:
        r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, errors="replace")
    except OSError as e:
        raise UsageError(f"cannot run git in {cwd}: {e.strerror or e}") from None
    if check and r.returncode != 0:
        msg = (r.stderr.strip().splitlines() or ["no message"])[-1]
        raise UsageError(f"git {' '.join(args[:2])} failed in {cwd}: {msg}")
    return r.stdout.strip()


def repo_root(cwd: str) -> str:
    """Return the top folder of the git working tree holding ``cwd``; UsageError outside one."""
    if not os.path.isdir(cwd):
        raise UsageError(f"{cwd}: no such directory")
    if not shutil.which("git"):
        raise UsageError("git is not installed: compare needs git (apt-get install git)")
    r = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, errors="replace")
    if r.returncode != 0 or not r.stdout.strip():
        raise UsageError(f"{os.path.abspath(cwd)} is not inside a git repository: compare checks out "
                         f"commits of one (run it in your project's clone)")
    return os.path.realpath(r.stdout.strip())


def resolve_commit(root: str, ref: str) -> str:
    """Return the full commit SHA that ``ref`` names; UsageError naming the ref when it names none."""
    if not ref or ref.startswith("-"):
        raise UsageError(f"not a git ref: {ref!r}")
    r = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
                       cwd=root, capture_output=True, text=True, stdin=subprocess.DEVNULL, errors="replace")
    sha = r.stdout.strip()
    if r.returncode != 0 or not sha:
        raise UsageError(f"{ref!r} names no commit in {root} (fetch it first, e.g. git fetch origin)")
    return sha


def merge_base(root: str, a: str, b: str) -> str:
    """Return the merge base of commits ``a`` and ``b``; UsageError when they share no history."""
    r = subprocess.run(["git", "merge-base", a, b], cwd=root, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, errors="replace")
    if r.returncode != 0 or not r.stdout.strip():
        raise UsageError(f"commits {a[:12]} and {b[:12]} have no common ancestor "
                         f"(a shallow clone? fetch with more depth, e.g. fetch-depth: 0)")
    return r.stdout.strip()


@dataclass
class Worktrees:
    """Temporary detached worktrees of one repository, removed on exit (also on error or Ctrl-C).

    ``with Worktrees(root) as wt: path = wt.add("base", sha)``.
    """

    root: str
    tmp: str | None = None

    def __enter__(self) -> "Worktrees":
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="flamekit-compare-"))
        self._added: list[str] = []
        return self

    def add(self, name: str, sha: str) -> str:
        """Check out ``sha`` (detached) into a new worktree folder ``name``; return its path."""
        assert self.tmp is not None
        path = os.path.join(self.tmp, name)
        self._added.append(path)
        git(["worktree", "add", "--detach", "--quiet", path, sha], self.root)
        return path

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove every worktree and the temporary folder; prune git's records of them.

        A second Ctrl-C during the clean-up is ignored, so it always finishes.
        """
        old = None
        if threading.current_thread() is threading.main_thread():
            old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._remove_all()
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)

    def _remove_all(self) -> None:
        for path in getattr(self, "_added", []):
            subprocess.run(["git", "worktree", "remove", "--force", "--force", path], cwd=self.root,
                           capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        subprocess.run(["git", "worktree", "prune"], cwd=self.root, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120)
        self._added = []
