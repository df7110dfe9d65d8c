"""Write the broken inputs under tests/data/invalid/<format>/ (the files are committed).

    python tests/make_invalid_inputs.py && pytest tests/test_invalid_inputs.py --update-golden

Most cases are a real fixture from tests/data cut short or with one field made wrong;
the pprof messages are built with flamekit's own protobuf writer. Review the
``.expected`` lines the second command writes.
"""
import gzip
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from flamekit.formats import _protobuf as pb  # noqa: E402

ROOT = os.path.join(HERE, "data", "invalid")
REPO = os.path.join(HERE, "data")

def w(fmt, name, data):
    d = os.path.join(ROOT, fmt)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    open(os.path.join(d, name), "wb").write(data)

def gz(b):
    return gzip.compress(b, mtime=0)

# ---- any format: containers, compression, empty -------------------------------
w("any", "empty.txt", b"")
w("any", "blank_lines.txt", b"\n  \n\t\n")
w("any", "nul_bytes.bin", b"\x00" * 64)
w("any", "zstd.bin", b"\x28\xb5\x2f\xfd" + b"\x00" * 20)
w("any", "zip.bin", b"PK\x03\x04" + b"\x00" * 26)
w("any", "bzip2.bin", b"BZh91AY&SY" + b"\x00" * 10)
w("any", "xz.bin", b"\xfd7zXZ\x00" + b"\x00" * 10)
valid_folded = b"main;work 3\nmain;idle 1\n" * 50
w("any", "truncated.gz", gz(valid_folded)[:30])
z = bytearray(gz(valid_folded)); z[12:20] = b"\xff" * 8
w("any", "corrupt_deflate.gz", bytes(z))
w("any", "trailing_garbage.gz", gz(valid_folded) + b"not gzip")
w("any", "gzip_of_empty.gz", gz(b""))

# ---- folded --------------------------------------------------------------------
w("folded", "count_overflow.folded", "main;work 1\nmain;big " + "9" * 400 + "\n")
w("folded", "count_inf.folded", "main;work 1\nmain;big " + "9" * 309 + ".5\n")
w("folded", "count_overflow.folded.gz", gz(("main;work 1\n" * 10 + "main;big " + "1" * 310 + "\n").encode()))

# ---- perf-script ---------------------------------------------------------------
# sniffed as perf script by its header comment; the one event line is longer than the
# parser's 1,000,000-byte limit for a header, so no sample can be read
w("perf-script", "event_line_too_long.perf.gz",
  gz(b"# ========\n# perf version : 6.1.187\n# ========\n"
     + b"python " + b"a" * 1_100_000 + b" 10/10 [000] 1.000000: 1000 cpu-clock:\n"
     + b"\t    4a2b1c main (/usr/bin/python3)\n\n"))
