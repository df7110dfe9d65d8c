"""The line grammar of ``perf script`` text (pipeline stage: formats).

Shared by :mod:`.perf_script` (sniffing, reading) and :mod:`._perf_parser`
(turning sample blocks into a profile): the event-line anchors, frame lines
``ADDR SYMBOL (DSO)``, ``-F+srcline`` lines, and :class:`FrameReader`, which
classifies and interns frames. The rules are documented in :mod:`.perf_script`.
"""
from __future__ import annotations

import re

from ..model import ProfileBuilder
from ._kinds import frame_kind

#: Stop caching parsed lines past this many entries (bounded memory).
LINE_CACHE_MAX = 500_000
#: The frame of a sample printed without a stack.
NO_STACK = "[no stack]"

# -- header lines --------------------------------------------------------------
# Anchor: " PID[/TID] [CPU] TIMESTAMP:" searched leftmost after the command.
TS_ANCHOR = re.compile(rb"\s(\d+)(?:/(\d+))?\s+(?:\[(\d+)\]\s+)?(\d+\.\d+):(?=\s|$)")
# Old layout without timestamp: " PID[/TID] [CPU] [PERIOD] EVENT:".
OLD_ANCHOR = re.compile(rb"\s(\d+)(?:/(\d+))?\s+(?:\[(\d+)\]\s+)?(?:(-?\d+)\s+)?"
                         rb"([^\s\d\[:]\S*?):(?=\s|$)")
AFTER_TS = re.compile(rb"\s*(?:(-?\d+)\s+)?([^\s:]\S*?):(?=\s|$)\s*")
# The part before the timestamp in the fast path: "COMM PID[/TID] [CPU]".
THREAD_PART = re.compile(rb"(.*?)\s+(\d+)(?:/(\d+))?(?:\s+\[(\d+)\])?\s*")
SYMOFF = re.compile(r"\+0x[0-9a-fA-F]+$")
HEXDIGITS = b"0123456789abcdefABCDEF"


def is_hex(b: bytes) -> bool:
    return bool(b) and not b.translate(None, HEXDIGITS)


def split_dso(rest: bytes) -> tuple[bytes, bytes | None]:
    """Split ``SYMBOL (DSO)`` at the balanced parenthesised group that ends the text."""
    rest = rest.rstrip()
    if not rest.endswith(b")"):
        return rest, None
    k = rest.rfind(b" (")
    if k >= 0:
        mod = rest[k + 2:-1]
        if b"(" not in mod and b")" not in mod:
            return rest[:k].rstrip(), mod
    elif rest.startswith(b"(") and b"(" not in rest[1:-1] and b")" not in rest[1:-1]:
        return b"", rest[1:-1]
    depth = 0
    i = len(rest) - 1
    while i >= 0:
        c = rest[i]
        if c == 41:  # ')'
            depth += 1
        elif c == 40:  # '('
            depth -= 1
            if depth == 0:
                break
        i -= 1
    if i < 0 or (i > 0 and rest[i - 1] not in b" \t"):
        if k < 0:
            return rest, None
        i = k + 1
    return rest[:i].rstrip(), rest[i + 1:-1]


