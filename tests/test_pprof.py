"""pprof import/export: real profiles, hostile inputs, round trips.

Ground truth for the real profiles comes from an independent decoder: the
``protobuf`` package with a ``profile.proto`` descriptor built here from the
published field numbers.
"""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, HOSTILE as HOSTILE_ROOT, realworld_names, require_corpus
from flamekit.errors import FormatError
from flamekit.formats import _protobuf as pb
from flamekit.formats import detect, load_with_format, pprof
from flamekit.model import Frame, ProfileBuilder, SampleType, Thread, equivalent, to_text

REAL = CORPUS / "realworld" / "pprof"
LEGACY = CORPUS / "realworld" / "pprof-legacy"
HOSTILE = HOSTILE_ROOT / "pprof"

# files in realworld/pprof/ that are NOT protobuf (see MANIFEST.tsv): refused as legacy
_LEGACY_IN_PPROF_DIR = {"pprof__fuzz-corpus-cppbench.cpu.pb", "pprof__fuzz-crasher-7e3c9248"}


# ---------------------------------------------------------------------------
# independent decoder (google.protobuf + a descriptor built from profile.proto)
# ---------------------------------------------------------------------------
def _profile_message_class():
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto(name="flamekit_test_profile.proto",
                                            package="fktest", syntax="proto3")

    def msg(name, fields):
        m = fd.message_type.add(name=name)
        for fname, num, typ, rep, tname in fields:
            f = m.field.add(name=fname, number=num, type=typ,
                            label=F.LABEL_REPEATED if rep else F.LABEL_OPTIONAL)
            if tname:
                f.type_name = ".fktest." + tname

    I64, U64, STR, MSG, BOOL = F.TYPE_INT64, F.TYPE_UINT64, F.TYPE_STRING, F.TYPE_MESSAGE, F.TYPE_BOOL
    msg("ValueType", [("type", 1, I64, 0, ""), ("unit", 2, I64, 0, "")])
    msg("Label", [("key", 1, I64, 0, ""), ("str", 2, I64, 0, ""), ("num", 3, I64, 0, ""),
                  ("num_unit", 4, I64, 0, "")])
    msg("Sample", [("location_id", 1, U64, 1, ""), ("value", 2, I64, 1, ""),
                   ("label", 3, MSG, 1, "Label")])
    msg("Line", [("function_id", 1, U64, 0, ""), ("line", 2, I64, 0, "")])
    msg("Location", [("id", 1, U64, 0, ""), ("mapping_id", 2, U64, 0, ""),
                     ("address", 3, U64, 0, ""), ("line", 4, MSG, 1, "Line"),
                     ("is_folded", 5, BOOL, 0, "")])
    msg("Function", [("id", 1, U64, 0, ""), ("name", 2, I64, 0, ""),
                     ("system_name", 3, I64, 0, ""), ("filename", 4, I64, 0, ""),
                     ("start_line", 5, I64, 0, "")])
    msg("Mapping", [("id", 1, U64, 0, ""), ("filename", 5, I64, 0, "")])
    msg("Profile", [("sample_type", 1, MSG, 1, "ValueType"), ("sample", 2, MSG, 1, "Sample"),
                    ("mapping", 3, MSG, 1, "Mapping"), ("location", 4, MSG, 1, "Location"),
                    ("function", 5, MSG, 1, "Function"), ("string_table", 6, STR, 1, ""),
                    ("time_nanos", 9, I64, 0, ""), ("duration_nanos", 10, I64, 0, ""),
                    ("period_type", 11, MSG, 0, "ValueType"), ("period", 12, I64, 0, "")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("fktest.Profile"))


_Profile = None


def reference_decode(path: Path):
    """Decode with the protobuf package; return (n_samples, totals, leaf function names)."""
    global _Profile
    if _Profile is None:
        _Profile = _profile_message_class()
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    m = _Profile()
    m.ParseFromString(data)
    st = m.string_table
    totals = np.zeros(len(m.sample_type))
    for s in m.sample:
        totals += np.asarray(list(s.value), dtype=float)
    funcs = {f.id: st[f.name] for f in m.function}
    locs = {loc.id: loc for loc in m.location}
    names = set()
    for s in m.sample:
        for lid in s.location_id:
            for ln in locs[lid].line:
                names.add(funcs[ln.function_id])
    types = [f"{st[v.type]}/{st[v.unit]}" for v in m.sample_type]
    return len(m.sample), totals, names, types


def _real_files():
    return realworld_names("pprof")


# ---------------------------------------------------------------------------
# real profiles
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", _real_files())
def test_realworld_pprof_matches_reference_decoder(name):
    path = REAL / name
    if name in _LEGACY_IN_PPROF_DIR:
        with pytest.raises(FormatError, match="legacy pprof not supported"):
            load_with_format(path)
        return
    p, fmt = load_with_format(path)
    assert fmt == "pprof"
    n, totals, names, types = reference_decode(path)
    assert p.n_samples == n
    assert [str(s) for s in p.sample_types] == types
    np.testing.assert_array_equal(p.totals(), totals)
    assert names <= {f.name for f in p.frames}


@pytest.mark.parametrize("name", [n for n in _real_files() if n not in _LEGACY_IN_PPROF_DIR])
def test_realworld_pprof_round_trip_is_exact(name, tmp_path):
    # the legacy files are refused (checked above), so they have nothing to round-trip
    p = pprof.load(REAL / name)
    out = tmp_path / "rt.pb.gz"
    from flamekit.formats import dump

    assert dump(p, out, "pprof") == "pprof"
    q, fmt = load_with_format(out)
    assert fmt == "pprof"
    assert q == p, "load(dump(p)) differs:\n" + to_text(q)[:2000]


def test_legacy_folder_all_refused_clearly():
    for path in sorted(require_corpus("realworld/pprof-legacy").iterdir()):
        with pytest.raises(FormatError) as ei:
            load_with_format(path)
        msg = str(ei.value)
        assert "legacy pprof not supported" in msg and path.name in msg, msg


def test_austin_pprof_threads_and_unit():
    p = pprof.load(REAL / "austin-python__austin.pprof")
    assert [str(s) for s in p.sample_types] == ["Wall time/μs"]
    # austin2pprof labels samples with "Process ID" / "Thread ID"
    assert {(t.id, t.pid) for t in p.threads} == {(82848, 82848), (82858, 82848)}
    assert all(f.kind == "python" for f in p.frames if f.name != "<no stack>")


def test_inlined_lines_become_frames_innermost_last():
    p = pprof.load(REAL / "pprof__report-sample.cpu.pb.gz")
    inl = [i for i, f in enumerate(p.frames) if f.kind == "inlined"]
    assert inl, "report-sample has inlined functions (math.Abs)"
    # an inlined frame is never a root, and its parent is in the same binary
    for s in range(p.n_stacks):
        if p.frames[p.stack_frame[s]].kind == "inlined":
            assert p.stack_prefix[s] >= 0


def test_meta_from_header():
    p = pprof.load(REAL / "pprof__report-sample.cpu.pb.gz")
    assert p.meta["pprof"]["period_type"] == ["cpu", "nanoseconds"]
    assert p.meta["pprof"]["period"] == 10000000
    assert p.meta["duration"] == pytest.approx(p.meta["pprof"]["duration_nanos"] / 1e9)
    assert p.meta["start_time"].startswith("2017-09-29")
    assert p.tables["pprof_mappings"]["filename"][0].endswith("sample.bin")


# ---------------------------------------------------------------------------
# hostile files from the corpus
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name, fmt, needle", [
    ("PP01-empty-gzip.pb.gz", "pprof", "empty input file"),
    ("PP01-empty-gzip.pb.gz", None, "empty"),
    ("PP03-string0-not-empty.pb.gz", None, "string_table[0] must be ''"),
    ("PP05-value-count-mismatch.pb.gz", None, "mismatch: sample 1 has 3 values vs. 2"),
    ("PP07-duplicate-location-id.pb.gz", None, "multiple locations with same id: 1"),
    ("PP09-wire-type-7.pb", "pprof", "unknown wire type 7"),
    ("PP09-wire-type-7.pb", None, ""),
    ("PP13-legacy-heapz-crasher.txt", None, "legacy pprof not supported"),
])
def test_hostile_pprof_errors(name, fmt, needle):
    path = HOSTILE / name
    with pytest.raises(FormatError) as ei:
        load_with_format(path, fmt)
    assert name in str(ei.value)
    assert needle in str(ei.value)
    assert not getattr(ei.value, "unexpected", False), str(ei.value)


