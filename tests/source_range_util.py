"""A small timed profile for the source view under a time range, and its per-line figures by samples.

Shared by tests/test_source_range.py (the embedded data, no browser) and
tests/integration/test_source_range_browser.py (the page).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from flamekit.model import Profile, ProfileBuilder, SampleType, hide_libraries

APP = "/app/job.py"
LIB = "/usr/lib/python3.11/json/decoder.py"


def tricky_profile(n: int = 2000, seed: int = 3) -> Profile:
    """Return a timed two-thread profile with indirect recursion, library code calling user code,
    library leaves, a native leaf and phases (what runs changes with time)."""
    b = ProfileBuilder([SampleType("cpu", "samples"), SampleType("cpu", "nanoseconds")])
    fr = {k: b.frame(name, file, line, kind=kind) for k, (name, file, line, kind) in {
        "main": ("main", APP, 1, "python"),
        "f10": ("parse", APP, 10, "python"), "f11": ("parse", APP, 11, "python"),
        "f12": ("parse", APP, 12, "python"),
        "g20": ("walk", APP, 20, "python"), "g21": ("walk", APP, 21, "python"),
        "l300": ("raw_decode", LIB, 300, "python"), "l301": ("raw_decode", LIB, 301, "python"),
        "c": ("memcpy", "", 0, "native")}.items()}
    paths = [["main", "f10", "g20", "f11"],           # parse -> walk -> parse: recursion, outermost at 10
             ["main", "f12", "l300"],                 # a library leaf under parse:12
             ["main", "f10", "l300", "g21"],          # library code calling user code
             ["main", "c"],                           # a native leaf under main
             ["main", "f12", "l301", "c"],            # native under library under parse:12
             ["main", "f11", "g20", "f10", "g21"],    # walk twice, parse twice
             ["main", "f10"]]
    stacks = [b.stack([fr[k] for k in path]) for path in paths]
    threads = [b.thread(7, "MainThread"), b.thread(8, "worker")]
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 10, n))
    for i, ti in enumerate(t):  # phases: early times favour the first paths
        k = int(min(len(paths) - 1, rng.exponential(1 + ti / 2)))
        b.add(stacks[k], (1.0, float(rng.integers(1, 1000))), threads[i % 2], float(ti))
    return b.build()


def truth(p: Profile, name: str, file: str, mask: np.ndarray, hide: bool, k: int = 0) -> dict[int, list[float]]:
    """Per line of function ``(name, file)`` over the samples of ``mask``: [self, total].

    Self: samples whose leaf is the function at that line (``hide``: the leaf of
    :func:`hide_libraries`' stack); total: samples whose outermost frame of the function
    is at that line (the same either way). Lines with nothing are left out.
    """
    out: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    h = hide_libraries(p) if hide else p
    for s, hs, v in zip(p.sample_stack[mask].tolist(), h.sample_stack[mask].tolist(), p.values[mask, k].tolist()):
        leaf = h.frames[h.stack_frames(hs)[-1]]
        if (leaf.name, leaf.file) == (name, file):
            out[leaf.line][0] += v
        outer = next((f for f in (p.frames[i] for i in p.stack_frames(s)) if (f.name, f.file) == (name, file)), None)
        if outer is not None:
            out[outer.line][1] += v
    return {ln: sv for ln, sv in out.items() if sv != [0.0, 0.0]}
