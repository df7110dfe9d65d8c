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

The package imports nothing else from flamekit except :mod:`flamekit.errors`
and :mod:`flamekit.tree` (the prefix-table algorithms). Operations are
functions returning new profiles; derived views are computed:

* :mod:`.profile`: :class:`Profile` and its :meth:`~Profile.check`, :class:`SampleType`,
  :class:`Frame`, :class:`Thread`, :func:`type_index`, :class:`ModelError`.
* :mod:`.builder`: :class:`ProfileBuilder`, :class:`StackPaths`, :func:`empty_profile`.
* :mod:`.ops`: :func:`merge`, :func:`compact`, :func:`scale`, :func:`select`,
  :func:`focus`, :func:`ignore`, :func:`group`, :func:`by_thread`, :func:`frame_key`,
  :func:`under` (stacks under one new root).
* :mod:`.libraries`: :func:`hide_libraries` (fold library frames into their user callers),
  :func:`is_library` (:func:`library_frames`: of each frame, as an array).
* :mod:`.views`: :func:`call_tree` (:class:`CallTree`), :func:`functions`,
  :func:`duration` (the one accessor of a profile's duration).
* :mod:`.text`: :func:`to_text`, :func:`equivalent` (golden tests).
* :mod:`.validate`: what :meth:`Profile.check` adds to the columns (metadata types,
  bounded totals) and :func:`valid_text`, the one rule for lone surrogates.
"""
from __future__ import annotations

from ..tree import from_paths
from .builder import ProfileBuilder, StackPaths, empty_profile
from .libraries import fold_targets, hide_libraries, is_library, library_frames
from .ops import (by_thread, compact, focus, frame_key, frame_keys, group, ignore, merge, scale,
                  select, under)
from .profile import KINDS, Frame, LimitError, ModelError, Profile, SampleType, Thread, type_index
from .text import equivalent, to_text
from .validate import MAX_TOTAL, valid_text
from .views import (TIME_UNITS, CallTree, FunctionRow, call_tree, duration, function_rows, functions,
                    meta_duration, path_functions)

#: Former names of :func:`flamekit.tree.from_paths` (kept importable).
build_trie = paths_trie = from_paths

__all__ = ["KINDS", "MAX_TOTAL", "CallTree", "Frame", "FunctionRow", "function_rows", "LimitError",
           "ModelError", "Profile", "ProfileBuilder", "SampleType", "TIME_UNITS",
           "StackPaths", "Thread", "build_trie", "by_thread", "call_tree", "compact",
           "duration", "empty_profile", "equivalent", "focus", "frame_key", "frame_keys", "functions", "group",
           "fold_targets", "hide_libraries", "ignore", "is_library", "library_frames", "merge", "meta_duration", "path_functions",
           "paths_trie", "scale", "select", "to_text", "type_index", "under", "valid_text"]
