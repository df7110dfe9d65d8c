#!/usr/bin/env python3
"""Do the importers scale linearly? Time each on generated inputs 10x apart.

    nice python benchmarks/importer_scaling.py [--only chrome-reorder,perf-threads,...]
                                               [--scale 1.0] [--repeat 2]

Issue 16 found inputs whose import cost grew faster than their size (each ran
past 60 s): Chrome trace events that need reordering, trace files with many
stack-frame samples, pprof files with many (or duplicate) sample types, perf
script with many threads. For every case this script writes a small and a 10x
larger input of the same shape (``--scale`` multiplies both), loads each with
``flamekit.formats.load_with_format`` in this process (best of ``--repeat``), and
prints the sizes, the seconds and the time ratio. A linear or n log n importer
shows a ratio near 10 (n log n: up to ~12); a quadratic one near 100. The ratio
is a same-run comparison, so a busy machine shifts both figures alike.

Memory effects make even linear work grow faster than its input here (a 10x
larger list of dicts no longer fits the caches: ``json.loads`` alone shows 12-14x
on this 2-core VM). So the same files are also timed through a linear baseline
(the stdlib's ``json``/``marshal`` parse, or splitting and sorting the lines),
and ``ratio/base`` divides one growth by the other: about 1 for a linear
importer, about 10 for a quadratic one. On a shared machine both timings wobble,
so ``calls`` adds a count that does not: the growth of the number of Python
function calls one load makes (cProfile), 10x for linear work, 100x when a Python
loop runs per pair of items (the quadratic cases fixed for issue 16 were such
loops: a generator over the rest of the samples, a scan of the open stack).

Cases (small -> large):

* ``chrome-reorder``: trace ``B``/``E``/``X`` events of 40 threads, written in
  shuffled order (6k -> 60k events);
* ``chrome-same-ts``: 6k -> 60k ``B``/``E`` events at one timestamp, each E before
  its B (every E waits for the reordering);
* ``chrome-unmatched-e``: half the events open ``B`` calls, the other half are ``E``
  events whose names match no open call (each one used to scan the whole stack);
* ``chrome-stackframes``: the ``samples`` + ``stackFrames`` trace form
  (20k -> 200k samples over a 2k-frame tree);
* ``pprof-types``: a pprof whose sample types are all ``samples/count``
  (duplicates, renamed ``samples#N``), 300 samples (100 -> 1,000 types);
* ``perf-threads``: perf script text, 20 samples per thread (200 -> 2,000 threads);
* ``pstats-functions``, ``gecko-samples``, ``pyinstrument-records``: the Python
  profiler importers (2k -> 20k functions in a call tree with recursion; 20k ->
  200k samples / records). A call graph with many shared callers expands into
  exponentially many paths; the pstats importer caps the tree (``MAX_NODES``), so
  its cost there is bounded, not linear, and is not measured here.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import json
import marshal
import os
import pstats
import random
import sys
import tempfile
import time
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from flamekit.formats import load_with_format  # noqa: E402


# -- generators: each writes one file of "size" n and returns nothing ------------------
def chrome_reorder(path: str, n: int) -> None:
    rnd = random.Random(1)
    events = []
    per = n // 40
    for tid in range(40):
        t = 0
        for _ in range(per // 4):
            # a call with two nested children: B ... (X, X) ... E
            events.append({"name": f"outer{tid % 7}", "ph": "B", "ts": t, "pid": 1, "tid": tid})
            events.append({"name": "child", "ph": "X", "ts": t + 1, "dur": 3, "pid": 1,
                           "tid": tid})
            events.append({"name": "child2", "ph": "X", "ts": t + 5, "dur": 2, "pid": 1,
                           "tid": tid})
            events.append({"name": f"outer{tid % 7}", "ph": "E", "ts": t + 9, "pid": 1,
                           "tid": tid})
            t += 10
    rnd.shuffle(events)
    with open(path, "w") as f:
        json.dump({"traceEvents": events}, f)


def chrome_same_ts(path: str, n: int) -> None:
    events = []
    for i in range(n // 2):  # zero-length calls written E before B, all at one timestamp
        events.append({"name": f"f{i % 3}", "ph": "E", "ts": 5, "pid": 1, "tid": 1})
        events.append({"name": f"f{i % 3}", "ph": "B", "ts": 5, "pid": 1, "tid": 1})
    with open(path, "w") as f:
        json.dump(events, f)


def chrome_unmatched_e(path: str, n: int) -> None:
    events = [{"name": f"open{i}", "ph": "B", "ts": i, "pid": 1, "tid": 1} for i in range(n // 2)]
    events += [{"name": f"other{i}", "ph": "E", "ts": n + i, "pid": 1, "tid": 1}
               for i in range(n // 2)]
    with open(path, "w") as f:
        json.dump(events, f)


def chrome_stackframes(path: str, n: int) -> None:
    rnd = random.Random(2)
    frames = {"1": {"name": "root", "category": "js"}}
    for i in range(2, 2001):
        frames[str(i)] = {"name": f"f{i % 300}", "category": "js", "parent": str(rnd.randint(1, i - 1))}
    samples = [{"ts": i * 10, "sf": str(rnd.randint(1, 2000)), "tid": 1, "pid": 1, "weight": 1}
               for i in range(n)]
    with open(path, "w") as f:
        json.dump({"traceEvents": [], "stackFrames": frames, "samples": samples}, f)


def _varint(x: int) -> bytes:
    out = bytearray()
    while True:
        b = x & 0x7F
        x >>= 7
        if x:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(no: int, payload: bytes) -> bytes:
    return _varint(no << 3 | 2) + _varint(len(payload)) + payload


def _vfield(no: int, x: int) -> bytes:
    return _varint(no << 3) + _varint(x)


def pprof_types(path: str, k: int) -> None:
    strings = ["", "samples", "count", "main", "work"]
    out = bytearray()
    for _ in range(k):  # every type the same: duplicates the importer renames
        out += _field(1, _vfield(1, 1) + _vfield(2, 2))
    for i in range(300):
        locs = _varint(1) + _varint(2)
        vals = b"".join(_varint(1 + (i + j) % 5) for j in range(k))
        out += _field(2, _field(1, locs) + _field(2, vals))
    for lid, fid in ((1, 1), (2, 2)):
        out += _field(4, _vfield(1, lid) + _field(4, _vfield(1, fid) + _vfield(2, lid)))
        out += _field(5, _vfield(1, fid) + _vfield(2, 2 + fid))
    for s in strings:
        out += _field(6, s.encode())
    with open(path, "wb") as f:
        f.write(bytes(out))


def perf_threads(path: str, threads: int) -> None:
    lines = []
    t = 1000.0
    for s in range(20):
        for th in range(threads):
            t += 0.0001
            lines.append(f"python 100/{1000 + th} {t:.6f}:     250000 cpu-clock:pppH: \n"
                         f"\t    7f0000001000 work{th % 13}+0x10 (/usr/lib/libwork.so)\n"
                         f"\t    7f0000002000 main+0x20 (/usr/bin/python3)\n\n")
    with open(path, "w") as f:
        f.writelines(lines)


def pstats_functions(path: str, n: int) -> None:
    rnd = random.Random(3)
    stats = {}
    for i in range(n):  # a random tree, every 5th function also recursive
        callers = {}
        if i:
            g = rnd.randrange(i)
            callers[("/m.py", g + 1, f"f{g}")] = (1, 1, 0.001, 0.002)
        if i % 5 == 0:
            callers[("/m.py", i + 1, f"f{i}")] = (3, 1, 0.001, 0.002)
        stats[("/m.py", i + 1, f"f{i}")] = (1, 1, 0.001, 0.002, callers)
    with open(path, "wb") as f:
        marshal.dump(stats, f)


def gecko_samples(path: str, n: int) -> None:
    rnd = random.Random(4)
    nstack = 2000
    doc = {"meta": {"interval": 1, "startTime": 0, "version": 32,
                    "preprocessedProfileVersion": 57},
           "shared": {"stringArray": [f"f{i}" for i in range(100)] + ["a.py"]},
           "threads": [{"name": "T", "tid": 1, "pid": "1",
                        "funcTable": {"name": list(range(100)), "fileName": [100] * 100,
                                      "lineNumber": list(range(100)), "length": 100},
                        "frameTable": {"func": list(range(100)), "line": [None] * 100,
                                       "length": 100},
                        "stackTable": {"frame": [rnd.randrange(100) for _ in range(nstack)],
                                       "prefix": [None] + [rnd.randrange(i) for i in
                                                           range(1, nstack)],
                                       "length": nstack},
                        "samples": {"stack": [rnd.randrange(nstack) for _ in range(n)],
                                    "time": [float(i) for i in range(n)], "weight": None,
                                    "weightType": "samples", "length": n}}]}
    with open(path, "w") as f:
        json.dump(doc, f)


def pyinstrument_records(path: str, n: int) -> None:
    rnd = random.Random(5)
    th = "MainThread\x00<thread>\x00140000"
    frames = [f"f{i}\x00/app/m{i % 9}.py\x00{i + 1}" for i in range(200)]
    recs = [[[th] + [frames[rnd.randrange(200)] for _ in range(rnd.randint(1, 20))], 0.001]
            for _ in range(n)]
    doc = {"start_time": 0, "duration": n / 1000, "min_interval": 0.001, "max_interval": 0.001,
           "sample_count": n, "start_call_stack": [th], "target_description": "bench",
           "cpu_time": 0, "sys_path": [], "sys_prefixes": [], "frame_records": recs}
    with open(path, "w") as f:
        json.dump(doc, f)


#: name -> (generator, small n, large n, suffix)
CASES: dict[str, tuple[Callable[[str, int], None], int, int, str]] = {
    "chrome-reorder": (chrome_reorder, 6_000, 60_000, ".json"),
    "chrome-same-ts": (chrome_same_ts, 6_000, 60_000, ".json"),
    "chrome-unmatched-e": (chrome_unmatched_e, 6_000, 60_000, ".json"),
    "chrome-stackframes": (chrome_stackframes, 20_000, 200_000, ".json"),
    "pprof-types": (pprof_types, 100, 1_000, ".pb"),
    "perf-threads": (perf_threads, 200, 2_000, ".txt"),
    "pstats-functions": (pstats_functions, 2_000, 20_000, ".pstats"),
    "gecko-samples": (gecko_samples, 20_000, 200_000, ".json"),
    "pyinstrument-records": (pyinstrument_records, 20_000, 200_000, ".pyisession"),
}


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _baseline(path: str) -> object:
    """Linear work on the same bytes: the stdlib parse of the file (json / marshal), or
    for text and protobuf a copy of every line."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith((".json", ".pyisession")):
        return json.loads(data)
    if path.endswith(".pstats"):
        return marshal.loads(data)
    return [bytes(x) for x in data.split(b"\n")]


