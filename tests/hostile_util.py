"""Load untrusted files in an isolated, resource-limited subprocess (test helper).

Hostile inputs must end as a :class:`~flamekit.errors.FormatError` or a correct
import, within a time budget and bounded memory. Loading them in the test
process would let one runaway importer take the whole suite down, so
:func:`run_isolated` loads the file in ``sys.executable -c ...`` with
``RLIMIT_AS`` set and a time budget, and returns a JSON-able outcome.

The budget is CPU time (``RLIMIT_CPU``), so a busy machine cannot make a
trivial file "time out": the child's imports and load get ``timeout`` seconds
of CPU, and a wall-clock backstop of ``WALL_FACTOR`` times that (at least
``WALL_MIN`` s) only catches a child that blocks without using CPU.

Typical use::

    from hostile_util import run_isolated, assert_clean_failure
    out = run_isolated(path)
    assert out["ok"] and out["totals"] == [3.0]
    assert_clean_failure(run_isolated(bad_path))
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# The child program: load, summarize, print one JSON line prefixed by a marker.
_CHILD = r"""
import json, os, resource, sys, time
limit = int(sys.argv[4])
cpu = int(sys.argv[5])
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
if limit > 0:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
path, fmt, cap = sys.argv[1], sys.argv[2] or None, sys.argv[3]
cap = int(cap) if cap else None
out = {"ok": False, "format": None, "error_type": None, "message": None,
       "unexpected": False, "n_samples": None, "totals": None, "warnings": [],
       "n_frames": None, "frame_names": [], "sample_types": [], "n_threads": None}
t0 = time.perf_counter()
try:
    from flamekit.formats import load_with_format
    p, name = load_with_format(path, fmt, max_decompressed=cap)
    out.update(ok=True, format=name, n_samples=p.n_samples,
               totals=[float(x) for x in p.totals()],
               warnings=[str(w) for w in p.meta.get("warnings", [])],
               n_frames=len(p.frames), frame_names=[f.name for f in p.frames[:50]],
               sample_types=[str(s) for s in p.sample_types], n_threads=len(p.threads))
except BaseException as e:  # report everything, including MemoryError/RecursionError
    out.update(ok=False, error_type=type(e).__name__, message=str(e)[:4000],
               unexpected=bool(getattr(e, "unexpected", False)),
               format=getattr(e, "fmt", None))
out["seconds"] = time.perf_counter() - t0
# VmHWM is this program's own peak: ru_maxrss also counts the parent's RSS at fork time
# (Linux keeps it across execve), so a child of a big pytest process read as big
try:
    with open("/proc/self/status") as f:
        out["peak_rss_kb"] = next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
