"""The common profile model (pipeline stage: model).

Every importer produces, and every analysis and renderer reads, a :class:`Profile`.
The layout is columnar and interned, like the Firefox Profiler's processed format
and pprof's ``profile.proto``:

* ``frames``: one :class:`Frame` per distinct ``(name, file, line, module, kind)``.
* stack table: one row per distinct stack *prefix*, columns ``stack_prefix``
  (parent row, ``-1`` at a root) and ``stack_frame``. Stacks are **root first**: a
  stack is identified by its leaf row, and the table is a trie, so the table *is*
  the call tree. Invariant: ``stack_prefix[i] < i`` (parents come first) and no
  two rows share ``(prefix, frame)``.
* samples: numpy columns ``sample_stack``, ``sample_thread`` (index into
  ``threads``), optional ``sample_time`` (seconds, float64) and ``values`` of shape
  ``(n_samples, n_sample_types)``, float64 (integer counts are exact up to 2**53).
* ``sample_types``: :class:`SampleType` ``(name, unit)`` per value column, like
  pprof's ``ValueType``.
* ``threads``: :class:`Thread` rows; ``meta``: JSON-able metadata; ``tables``:
  extra JSON-able column tables (``{"name": {"column": [...]}}``), e.g. scalene's
  per-line table or the recorder's resource timeline.

This module imports nothing else from flamekit except :mod:`flamekit.errors`.
Operations are functions returning new profiles; derived views are computed.
"""
from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from .errors import FlamekitError

KINDS = ("python", "native", "kernel", "jit", "inlined", "unknown")

_I64 = np.int64


@dataclass(frozen=True, order=True)
class SampleType:
    """One value column: ``name`` (``cpu``, ``wall``, ``alloc_space``...) and ``unit``."""

    name: str
    unit: str

    def __str__(self) -> str:
        return f"{self.name}/{self.unit}"


@dataclass(frozen=True, order=True)
class Frame:
    """One interned frame. ``line`` is 0 when unknown; ``kind`` is one of :data:`KINDS`."""

    name: str
    file: str = ""
    line: int = 0
    module: str = ""
    kind: str = "unknown"

    def label(self, with_line: bool = True) -> str:
        """Return a human label: ``name (file:line)``, or ``name`` when there is no file."""
        if not self.file:
            return self.name
        if with_line and self.line:
            return f"{self.name} ({self.file}:{self.line})"
        return f"{self.name} ({self.file})"


@dataclass(frozen=True, order=True)
class Thread:
    """A thread: ``id`` (OS thread id or the format's id), ``name``, optional ``pid``."""

    id: int
    name: str = ""
    pid: int | None = None

    def label(self) -> str:
        """Return a display label such as ``MainThread (tid 123, pid 7)``."""
        bits = [f"tid {self.id}"]
        if self.pid is not None:
            bits.append(f"pid {self.pid}")
        return f"{self.name or 'thread'} ({', '.join(bits)})"


class ModelError(FlamekitError):
    """A profile violates the model's invariants (a bug in an importer or an op)."""


def _arr(a: Any, dtype: Any) -> np.ndarray:
    out = np.asarray(a, dtype=dtype)
    if out.ndim != 1:
        out = out.reshape(-1)
    return out


def type_index(sample_types: Sequence[SampleType], sample_type: str | int | SampleType | None
               ) -> int:
    """Return the index of a sample type in ``sample_types`` given by index, name or
    ``name/unit`` (``None``: the first). Raises :class:`FlamekitError` listing the
    available types when nothing matches."""
    if sample_type is None:
        if not sample_types:
            raise FlamekitError("profile has no sample types")
        return 0
    if isinstance(sample_type, (int, np.integer)):
        if 0 <= int(sample_type) < len(sample_types):
            return int(sample_type)
    else:
        key = str(sample_type)
        for i, st in enumerate(sample_types):
            if key == str(st):
                return i
        for i, st in enumerate(sample_types):
            if key == st.name:
                return i
    avail = ", ".join(str(s) for s in sample_types) or "none"
    raise FlamekitError(f"no sample type {sample_type!r} in this profile (available: {avail})")


