"""Strict JSON reading shared by the JSON importers (pipeline stage: formats).

``json.loads`` accepts ``NaN``/``Infinity`` and overflows ``1e999`` to ``inf``
silently, and raises ``RecursionError`` on deeply nested input (bad_inputs.md
S06/S08). :func:`load_json` turns each of those into a :class:`FormatError`
naming the file and the line, and offers a lenient mode for producers that do
write ``NaN`` (scalene uses Python's ``json.dump``, which does).
"""
from __future__ import annotations

import json
import math
import os
from typing import Any

from ..errors import FormatError
from ..model.validate import describe as describe_json
from . import _io

#: Largest JSON document read into memory (decompressed bytes).
MAX_JSON_BYTES = int(os.environ.get("FLAMEKIT_MAX_JSON_BYTES", 2 * 1024**3))


class _NonFinite(ValueError):
    pass


def _strict_constant(token: str) -> float:
    raise _NonFinite(f"non-finite number {token!r} is not valid JSON")


def _strict_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise _NonFinite(f"number {text[:40]!r} overflows a 64-bit float")
    return v


def load_json(path: str | os.PathLike, fmt: str, *, max_decompressed: int | None = None,
              allow_nan: bool = False, unclosed_array: bool = False) -> Any:
    """Read and parse a whole JSON file; every failure is a :class:`FormatError`.

    This is the one JSON file reader of the importers (the bytes come through
    :func:`._io.read_all_bytes`: gzip under the cap, BOMs, U+FFFD for bad
    UTF-8); parsing is :func:`parse_json`.
    """
    source = os.fspath(path)
    data = _io.read_all_bytes(source, limit=MAX_JSON_BYTES, max_decompressed=max_decompressed)
    text = _io.normalize_head(data).decode("utf-8", errors="replace")
    del data
    if not text.strip():
        raise FormatError(fmt, source, "offset 0", "empty file: no samples")
    return parse_json(text, fmt, source, allow_nan=allow_nan, unclosed_array=unclosed_array)


def parse_json(text: str, fmt: str, source: str, *, allow_nan: bool = False,
               unclosed_array: bool = False) -> Any:
    """Parse JSON text strictly; every failure is a :class:`FormatError` naming ``source``.

    ``NaN``/``Infinity`` and numbers that overflow a float64 are refused unless
    ``allow_nan`` (then they parse to float NaN/inf and the caller must check
    values with ``math.isfinite``). With ``unclosed_array`` a top-level array
    whose closing ``]`` is missing (maybe after a trailing comma) is accepted, as
    the Trace Event format allows for traces cut off by a crash.
    """
    kw: dict[str, Any] = {}
    if not allow_nan:
        kw = {"parse_constant": _strict_constant, "parse_float": _strict_float}
    try:
        return json.loads(text, **kw)
    except json.JSONDecodeError as e:
        if unclosed_array and text.lstrip().startswith("["):
            try:
                return json.loads(text.rstrip().rstrip(",").rstrip() + "]", **kw)
            except (ValueError, RecursionError):
                pass
        raise FormatError(fmt, source, f"line {e.lineno}",
                          f"invalid JSON: {e.msg} (column {e.colno})") from None
    except _NonFinite as e:
        raise FormatError(fmt, source, None, f"invalid JSON: {e}") from None
    except RecursionError:
        raise FormatError(fmt, source, None, "JSON nested too deeply to load") from None


#: A short, safe description of an unexpected JSON value for error messages (the model's).
describe = describe_json


def is_number(v: Any) -> bool:
    """Return True for a JSON number (int or float, not a boolean)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)
