"""Folded / collapsed stacks (FlameGraph, inferno, py-spy ``raw``): import and export.

Pipeline stage: formats. One line per stack, frames root first, joined by ``;``,
then whitespace and a count::

    main (app.py:10);price (pricing.py:42);_burn (pricing.py:25) 17

Grammar on import:

* The count is the text after the LAST space or tab of the line and must match
  ``[0-9]+(\\.[0-9]+)?`` (so ``1e3``, ``-3``, ``nan``, ``1_000`` or non-ASCII
  digits are not counts). Everything before that single separator is the stack,
  so ``main;foo 12;bar 3 4`` has frames ``foo 12`` and ``bar 3`` and count 4.
  Counts too large for a float64 (more than 308 integer digits) raise a
  :class:`FormatError` naming the line. Lines without a valid count (comments,
  prose, ``main;b``, ``main;c x``) are skipped and counted in one warning; blank
  lines are ignored silently.
* Frames: ``name (file:line)`` and ``name (file)`` are split into name, file
  and line (py-spy raw); a trailing FlameGraph annotation ``_[k]``, ``_[j]`` or
  ``_[i]`` sets the kind to kernel, jit or inlined and is removed from the name
  (``_[w]``, FlameGraph's waker mark, has no kind in the model and stays in the
  name). Other frames get their kind from the file by the shared rule
  (:func:`._kinds.frame_kind`: ``python`` for Python files, ``native`` for
  C/C++/Rust/Go sources and shared objects, else ``unknown``). Empty frame names are kept as ``''``.
* py-spy's optional root frames ``process PID:"command"`` (``--subprocesses``)
  and ``thread (TID)`` / ``thread (TID): name`` (``--threads``) become the
  sample's thread (pid, tid, name); commands go to ``meta["processes"]``.
* Encodings: UTF-8 (invalid bytes become U+FFFD), UTF-8/UTF-16 with a BOM, gzip
  (through :mod:`._io`); line endings LF, CRLF or CR only.
* Identical (stack, thread) lines are summed into one sample, in order of first
  appearance.

Export (:func:`dump`) writes one line per (stack, thread) of one sample type
(the first unless ``sample_type`` names another). Frames with a file are written
``name (file:line)`` (``name (file)`` when the line is 0), kinds kernel/jit/inlined
get their ``_[k]``/``_[j]``/``_[i]`` suffix, threads other than the default one get
py-spy's ``process``/``thread`` root frames. Counts are integers when the value is
integral, otherwise the shortest positional decimal that reads back to the same
float64 (never an exponent); negative values cannot be written. One exception keeps
FlameGraph's integer grammar for recorded time: a sample type whose unit is
``seconds``, ``milliseconds`` or ``microseconds`` and whose sums are not all integral
(py-spy's speedscope weights, e.g. 0.01 s per sample) is written in whole
microseconds (rounded); folded files carry no unit, and widths stay proportional.

Escaping (both directions): a frame's text may not contain ``;``, LF or CR, so they
are written as ``\\x3b``, ``\\x0a`` and ``\\x0d``. Where a name or file would
otherwise be misread, ``(`` ``)`` ``[`` ``"`` become ``\\x28`` ``\\x29`` ``\\x5b``
``\\x22`` (a file containing parentheses, a file-less name ending in ``(...)``, a
name ending in ``_[k]`` that is not a kernel frame, a name that looks like a
py-spy thread/process frame), and a backslash that starts one of these eight
sequences is written ``\\x5c``. On import exactly these eight sequences
(case-insensitive hex) are decoded and every other backslash is literal, so
Windows paths and foreign files read unchanged. See ``docs/format.md``.
"""
from __future__ import annotations

import math
import os
import re
from itertools import chain
from typing import BinaryIO, Mapping

import numpy as np

from ..errors import FlamekitError, FormatError
from ..model import Profile, SampleType, StackPaths, Thread
from . import _io
from ._folded_frames import esc_common, format_frame, parse_frame
from ._folded_read import COUNT_RX, SAMPLE_TYPE, build_profile
from ._folded_read import load_paths as _read_paths
from ._format import Format

