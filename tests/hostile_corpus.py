"""The hostile corpus, generated at test time: every file of the shared ``corpus/hostile`` family.

The shared corpus (``../shared/corpus/hostile`` with its ``INDEX.tsv``) has no public
origin, so a clone without it could not run the hostile tests. This module builds the
same 48 cases from their descriptions (``bad_inputs.md`` and the hostile INDEX: what
each file is and what an importer must do with it), with the same file names, into a
folder the tests read (``conftest.HOSTILE``)::

    python tests/hostile_corpus.py DEST      # writes DEST/<family>/<file> and DEST/INDEX.tsv

Where the shared copy exists, ``tests/test_hostile_corpus.py`` checks that this family
covers the same cases: the same ids, files and formats, and the same outcome (imports
with the same totals, or fails with a FormatError) for every shared file and its
generated twin. The bytes differ (nothing here is copied from the shared files).

:func:`hostile_dir` builds the family once per version of this file into the temp
folder (``flamekit-hostile-<uid>-<digest>``) and returns it.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import marshal
import os
import shutil
import struct
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Callable

#: Markup and confusable names (bad_inputs.md §0.4, F08, P11, S09, C04, PP11): each must
#: render as inert text. The last one is a long, repetitive Swift-style name.
PAYLOADS = [
    '</script><script>document.title="PWNED-1"</script>',
    "<img src=x onerror=alert(2)>",
    '"><svg onload=alert(3)>',
    "' onmouseover='alert(4)' x='",
    "javascript:alert(5)",
    "<!-- unterminated comment",
    "]]> <![CDATA[ x",
    "</style><style>*{display:none}</style>",
    "{{7*7}} ${7*7} <%= 7*7 %> {% raw %}",
    "&amp&lt&gt&quot",
    "ls\u2028ps\u2029end",
    "safe\u202egnp.exe",
    "\x1b[31mred\x1b[0m",
    "std::map<int, std::vector<char> >::operator<<(std::ostream&) const",
    "<lambda>",
    "<module>",
    "<alloc::boxed::Box<T> as core::fmt::Debug>::fmt",
    "closure #1 in Collection.map<A>(reusing:make:configure:)" * 8,
]

#: id, file, format, what, expected, outcome ('ok' = imports, 'error' = a clean FormatError)
INDEX: list[tuple[str, str, str, str, str, str]] = [
    ("C01", "chrome/C01-cycle.cpuprofile", "chrome-cpuprofile", "child ids form a cycle 2 -> 3 -> 2",
     "error naming the file; no endless walk", "error"),
    ("C03", "chrome/C03-length-mismatch.cpuprofile", "chrome-cpuprofile", "3 samples but 1 timeDelta",
     "error naming the file", "error"),
    ("C04", "chrome/C04-markup.cpuprofile", "chrome-cpuprofile",
     "markup payloads as functionName, javascript: URLs as callFrame.url",
     "imports; RENDER inert, the url never a clickable link", "ok"),
    ("C06", "chrome/C06-bad-events.json", "chrome-trace",
     "negative dur, string ts, E without B, B never closed, no name, ts 1e300",
     "imports; each bad event skipped with a counted warning, no negative width", "ok"),
    ("F01", "folded/F01-missing-counts.folded", "folded", "lines with no count or a word for a count, blank lines",
     "imports 2 stacks (total 3) and warns of 2 skipped lines", "ok"),
    ("F03", "folded/F03-huge-counts.folded", "folded", "counts 2^64+1, 10^400 and 5000 digits",
     "error at line 2 (no inf/NaN totals; int() refuses 5000 digits)", "error"),
    ("F05", "folded/F05-empty-frames.folded", "folded", "empty frame names; leading/trailing ';'",
     "imports; empty names kept; total 4", "ok"),
    ("F07", "folded/F07-cr-only.folded", "folded", "lines ended by CR only",
     "imports 3 stacks, total 6; no CR in names", "ok"),
    ("F08", "folded/F08-markup-frames.folded", "folded", "one stack per markup payload, plus a name with ';'",
     "imports; RENDER inert; <lambda>/<module> visible", "ok"),
    ("F10", "folded/F10-long-name.folded", "folded", "a 120 KB frame name of & < > \" '",
     "imports whole; the renderer truncates, then escapes", "ok"),
    ("F12", "folded/F12-unicode.folded", "folded", "cafe NFC and NFD, Cyrillic homoglyph, emoji, ZWJ",
     "imports 5 distinct frames (no normalisation)", "ok"),
    ("G02", "generic/G02-bom-whitespace.txt", "any", "UTF-8 BOM then whitespace only",
     "error (no samples)", "error"),
    ("G04", "generic/G04-random-binary.bin", "any", "4 KiB of deterministic pseudo-random bytes with NUL",
     "error: unrecognized format", "error"),
    ("G06", "generic/G06-utf16be-bom.folded", "folded", "folded text in UTF-16BE with a BOM",
     "imports: 2 stacks, total 3", "ok"),
    ("G07", "generic/G07-gzip-bomb-100MiB.folded.gz", "folded(gz)", "gzip of 100 MiB of NUL bytes",
     "error at the decompressed-size cap (10 MiB in tests); memory near the cap", "error"),
    ("G09", "generic/G09-empty-gzip.gz", "any(gz)", "a valid gzip of 0 bytes", "error: empty", "error"),
    ("G09", "generic/G09-truncated-gzip-stream.folded.gz", "folded(gz)", "a gzip cut inside its deflate stream",
     "error: corrupt/truncated gzip", "error"),
    ("G10", "generic/G10-zstd-magic.zst", "any", "zstd magic and zeros", "error: unsupported zstd", "error"),
    ("H01", "render/H01-diff-b.folded", "folded", "diff side B: an NFD name and a markup payload",
     "imports; RENDER inert in the diff", "ok"),
    ("P01", "perf/P01-no-trailing-blank-line.perf", "perf-script", "2 samples; no blank line after the last",
     "imports 2 samples", "ok"),
    ("P03", "perf/P03-comm-with-spaces-digits.perf", "perf-script",
     "comms 'V8 WorkerThread', '1234 5678' and 't' with a [cpu] column",
     "imports; comms parsed from the right", "ok"),
    ("P05", "perf/P05-blank-after-header.perf", "perf-script", "a blank line between a header and its frames",
     "imports 1 sample with one warning", "ok"),
    ("P07", "perf/P07-srcline.perf", "perf-script", "perf script -F+srcline: a source line after each frame",
     "imports 1 sample, 2 frames with their file:line", "ok"),
    ("P09", "perf/P09-kernel-offsets-unknown.perf", "perf-script",
     "kernel +0x offsets, a bpf prog module, [unknown] with and without a DSO",
     "imports; offsets stripped; [unknown] named after its module", "ok"),
    ("P11", "perf/P11-markup-symbols.perf", "perf-script", "markup payloads as symbols and as a DSO path",
     "imports; RENDER inert", "ok"),
    ("P13", "perf/P13-control-chars.perf", "perf-script", "NUL, VT and DEL inside symbol names",
     "imports; SVG/HTML well-formed", "ok"),
    ("P15", "perf/P15-no-period-old-format.perf", "perf-script", "perf 3.x layout: no timestamp, frames not indented",
     "imports 1 sample of 2 frames", "ok"),
    ("PP01", "pprof/PP01-empty-gzip.pb.gz", "pprof", "a valid gzip of an empty payload", "error: empty input file",
     "error"),
    ("PP03", "pprof/PP03-string0-not-empty.pb.gz", "pprof", "string_table[0] is not ''",
     "error: string_table[0] must be ''", "error"),
    ("PP05", "pprof/PP05-value-count-mismatch.pb.gz", "pprof", "a sample with 3 values for 2 sample types",
     "error: value count mismatch", "error"),
    ("PP07", "pprof/PP07-duplicate-location-id.pb.gz", "pprof", "two locations with id 1",
     "error: multiple locations with same id", "error"),
    ("PP08", "pprof/PP08-negative-values.pb.gz", "pprof", "negative sample values (a delta profile)",
     "imports, flagged as having negative values", "ok"),
    ("PP09", "pprof/PP09-wire-type-7.pb", "pprof", "a field with wire type 7", "error: unknown wire type", "error"),
    ("PP11", "pprof/PP11-markup-strings.pb.gz", "pprof",
     "markup payloads as function names, a label key and a mapping filename", "imports; RENDER inert", "ok"),
    ("PP13", "pprof/PP13-legacy-heapz-crasher.txt", "pprof-legacy", "the go-fuzz legacy heapz crasher shape",
     "error: legacy pprof not supported", "error"),
    ("PP15", "pprof/PP15-no-period-nonascii-unit.pb", "pprof", "uncompressed; no period; unit 'μs'",
     "imports; unit kept verbatim", "ok"),
    ("PS01", "pstats/PS01-python2-marshal.pstats", "pstats", "Python 2 marshal: byte strings and text floats",
     "error: unsupported pstats (Python 2)", "error"),
    ("PS03", "pstats/PS03-code-object.pstats", "pstats", "the stats dict also holds a code object",
     "error from the shape check; nothing executed", "error"),
    ("PS05", "pstats/PS05-bad-shapes.pstats", "pstats",
     "call count -1, NaN time, a str for a float, a 1-tuple key, a caller not in the table",
     "error from per-entry validation", "error"),
    ("PS07", "pstats/PS07-shared-ref-dag.pstats", "pstats", "a caller value that is a 60-level shared tuple DAG",
     "error from the shape check at once (never walked)", "error"),
    ("S01", "speedscope/S01-frame-index-out-of-range.json", "speedscope", "samples refer to frames 99999 and -1",
     "error: out of range", "error"),
    ("S03", "speedscope/S03-close-not-on-top.json", "speedscope", "evented: a close for a frame not on top",
     "error: not at the top", "error"),
    ("S04", "speedscope/S04-time-goes-backwards.json", "speedscope", "evented: a close before its open",
     "error: time goes backwards", "error"),
    ("S05", "speedscope/S05-unknown-type.json", "speedscope", "profile type 'weird'", "error: unknown profile type",
     "error"),
    ("S07", "speedscope/S07-duplicate-keys.json", "speedscope", "a frame object with 'name' twice",
     "imports; the last key wins; RENDER inert", "ok"),
    ("S09", "speedscope/S09-markup-everywhere.json", "speedscope",
     "payloads as frame names and files, profile name, group name, exporter", "imports; RENDER inert", "ok"),
    ("SC01", "scalene/SC01-missing-files.json", "scalene", "no 'files' key", "error naming the file", "error"),
    ("SC02", "scalene/SC02-source-breakout.json", "scalene", "a source line and a file path holding </script>",
     "imports; RENDER inert", "ok"),
    ("SC04", "scalene/SC04-out-of-range.json", "scalene", "negative elapsed, 250 % / 180 % CPU, negative MB",
     "imports clamped, with warnings", "ok"),
]

_BUILDERS: dict[str, Callable[[], bytes]] = {}


def _file(name: str) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def register(fn: Callable[[], bytes]) -> Callable[[], bytes]:
        _BUILDERS[name] = fn
        return fn
    return register


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _json(obj: object) -> bytes:
    return json.dumps(obj).encode("utf-8")


# -- chrome -------------------------------------------------------------------------------
def _node(nid: int, name: str, children: list[int], url: str = "") -> dict:
    return {"id": nid, "callFrame": {"functionName": name, "scriptId": "0", "url": url, "lineNumber": 0,
                                     "columnNumber": 0}, "hitCount": 0, "children": children}


def _cpuprofile(nodes: list[dict], samples: list[int], deltas: list[int]) -> bytes:
    return _json({"nodes": nodes, "startTime": 0, "endTime": sum(deltas), "samples": samples,
                  "timeDeltas": deltas})


@_file("chrome/C01-cycle.cpuprofile")
def _c01() -> bytes:
    return _cpuprofile([_node(1, "(root)", [2]), _node(2, "outer", [3]), _node(3, "inner", [2])], [3], [5])


@_file("chrome/C03-length-mismatch.cpuprofile")
def _c03() -> bytes:
    return _cpuprofile([_node(1, "(root)", [2]), _node(2, "work", [])], [2, 2, 2], [7])


@_file("chrome/C04-markup.cpuprofile")
def _c04() -> bytes:
    ids = list(range(2, 2 + len(PAYLOADS)))
    nodes = [_node(1, "(root)", ids)]
    nodes += [_node(i, name, [], url=f"javascript:alert(11)//payload-{i}") for i, name in zip(ids, PAYLOADS)]
    return _cpuprofile(nodes, ids, [1] * len(ids))


@_file("chrome/C06-bad-events.json")
def _c06() -> bytes:
    ev = [{"name": "negative-dur", "ph": "X", "ts": 5, "dur": -3},
          {"name": "string-ts", "ph": "X", "ts": "7", "dur": 2},
          {"name": "end-alone", "ph": "E", "ts": 15},
          {"name": "begin-alone", "ph": "B", "ts": 25},
          {"ph": "X", "ts": 35, "dur": 2},
          {"name": "far-ts", "ph": "X", "ts": 1e300, "dur": 2}]
    return _json([dict(e, pid=7, tid=7) for e in ev])


# -- folded ---------------------------------------------------------------------------------
@_file("folded/F01-missing-counts.folded")
def _f01() -> bytes:
    return b"top;x 2\ntop;no_count\n\ntop;word many\n \t\ntop;y 1\n"


@_file("folded/F03-huge-counts.folded")
def _f03() -> bytes:
    return (f"m;two64 {2**64 + 1}\nm;ten400 {10**400}\nm;digits5000 " + "7" * 5000 + "\n").encode()


@_file("folded/F05-empty-frames.folded")
def _f05() -> bytes:
    return b"top;;leaf 1\n;x 1\nx; 1\n; 1\n"


@_file("folded/F07-cr-only.folded")
def _f07() -> bytes:
    return b"r;a 3\rr;b 2\rr;c 1\r"


@_file("folded/F08-markup-frames.folded")
def _f08() -> bytes:
    return "".join(f"root;{p} 1\n" for p in PAYLOADS + ["semi&amp;colon"]).encode("utf-8")


@_file("folded/F10-long-name.folded")
def _f10() -> bytes:
    return ("root;" + "A&<>\"'" * 20_000 + " 1\nroot;short 1\n").encode()


@_file("folded/F12-unicode.folded")
def _f12() -> bytes:
    names = ["caf\u00e9", "cafe\u0301", "\u0430dmin", "\U0001F4A9", "\u200dzwj\u200d"]
    return "".join(f"root;{n} 1\n" for n in names).encode("utf-8")


# -- generic --------------------------------------------------------------------------------
@_file("generic/G02-bom-whitespace.txt")
def _g02() -> bytes:
    return b"\xef\xbb\xbf \n\t\n\r\n"


@_file("generic/G04-random-binary.bin")
def _g04() -> bytes:
    return bytes((i * 197 + 13) % 256 for i in range(4096))


@_file("generic/G06-utf16be-bom.folded")
def _g06() -> bytes:
    return "\ufeffmain;a 1\nmain;b 2\n".encode("utf-16-be")


@_file("generic/G07-gzip-bomb-100MiB.folded.gz")
def _g07() -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip container
    block, parts = bytes(1 << 20), []
    for _ in range(100):
        parts.append(z.compress(block))
    parts.append(z.flush())
    return b"".join(parts)


@_file("generic/G09-empty-gzip.gz")
def _g09_empty() -> bytes:
    return _gz(b"")


@_file("generic/G09-truncated-gzip-stream.folded.gz")
def _g09_cut() -> bytes:
    whole = _gz(b"main;a 1\nmain;b 2\n" * 40)
    return whole[: len(whole) // 2]


@_file("generic/G10-zstd-magic.zst")
def _g10() -> bytes:
    return b"\x28\xb5\x2f\xfd" + bytes(8)


@_file("render/H01-diff-b.folded")
def _h01() -> bytes:
    return "main;parse 20\nmain;cafe\u0301 5\nmain;</script><script>alert(13)</script> 3\n".encode("utf-8")


# -- perf script ----------------------------------------------------------------------------
def _perf_sample(header: str, frames: list[tuple[int, str, str]], indent: str = "\t          ") -> str:
    return header + "\n" + "".join(f"{indent}{addr:x} {sym} ({dso})\n" for addr, sym, dso in frames)


_APP3 = [(0x401000, "leaf_fn", "/usr/bin/app"), (0x401010, "mid_fn", "/usr/bin/app"),
         (0x401020, "main", "/usr/bin/app")]


@_file("perf/P01-no-trailing-blank-line.perf")
def _p01() -> bytes:
    a = _perf_sample("app 42 3.000000: 1 cycles: ", _APP3)
    b = _perf_sample("app 42 3.250000: 1 cycles: ", _APP3)
    return (a + "\n" + b).encode()  # ends right after the last frame line


@_file("perf/P03-comm-with-spaces-digits.perf")
def _p03() -> bytes:
    return (_perf_sample("V8 WorkerThread 24636/25607 2.000000: 1 cycles: ", _APP3) + "\n"
            + _perf_sample("1234 5678 99/99 2.100000: 1 cycles: ", _APP3) + "\n"
            + _perf_sample("t 99076 [000] 10314749.002559: 1 cycles: ", [(0x401020, "main", "/t")], "\t ")
            + "\n").encode()


@_file("perf/P05-blank-after-header.perf")
def _p05() -> bytes:
    return b"app 42 3.000000: 1 cycles: \n\n\t 401020 main (/app)\n\n"


@_file("perf/P07-srcline.perf")
def _p07() -> bytes:
    return (b"app 42 3.000000: 1 cycles: \n\t 401100 leaf_fn+0x10 (/app)\n  leaf.c:42\n"
            b"\t 401000 main+0x5 (/app)\n  main.c:7\n\n")


@_file("perf/P09-kernel-offsets-unknown.perf")
def _p09() -> bytes:
    bpf = "bpf_prog_2b956549c660136a_uni_l4lb"
    return ("swapper 0 [003] 5.000000: 1 cycles: \n"
            "\tffffffffab39798b perf_event_exec+0x800054e0213b ([kernel.kallsyms])\n"
            f"\tffffffffc09ace93 {bpf}+0xb80 ({bpf})\n"
            "\t    7f5c8a79bb97 [unknown] ([unknown])\n"
            "\t            762f [unknown] (/usr/bin/iperf)\n\n").encode()


@_file("perf/P11-markup-symbols.perf")
def _p11() -> bytes:
    frames = [(0x401000 + 16 * i, p, "/app") for i, p in enumerate(PAYLOADS[:-1])]
    frames.append((0x401000 + 16 * len(frames), "ok", "/tmp/</script><img src=x onerror=alert(9)>.so"))
    return (_perf_sample("app 42 3.000000: 1 cycles: ", frames) + "\n").encode("utf-8")


@_file("perf/P13-control-chars.perf")
def _p13() -> bytes:
    frames = [(0x401000, "a\x00b", "/app"), (0x401010, "a\x0bb", "/app"), (0x401020, "a\x7fb", "/app"),
              (0x401030, "main", "/app")]
    return (_perf_sample("app 42 3.000000: 1 cycles: ", frames) + "\n").encode()


@_file("perf/P15-no-period-old-format.perf")
def _p15() -> bytes:
    return (b"java 19983 cycles:\nffffffff8103d0ca native_write_msr_safe ([kernel.kallsyms])\n"
            b"7f722d12e1d4 LBusy;::main (/tmp/perf-19982.map)\n\n")


# -- pprof (protobuf written here, field numbers from pprof's profile.proto) ------------------
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 values are written as 10-byte two's complement
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _vfield(num: int, n: int) -> bytes:
    return _varint(num << 3) + _varint(n)


def _bfield(num: int, data: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _packed(num: int, values: list[int]) -> bytes:
    return _bfield(num, b"".join(_varint(v) for v in values))


class _Strings:
    """A pprof string table: index 0 is '' unless told otherwise."""

    def __init__(self, first: str = "") -> None:
        self.items = [first]

    def __call__(self, s: str) -> int:
        if s not in self.items[1:]:
            self.items.append(s)
        return self.items.index(s, 1)

    def encode(self) -> bytes:
        return b"".join(_bfield(6, s.encode("utf-8")) for s in self.items)


def _pprof(first_string: str = "", funcs: list[str] = ("main", "work"), samples: list | None = None,
           extra_locations: int = 0, mapping: str | None = None, label: tuple[str, str] | None = None,
           types: list[tuple[str, str]] = (("samples", "count"), ("cpu", "nanoseconds")),
           period: bool = True) -> bytes:
    """A small pprof Profile: one function per location (ids 1..n); ``samples`` = [(location ids, values)]."""
    st = _Strings(first_string)
    out = b"".join(_bfield(1, _vfield(1, st(t)) + _vfield(2, st(u))) for t, u in types)
    for i, name in enumerate(funcs, 1):
        out += _bfield(5, _vfield(1, i) + _vfield(2, st(name)) + _vfield(3, st(name)) + _vfield(4, st("x.go")))
        loc = _vfield(1, i) + (_vfield(2, 1) if mapping else b"") + _vfield(3, 0x1000 * i) \
            + _bfield(4, _vfield(1, i) + _vfield(2, i))
        out += _bfield(4, loc)
    for _ in range(extra_locations):  # a second location with id 1
        out += _bfield(4, _vfield(1, 1) + _vfield(3, 0x9000) + _bfield(4, _vfield(1, 1) + _vfield(2, 9)))
    n = len(funcs)
    for locs, values in samples if samples is not None else [(list(range(n, 0, -1)), [3, 30_000_000])]:
        s = _packed(1, locs) + _packed(2, values)
        if label:
            s += _bfield(3, _vfield(1, st(label[0])) + _vfield(2, st(label[1])))
        out += _bfield(2, s)
    if mapping:
        out += _bfield(3, _vfield(1, 1) + _vfield(2, 0x1000) + _vfield(3, 0x1000 * (n + 2)) + _vfield(5, st(mapping)))
    if not period:
        return out + st.encode()
    ptype = _bfield(11, _vfield(1, st("cpu")) + _vfield(2, st("nanoseconds")))  # before the table is written
    return out + st.encode() + ptype + _vfield(12, 10_000_000)


@_file("pprof/PP01-empty-gzip.pb.gz")
def _pp01() -> bytes:
    return _gz(b"")


@_file("pprof/PP03-string0-not-empty.pb.gz")
def _pp03() -> bytes:
    return _gz(_pprof(first_string="not-empty"))


@_file("pprof/PP05-value-count-mismatch.pb.gz")
def _pp05() -> bytes:
    return _gz(_pprof(samples=[([2, 1], [3, 30_000_000]), ([1], [1, 2, 3])]))


@_file("pprof/PP07-duplicate-location-id.pb.gz")
def _pp07() -> bytes:
    return _gz(_pprof(extra_locations=1))


@_file("pprof/PP08-negative-values.pb.gz")
def _pp08() -> bytes:
    return _gz(_pprof(samples=[([2, 1], [3, 30_000_000]), ([2, 1], [-5, -50_000_000])]))


@_file("pprof/PP09-wire-type-7.pb")
def _pp09() -> bytes:
    return _varint(1 << 3 | 7) + bytes(4)


@_file("pprof/PP11-markup-strings.pb.gz")
def _pp11() -> bytes:
    n = len(PAYLOADS)
    return _gz(_pprof(funcs=PAYLOADS, samples=[(list(range(n, 0, -1)), [3, 30_000_000]), ([1], [1, 10_000_000])],
                      mapping="/lib/</script><svg onload=alert(10)>.so",
                      label=('"];URL="javascript:alert(1)', "<script>alert(8)</script>")))


@_file("pprof/PP13-legacy-heapz-crasher.txt")
def _pp13() -> bytes:
    return b"--- heapz 1 ---\n0 0 @ 0\n"


@_file("pprof/PP15-no-period-nonascii-unit.pb")
def _pp15() -> bytes:
    return _pprof(funcs=["main"], types=[("wall", "\u03bcs")], samples=[([1], [7])], period=False)


# -- pstats (marshal) -----------------------------------------------------------------------
def _py2_str(b: bytes) -> bytes:
    return b"s" + struct.pack("<i", len(b)) + b


def _py2_float(x: str) -> bytes:
    return b"f" + bytes([len(x)]) + x.encode()


@_file("pstats/PS01-python2-marshal.pstats")
def _ps01() -> bytes:
    """Python 2's marshal: 's' byte strings and 'f' text floats (Python 3 reads them as bytes)."""
    key = b"(" + struct.pack("<i", 3) + _py2_str(b"/src/app.py") + b"i" + struct.pack("<i", 3) + _py2_str(b"run")
    value = (b"(" + struct.pack("<i", 5) + b"i" + struct.pack("<i", 2) + b"i" + struct.pack("<i", 2)
             + _py2_float("0.004") + _py2_float("0.005") + b"{0")
    return b"{" + key + value + b"0"


