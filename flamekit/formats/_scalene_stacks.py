"""scalene JSON import, part 2: input checks and stacks (pipeline stage: formats).

:class:`Loader` checks values (counting clamped ones); the functions turn
scalene's frames and ``combined_stacks``/``stacks`` into profile stacks and name
lines after their enclosing ``def``. The rules are documented in
:mod:`.scalene_json`.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from typing import Any

from ..errors import FormatError
from ..model import ProfileBuilder
from . import _json
from ._kinds import frame_kind

NAME = "scalene"
DEF_RX = re.compile(r"^(\s*)(?:async\s+)?def\s+([A-Za-z_][A-Za-z0-9_]*)")
STACK_STR_RX = re.compile(r"^(.*) (\S+):(\d+);?$", re.S)


class Loader:
    """Check and convert values of one scalene document; errors name the JSON path."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.clamped: Counter = Counter()

    def fail(self, path: str, reason: str) -> FormatError:
        return FormatError(NAME, self.source, None, f"{path}: {reason}" if path else reason)

    def num(self, obj: dict, key: str, path: str, *, hi: float | None = None) -> float:
        """Return a non-negative finite number (missing -> 0; bad values clamped and counted)."""
        v = obj.get(key)
        if v is None:
            return 0.0
        if not _json.is_number(v):
            raise self.fail(f"{path}.{key}", f"expected a number, got {_json.describe(v)}")
        try:
            x = float(v)
        except OverflowError:
            x = math.inf
        if math.isnan(x):
            self.clamped["not a number (NaN)"] += 1
            return 0.0
        if x < 0 and not math.isinf(x):
            self.clamped["negative"] += 1
            return 0.0
        if math.isinf(x):
            self.clamped["infinite"] += 1
            return 0.0
        if hi is not None and x > hi:
            self.clamped[f"above {hi:g}"] += 1
            return hi
        return x

    def list_of(self, obj: dict, key: str, path: str, required: bool = False) -> list:
        v = obj.get(key)
        if v is None and key not in obj and not required:
            return []
        if not isinstance(v, list):
            raise self.fail(f"{path}.{key}", f"expected a list, got {_json.describe(v)}"
                            if key in obj else "missing")
        return v


def py_frame(L: Loader, b: ProfileBuilder, fr: Any, path: str, names: dict) -> int:
    if not isinstance(fr, dict):
        raise L.fail(path, f"expected a frame object, got {_json.describe(fr)}")
    name, file = fr.get("display_name"), fr.get("filename_or_module")
    if not isinstance(name, str) or not isinstance(file, str):
        raise L.fail(path, "frame needs string display_name and filename_or_module")
    if fr.get("kind") == "native":
        ip = fr.get("ip")
        if not name:
            name = f"0x{ip:x}" if isinstance(ip, int) and not isinstance(ip, bool) and ip >= 0 \
                else "[unknown]"
        return b.frame(name, "", 0, file, "native")
    line = fr.get("line")
    line = line if isinstance(line, int) and not isinstance(line, bool) and 0 <= line < 2**31 else 0
    names.setdefault((file, line), name)
    return b.frame(name, file, line, "", frame_kind(file, default="python"))


def view_ids(L: Loader, b: ProfileBuilder, frames: list, path: str, names: dict, native: bool) -> list[int]:
    """Return the frame ids of one scalene stack in the chosen view.

    ``native`` keeps scalene's combined stack as it is: the Python frames, then the
    whole native stack of the interpreter serving the innermost one (``Py_RunMain``,
    ``_PyEval_EvalFrameDefault``, unresolved ``0x...`` addresses, the C function at
    work such as ``__select`` or ``memcpy``). The Python view (the default) folds
    those native frames into the Python frame they serve (their samples become its
    self time), as py-spy shows without ``--native``; a stack with no Python frame
    at all becomes one ``[native]`` frame.
    """
    idx = [(j, fr) for j, fr in enumerate(frames)
           if native or not (isinstance(fr, dict) and fr.get("kind") == "native")]
    fids = [py_frame(L, b, fr, f"{path}[{j}]", names) for j, fr in idx]
    if frames and not fids:
        fids = [b.frame("[native]", "", 0, "", "native")]
    return fids


