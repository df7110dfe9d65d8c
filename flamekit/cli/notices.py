"""What a command tells the user on stderr besides its result (pipeline stage: cli)."""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from ..analysis.diff import DiffResult

#: import warnings a command prints before "and N more"
SHOWN_WARNINGS = 3


def print_import_warnings(profile, path: str, shown: int = SHOWN_WARNINGS) -> int:
    """Print a loaded profile's import warnings (skipped lines, approximations) to stderr.

    One ``flamekit: warning: ...`` line each, the first ``shown`` of them, then how
    many more and where to read them all (``flamekit info``). Return how many there were.
    The text comes from the input file (its metadata), so it is printed as
    :func:`~flamekit.render.terminal.safe_text`: control characters escaped, one line.
    """
    warns = [str(w) for w in profile.meta.get("warnings") or []]
    return print_warnings(warns, path, shown=shown)


def print_warnings(warns: Sequence[str], path: str, *, total: int | None = None,
                   side: str = "", shown: int = SHOWN_WARNINGS) -> int:
    """Print the import warnings ``warns`` of the input ``path`` as :func:`print_import_warnings`
    does; return ``total`` (default: how many ``warns`` holds).

    With ``side`` (``base``, ``head``: a command reading several inputs) each text is
    named by its side and input, ``base a.folded: ...`` (a text that already starts
    with ``path:``, as a reader's skipped-line warning does, is not named twice; a
    ``path`` such as compare's ``head run 2: ...`` already names its side). The
    "and N more" line points at ``flamekit info PATH`` when ``path`` is a file.
    """
    from ..render.terminal import safe_text

    total = len(warns) if total is None else total
    named = path if not side or path.startswith(f"{side} ") else f"{side} {path}"
    for w in list(warns)[:shown]:
        if side:
            w = f"{named}{w[len(path):]}" if w.startswith(f"{path}: ") else f"{named}: {w}"
        print(f"flamekit: warning: {safe_text(w, None)}", file=sys.stderr)
    if total > shown:
        where = (f" (flamekit info {safe_text(path, None)} lists them)" if os.path.isfile(path)
                 else "")
        of = f" of {safe_text(named, None)}" if side else ""
        print(f"flamekit: warning: ... and {total - shown} more{of}{where}", file=sys.stderr)
    return total


def print_diff_warnings(result: "DiffResult", shown: int = SHOWN_WARNINGS) -> int:
    """Print every run's import warnings of a diff, each named by its side and source
    (``base a.folded: ...``, ``head run 2: ...``); return how many there were."""
    n = 0
    for side in (result.base, result.head):
        for r in side.runs:
            n += print_warnings(r.warnings, r.source, total=r.n_warnings, side=side.label.lower(),
                                shown=shown)
    return n