perf_src = open(os.path.join(REPO, "perf/6.1.187/cpu_split.perf.txt"), "rb").read()
w("perf-script", "truncated.perf.gz", gz(perf_src)[: len(gz(perf_src)) // 2])

# ---- speedscope ----------------------------------------------------------------
ss = open(os.path.join(REPO, "py-spy/0.4.3/cpu_split.speedscope.json"), "rb").read()
w("speedscope", "truncated.speedscope.json", ss[: len(ss) // 2])
doc = json.loads(ss)
d = json.loads(ss); d["profiles"] = {"not": "a list"}
w("speedscope", "profiles_not_a_list.speedscope.json", json.dumps(d))
d = json.loads(ss); d["profiles"][0]["samples"][0] = [0, 99999]
w("speedscope", "frame_index_out_of_range.speedscope.json", json.dumps(d))
d = json.loads(ss); d["profiles"][0]["weights"][0] = 1.5
t = json.dumps(d).replace("1.5", "NaN", 1)
w("speedscope", "nan_weight.speedscope.json", t)
d = json.loads(ss); d["profiles"][0]["weights"] = d["profiles"][0]["weights"][:-1]
w("speedscope", "weights_length_mismatch.speedscope.json", json.dumps(d))
t = json.dumps(json.loads(ss), indent=1).encode()
k = t.index(b'"shared"')
w("speedscope", "bad_utf8_outside_string.speedscope.json", t[:k] + b"\xff\xfe" + t[k:])
w("speedscope", "unknown_profile_type.speedscope.json",
  json.dumps({"$schema": "https://www.speedscope.app/file-format-schema.json",
              "shared": {"frames": [{"name": "a"}]},
              "profiles": [{"type": "instrumented", "name": "x", "unit": "none",
                            "startValue": 0, "endValue": 1}]}))

# ---- pprof ---------------------------------------------------------------------
raw = gzip.decompress(open(os.path.join(REPO, "go-pprof/1.19.8/cpu_spin.pb.gz"), "rb").read())
w("pprof", "truncated_message.pb.gz", gz(raw[: len(raw) - 40]))
w("pprof", "two_gzip_members.pb.gz", gz(raw) + gz(raw))
strings = [b"", b"samples", b"count", b"main"]
msg = (pb.field_bytes(1, pb.field_varint(1, 1) + pb.field_varint(2, 2))
       + pb.field_bytes(2, pb.field_packed(1, [1]) + pb.field_packed(2, [5]))
       + pb.field_bytes(4, pb.field_varint(1, 1) + pb.field_bytes(4, pb.field_varint(1, 1)))
       + pb.field_bytes(5, pb.field_varint(1, 1) + pb.field_varint(2, 77))
       + b"".join(pb.field_bytes(6, s, keep_empty=True) for s in strings))
w("pprof", "string_index_out_of_range.pb", msg)
msg2 = (pb.field_bytes(1, pb.field_varint(1, 1) + pb.field_varint(2, 2))
        + pb.field_bytes(2, pb.field_packed(1, [9]) + pb.field_packed(2, [5]))
        + b"".join(pb.field_bytes(6, s, keep_empty=True) for s in strings))
w("pprof", "unknown_location_id.pb", msg2)
msg3 = (pb.field_bytes(1, pb.field_varint(1, 1) + pb.field_varint(2, 2))
        + pb.field_bytes(2, pb.field_packed(1, [1]) + pb.field_packed(2, [5, 6]))
        + pb.field_bytes(4, pb.field_varint(1, 1) + pb.field_bytes(4, pb.field_varint(1, 1)))
        + pb.field_bytes(5, pb.field_varint(1, 1) + pb.field_varint(2, 3))
        + b"".join(pb.field_bytes(6, s, keep_empty=True) for s in strings))
w("pprof", "value_count_mismatch.pb", msg3)
w("pprof", "legacy_heapz.pprof", b"heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1 0x2\n")

# ---- chrome --------------------------------------------------------------------
cp = open(os.path.join(REPO, "node/20.20.2/spin.cpuprofile"), "rb").read()
w("chrome", "truncated.cpuprofile", cp[: len(cp) // 2])
c = json.loads(cp); c["nodes"][1]["children"] = [c["nodes"][0]["id"]]
w("chrome", "node_cycle.cpuprofile", json.dumps(c))
c = json.loads(cp); del c["nodes"][3]["id"]
w("chrome", "node_without_id.cpuprofile", json.dumps(c))
c = json.loads(cp); c["samples"][0] = "x"
w("chrome", "sample_not_a_node_id.cpuprofile", json.dumps(c))
# (a child id with no node is not invalid: Chrome DevTools drops the reference, and so does
# flamekit, with a warning; tests/test_chrome_dangling.py covers it)
c = json.loads(cp); c["timeDeltas"] = c["timeDeltas"][:-5]
w("chrome", "time_deltas_length_mismatch.cpuprofile", json.dumps(c))
w("chrome", "trace_not_a_list.json", json.dumps({"traceEvents": {"ph": "X"}}))

# ---- austin --------------------------------------------------------------------
w("austin", "no_samples.austin", "# austin: 3.6.0\n# mode: wall\nP1;T1;app.py:main:oops\n")
w("austin", "bad_metric.austin", "# austin: 3.6.0\n# mode: wall\nP1;T1;app.py:main:3 lots\nP1;T1;app.py:main:3 1e5\n")

# ---- native --------------------------------------------------------------------
nat = json.loads(open(os.path.join(REPO, "flamekit/0.1.0/two_threads.flamekit.json"), "rb").read())
n = json.loads(json.dumps(nat)); n["flamekit_profile"] = 99
w("native", "future_version.flamekit.json", json.dumps(n))
n = json.loads(json.dumps(nat)); n["stacks"]["frame"][0] = 10**6
w("native", "frame_index_out_of_range.flamekit.json", json.dumps(n))
n = json.loads(json.dumps(nat)); n["samples"]["stack"] = "zero"
w("native", "stacks_wrong_type.flamekit.json", json.dumps(n))
t = json.dumps(nat, separators=(",", ":"))
w("native", "truncated.flamekit.json", t[: len(t) * 2 // 3])
w("native", "overflowing_number.flamekit.json", t.replace('"values":[[', '"values":[[1e999,', 1))

# ---- scalene -------------------------------------------------------------------
sc = json.loads(gzip.decompress(open(os.path.join(REPO, "scalene/2.4.0/cpu_split.scalene.json.gz"), "rb").read()))
s = json.loads(json.dumps(sc)); s["elapsed_time_sec"] = "1s"
w("scalene", "elapsed_is_a_string.scalene.json", json.dumps(s))
s = json.loads(json.dumps(sc)); del s["files"]
w("scalene", "missing_files.scalene.json", json.dumps(s))
s = json.loads(json.dumps(sc)); s["files"] = ["a.py"]
w("scalene", "files_not_an_object.scalene.json", json.dumps(s))

# ---- cpython-collapsed ------------------------------------------------------------
w("cpython-collapsed", "no_valid_lines.collapsed", "tid:1;main.py:main:1 many\ntid:2;x.py:f:2\n")

# ---- memray --------------------------------------------------------------------
# from the real captures in tests/data/memray (read with memray's own reader, in a child:
# its C++ reader segfaults on some corrupt files)
mem_raw = open(os.path.join(REPO, "memray/1.20.0/mem_known-raw.bin"), "rb").read()
mem_lz4 = open(os.path.join(REPO, "memray/1.20.0/mem_known.bin"), "rb").read()
w("memray", "truncated_raw.bin", mem_raw[: len(mem_raw) // 2])
w("memray", "truncated_lz4.bin", mem_lz4[: len(mem_lz4) // 2])
w("memray", "header_only.bin", b"memray\x00\x0d\x00\x00\x00")
w("memray", "garbage_after_magic.bin", b"memray\x00" + bytes((i * 97 + 13) % 256 for i in range(4000)))
import random  # noqa: E402
_rng = random.Random(22)  # 20 bytes overwritten: this seed crashes memray 1.20's reader
_flip = bytearray(mem_raw)
for _ in range(20):
    _flip[_rng.randrange(7, len(_flip))] = _rng.randrange(256)
w("memray", "reader_crash.bin", bytes(_flip))
