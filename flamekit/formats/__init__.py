"""Format registry (pipeline stage: formats): detect by content, load, dump.

The contract for a format module (``formats/<name>.py``; inferno gives every
collapser the same ``Folder``/``Options``, pprof keeps a ``parsers`` list):

* It declares one module-level ``FORMAT = Format(...)`` record
  (:class:`~flamekit.formats._format.Format`, a frozen dataclass) with:

  - ``name``: the format's name as users say it (``folded``, ``perf-script``...);
    ``aliases``: other accepted spellings for ``--from``/``--to``.
  - ``extensions``: usual file suffixes, lower case, used only to pick an
    *output* format from a file name (input is always detected by content).
  - ``sniff(head: bytes) -> bool | None``: True "mine", False "not mine", None
    "need more bytes". ``head`` is the first :data:`_io.HEAD_SIZE` bytes after
    decompression, BOMs normalized to UTF-8. It must not raise (the registry
    treats an exception as "not mine").
  - ``load(path, *, max_decompressed=None) -> Profile``: raises
    :class:`~flamekit.errors.FormatError` naming the file and a line or byte
    offset. (A path, not a stream: each format opens it through the shared
    readers in the mode it needs.) ``sniff`` and ``load`` go together; a format
    with neither is export only (CSV).
  - optional ``dump(profile, f: BinaryIO, *, sample_type=None) -> None``.
  - optional ``load_paths(path, *, max_decompressed=None) -> StackPaths`` for
    line-oriented formats whose lines are root-first paths (folded stacks).
  - ``one_value_per_stack``: the written file holds one sample type only.

* It reads bytes only through the shared helpers, never its own copies:
  :mod:`._io` (opening, the capped gzip reader, BOMs, the chunked line readers
  ``iter_lines`` and ``iter_line_blocks``), :mod:`._json` (the strict JSON
  reader ``load_json`` / ``parse_json``, and ``describe`` for error messages)
  and :mod:`._kinds` (``frame_kind``: the one rule deciding python / native /
  kernel / jit from a file name or module; a format's own explicit marks, such
  as FlameGraph's ``_[k]``, win over it).

* Its module is added to :data:`MODULES` below, an explicit tuple, most specific
  first (pprof's parser list, memray's ``_COMMANDS``). Nothing is discovered by
  import-time decorators or ``hasattr`` probing. A format module is imported when
  it is first needed: detection stops at the first format that claims the file,
  so a report of the JSON profile ``flamekit record`` writes (second in the order)
  imports two format modules, not fourteen (issue 15: start-up), and the export-only
  CSV writer is imported only to write CSV. :data:`FORMATS` (every format) imports
  them all.

The registry wraps every load in :func:`guarded`: an unexpected exception inside
an importer becomes a one-line :class:`FormatError`, never a traceback, and the
profile's validity check runs before a profile is returned.

Text: a lone UTF-16 surrogate (a JSON ``"\ud800"`` escape) is not Unicode and
cannot be written as UTF-8. The one rule (:func:`flamekit.model.valid_text`) is
applied here, once for every format: a loaded profile has each one replaced by
U+FFFD, with a warning, and so has a profile before any writer sees it.
"""
from __future__ import annotations

import importlib
import os
from typing import Any, Iterator

from ..atomic import atomic_output
from ..errors import FlamekitError, FormatError
from ..model import Profile, StackPaths, valid_text
from . import _io
from ._format import Format, guarded
from ._io import remove_spooled

#: Every format's module (each declares ``FORMAT``), in detection order, most specific first.
MODULES: tuple[str, ...] = (
    "memray",
    "native",
    "speedscope",
    "scalene_json",
    "pprof",
    "pstats",
    "pyinstrument",
    "gecko",
    "chrome",
    "austin",
    "cpython_collapsed",
    "perf_script",
    "folded",
    "csv_export",
)


def _each() -> Iterator[Format]:
    """Yield every format in detection order, importing each module when it is reached."""
    for name in MODULES:
        yield importlib.import_module(f"{__name__}.{name}").FORMAT


def __getattr__(name: str) -> Any:
    """``FORMATS``: every format, in detection order (imports every format module)."""
    if name == "FORMATS":
        return tuple(_each())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FORMATS", "MODULES", "paths_tree", "Format", "names", "get", "detect_head", "detect", "guarded", "remove_spooled",
           "load_with_format", "load_paths", "load", "format_for_output", "dump"]


def names(readable: bool | None = None, writable: bool | None = None) -> list[str]:
    """Return format names, optionally only those that can be read and/or written."""
    return [f.name for f in _each()
            if (readable is None or f.readable == readable)
            and (writable is None or f.writable == writable)]


def get(name: str) -> Format:
    """Return the format called ``name`` or one of its aliases (raise a usage error listing the choices)."""
    for f in _each():
        if f.matches(name):
            return f
    raise FlamekitError(f"unknown format {name!r} (known: {', '.join(names())})")


def detect_head(head: bytes) -> Format | None:
    """Return the first readable format whose ``sniff`` claims ``head``, or None."""
    for f in _each():
        if f.sniff is None:
            continue
        try:
            if f.sniff(head):
                return f
        except Exception:  # a sniffer must never break detection of the others
            continue
    return None


