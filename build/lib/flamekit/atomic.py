"""Atomic output files: write to a temporary name beside the target, then rename.

A crash or an error while writing never leaves half a report or profile behind.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w",
                  encoding: str = "utf-8") -> Iterator[IO]:
    """Yield a file object; on success rename it onto ``path``, on error remove it.

    ``path`` of ``-`` is not supported here (callers handle stdout).
    """
    target = os.fspath(path)
    d = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=d)
    try:
        if "b" in mode:
            f = os.fdopen(fd, mode)
        else:
            f = os.fdopen(fd, mode, encoding=encoding, newline="")
        with f:
            yield f
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
