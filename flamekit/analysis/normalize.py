"""Name normalization before a diff (pipeline stage: analysis).

Some frame names and file names change from run to run for no reason that
matters to a performance comparison: a memory address printed into a name, a
generated lambda or closure counter, a temporary directory. Left alone, each
such frame would diff as one function ``gone`` and another ``new``. The rules
below rewrite them to a stable spelling before frames are matched. They are on
by default, listed in the diff's output with how many frames each one changed,
and turned off with ``flamekit diff --no-normalize-names`` (``normalize=False``).

Each rule is a regular expression and a replacement, applied to the frame's
``name`` and/or ``file`` in the order of :data:`DEFAULT_RULES`. The documented
list lives in ``docs/diff.md``; keep the two in step.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..model import Frame, Profile


@dataclass(frozen=True)
class Rule:
    """One normalization rule: ``pattern`` (regex) replaced by ``replacement``.

    ``fields`` says where it applies: ``"name"``, ``"file"`` or both.
    """

    name: str
    pattern: str
    replacement: str
    fields: tuple[str, ...]
    description: str

    def compiled(self) -> re.Pattern:
        """Return the compiled pattern (cached per rule by :func:`_compiled`)."""
        return _compiled(self.pattern)


_CACHE: dict[str, re.Pattern] = {}


def _compiled(pattern: str) -> re.Pattern:
    rx = _CACHE.get(pattern)
    if rx is None:
        rx = _CACHE[pattern] = re.compile(pattern)
    return rx


#: The default rules, applied in this order.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("address",
         r"0[xX][0-9a-fA-F]{6,16}\b",
         "0x…",
         ("name", "file"),
         "memory addresses such as `<function f at 0x7f3a12bc>` or `$$Lambda/0x0000000800c0` "
         "become `0x…` (6 to 16 hex digits after 0x)"),
    Rule("generated_id",
         r"(?i:\b(lambda|closure|genexpr|listcomp|dictcomp|setcomp|anonymous|anon|block)"
         r"([_$#-])\d+)",
         r"\1\2N",
         ("name",),
         "numbered generated functions such as `<lambda_12>`, `lambda$7`, `closure_3`, "
         "`anonymous-42` get `N` for the number"),
    Rule("temp_dir",
         r"(^|[/\\])(?:tmp[a-z0-9_]{8}|tmp\.[A-Za-z0-9]{10})(?=[/\\])",
         r"\1tmpXXXXXX",
         ("name", "file"),
         "temporary directories made by Python's `tempfile` (`tmp` + 8 characters, e.g. "
         "`/tmp/tmpab12cd_x/`) or `mktemp -d` (`tmp.` + 10) become `tmpXXXXXX`"),
    Rule("pytest_dir",
         r"(pytest-of-[^/\\]+[/\\]pytest-)\d+",
         r"\1N",
         ("name", "file"),
         "pytest's numbered base temp directories `pytest-of-USER/pytest-17/` become `pytest-N`"),
)


def normalize_text(text: str, rules: Sequence[Rule] = DEFAULT_RULES, field: str = "name") -> str:
    """Return ``text`` with every rule that applies to ``field`` applied in order."""
    for r in rules:
        if field in r.fields:
            text = r.compiled().sub(r.replacement, text)
    return text


def _any_rule(rules: Sequence[Rule], field: str) -> re.Pattern | None:
    pats = [r.pattern for r in rules if field in r.fields]
    return _compiled("|".join(f"(?:{p})" for p in pats)) if pats else None


def normalize_frames(frames: Iterable[Frame], rules: Sequence[Rule] = DEFAULT_RULES
                     ) -> tuple[list[Frame], dict[str, int]]:
    """Return the frames with normalized names and files, and frames changed per rule."""
    counts = {r.name: 0 for r in rules}
    out: list[Frame] = []
    quick = {fld: _any_rule(rules, fld) for fld in ("name", "file")}
    cache: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}

    def apply(fld: str, s: str) -> tuple[str, tuple[str, ...]]:
        hit = cache.get((fld, s))
        if hit is None:
            q = quick[fld]
            if not s or q is None or q.search(s) is None:  # most frames: one regex test
                hit = (s, ())
            else:
                fired = []
                t = s
                for r in rules:
                    if fld in r.fields:
                        u = r.compiled().sub(r.replacement, t)
                        if u != t:
                            fired.append(r.name)
                            t = u
                hit = (t, tuple(fired))
            cache[(fld, s)] = hit
        return hit

    for f in frames:
        name, fn = apply("name", f.name)
        file, ff = apply("file", f.file)
        for r in fn + ff:
            counts[r] += 1
        if fn or ff:
            f = Frame(name, file, f.line, f.module, f.kind)
        out.append(f)
    return out, counts


def normalize_profile(p: Profile, rules: Sequence[Rule] = DEFAULT_RULES
                      ) -> tuple[Profile, dict[str, int]]:
    """Return ``p`` with normalized frame names and files, and frames changed per rule.

    Only the frame table is rewritten (frames may become equal; every analysis
    interns frames by key, so equal frames are simply counted together).
    """
    frames, counts = normalize_frames(p.frames, rules)
    if not any(counts.values()):
        return p, counts
    return p.copy(frames=frames), counts


def rules_info(rules: Sequence[Rule] = DEFAULT_RULES) -> list[dict]:
    """Return the rules as plain JSON (name, pattern, replacement, fields, description)."""
    return [{"name": r.name, "pattern": r.pattern, "replacement": r.replacement,
             "fields": list(r.fields), "description": r.description} for r in rules]
