"""Run a function in a forked child and get its result back through shared memory.

Used by the CLI to load big inputs side by side on two CPUs. A profile is
mostly numpy arrays; :mod:`pickle` protocol 5 hands them over out of band, so
the child writes their raw bytes into a nameless file (``memfd``, in memory)
and the parent maps that file: the arrays come back without being read, copied
or pickled again (the result queue of :mod:`concurrent.futures` cost 0.1-0.2 s
per 40 MB profile, and a pipe made the second child wait for the first).

Only for POSIX systems with ``fork``; :func:`start` returns None where it
cannot fork, and :meth:`Child.result` returns None when the child failed (the
caller then repeats the work in its own process, so errors are raised the usual
way). The child never runs the parent's exit handlers (it leaves by
``os._exit``).
"""
from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import Any, Callable

_U64 = struct.Struct("<Q")


def cpus() -> int:
    """Return the number of CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


#: glibc's ``mallopt`` parameters (malloc.h): M_TRIM_THRESHOLD and M_MMAP_THRESHOLD.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_heap() -> None:
    """Let this (short-lived, forked) process reuse the memory it frees instead of returning it.

    By default glibc serves every block of more than a few MB with its own
    ``mmap`` and unmaps it on ``free``, so each numpy temporary of a big load is
    new memory the kernel must fault in and zero again (about 90k page faults,
    0.1 s of system time, for one 100k-stack folded file). Here blocks up to
    32 MiB (glibc's largest mmap threshold) come from the heap and the heap is
    not trimmed: a child that exits after its one job keeps its pages. A no-op
    where glibc is not the C library.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    except (OSError, AttributeError):
        pass


def can_fork() -> bool:
    """Return True when :func:`start` can run work in a child process here."""
    return hasattr(os, "fork") and hasattr(os, "pwrite")


class Child:
    """A forked child computing one result; read it once with :meth:`result`."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd

    def result(self) -> Any | None:
        """Wait for the child and return its result, or None when it failed."""
        try:
            _, status = os.waitpid(self.pid, 0)
            ok = os.waitstatus_to_exitcode(status) == 0
        except (OSError, ValueError):
            ok = False
        out = None
        try:
            if ok:
                out = _receive(self.fd)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError, struct.error):
            ok = False
        finally:
            os.close(self.fd)
        return out if ok else None


def _anonymous_file() -> int:
    """Return the descriptor of a file with no name (memfd, else an unlinked temporary file)."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create("flamekit-result", getattr(os, "MFD_CLOEXEC", 0))
        except OSError:
            pass
    import tempfile

    fd, path = tempfile.mkstemp(prefix="flamekit-result-")
    os.unlink(path)
    return fd


def start(fn: Callable[..., Any], *args: Any) -> Child | None:
    """Fork a child that computes ``fn(*args)`` and leaves it in a shared file; None when it
    cannot fork."""
    if not can_fork():
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        fd = _anonymous_file()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(fd)
        return None
    if pid == 0:  # child: compute, write, leave without the parent's exit handlers
        code = 1
        try:
            _send(fd, fn(*args))
            code = 0
        except BaseException:  # the parent repeats the work and raises the proper error
            pass
        finally:
            os._exit(code)
    return Child(pid, fd)


#: Buffers start at multiples of this many bytes in the file (aligned numpy data).
_ALIGN = 64


def _layout(sizes: list[int]) -> tuple[int, list[int]]:
    """Return (header size, offset of each part) for parts of ``sizes`` after the header."""
    head = _U64.size * (1 + len(sizes))
    pos = -(-head // _ALIGN) * _ALIGN
    offs = []
    for s in sizes:
        offs.append(pos)
        pos = -(-(pos + s) // _ALIGN) * _ALIGN
    return head, offs


def _write_all(fd: int, data: memoryview, offset: int) -> None:
    while len(data):
        n = os.pwrite(fd, data, offset)
        data = data[n:]
        offset += n


def _send(fd: int, obj: Any) -> None:
    """Write ``obj`` as: part count, part sizes, then the pickle stream and each out-of-band
    buffer, each part aligned to ``_ALIGN`` bytes."""
    bufs: list[pickle.PickleBuffer] = []
    head = pickle.dumps(obj, protocol=5, buffer_callback=bufs.append)
    parts = [memoryview(head)] + [b.raw() for b in bufs]
    sizes = [m.nbytes for m in parts]
    _, offs = _layout(sizes)
    _write_all(fd, memoryview(_U64.pack(len(sizes)) + b"".join(_U64.pack(s) for s in sizes)), 0)
    for off, m in zip(offs, parts):
        _write_all(fd, m, off)


def _receive(fd: int) -> Any:
    """Map the child's file (copy on write: the arrays stay writable) and unpickle it."""
    import mmap

    size = os.fstat(fd).st_size
    if size < _U64.size:
        raise EOFError("child wrote no result")
    mm = mmap.mmap(fd, size, access=mmap.ACCESS_COPY)
    view = memoryview(mm)
    (count,) = _U64.unpack_from(view, 0)
    if not 1 <= count <= (size // _U64.size) - 1:
        raise ValueError("bad part count from child")
    sizes = [s for (s,) in _U64.iter_unpack(view[_U64.size:_U64.size * (1 + count)])]
    _, offs = _layout(sizes)
    if offs[-1] + sizes[-1] > size:
        raise EOFError("child result is truncated")
    parts = [view[o:o + s] for o, s in zip(offs, sizes)]
    return pickle.loads(parts[0], buffers=parts[1:])
