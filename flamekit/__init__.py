"""flamekit: record, normalize, diff and report Python profiles.

Pipeline: ``record/`` -> ``formats/`` -> ``model`` -> ``analysis/`` -> ``render/``,
wired by ``cli/``. See docs/ and DESIGN notes in the README.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .model import (Frame, Profile, ProfileBuilder, SampleType, Thread, call_tree, compact,
                    focus, functions, group, ignore, merge, select, to_text)

__all__ = ["Frame", "Profile", "ProfileBuilder", "SampleType", "Thread", "call_tree", "compact",
           "focus", "functions", "group", "ignore", "merge", "select", "to_text", "load", "dump",
           "__version__"]


def load(path, fmt=None):
    """Load a profile file of any supported format (detected by content)."""
    from .formats import load as _load

    return _load(path, fmt)


def dump(profile, path, fmt=None, sample_type=None):
    """Write a profile to ``path`` (format from ``fmt`` or the file suffix)."""
    from .formats import dump as _dump

    return _dump(profile, path, fmt, sample_type=sample_type)


def diff(base, head, **kwargs):
    """Diff BASE against HEAD and return a :class:`~flamekit.analysis.diff.DiffResult`.

    Each side is a Profile, a path (file, glob or directory) or a list of them
    (repeated runs). Keyword arguments are those of :func:`flamekit.analysis.diff.diff`
    (``by``, ``sample_type``, ``metric``, ``alpha``, ``min_delta``, ``absolute``...).
    """
    import os

    from .analysis.diff import diff as _diff

    def side(x):
        items = x if isinstance(x, (list, tuple)) else [x]
        out, srcs = [], []
        for it in items:
            if isinstance(it, (str, os.PathLike)):
                from .cli.diff import load_side

                profs, paths = load_side([os.fspath(it)])
                out += profs
                srcs += paths
            else:
                out.append(it)
                srcs.append(f"profile[{len(srcs)}]")
        return out, srcs

    b, bs = side(base)
    h, hs = side(head)
    kwargs.setdefault("base_sources", bs)
    kwargs.setdefault("head_sources", hs)
    return _diff(b, h, **kwargs)