def test_pp08_negative_values_accepted_and_flagged():
    p = pprof.load(HOSTILE / "PP08-negative-values.pb.gz")
    assert p.meta["has_negative_values"] is True
    assert (p.values < 0).any()
    assert any("negative" in w for w in p.meta["warnings"])


def test_pp11_markup_strings_kept_verbatim():
    p = pprof.load(HOSTILE / "PP11-markup-strings.pb.gz")
    names = {f.name for f in p.frames}
    assert any("<" in n for n in names)
    assert any("</script>" in m for m in p.tables["pprof_mappings"]["filename"])


def test_pp15_no_period_micro_unit():
    p = pprof.load(HOSTILE / "PP15-no-period-nonascii-unit.pb")
    assert p.sample_types == (SampleType("wall", "μs"),)
    assert "period" not in p.meta.get("pprof", {})


# ---------------------------------------------------------------------------
# hostile files built here (bad_inputs.md PP02, PP04, PP06, PP07, PP09, PP10, PP12, PP14)
# ---------------------------------------------------------------------------
def _vt(t, u):
    return pb.field_varint(1, t) + pb.field_varint(2, u)


def _profile_bytes(*, strings=("", "samples", "count", "main"), sample_locs=(1,), values=(3,),
                   loc_fn=1, fn_name=3, extra=b""):
    body = pb.field_bytes(1, _vt(1, 2), keep_empty=True)
    body += pb.field_bytes(2, pb.field_packed(1, list(sample_locs)) + pb.field_packed(2, list(values)))
    body += pb.field_bytes(4, pb.field_varint(1, 1) + pb.field_bytes(4, pb.field_varint(1, loc_fn)))
    body += pb.field_bytes(5, pb.field_varint(1, 1) + pb.field_varint(2, fn_name))
    body += b"".join(pb.field_bytes(6, s.encode(), keep_empty=True) for s in strings)
    return body + extra