@_file("pstats/PS03-code-object.pstats")
def _ps03() -> bytes:
    code = compile("print('never run')", "<hostile>", "exec")
    return marshal.dumps({("a.py", 1, "f"): (1, 1, 0.0, 0.0, {}), "payload": code})


@_file("pstats/PS05-bad-shapes.pstats")
def _ps05() -> bytes:
    return marshal.dumps({("a.py", 1, "f"): (1, -1, float("nan"), "x", {("ghost.py", 9, "g"): (1, 1, 0.0, 0.0)}),
                          ("b.py",): 5})


@_file("pstats/PS07-shared-ref-dag.pstats")
def _ps07() -> bytes:
    dag: object = ("leaf",)
    for _ in range(60):
        dag = (dag, dag)  # each level refers to the one below twice: 2**60 paths, 61 objects
    return marshal.dumps({("a.py", 1, "f"): (1, 1, 0.0, 0.0, {("b.py", 2, "g"): dag})})


# -- speedscope -----------------------------------------------------------------------------
_SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def _speedscope(profiles: list[dict], frames: list[dict] | None = None, **top: object) -> bytes:
    return _json({"$schema": _SCHEMA, "shared": {"frames": frames or [{"name": "main"}, {"name": "work"}]},
                  "profiles": profiles, **top})