except (OSError, StopIteration, ValueError):
    out["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stdout.write("\n@@OUTCOME@@" + json.dumps(out, allow_nan=True) + "\n")
sys.stdout.flush()
"""

_MARK = "@@OUTCOME@@"

#: The wall-clock backstop is this many times the CPU budget, and at least WALL_MIN s.
WALL_FACTOR = 6
WALL_MIN = 60.0


def _cpu_budget(timeout: float) -> int:
    return max(1, int(round(timeout)))


def _wall_budget(timeout: float) -> float:
    return max(WALL_MIN, WALL_FACTOR * timeout)


def run_isolated(path: str | os.PathLike, fmt: str | None = None,
                 max_decompressed: int | None = None, timeout: float = 10,
                 rlimit_as: int = 2 * 1024**3) -> dict[str, Any]:
    """Load ``path`` with ``flamekit.formats.load_with_format`` in a limited subprocess.

    Returns a dict: ``ok``, ``format``, ``error_type`` (class name), ``message``,
    ``unexpected`` (the registry's wrapped-unexpected flag), ``n_samples``,
    ``totals`` (list of float), ``warnings``, ``n_frames``, ``frame_names`` (first
    50), ``sample_types``, ``n_threads``, ``peak_rss_kb``, ``seconds`` (inside the
    child), ``wall_seconds`` (whole child), and ``timed_out`` / ``crashed`` with
    ``returncode`` and ``stderr`` (tail) when the child did not report.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONHASHSEED", "0")
    cmd = [sys.executable, "-c", _CHILD, os.fspath(path), fmt or "",
           "" if max_decompressed is None else str(int(max_decompressed)), str(int(rlimit_as or 0)),
           str(_cpu_budget(timeout))]
    t0 = time.perf_counter()
    base: dict[str, Any] = {"ok": False, "format": None, "error_type": None, "message": None,
                            "unexpected": False, "n_samples": None, "totals": None,
                            "warnings": [], "n_frames": None, "frame_names": [],
                            "sample_types": [], "n_threads": None, "peak_rss_kb": None,
                            "seconds": None, "timed_out": False, "crashed": False,
                            "returncode": None, "stderr": "", "path": os.fspath(path)}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_wall_budget(timeout),
                              env=env, cwd=str(ROOT), errors="replace")
    except subprocess.TimeoutExpired as e:
        base.update(timed_out=True, error_type="Timeout",
                    message=f"load did not finish within {_wall_budget(timeout):g} s of wall time",
                    stderr=(e.stderr or "")[-2000:] if isinstance(e.stderr, str) else "")
        base["wall_seconds"] = time.perf_counter() - t0
        return base
    base["wall_seconds"] = time.perf_counter() - t0
    base["returncode"] = proc.returncode
    base["stderr"] = proc.stderr[-2000:]
    idx = proc.stdout.rfind(_MARK)
    if idx < 0 and proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        base.update(timed_out=True, error_type="Timeout",
                    message=f"load used more than {_cpu_budget(timeout)} s of CPU")
        return base
    if idx < 0:
        base.update(crashed=True, error_type="Crash",
                    message=f"child exited {proc.returncode} without an outcome: {proc.stderr[-500:]}")
        return base
    base.update(json.loads(proc.stdout[idx + len(_MARK):].strip()))
    return base


_MANY = r"""
import json, resource, sys
limit, cap, cpu = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
if limit > 0:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from flamekit.formats import load_with_format
for path in sys.argv[4:]:
    out = {"path": path}
    try:
        p, name = load_with_format(path, None, max_decompressed=cap)
        out.update(ok=True, format=name, n_samples=p.n_samples, totals=[float(x) for x in p.totals()],
                   n_frames=len(p.frames), n_warnings=len(p.meta.get("warnings", [])))
    except BaseException as e:
        out.update(ok=False, error_type=type(e).__name__, message=str(e)[:2000],
                   unexpected=bool(getattr(e, "unexpected", False)))
    sys.stdout.write("@@OUTCOME@@" + json.dumps(out, allow_nan=True) + "\n")
    sys.stdout.flush()
"""


def run_isolated_many(paths: list[str | os.PathLike], max_decompressed: int = 10 * 1024**2,
                      timeout: float = 120, rlimit_as: int = 2 * 1024**3) -> list[dict[str, Any]]:
    """Load many files one after the other in ONE limited child (cheaper than :func:`run_isolated` each).

    Returns one dict per path, in order: ``path``, ``ok``, and ``format``, ``n_samples``,
    ``totals``, ``n_frames``, ``n_warnings`` when it imported, or ``error_type``,
    ``message``, ``unexpected`` when it did not. A path the child never reached (it
    crashed or timed out on an earlier one) gets ``{"ok": False, "error_type": "Crash"}``.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-c", _MANY, str(int(rlimit_as or 0)), str(int(max_decompressed)),
           str(_cpu_budget(timeout)), *map(os.fspath, paths)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_wall_budget(timeout),
                              env=env, cwd=str(ROOT), errors="replace")
        stdout, tail = proc.stdout, proc.stderr[-1000:]
        if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            tail = f"used more than {_cpu_budget(timeout)} s of CPU"
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode("utf-8", "replace")
        tail = f"timed out after {_wall_budget(timeout):g} s of wall time"
    got = {}
    for ln in stdout.splitlines():
        if ln.startswith(_MARK):
            d = json.loads(ln[len(_MARK):])
            got[d["path"]] = d
    return [got.get(os.fspath(p), {"path": os.fspath(p), "ok": False, "error_type": "Crash", "message": tail})
            for p in paths]


def assert_clean_failure(outcome: dict[str, Any], contains: str | None = None) -> None:
    """Assert the load failed cleanly: a FormatError, not wrapped-unexpected, naming the file.

    ``contains`` optionally requires a substring (case-insensitive) in the message.
    """
    desc = json.dumps({k: outcome.get(k) for k in ("error_type", "message", "unexpected",
                                                    "timed_out", "crashed", "stderr")})[:3000]
    assert not outcome.get("ok"), f"expected a FormatError, but the load succeeded: {outcome}"
    assert outcome.get("error_type") == "FormatError", f"not a FormatError: {desc}"
    assert not outcome.get("unexpected"), f"FormatError wraps an unexpected exception: {desc}"
    msg = outcome.get("message") or ""
    path = outcome.get("path") or ""
    assert path and (path in msg or os.path.basename(path) in msg), \
        f"message does not name the file {path!r}: {msg!r}"
    if contains is not None:
        assert contains.lower() in msg.lower(), f"message lacks {contains!r}: {msg!r}"


def assert_ok(outcome: dict[str, Any]) -> None:
    """Assert the load succeeded (with a readable failure message)."""
    assert outcome.get("ok"), ("load failed: " + json.dumps(
        {k: outcome.get(k) for k in ("error_type", "message", "unexpected", "timed_out",
                                     "crashed", "stderr")})[:3000])
