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
    """Diff two profiles (or lists of profiles); see :func:`flamekit.analysis.diff.diff`."""
    from .analysis.diff import diff as _diff

    return _diff(base, head, **kwargs)
