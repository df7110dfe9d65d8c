"""What a profile must hold beyond its columns (pipeline stage: model): metadata
types, value totals and text, each rule kept once here.

* :func:`check_meta`: the metadata keys flamekit itself reads have a fixed JSON
  type (:data:`META_TYPES`); any other key is a free-form label (any JSON).
  :meth:`Profile.check` runs it, so every importer's output is checked at load,
  and the native reader reports the field (``meta.warnings``).
* :func:`check_tables`: the tables flamekit writes back (``pprof_mappings``,
  ``pprof_labels``: :data:`TABLE_TYPES`) have their columns, types and one length.
* :func:`check_totals`: every sample type's values must sum (in absolute value)
  below :data:`MAX_TOTAL`. Values are float64, so integer counts are exact up to
  2**53 and larger ones are rounded; a sum past 2**1024 would be infinity and turn
  every share into NaN. The bound leaves room for what views compute from a
  total (merging runs, percentages, ``n * n`` in a confidence interval).
* :func:`valid_text`: a lone UTF-16 surrogate (``"\\ud800"`` in a JSON file) is not
  Unicode text and cannot be written as UTF-8; the one rule is that it becomes
  U+FFFD. The format registry applies it to every profile it loads (with a
  warning) and to every profile it writes, so no exporter ever sees one.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Callable

import numpy as np

from .profile import Frame, LimitError, ModelError, Profile, SampleType, Thread

#: Bound on the sum of absolute values of one sample type (see the module docstring).
MAX_TOTAL = 2.0**128

_SURROGATE = re.compile("[\ud800-\udfff]")


def describe(value: Any) -> str:
    """Return a short, safe description of a JSON value for error messages
    (``null``, ``a boolean``, ``the number 5``, ``the string "x"``, ``a list``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"[:60]
    if isinstance(value, str):
        return "the string " + json.dumps(value[:40])
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


#: Metadata keys with a fixed type: key -> (test, what the test wants). ``null`` is
#: accepted for every key (it means "not known"). Readers still check ranges
#: (a duration must be positive to be used, see :func:`flamekit.model.meta_duration`).
META_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "warnings": (_str_list, "a list of strings"),
    "notes": (_str_list, "a list of strings"),
    "command": (lambda v: isinstance(v, str) or _str_list(v), "a string or a list of strings"),
    "title": (_is_str, "a string"),
    "tool": (_is_str, "a string"),
    "tool_version": (lambda v: isinstance(v, str) or _number(v), "a string"),
    "approximate": (lambda v: isinstance(v, (str, bool)), "a string or a boolean"),
    "merged_from": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v < 2**53,
                    "a positive integer"),
    "duration": (_number, "a number of seconds"),
    "rate_hz": (_number, "a number (Hz)"),
    "processes": (lambda v: isinstance(v, dict), "an object"),
    "hidden_libraries": (lambda v: isinstance(v, dict), "an object"),
    "compare": (lambda v: isinstance(v, dict), "an object"),
    "pprof": (lambda v: isinstance(v, dict), "an object"),
    "speedscope": (lambda v: isinstance(v, dict), "an object"),
}


def meta_problem(meta: Any) -> tuple[str, str] | None:
    """Return ``(field, problem)`` for the first metadata value of the wrong type, or None.

    ``field`` is ``meta`` or ``meta.<key>``; ``problem`` reads "expected X, got Y".
    """
    if not isinstance(meta, dict):
        return "meta", f"expected a JSON object, got {describe(meta)}"
    for key, (ok, want) in META_TYPES.items():
        v = meta.get(key)
        if v is not None and not ok(v):
            return f"meta.{key}", f"expected {want}, got {describe(v)}"
    return None


def _ints(v: Any) -> bool:
    return isinstance(v, list) and all(type(x) is int and -2**63 <= x < 2**64 for x in v)


def _strs(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _bools(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, bool) for x in v)


#: Tables flamekit writes back (pprof's mappings and labels): name -> {column: (test, want)}.
#: Every column is required and all have one length. Other tables are free-form.
TABLE_TYPES: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "pprof_mappings": {
        **{c: (_ints, "a list of integers") for c in ("id", "memory_start", "memory_limit",
                                                       "file_offset")},
        **{c: (_strs, "a list of strings") for c in ("filename", "build_id")},
        **{c: (_bools, "a list of booleans") for c in ("has_functions", "has_filenames",
                                                        "has_line_numbers", "has_inline_frames")}},
    "pprof_labels": {
        **{c: (_ints, "a list of integers") for c in ("sample", "stack", "num")},
        **{c: (_strs, "a list of strings") for c in ("key", "str", "num_unit")}},
}


