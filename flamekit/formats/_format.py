"""The :class:`Format` record every format module declares (pipeline stage: formats).

Kept apart from ``formats/__init__.py`` so that format modules can import it
while the registry imports them. See :mod:`flamekit.formats` for the contract.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..errors import FlamekitError, FormatError
from ..model import LimitError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Profile, StackPaths  # noqa: F401

#: ``sniff(head) -> True`` (mine), ``False`` (not mine) or ``None`` (need more bytes).
Sniff = Callable[[bytes], Optional[bool]]
#: ``load(path, *, max_decompressed=None) -> Profile``.
Load = Callable[..., "Profile"]
#: ``dump(profile, f: BinaryIO, *, sample_type=None) -> None``.
Dump = Callable[..., None]
#: ``load_paths(path, *, max_decompressed=None) -> StackPaths``.
LoadPaths = Callable[..., "StackPaths"]


@dataclass(frozen=True)
class Format:
    """One format as the registry sees it: its names, how to recognize, read and write it.

    ``sniff`` and ``load`` are both set for a readable format (or both None for
    an export-only one such as CSV); ``dump`` is set for a writable format;
    ``load_paths`` only for line-oriented formats that can hand root-first paths
    to the diff without building a stack table (folded stacks).
    ``one_value_per_stack`` says the written file holds one sample type only
    (the CLI then notes which one it wrote). Default is ``False``.
    """

    name: str
    extensions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    sniff: Optional[Sniff] = None
    load: Optional[Load] = None
    dump: Optional[Dump] = None
    load_paths: Optional[LoadPaths] = None
    one_value_per_stack: bool = False

    def __post_init__(self) -> None:
        if (self.sniff is None) != (self.load is None):
            raise TypeError(f"format {self.name!r}: sniff and load go together")
        if self.load is None and self.dump is None:
            raise TypeError(f"format {self.name!r} can neither be read nor written")

    @property
    def readable(self) -> bool:
        """True when the format can be detected and loaded."""
        return self.load is not None

    @property
    def writable(self) -> bool:
        """True when the format has a ``dump``."""
        return self.dump is not None

    def matches(self, name: str) -> bool:
        """Return True when ``name`` is this format's name or one of its aliases."""
        return name == self.name or name in self.aliases

    def suffix_length(self, path: str | os.PathLike) -> int:
        """Return the length of the longest of ``extensions`` that ends ``path`` (0: none)."""
        p = os.fspath(path).lower()
        return max((len(e) for e in self.extensions if p.endswith(e)), default=0)


def guarded(fmt: str | None, source: str, read: Callable[[], Any]) -> Any:
    """Run an importer's ``read()``; every failure becomes a :class:`FormatError`.

    An unexpected exception inside an importer is wrapped into one (with
    ``unexpected = True``) so the user never sees a traceback.
    """
    try:
        return read()
    except FormatError:
        raise
    except LimitError as e:  # well formed, but beyond what flamekit computes with
        raise FormatError(fmt, source, None, str(e)) from e
    except ModelError as e:
        err = FormatError(fmt, source, None, f"invalid profile: {e}")
        err.unexpected = True  # type: ignore[attr-defined]
        raise err from e
    except FlamekitError:
        raise
    except (RecursionError, MemoryError) as e:
        raise FormatError(fmt, source, None,
                          f"input too large or too deep to load ({type(e).__name__})") from e
    except Exception as e:  # defence in depth: never a traceback for bad input
        err = FormatError(fmt, source, None, f"could not parse ({type(e).__name__}: {e})")
        err.unexpected = True  # type: ignore[attr-defined]
        raise err from e