def _evented(events: list[tuple[str, int, int]]) -> dict:
    return {"type": "evented", "name": "t", "unit": "none", "startValue": 0, "endValue": 10,
            "events": [{"type": t, "frame": f, "at": at} for t, f, at in events]}


@_file("speedscope/S01-frame-index-out-of-range.json")
def _s01() -> bytes:
    return _speedscope([{"type": "sampled", "name": "t", "unit": "seconds", "startValue": 0, "endValue": 1,
                         "samples": [[0, 99999], [0, -1]], "weights": [1, 1]}])


@_file("speedscope/S03-close-not-on-top.json")
def _s03() -> bytes:
    return _speedscope([_evented([("O", 0, 0), ("O", 1, 2), ("C", 0, 4), ("C", 1, 6)])])


@_file("speedscope/S04-time-goes-backwards.json")
def _s04() -> bytes:
    return _speedscope([_evented([("O", 0, 6), ("C", 0, 2)])])


@_file("speedscope/S05-unknown-type.json")
def _s05() -> bytes:
    return _speedscope([{"type": "weird", "name": "t"}])


@_file("speedscope/S07-duplicate-keys.json")
def _s07() -> bytes:
    profile = json.dumps({"type": "sampled", "name": "t", "unit": "none", "startValue": 0, "endValue": 1,
                          "samples": [[0]], "weights": [1]})
    frame = '{"name": "harmless", "name": "<img src=x onerror=alert(7)>"}'  # json.dumps cannot repeat a key
    return f'{{"$schema": "{_SCHEMA}", "shared": {{"frames": [{frame}]}}, "profiles": [{profile}]}}'.encode()


