"""String tables (bottom layer: imports nothing of flamekit).

Columnar outputs store every distinct string once and refer to it by index,
like pprof's ``string_table`` and the report payload's ``strings``: index 0
is always the empty string. This is the one builder of such tables.
"""
from __future__ import annotations

from itertools import islice
from typing import Iterable


class StringTable:
    """Intern strings into a list; ``table(s)`` returns the index of ``s`` (``""`` is 0)."""

    __slots__ = ("table", "_ids")

    def __init__(self) -> None:
        self.table: list[str] = [""]
        self._ids: dict[str, int] = {"": 0}

    def __call__(self, s: str) -> int:
        """Return the index of ``s``, adding it at the end when it is new."""
        i = self._ids.get(s)
        if i is None:
            i = self._ids[s] = len(self.table)
            self.table.append(s)
        return i

    def many(self, strings: Iterable[str]) -> list[int]:
        """Return the index of each of ``strings`` (as calling the table on each, in order)."""
        ids, table = self._ids, self.table
        n = len(table)
        out = [ids.setdefault(s, len(ids)) for s in strings]
        if len(ids) > n:
            table.extend(islice(ids, n, None))
        return out

    def __len__(self) -> int:
        return len(self.table)
