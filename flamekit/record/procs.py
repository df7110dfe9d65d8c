"""Small process helpers of a recording: the tool's log, its child, the terminal's group, Yama.

Kept apart from :mod:`flamekit.record.session` (the recording's flow) so each
stays short; nothing here knows about a backend.
"""
from __future__ import annotations

import os
import sys
import time


def sigint_reaches_group() -> bool:
    """Tell whether a Ctrl-C most likely hit our whole process group (a terminal's foreground)."""
    try:
        fd = sys.stdin.fileno()
        return os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def allow_any_tracer() -> None:  # runs in the child between fork and exec
    """Let a sibling py-spy ptrace this child under Yama ptrace_scope=1 (PR_SET_PTRACER_ANY)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(0x59616D61, ctypes.c_ulong(-1 & 0xFFFFFFFFFFFFFFFF), 0, 0, 0)
    except Exception:
        pass


def yama_scope() -> int:
    """Return Yama's ptrace_scope (0 when Yama is absent)."""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def find_child(parent_pid: int, timeout: float = 3.0) -> int | None:
    """Return the pid of the first child of ``parent_pid`` (the command a tool launched)."""
    import psutil

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            kids = psutil.Process(parent_pid).children()
        except psutil.Error:
            return None
        if kids:
            return kids[0].pid
        time.sleep(0.005)
    return None


def tee(src, log, tool_line) -> None:
    """Copy the tool's stderr to ours and to ``log`` line by line; the tool's own lines go to the log only."""
    out = getattr(sys.stderr, "buffer", None)
    try:
        for line in iter(src.readline, b""):
            log.write(line)
            if out is not None and not (tool_line and tool_line.match(line.decode("utf-8", "replace"))):
                try:
                    out.write(line)
                    out.flush()
                except (OSError, ValueError):
                    out = None
    finally:
        log.close()
        src.close()


def read_log(path: str) -> str:
    """Return the head of the tool's log as text ('' when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read(200_000).decode("utf-8", "replace")
    except OSError:
        return ""