def _calls(path: str) -> int:
    """Python function calls made by one load (cProfile): work counted, not timed."""
    prof = cProfile.Profile()
    prof.enable()
    load_with_format(path)
    prof.disable()
    return pstats.Stats(prof).total_calls  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    """Generate each case at two sizes 10x apart, time the loads, print the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated case names (default: all)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply both sizes (default 1)")
    ap.add_argument("--repeat", type=int, default=2, help="best of N loads (default 2)")
    args = ap.parse_args(argv)
    names = args.only.split(",") if args.only else list(CASES)
    print(f"{'case':20} {'n':>8} {'MB':>6} {'s':>7}  {'n':>8} {'MB':>6} {'s':>7}  "
          f"{'ratio':>6} {'base':>6} {'ratio/base':>10} {'calls':>6}")
    with tempfile.TemporaryDirectory(prefix="fk-scaling-") as tmp:
        for name in names:
            gen, small, large, suffix = CASES[name]
            row = []
            for n in (int(small * args.scale), int(large * args.scale)):
                path = os.path.join(tmp, f"{name}-{n}{suffix}")
                gen(path, n)
                mb = os.path.getsize(path) / 1e6
                t = _best(lambda: load_with_format(path), args.repeat)
                base = _best(lambda: _baseline(path), max(5, args.repeat))
                row.append((n, mb, t, base, _calls(path)))
                os.unlink(path)
            (n1, mb1, t1, b1, c1), (n2, mb2, t2, b2, c2) = row
            r, rb = t2 / t1, b2 / b1
            print(f"{name:20} {n1:8,} {mb1:6.2f} {t1:7.3f}  {n2:8,} {mb2:6.2f} {t2:7.3f}  "
                  f"{r:5.1f}x {rb:5.1f}x {r / rb:9.2f} {c2 / c1:5.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
