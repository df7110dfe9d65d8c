#!/usr/bin/env python3
"""Import speed and peak memory of flamekit's perf-script and folded importers.

    python benchmarks/import_speed.py [--corpus DIR] [--only perf,folded-1k,...] [--repeat N]

Reads the corpus made by ``benchmarks/gen_corpus.py`` (default
``~/.cache/flamekit-corpus``). Every measurement runs in a fresh Python process
(so its peak RSS is its own), after the imports are warmed up (numpy, pandas,
flamekit), and is the best of ``--repeat`` runs. Printed beside flamekit, in the
same run and on the same file:

* ``python-lines``: the bare ``for line in open(f, 'rb'): pass`` loop;
* ``stackcollapse-perf.pl``: FlameGraph's Perl collapser, when the environment
  variable ``FLAMEGRAPH_DIR`` points to a FlameGraph checkout (skipped with a
  note otherwise). Its reference figure on this 2-core machine is about 27 MB/s.

MB/s is decimal megabytes of uncompressed input per wall-clock second; the CPU
seconds are printed too because the machine is shared and wall time is noisy.
Peak RSS is ``VmHWM`` of the measuring process, and ``+RSS`` its growth
over the warmed-up interpreter. To show that the perf importer's memory does not
grow with input size, it is also run on the first quarter of ``perf-scaled.txt``.

Targets (issue #2): perf script >= 10x the Perl collapser (about 270 MB/s here),
never below 5x, peak RSS not growing with input size; folded-100k >= 100 MB/s;
folded-1m in under 20 s with peak RSS under 2.5 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CORPUS = os.path.expanduser("~/.cache/flamekit-corpus")
PERL_REFERENCE_MBS = 27.0

FILES = {
    "perf": "perf-scaled.txt",
    "perf-quarter": "perf-scaled.quarter.txt",
    "folded-1k": "folded-1k.txt",
    "folded-100k": "folded-100k.txt",
    "folded-1m": "folded-1m.txt",
}


def _rss_mb() -> float:
    """Peak RSS of this process image in MB (VmHWM; ru_maxrss survives fork+exec on Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, path: str) -> dict:
    """Measure one thing in this (fresh) process; return wall, cpu, peak RSS and counts."""
    sys.path.insert(0, ROOT)
    out: dict = {"kind": kind}
    if kind == "lines":
        rss0 = _rss_mb()
        t0, c0 = time.perf_counter(), time.process_time()
        n = 0
        for _line in open(path, "rb"):
            n += 1
        out.update(lines=n)
    else:
        import numpy  # noqa: F401  (warm up the imports the importers use)
        import pandas  # noqa: F401
        from flamekit.formats import load, perf_script  # noqa: F401
        from flamekit.model import Profile, ProfileBuilder, SampleType  # noqa: F401

        warm = os.path.join(ROOT, "tests", "data", "perf")
        for dirpath, _dirs, names in os.walk(warm):
            for nm in names:
                if nm.endswith(".perf.txt"):
                    load(os.path.join(dirpath, nm), "perf-script")
                    break
        rss0 = _rss_mb()
        fmt = "perf-script" if kind == "perf" else "folded"
        t0, c0 = time.perf_counter(), time.process_time()
        p = load(path, fmt)
        out.update(samples=p.n_samples, stacks=p.n_stacks, frames=len(p.frames),
                   total=float(p.totals()[0]) if p.sample_types else 0.0,
                   warnings=len(p.meta.get("warnings", [])))
    out.update(wall=time.perf_counter() - t0, cpu=time.process_time() - c0,
               rss_mb=_rss_mb(), rss_base_mb=rss0)
    return out


def measure(kind: str, path: str, repeat: int, timeout: float) -> dict:
    """Run :func:`child` ``repeat`` times in fresh processes; keep the fastest (and max RSS)."""
    best: dict | None = None
    peak = 0.0
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind, path],
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise SystemExit(f"{kind} on {path} failed:\n{proc.stderr[-3000:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        peak = max(peak, r["rss_mb"])
        if best is None or r["wall"] < best["wall"]:
            best = r
    assert best is not None
    best["rss_mb"] = peak
    return best


def measure_perl(fg_dir: str, path: str, repeat: int, timeout: float) -> dict:
    """Time ``stackcollapse-perf.pl`` on ``path`` (output discarded); peak RSS of the child."""
    script = os.path.join(fg_dir, "stackcollapse-perf.pl")
    best: dict | None = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        with open(os.devnull, "wb") as null:
            proc = subprocess.Popen(["perl", script, path], stdout=null, stderr=subprocess.DEVNULL)
            _pid, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"stackcollapse-perf.pl failed on {path} (exit {proc.returncode})")
        r = {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024}
        if best is None or r["wall"] < best["wall"]:
            best = r
    assert best is not None
    return best