NAME = "folded"
__all__ = ["NAME", "FORMAT", "SAMPLE_TYPE", "sniff", "load", "load_paths", "dump", "parse_frame",
           "format_frame", "format_count", "leaf_paths"]

CHUNK = 8 * 1024 * 1024  #: bytes read at a time
_COUNT_RX = COUNT_RX


# ---------------------------------------------------------------------------
# Sniffing
# ---------------------------------------------------------------------------
def _valid_line(line: bytes) -> bool:
    return bool(_COUNT_RX.match(line))


def sniff(head: bytes) -> bool | None:
    """Claim text whose first line that is not blank or a ``#``/``//`` comment is ``stack COUNT``."""
    if not head.strip():
        return False
    if head.count(b"\x00") * 10 > len(head):  # binary, or UTF-16 without a BOM
        return False
    if head.lstrip()[:1] == b"{":  # JSON objects ("[unknown]" and "<module>" are frames)
        return False
    lines = re.split(rb"\r\n|\r|\n", head)
    truncated = len(head) >= _io.HEAD_SIZE
    if truncated and len(lines) == 1:
        # one line longer than the head: text with ';' separators and no control bytes
        return b";" in head and not re.search(rb"[\x00-\x08\x0e-\x1f]", head[:4096])
    if truncated:
        lines = lines[:-1]  # the last line may be cut
    for raw in lines[:200]:
        line = raw.strip()
        if not line or line.startswith((b"#", b"//")):
            continue
        # the first meaningful line decides; later lines may be skipped with a warning
        return _valid_line(raw)
    return False