def table_problem(tables: Any) -> tuple[str, str] | None:
    """Return ``(field, problem)`` for the first known table of the wrong shape, or None."""
    if not isinstance(tables, dict):
        return "tables", f"expected a JSON object, got {describe(tables)}"
    for name, cols in TABLE_TYPES.items():
        t = tables.get(name)
        if t is None:
            continue
        if not isinstance(t, dict):
            return f"tables.{name}", f"expected an object of columns, got {describe(t)}"
        lengths = set()
        for col, (ok, want) in cols.items():
            if not ok(t.get(col)):
                return f"tables.{name}.{col}", f"expected {want}, got {describe(t.get(col))}"
            lengths.add(len(t[col]))
        if len(lengths) > 1:
            return f"tables.{name}", "columns differ in length"
    return None


def check_meta(meta: Any) -> None:
    """Raise :class:`ModelError` naming the field when a known metadata key has the wrong type."""
    bad = meta_problem(meta)
    if bad:
        raise ModelError(f"{bad[0]}: {bad[1]}")


def check_tables(tables: Any) -> None:
    """Raise :class:`ModelError` naming the field when a known table has the wrong shape."""
    bad = table_problem(tables)
    if bad:
        raise ModelError(f"{bad[0]}: {bad[1]}")


def check_totals(values: np.ndarray, sample_types: tuple[SampleType, ...]) -> None:
    """Raise :class:`LimitError` when a sample type's absolute values sum to :data:`MAX_TOTAL` or more.

    ``values`` has one column per sample type (finite float64).
    """
    if not len(values):
        return
    with np.errstate(over="ignore"):
        sums = np.abs(values).sum(axis=0)
    for k in np.flatnonzero(~(sums < MAX_TOTAL)):
        total = "more than 1.8e308 (overflows a float64)" if not np.isfinite(sums[k]) \
            else f"{float(sums[k]):.3g}"
        raise LimitError(f"the values of {sample_types[k]} sum to {total}, beyond the "
                         f"{MAX_TOTAL:.3g} (2**128) flamekit computes with")


# -- text ----------------------------------------------------------------------------------
def fix_text(s: str) -> str:
    """Return ``s`` with every lone surrogate replaced by U+FFFD (``s`` itself when it has none)."""
    return _SURROGATE.sub("\ufffd", s) if _SURROGATE.search(s) else s


def _fix_json(v: Any) -> Any:
    if isinstance(v, str):
        return fix_text(v)
    if isinstance(v, list):
        return [_fix_json(x) for x in v]
    if isinstance(v, dict):
        return {fix_text(k): _fix_json(x) for k, x in v.items()}
    return v


def _has_surrogate(strings: list[str]) -> bool:
    try:
        "".join(strings).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _json_has_surrogate(v: Any) -> bool:
    try:
        json.dumps(v, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (TypeError, ValueError):
        return False
    return False


def valid_text(p: Profile) -> tuple[Profile, int]:
    """Return ``(profile, n)``: ``p`` with lone surrogates replaced by U+FFFD in every name,
    file, module, thread name, sample type and metadata/table string, and ``n`` the number
    of fields changed (``p`` itself when 0). The one text rule of import and export."""
    texts = [s for f in p.frames for s in (f.name, f.file, f.module)]
    texts += [t.name for t in p.threads] + [s for st in p.sample_types for s in (st.name, st.unit)]
    bad_frames = _has_surrogate(texts)
    bad_meta = _json_has_surrogate(p.meta)
    bad_tables = _json_has_surrogate(p.tables)
    if not (bad_frames or bad_meta or bad_tables):
        return p, 0
    n = sum(1 for s in texts if _SURROGATE.search(s))
    changes: dict[str, Any] = {}
    if bad_frames:
        changes["frames"] = [Frame(fix_text(f.name), fix_text(f.file), f.line, fix_text(f.module),
                                   f.kind) for f in p.frames]
        changes["threads"] = [Thread(t.id, fix_text(t.name), t.pid) for t in p.threads]
        changes["sample_types"] = [SampleType(fix_text(s.name), fix_text(s.unit))
                                   for s in p.sample_types]
    if bad_meta:
        n += 1
        changes["meta"] = _fix_json(p.meta)
    if bad_tables:
        n += 1
        changes["tables"] = _fix_json(p.tables)
    q = p.copy(**changes)
    if bad_frames:
        q = _merge_same_frames(q)
    return q, n


def _merge_same_frames(p: Profile) -> Profile:
    """Re-intern frames that became equal after a text fix (two names that differed only
    in a surrogate): the stack table must keep one row per (prefix, frame)."""
    if len(set(p.frames)) == len(p.frames) and len(set(p.threads)) == len(p.threads):
        return p
    from .ops import merge  # merge re-interns frames, stacks and threads

    q = merge(p)
    q.meta = p.meta
    return q
