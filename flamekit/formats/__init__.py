"""Format registry (pipeline stage: formats): detect by content, load, dump.

Every format module exposes the same small surface (like inferno's collapsers):

* ``NAME``: the format's name as users say it (``folded``, ``perf-script``...).
* ``EXTENSIONS``: usual file suffixes (used only to pick an *output* format).
* ``sniff(head: bytes) -> bool | None``: True "mine", False "not mine", None
  "need more bytes". ``head`` is the first :data:`_io.HEAD_SIZE` bytes after
  decompression, BOMs normalized to UTF-8.
* ``load(path, *, max_decompressed=None) -> Profile``: raises
  :class:`~flamekit.errors.FormatError` naming the file and a line or offset.
  (We pass a path, not a stream: each format opens it through ``_io`` in the
  mode it needs, text or binary, streaming or not.)
* optional ``dump(profile, f: BinaryIO, *, sample_type=None) -> None``.

The registry is an explicit tuple, most specific first (pprof's parser list).
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any, Callable, Sequence

from ..atomic import atomic_output
from ..errors import FlamekitError, FormatError
from ..model import ModelError, Profile, StackPaths
from . import _io

#: Module names in detection order, most specific first.
_MODULE_NAMES: tuple[str, ...] = (
    "native",
    "speedscope",
    "scalene_json",
    "pprof",
    "chrome",
    "austin",
    "cpython_collapsed",
    "perf_script",
    "folded",
    "csv_export",
)


def _load_modules() -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in _MODULE_NAMES)


FORMATS: tuple[ModuleType, ...] = _load_modules()


def names(readable: bool | None = None, writable: bool | None = None) -> list[str]:
    """Return format names, optionally only those that can be read and/or written."""
    out = []
    for m in FORMATS:
        if readable is not None and (hasattr(m, "load") and hasattr(m, "sniff")) != readable:
            continue
        if writable is not None and hasattr(m, "dump") != writable:
            continue
        out.append(m.NAME)
    return out


def get(name: str) -> ModuleType:
    """Return the format module called ``name`` (raise a usage error listing the choices)."""
    for m in FORMATS:
        if m.NAME == name or name in getattr(m, "ALIASES", ()):
            return m
    raise FlamekitError(f"unknown format {name!r} (known: {', '.join(names())})")


def detect_head(head: bytes) -> ModuleType | None:
    """Return the first format whose ``sniff`` claims ``head``, or None."""
    for m in FORMATS:
        sniff = getattr(m, "sniff", None)
        if sniff is None or not hasattr(m, "load"):
            continue
        try:
            if sniff(head):
                return m
        except Exception:  # a sniffer must never break detection of the others
            continue
    return None


def detect(path: str | os.PathLike, *, max_decompressed: int | None = None) -> ModuleType:
    """Detect the format of a file by its content; raise :class:`FormatError` if none matches."""
    source = os.fspath(path)
    head = _io.read_head(source, max_decompressed=max_decompressed)
    if not head.strip(b" \t\r\n"):
        raise FormatError(None, source, "offset 0", "empty file: no samples")
    if not head.strip(b"\x00"):
        raise FormatError(None, source, "offset 0", "binary data (only NUL bytes): not a profile")
    m = detect_head(head)
    if m is None:
        tried = ", ".join(names(readable=True))
        raise FormatError(None, source, "offset 0", f"unrecognized format (tried: {tried})")
    return m


def _guarded(mod: ModuleType, source: str, read: Callable[[], Any]) -> Any:
    """Run an importer's ``read()``; every failure becomes a :class:`FormatError`.

    An unexpected exception inside an importer is wrapped into one (with
    ``unexpected = True``) so the user never sees a traceback.
    """
    try:
        return read()
    except FormatError:
        raise
    except ModelError as e:
        err = FormatError(mod.NAME, source, None, f"invalid profile: {e}")
        err.unexpected = True  # type: ignore[attr-defined]
        raise err from e
    except FlamekitError:
        raise
    except (RecursionError, MemoryError) as e:
        raise FormatError(mod.NAME, source, None,
                          f"input too large or too deep to load ({type(e).__name__})") from e
    except Exception as e:  # defence in depth: never a traceback for bad input
        err = FormatError(mod.NAME, source, None, f"could not parse ({type(e).__name__}: {e})")
        err.unexpected = True  # type: ignore[attr-defined]
        raise err from e


def load_with_format(path: str | os.PathLike, fmt: str | None = None, *,
                     max_decompressed: int | None = None) -> tuple[Profile, str]:
    """Load a profile, detecting the format unless ``fmt`` names it; return ``(profile, format)``.

    Every failure is a :class:`FormatError` (see :func:`_guarded`). The
    profile's validity check runs before it is returned.
    """
    source = os.fspath(path)
    mod = get(fmt) if fmt else detect(source, max_decompressed=max_decompressed)
    p = _guarded(mod, source,
                 lambda: mod.load(source, max_decompressed=max_decompressed).check())
    return p, mod.NAME


def load_paths(path: str | os.PathLike, fmt: str | None = None, *,
               max_decompressed: int | None = None) -> StackPaths | None:
    """Read a file as root-first paths (:class:`~flamekit.model.StackPaths`) when its format
    is line oriented (folded stacks), else return None (use :func:`load`).

    Errors are those of :func:`load`; the paths are checked before they are returned.
    """
    source = os.fspath(path)
    mod = get(fmt) if fmt else detect(source, max_decompressed=max_decompressed)
    read = getattr(mod, "load_paths", None)
    if read is None:
        return None
    return _guarded(mod, source, lambda: read(source, max_decompressed=max_decompressed).check())


def load(path: str | os.PathLike, fmt: str | None = None, *,
         max_decompressed: int | None = None) -> Profile:
    """Load a profile from any supported format (detected by content)."""
    return load_with_format(path, fmt, max_decompressed=max_decompressed)[0]


def load_many(paths: Sequence[str | os.PathLike]) -> Profile:
    """Load several profiles and merge them into one."""
    from ..model import merge

    profiles = [load(p) for p in paths]
    return profiles[0] if len(profiles) == 1 else merge(*profiles)


def format_for_output(path: str | os.PathLike, fmt: str | None = None) -> ModuleType:
    """Pick the output format: ``fmt`` if given, else by the output file's suffix."""
    if fmt:
        m = get(fmt)
        if not hasattr(m, "dump"):
            raise FlamekitError(f"format {m.NAME!r} cannot be written "
                                f"(writable: {', '.join(names(writable=True))})")
        return m
    p = os.fspath(path).lower()
    if p.endswith(".gz"):
        p = p[:-3]
    best = None
    for m in FORMATS:
        if not hasattr(m, "dump"):
            continue
        for ext in getattr(m, "EXTENSIONS", ()):
            if p.endswith(ext) and (best is None or len(ext) > best[0]):
                best = (len(ext), m)
    if best is None:
        raise FlamekitError(f"cannot tell the output format from {os.fspath(path)!r}; "
                            f"use --to ({', '.join(names(writable=True))})")
    return best[1]


def dump(profile: Profile, path: str | os.PathLike, fmt: str | None = None, *,
         sample_type: str | int | None = None) -> str:
    """Write ``profile`` to ``path`` atomically (gzip when the name ends in .gz); return the format."""
    import gzip

    mod = format_for_output(path, fmt)
    target = os.fspath(path)
    with atomic_output(target, "wb") as f:
        if target.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
                mod.dump(profile, gz, sample_type=sample_type)
        else:
            mod.dump(profile, f, sample_type=sample_type)
    return mod.NAME
