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
                   label: str = "", shown: int = SHOWN_WARNINGS) -> int:
    """Print the import warnings ``warns`` of the input ``path`` as :func:`print_import_warnings`
    does; return ``total`` (default: how many ``warns`` holds).

    ``label`` names the input before each text (``base a.folded``) when a command
    reads several; a text that already starts with ``path:`` (as a reader's skipped-line
    warning does) is not named twice. The "and N more" line points at ``flamekit info
    PATH`` when ``path`` is a file.
    """
    from ..render.terminal import safe_text

    total = len(warns) if total is None else total
    lead = label[:len(label) - len(path)].strip() if label.endswith(path) else None
    for w in list(warns)[:shown]:
        who = ""
        if lead is not None and w.startswith(f"{path}: "):
            who = f"{lead} " if lead else ""
        elif label:
            who = f"{label}: "
        print(f"flamekit: warning: {safe_text(who + w, None)}", file=sys.stderr)
    if total > shown:
        where = (f" (flamekit info {safe_text(path, None)} lists them)" if os.path.isfile(path)
                 else "")
        of = f" of {safe_text(label, None)}" if label else ""
        print(f"flamekit: warning: ... and {total - shown} more{of}{where}", file=sys.stderr)
    return total


def print_diff_warnings(result: "DiffResult", shown: int = SHOWN_WARNINGS) -> int:
    """Print every run's import warnings of a diff, each named by its side and source
    (``base a.folded: ...``, ``head run 2: ...``); return how many there were."""
    n = 0
    for side in (result.base, result.head):
        name = side.label.lower()
        for r in side.runs:
            label = r.source if r.source.startswith(name + " ") else f"{name} {r.source}"
            n += print_warnings(r.warnings, r.source, total=r.n_warnings, label=label, shown=shown)
    return n
