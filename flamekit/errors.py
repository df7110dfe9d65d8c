"""Errors: one base class, each subclass carrying the CLI exit code.

The CLI prints ``flamekit: <message>`` for any :class:`FlamekitError` and exits
with its ``exit_code``; no traceback is shown for these expected failures.
"""
from __future__ import annotations


class FlamekitError(Exception):
    """Base class of every expected flamekit failure."""

    exit_code = 2


class UsageError(FlamekitError):
    """Bad command-line usage (exit 2)."""

    exit_code = 2


class ProfileImportError(FlamekitError):
    """A profile could not be read (exit 2)."""

    exit_code = 2


class FormatError(ProfileImportError):
    """A file is malformed, truncated, hostile or of no known format.

    ``source`` names the file, ``where`` is a ``line N`` / ``offset N`` string
    (or None), ``fmt`` the format that was tried (or None when none matched).
    """

    def __init__(self, fmt: str | None, source: str, where: str | int | None, reason: str):
        self.fmt = fmt
        self.source = str(source)
        if isinstance(where, int):
            where = f"line {where}"
        self.where = where
        self.reason = reason
        loc = self.source + (f":{where}" if where else "")
        prefix = f"{loc}: " + (f"{fmt}: " if fmt else "")
        super().__init__(prefix + reason)


class OutputError(FlamekitError):
    """An output file (or standard output) could not be written (exit 2).

    ``path`` names the output, ``reason`` says why (``No space left on device``).
    """

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot write {self.path}: {reason}")


class RecordError(FlamekitError):
    """A recording failed or was refused by the system (exit 1)."""

    exit_code = 1


class RecordInterrupted(RecordError):
    """A signal stopped a recording before its first sample: nothing to write (exit 128+N: 130 for Ctrl-C)."""

    exit_code = 130


class RegressionFound(FlamekitError):
    """A diff crossed the --fail-on-regression threshold (exit 3).

    A verdict, not a failure: the outputs written before it (the CI comment, the
    JSON, the page) stand (``keeps_outputs``, honoured by ``atomic.all_or_nothing``).
    """

    exit_code = 3
    keeps_outputs = True
