"""Names in speedscope files (pipeline stage: formats): thread ids in profile names and the
`` [name/unit]`` sample type tag. Split from :mod:`.speedscope`, which documents both.
"""
from __future__ import annotations

import re
from urllib.parse import quote

#: `` [name/unit]`` after a profile name: the sample type when the unit alone does not say
#: it; other characters than these are percent-encoded (UTF-8), so any name reads back
TAG_RX = re.compile(r"^(.*) \[([A-Za-z0-9_.~\-%]*)/([A-Za-z0-9_.~\-%]*)\]$", re.S)
_PYSPY_RX = re.compile(r'^Thread (-?\d{1,19})(?: "(.*)")?(?: pid (-?\d{1,19}))?$', re.S)
_AUSTIN_RX = re.compile(r"\bfor (\d{1,19}):(\d{1,19})$")
_TID_RX = re.compile(r"^(.*?)[\s,;:(\[]*\btid[:=]?\s*(\d{1,19})\)?\]?$", re.S | re.I)
MAX_ID = 2**63 - 1


def _int64(digits: str) -> bool:
    return -MAX_ID - 1 <= int(digits) <= MAX_ID


def parse_thread(name: str, index: int) -> tuple[int, str, int | None]:
    """Return ``(tid, thread name, pid)`` parsed from a speedscope profile name."""
    m = _PYSPY_RX.match(name)
    if m and _int64(m.group(1)) and (m.group(3) is None or _int64(m.group(3))):
        return int(m.group(1)), m.group(2) or "", int(m.group(3)) if m.group(3) else None
    m = _AUSTIN_RX.search(name)
    if m and int(m.group(1)) <= MAX_ID and int(m.group(2)) <= MAX_ID:
        return int(m.group(2)), name, int(m.group(1))
    m = _TID_RX.match(name)
    if m and int(m.group(2)) <= MAX_ID:
        return int(m.group(2)), m.group(1).strip(), None
    return index, name, None


def tag_text(s: str) -> str:
    """Percent-encode a sample type's name or unit for the profile name tag (see ``TAG_RX``)."""
    return quote(s, safe="")  # keeps only A-Z a-z 0-9 _ . - ~
