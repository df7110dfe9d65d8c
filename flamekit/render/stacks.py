"""Thread stack snapshots as text or JSON (pipeline stage: render), for ``flamekit dump``.

Reads a Profile holding one sample per thread (as
:func:`flamekit.formats.pyspy_dump.parse` makes it) and writes it the way
``py-spy dump`` does: a header, then per thread ``Thread TID "name" (state)``
and its frames innermost first, ``function (file:line)``. Names and paths
are untrusted text and go through :func:`~flamekit.render.terminal.safe_text`
(controls and bidi overrides shown as escapes). The JSON form is flamekit's
own, documented in ``docs/cli.md``: ``{"pid", "python_version", "command",
"threads": [{"id", "python_thread_id", "name", "active", "owns_gil",
"frames": [{"name", "file", "line", "kind"}]}]}`` with frames innermost first
and ``null`` where the backend did not say; threads by id (the main thread,
whose id is the process id, first).
"""
from __future__ import annotations

import json
import shlex
from typing import Any

from ..model import Profile
from .terminal import safe_text


def snapshot(profile: Profile) -> dict[str, Any]:
    """Return the snapshot as plain data (the ``--json`` document)."""
    state = profile.tables.get("thread_state") or {}
    rows = {t: i for i, t in enumerate(state.get("thread", []))}
    leaf = {int(t): int(s) for s, t in zip(profile.sample_stack.tolist(), profile.sample_thread.tolist())}
    threads = []
    for ti, t in enumerate(profile.threads):
        r = rows.get(ti)

        def col(name: str) -> Any:
            return state[name][r] if r is not None and name in state else None

        frames = []
        if ti in leaf:
            for fi in reversed(profile.stack_frames(leaf[ti])):
                f = profile.frames[fi]
                frames.append({"name": f.name, "file": f.file, "line": f.line or None, "kind": f.kind})
        threads.append({"id": t.id, "python_thread_id": col("python_thread_id"), "name": t.name,
                        "active": col("active"), "owns_gil": col("owns_gil"), "frames": frames})
    threads.sort(key=lambda t: t["id"])  # the main thread's id is the pid: it comes first
    m = profile.meta
    return {"pid": m.get("pid"), "python_version": m.get("python_version"),
            "command": m.get("command") or [], "tool": m.get("tool"),
            "tool_version": m.get("tool_version"), "time": m.get("start_time"), "threads": threads}


def render_json(profile: Profile) -> str:
    """Return the snapshot as indented JSON text (keys sorted, one trailing newline)."""
    return json.dumps(snapshot(profile), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _state(t: dict) -> str:
    bits = []
    if t["active"] is not None:
        bits.append("active" if t["active"] else "idle")
    if t["owns_gil"]:
        bits.append("holds the GIL")
    return f" ({', '.join(bits)})" if bits else ""


def render_text(profile: Profile) -> str:
    """Return the snapshot as ``py-spy dump``-style text (escaped, one line per frame)."""
    s = snapshot(profile)
    cmd = s["command"]
    head = f"Process {s['pid']}"
    if cmd:
        head += ": " + safe_text(shlex.join(cmd) if isinstance(cmd, list) else str(cmd), 300)
    out = [head]
    if s["python_version"]:
        out.append(f"Python {safe_text(s['python_version'])}")
    out.append(f"{len(s['threads'])} thread{'s' if len(s['threads']) != 1 else ''}")
    for t in s["threads"]:
        out.append("")
        out.append(f"Thread {t['id']} \"{safe_text(t['name'])}\"{_state(t)}")
        if not t["frames"]:
            out.append("    (no Python frames)")
        for f in t["frames"]:
            loc = f"{f['file']}:{f['line']}" if f["line"] else f["file"]
            out.append(f"    {safe_text(f['name'])} ({safe_text(loc)})")
    return "\n".join(out) + "\n"
