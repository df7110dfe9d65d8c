"""``flamekit top --pid`` (pipeline stage: cli): the live table of a running process.

Not a command of its own: :mod:`flamekit.cli.top` hands ``--pid`` here. This
wires :class:`flamekit.record.live.LiveSampler` (consecutive short
recordings) to :class:`flamekit.analysis.live.RollingFunctions` and a
terminal display: on a TTY a rich ``Live`` view redrawn after every window,
``q`` or Ctrl-C to stop; otherwise one table at the end. ``--record FILE``
merges every window into one profile and writes it.
"""
from __future__ import annotations

import argparse
import os
import select
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .. import formats
from ..atomic import check_output
from ..errors import UsageError
from ..model import hide_libraries, merge
from ..render.terminal import Table, format_pct, format_value, is_terminal, render_plain
from .options import COUNT, PID, POSITIVE

if TYPE_CHECKING:  # analysis.live imports pandas: only `top --live` loads it, in run_live
    from ..analysis.live import Span

#: Seconds of samples the live view shows by default (the sliding window).
DEFAULT_WINDOW = 10.0


def add_live_arguments(p: argparse.ArgumentParser) -> None:
    """Declare ``top``'s live-mode options (used with ``--pid``)."""
    g = p.add_argument_group("live mode (a running process)")
    g.add_argument("--pid", type=PID, metavar="PID", help="sample this running process instead of a file")
    g.add_argument("--duration", type=POSITIVE, metavar="S",
                   help="stop after S seconds (default: until q, Ctrl-C or the target exits)")
    g.add_argument("--backend", choices=("py-spy", "perf"), default="py-spy",
                   help="sampler for --pid (default py-spy; perf shows native frames)")
    g.add_argument("--interval", type=POSITIVE, default=1.0, metavar="S",
                   help="seconds per recording window, i.e. between refreshes (default 1)")
    g.add_argument("--window", type=POSITIVE, default=DEFAULT_WINDOW, metavar="S",
                   help=f"the live table covers the last S seconds (default {DEFAULT_WINDOW:g})")
    g.add_argument("--rate", type=COUNT, metavar="HZ", help="samples per second (backend default)")
    g.add_argument("--record", metavar="FILE",
                   help="also write everything sampled as one profile (format from the suffix)")


def live_table(span: Span, *, limit: int, title: str, caption: str) -> Table:
    """Return the rows of ``span`` as a :class:`Table` (self and total, value and share)."""
    unit = span.sample_type.unit if span.sample_type else ""
    df = span.table.head(limit) if limit else span.table
    rows = []
    for r in df.itertuples(index=False):
        loc = r.file or r.module or ""
        rows.append([format_value(r.self, unit), format_pct(r.self_pct), format_value(r.total, unit),
                     format_pct(r.total_pct), r.name, loc])
    return Table(["self", "self%", "total", "total%", "function", "file"], rows,
                 right=frozenset({0, 1, 2, 3}), title=title, caption=caption)


def _caption(span: Span, gaps: list[float], interval: float, hidden: list[dict] | None = None) -> str:
    """Return the lines under the table: what --hide-libraries folded, and the measured gap."""
    lines = []
    if hidden:  # entries of every window so far: "self" is the value moved, "total" the window's total
        moved = sum(h["self"] for h in hidden)
        whole = sum(h["total"] for h in hidden)
        share = f" ({moved / whole * 100:.1f}%)" if whole else ""
        unit = span.sample_type.unit if span.sample_type else ""
        lines.append(f"library frames hidden: up to {max(h['frames'] for h in hidden):,} frames a window "
                     f"(standard library, site-packages, <frozen>) folded into their user callers; "
                     f"{format_value(moved, unit)}{share} of all self time so far moved to those callers")
    if gaps:
        mean = sum(gaps) / len(gaps)
        covered = interval / (interval + mean) * 100 if interval + mean > 0 else 100.0
        lines.append(f"gap between windows: mean {mean * 1000:.0f} ms, max {max(gaps) * 1000:.0f} ms "
                     f"over {len(gaps)} gap{'s' if len(gaps) != 1 else ''} (measured; about "
                     f"{covered:.0f}% of the time sampled)")
    else:
        lines.append("gap between windows: not measured yet (one window so far)")
    return "\n".join(lines)