def test_builder_baseline_is_valid(tmp_path):
    f = tmp_path / "ok.pb"
    f.write_bytes(_profile_bytes())
    p, fmt = load_with_format(f)
    assert fmt == "pprof" and p.totals().tolist() == [3.0]
    assert [x.name for x in p.frames] == ["main"]


@pytest.mark.parametrize("case, data, needle", [
    ("PP02-truncated", _profile_bytes()[:-3], "past the end"),
    ("PP04-string-index-oob", _profile_bytes(fn_name=9999), "string index 9999 out of range"),
    ("PP06-missing-location", _profile_bytes(sample_locs=(77,)), "location 77"),
    ("PP07-missing-function", _profile_bytes(loc_fn=42), "function 42"),
    ("PP09-varint-overflow", b"\x10" + b"\xff" * 10 + b"\x01", "bad varint"),
    ("PP10-length-past-end", b"\x32" + pb.varint(2**31) + b"abc", "runs past the end"),
    ("negative-string-index", _profile_bytes(fn_name=-1), "out of range"),
])
def test_built_hostile_pprof(tmp_path, case, data, needle):
    f = tmp_path / f"{case}.pb"
    f.write_bytes(data)
    with pytest.raises(FormatError) as ei:
        pprof.load(f)
    assert needle in str(ei.value) and case in str(ei.value)


