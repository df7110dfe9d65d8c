"""Chrome / V8 profile importer: ``.cpuprofile`` and Trace Event JSON (pipeline stage: formats).

Inputs (import only):

* **.cpuprofile** (DevTools, ``node --cpu-prof``): ``{"nodes": [{id, callFrame,
  children}], "samples": [node id], "timeDeltas": [us], "startTime", "endTime"}``,
  and the pre-2017 form ``{"head": {functionName, url, children: [...nested]},
  "samples", "timestamps"}`` (or only ``hitCount`` per node). See
  https://chromedevtools.github.io/devtools-protocol/tot/Profiler/#type-Profile.
* **Trace Event JSON** (https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU):
  a JSON array or ``{"traceEvents": [...]}``. A truncated array (no closing
  ``]``, maybe a trailing comma) is accepted, as the spec allows.
  If the trace holds sampled CPU profiles (``Profile``/``ProfileChunk`` events,
  a ``CpuProfile`` event, or ``samples``/``stackFrames``), those samples are
  imported; otherwise ``B``/``E``/``X`` duration events become one sample per
  call instance weighted by its *self* time.

Model: threads are ``(pid, tid)`` with ``thread_name`` metadata; times in
seconds; value columns ``samples/count`` and ``wall/microseconds`` (sampled:
the interval to the next sample) or ``wall/microseconds`` only (duration
events). V8 writes signed ``timeDeltas`` (samples are not always in time
order): they are summed as signed numbers and samples sorted by time.
``lineNumber`` is 0-based in V8 and 1-based in the model.

Bad input: node cycles, two parents, unknown node ids, length mismatches and
deep nesting are :class:`FormatError`; bad trace events (negative ``dur``,
non-numeric or absurd ``ts``, ``E`` without ``B``, missing name) are skipped
and counted in warnings; unclosed ``B`` events close at the thread's last
timestamp.
"""
from __future__ import annotations

import os

from ..errors import FormatError
from ..model import Profile
from . import _json
from ._chrome_import import NAME
from ._chrome_trace import TraceImporter
from ._format import Format


def sniff(head: bytes) -> bool | None:
    """Claim .cpuprofile objects and trace-event arrays/objects (not heap profiles)."""
    h = head.lstrip()
    if h.startswith(b"{"):
        if b'"traceEvents"' in h:
            return True
        if b'"selfSize"' in h:  # .heapprofile: same tree shape, not CPU samples
            return False
        if b'"nodes"' in h and b'"callFrame"' in h:
            return True
        if h.startswith(b'{"head"') or b'"head"' in h[:200]:
            return b'"hitCount"' in h
        return False if len(head) >= 4096 else None
    if h.startswith(b"["):
        if b'"ph"' in h:
            return True
        return False if len(head) >= 4096 or b"}" in h else None
    return False


def load(path: str | os.PathLike, *, max_decompressed: int | None = None) -> Profile:
    """Load a .cpuprofile or a Trace Event JSON file."""
    source = os.fspath(path)
    data = _json.load_json(source, NAME, max_decompressed=max_decompressed, unclosed_array=True)
    imp = TraceImporter(source)
    if isinstance(data, dict) and ("nodes" in data or "head" in data):
        imp.cpuprofile(data, imp.b.thread(0, "", None), "")
        imp.b.meta["chrome"] = {"kind": "cpuprofile"}
    elif isinstance(data, list) or (isinstance(data, dict) and "traceEvents" in data):
        imp.trace(data)
    else:
        raise FormatError(NAME, source, None,
                          "not a .cpuprofile (no 'nodes'/'head') nor a trace-event file")
    return imp.finish()


#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(
    NAME,
    extensions=(".cpuprofile", ".trace.json"),
    sniff=sniff,
    load=load,
)