class Profile:
    """A profile: frames, a stack prefix table, sample columns, threads and metadata.

    Construct directly from columns (then call :meth:`check`), or with
    :class:`ProfileBuilder`. Treat instances as immutable: operations return
    new profiles.
    """

    __slots__ = ("frames", "stack_prefix", "stack_frame", "sample_stack", "sample_thread",
                 "sample_time", "values", "sample_types", "threads", "meta", "tables")

    def __init__(self, *, frames: Sequence[Frame], stack_prefix: Any, stack_frame: Any,
                 sample_stack: Any, values: Any, sample_types: Sequence[SampleType],
                 sample_thread: Any = None, sample_time: Any = None,
                 threads: Sequence[Thread] = (), meta: dict | None = None,
                 tables: dict | None = None) -> None:
        self.frames: tuple[Frame, ...] = tuple(frames)
        self.stack_prefix: np.ndarray = _arr(stack_prefix, _I64)
        self.stack_frame: np.ndarray = _arr(stack_frame, _I64)
        self.sample_stack: np.ndarray = _arr(sample_stack, _I64)
        n = len(self.sample_stack)
        self.sample_types: tuple[SampleType, ...] = tuple(sample_types)
        vals = np.asarray(values, dtype=np.float64)
        if vals.ndim == 1:
            vals = vals.reshape(n, -1) if n else vals.reshape(0, len(self.sample_types))
        self.values: np.ndarray = vals
        self.threads: tuple[Thread, ...] = tuple(threads) if threads else (Thread(0, ""),)
        if sample_thread is None:
            sample_thread = np.zeros(n, dtype=_I64)
        self.sample_thread: np.ndarray = _arr(sample_thread, _I64)
        self.sample_time: np.ndarray | None = (None if sample_time is None
                                               else _arr(sample_time, np.float64))
        self.meta: dict = dict(meta or {})
        self.tables: dict = dict(tables or {})

    # -- basic facts -------------------------------------------------------
    @property
    def n_samples(self) -> int:
        """Number of sample rows."""
        return int(len(self.sample_stack))

    @property
    def n_stacks(self) -> int:
        """Number of rows in the stack prefix table."""
        return int(len(self.stack_prefix))

    def type_index(self, sample_type: str | int | SampleType | None) -> int:
        """Return the column index of a sample type given by index, name or ``name/unit``.

        ``None`` means the first type. Raises :class:`FlamekitError` listing the
        available types when nothing matches (see :func:`type_index`).
        """
        return type_index(self.sample_types, sample_type)

    def totals(self) -> np.ndarray:
        """Return the sum of every value column (float64 array)."""
        return self.values.sum(axis=0) if self.n_samples else np.zeros(len(self.sample_types))

    def stack_frames(self, stack: int) -> list[int]:
        """Return the frame ids of one stack, root first (iterative: deep stacks are fine)."""
        out = []
        pre, fr = self.stack_prefix, self.stack_frame
        s = int(stack)
        while s >= 0:
            out.append(int(fr[s]))
            s = int(pre[s])
        out.reverse()
        return out

    def stack_depths(self) -> np.ndarray:
        """Return the depth of every stack row (roots have depth 1)."""
        return _depths(self.stack_prefix)

    def copy(self, **changes: Any) -> "Profile":
        """Return a shallow copy with some attributes replaced."""
        kw = {k: getattr(self, k) for k in self.__slots__}
        kw["meta"] = copy.deepcopy(self.meta)
        kw["tables"] = copy.deepcopy(self.tables)
        kw.update(changes)
        return Profile(**kw)

    # -- validity ----------------------------------------------------------
    def check(self) -> "Profile":
        """Check the model's invariants; raise :class:`ModelError` on the first violation.

        Run after every load (pprof's ``CheckValid``). Returns ``self``.
        """
        ns, nf, nsm = self.n_stacks, len(self.frames), self.n_samples
        if len(self.stack_frame) != ns:
            raise ModelError("stack_prefix and stack_frame differ in length")
        if ns:
            idx = np.arange(ns, dtype=_I64)
            if (self.stack_prefix < -1).any() or (self.stack_prefix >= idx).any():
                raise ModelError("stack table is not topologically ordered (prefix must be < row)")
            if (self.stack_frame < 0).any() or (self.stack_frame >= nf).any():
                raise ModelError("stack table refers to a frame that does not exist")
            key = (self.stack_prefix + 1) * (nf + 1) + self.stack_frame
            key.sort()  # numpy's vectorized sort beats a hash table here (~5x)
            if ns > 1 and not (key[1:] != key[:-1]).all():
                raise ModelError("stack table has duplicate (prefix, frame) rows")
        if self.values.shape != (nsm, len(self.sample_types)):
            raise ModelError(f"values shape {self.values.shape} does not match "
                             f"{nsm} samples x {len(self.sample_types)} sample types")
        if len(self.sample_thread) != nsm:
            raise ModelError("sample_thread length differs from sample_stack")
        if self.sample_time is not None and len(self.sample_time) != nsm:
            raise ModelError("sample_time length differs from sample_stack")
        if nsm:
            if (self.sample_stack < 0).any() or (self.sample_stack >= ns).any():
                raise ModelError("a sample refers to a stack that does not exist")
            if (self.sample_thread < 0).any() or (self.sample_thread >= len(self.threads)).any():
                raise ModelError("a sample refers to a thread that does not exist")
            if not np.isfinite(self.values).all():
                raise ModelError("a sample value is not finite (NaN or infinity)")
            if self.sample_time is not None and not np.isfinite(self.sample_time).all():
                raise ModelError("a sample time is not finite")
        if len(set(self.sample_types)) != len(self.sample_types):
            raise ModelError("duplicate sample types")
        for f in self.frames:
            if f.kind not in KINDS:
                raise ModelError(f"frame kind {f.kind!r} is not one of {KINDS}")
        try:
            json.dumps(self.meta, allow_nan=False)
            json.dumps(self.tables, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ModelError(f"meta/tables are not plain JSON: {e}") from None
        return self

    # -- comparison --------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        """Exact structural equality: same tables, same order, same metadata."""
        if not isinstance(other, Profile):
            return NotImplemented
        if (self.frames != other.frames or self.sample_types != other.sample_types
                or self.threads != other.threads or self.meta != other.meta
                or self.tables != other.tables):
            return False
        for a, b in ((self.stack_prefix, other.stack_prefix), (self.stack_frame, other.stack_frame),
                     (self.sample_stack, other.sample_stack), (self.sample_thread, other.sample_thread),
                     (self.values, other.values)):
            if a.shape != b.shape or not np.array_equal(a, b):
                return False
        if (self.sample_time is None) != (other.sample_time is None):
            return False
        return self.sample_time is None or np.array_equal(self.sample_time, other.sample_time)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"<Profile {self.n_samples} samples, {self.n_stacks} stacks, "
                f"{len(self.frames)} frames, types={[str(s) for s in self.sample_types]}>")


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------
class ProfileBuilder:
    """Incrementally build a :class:`Profile` (for streaming importers).

    Frames and stack prefixes are interned with dicts; samples accumulate in
    Python lists and become numpy columns in :meth:`build`.
    """

    def __init__(self, sample_types: Sequence[SampleType]) -> None:
        self.sample_types: list[SampleType] = list(sample_types)
        self.frames: list[Frame] = []
        self._frame_ids: dict[Frame, int] = {}
        self.prefix: list[int] = []
        self.frame_of: list[int] = []
        self._children: dict[tuple[int, int], int] = {}
        self.threads: list[Thread] = []
        self._thread_ids: dict[Thread, int] = {}
        self.s_stack: list[int] = []
        self.s_thread: list[int] = []
        self.s_time: list[float] = []
        self.s_values: list[Sequence[float]] = []
        self.warnings: list[str] = []
        self.meta: dict = {}
        self.tables: dict = {}

    def add_sample_type(self, st: SampleType) -> int:
        """Add a value column (existing samples get 0) and return its index."""
        if st in self.sample_types:
            return self.sample_types.index(st)
        self.sample_types.append(st)
        k = len(self.sample_types)
        self.s_values = [tuple(v) + (0.0,) * (k - len(v)) for v in self.s_values]
        return k - 1

    def frame(self, name: str, file: str = "", line: int = 0, module: str = "",
              kind: str = "unknown") -> int:
        """Intern a frame and return its id."""
        f = Frame(name, file, int(line), module, kind)
        fid = self._frame_ids.get(f)
        if fid is None:
            fid = self._frame_ids[f] = len(self.frames)
            self.frames.append(f)
        return fid

    def push(self, parent: int, frame_id: int) -> int:
        """Return the stack row for ``parent`` + ``frame_id``, creating it if needed."""
        key = (parent, frame_id)
        sid = self._children.get(key)
        if sid is None:
            sid = self._children[key] = len(self.prefix)
            self.prefix.append(parent)
            self.frame_of.append(frame_id)
        return sid

    def stack(self, frame_ids: Iterable[int], parent: int = -1) -> int:
        """Intern a stack given root-first frame ids; return its leaf row (``parent`` if empty)."""
        sid = parent
        children = self._children
        for f in frame_ids:
            key = (sid, f)
            nxt = children.get(key)
            if nxt is None:
                nxt = children[key] = len(self.prefix)
                self.prefix.append(sid)
                self.frame_of.append(f)
            sid = nxt
        return sid

    def thread(self, id: int, name: str = "", pid: int | None = None) -> int:
        """Intern a thread and return its index."""
        t = Thread(int(id), name, pid)
        i = self._thread_ids.get(t)
        if i is None:
            i = self._thread_ids[t] = len(self.threads)
            self.threads.append(t)
        return i

    def add(self, stack: int, values: float | Sequence[float] = 1.0, thread: int = 0,
            time: float | None = None) -> None:
        """Add one sample. ``values`` is a scalar (one type) or one value per type."""
        if stack < 0:
            raise ModelError("cannot add a sample with an empty stack")
        if not isinstance(values, (tuple, list)):
            values = (float(values),)
        self.s_stack.append(stack)
        self.s_thread.append(thread)
        self.s_values.append(values)
        if time is not None:
            self.s_time.append(time)

    def warn(self, message: str) -> None:
        """Record a warning (skipped line etc.); kept in ``meta['warnings']``."""
        self.warnings.append(message)

    def build(self, meta: dict | None = None, check: bool = True) -> Profile:
        """Return the built :class:`Profile` (validated unless ``check=False``)."""
        k = len(self.sample_types)
        n = len(self.s_stack)
        if n:
            vals = np.zeros((n, k), dtype=np.float64)
            widths = {len(v) for v in self.s_values}
            if widths == {k}:
                vals[:] = np.asarray(self.s_values, dtype=np.float64).reshape(n, k)
            else:
                for i, v in enumerate(self.s_values):
                    vals[i, :len(v)] = v
        else:
            vals = np.zeros((0, k))
        times = None
        if self.s_time:
            if len(self.s_time) != n:
                raise ModelError("some samples have a time and some do not")
            times = np.asarray(self.s_time, dtype=np.float64)
        m = dict(self.meta)
        m.update(meta or {})
        if self.warnings:
            m.setdefault("warnings", []).extend(self.warnings)
        threads = self.threads or [Thread(0, "")]
        p = Profile(frames=self.frames, stack_prefix=self.prefix, stack_frame=self.frame_of,
                    sample_stack=self.s_stack, sample_thread=self.s_thread, sample_time=times,
                    values=vals, sample_types=self.sample_types, threads=threads,
                    meta=m, tables=self.tables)
        return p.check() if check else p