def test_pp12_concatenated_gzip_members_refused(tmp_path):
    one = gzip.compress(_profile_bytes(), mtime=0)
    f = tmp_path / "PP12-concatenated.pb.gz"
    f.write_bytes(one + one)
    with pytest.raises(FormatError, match="concatenated profiles"):
        load_with_format(f)


def _peak_allocation(fn) -> int:
    """Return the most bytes allocated at once while ``fn`` runs (tracemalloc: Python objects
    and numpy buffers of this operation only, unlike the process-wide ``ru_maxrss``)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_pp10_does_not_allocate_from_length(tmp_path):
    f = tmp_path / "len.pb"
    f.write_bytes(b"\x32" + pb.varint(2**40) + b"abc")  # a string field claiming 1 TiB

    def load():
        with pytest.raises(FormatError):
            pprof.load(f)

    big = bytearray(200 * 2**20)  # an earlier large allocation: ru_maxrss would hide the next
    del big
    assert _peak_allocation(load) < 8 * 2**20
    # the measure sees an allocation of the size it guards against, even after that one
    assert _peak_allocation(lambda: bytearray(60 * 2**20)) >= 60 * 2**20


def test_pp14_string_bomb_stops_at_cap_in_bounded_memory(tmp_path):
    from hostile_util import assert_clean_failure, run_isolated

    # a valid profile whose string table holds one 100 MiB string (~100 KB gzipped)
    big = b"".join([_profile_bytes(), b"\x32", pb.varint(100 * 2**20)])
    f = tmp_path / "PP14-string-bomb.pb.gz"
    with gzip.open(f, "wb", compresslevel=9) as g:
        g.write(big)
        chunk = b"A" * 2**20
        for _ in range(100):
            g.write(chunk)
    assert f.stat().st_size < 1_000_000
    # bounded memory: the whole child runs under a 768 MiB address-space limit (a
    # 100 MiB string read whole plus its decode would not fit beside numpy/pandas).
    # (ru_maxrss is not used: a forked child inherits the parent's peak RSS.)
    out = run_isolated(f, max_decompressed=10 * 2**20, rlimit_as=768 * 2**20)
    assert_clean_failure(out, contains="exceeds limit")


def test_gzip_bomb_generic_cap(tmp_path):
    from hostile_util import assert_clean_failure, run_isolated

    f = tmp_path / "bomb.pb.gz"
    with gzip.open(f, "wb", compresslevel=9) as g:
        g.write(_profile_bytes(extra=b"\x32" + pb.varint(50 * 2**20)))
        for _ in range(50):
            g.write(bytes(2**20))
    out = run_isolated(f, "pprof", max_decompressed=10 * 2**20, rlimit_as=1024**3)
    assert_clean_failure(out, contains="10485760")


# ---------------------------------------------------------------------------
# sniffing
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("head, want", [
    (b"main;foo;bar 12\nmain;baz 3\n", False),
    (b"\n\nmain;foo 1\n", False),
    (b"2foo;bar 1\n", False),
    (b'{"nodes": []}', False),
    (b"--- heapz 1 ---\n0 0 @ 0\n", True),
    (b"heap profile: 1: 2 [3: 4] @ heap/1\n", True),
    (bytes(8) + (3).to_bytes(8, "little") + bytes(16), True),
])
def test_sniff(head, want):
    assert bool(pprof.sniff(head)) is want


def test_sniff_real_profile_heads():
    from flamekit.formats import _io

    for name in ("pprof__large.cpu.pb.gz", "speedscope__simple.prof.pb.gz",
                 "austin-python__austin.pprof"):
        assert pprof.sniff(_io.read_head(REAL / name)) is True
        assert detect(REAL / name).name == "pprof"


# ---------------------------------------------------------------------------
# export of profiles that did not come from pprof
# ---------------------------------------------------------------------------
def _synthetic():
    b = ProfileBuilder([SampleType("cpu", "seconds"), SampleType("alloc_space", "bytes")])
    main = b.frame("main", "app.py", 3, "", "python")
    price = b.frame("price", "pricing.py", 42, "", "python")
    inl = b.frame("fast_path", "pricing.c", 7, "/usr/lib/libpx.so", "inlined")
    nat = b.frame("px_eval", "pricing.c", 90, "/usr/lib/libpx.so", "native")
    t1 = b.thread(101, "MainThread", 7)
    t2 = b.thread(102, "feed;worker", 7)
    b.add(b.stack([main, price]), (0.25, 100.0), t1)
    b.add(b.stack([main, price, nat, inl]), (1.5, 0.0), t1)
    b.add(b.stack([main]), (0.75, 64.0), t2)
    return b.build({"duration": 2.5})


def test_export_synthetic_round_trip_equivalent(tmp_path):
    p = _synthetic()
    buf = io.BytesIO()
    pprof.dump(p, buf)
    f = tmp_path / "s.pb"
    f.write_bytes(buf.getvalue())
    q = pprof.load(f)
    # fractional seconds were exported as integer nanoseconds
    assert q.sample_types == (SampleType("cpu", "nanoseconds"), SampleType("alloc_space", "bytes"))
    np.testing.assert_array_equal(q.values[:, 0], p.values[:, 0] * 1e9)
    np.testing.assert_array_equal(q.values[:, 1], p.values[:, 1])
    assert set(q.threads) == set(p.threads)
    assert set(q.frames) == set(p.frames)  # kinds, inlining and modules survive
    assert q.meta["duration"] == 2.5
    r = q.copy(sample_types=p.sample_types, values=q.values / np.array([1e9, 1.0]),
               meta=p.meta, tables=p.tables)
    assert equivalent(r, p)
    assert q.tables["pprof_mappings"]["filename"] == ["/usr/lib/libpx.so"]


def test_export_only_one_sample_type():
    buf = io.BytesIO()
    pprof.dump(_synthetic(), buf, sample_type="alloc_space")
    assert b"alloc_space" in buf.getvalue() and b"cpu" not in buf.getvalue()


def test_labels_other_than_threads_round_trip(tmp_path):
    strings = ("", "samples", "count", "main", "endpoint", "/quote", "bytes")
    label = pb.field_bytes(3, pb.field_varint(1, 4) + pb.field_varint(2, 5))
    numl = pb.field_bytes(3, pb.field_varint(1, 6) + pb.field_varint(3, 512))
    body = pb.field_bytes(1, _vt(1, 2), keep_empty=True)
    body += pb.field_bytes(2, pb.field_packed(1, [1]) + pb.field_packed(2, [5]) + label + numl)
    body += pb.field_bytes(4, pb.field_varint(1, 1) + pb.field_bytes(4, pb.field_varint(1, 1)))
    body += pb.field_bytes(5, pb.field_varint(1, 1) + pb.field_varint(2, 3))
    body += b"".join(pb.field_bytes(6, s.encode(), keep_empty=True) for s in strings)
    f = tmp_path / "lab.pb"
    f.write_bytes(body)
    p = pprof.load(f)
    lt = p.tables["pprof_labels"]
    assert lt["key"] == ["endpoint", "bytes"] and lt["str"] == ["/quote", ""] \
        and lt["num"] == [0, 512]
    buf = io.BytesIO()
    pprof.dump(p, buf)
    g = tmp_path / "lab2.pb"
    g.write_bytes(buf.getvalue())
    assert pprof.load(g) == p


def test_empty_profile_exports_and_loads(tmp_path):
    from flamekit.model import empty_profile

    buf = io.BytesIO()
    pprof.dump(empty_profile(), buf)
    f = tmp_path / "e.pb"
    f.write_bytes(buf.getvalue())
    q = pprof.load(f)
    assert q.n_samples == 0 and q.sample_types == (SampleType("samples", "count"),)


def test_hostile_names_survive_export(tmp_path):
    b = ProfileBuilder([SampleType("samples", "count")])
    names = ["</script><b>x</b>", "a;b\nc", "\x00nul", "caf\u00e9", "=cmd|' /C calc'!A0"]
    b.add(b.stack([b.frame(n, "f.py", 1, "", "python") for n in names]), 2.0)
    p = b.build()
    buf = io.BytesIO()
    pprof.dump(p, buf)
    f = tmp_path / "h.pb"
    f.write_bytes(buf.getvalue())
    assert [x.name for x in pprof.load(f).frames] == names


def test_protobuf_codec_varints():
    for v in (0, 1, 127, 128, 300, 2**63 - 1, -1, -(2**63)):
        enc = pb.varint(v)
        got, pos = pb.read_varint(enc, 0, len(enc))
        assert pb.signed64(got) == v and pos == len(enc)
    with pytest.raises(pb.ProtoError, match="truncated"):
        pb.read_varint(b"\x80\x80", 0, 2)
    assert list(pb.iter_fields(b"\x08\x96\x01", 0, 3)) == [(1, 0, 150, 0)]


def test_frame_for_address_only_location(tmp_path):
    strings = ("", "samples", "count", "/bin/app")
    body = pb.field_bytes(1, _vt(1, 2), keep_empty=True)
    body += pb.field_bytes(2, pb.field_packed(1, [1]) + pb.field_packed(2, [1]))
    body += pb.field_bytes(3, pb.field_varint(1, 1) + pb.field_varint(5, 3))
    body += pb.field_bytes(4, pb.field_varint(1, 1) + pb.field_varint(2, 1)
                           + pb.field_varint(3, 0x4A2B1C))
    body += b"".join(pb.field_bytes(6, s.encode(), keep_empty=True) for s in strings)
    f = tmp_path / "addr.pb"
    f.write_bytes(body)
    p = pprof.load(f)
    assert p.frames == (Frame("0x4a2b1c", "", 0, "/bin/app", "native"),)
    buf = io.BytesIO()
    pprof.dump(p, buf)
    g = tmp_path / "addr2.pb"
    g.write_bytes(buf.getvalue())
    assert pprof.load(g) == p


def test_thread_labels_written(tmp_path):
    buf = io.BytesIO()
    pprof.dump(_synthetic(), buf)
    data = buf.getvalue()
    assert b"thread_id" in data and b"MainThread" in data and b"pid" in data
    assert Thread(102, "feed;worker", 7) in pprof.load(_write(tmp_path, data)).threads


def _write(tmp_path, data: bytes) -> Path:
    f = tmp_path / "x.pb"
    f.write_bytes(data)
    return f


def _index_rows():
    with open(HOSTILE_ROOT / "INDEX.tsv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [r for r in rows if r["format"] in ("pprof", "pprof-legacy", "chrome-cpuprofile", "chrome-trace")]


@pytest.mark.parametrize("row", _index_rows(), ids=lambda r: r["id"])
def test_hostile_index_rows_isolated(row):
    """Every pprof/Chrome row of hostile/INDEX.tsv, loaded in a limited subprocess."""
    from hostile_util import assert_clean_failure, assert_ok, run_isolated

    out = run_isolated(HOSTILE_ROOT / row["file"], max_decompressed=10 * 2**20)
    if row["outcome"] == "error":
        assert_clean_failure(out)
    else:  # accepted / imports / RENDER (inert text is the renderer's job) / skipped events
        assert_ok(out)
        assert out["format"] in ("pprof", "chrome")
