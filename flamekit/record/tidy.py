"""After a recording (pipeline stage: record): tidy the loaded profile and state what it covers.

* :func:`tidy_profile`: paths stored normalized (``a/j1/../b.py`` -> ``a/b.py``)
  and the main thread named ``MainThread`` (py-spy leaves it unnamed; on
  Linux the main thread's id equals the process id).
* :func:`time_coverage`: the ``meta`` fields that say how much of the recorded
  wall time the samples cover (``recorded_s``, ``active_s``, ``idle_included``,
  ``threads_sampled``), so a renderer can say "1.40 s active of 5.0 s recorded;
  idle excluded" instead of a bare "wall: 1.40 s".
* :func:`no_samples_message`: why a recording came back empty, in one line.
"""
from __future__ import annotations

import posixpath
import re
from typing import Any

import numpy as np

from ..formats.speedscope import TIME_UNITS
from ..model import Profile, Thread, compact

_DOTTED = re.compile(r"(^|/)\.\.?(/|$)|//")


def _norm(path: str) -> str:
    """Return ``path`` without ``.``/``..`` segments or doubled slashes (other text untouched)."""
    if not path or "/" not in path or not _DOTTED.search(path) or path.startswith("<"):
        return path
    return posixpath.normpath(path)


def tidy_profile(p: Profile, pid: int | None) -> Profile:
    """Return ``p`` with normalized frame paths and its unnamed main thread named ``MainThread``.

    A thread is the main thread when its id equals its process id (``Thread.pid``,
    else ``pid``, the recorded process).
    """
    frames = [f for f in p.frames]
    changed = False
    for i, f in enumerate(frames):
        file, module = _norm(f.file), _norm(f.module)
        if (file, module) != (f.file, f.module):
            frames[i] = type(f)(f.name, file, f.line, module, f.kind)
            changed = True
    threads = list(p.threads)
    renamed = False
    for i, t in enumerate(threads):
        owner = t.pid if t.pid is not None else pid
        if not t.name and owner is not None and t.id == owner:
            threads[i] = Thread(t.id, "MainThread", t.pid)
            renamed = True
    if renamed:
        p = p.copy(threads=threads)
    if changed:  # two spellings of one path become one frame
        p = compact(p.copy(frames=frames))
    return p


def active_seconds(p: Profile, rate: float | None) -> float | None:
    """Return the sampled time in seconds, summed over threads (None when it cannot be told).

    From a time-valued sample type (``wall/seconds``, ``cpu/nanoseconds``...) when
    there is one, else the sample count divided by ``rate`` (Hz).
    """
    tot = p.totals()
    for i, st in enumerate(p.sample_types):
        if st.unit in TIME_UNITS:  # units per second
            return float(tot[i]) / TIME_UNITS[st.unit]
    for i, st in enumerate(p.sample_types):
        if st.name in ("samples", "cpu", "wall") and st.unit in ("count", "samples") and rate:
            return float(tot[i]) / float(rate)
    return None


def time_coverage(backend: str, p: Profile, recorded_s: float, rate: float, idle: bool) -> dict[str, Any]:
    """Return the meta fields saying how much of the recorded time the samples cover.

    ``recorded_s``: wall seconds the recording ran; ``active_s``: seconds the samples
    stand for, summed over ``threads_sampled`` threads; ``idle_included``: whether
    samples of idle (waiting, sleeping) threads were kept (py-spy's ``--idle``;
    perf samples on-CPU time only, so never). scalene measures its own way: no fields.
    """
    if backend not in ("py-spy", "perf"):
        return {}
    active = active_seconds(p, rate)
    if active is None:
        return {}
    threads = int(np.unique(p.sample_thread).size) if p.n_samples else 0
    return {"recorded_s": round(recorded_s, 3), "active_s": round(active, 3),
            "idle_included": bool(idle) if backend == "py-spy" else False,
            "threads_sampled": threads}


def no_samples_message(backend: str, *, attach: bool, pid: int | None, name: str | None,
                       python: bool, elapsed: float, stopped_by: str, exit_code: int | None,
                       idle: bool) -> str:
    """Return the one-line error for a recording that holds no sample, saying why."""
    who = f"pid {pid}" + (f" ({name})" if name else "") if attach else "the command"
    head = f"{backend} recorded 0 samples of {who} in {elapsed:.1f} s"
    if stopped_by == "interrupt":
        why = "interrupted before the first sample"
    elif not attach and exit_code is not None and stopped_by == "target-exit":
        why = f"the command exited (status {exit_code}) before the first sample"
    elif backend == "perf":
        why = ("it never ran on a CPU (perf samples on-CPU time; a sleeping or waiting process "
               "gives none)")
        if attach and not python:
            why = "it runs no Python and " + why
    elif backend == "py-spy" and not idle:
        why = "every thread was idle (py-spy drops idle samples: --idle keeps them)"
    else:
        why = "the tool reported nothing"
    return f"{head}: {why}; no profile written"