def dec(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def event_unit(event: str, has_period: bool) -> str:
    if not has_period:
        return "samples"
    base = event.split(":", 1)[0]
    if base in ("cpu-clock", "task-clock"):
        return "nanoseconds"
    return "events"


def srcline(x: bytes) -> tuple[str, int] | None:
    s = x.strip()
    f, sep, ln = s.rpartition(b":")
    if sep and f and ln.isdigit() and b" (" not in s and len(ln) < 10:
        return dec(f), int(ln)
    return None


def show(x: bytes, n: int = 80) -> str:
    s = dec(x[:n])
    return repr(s) + ("..." if len(x) > n else "")


def looks_like_frame(x: bytes) -> bool:
    s = x.strip()
    sp = s.find(b" ")
    return sp > 0 and is_hex(s[:sp]) and s.rstrip().endswith(b")")


class FrameReader:
    """Parse ``ADDR SYMBOL (DSO)`` frame text into interned frame ids (leaf first)."""

    def __init__(self, unknown_addresses: bool = False) -> None:
        self.addrs = unknown_addresses
        self.b = ProfileBuilder([])
        self.frame_ids: dict[tuple, int] = {}
        self.sym_cache: dict[object, list[int]] = {}

    # -- interning -----------------------------------------------------------
    def frame(self, name: str, file: str, line: int, module: str, kind: str) -> int:
        key = (name, file, line, module, kind)
        fid = self.frame_ids.get(key)
        if fid is None:
            fid = self.frame_ids[key] = self.b.frame(name, file, line, module, kind)
        return fid

    # -- frames ----------------------------------------------------------------
    def parse_frame_text(self, text: bytes) -> list[int] | None:
        """Return frame ids (leaf first) for ``ADDR SYMBOL (DSO)``, or None if it is not one."""
        s = text.strip()
        sp = s.find(b" ")
        if sp <= 0:
            return None
        addr = s[:sp]
        if not is_hex(addr):
            return None
        symb, modb = split_dso(s[sp + 1:].lstrip())
        if modb is None:
            return None
        if symb.startswith(b"[unknown]"):
            return self.parse_symbol(symb, modb, addr)
        key = symb if symb.startswith(b"py::") and b":" in symb[4:] else (symb, modb)
        ids = self.sym_cache.get(key)
        if ids is None:
            if len(self.sym_cache) >= LINE_CACHE_MAX:
                self.sym_cache = {}
            ids = self.sym_cache[key] = self.parse_symbol(symb, modb, addr)
        return ids

    def known_frame(self, text: bytes) -> int:
        """Return the one frame id :meth:`parse_frame_text` gives ``text`` from its symbol
        cache, else -3 (not a frame line, several frames, or a symbol not parsed yet).
        Changes nothing: a line of a known symbol at a new address costs no parse."""
        s = text.strip()
        sp = s.find(b" ")
        if sp <= 0 or not is_hex(s[:sp]):
            return -3
        symb, modb = split_dso(s[sp + 1:].lstrip())
        if modb is None or symb.startswith(b"[unknown]"):
            return -3
        ids = self.sym_cache.get(symb if symb.startswith(b"py::") and b":" in symb[4:] else (symb, modb))
        return ids[0] if ids is not None and len(ids) == 1 else -3

    def parse_symbol(self, symb: bytes, modb: bytes, addr: bytes) -> list[int]:
        sym = dec(symb)
        mod = dec(modb)
        sym = SYMOFF.sub("", sym)
        return self.classify(sym, mod, addr)

    def classify(self, sym: str, mod: str, addr: bytes) -> list[int]:
        if mod == "inlined":
            return [self.frame(sym, "", 0, "", "inlined")]
        kind = frame_kind("", mod, default="native")
        if sym == "[unknown]":
            if mod and mod != "[unknown]":
                base = "[" + mod.rsplit("/", 1)[-1]
            else:
                base = "[unknown"
                kind = "unknown"
                try:
                    if int(addr, 16) >= 0xFFFF800000000000:
                        kind = "kernel"
                except ValueError:
                    pass
            name = base + (f" <{addr.decode('ascii')}>]" if self.addrs else "]")
            return [self.frame(name, "", 0, mod, kind)]
        if sym.startswith("py::"):
            qual, sep, file = sym[4:].partition(":")
            if sep:
                return [self.frame(qual, file, 0, "", "python")]
        if "->" in sym and kind == "jit":
            parts = sym.split("->")
            ids = [self.frame(parts[0], "", 0, mod, kind)]
            ids.extend(self.frame(p, "", 0, mod, "inlined") for p in parts[1:])
            ids.reverse()  # leaf first, like the lines of a stack
            return ids
        return [self.frame(sym, "", 0, mod, kind)]
