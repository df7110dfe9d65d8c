"""Output files (pipeline stage: cli support): the one writer of "text or bytes to a path or stdout".

Every output flamekit writes goes through here. A file is written to a
temporary name beside the target and renamed into place, so a crash or an
error while writing never leaves half a report or profile behind (the old
file, if any, stays). A path of ``-`` means standard output; what goes there
is built in memory first and written only on success, so a failure writes
nothing. A failed write raises :class:`~flamekit.errors.OutputError`
(``cannot write <path>: <reason>``); a closed pipe on stdout stays a
:class:`BrokenPipeError` (the CLI ends quietly on it).
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import sys
import tempfile
import time
from typing import IO, Iterable, Iterator

from .errors import OutputError

#: The path that means standard output.
STDOUT = "-"


def is_stdout(path: str | os.PathLike) -> bool:
    """Return True when ``path`` names standard output (``-``)."""
    return os.fspath(path) == STDOUT


#: Marks the temporary files this module owns: ``.<name>.flamekit-XXXXXXXX.tmp``.
_TMP_TAG = ".flamekit-"
_OWN_TMP = re.compile(r"^\..*\.flamekit-[a-z0-9_]{8}\.(tmp|bak)$")
#: A temporary of ours older than this is left over from a killed run (SIGKILL,
#: power loss) and is removed by the next write into the same folder.
STALE_AFTER_S = 3600.0


class _Transaction:
    """The outputs of one command: each is put in place when written, and taken back on failure.

    Replacing ``d.html`` keeps the old file as a hard link (``.d.html.flamekit-….bak``)
    until the command ends; :meth:`rollback` puts old files back and removes new
    ones, so a command that fails after writing some of its outputs leaves none of
    them (disk full on the third of three outputs, an error, SIGTERM).
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.done: list[tuple[str, str | None]] = []  # (target, backup or None when new)

    def replaced(self, target: str, backup: str | None) -> None:
        self.done.append((target, backup))

    def commit(self) -> None:
        for _, backup in self.done:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)
        self.done.clear()

    def rollback(self) -> None:
        for target, backup in reversed(self.done):
            with contextlib.suppress(OSError):
                if backup is None:
                    os.unlink(target)
                elif backup:  # "" : replaced where no hard link could keep the old file
                    os.replace(backup, target)
        self.done.clear()


_transaction: _Transaction | None = None


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Run a command's writes as one unit: on an exception every output written inside is taken back.

    An exception whose ``keeps_outputs`` is true (a diff's exit-3 verdict,
    :class:`~flamekit.errors.RegressionFound`) keeps them: CI still gets its comment.

    Outputs are in place as soon as they are written (later steps may read them);
    the previous content of a replaced file is kept until the block ends, then
    dropped on success or restored on failure. Nested blocks join the outer one;
    a forked child writes as if no block were open (its parent owns the block).
    """
    global _transaction
    if _transaction is not None and _transaction.pid == os.getpid():
        yield
        return
    t = _transaction = _Transaction()
    try:
        yield
    except BaseException as e:
        if getattr(e, "keeps_outputs", False):  # a verdict (RegressionFound, exit 3): outputs stand
            t.commit()
        else:
            t.rollback()
        raise
    else:
        t.commit()
    finally:
        _transaction = None


#: (device, inode) of every regular file this process read as input.
_inputs: dict[tuple[int, int], str] = {}


def protect_input(st: os.stat_result, source: str) -> None:
    """Remember that ``source`` (stat ``st``) is an input: no output may replace it.

    Called by the readers for every regular file they open, so ``report p.json
    -o p.json`` or ``diff a b --json a`` is refused whatever path, symlink or
    hard link names the input.
    """
    if stat.S_ISREG(st.st_mode):
        _inputs.setdefault((st.st_dev, st.st_ino), source)


def _refuse_input(path: str, st: os.stat_result) -> None:
    src = _inputs.get((st.st_dev, st.st_ino))
    if src is not None:
        same = "" if os.path.abspath(src) == os.path.abspath(path) else f" (the same file as {src})"
        raise OutputError(path, f"it is an input of this command{same}: refusing to overwrite it")


def _umask() -> int:
    """The process umask (read from /proc where possible, without changing it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _clean_stale(folder: str, now: float | None = None) -> None:
    """Remove temporaries of ours in ``folder`` left by a killed run (name pattern and age)."""
    now = time.time() if now is None else now
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if _OWN_TMP.match(name):
            p = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode) and now - st.st_mtime > STALE_AFTER_S:
                    os.unlink(p)