def detect(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Format:
    """Detect the format of a file by its content; raise :class:`FormatError` if none matches.

    ``-`` is standard input; pipes and devices are read once (:func:`_io.readable_path`).
    """
    source = os.fspath(path)
    real = _io.readable_path(source, cap=max_decompressed)
    try:
        return _detect(real, max_decompressed)
    except FormatError as e:
        raise _io.renamed(e, real, source) from None


def _detect(source: str, max_decompressed: int | None) -> Format:
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


def load_with_format(path: str | os.PathLike, fmt: str | None = None, *,
                     max_decompressed: int | None = None) -> tuple[Profile, str]:
    """Load a profile, detecting the format unless ``fmt`` names it; return ``(profile, format)``.

    Every failure is a :class:`FormatError` (see :func:`guarded`). The
    profile's validity check runs before it is returned.
    """
    source = os.fspath(path)
    f = get(fmt) if fmt else detect(source, max_decompressed=max_decompressed)
    read = f.load
    if read is None:
        raise FlamekitError(f"format {f.name!r} cannot be read "
                            f"(readable: {', '.join(names(readable=True))})")
    real = _io.readable_path(source, cap=max_decompressed)
    try:
        p = guarded(f.name, real, lambda: read(real, max_decompressed=max_decompressed).check())
        p, n = guarded(f.name, real, lambda: valid_text(p))
    except FormatError as e:
        raise _io.renamed(e, real, source) from None
    if n:
        warns = p.meta.get("warnings") or []
        p.meta["warnings"] = [*warns, f"{source}: {n} text field(s) held lone UTF-16 surrogates "
                                      "(not Unicode text); each was replaced with U+FFFD"]
    return p, f.name


def load_paths(path: str | os.PathLike, fmt: str | None = None, *,
               max_decompressed: int | None = None) -> StackPaths | None:
    """Read a file as root-first paths (:class:`~flamekit.model.StackPaths`) when its format
    is line oriented (folded stacks), else return None (use :func:`load`).

    Errors are those of :func:`load`; the paths are checked before they are returned.
    """
    source = os.fspath(path)
    f = get(fmt) if fmt else detect(source, max_decompressed=max_decompressed)
    read = f.load_paths
    if read is None:
        return None
    real = _io.readable_path(source, cap=max_decompressed)
    try:
        return guarded(f.name, real, lambda: read(real, max_decompressed=max_decompressed).check())
    except FormatError as e:
        raise _io.renamed(e, real, source) from None


def paths_tree(flat: Any, lengths: Any) -> tuple[Any, Any, Any] | None:
    """Return :func:`flamekit.tree.from_paths` ``(prefix, frame, leaf)`` of root-first paths
    (``sort=False``: level by level, each level in first-seen order) computed by the compiled
    extension, or None where it is not built or the input does not suit it (ids beyond int32,
    a path of length 0, 2**31 paths or more): then use :func:`flamekit.tree.from_paths`."""
    import numpy as np

    from . import _folded_read, _lines

    lengths = np.asarray(lengths)
    if _lines.paths_tree is None or not len(lengths) or int(lengths.min()) < 1 \
            or len(lengths) >= 2**31 - 1 or (len(flat) and int(np.max(flat)) >= 2**31 - 1):
        return None
    return _folded_read.stack_table(np.asarray(flat, dtype=np.int32), lengths)


def load(path: str | os.PathLike, fmt: str | None = None, *,
         max_decompressed: int | None = None) -> Profile:
    """Load a profile from any supported format (detected by content)."""
    return load_with_format(path, fmt, max_decompressed=max_decompressed)[0]


def format_for_output(path: str | os.PathLike, fmt: str | None = None) -> Format:
    """Pick the output format: ``fmt`` if given, else by the output file's suffix."""
    if fmt:
        f = get(fmt)
        if not f.writable:
            raise FlamekitError(f"format {f.name!r} cannot be written "
                                f"(writable: {', '.join(names(writable=True))})")
        return f
    p = os.fspath(path)
    if p.lower().endswith(".gz"):
        p = p[:-3]
    best = max(((f.suffix_length(p), f) for f in _each() if f.writable),
               key=lambda t: t[0], default=(0, None))
    if best[1] is None or best[0] == 0:
        raise FlamekitError(f"cannot tell the output format from {os.fspath(path)!r}; "
                            f"use --to ({', '.join(names(writable=True))})")
    return best[1]


def dump(profile: Profile, path: str | os.PathLike, fmt: str | None = None, *,
         sample_type: str | int | None = None, **options: Any) -> str:
    """Write ``profile`` to ``path`` atomically (gzip when the name ends in .gz); return the format.

    ``options`` go to the format's writer (e.g. ``raw=True`` for CSV).
    """
    import gzip

    f = format_for_output(path, fmt)
    write = f.dump
    assert write is not None  # format_for_output returns writable formats only
    profile = valid_text(profile)[0]  # lone surrogates: U+FFFD, as on import
    target = os.fspath(path)
    with atomic_output(target, "wb") as out:
        if target.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
                write(profile, gz, sample_type=sample_type, **options)
        else:
            write(profile, out, sample_type=sample_type, **options)
    return f.name
