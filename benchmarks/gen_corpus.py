#!/usr/bin/env python3
"""Build flamekit's benchmark corpus (deterministic; big files go to ~/.cache).

    python benchmarks/gen_corpus.py [--out DIR] [--only PARTS] [--seed N]

PARTS is a comma list of: ``perf`` (a real ``perf record`` of a small trading
workload, then ``perf-scaled.txt`` of about ``--scaled-mb`` MB made from it),
``folded-1k``, ``folded-100k``, ``folded-1m`` (``folded-1m`` also accepted as
``folded-1M``), ``diff-1k``, ``diff-100k`` (the "after" side of a diff, with
injected hotspots and a ``diff-*.truth.json`` ground truth), or ``all``
(default: everything). Shapes follow ``../shared/bench/README.md``:

* ``folded-N.txt``: N UNIQUE stacks, depth 20-60, py-spy-style frames
  ``func (venv/lib/pkg/module.py:123)``, shared framework prefixes, heavy-tailed counts,
  in generation order (unsorted); byte-identical for a given ``--seed``
  (the 1M file is about 1.8 GB). Written streaming: memory stays small.
* ``diff-N.b.txt`` + ``diff-N.truth.json``: ``folded-N.txt`` with 2% of stacks
  gone, log-normal count noise, 5 new hotspot leaves grafted onto existing paths
  (one under the hottest stack; odd ones two frames deep) and 2 existing stacks
  made 20x hotter, lines shuffled. The truth file lists each injected stack and
  count (keys: ``a``, ``b``, ``total_samples_a``, ``total_samples_b``,
  ``injected_new_stacks``, ``amplified_existing_stacks``).
* ``perf-source.txt``: ``perf script`` of ``perf record -F 999`` of the workload.
  With a CPython >= 3.13 it records ``--call-graph dwarf`` under ``-X perf_jit``
  and runs ``perf inject --jit`` (full mixed C + Python stacks); otherwise
  ``-g`` with ``-X perf`` (3.12) or plain ``-g``.
* ``perf-scaled.txt``: the source repeated until ``--scaled-mb``: new pids and
  tids per repetition, monotonic jittered timestamps, periods jittered by
  +-40, absolute user addresses (0x7f...) shifted by a page-aligned random
  amount per repetition, perf-map / jitted DSO names renamed to the new pid,
  8% of samples dropped and 8% duplicated.

``MANIFEST.json`` in the output folder records sizes, sha256, counts and seeds.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

DEFAULT_OUT = os.path.expanduser("~/.cache/flamekit-corpus")
PERF = os.environ.get("PERF", "/usr/bin/perf")

# ---------------------------------------------------------------------------
# The recorded workload (written to a temp file, run under perf)
# ---------------------------------------------------------------------------
WORKLOAD = r'''
"""Toy trading pipeline: quotes -> order book -> pricing tree -> risk -> report."""
import json, math, re, sys

TICK = re.compile(r"(?P<sym>[A-Z]{3,4}) (?P<px>\d+\.\d+) (?P<qty>\d+)")

def make_quotes(n, seed):
    out, x = [], seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append("%s %.2f %d" % (("AAPL", "MSFT", "EUR", "XAU")[x % 4], 100 + (x % 997) / 10, 1 + x % 500))
    return out

def parse_ticks(lines):
    return [(m["sym"], float(m["px"]), int(m["qty"])) for m in map(TICK.match, lines) if m]

def book_insert(book, px, qty):
    lo, hi = 0, len(book)
    while lo < hi:
        mid = (lo + hi) // 2
        if book[mid][0] < px:
            lo = mid + 1
        else:
            hi = mid
    book.insert(lo, (px, qty))

def build_book(ticks):
    book = []
    for _, px, qty in ticks:
        book_insert(book, px, qty)
    return book

def binomial(s, k, t, r, sigma, steps):
    if steps == 0:
        return max(s - k, 0.0)
    u = math.exp(sigma * math.sqrt(t / 8))
    p = (math.exp(r * t / 8) - 1 / u) / (u - 1 / u)
    return math.exp(-r * t / 8) * (p * binomial(s * u, k, t, r, sigma, steps - 1)
                                   + (1 - p) * binomial(s / u, k, t, r, sigma, steps - 1))

def price_options(book):
    return sum(binomial(px, 100.0, 1.0, 0.01, 0.2, 9) for px, _ in book[:12])

def update_risk(book):
    v = [px * qty for px, qty in book]
    mean = sum(v) / len(v)
    return math.sqrt(sum((x - mean) ** 2 for x in v) / len(v))

def report(book, pv, risk):
    blob = json.dumps({"levels": book[:200], "pv": pv, "risk": risk})
    return len(json.loads(blob)["levels"])

def run(iters):
    acc = 0
    for i in range(iters):
        book = build_book(parse_ticks(make_quotes(400, i)))
        acc += report(book, price_options(book), update_risk(book))
    return acc

if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 60))
'''


def log(*a: object) -> None:
    print(f"[gen_corpus {time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


def python_version(exe: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([exe, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
        a, b = out.stdout.split()
        return int(a), int(b)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def find_python(min_minor: int) -> tuple[str | None, tuple[int, int] | None]:
    cands = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")), reverse=True)
    cands += [shutil.which(f"python3.{m}") or "" for m in range(20, min_minor - 1, -1)]
    for c in cands:
        if c:
            v = python_version(c)
            if v and v[0] == 3 and v[1] >= min_minor:
                return c, v
    return None, None


def _run(cmd: list[str], **kw) -> None:
    log("$", " ".join(cmd))
    subprocess.run(cmd, check=True, timeout=600, **kw)


def record_perf(out_path: str, iters: int) -> dict:
    """Record the workload with perf and write ``perf script`` text to ``out_path``."""
    with tempfile.TemporaryDirectory(prefix="fk-bench-") as td:
        wl = os.path.join(td, "trading_workload.py")
        with open(wl, "w") as f:
            f.write(WORKLOAD)
        raw = os.path.join(td, "perf.data")
        exe, ver = find_python(13)
        if exe:
            inj = os.path.join(td, "inj.data")
            _run([PERF, "record", "-q", "-F", "999", "-k", "1", "--call-graph", "dwarf,16384",
                  "-o", raw, "--", exe, "-X", "perf_jit", wl, str(iters)], stdout=subprocess.DEVNULL)
            _run([PERF, "inject", "--jit", "-i", raw, "-o", inj])
            mode = "dwarf + -X perf_jit + perf inject --jit"
            src = inj
        else:
            exe, ver = find_python(12)
            xopt = ["-X", "perf"] if exe else []
            exe = exe or sys.executable
            ver = ver or tuple(sys.version_info[:2])
            _run([PERF, "record", "-q", "-F", "999", "-g", "-o", raw, "--", exe, *xopt, wl,
                  str(iters)], stdout=subprocess.DEVNULL)
            mode = "-g " + " ".join(xopt)
            src = raw
        with open(out_path, "wb") as f:
            _run([PERF, "script", "-i", src], stdout=f, stderr=subprocess.DEVNULL)
        pid = first_pid(out_path)
        if pid:
            for p in glob.glob(f"/tmp/jitted-{pid}-*.so") + glob.glob(f"/tmp/jit-{pid}.dump") \
                    + glob.glob(f"/tmp/perf-{pid}.map"):
                try:
                    os.unlink(p)
                except OSError:
                    pass
    return {"python": exe, "python_version": "%d.%d" % ver, "mode": mode, "iters": iters}


def first_pid(path: str) -> int | None:
    with open(path, "rb") as f:
        for line in f:
            m = PERF_HDR.match(line.rstrip(b"\n"))
            if m:
                return int(m.group("pid"))
    return None


# ---------------------------------------------------------------------------
# perf-scaled.txt
# ---------------------------------------------------------------------------
PERF_HDR = re.compile(rb"(?P<comm>.*?)\s+(?P<pid>\d+)(?:/(?P<tid>\d+))?\s+(?P<cpu>\[\d+\]\s+)?"
                      rb"(?P<ts>\d+\.\d+):\s+(?:(?P<period>\d+)\s+)?(?P<rest>\S+:.*)")
PERF_FRAME = re.compile(rb"(\s+)([0-9a-f]+)( .*)")


def read_samples(path: str) -> list[tuple[dict, list]]:
    """Parse a perf script file into (header fields, [(indent, addr, rest) or raw line])."""
    with open(path, "rb") as f:
        text = f.read()
    out = []
    for blk in text.split(b"\n\n"):
        lines = blk.strip(b"\n").split(b"\n")
        m = PERF_HDR.fullmatch(lines[0]) if lines and lines[0] else None
        if m is None:
            continue
        frames = []
        for ln in lines[1:]:
            fm = PERF_FRAME.fullmatch(ln)
            frames.append((fm.group(1), int(fm.group(2), 16), fm.group(3)) if fm else ln)
        out.append((m.groupdict(), frames))
    return out


def scale_perf(src: str, dst: str, target: int, seed: int) -> dict:
    """Write ``dst`` (>= ``target`` bytes) by repeating the samples of ``src`` with variations."""
    rng = random.Random(seed)
    samples = read_samples(src)
    if not samples:
        raise SystemExit(f"no samples in {src}")
    t_first = float(samples[0][0]["ts"])
    span = float(samples[-1][0]["ts"]) - t_first + 0.25
    t0 = 10_000.0 + rng.randrange(1000)
    pid_base = 30_000
    written = reps = n = 0
    with open(dst, "wb") as out:
        while written < target:
            shift = rng.randrange(1, 1 << 18) << 12
            pids: dict[bytes, int] = {}
            parts = []
            for hdr, frames in samples:
                r = rng.random()
                copies = 0 if r < 0.08 else 2 if r >= 0.92 else 1
                for _ in range(copies):
                    old = hdr["pid"]
                    new = pids.get(old)
                    if new is None:
                        pid_base = 1000 + (pid_base + rng.randrange(7, 211)) % 4_000_000
                        new = pids[old] = pid_base
                    tid = b""
                    if hdr["tid"] is not None:
                        tid = b"/%d" % (new + int(hdr["tid"]) - int(old))
                    ts = t0 + reps * span + float(hdr["ts"]) - t_first + rng.random() * 1e-4
                    per = b""
                    if hdr["period"] is not None:
                        per = b"%10d " % max(1, int(hdr["period"]) + rng.randrange(-40, 41))
                    lines = [b"%s %6d%s %s%12.6f: %s%s" % (hdr["comm"], new, tid, hdr["cpu"] or b"",
                                                           ts, per, hdr["rest"])]
                    ren = ((b"perf-" + old + b".map", b"perf-%d.map" % new),
                           (b"jitted-" + old + b"-", b"jitted-%d-" % new))
                    for fr in frames:
                        if isinstance(fr, bytes):
                            lines.append(fr)
                            continue
                        ind, addr, rest = fr
                        if 0x7F0000000000 <= addr < 0x800000000000:
                            addr += shift
                        for a, b in ren:
                            if a in rest:
                                rest = rest.replace(a, b)
                        lines.append(b"%s%x%s" % (ind, addr, rest))
                    parts.append(b"\n".join(lines) + b"\n\n")
                    n += 1
            blob = b"".join(parts)
            out.write(blob)
            written += len(blob)
            reps += 1
    return {"source": os.path.basename(src), "repetitions": reps, "samples": n,
            "samples_in_source": len(samples), "seed": seed}


# ---------------------------------------------------------------------------
# folded-N.txt
# ---------------------------------------------------------------------------
PKGS = ["app", "app/pricing", "app/risk", "app/md", "app/oms", "app/bt", "app/strat",
        "app/pnl", "app/report", "app/utils", "pandas/core", "pandas/io", "numpy/core",
        "numpy/linalg", "scipy/stats", "sqlalchemy", "asyncio", "json", "re", "collections",
        "functools", "logging", "threading", "socket", "ssl", "gzip", "csv", "decimal",
        "datetime", "typing", "dataclasses", "encodings", "aiohttp", "kafka", "redis",
        "pyarrow", "fastapi", "pydantic"]
VERBS = ["price", "quote", "fill", "route", "match", "hedge", "settle", "load", "parse",
         "fetch", "update", "compute", "validate", "aggregate", "resample", "rebalance",
         "simulate", "calibrate", "evaluate", "serialize", "decode", "encode", "send", "recv",
         "read", "write", "dispatch", "handle", "run", "apply", "transform", "merge", "join",
         "filter", "emit", "flush", "poll", "lookup", "_inner", "_call_impl"]
NOUNS = ["order", "orders", "book", "quote", "quotes", "trade", "fills", "position", "risk",
         "greeks", "curve", "surface", "bar", "bars", "tick", "ticks", "signal", "portfolio",
         "pnl", "exposure", "limit", "venue", "message", "frame", "batch", "chunk", "row",
         "rows", "schema", "config", "session", "cursor"]
SPECIAL = ["__call__", "__init__", "__iter__", "__next__", "__getitem__", "<module>",
           "<listcomp>", "<genexpr>", "<lambda>", "wrapper", "inner", "run_forever",
           "_run_once", "_run", "main", "_bootstrap_inner", "_worker"]


class Vocabulary:
    """Functions with a home file, 1-4 sampled lines each, and a weighted call graph."""

    def __init__(self, rng: random.Random, n_funcs: int = 6000, n_files: int = 900) -> None:
        files: set[str] = set()
        while len(files) < n_files:
            stem = rng.choice(NOUNS + VERBS).strip("_") + rng.choice(["", "", "", "s"])
            pkg = rng.choice(PKGS)
            root = "desk/" if pkg.startswith("app") else "venv/lib/"
            files.add(f"{root}{pkg}/{stem}.py")
        flist = sorted(files)
        seen: set[tuple[str, str]] = set()
        self.frames: list[str] = []
        self.variants: list[list[int]] = []
        while len(self.variants) < n_funcs:
            r = rng.random()
            if r < 0.12:
                name = rng.choice(SPECIAL)
            elif r < 0.3:
                name = (rng.choice(NOUNS).capitalize() + rng.choice(["", "", "Feed"])
                        + "." + rng.choice(VERBS).lstrip("_"))
            else:
                name = f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}"
            path = rng.choice(flist)
            if (name, path) in seen:
                continue
            seen.add((name, path))
            base = rng.randrange(1, 900)
            ids = []
            for off in sorted(rng.sample(range(80), rng.choice((1, 1, 1, 2, 2, 3, 4)))):
                ids.append(len(self.frames))
                self.frames.append(f"{name} ({path}:{base + off})")
            self.variants.append(ids)
        n = n_funcs
        # callees: mostly "deeper" functions (higher index), Zipf-like preference
        self.callees: list[list[int]] = []
        self.cumw: list[list[float]] = []
        for i in range(n):
            cs = []
            for _ in range(rng.randrange(2, 8)):
                if rng.random() < 0.85:
                    cs.append(min(n - 1, i + 1 + int(rng.expovariate(1 / 300))))
                else:
                    cs.append(rng.randrange(n))
            acc, cum = 0.0, []
            for r_ in range(len(cs)):
                acc += 1.0 / (r_ + 1) ** 1.4
                cum.append(acc)
            self.callees.append(cs)
            self.cumw.append(cum)


def iter_unique_stacks(n_unique: int, seed: int):
    """Yield ``(frame-id tuple, count)`` for ``n_unique`` distinct stacks (deterministic)."""
    import bisect

    rng = random.Random(seed)
    voc = Vocabulary(random.Random(seed ^ 0x5EED))
    yield voc  # first item: the vocabulary
    prefixes = []
    for _ in range(64):
        f = rng.randrange(48)
        pre = [rng.choice(voc.variants[f])]
        for _ in range(rng.randrange(4, 18)):
            cum = voc.cumw[f]
            f = voc.callees[f][bisect.bisect_left(cum, rng.random() * cum[-1])]
            pre.append(rng.choice(voc.variants[f]))
        prefixes.append((pre, f))
    pcum, acc = [], 0.0
    for i in range(len(prefixes)):
        acc += 1.0 / (i + 1)
        pcum.append(acc)
    seen: set[int] = set()
    made = 0
    rand, randrange = rng.random, rng.randrange
    callees, cumw, variants = voc.callees, voc.cumw, voc.variants
    bl = bisect.bisect_left
    while made < n_unique:
        pre, f = prefixes[bl(pcum, rand() * pcum[-1])]
        depth = randrange(20, 61)
        st = pre[:depth]
        while len(st) < depth:
            cum = cumw[f]
            f = callees[f][bl(cum, rand() * cum[-1])]
            v = variants[f]
            st.append(v[0] if len(v) == 1 else v[randrange(len(v))])
        t = tuple(st)
        h = hash(t)
        if h in seen:
            continue
        seen.add(h)
        made += 1
        yield t, min(250_000, int(rng.paretovariate(1.15)))


def write_folded(path: str, n_unique: int, seed: int) -> dict:
    it = iter_unique_stacks(n_unique, seed)
    voc = next(it)
    fr = voc.frames
    total = lines = 0
    dmin, dmax = 10**9, 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        buf = []
        for t, c in it:
            buf.append(";".join([fr[i] for i in t]) + f" {c}\n")
            total += c
            lines += 1
            dmin, dmax = min(dmin, len(t)), max(dmax, len(t))
            if len(buf) >= 10_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    return {"unique_stacks": lines, "total_samples": total, "depth_min": dmin, "depth_max": dmax,
            "frame_vocabulary": len(fr), "seed": seed, "order": "generation order (unsorted)"}


def write_diff(a_name: str, b_path: str, truth_path: str, n_unique: int, seed: int) -> dict:
    """Write the 'after' side of a diff against ``folded-N.txt`` plus its ground truth."""
    it = iter_unique_stacks(n_unique, seed)
    voc = next(it)
    fr = voc.frames
    stacks = list(it)
    rng = random.Random(seed * 31 + 7)
    total_a = sum(c for _, c in stacks)
    kept = []
    for t, c in stacks:
        if rng.random() < 0.02:
            continue
        kept.append([t, max(1, round(c * rng.lognormvariate(0.0, 0.1)))])
    truth: dict = {"a": a_name, "b": os.path.basename(b_path), "total_samples_a": total_a,
                   "injected_new_stacks": [], "amplified_existing_stacks": []}
    hottest = max(range(len(stacks)), key=lambda i: stacks[i][1])
    picks = [hottest] + [rng.randrange(len(stacks)) for _ in range(4)]
    extra = []
    for k, i in enumerate(picks):
        t = stacks[i][0]
        cut = max(5, len(t) - rng.randrange(1, 6))
        names = [fr[x] for x in t[:cut]] + [f"regression_hotspot_{k} (app/new_feature_{k}.py:{40 + 17 * k})"]
        if k % 2:
            names.append(f"json_dumps_slowpath (app/new_feature_{k}.py:{90 + k})")
        c = int(total_a * (0.03 + 0.01 * k))
        s = ";".join(names)
        extra.append((s, c))
        truth["injected_new_stacks"].append({"stack": s, "count": c,
                                             "share_of_a_total": round(c / total_a, 4)})
    for _ in range(2):
        j = rng.randrange(len(kept))
        kept[j][1] = max(kept[j][1] * 20, int(total_a * 0.02))
        truth["amplified_existing_stacks"].append({"stack": ";".join(fr[x] for x in kept[j][0]),
                                                   "count_b": kept[j][1]})
    lines = [(";".join(fr[x] for x in t), c) for t, c in kept] + extra
    rng.shuffle(lines)
    truth["total_samples_b"] = sum(c for _, c in lines)
    with open(b_path, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(f"{s} {c}\n" for s, c in lines)
    with open(truth_path, "w") as f:
        json.dump(truth, f, indent=1)
    return {"pair_with": a_name, "truth": os.path.basename(truth_path), "unique_stacks": len(lines),
            "total_samples": truth["total_samples_b"]}


# ---------------------------------------------------------------------------
def file_info(path: str) -> dict:
    h = hashlib.sha256()
    lines = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                break
            h.update(b)
            lines += b.count(b"\n")
    return {"bytes": os.path.getsize(path), "lines": lines, "sha256": h.hexdigest()}


SIZES = {"1k": 1_000, "100k": 100_000, "1m": 1_000_000}
PARTS = ["perf"] + [f"folded-{s}" for s in SIZES] + ["diff-1k", "diff-100k"]


def main(argv: list[str] | None = None) -> int:
    """Build the selected parts of the corpus and update MANIFEST.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--only", default="all", help="comma list of parts: " + ",".join(PARTS) + " or all")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--scaled-mb", type=float, default=200.0)
    ap.add_argument("--iters", type=int, default=60, help="workload iterations for the perf recording")
    a = ap.parse_args(argv)
    parts = PARTS if a.only == "all" else [p.strip().lower() for p in a.only.split(",") if p.strip()]
    for p in parts:
        if p not in PARTS:
            ap.error(f"unknown part {p!r} (choose from {', '.join(PARTS)}, all)")
    os.makedirs(a.out, exist_ok=True)
    mpath = os.path.join(a.out, "MANIFEST.json")
    manifest = {}
    if os.path.exists(mpath):
        with open(mpath) as f:
            manifest = json.load(f)
    manifest.update({"generator": "flamekit benchmarks/gen_corpus.py", "seed": a.seed})
    files = manifest.setdefault("files", {})

    def done(name: str, info: dict, t0: float) -> None:
        files[name] = dict(info, **file_info(os.path.join(a.out, name)))
        log(f"{name}: {files[name]['bytes'] / 1e6:.1f} MB in {time.time() - t0:.1f} s")
        with open(mpath, "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)

    if "perf" in parts:
        t0 = time.time()
        src = os.path.join(a.out, "perf-source.txt")
        done("perf-source.txt", record_perf(src, a.iters), t0)
        t0 = time.time()
        done("perf-scaled.txt", scale_perf(src, os.path.join(a.out, "perf-scaled.txt"),
                                           int(a.scaled_mb * 1e6), a.seed), t0)
    for label, n in SIZES.items():
        if f"folded-{label}" in parts:
            t0 = time.time()
            name = f"folded-{label}.txt"
            done(name, write_folded(os.path.join(a.out, name), n, a.seed + n), t0)
    for label in ("1k", "100k"):
        if f"diff-{label}" in parts:
            n = SIZES[label]
            t0 = time.time()
            name = f"diff-{label}.b.txt"
            done(name, write_diff(f"folded-{label}.txt", os.path.join(a.out, name),
                                  os.path.join(a.out, f"diff-{label}.truth.json"), n, a.seed + n), t0)
    log(f"manifest: {mpath}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