def _write_through(target: str, binary: bool, encoding: str) -> IO:
    """Open a device, FIFO or socket for writing in place (it cannot be replaced by a file)."""
    try:
        f = open(target, "wb") if binary else open(target, "w", encoding=encoding, newline="")
    except OSError as e:
        raise OutputError(target, e.strerror or str(e)) from None
    return f


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w",
                  encoding: str = "utf-8") -> Iterator[IO]:
    """Yield a file object for ``path``; on success put its content in place, on error drop it.

    ``mode`` is ``"w"`` (text, ``encoding``, newlines kept as written) or
    ``"wb"``. For a regular file (or a new one) the content goes to a temporary
    file beside it that is renamed onto ``path``: an existing file keeps its
    permission bits, a new one gets ``0666 & ~umask``, and a symlink is followed
    (the file it points to is replaced, the link stays). A device, FIFO or socket
    (``/dev/null``, ``/dev/stdout``, a named pipe) is written through in place.
    For ``-`` the content is collected in memory and written to stdout on success.
    An :class:`OSError` while creating, writing or renaming becomes
    :class:`~flamekit.errors.OutputError`.
    """
    binary = "b" in mode
    if is_stdout(path):
        buf: IO = io.BytesIO() if binary else io.StringIO(newline="")
        yield buf
        _to_stdout(buf.getvalue())
        return
    try:
        st: os.stat_result | None = os.stat(path)  # through symlinks
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        f = _write_through(os.fspath(path), binary, encoding)
        try:
            with f:
                yield f
        except OSError as e:
            raise OutputError(os.fspath(path), e.strerror or str(e)) from None
        return
    if st is not None:
        _refuse_input(os.fspath(path), st)
    target = os.path.realpath(os.fspath(path))  # replace the file a symlink names, keep the link
    tmp = backup = None
    d, base = os.path.split(target)
    t = _transaction if _transaction is not None and _transaction.pid == os.getpid() else None
    try:
        _clean_stale(d)
        fd, tmp = tempfile.mkstemp(prefix="." + base + _TMP_TAG, suffix=".tmp", dir=d)
        f = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline="")
        with f:
            yield f
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
        if t is not None and st is not None:
            backup = tmp[:-4] + ".bak"
            try:
                os.link(target, backup)
            except OSError:  # no hard links here: the old file cannot be kept
                backup = ""
        os.replace(tmp, target)
        tmp = None
        if t is not None:
            t.replaced(target, backup)
            backup = None
    except OSError as e:
        raise OutputError(os.fspath(path), e.strerror or str(e)) from None
    finally:
        for leftover in (tmp, backup):
            if leftover is not None:
                with contextlib.suppress(OSError):
                    os.unlink(leftover)


def check_output(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> None:
    """Fail early (before long work) when ``path`` cannot be written: no folder, a folder, read-only.

    Also refuses a ``path`` that is one of ``inputs`` (or an input already read),
    through symlinks and hard links. Standard output (``-``) always passes.
    Raises :class:`~flamekit.errors.OutputError`.
    """
    if is_stdout(path):
        return
    target = os.fspath(path)
    d = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(d):
        raise OutputError(target, f"folder {d} does not exist")
    if os.path.isdir(target):
        raise OutputError(target, "it is a directory")
    if not os.access(d, os.W_OK | os.X_OK):
        raise OutputError(target, f"folder {d} is not writable")
    for src in inputs:
        try:
            ist = os.stat(src)
        except (OSError, TypeError, ValueError):
            continue
        protect_input(ist, os.fspath(src))
    try:
        st = os.stat(target)
    except OSError:
        return
    _refuse_input(target, st)


def write_output(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically, or to stdout for ``-``."""
    if is_stdout(path):
        _to_stdout(data)
        return
    with atomic_output(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def _to_stdout(data: str | bytes) -> None:
    """Write finished output to stdout (bytes through its binary buffer, flushed in order)."""
    if isinstance(data, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(data)