# ---------------------------------------------------------------------------
# Import (the loop is in ._folded_read)
# ---------------------------------------------------------------------------
def load(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Profile:
    """Load a folded / collapsed stack file (see the module docstring for the grammar)."""
    return build_profile(load_paths(path, max_decompressed=max_decompressed))


def load_paths(path: str | os.PathLike, *, max_decompressed: int | None = None) -> StackPaths:
    """Read a folded file into root-first paths, one per line, without building a stack table."""
    return _read_paths(path, max_decompressed=max_decompressed, chunk=CHUNK)


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------
#: integer-microsecond scaling for time units on export (see the module docstring)
_TIME_TO_MICROSECONDS = {"seconds": 1e6, "milliseconds": 1e3, "microseconds": 1.0}


def format_count(v: float) -> str:
    """Return a count as folded text: an integer when integral, else a positional decimal."""
    if v == int(v):
        return str(int(v))
    return np.format_float_positional(v, unique=True, trim="-")


def _thread_prefix(t: Thread, processes: dict) -> bytes:
    parts = []
    if t.pid is not None:
        cmd = str(processes.get(str(t.pid), ""))
        parts.append(f'process {t.pid}:"{esc_common(cmd)}"')
    if not (t.id == 0 and not t.name):
        parts.append(f"thread ({t.id})" + (f": {esc_common(t.name)}" if t.name else ""))
    return "".join(p + ";" for p in parts).encode("utf-8", "surrogatepass")


def leaf_paths(p: Profile, leaves: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Return root-first frame ids of many stacks back to back, and each one's start offset."""
    depth = p.stack_depths()
    d = depth[leaves] if len(leaves) else np.zeros(0, dtype=np.int64)
    starts = np.zeros(len(leaves) + 1, dtype=np.int64)
    np.cumsum(d, out=starts[1:])
    maxd = int(d.max()) if len(d) else 0
    if int(starts[-1]) < maxd * 400:  # few, deep stacks: a plain walk beats maxd numpy passes
        pre, fr = p.stack_prefix.tolist(), p.stack_frame.tolist()
        out: list[int] = []
        for leaf in leaves.tolist():
            path = []
            while leaf >= 0:
                path.append(fr[leaf])
                leaf = pre[leaf]
            out += reversed(path)
        return out, starts
    flat = np.empty(int(starts[-1]), dtype=np.int64)
    order = np.argsort(-d, kind="stable")
    d_sorted = d[order]
    cur = leaves[order].copy()
    end = starts[1:][order] - 1
    for j in range(maxd):
        alive = int(np.searchsorted(-d_sorted, -(j + 1), side="right"))
        c = cur[:alive]
        flat[end[:alive] - j] = p.stack_frame[c]
        cur[:alive] = p.stack_prefix[c]
    return flat.tolist(), starts


def _first_seen(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct ``keys`` in order of first appearance and each key's index among them."""
    uniq, first, codes = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return uniq[order], rank[codes.reshape(-1)]


def _count_texts(sums: np.ndarray) -> list[bytes]:
    """Return each line's ``" COUNT\\n"``, integers in one pass when they all are."""
    if len(sums) and np.array_equal(sums, np.floor(sums)) and float(np.abs(sums).max()) < 2.0 ** 63:
        return [b" %d\n" % c for c in sums.astype(np.int64).tolist()]
    return [b" " + format_count(s).encode() + b"\n" for s in sums.tolist()]


def dump(profile: Profile, f: BinaryIO, *, sample_type: str | int | None = None,
         flamegraph: Mapping[str, bool] | None = None) -> None:
    """Write one ``stack COUNT`` line per (stack, thread) for one sample type.

    ``flamegraph`` (for profiles read from ``perf script``) writes FlameGraph's
    ``stackcollapse-perf.pl`` output instead: the options of
    :func:`~flamekit.formats.perf_script.collapse_flamegraph` (``pid``, ``tid``,
    ``kernel``, ``jit``; an empty mapping is the Perl script's default, command
    roots). Default is ``None``: flamekit's own escaped stacks with thread roots.
    Lines come in order of the first sample of each (stack, thread). Each distinct
    stack's text is built once (a stack shared by many threads is common in perf
    profiles) and the output is written in blocks of about 4 MB.
    """
    if flamegraph is not None:
        from ._perf_flamegraph import collapse_flamegraph, format_folded
        text = format_folded(collapse_flamegraph(profile, sample_type=sample_type, **flamegraph))
        f.write(text.encode("utf-8", "surrogatepass"))
        return
    p = profile
    k = p.type_index(sample_type)
    if p.n_samples == 0:
        return
    v = p.values[:, k]
    if (v < 0).any():
        raise FlamekitError(f"folded stacks cannot hold negative values (sample type "
                            f"{p.sample_types[k]} has some); pick another --sample-type")
    nt = max(len(p.threads), 1)
    uniq, codes = _first_seen(np.asarray(p.sample_stack, dtype=np.int64) * nt + p.sample_thread)
    sums = np.bincount(codes, weights=v, minlength=len(uniq))
    scale = _TIME_TO_MICROSECONDS.get(p.sample_types[k].unit)
    if scale is not None and not np.array_equal(sums, np.round(sums)):
        sums = np.round(sums * scale)
    leaves, leaf_of = np.unique(uniq // nt, return_inverse=True)
    labels = [format_frame(fr).encode("utf-8", "surrogatepass") for fr in p.frames]
    flat, starts = leaf_paths(p, leaves)
    st = starts.tolist()
    lab = labels.__getitem__
    paths = [b";".join(map(lab, flat[st[i]:st[i + 1]])) for i in range(len(leaves))]
    processes = p.meta.get("processes") if isinstance(p.meta.get("processes"), dict) else {}
    tpre = [_thread_prefix(t, processes) for t in p.threads]
    heads = map(paths.__getitem__, leaf_of.reshape(-1).tolist())
    tails = _count_texts(sums)
    if any(tpre):  # thread prefix, path, " COUNT\n": each line's bytes are copied once, by join
        parts = [map(tpre.__getitem__, (uniq % nt).tolist()), heads, tails]
    else:
        parts = [heads, tails]
    pieces = list(chain.from_iterable(zip(*parts)))
    step = len(parts) * max(1, (4 << 20) // max(1, len(paths[0]) + 16))
    for i in range(0, len(pieces), step):
        f.write(b"".join(pieces[i:i + step]))


#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(
    NAME,
    extensions=(".folded", ".collapsed", ".raw.txt", ".stacks", ".txt"),
    aliases=("collapsed", "py-spy-raw", "raw", "flamegraph"),
    sniff=sniff,
    load=load,
    dump=dump,
    load_paths=load_paths,
    one_value_per_stack=True,
)