@contextmanager
def _keys(enabled: bool):
    """Put the terminal in cbreak mode (single keys, Ctrl-C still a signal) while live."""
    if not enabled:
        yield None
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def _watch_keys(fd: int, stop, done: threading.Event) -> threading.Thread:
    """Start a thread that calls ``stop()`` when ``q`` is pressed (or stdin closes)."""
    def watch() -> None:
        while not done.is_set():
            if select.select([fd], [], [], 0.1)[0]:
                ch = os.read(fd, 1)
                if not ch or ch in (b"q", b"Q"):
                    stop()
                    return

    t = threading.Thread(target=watch, name="flamekit-top-keys", daemon=True)
    t.start()
    return t


def run_live(args: argparse.Namespace) -> int:
    """Sample ``args.pid`` window after window and show its hottest functions."""
    from ..record.live import LiveSampler

    if args.duration is not None and not args.duration > 0:
        raise UsageError("--duration must be more than 0 seconds")
    if not args.window > 0:
        raise UsageError("--window must be more than 0 seconds")
    if args.record:
        check_output(args.record)
        formats.format_for_output(args.record)  # an unknown suffix fails before sampling
    tty = is_terminal(sys.stdout) and sys.stdin.isatty()
    sampler = LiveSampler(args.pid, backend=args.backend, interval=args.interval, rate=args.rate)
    from ..analysis.live import RollingFunctions

    rolling = RollingFunctions()
    profiles = []
    gaps: list[float] = []
    what = f"pid {args.pid} ({args.backend} {sampler.tool_version}, {sampler.rate} Hz)"
    live = None
    done = threading.Event()
    hidden: list[dict] = []

    def on_sigint(signum, frame):  # the first Ctrl-C ends the current window and keeps it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sampler.stop()

    old_handler = signal.signal(signal.SIGINT, on_sigint)
    timer = threading.Timer(args.duration, sampler.stop) if args.duration else None
    if timer is not None:
        timer.daemon = True
        timer.start()  # the last window ends at the deadline, not at the next refresh
    try:
        with _keys(tty) as fd:
            if tty:
                from rich.console import Console
                from rich.live import Live
                from rich.text import Text

                console = Console(highlight=False)
                live = Live(Text(f"flamekit top: sampling {what}..."), console=console,
                            auto_refresh=False, transient=False)
                live.start()
                _watch_keys(fd, sampler.stop, done)
            for w in sampler.windows():
                if args.hide_libraries:
                    w.profile = hide_libraries(w.profile)
                    info = w.profile.meta["hidden_libraries"]
                    hidden.append({"frames": info["frames"], "self": (info["self"] or [0.0])[0],
                                   "total": float(w.profile.values[:, 0].sum()) if w.profile.n_samples
                                   else 0.0})
                if w.profile.n_samples:
                    profiles.append(w.profile)
                if w.gap_before is not None:
                    gaps.append(w.gap_before)
                rolling.add(w.profile, w.seconds, w.gap_before)
                if live is not None:
                    span = rolling.span(args.window, args.by)
                    title = (f"flamekit top: {what}; last {span.seconds:.1f} s of samples, "
                             f"by {args.by}; refresh {w.index + 1} at {time.strftime('%H:%M:%S')}; "
                             f"q to quit")
                    text = render_plain(live_table(span, limit=args.limit or 0, title=title,
                                                   caption=_caption(span, gaps, args.interval, hidden)))
                    live.update(Text(text, no_wrap=True, overflow="ellipsis"), refresh=True)
    finally:
        done.set()
        if timer is not None:
            timer.cancel()
        signal.signal(signal.SIGINT, old_handler)
        if live is not None:
            live.stop()
        sampler.close()
    if not tty:
        span = rolling.span(None, args.by)
        why = {"stop": "stopped", "target exited": "the target exited"}.get(sampler.stopped_by, "stopped")
        title = (f"flamekit top: {what}; {span.seconds:.1f} s of samples in {span.windows} windows "
                 f"({why}), by {args.by}")
        print_text = render_plain(live_table(span, limit=args.limit or 0, title=title,
                                             caption=_caption(span, gaps, args.interval, hidden)))
        sys.stdout.write(print_text)
    elif sampler.stopped_by == "target exited":
        print(f"flamekit: pid {args.pid} exited", file=sys.stderr)
    if args.record and profiles:
        whole = profiles[0] if len(profiles) == 1 else merge(*profiles)
        whole.meta.update({"pid": args.pid, "tool": args.backend, "tool_version": sampler.tool_version,
                           "rate_hz": sampler.rate, "live_windows": len(profiles),
                           "live_gaps_s": [round(g, 6) for g in gaps]})
        formats.dump(whole, args.record)
        print(f"flamekit: wrote {len(profiles)} windows to {args.record}", file=sys.stderr)
    return 0