@_file("speedscope/S09-markup-everywhere.json")
def _s09() -> bytes:
    frames = [{"name": p, "file": f"/src/{p}.py", "line": 1} for p in PAYLOADS]
    prof = {"type": "sampled", "name": '</title><script>alert("profile-name")</script>', "unit": "seconds",
            "startValue": 0, "endValue": 1, "samples": [[i] for i in range(len(frames))],
            "weights": [1] * len(frames)}
    return _speedscope([prof], frames, name='</title><script>alert("group-name")</script>',
                       exporter="<b>exporter</b>")


# -- scalene --------------------------------------------------------------------------------
def _scalene_line(lineno: int, text: str, python: float, malloc: float = 0.0) -> dict:
    return {"lineno": lineno, "line": text, "n_cpu_percent_python": python, "n_cpu_percent_c": 0.0,
            "n_sys_percent": 0.0, "n_malloc_mb": malloc, "n_peak_mb": 0.0, "memory_samples": []}


@_file("scalene/SC01-missing-files.json")
def _sc01() -> bytes:
    return _json({"elapsed_time_sec": 2.0})


@_file("scalene/SC02-source-breakout.json")
def _sc02() -> bytes:
    lines = [_scalene_line(1, 'x = 1  # </script><script>alert("scalene #629")</script>', 10.0),
             _scalene_line(2, "<!-- y = 2", 10.0)]
    return _json({"elapsed_time_sec": 1.0, "max_footprint_mb": 0,
                  "files": {"/src/</script><script>alert(12)</script>.py": {
                      "percent_cpu_time": 100.0, "functions": [], "lines": lines}}})