def make_quarter(src: str, dst: str) -> None:
    """Copy the first quarter of ``src`` (cut after a blank line) to ``dst``, streaming."""
    want = os.path.getsize(src) // 4
    done = 0
    with open(src, "rb") as f, open(dst + ".tmp", "wb") as out:
        while done < want:
            data = f.read(min(1 << 22, want - done))
            if not data:
                break
            out.write(data)
            done += len(data)
        tail = f.read(1 << 20)
        cut = tail.find(b"\n\n")
        out.write(tail[:cut + 2] if cut >= 0 else tail)
    os.replace(dst + ".tmp", dst)


def row(name: str, size: int, r: dict, extra: str = "") -> str:
    mbs = size / 1e6 / r["wall"]
    rss = f"{r['rss_mb']:8.0f}"
    grow = f"{r['rss_mb'] - r['rss_base_mb']:+7.0f}" if "rss_base_mb" in r else "      -"
    return (f"  {name:<24} {mbs:8.1f} MB/s {r['wall']:8.2f} s {r['cpu']:8.2f} s cpu "
            f"{size / 1e6 / max(r['cpu'], 1e-9):8.1f} MB/s cpu {rss} MB {grow} MB  {extra}")


def main(argv: list[str] | None = None) -> int:
    """Run the selected measurements and print the figures with ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--only", default="perf,folded-1k,folded-100k,folded-1m",
                    help="comma list: perf, folded-1k, folded-100k, folded-1m")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is kept)")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(*a.child)))
        return 0
    parts = [p.strip() for p in a.only.split(",") if p.strip()]
    fg = os.environ.get("FLAMEGRAPH_DIR")
    if fg and not os.path.isfile(os.path.join(fg, "stackcollapse-perf.pl")):
        print(f"note: FLAMEGRAPH_DIR={fg} has no stackcollapse-perf.pl; Perl baseline skipped")
        fg = None
    print(f"flamekit import speed  (python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.1f}, best of {a.repeat})")
    print(f"  {'what':<24} {'wall MB/s':>13} {'wall':>10} {'cpu':>14} {'cpu MB/s':>13} "
          f"{'peak RSS':>11} {'+RSS':>10}")
    for part in parts:
        name = FILES.get(part)
        if name is None:
            raise SystemExit(f"unknown part {part!r} (choose from perf, folded-1k, folded-100k, folded-1m)")
        path = os.path.join(a.corpus, name)
        if not os.path.isfile(path):
            print(f"{part}: {path} is missing; build it with: python benchmarks/gen_corpus.py --only {part}")
            continue
        size = os.path.getsize(path)
        print(f"{part}: {name} ({size / 1e6:.1f} MB)")
        base = measure("lines", path, a.repeat, a.timeout)
        print(row("python-lines (baseline)", size, base))
        kind = "perf" if part == "perf" else "folded"
        fk = measure(kind, path, a.repeat, a.timeout)
        ratio_lines = base["wall"] / fk["wall"]
        print(row("flamekit", size, fk, f"{fk['samples']} samples, {fk['stacks']} stack rows; "
                                        f"{ratio_lines:.2f}x the bare line loop"))
        if part == "perf":
            qpath = os.path.join(a.corpus, FILES["perf-quarter"])
            if not os.path.isfile(qpath) or os.path.getmtime(qpath) < os.path.getmtime(path):
                make_quarter(path, qpath)
            qsize = os.path.getsize(qpath)
            q = measure("perf", qpath, a.repeat, a.timeout)
            print(row("flamekit, first 1/4", qsize, q,
                      f"peak RSS {q['rss_mb']:.0f} MB at {qsize / 1e6:.0f} MB vs {fk['rss_mb']:.0f} MB "
                      f"at {size / 1e6:.0f} MB of input"))
            mbs = size / 1e6 / fk["wall"]
            if fg:
                pl = measure_perl(fg, path, 1, a.timeout)
                print(row("stackcollapse-perf.pl", size, pl))
                print(f"  => flamekit is {pl['wall'] / fk['wall']:.1f}x stackcollapse-perf.pl "
                      f"(target >= 10x, never below 5x)")
            else:
                print("  stackcollapse-perf.pl: skipped (set FLAMEGRAPH_DIR to a FlameGraph checkout); "
                      f"vs the issue's reference {PERL_REFERENCE_MBS:.0f} MB/s: "
                      f"{mbs / PERL_REFERENCE_MBS:.1f}x (target >= 10x)")
        elif part == "folded-100k":
            print(f"  => target >= 100 MB/s: {'met' if size / 1e6 / fk['wall'] >= 100 else 'NOT met'}")
        elif part == "folded-1m":
            ok = fk["wall"] < 20 and fk["rss_mb"] < 2560
            print(f"  => target < 20 s and < 2.5 GB peak RSS: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
