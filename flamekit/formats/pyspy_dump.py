"""py-spy ``dump --json`` output (pipeline stage: formats): one stack per thread, as a Profile.

``py-spy dump --pid PID --json`` (https://github.com/benfred/py-spy, 0.3+)
prints a JSON array with one object per thread: ``thread_id`` (the Python
thread id), ``os_thread_id``, ``thread_name``, ``active`` (false when py-spy
judges the thread idle), ``owns_gil`` and ``frames``, innermost first, each
with ``name``, ``filename``, ``short_filename``, ``module``, ``line`` and
``locals``. :func:`parse` turns it into a :class:`~flamekit.model.Profile`
with one sample of sample type ``threads/count`` per thread (stacks root
first, as everywhere in flamekit) and the per-thread state in
``profile.tables["thread_state"]`` (columns ``thread`` (index into
``threads``), ``python_thread_id``, ``active``, ``owns_gil``; ``None`` where
py-spy did not say). A thread with no Python frame keeps its thread row and
gets no sample.

This is a snapshot, not a profile file people pass around, so it is not in
the detection registry; :mod:`flamekit.record.dump` runs py-spy and calls
:func:`parse` on its output.
"""
from __future__ import annotations

from typing import Any

from ..errors import FormatError
from ..model import Profile, ProfileBuilder, SampleType
from . import _json

NAME = "py-spy-dump"
SAMPLE_TYPE = SampleType("threads", "count")


def _flag(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def parse(text: str, *, source: str = "py-spy dump --json", pid: int | None = None) -> Profile:
    """Return the thread stacks in ``text`` (py-spy's dump JSON) as a Profile.

    Raises :class:`FormatError` naming ``source`` when the text is not that JSON.
    """
    data = _json.parse_json(text, NAME, source)
    if not isinstance(data, list):
        raise FormatError(NAME, source, None, f"expected a JSON array of threads, got {type(data).__name__}")
    b = ProfileBuilder([SAMPLE_TYPE])
    state: dict[str, list] = {"thread": [], "python_thread_id": [], "active": [], "owns_gil": []}
    for i, t in enumerate(data):
        if not isinstance(t, dict) or not isinstance(t.get("frames", []), list):
            raise FormatError(NAME, source, None, f"thread #{i} is not an object with a frames list")
        os_tid, py_tid = t.get("os_thread_id"), t.get("thread_id")
        tid = os_tid if isinstance(os_tid, int) else (py_tid if isinstance(py_tid, int) else i)
        name = t.get("thread_name")
        tp = t.get("pid") if isinstance(t.get("pid"), int) else pid
        ti = b.thread(tid, name if isinstance(name, str) else "", tp)
        state["thread"].append(ti)
        state["python_thread_id"].append(py_tid if isinstance(py_tid, int) else None)
        state["active"].append(_flag(t.get("active")))
        state["owns_gil"].append(_flag(t.get("owns_gil")))
        ids = []
        for j, f in enumerate(reversed(t.get("frames") or [])):  # py-spy: innermost first
            if not isinstance(f, dict):
                raise FormatError(NAME, source, None, f"thread #{i}, frame #{j} is not an object")
            file = f.get("filename") or ""
            line = f.get("line") if isinstance(f.get("line"), int) and f.get("line") > 0 else 0
            module = f.get("module") or ""
            py = file.endswith((".py", ".pyw")) or file.startswith("<") or not module
            ids.append(b.frame(str(f.get("name") or "?"), str(file), line, str(module),
                               "python" if py else "native"))
        if ids:
            b.add(b.stack(ids), 1.0, ti)
    b.tables["thread_state"] = state
    return b.build({"tool": "py-spy", "snapshot": True} | ({"pid": pid} if pid is not None else {}))
