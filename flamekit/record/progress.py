"""Recording progress (pipeline stage: record): a rich bar on a terminal, plain lines in logs.

On a terminal (stderr is a TTY) a :mod:`rich` progress bar shows elapsed /
duration and the target's CPU % and RSS, refreshed a few times a second. When
stderr is not a terminal (CI logs, pipes) it prints one plain line every
``interval`` seconds instead, plus a closing line. Progress goes to stderr so
that a launched command's own stdout stays clean.
"""
from __future__ import annotations

import sys
from typing import IO


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _resources(latest: tuple[float, int] | None) -> str:
    if latest is None:
        return "cpu -, rss -"
    cpu, rss = latest
    return f"cpu {cpu:.0f}%, rss {_mb(rss)}"


class ProgressDisplay:
    """Show recording progress: ``update(elapsed, latest)`` often, ``close`` once.

    ``total`` is the planned duration in seconds (None: until the target exits).
    ``latest`` is ``(cpu_percent, rss_bytes)`` from the resource sampler or None.
    """

    def __init__(self, *, enabled: bool = True, total: float | None = None, label: str = "",
                 interval: float = 2.0, stream: IO[str] | None = None) -> None:
        self.enabled = enabled
        self.total = total
        self.label = label
        self.interval = interval
        self.stream = stream or sys.stderr
        self._rich = None
        self._task = None
        self._next_line = 0.0
        try:
            self.tty = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            self.tty = False

    def start(self) -> None:
        """Begin showing progress."""
        if not self.enabled:
            return
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            cols = [TextColumn("[bold]recording[/] {task.description}"), BarColumn(),
                    TimeElapsedColumn(), TextColumn("{task.fields[limit]}"),
                    TextColumn("{task.fields[res]}")]
            self._rich = Progress(*cols, console=Console(file=self.stream), transient=True,
                                  refresh_per_second=5)
            self._rich.start()
            from rich.markup import escape

            self._task = self._rich.add_task(escape(self.label), total=self.total,
                                             limit=f"/ {self.total:g} s" if self.total else "",
                                             res=_resources(None))
        else:
            limit = f" for {self.total:g} s" if self.total else " until the target exits or Ctrl-C"
            print(f"flamekit: recording {self.label}{limit}", file=self.stream, flush=True)
            self._next_line = self.interval

    def update(self, elapsed: float, latest: tuple[float, int] | None) -> None:
        """Refresh with the seconds elapsed and the latest resource sample."""
        if not self.enabled:
            return
        if self._rich is not None:
            done = min(elapsed, self.total) if self.total else None
            self._rich.update(self._task, completed=done, res=_resources(latest))
        elif elapsed >= self._next_line:
            limit = f" / {self.total:g} s" if self.total else " s"
            print(f"flamekit: {elapsed:.1f}{limit}, {_resources(latest)}", file=self.stream, flush=True)
            while self._next_line <= elapsed:
                self._next_line += self.interval

    def close(self, elapsed: float, stopped_by: str) -> None:
        """Remove the bar (if any) and print one closing line."""
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.stop()
            self._rich = None
        why = {"interrupt": "interrupted", "duration": "duration reached",
               "target-exit": "target exited"}.get(stopped_by, stopped_by)
        print(f"flamekit: recorded {elapsed:.1f} s ({why})", file=self.stream, flush=True)
