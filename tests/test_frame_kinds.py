"""One frame-kind rule for every importer (issue 12, bug 4).

The same source file name must get the same ``Frame.kind`` whatever format it
was read from (``x.go`` was native in speedscope but unknown in folded; ``.pyi``
python in folded but not in pprof). Each test writes a tiny file in a format's
own syntax carrying the file name, loads it through the registry (detection by
content), and compares the leaf frame's kind with the expected kind written
out by hand below (not computed by the rule under test). Where the rule cannot
tell (a file of no known language), each importer's documented default
applies: ``python`` for austin and CPython's collapsed stacks (they only walk
Python frames), ``jit`` for Chrome (JavaScript), else ``unknown``.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from flamekit.formats import load_with_format, pprof
from flamekit.formats._kinds import frame_kind
from flamekit.model import ProfileBuilder, SampleType

#: file name -> the kind every importer must give it (None: the importer's default)
FILES = {
    "x.go": "native",
    "pkg/stubs.pyi": "python",
    "app.py": "python",
    "Mod.PY": "python",
    "fast.pyx": "python",
    "<frozen importlib._bootstrap>": "python",
    "<string>": "python",
    "vec.cpp": "native",
    "lib.rs": "native",
    "crt.S": "native",
    "libc.so.6": "native",
    "libfoo.dylib": "native",
    "app.rb": None,
    "main.js": None,
}
DEFAULTS = {"folded": "unknown", "speedscope": "unknown", "pprof": "unknown",
            "chrome": "jit", "austin": "python", "cpython-collapsed": "python"}


def _folded(tmp: Path, file: str) -> Path:
    p = tmp / "in.folded"
    p.write_text(f"main (run.py:1);work ({file}:3) 5\n", encoding="utf-8")
    return p


def _speedscope(tmp: Path, file: str) -> Path:
    doc = {"$schema": "https://www.speedscope.app/file-format-schema.json",
           "shared": {"frames": [{"name": "work", "file": file, "line": 3}]},
           "profiles": [{"type": "sampled", "name": "t", "unit": "none", "startValue": 0,
                         "endValue": 1, "samples": [[0]], "weights": [1]}]}
    p = tmp / "in.speedscope.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def _pprof(tmp: Path, file: str) -> Path:
    b = ProfileBuilder([SampleType("samples", "count")])
    sid = b.stack([b.frame("work", file, 3, "", "unknown")])
    b.add(sid, (1.0,), b.thread(0, "", None))
    buf = io.BytesIO()
    pprof.dump(b.build({}), buf)
    p = tmp / "in.pb"
    p.write_bytes(buf.getvalue())
    return p


def _chrome(tmp: Path, file: str) -> Path:
    doc = {"nodes": [{"id": 1, "callFrame": {"functionName": "(root)", "url": ""}, "children": [2]},
                     {"id": 2, "callFrame": {"functionName": "work", "url": file,
                                             "lineNumber": 2}}],
           "samples": [2], "timeDeltas": [10], "startTime": 0, "endTime": 10}
    p = tmp / "in.cpuprofile"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def _austin(tmp: Path, file: str) -> Path:
    p = tmp / "in.austin"
    p.write_text(f"# mode: wall\nP1;T1;run.py:main:1;{file}:work:3 10\n", encoding="utf-8")
    return p


def _cpython(tmp: Path, file: str) -> Path:
    p = tmp / "in.collapsed"
    p.write_text(f"tid:1;run.py:main:1;{file}:work:3 4\n", encoding="utf-8")
    return p


WRITERS = {"folded": _folded, "speedscope": _speedscope, "pprof": _pprof, "chrome": _chrome,
           "austin": _austin, "cpython-collapsed": _cpython}


def _leaf_kind(path: Path, fmt: str, file: str) -> str:
    p, got = load_with_format(path)
    assert got == fmt, f"{path.name} detected as {got}"
    kinds = {f.kind for f in p.frames if f.name == "work" or f.file == file}
    assert len(kinds) == 1, (fmt, file, p.frames)
    return kinds.pop()


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("file", sorted(FILES))
def test_same_file_same_kind(tmp_path: Path, fmt: str, file: str):
    want = FILES[file] or DEFAULTS[fmt]
    assert _leaf_kind(WRITERS[fmt](tmp_path, file), fmt, file) == want


@pytest.mark.parametrize("file,module,want", [
    ("", "[kernel.kallsyms]", "kernel"),
    ("", "/usr/lib/debug/boot/vmlinux-6.1.0", "kernel"),
    ("", "[nf_tables]", "kernel"),
    ("", "[vdso]", "native"),
    ("", "/tmp/perf-4242.map", "jit"),
    ("", "/root/.debug/jit/jitted-13291-388.so", "jit"),
    ("", "/usr/lib/x86_64-linux-gnu/libc.so.6", "native"),
    ("", "/usr/bin/python3.12", "native"),
    ("app.py", "/tmp/perf-1.map", "python"),  # a Python file wins over the module
    ("", "", "unknown"),
])
def test_module_rules(file: str, module: str, want: str):
    assert frame_kind(file, module) == want


@pytest.mark.parametrize("module,want", [("[kernel.kallsyms]", "kernel"), ("/tmp/perf-4242.map", "jit"),
                                         ("/usr/lib/libc.so.6", "native"), ("[vdso]", "native")])
def test_perf_and_pprof_agree_on_modules(tmp_path: Path, module: str, want: str):
    perf = tmp_path / "in.perf"
    perf.write_text(f"python 10/10 [000] 1.000000: 1000 cpu-clock:\n"
                    f"\t    ffff0001 work+0x1 ({module})\n\t    40001 main ({'/usr/bin/python3'})\n\n",
                    encoding="utf-8")
    p, fmt = load_with_format(perf)
    assert fmt == "perf-script"
    assert {f.kind for f in p.frames if f.name == "work"} == {want}

    b = ProfileBuilder([SampleType("samples", "count")])
    sid = b.stack([b.frame("work", "", 0, module, "unknown")])
    b.add(sid, (1.0,), b.thread(0, "", None))
    buf = io.BytesIO()
    pprof.dump(b.build({}), buf)
    out = tmp_path / "in.pb"
    out.write_bytes(buf.getvalue())
    q, _ = load_with_format(out)
    assert {f.kind for f in q.frames if f.name == "work"} == {want}
