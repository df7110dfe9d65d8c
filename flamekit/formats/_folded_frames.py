"""Folded stacks, frame text <-> :class:`~flamekit.model.Frame` (pipeline stage: formats).

One frame's text in a folded line: ``name (file:line)``, FlameGraph's ``_[k]``
annotations and the eight ``\\xNN`` escapes, both directions, plus
:class:`FrameIds`, the interning table the reader parses through. The grammar
is documented in :mod:`.folded`.
"""
from __future__ import annotations

import re

from ..model import Frame
from ._kinds import frame_kind

THREAD_RX = re.compile(rb"^thread \((0x[0-9a-fA-F]{1,16}|-?[0-9]{1,19})\)(?:: (.*))?$", re.S)
PROCESS_RX = re.compile(rb'^process (-?[0-9]{1,19}):"(.*)"$', re.S)
_I64 = 2**63
_LINE_RX = re.compile(r"-?[0-9]{1,19}", re.A)  # a line number: int64 (negative ones too)
_LINE_END_RX = re.compile(r":-?[0-9]{1,19}$", re.A)
ANNOT = {"k": "kernel", "j": "jit", "i": "inlined"}
ANNOT_OF_KIND = {v: k for k, v in ANNOT.items()}
_UNESC_RX = re.compile(r"\\x(3[bB]|0[aA]|0[dD]|5[cC]|28|29|5[bB]|22)")
_BACKSLASH_RX = re.compile(r"\\(?=x(?:3[bB]|0[aA]|0[dD]|5[cC]|28|29|5[bB]|22))")


def _unescape(s: str) -> str:
    return _UNESC_RX.sub(lambda m: chr(int(m.group(1), 16)), s) if "\\x" in s else s


def _split_structure(t: str) -> tuple[str, str | None, int]:
    """Split raw (still escaped) frame text into ``(name, file or None, line)``."""
    if t.endswith(")"):
        idx = t.rfind(" (")
        if idx >= 0:
            inner = t[idx + 2:-1]
            if inner and "(" not in inner and ")" not in inner:
                f, sep, ln = inner.rpartition(":")
                if sep and _LINE_RX.fullmatch(ln) and -_I64 <= int(ln) < _I64:
                    return t[:idx], f, int(ln)
                return t[:idx], inner, 0
    return t, None, 0


def _frame_fields(text: str) -> tuple[str, str, int, str]:
    """Return ``(name, file, line, kind)`` of one frame's text (annotations, escapes)."""
    kind = None
    if text[-1:] == "]" and len(text) >= 4 and text[-4:-2] == "_[" and text[-2] in ANNOT:
        kind = ANNOT[text[-2]]
        text = text[:-4]
    name, file, line = _split_structure(text)
    if "\\x" in name:
        name = _unescape(name)
    if file:
        if "\\x" in file:
            file = _unescape(file)
    else:
        file = ""
    return name, file, line, kind or frame_kind(file)


def parse_frame(text: str) -> Frame:
    """Parse one frame's text (``name (file:line)``, annotations, escapes) into a Frame."""
    name, file, line, kind = _frame_fields(text)
    return Frame(name, file, line, "", kind)


def esc_common(s: str) -> str:
    if "\\" in s:
        s = _BACKSLASH_RX.sub(r"\\x5c", s)
    if ";" in s or "\n" in s or "\r" in s:
        s = s.replace(";", "\\x3b").replace("\n", "\\x0a").replace("\r", "\\x0d")
    return s


def format_frame(f: Frame) -> str:
    """Return the folded text of a frame (escaped so that :func:`parse_frame` reads it back)."""
    name = esc_common(f.name)
    if f.file or f.line:
        file = esc_common(f.file).replace("(", "\\x28").replace(")", "\\x29")
        if f.line:
            loc = f"{file}:{f.line}"
        else:
            loc = f"{file}:0" if _LINE_END_RX.search(file) or not file else file
        text = f"{name} ({loc})"
    else:
        text = name
        if _split_structure(text)[1] is not None:  # would read back as name + file
            text = text[:-1] + "\\x29"
        if text.startswith(("thread (", "process ")) and (
                THREAD_RX.match(text.encode("utf-8", "surrogatepass"))
                or PROCESS_RX.match(text.encode("utf-8", "surrogatepass"))):
            text = (text.replace(":\"", ":\\x22", 1) if text.startswith("process ")
                    else "thread \\x28" + text[8:])
    annot = ANNOT_OF_KIND.get(f.kind)
    if annot:
        text += f"_[{annot}]"
    elif len(text) >= 4 and text.endswith("]") and text[-4:-2] == "_[" and text[-2] in ANNOT:
        text = text[:-3] + "\\x5b" + text[-2:]
    return text


class FrameIds(dict):
    """bytes -> frame id; a missing key is parsed and interned once (``__missing__``).

    Thread/process marker frames get negative ids (-1 - index into ``markers``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []
        self.index: dict[tuple, int] = {}  # (name, file, line, module, kind) -> id
        self.markers: list[tuple[str, int, str, bytes]] = []
        self.marker_frame: dict[int, int] = {}

    def intern(self, f: Frame) -> int:
        key = (f.name, f.file, f.line, f.module, f.kind)
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.frames)
            self.frames.append(f)
        return i

    def __missing__(self, raw: bytes) -> int:
        if raw[:8] == b"thread (" or raw[:8] == b"process ":
            # ids are int64 (the model's bound); names are escaped as frames are
            m = THREAD_RX.match(raw)
            tid = None if not m else int(m.group(1), 16) if m.group(1)[:2] == b"0x" \
                else int(m.group(1))
            if tid is not None and -_I64 <= tid < _I64:
                name = _unescape((m.group(2) or b"").decode("utf-8", "replace"))
                self.markers.append(("thread", tid, name, raw))
                i = self[raw] = -len(self.markers)
                return i
            m = PROCESS_RX.match(raw)
            if m and -_I64 <= int(m.group(1)) < _I64:
                self.markers.append(("process", int(m.group(1)),
                                     _unescape(m.group(2).decode("utf-8", "replace")), raw))
                i = self[raw] = -len(self.markers)
                return i
        name, file, line, kind = _frame_fields(raw.decode("utf-8", "replace"))
        key = (name, file, line, "", kind)
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.frames)
            self.frames.append(Frame(name, file, line, "", kind))
        self[raw] = i
        return i

    def as_frame(self, neg: int) -> int:
        """Return a regular frame id for a marker used outside the root position."""
        i = self.marker_frame.get(neg)
        if i is None:
            raw = self.markers[-1 - neg][3]
            i = self.marker_frame[neg] = self.intern(
                Frame(raw.decode("utf-8", "replace"), "", 0, "", "unknown"))
        return i
