"""Attach driver for the memray recorder (pipeline stage: record), run as a child process.

``python -m flamekit.record.memray_attach --method M --output OUT --duration S
[--native] --memray "MEMRAY CLI" PID``

``memray attach --duration S -o OUT`` returns as soon as the tracker runs
inside the target; a timer in the target stops it S seconds later and closes
the capture. This driver gives :mod:`flamekit.record.session` one process to
watch for the whole recording, like the other tools: it attaches, then waits
until the target no longer holds the capture open (``/proc/PID/fd``), or the
target exits (memray's exit handler closes the capture then).

A SIGINT (Ctrl-C forwarded by the session, or the session's deadline, which
comes before memray's because memray counts from the end of the injection)
does not end tracking early:
``memray detach`` hung or reset its connection in our tests with lldb, leaving
an unfinished capture, so the driver says so and waits for memray's own timer.
Lines it prints for flamekit start with ``flamekit-memray:``. Exit status: 0
when the capture was closed, else memray's (or 1).
"""
from __future__ import annotations

import argparse
import math
import os
import shlex
import signal
import subprocess
import sys
import time

#: seconds to wait past the duration for memray to close its capture
GRACE = 30.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) tracks nothing any more
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _holds(pid: int, path: str) -> bool | None:
    """Tell whether ``pid`` has ``path`` open (None when /proc does not say)."""
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return None
    for n in names:
        try:
            if os.readlink(os.path.join(fd_dir, n)) == path:
                return True
        except OSError:
            continue
    return False


def main(argv: list[str] | None = None) -> int:
    """Attach for ``--duration`` seconds and wait until memray closed the capture."""
    ap = argparse.ArgumentParser(prog="flamekit.record.memray_attach", description=__doc__.splitlines()[0])
    ap.add_argument("--method", required=True, help="memray's injection method (lldb, gdb, sys.remote_exec)")
    ap.add_argument("--output", required=True, help="capture file the target writes")
    ap.add_argument("--duration", type=float, required=True, help="seconds to track")
    ap.add_argument("--native", action="store_true", help="also record native stacks")
    ap.add_argument("--memray", required=True, help="how to run memray's CLI (a shell-quoted command)")
    ap.add_argument("pid", type=int, help="process to track")
    a = ap.parse_args(argv)
    interrupted = []
    signal.signal(signal.SIGINT, lambda *_: interrupted.append(1))
    out = os.path.realpath(a.output)
    seconds = max(1, math.ceil(a.duration))  # memray's --duration takes whole seconds
    cmd = shlex.split(a.memray) + ["attach", "--method", a.method, "-f", "--no-compress",
                                   "--duration", str(seconds), "-o", out]
    if a.native:
        cmd.append("--native")
    r = subprocess.run(cmd + [str(a.pid)], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       errors="replace")
    if r.returncode != 0:
        lines = [ln.strip() for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
        print(f"flamekit-memray: memray attach failed (exit status {r.returncode}): "
              f"{(lines or ['no output'])[-1]}", flush=True)
        return r.returncode or 1
    print(f"flamekit-memray: tracking pid {a.pid} for {seconds} s", flush=True)
    said = False
    end = time.monotonic() + seconds + GRACE
    while _alive(a.pid):
        held = _holds(a.pid, out)
        if held is False:
            print(f"flamekit-memray: memray closed the capture of pid {a.pid}", flush=True)
            return 0
        if time.monotonic() > end:
            print(f"flamekit-memray: memray did not close the capture of pid {a.pid} "
                  f"{GRACE:.0f} s after the duration", flush=True)
            return 1
        if interrupted and not said:
            print(f"flamekit-memray: SIGINT: memray keeps tracking pid {a.pid} until its {seconds} s are "
                  f"over (memray detach is not reliable)", flush=True)
            said = True
        time.sleep(0.05)
    print(f"flamekit-memray: pid {a.pid} exited (its capture was closed at exit)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
