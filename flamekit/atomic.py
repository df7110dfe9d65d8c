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
import sys
import tempfile
from typing import IO, Iterator

from .errors import OutputError

#: The path that means standard output.
STDOUT = "-"


def is_stdout(path: str | os.PathLike) -> bool:
    """Return True when ``path`` names standard output (``-``)."""
    return os.fspath(path) == STDOUT


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w",
                  encoding: str = "utf-8") -> Iterator[IO]:
    """Yield a file object for ``path``; on success put its content in place, on error drop it.

    ``mode`` is ``"w"`` (text, ``encoding``, newlines kept as written) or
    ``"wb"``. For a file the content goes to a temporary file that is renamed
    onto ``path``; for ``-`` it is collected in memory and written to stdout
    on success. An :class:`OSError` while creating, writing or renaming the
    file becomes :class:`~flamekit.errors.OutputError`.
    """
    binary = "b" in mode
    if is_stdout(path):
        buf: IO = io.BytesIO() if binary else io.StringIO(newline="")
        yield buf
        _to_stdout(buf.getvalue())
        return
    target = os.fspath(path)
    tmp = None
    try:
        d = os.path.dirname(os.path.abspath(target))
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp",
                                   dir=d)
        f = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline="")
        with f:
            yield f
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise OutputError(target, e.strerror or str(e)) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def check_output(path: str | os.PathLike) -> None:
    """Fail early (before long work) when ``path`` cannot be written: no folder, a folder, read-only.

    Standard output (``-``) always passes. Raises :class:`~flamekit.errors.OutputError`.
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