def cpu_stacks(L: Loader, b: ProfileBuilder, doc: dict, names: dict, main: int,
               main_tid: int, native: bool = False) -> list[tuple[int, int, float]]:
    """Return ``(stack, thread, count)`` triples from combined_stacks, or else stacks.

    ``native``: keep native frames (see :func:`view_ids`).
    """
    out: list[tuple[int, int, float]] = []
    combined = L.list_of(doc, "combined_stacks", "")
    if combined:
        rows = []
        for i, ent in enumerate(combined):
            p = f"combined_stacks[{i}]"
            if not isinstance(ent, list) or len(ent) != 2 or not isinstance(ent[0], list):
                raise L.fail(p, "expected [frames, count]")
            fids = view_ids(L, b, ent[0], f"{p}[0]", names, native)
            rows.append((b.stack(fids) if fids else -1, L.num({"c": ent[1]}, "c", p)))
        # split hit counts by thread with the run-length timeline; the rest stays on main
        per: dict[int, Counter] = defaultdict(Counter)
        for ev in L.list_of(doc, "combined_stacks_timeline", ""):
            if not isinstance(ev, dict):
                continue
            si, cnt, tid = ev.get("stack_index"), ev.get("count"), ev.get("thread_id")
            if isinstance(si, int) and 0 <= si < len(rows) and _json.is_number(cnt) and cnt > 0:
                tid = tid if isinstance(tid, int) and not isinstance(tid, bool) \
                    and abs(tid) < 2**63 else main_tid
                per[si][tid] += cnt
        for si, (stack, hits) in enumerate(rows):
            if stack < 0 or not hits:
                continue
            left = hits
            for tid, cnt in sorted(per.get(si, {}).items()):
                c = min(cnt, left)
                if c > 0:
                    th = main if tid == main_tid else b.thread(tid, "")
                    out.append((stack, th, float(c)))
                    left -= c
            if left > 0:
                out.append((stack, main, float(left)))
        return out
    for i, ent in enumerate(L.list_of(doc, "stacks", "")):
        p = f"stacks[{i}]"
        if not isinstance(ent, list) or len(ent) != 2 or not isinstance(ent[0], list):
            raise L.fail(p, "expected [frames, stats]")
        stats = ent[1]
        count = L.num(stats, "count", p) if isinstance(stats, dict) else L.num({"c": stats}, "c", p)
        fids = []
        for j, s in enumerate(ent[0]):
            m = STACK_STR_RX.match(s) if isinstance(s, str) else None
            if not m:
                raise L.fail(f"{p}[0][{j}]", "expected a frame string 'file function:line;'")
            file, name, line = m.group(1), m.group(2), int(m.group(3))
            names.setdefault((file, line), name)
            fids.append(b.frame(name, file, min(line, 2**31), "", frame_kind(file, default="python")))
        if fids and count:
            out.append((b.stack(fids), main, count))
    return out


def memory_stacks(L: Loader, b: ProfileBuilder, doc: dict, names: dict,
                  native: bool = False) -> list[tuple[int, float]]:
    """Return ``(stack, megabytes)`` pairs from memory_stacks (``native``: see :func:`view_ids`)."""
    out = []
    for i, ent in enumerate(L.list_of(doc, "memory_stacks", "")):
        p = f"memory_stacks[{i}]"
        if not isinstance(ent, list) or len(ent) != 2 or not isinstance(ent[0], list):
            raise L.fail(p, "expected [frames, megabytes]")
        fids = view_ids(L, b, ent[0], f"{p}[0]", names, native)
        mb = L.num({"mb": ent[1]}, "mb", p)
        if fids and mb:
            out.append((b.stack(fids), mb))
    return out


def name_lines(lines: list[dict], funcs: list[dict], names: dict) -> None:
    """Give every line row its enclosing function's name (see the module docstring)."""
    by_def = {(f["file"], f["line"]): f["function"] for f in funcs}
    defs: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for f in funcs:
        defs[f["file"]].append((f["line"], f["function"]))
    src: dict[str, dict[int, str]] = defaultdict(dict)
    for r in lines:
        src[r["file"]][r["line"]] = r["source"]
    for r in lines:
        start = r.pop("_start")
        name = names.get((r["file"], r["line"])) or by_def.get((r["file"], start))
        if not name:
            name, sure = enclosing_def(src[r["file"]], r["line"])
            if not name and not sure:  # sparse source (old schemas): nearest def above
                above = [d for d in defs[r["file"]] if d[0] <= r["line"]]
                name = max(above)[1] if above else None
        r["function"] = name or "<module>"


def enclosing_def(src: dict[int, str], lineno: int) -> tuple[str | None, bool]:
    """Find the ``def`` enclosing ``lineno`` in the embedded source: ``(name, conclusive)``.

    Inconclusive when a line needed for the answer is missing from ``src``.
    """
    text = src.get(lineno, "")
    m = DEF_RX.match(text)
    if m:
        return m.group(2), True
    stripped = text.lstrip()
    if not stripped:
        return None, False
    indent = len(text) - len(stripped)
    if indent == 0:
        return None, True
    for n in range(lineno - 1, 0, -1):
        t = src.get(n)
        if t is None:
            return None, False
        if not t.strip() or t.lstrip().startswith("#"):
            continue
        ind = len(t) - len(t.lstrip())
        if ind >= indent:
            continue
        m = DEF_RX.match(t)
        if m:
            return m.group(2), True
        if ind == 0:
            return None, True
        indent = ind
    return None, True