def empty_profile(sample_types: Sequence[SampleType] = (SampleType("samples", "count"),)) -> Profile:
    """Return a profile with no samples (every operation must accept it)."""
    return ProfileBuilder(sample_types).build()


def build_trie(flat_frames: np.ndarray, lengths: np.ndarray, sort: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Build a stack prefix table from many root-first paths at once (vectorized).

    ``flat_frames`` holds every path's frame ids back to back, ``lengths`` each
    path's length (>= 1). Returns ``(prefix, frame, leaf)`` where ``leaf[i]`` is
    the stack row of path ``i``. Rows are numbered level by level, so
    ``prefix[r] < r`` holds. Work is one hash factorization per depth level.
    With ``sort`` each level's rows are ordered by (parent, frame), so the
    ``prefix`` column never decreases (siblings adjacent), except in the rare
    tail where few very deep paths are walked one by one.
    """
    import pandas as pd

    flat = np.asarray(flat_frames)
    if flat.dtype != np.int32:  # int32 ids stay int32 (half the memory of a 40M-frame input)
        flat = flat.astype(_I64)
    lengths = np.asarray(lengths, dtype=_I64)
    npaths = len(lengths)
    if npaths == 0:
        e = np.zeros(0, dtype=_I64)
        return e, e.copy(), e.copy()
    if (lengths < 1).any():
        raise ModelError("build_trie: every path needs at least one frame")
    starts = np.zeros(npaths, dtype=_I64)
    np.cumsum(lengths[:-1], out=starts[1:])
    nframes = int(flat.max()) + 1 if len(flat) else 1
    node = np.full(npaths, -1, dtype=_I64)
    prefixes: list[np.ndarray] = []
    frames: list[np.ndarray] = []
    total = 0
    maxlen = int(lengths.max())
    # order paths by length descending so "paths still alive at depth d" is a prefix slice
    order = np.argsort(-lengths, kind="stable")
    lens_sorted = lengths[order]
    starts_sorted = starts[order]
    node_sorted = node  # aligned with `order`
    for d in range(maxlen):
        alive = int(np.searchsorted(-lens_sorted, -(d + 1), side="right"))
        if alive <= 8 and maxlen - d > 64:
            # few, very deep paths left: a dict walk beats one factorize per level
            children: dict[tuple[int, int], int] = {}
            pl: list[int] = []
            fl: list[int] = []
            for j in range(alive):
                node_j = int(node_sorted[j])
                s0 = int(starts_sorted[j])
                for f in flat[s0 + d:s0 + int(lens_sorted[j])].tolist():
                    key2 = (node_j, f)
                    nxt = children.get(key2)
                    if nxt is None:
                        nxt = children[key2] = total + len(pl)
                        pl.append(node_j)
                        fl.append(f)
                    node_j = nxt
                node_sorted[j] = node_j
            prefixes.append(np.asarray(pl, dtype=_I64))
            frames.append(np.asarray(fl, dtype=_I64))
            total += len(pl)
            break
        parents = node_sorted[:alive]
        fr = flat[starts_sorted[:alive] + d]
        key = (parents + 1) * nframes + fr
        codes, uniq = pd.factorize(key, sort=sort)
        uniq = np.asarray(uniq, dtype=_I64)
        prefixes.append(uniq // nframes - 1)
        frames.append(uniq % nframes)
        node_sorted[:alive] = codes.astype(_I64) + total
        total += len(uniq)
    prefix = np.concatenate(prefixes)
    frame = np.concatenate(frames)
    leaf = np.empty(npaths, dtype=_I64)
    leaf[order] = node_sorted
    return prefix, frame, leaf


def paths_trie(flat: np.ndarray, lengths: np.ndarray, sort: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Build the stack table of many paths: :func:`build_trie` (one numpy pass per depth
    level), or a plain dict walk for few, very deep paths, where per-level passes would
    dominate. Returns ``(prefix, frame, leaf)`` as :func:`build_trie` does."""
    lengths = np.asarray(lengths, dtype=_I64)
    if not len(lengths):
        return build_trie(flat, lengths, sort)
    maxlen = int(lengths.max())
    if maxlen <= 2048 or len(flat) > maxlen * 400:
        return build_trie(flat, lengths, sort)
    children: dict[tuple[int, int], int] = {}
    prefix: list[int] = []
    frame: list[int] = []
    leaf: list[int] = []
    pos = 0
    fl = np.asarray(flat).tolist()
    for n in lengths.tolist():
        node = -1
        for f in fl[pos:pos + n]:
            key = (node, f)
            nxt = children.get(key)
            if nxt is None:
                nxt = children[key] = len(prefix)
                prefix.append(node)
                frame.append(f)
            node = nxt
        leaf.append(node)
        pos += n
    return np.asarray(prefix, dtype=_I64), np.asarray(frame, dtype=_I64), np.asarray(leaf, dtype=_I64)


@dataclass
class StackPaths:
    """Samples as root-first frame paths, before a stack table is built.

    What a line-oriented importer (folded stacks) reads: ``flat`` holds every
    path's frame ids back to back, ``lengths`` each path's length (>= 1),
    ``values`` one row per path (one column per sample type), ``thread`` each
    path's index into ``threads`` (None: all in the first). :meth:`to_profile`
    builds the :class:`Profile`; the diff prepares a run straight from the paths
    (keying frames first, so the frame-level stack table is never built).
    """

    frames: list[Frame]
    flat: np.ndarray
    lengths: np.ndarray
    values: np.ndarray
    sample_types: tuple[SampleType, ...]
    thread: np.ndarray | None = None
    threads: tuple[Thread, ...] = (Thread(0, ""),)
    meta: dict = field(default_factory=dict)

    @property
    def n_paths(self) -> int:
        """Number of paths (input lines)."""
        return int(len(self.lengths))

    def single_thread(self) -> bool:
        """Return True when every path belongs to one thread."""
        t = self.thread
        return t is None or not len(t) or int(t.min()) == int(t.max())

    def check(self) -> "StackPaths":
        """Check the columns agree (lengths, frame ids, values); raise :class:`ModelError`."""
        n = self.n_paths
        if self.values.shape != (n, len(self.sample_types)):
            raise ModelError(f"values shape {self.values.shape} does not match {n} paths x "
                             f"{len(self.sample_types)} sample types")
        if n and (int(self.lengths.min()) < 1 or int(self.lengths.sum()) != len(self.flat)):
            raise ModelError("path lengths do not match the frame ids")
        if len(self.flat) and (int(self.flat.min()) < 0 or int(self.flat.max()) >= len(self.frames)):
            raise ModelError("a path refers to a frame that does not exist")
        if self.thread is not None and len(self.thread) != n:
            raise ModelError("thread column length differs from the paths")
        if n and not np.isfinite(self.values).all():
            raise ModelError("a sample value is not finite (NaN or infinity)")
        return self

    def to_profile(self) -> Profile:
        """Build the profile: a stack table of the paths, and one sample row per distinct
        (stack, thread), values summed, in order of first appearance."""
        import pandas as pd

        if not self.n_paths:
            return Profile(frames=self.frames, stack_prefix=[], stack_frame=[], sample_stack=[],
                           values=np.zeros((0, len(self.sample_types))),
                           sample_types=self.sample_types, threads=self.threads, meta=self.meta)
        prefix, frame, leaf = paths_trie(self.flat, self.lengths)
        thr = self.thread if self.thread is not None else np.zeros(self.n_paths, dtype=_I64)
        nt = max(len(self.threads), 1)
        codes, uniq = pd.factorize(leaf * nt + thr, sort=False)
        uniq = np.asarray(uniq, dtype=_I64)
        vals = np.column_stack([np.bincount(codes, weights=self.values[:, c], minlength=len(uniq))
                                for c in range(self.values.shape[1])])
        return Profile(frames=self.frames, stack_prefix=prefix, stack_frame=frame,
                       sample_stack=uniq // nt, sample_thread=uniq % nt, values=vals,
                       sample_types=self.sample_types, threads=self.threads, meta=self.meta)


# ---------------------------------------------------------------------------
# Tree helpers (no recursion: 100k-deep stacks must work)
# ---------------------------------------------------------------------------
def _depths(prefix: np.ndarray) -> np.ndarray:
    """Depth of each row (root = 1).

    Sweeps the rows in blocks whose parents all lie before the block (a level
    ordered table, as :func:`build_trie` makes, has one block per level); when
    blocks stay small (rows in depth-first order) it falls back to pointer
    jumping, O(n log depth).
    """
    n = len(prefix)
    if n == 0:
        return np.zeros(0, dtype=_I64)
    d = np.empty(n, dtype=_I64)
    cummax = np.maximum.accumulate(prefix)
    i = 0
    for _ in range(256):
        # rows [i, j) have every parent before i (prefix[k] < k, so the running max decides)
        j = max(i + int(np.searchsorted(cummax[i:], i, side="left")), i + 1)
        blk = prefix[i:j]
        d[i:j] = np.where(blk >= 0, d[np.maximum(blk, 0)] + 1, 1)
        i = j
        if i >= n:
            return d
    it = np.int32 if n < 2**31 - 1 else _I64
    # node n is a sentinel above every root: jump[n] = n, dist[n] = 0
    jump = np.append(np.where(prefix >= 0, prefix, n), n).astype(it)
    dist = np.append(prefix >= 0, False).astype(it)
    while jump.min() != n:
        dist += dist.take(jump)
        jump = jump.take(jump)
    return dist[:n].astype(_I64) + 1


def _levels(depth: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Group rows by depth: ``(order, bounds)``, rows of depth d being ``order[bounds[d-1]:bounds[d]]``.

    ``order`` is None when rows are already sorted by depth (tables made level by
    level, as :func:`build_trie` and :func:`_rebuild` make them): levels are then
    plain slices, which numpy reads without gathers.
    """
    maxd = int(depth.max()) if len(depth) else 0
    if len(depth) < 2 or bool((depth[1:] >= depth[:-1]).all()):
        return None, np.searchsorted(depth, np.arange(1, maxd + 2))
    order = np.argsort(depth, kind="stable")
    return order, np.searchsorted(depth[order], np.arange(1, maxd + 2))


_LOOP_LIMIT = 3_000_000


def _accumulate_up(prefix: np.ndarray, values: np.ndarray, depth: np.ndarray | None = None) -> np.ndarray:
    """Return subtree sums: ``out[i] = values[i] + sum(out[c] for children c)``.

    Uses one numpy pass per depth level (a bincount over the parent level when
    the table is level ordered); for very deep, small trees a plain loop in
    reverse row order (valid because ``prefix[i] < i``).
    """
    out = np.array(values, dtype=np.float64, copy=True)
    n = len(prefix)
    if n == 0:
        return out
    if depth is None:
        depth = _depths(prefix)
    maxd = int(depth.max())
    if maxd > 256 and n <= _LOOP_LIMIT:
        pl = prefix.tolist()
        if out.ndim == 1:
            ol = out.tolist()
            for i in range(n - 1, -1, -1):
                p = pl[i]
                if p >= 0:
                    ol[p] += ol[i]
            return np.asarray(ol, dtype=np.float64)
        for i in range(n - 1, -1, -1):
            p = pl[i]
            if p >= 0:
                out[p] += out[i]
        return out
    order, bounds = _levels(depth)
    b = bounds.tolist()
    if order is None:
        cols = [out] if out.ndim == 1 else [out[:, c] for c in range(out.shape[1])]
        for d in range(maxd, 1, -1):
            lo, hi, plo = b[d - 1], b[d], b[d - 2]
            if hi == lo:
                continue
            par = prefix[lo:hi] - plo
            for col in cols:
                col[plo:lo] += np.bincount(par, weights=col[lo:hi], minlength=lo - plo)
        return out
    for d in range(maxd, 1, -1):
        idx = order[b[d - 1]:b[d]]
        np.add.at(out, prefix[idx], out[idx])
    return out


def _propagate_down(prefix: np.ndarray, rel: np.ndarray, depth: np.ndarray | None = None) -> np.ndarray:
    """Return path sums: ``out[i] = rel[i] + out[prefix[i]]`` (root: ``rel``)."""
    out = np.array(rel, dtype=np.float64, copy=True)
    n = len(prefix)
    if n == 0:
        return out
    if depth is None:
        depth = _depths(prefix)
    maxd = int(depth.max())
    if maxd > 256 and n <= _LOOP_LIMIT:
        pl = prefix.tolist()
        ol = out.tolist()
        for i in range(n):
            p = pl[i]
            if p >= 0:
                ol[i] += ol[p]
        return np.asarray(ol, dtype=np.float64)
    order, bounds = _levels(depth)
    b = bounds.tolist()
    for d in range(2, maxd + 1):
        if order is None:
            out[b[d - 1]:b[d]] += out[prefix[b[d - 1]:b[d]]]
        else:
            idx = order[b[d - 1]:b[d]]
            out[idx] += out[prefix[idx]]
    return out


def _rebuild(prefix: np.ndarray, frame: np.ndarray, frame_map: np.ndarray,
             keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Re-intern a stack table after mapping frames (and optionally dropping rows).

    ``frame_map[f]`` is the new frame id of old frame ``f``. Rows with
    ``keep[i] == False`` are skipped (their children attach to the nearest kept
    ancestor). Returns ``(new_prefix, new_frame, old_to_new)``; ``old_to_new`` is
    -1 for a dropped row whose whole path is dropped. Without ``keep`` the work
    is one hash factorization per depth level; deep, small tables use a loop.
    """
    n = len(prefix)
    frame_map = np.asarray(frame_map, dtype=_I64)
    if n == 0:
        e = np.zeros(0, dtype=_I64)
        return e, e.copy(), e.copy()
    depth = _depths(prefix)
    maxd = int(depth.max())
    if keep is None and not (maxd > 256 and n <= _LOOP_LIMIT):
        import pandas as pd

        nf = int(frame_map.max()) + 2 if len(frame_map) else 2
        fm = frame_map[frame]
        order, bounds = _levels(depth)
        b = bounds.tolist()
        o2n = np.empty(n, dtype=_I64)
        pres, frs = [], []
        total = 0
        for d in range(1, maxd + 1):
            idx = slice(b[d - 1], b[d]) if order is None else order[b[d - 1]:b[d]]
            if d == 1:
                key = fm[idx]
            else:  # every row below the first level has a parent
                key = (o2n[prefix[idx]] + 1) * nf + fm[idx]
            codes, uniq = pd.factorize(key, sort=False)
            uniq = np.asarray(uniq, dtype=_I64)
            o2n[idx] = codes + total
            pres.append(uniq // nf - 1)
            frs.append(uniq % nf)
            total += len(uniq)
        return np.concatenate(pres), np.concatenate(frs), o2n
    new_prefix: list[int] = []
    new_frame: list[int] = []
    children: dict[tuple[int, int], int] = {}
    pl = prefix.tolist()
    fl = frame_map[frame].tolist()
    kl = keep.tolist() if keep is not None else None
    o2n_l = [-1] * n
    for i in range(n):
        p = pl[i]
        parent = o2n_l[p] if p >= 0 else -1
        if kl is not None and not kl[i]:
            o2n_l[i] = parent
            continue
        key = (parent, fl[i])
        sid = children.get(key)
        if sid is None:
            sid = children[key] = len(new_prefix)
            new_prefix.append(parent)
            new_frame.append(fl[i])
        o2n_l[i] = sid
    return (np.asarray(new_prefix, dtype=_I64), np.asarray(new_frame, dtype=_I64),
            np.asarray(o2n_l, dtype=_I64))


# ---------------------------------------------------------------------------
# Operations: each returns a new Profile
# ---------------------------------------------------------------------------
def _remap_frames(p: Profile, new_frames: list[Frame], frame_map: np.ndarray,
                  keep: np.ndarray | None = None) -> Profile:
    """Apply a frame mapping (and row filter), drop emptied samples, re-intern."""
    prefix, frame, o2n = _rebuild(p.stack_prefix, p.stack_frame, frame_map, keep)
    sstack = o2n[p.sample_stack] if p.n_samples else p.sample_stack
    ok = sstack >= 0
    q = Profile(frames=new_frames, stack_prefix=prefix, stack_frame=frame,
                sample_stack=sstack[ok], sample_thread=p.sample_thread[ok],
                sample_time=None if p.sample_time is None else p.sample_time[ok],
                values=p.values[ok], sample_types=p.sample_types, threads=p.threads,
                meta=copy.deepcopy(p.meta), tables=copy.deepcopy(p.tables))
    return _drop_unused(q)


def _drop_unused(p: Profile) -> Profile:
    """Drop frames and stack rows no sample reaches; keeps row order."""
    ns = p.n_stacks
    if ns == 0:
        if p.frames:
            return p.copy(frames=())
        return p
    hit = np.zeros(ns, dtype=bool)
    hit[p.sample_stack] = True
    inner = np.zeros(ns, dtype=bool)
    inner[p.stack_prefix[p.stack_prefix >= 0]] = True
    if (hit | inner).all():
        # every leaf has samples, so every row is used: only frames may be unused
        frames_used = np.zeros(len(p.frames), dtype=bool)
        frames_used[p.stack_frame] = True
        if frames_used.all():
            return p
        fmap = np.cumsum(frames_used) - 1
        return p.copy(frames=[f for f, u in zip(p.frames, frames_used.tolist()) if u],
                      stack_frame=fmap[p.stack_frame])
    used = _accumulate_up(p.stack_prefix, hit.astype(np.float64)) > 0  # used if any descendant is
    frames_used = np.zeros(len(p.frames), dtype=bool)
    frames_used[p.stack_frame[used]] = True
    fmap = np.cumsum(frames_used) - 1
    new_frames = [f for f, u in zip(p.frames, frames_used.tolist()) if u]
    rmap = np.cumsum(used) - 1
    pre = p.stack_prefix[used]
    pre = np.where(pre >= 0, rmap[np.maximum(pre, 0)], -1)
    return p.copy(frames=new_frames, stack_prefix=pre, stack_frame=fmap[p.stack_frame[used]],
                  sample_stack=rmap[p.sample_stack])


def merge(*profiles: Profile) -> Profile:
    """Merge profiles into one: union of sample types, frames, stacks and threads.

    A sample type missing from one input contributes 0 there. Times are kept
    only when every input has them. ``meta`` comes from the first input, with
    ``merged_from`` counting the inputs; tables are kept from the first input
    that has each name. Associative up to row order (compare with :func:`to_text`).
    """
    if not profiles:
        return empty_profile()
    types: list[SampleType] = []
    for p in profiles:
        for st in p.sample_types:
            if st not in types:
                types.append(st)
    frame_ids: dict[Frame, int] = {}
    frames: list[Frame] = []
    thread_ids: dict[Thread, int] = {}
    threads: list[Thread] = []
    pres, frs, stacks, threads_col, times, vals = [], [], [], [], [], []
    all_timed = all(p.sample_time is not None for p in profiles)
    offset = 0
    for p in profiles:
        fmap = np.empty(len(p.frames), dtype=_I64)
        for i, f in enumerate(p.frames):
            j = frame_ids.get(f)
            if j is None:
                j = frame_ids[f] = len(frames)
                frames.append(f)
            fmap[i] = j
        tmap = np.empty(len(p.threads), dtype=_I64)
        for i, t in enumerate(p.threads):
            j = thread_ids.get(t)
            if j is None:
                j = thread_ids[t] = len(threads)
                threads.append(t)
            tmap[i] = j
        pres.append(np.where(p.stack_prefix >= 0, p.stack_prefix + offset, -1))
        frs.append(fmap[p.stack_frame] if p.n_stacks else np.zeros(0, dtype=_I64))
        stacks.append(p.sample_stack + offset)
        offset += p.n_stacks
        cols = [types.index(st) for st in p.sample_types]
        v = np.zeros((p.n_samples, len(types)))
        v[:, cols] = p.values
        threads_col.append(tmap[p.sample_thread] if p.n_samples else np.zeros(0, dtype=_I64))
        vals.append(v)
        if all_timed:
            times.append(p.sample_time)
    cat_prefix = np.concatenate(pres) if pres else np.zeros(0, dtype=_I64)
    cat_frame = np.concatenate(frs) if frs else np.zeros(0, dtype=_I64)
    ident = np.arange(len(frames), dtype=_I64)
    new_prefix, new_frame, o2n = _rebuild(cat_prefix, cat_frame, ident)
    sstack = np.concatenate(stacks)
    meta = copy.deepcopy(profiles[0].meta)
    if len(profiles) > 1:
        meta["merged_from"] = sum(int(p.meta.get("merged_from", 1)) for p in profiles)
        warns = [w for p in profiles for w in p.meta.get("warnings", [])]
        if warns:
            meta["warnings"] = warns
    tables: dict = {}
    for p in profiles:
        for k, t in p.tables.items():
            tables.setdefault(k, copy.deepcopy(t))
    out = Profile(frames=frames, stack_prefix=new_prefix, stack_frame=new_frame,
                  sample_stack=o2n[sstack] if len(sstack) else sstack,
                  sample_thread=np.concatenate(threads_col),
                  sample_time=np.concatenate(times) if all_timed and times else None,
                  values=np.concatenate(vals), sample_types=types,
                  threads=threads or [Thread(0, "")], meta=meta, tables=tables)
    return out.check()


def compact(p: Profile) -> Profile:
    """Re-intern frames and stacks, drop unused rows, and sum untimed samples per (stack, thread).

    Timed samples are kept one per row (their order matters). Idempotent.
    """
    q = merge(p)
    q.meta = copy.deepcopy(p.meta)
    if q.sample_time is not None or q.n_samples == 0:
        return _drop_unused(q).check()
    import pandas as pd

    key = q.sample_stack * max(len(q.threads), 1) + q.sample_thread
    codes, uniq = pd.factorize(key, sort=False)
    vals = np.zeros((len(uniq), len(q.sample_types)))
    np.add.at(vals, codes, q.values)
    uniq = np.asarray(uniq, dtype=_I64)
    r = q.copy(sample_stack=uniq // max(len(q.threads), 1),
               sample_thread=uniq % max(len(q.threads), 1), values=vals, sample_time=None)
    return _drop_unused(r).check()


def scale(p: Profile, factor: float, sample_type: str | int | None = None) -> Profile:
    """Multiply values by ``factor`` (one sample type, or all when ``sample_type`` is None)."""
    vals = p.values.copy()
    if sample_type is None:
        vals *= factor
    else:
        vals[:, p.type_index(sample_type)] *= factor
    return p.copy(values=vals)


def select(p: Profile, sample_type: str | int | SampleType | None) -> Profile:
    """Keep one sample type (by index, ``name`` or ``name/unit``); drop samples valued 0 in it."""
    k = p.type_index(sample_type)
    v = p.values[:, k]
    keep = v != 0
    q = p.copy(values=v[keep].reshape(-1, 1), sample_types=(p.sample_types[k],),
               sample_stack=p.sample_stack[keep], sample_thread=p.sample_thread[keep],
               sample_time=None if p.sample_time is None else p.sample_time[keep])
    return _drop_unused(q)


def _matching_rows(p: Profile, pattern: str | re.Pattern) -> np.ndarray:
    """Rows whose path (root..row) contains a frame whose name matches ``pattern``."""
    rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    fmatch = np.asarray([bool(rx.search(f.name)) for f in p.frames], dtype=bool)
    if p.n_stacks == 0:
        return np.zeros(0, dtype=bool)
    rel = fmatch[p.stack_frame].astype(np.float64)
    return _propagate_down(p.stack_prefix, rel) > 0


def focus(p: Profile, pattern: str | re.Pattern) -> Profile:
    """Keep only samples whose stack has a frame name matching the regex ``pattern``."""
    m = _matching_rows(p, pattern)
    keep = m[p.sample_stack] if p.n_samples else np.zeros(0, dtype=bool)
    return _drop_unused(_filter_samples(p, keep))


def ignore(p: Profile, pattern: str | re.Pattern) -> Profile:
    """Drop samples whose stack has a frame name matching the regex ``pattern``."""
    m = _matching_rows(p, pattern)
    keep = ~m[p.sample_stack] if p.n_samples else np.zeros(0, dtype=bool)
    return _drop_unused(_filter_samples(p, keep))


def _filter_samples(p: Profile, keep: np.ndarray) -> Profile:
    return p.copy(sample_stack=p.sample_stack[keep], sample_thread=p.sample_thread[keep],
                  values=p.values[keep],
                  sample_time=None if p.sample_time is None else p.sample_time[keep])


def by_thread(p: Profile) -> dict[Thread, Profile]:
    """Split a profile into one profile per thread that has samples."""
    out = {}
    for i, t in enumerate(p.threads):
        keep = p.sample_thread == i
        if keep.any():
            q = _filter_samples(p, keep)
            q = q.copy(threads=(t,), sample_thread=np.zeros(int(keep.sum()), dtype=_I64))
            out[t] = _drop_unused(q)
    return out


def frame_key(f: Frame, by: str) -> Frame:
    """Return the identity of a frame at granularity ``by`` (function, line or file)."""
    if by == "line":
        return f
    if by == "function":
        return Frame(f.name, f.file, 0, f.module, f.kind)
    if by == "file":
        return Frame(f.file or f.module or f.name, "", 0, f.module if not f.file else "", f.kind)
    raise FlamekitError(f"unknown grouping {by!r} (use function, line or file)")


def group(p: Profile, by: str = "function") -> Profile:
    """Merge frames that share a ``function`` (name, file), ``line`` or ``file``; totals are kept.

    Directly recursive calls that collapse onto the same key are not merged:
    grouping only renames frames, the stack shape is kept.
    """
    keys: dict[Frame, int] = {}
    new_frames: list[Frame] = []
    fmap = np.empty(len(p.frames), dtype=_I64)
    for i, f in enumerate(p.frames):
        k = frame_key(f, by)
        j = keys.get(k)
        if j is None:
            j = keys[k] = len(new_frames)
            new_frames.append(k)
        fmap[i] = j
    return _remap_frames(p, new_frames, fmap).check()


# ---------------------------------------------------------------------------
# Derived views
# ---------------------------------------------------------------------------
@dataclass
class CallTree:
    """A call tree over the stack table: per row, ``self`` and ``total`` values.

    Node ids are stack rows of ``profile`` (root first, ``prefix[i] < i``).
    """

    profile: Profile
    sample_type: SampleType
    prefix: np.ndarray
    frame: np.ndarray
    self_: np.ndarray
    total: np.ndarray
    depth: np.ndarray
    grand_total: float = field(default=0.0)

    def children(self) -> list[list[int]]:
        """Return the child lists of every node (built on demand)."""
        ch: list[list[int]] = [[] for _ in range(len(self.prefix))]
        for i, q in enumerate(self.prefix.tolist()):
            if q >= 0:
                ch[q].append(i)
        return ch

    def roots(self) -> np.ndarray:
        """Return the root node ids."""
        return np.nonzero(self.prefix < 0)[0]


def call_tree(p: Profile, sample_type: str | int | SampleType | None = None,
              thread: int | None = None) -> CallTree:
    """Compute self and total per stack row for one sample type (numpy, no recursion).

    ``thread`` restricts to one thread index. Self is a bincount of sample
    values per stack; total accumulates self up the ``prefix`` column.
    """
    k = p.type_index(sample_type)
    ns = p.n_stacks
    if thread is None:
        st, v = p.sample_stack, p.values[:, k] if p.n_samples else np.zeros(0)
    else:
        m = p.sample_thread == thread
        st, v = p.sample_stack[m], p.values[m, k]
    self_ = np.bincount(st, weights=v, minlength=ns).astype(np.float64) if ns else np.zeros(0)
    depth = _depths(p.stack_prefix)
    total = _accumulate_up(p.stack_prefix, self_, depth)
    return CallTree(p, p.sample_types[k], p.stack_prefix, p.stack_frame, self_, total, depth,
                    float(self_.sum()))


def _topmost(prefix: np.ndarray, key: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Flag rows whose ``key`` does not occur among their ancestors (recursion-safe totals).

    Uses an Euler tour: pre-order numbers and subtree sizes; then, over rows
    sorted by (key, pre-order), a running maximum of subtree ends tells whether
    an earlier row of the same key contains the row. Rows are listed in
    pre-order by inverting the numbering, so only a stable sort by key remains
    (a radix sort when keys fit in 16 bits).
    """
    n = len(prefix)
    if n == 0:
        return np.zeros(0, dtype=bool)
    it = np.int32 if n < 2**31 - 2 else _I64  # row ids and sizes: half the memory traffic
    size = _accumulate_up(prefix, np.ones(n), depth).astype(it)
    # offset among siblings (same parent, smaller row id); tables whose prefix column
    # never decreases (levels ordered by parent) have siblings adjacent already
    if n > 1 and bool((prefix[1:] >= prefix[:-1]).all()):
        order = None
        sz, par = size, prefix
    else:
        order = np.argsort(prefix, kind="stable")
        sz = size[order]
        par = prefix[order]
    cs = np.cumsum(sz, dtype=_I64)
    cs -= sz  # sizes of the rows before, in (parent, row) order
    grp_start = np.empty(n, dtype=bool)
    grp_start[0] = True
    np.not_equal(par[1:], par[:-1], out=grp_start[1:])
    base = np.maximum.accumulate(np.where(grp_start, cs, 0))
    if order is None:
        rel = (cs - base).astype(np.float64)
    else:
        rel = np.empty(n, dtype=np.float64)
        rel[order] = cs - base
    rel += prefix >= 0
    pre = _propagate_down(prefix, rel, depth).astype(it)
    by_pre = np.empty(n, dtype=it)
    by_pre[pre] = np.arange(n, dtype=it)
    kp = key[by_pre]
    kmax = int(kp.max()) if n else 0
    if 0 <= int(kp.min()) and kmax < 65536:
        kp = kp.astype(np.uint16)
    srt = np.argsort(kp, kind="stable")
    o = by_pre[srt]
    # key[o] is kp[srt], and pre[o] is srt itself (o lists rows by pre-order within keys)
    start_o = kp[srt].astype(_I64) * (n + 1)
    start_o += srt
    cm = start_o + size[o]
    np.maximum.accumulate(cm, out=cm)
    top_o = np.empty(n, dtype=bool)
    top_o[0] = True
    np.less_equal(cm[:-1], start_o[1:], out=top_o[1:])
    top = np.empty(n, dtype=bool)
    top[o] = top_o
    return top


def functions(p: Profile, sample_type: str | int | SampleType | None = None,
              by: str = "function", thread: int | None = None):
    """Return a pandas DataFrame with self and total per function (or line, or file).

    Columns: ``name, file, line, module, kind, self, total, self_pct, total_pct``,
    sorted by self then total, descending. Recursion counts once in ``total``.
    Percentages are of the grand total of the sample type.
    """
    import pandas as pd

    tree = call_tree(p, sample_type, thread)
    keys: dict[Frame, int] = {}
    rows: list[Frame] = []
    fk = np.empty(len(p.frames), dtype=_I64)
    for i, f in enumerate(p.frames):
        k = frame_key(f, by)
        j = keys.get(k)
        if j is None:
            j = keys[k] = len(rows)
            rows.append(k)
        fk[i] = j
    nk = len(rows)
    if p.n_stacks:
        nodekey = fk[p.stack_frame]
        self_k = np.bincount(nodekey, weights=tree.self_, minlength=nk)
        top = _topmost(p.stack_prefix, nodekey, tree.depth)
        total_k = np.bincount(nodekey[top], weights=tree.total[top], minlength=nk)
    else:
        self_k = total_k = np.zeros(nk)
    gt = tree.grand_total
    df = pd.DataFrame({
        "name": [f.name for f in rows], "file": [f.file for f in rows],
        "line": [f.line for f in rows], "module": [f.module for f in rows],
        "kind": [f.kind for f in rows], "self": self_k, "total": total_k,
    })
    df["self_pct"] = df["self"] / gt * 100 if gt else 0.0
    df["total_pct"] = df["total"] / gt * 100 if gt else 0.0
    df = df[df["total"] != 0] if len(df) else df
    return df.sort_values(["self", "total", "name", "file", "line"],
                          ascending=[False, False, True, True, True],
                          kind="mergesort").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Stable text dump (golden tests)
# ---------------------------------------------------------------------------
def _fmt_num(x: float) -> str:
    if math.isfinite(x) and x == int(x) and abs(x) < 2**63:
        return str(int(x))
    return repr(float(x))


def _esc(s: str) -> str:
    """Escape a string for the text dump: one line, ``;`` and ``\\`` visible."""
    return json.dumps(s, ensure_ascii=False)[1:-1].replace(";", "\\u003b")


def to_text(p: Profile, include_meta: bool = True) -> str:
    """Return a stable, human-readable dump of a profile (for golden tests).

    Samples are summed per (thread, stack) and listed sorted; stacks are
    written root first as ``name (file:line) [kind]`` joined by `` ; ``.
    Sample order and times are summarized, not listed.
    """
    out = ["flamekit-profile-text 1",
           "sample_types: " + ", ".join(_esc(str(s)) for s in p.sample_types)]
    totals = p.totals()
    out.append("totals: " + ", ".join(_fmt_num(float(t)) for t in totals))
    out.append(f"samples: {p.n_samples}")
    if p.sample_time is not None and p.n_samples:
        out.append(f"timed: yes ({_fmt_num(float(p.sample_time.min()))}.."
                   f"{_fmt_num(float(p.sample_time.max()))} s)")
    out.append("threads:")
    for i, t in enumerate(p.threads):
        out.append(f"  [{i}] tid={t.id} pid={t.pid} name=\"{_esc(t.name)}\"")
    if include_meta:
        m = {k: v for k, v in p.meta.items()}
        out.append("meta: " + json.dumps(m, sort_keys=True, ensure_ascii=False))
        if p.tables:
            out.append("tables: " + ", ".join(f"{k}({len(next(iter(v.values()), []))} rows)"
                                                for k, v in sorted(p.tables.items())))
    labels = []
    for f in p.frames:
        lab = _esc(f.name)
        if f.file or f.line:
            lab += f" ({_esc(f.file)}:{f.line})"
        if f.module:
            lab += f" <{_esc(f.module)}>"
        lab += f" [{f.kind}]"
        labels.append(lab)
    agg: dict[tuple[int, int], np.ndarray] = {}
    for s, t, v in zip(p.sample_stack.tolist(), p.sample_thread.tolist(), p.values):
        key = (t, s)
        if key in agg:
            agg[key] = agg[key] + v
        else:
            agg[key] = v.copy()
    lines = []
    cache: dict[int, str] = {}
    for (t, s), v in agg.items():
        txt = cache.get(s)
        if txt is None:
            txt = cache[s] = " ; ".join(labels[f] for f in p.stack_frames(s))
        lines.append(f"  [{t}] {txt} = " + " ".join(_fmt_num(float(x)) for x in v))
    lines.sort()
    out.append("stacks:")
    out.extend(lines)
    return "\n".join(out) + "\n"


def equivalent(a: Profile, b: Profile, include_meta: bool = True) -> bool:
    """Return True when two profiles have the same :func:`to_text` dump."""
    return to_text(a, include_meta) == to_text(b, include_meta)
