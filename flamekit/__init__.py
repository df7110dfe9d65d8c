"""flamekit: record, normalize, diff and report Python profiles.

Pipeline: ``record/`` -> ``formats/`` -> ``model`` -> ``analysis/`` -> ``render/``,
wired by ``cli/``. See docs/ and DESIGN notes in the README.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence, Union

from .version import __version__

if TYPE_CHECKING:
    from .analysis.diff import DiffResult
    from .model import (Frame, Profile, ProfileBuilder, SampleType, Thread, by_thread, call_tree,
                        compact, focus, functions, group, ignore, merge, scale, select, to_text)

#: Names re-exported from :mod:`flamekit.model`, imported on first use (PEP 562), so that
#: ``import flamekit`` (and ``flamekit --version``/``--help``) does not load numpy.
_MODEL_NAMES = ("Frame", "Profile", "ProfileBuilder", "SampleType", "Thread", "by_thread",
                "call_tree", "compact", "focus", "functions", "group", "ignore", "merge",
                "scale", "select", "to_text")


def __getattr__(name: str) -> Any:
    """Import the model's public names lazily (``flamekit.Profile`` loads :mod:`flamekit.model`)."""
    if name in _MODEL_NAMES:
        from . import model

        value = getattr(model, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """List the module's names, the lazily imported model names included."""
    return sorted(set(globals()) | set(_MODEL_NAMES))

__all__ = ["Frame", "Profile", "ProfileBuilder", "SampleType", "Thread", "by_thread", "call_tree",
           "compact", "diff", "dump", "focus", "functions", "group", "ignore", "load", "merge",
           "scale", "select", "to_text", "__version__"]

#: One side of :func:`diff`: a profile, a path (file, glob or directory), or a list of them.
Side = Union["Profile", str, "os.PathLike[str]", Sequence[Union["Profile", str, "os.PathLike[str]"]]]


def load(path: str | os.PathLike, fmt: str | None = None) -> Profile:
    """Load a profile file of any supported format (detected by content)."""
    from .formats import load as _load

    return _load(path, fmt)


def dump(profile: Profile, path: str | os.PathLike, fmt: str | None = None,
         sample_type: str | None = None) -> Any:
    """Write a profile to ``path`` (format from ``fmt`` or the file suffix)."""
    from .formats import dump as _dump

    return _dump(profile, path, fmt, sample_type=sample_type)


def diff(base: Side, head: Side, *, by: str = "function", sample_type: str | None = None,
         metric: str = "self", alpha: float = 0.01, min_delta: float = 1.0,
         absolute: bool = False, normalize: bool = True, dispersion: float | None = None,
         fail_on_regression: float | None = None, fmt: str | None = None,
         base_sources: Sequence[str] | None = None,
         head_sources: Sequence[str] | None = None) -> "DiffResult":
    """Diff BASE against HEAD and return a :class:`~flamekit.analysis.diff.DiffResult`.

    Each side is a Profile, a path (file, glob or directory) or a list of them
    (repeated runs); inputs load exactly as ``flamekit diff`` loads them
    (:func:`flamekit.analysis.diff.diff_inputs`; ``fmt`` skips format
    detection). The options are those of :func:`flamekit.analysis.diff.diff`: ``by`` (function, line or file),
    ``sample_type``, ``metric`` (self or total), ``alpha`` (false-discovery
    level), ``min_delta`` (percentage points), ``absolute`` (per-second rates),
    ``normalize`` (name rules), ``dispersion`` (fix φ) and
    ``fail_on_regression`` (for :meth:`~flamekit.analysis.diff.DiffResult.check_threshold`).
    ``base_sources`` / ``head_sources`` name each side's runs (one name per input
    after globs and directories are expanded; default: the path, or ``profile[i]``).
    """
    from .analysis.diff import diff_inputs

    return diff_inputs(base, head, fmt=fmt, by=by, sample_type=sample_type, metric=metric,
                       alpha=alpha, min_delta=min_delta, absolute=absolute,
                       normalize=normalize, dispersion=dispersion,
                       fail_on_regression=fail_on_regression, base_sources=base_sources,
                       head_sources=head_sources)
