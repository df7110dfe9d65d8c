"""What ``--hide-libraries`` folded, as one line of text (pipeline stage: render)."""
from __future__ import annotations

from ..model import Profile
from .terminal import format_value


def hidden_note(profile: Profile, sample_type: int = 0) -> str:
    """Return a note on the library frames :func:`flamekit.model.hide_libraries` folded ('' if none ran)."""
    info = profile.meta.get("hidden_libraries")
    if not isinstance(info, dict):
        return ""
    if not info.get("rows"):
        return "library frames hidden: none found under user code"
    st = profile.sample_types[sample_type] if profile.sample_types else None
    moved = (info.get("self") or [0.0] * (sample_type + 1))[sample_type]
    grand = float(profile.values[:, sample_type].sum()) if profile.n_samples else 0.0
    share = f" ({moved / grand * 100:.1f}% of the total)" if grand else ""
    unit = st.unit if st else ""
    return (f"library frames hidden: {info.get('frames', 0):,} frames of {info.get('functions', 0):,} "
            f"functions (standard library, site-packages, <frozen>) folded into the user frames that "
            f"called them; {format_value(moved, unit)}{share} of self time moved to those callers")
