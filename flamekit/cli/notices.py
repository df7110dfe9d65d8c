"""What a command tells the user on stderr besides its result (pipeline stage: cli)."""
from __future__ import annotations

import sys

#: import warnings a command prints before "and N more"
SHOWN_WARNINGS = 3


def print_import_warnings(profile, path: str, shown: int = SHOWN_WARNINGS) -> int:
    """Print a loaded profile's import warnings (skipped lines, approximations) to stderr.

    One ``flamekit: warning: ...`` line each, the first ``shown`` of them, then how
    many more and where to read them all (``flamekit info``). Return how many there were.
    The text comes from the input file (its metadata), so it is printed as
    :func:`~flamekit.render.terminal.safe_text`: control characters escaped, one line.
    """
    from ..render.terminal import safe_text

    warns = [str(w) for w in profile.meta.get("warnings") or []]
    for w in warns[:shown]:
        print(f"flamekit: warning: {safe_text(w, None)}", file=sys.stderr)
    if len(warns) > shown:
        print(f"flamekit: warning: ... and {len(warns) - shown} more (flamekit info "
              f"{safe_text(path, None)} lists them)", file=sys.stderr)
    return len(warns)
