"""Building profiles (pipeline stage: model): an incremental builder and root-first paths.

* :class:`ProfileBuilder`: interns frames, stacks and threads one sample at a
  time (streaming importers).
* :class:`StackPaths`: samples as root-first frame paths (what the folded
  reader reads), turned into a profile with :func:`flamekit.tree.from_paths`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from ..tree import from_paths
from .profile import Frame, ModelError, Profile, SampleType, Thread
from .validate import check_meta, check_totals

_I64 = np.int64


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

    def build(self, meta: dict | None = None, check: bool = True,
              values: np.ndarray | None = None) -> Profile:
        """Return the built :class:`Profile` (validated unless ``check=False``).

        ``values``: a ready (samples x sample types) float64 matrix that replaces
        the values passed to :meth:`add` (an importer that decodes values in bulk
        adds its samples with ``values=()``). Default is ``None``.
        """
        k = len(self.sample_types)
        n = len(self.s_stack)
        if values is not None:
            if values.shape != (n, k):
                raise ModelError(f"values shape {values.shape} does not match {n} samples x "
                                 f"{k} sample types")
            vals = values
        elif n:
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
        check_meta(self.meta)
        check_totals(self.values, self.sample_types)
        return self

    def to_profile(self, tree: Callable[[np.ndarray, np.ndarray],
                                        tuple[np.ndarray, np.ndarray, np.ndarray]] = from_paths
                   ) -> Profile:
        """Build the profile: a stack table of the paths, and one sample row per distinct
        (stack, thread), values summed, in order of first appearance.

        ``tree(flat, lengths) -> (prefix, frame, leaf)`` builds the stack table; an
        importer may pass a compiled equivalent of the default,
        :func:`flamekit.tree.from_paths` (it must number the rows the same way).
        """
        from ..keys import factorize

        if not self.n_paths:
            return Profile(frames=self.frames, stack_prefix=[], stack_frame=[], sample_stack=[],
                           values=np.zeros((0, len(self.sample_types))),
                           sample_types=self.sample_types, threads=self.threads, meta=self.meta)
        prefix, frame, leaf = tree(self.flat, self.lengths)
        thr = self.thread if self.thread is not None else np.zeros(self.n_paths, dtype=_I64)
        nt = max(len(self.threads), 1)
        codes, uniq = factorize(leaf * nt + thr, sort=False)
        uniq = np.asarray(uniq, dtype=_I64)
        vals = np.column_stack([np.bincount(codes, weights=self.values[:, c], minlength=len(uniq))
                                for c in range(self.values.shape[1])])
        return Profile(frames=self.frames, stack_prefix=prefix, stack_frame=frame,
                       sample_stack=uniq // nt, sample_thread=uniq % nt, values=vals,
                       sample_types=self.sample_types, threads=self.threads, meta=self.meta)

