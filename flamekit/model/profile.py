"""The profile type (pipeline stage: model): frames, stack table, samples, and its check.

See :mod:`flamekit.model` for the layout. Imports nothing of flamekit but
:mod:`flamekit.errors` and :mod:`flamekit.tree`.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import FlamekitError
from ..tree import depths

KINDS = ("python", "native", "kernel", "jit", "inlined", "unknown")

_I64 = np.int64
#: Frame lines, thread ids and pids are 64-bit signed integers (every format's bound).
_INT64 = 2**63


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


class LimitError(ModelError):
    """A well-formed profile is beyond a bound flamekit computes with (bad input, not a bug)."""


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

    #: the columns and facts a profile is made of (what :meth:`copy` copies)
    FIELDS = ("frames", "stack_prefix", "stack_frame", "sample_stack", "sample_thread",
              "sample_time", "values", "sample_types", "threads", "meta", "tables")
    # plus a cache: (the stack_prefix array it was computed from, its depths)
    __slots__ = FIELDS + ("_depths",)

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
        """Return the depth of every stack row (roots have depth 1; int32 below 2**31 rows).

        Computed once per profile and shared (read-only): a report's hotspots,
        grouping, source lines and pruning walk the same 20M-row table.
        """
        d = getattr(self, "_depths", None)
        if d is None or d[0] is not self.stack_prefix:
            d = self.know_depths(depths(self.stack_prefix))
        return d[1]

    def forget_depths(self) -> None:
        """Drop the depths :meth:`stack_depths` keeps (4 bytes a row) once nothing needs them."""
        self._depths = None

    def know_depths(self, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Remember ``depth`` (computed elsewhere, e.g. by :func:`flamekit.tree.merge`) as
        :meth:`stack_depths`; returns the cache entry. The caller vouches for the values."""
        depth = np.asarray(depth)
        if len(depth) != len(self.stack_prefix):
            raise ValueError("know_depths: one depth per stack row")
        if depth.flags.writeable:
            depth = depth.view()
            depth.flags.writeable = False
        self._depths = (self.stack_prefix, depth)
        return self._depths

    def copy(self, **changes: Any) -> "Profile":
        """Return a shallow copy with some attributes replaced."""
        kw = {k: getattr(self, k) for k in self.FIELDS}
        kw["meta"] = copy.deepcopy(self.meta)
        kw["tables"] = copy.deepcopy(self.tables)
        kw.update(changes)
        out = Profile(**kw)
        d = getattr(self, "_depths", None)
        if d is not None and d[0] is self.stack_prefix and out.stack_prefix is self.stack_prefix:
            out.know_depths(d[1])  # the same stack table: the same depths
        return out

    # -- validity ----------------------------------------------------------
    def check(self, *, trie: bool = True) -> "Profile":
        """Check the model's invariants; raise :class:`ModelError` on the first violation.

        Run after every load (pprof's ``CheckValid``). Besides the columns, the
        metadata keys flamekit reads must have their types and every sample type's
        values a bounded sum (:mod:`flamekit.model.validate`). ``trie=False`` skips
        the test for duplicate ``(prefix, frame)`` rows (a sort of every row) for a
        table :func:`flamekit.tree.merge` just built: a trie by construction.
        Returns ``self``.
        """
        ns, nf, nsm = self.n_stacks, len(self.frames), self.n_samples
        if len(self.stack_frame) != ns:
            raise ModelError("stack_prefix and stack_frame differ in length")
        for lo in range(0, ns, 1 << 20):  # blocks: no row-number column of a 20M-row table
            pre = self.stack_prefix[lo:lo + (1 << 20)]
            if (pre < -1).any() or (pre >= np.arange(lo, lo + len(pre), dtype=_I64)).any():
                raise ModelError("stack table is not topologically ordered (prefix must be < row)")
        if ns and ((self.stack_frame < 0).any() or (self.stack_frame >= nf).any()):
            raise ModelError("stack table refers to a frame that does not exist")
        if ns and trie:
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
            if not -_INT64 <= f.line < _INT64:
                raise ModelError(f"frame {f.name!r:.60} has line {f.line}, beyond a 64-bit integer")
        for t in self.threads:
            if not -_INT64 <= t.id < _INT64 or (t.pid is not None and not -_INT64 <= t.pid < _INT64):
                raise ModelError(f"thread {t.id} (pid {t.pid}) has an id beyond a 64-bit integer")
        try:
            json.dumps(self.meta, allow_nan=False)
            json.dumps(self.tables, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ModelError(f"meta/tables are not plain JSON: {e}") from None
        from .validate import check_meta, check_tables, check_totals  # validate imports this module

        check_meta(self.meta)
        check_tables(self.tables)
        check_totals(self.values, self.sample_types)
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


