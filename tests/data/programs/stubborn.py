"""A target that ignores SIGINT and SIGTERM and burns CPU until it is killed.

Used by the tests of ``flamekit record --duration`` escalation (issue 16): only
SIGKILL stops it. ``--seconds`` (default 120) is a safety limit so a failed test
never leaves it running for long; ``--child`` also starts one stubborn child
process (the group flamekit started must go with it).
"""
import signal

# first thing: a stop request that comes while the interpreter is still importing is
# ignored too (under load, start-up can outlast a short --duration)
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)

import argparse  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


def spin_in_stubborn_loop(until: float) -> None:
    x = 0
    while time.monotonic() < until:
        for i in range(20000):
            x += i * i
    os._exit(0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        subprocess.Popen([sys.executable, __file__, "--seconds", str(a.seconds)])
    print(f"stubborn pid {os.getpid()} ready", flush=True)
    spin_in_stubborn_loop(time.monotonic() + a.seconds)


if __name__ == "__main__":
    main()
