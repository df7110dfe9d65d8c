"""Execution-service loop: mostly idle, waking on timer "orders"; runs until killed (attach target).

Prints ``service_loop: pid N ready`` (flushed) so a test or an engineer can
attach by PID. Each tick it waits on a socket with ``select`` (idle, I/O bound)
and then handles a batch of orders in ``handle_order`` (CPU) for ``--duty`` of
the tick. With ``--seconds`` it exits by itself; by default it runs until
SIGINT/SIGTERM.

    python sample_workloads/service_loop.py &          # prints its pid
    flamekit record --pid <pid> --duration 5
"""
from __future__ import annotations

import argparse
import math
import os
import select
import signal
import socket
import sys
import time

TICK = 0.050  # seconds per loop iteration


def handle_order(order_id: int, budget: float) -> float:
    """Price and risk-check one order: ``budget`` seconds of CPU (the service's hot path)."""
    end = time.thread_time() + budget
    acc = 0.0
    while time.thread_time() < end:
        for i in range(100):
            acc += math.sqrt(order_id + i) * 1e-9
    return acc


def wait_for_orders(sock: socket.socket, timeout: float) -> None:
    """Block in ``select`` on the order socket (idle time)."""
    select.select([sock], [], [], max(0.0, timeout))


def main(argv: list[str] | None = None) -> int:
    """Loop: wait (idle) then handle orders (CPU) for --duty of each tick."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=0.0, help="exit after this long (default: run until killed)")
    ap.add_argument("--duty", type=float, default=0.3, help="share of each tick spent handling orders (default 0.3)")
    a = ap.parse_args(argv)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    rx, _tx = socket.socketpair()
    print(f"service_loop: pid {os.getpid()} ready", flush=True)
    t0 = time.perf_counter()
    busy = 0.0
    n = 0
    try:
        while not stop and (a.seconds <= 0 or time.perf_counter() - t0 < a.seconds):
            wait_for_orders(rx, TICK * (1 - a.duty))
            c = time.thread_time()
            handle_order(n, TICK * a.duty)
            busy += time.thread_time() - c
            n += 1
    except KeyboardInterrupt:
        pass
    wall = time.perf_counter() - t0
    print(f"service_loop: {n} ticks in {wall:.2f} s, handle_order {busy / max(wall, 1e-9):.1%} of wall time",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