@_file("scalene/SC04-out-of-range.json")
def _sc04() -> bytes:
    return _json({"elapsed_time_sec": -3, "files": {"a.py": {
        "percent_cpu_time": 250.0, "functions": [], "lines": [_scalene_line(1, "x", 180.0, malloc=-5.0)]}}})


# -- the family ---------------------------------------------------------------------------------
def build(dest: Path) -> Path:
    """Write every hostile file and ``INDEX.tsv`` (id, file, format, bytes, what, expected, outcome) under ``dest``."""
    dest = Path(dest)
    listed = {row[1] for row in INDEX}
    assert listed == set(_BUILDERS), sorted(listed ^ set(_BUILDERS))
    lines = ["file\tid\tformat\tbytes\twhat\texpected\toutcome"]
    for rid, rel, fmt, what, expected, outcome in INDEX:
        data = _BUILDERS[rel]()
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(data)
        lines.append("\t".join((rel, rid, fmt, str(len(data)), what, expected, outcome)))
    (dest / "INDEX.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest


def hostile_dir() -> Path:
    """Return the generated family, building it once per version of this file (shared by test processes)."""
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    uid = os.getuid() if hasattr(os, "getuid") else 0
    final = Path(tempfile.gettempdir()) / f"flamekit-hostile-{uid}-{digest}"
    if (final / "INDEX.tsv").is_file():
        return final
    work = Path(tempfile.mkdtemp(prefix=final.name + ".", dir=final.parent))
    try:
        build(work)
        try:
            os.rename(work, final)  # atomic: another process may have won the race
        except OSError:
            if not (final / "INDEX.tsv").is_file():
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return final


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/hostile_corpus.py DEST")
    print(build(Path(sys.argv[1])))
