"""Memory workload with a known answer: what is kept, what is churned, by construction.

``keep_positions`` allocates ``--keep-mib`` MiB in 1 MiB ``bytearray`` blocks and
keeps them alive until the process exits (a leak, as a memory profiler sees it).
``churn_ticks`` allocates and frees ``--churn-mib`` MiB in ``--block-kib`` KiB
blocks, one block alive at a time (much allocated, little peak).
With ``--serve S`` it then keeps churning for S seconds (an attach target).
With ``--extra-mib`` E, ``load_reference_data`` also keeps E MiB alive until exit
(the "head" of a memory-regression demo). Each block is one ``bytearray`` of the
exact size, so a profiler that records every allocation (memray) attributes
N MiB (+ the small object headers) to the function that allocated it.

    python sample_workloads/mem_known.py --keep-mib 40 --churn-mib 160
    memray run -o out.bin sample_workloads/mem_known.py --extra-mib 16
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

MIB = 1 << 20
#: kept alive until exit (module global: nothing frees it before interpreter teardown)
KEPT: list[bytearray] = []


def keep_positions(mib: int) -> None:
    """Allocate ``mib`` MiB in 1 MiB blocks and keep every block until exit."""
    for _ in range(mib):
        block = bytearray(MIB)
        block[0] = 1  # touch it so it is resident as well as allocated
        KEPT.append(block)


def churn_ticks(mib: int, block_kib: int) -> int:
    """Allocate and free ``mib`` MiB in ``block_kib`` KiB blocks; return a checksum."""
    size = block_kib * 1024
    total = 0
    for i in range(mib * MIB // size):
        buf = bytearray(size)
        buf[-1] = i & 0xFF
        total += buf[-1]
        del buf
    return total


def load_reference_data(mib: int) -> None:
    """Keep ``mib`` more MiB alive until exit (the injected memory regression)."""
    for _ in range(mib):
        KEPT.append(bytearray(MIB))


def serve(seconds: float, block_kib: int) -> None:
    """Announce the pid, then churn 4 MiB every 20 ms until ``seconds`` pass or SIGTERM/SIGINT."""
    import os
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"mem_known: pid {os.getpid()} ready", flush=True)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            churn_ticks(4, block_kib)
            time.sleep(0.02)
    except KeyboardInterrupt:
        pass


def main(argv: list[str] | None = None) -> int:
    """Keep, churn (and optionally keep extra); print what was done and the peak RSS."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep-mib", type=int, default=32, help="MiB kept alive until exit (default 32)")
    ap.add_argument("--churn-mib", type=int, default=128, help="MiB allocated and freed (default 128)")
    ap.add_argument("--block-kib", type=int, default=256, help="churn block size in KiB (default 256)")
    ap.add_argument("--extra-mib", type=int, default=0, help="extra MiB kept by load_reference_data (default 0)")
    ap.add_argument("--sleep", type=float, default=0.0, help="seconds to sleep before exiting (default 0)")
    ap.add_argument("--serve", type=float, default=0.0,
                    help="then print 'mem_known: pid N ready' and churn 4 MiB every 20 ms for this many "
                         "seconds, or until SIGINT/SIGTERM (an attach target; default 0: no)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    keep_positions(a.keep_mib)
    if a.extra_mib:
        load_reference_data(a.extra_mib)
    check = churn_ticks(a.churn_mib, a.block_kib)
    if a.serve:
        serve(a.serve, a.block_kib)
    if a.sleep:
        time.sleep(a.sleep)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"mem_known: kept {a.keep_mib + a.extra_mib} MiB (keep_positions {a.keep_mib}, "
          f"load_reference_data {a.extra_mib}), churned {a.churn_mib} MiB in {a.block_kib} KiB blocks, "
          f"checksum {check}, {time.perf_counter() - t0:.3f} s, peak rss {peak:.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
