"""perf script importer: FlameGraph conformance, real-world files, hostile input, fixtures.

Ground truth comes from outside flamekit: FlameGraph's (PR #231, inferno-pinned)
``stackcollapse-perf.pl`` results for every option it was run with, the corpus
MANIFEST's per-file counts (samples, frame lines, events, commands), the hostile
corpus INDEX, and the workload's own CPU split for our recordings.
"""
from __future__ import annotations

import collections
import csv
import functools
import io
import re
from pathlib import Path

import pytest

from conftest import CORPUS, DATA, HOSTILE as HOSTILE_ROOT, expected_rows, realworld_manifest, require_corpus
from hostile_util import assert_ok, run_isolated
from flamekit import model
from flamekit.errors import FlamekitError, FormatError
from flamekit.formats import _io, detect, detect_head, load_with_format
from flamekit.formats import perf_script as ps

RW = CORPUS / "realworld"
PINNED = "expected/FlameGraph-pr231-inferno-pinned/"
FIXTURES = DATA / "perf" / "6.1.187"


# ---------------------------------------------------------------------------
# FlameGraph conformance: every option variant of every input with an expected file
# ---------------------------------------------------------------------------
def _expected_rows() -> list[dict]:
    rows = expected_rows()  # EXPECTED.tsv's facts, committed in .ci/corpus.tsv
    return [r for r in rows if r["path"].startswith(PINNED) and r["for_input"].startswith("perf-script/")]


ROWS = _expected_rows()
_OPTS = {"pid": dict(pid=True), "tid": dict(tid=True), "kernel": dict(kernel=True),
         "jit": dict(jit=True), "all": dict(kernel=True, jit=True), "addrs": dict(addrs=True)}


def _option(row: dict) -> str:
    m = re.search(r"stackcollapse-perf\.pl --(\w+)", row["options"])
    assert m, row["options"]
    return m.group(1)


@functools.lru_cache(maxsize=None)
def _load_rw(rel: str, addrs: bool = False) -> model.Profile:
    return ps.load(RW / rel, unknown_addresses=addrs)


def _read_folded(path: Path) -> collections.Counter:
    c: collections.Counter = collections.Counter()
    with open(path, encoding="utf-8", errors="replace", newline="\n") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                stack, _, n = line.rpartition(" ")
                c[stack] += int(n)
    return c


def test_conformance_rows_exist():
    require_corpus("realworld/expected")
    assert len(ROWS) >= 13 * 6, f"expected 13 inputs x 6 options, found {len(ROWS)} rows"
    assert {_option(r) for r in ROWS} == set(_OPTS)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: Path(r["path"]).name)
def test_flamegraph_collapse_matches(row):
    opt = _option(row)
    p = _load_rw(row["for_input"], addrs=(opt == "addrs"))
    got = collections.Counter(ps.collapse_flamegraph(p, **_OPTS[opt]))
    want = _read_folded(RW / row["path"])
    if got != want:
        extra = list((got - want).items())[:3]
        missing = list((want - got).items())[:3]
        pytest.fail(f"{row['path']}: {sum(got.values())} vs {sum(want.values())} samples\n"
                    f"only flamekit: {extra}\nonly FlameGraph: {missing}")


def test_collapse_of_first_event_only():
    p = _load_rw("perf-script/FlameGraph__perf-cycles-instructions-01.txt")
    assert [str(s) for s in p.sample_types] == ["instructions/samples", "cycles/samples"]
    first = ps.collapse_flamegraph(p)
    second = ps.collapse_flamegraph(p, sample_type="cycles")
    assert sum(first.values()) == 333 and sum(second.values()) == 111
    both = ps.collapse_flamegraph(model.merge(model.select(p, 0)))
    assert both == first


def test_collapse_addrs_needs_addresses():
    p = _load_rw("perf-script/FlameGraph__perf-numa-stacks-01.txt")
    with pytest.raises(FlamekitError, match="unknown_addresses"):
        ps.collapse_flamegraph(p, addrs=True)


def test_format_folded_round_trips_through_folded_importer(tmp_path):
    p = _load_rw("perf-script/FlameGraph__perf-java-stacks-01.txt")
    col = ps.collapse_flamegraph(p, kernel=True, jit=True)
    out = tmp_path / "x.folded"
    out.write_text(ps.format_folded(col), encoding="utf-8")
    q, fmt = load_with_format(out)
    assert fmt == "folded"
    assert q.totals()[0] == sum(col.values()) == 46


# ---------------------------------------------------------------------------
# Every real-world perf script file imports, with the MANIFEST's counts
# ---------------------------------------------------------------------------
def _manifest() -> list[tuple[str, str]]:
    """(path, description) of MANIFEST.tsv's perf-script rows, committed in .ci/corpus.tsv."""
    return [(r["path"], r["description"]) for r in realworld_manifest() if r["format"] == "perf-script"]


MANIFEST = _manifest()


def test_realworld_perf_files_listed():
    folder = require_corpus("realworld/perf-script")
    on_disk = sorted(p.name for p in folder.iterdir())
    assert on_disk and sorted(Path(m[0]).name for m in MANIFEST) == on_disk


@pytest.mark.parametrize("rel,desc", MANIFEST, ids=lambda x: Path(x).name if "/" in x else "")
def test_realworld_imports_with_manifest_counts(rel, desc):
    p, fmt = load_with_format(RW / rel)
    assert fmt == "perf-script"
    want_samples = int(re.search(r"(\d+) samples", desc).group(1))
    assert p.n_samples == want_samples
    events = dict((e, int(n)) for e, n in re.findall(r"([\w:.-]+)x(\d+)", desc.split("events=")[1].split(";")[0]))
    per_event = {st.name: int((p.values[:, i] != 0).sum() + 0) for i, st in enumerate(p.sample_types)}
    # a sample whose period is 0 would not show above: none in these files
    assert per_event == events
    # every frame line became exactly one frame of its sample (no "->" chains in these files)
    want_lines = int(re.search(r"(\d+) frame lines", desc).group(1))
    depths = p.stack_depths()[p.sample_stack]
    assert int(depths.sum()) == want_lines
    comms = int(re.search(r"(\d+) distinct comm", desc).group(1))
    assert len({t.name for t in p.threads}) == comms
    m = re.search(r"; perf ([\w.-]+)", desc)
    if m and "perf_header" in p.meta:
        assert p.meta["tool_version"] == m.group(1)
    # a sample's value is only in its own event's column
    assert ((p.values != 0).sum(axis=1) <= 1).all()


def test_header_metadata_kept():
    p = _load_rw("perf-script/speedscope__simple-with-header.linux-perf.txt")
    assert p.meta["tool"] == "perf"
    assert p.meta["tool_version"] == "4.15.18"
    assert p.meta["host"] == "e2b5bab9a538"
    assert p.meta["command"].startswith("/usr/lib/linux-tools-4.15.0-30/perf record -F 999 -g")
    assert p.meta["perf_header"]["arch"] == "x86_64"
    assert p.meta["events"] == ["cpu-clock"]
    assert p.sample_types == (model.SampleType("cpu-clock", "nanoseconds"),)
    assert p.values.sum() == 136 * 1001001  # every period in the file is 1001001
    assert p.sample_time is not None and p.sample_time.min() == pytest.approx(198789.478194)


def test_threads_pid_tid_and_comm():
    p = _load_rw("perf-script/FlameGraph__perf-iperf-stacks-pidtid-01.txt")
    iperf = [t for t in p.threads if t.name == "iperf"]
    assert {t.pid for t in iperf} == {27409, 28735} and len({t.id for t in iperf}) > 3
    p = _load_rw("perf-script/FlameGraph__perf-funcab-pid-01.txt")  # "comm TID", no timestamp
    assert p.threads == (model.Thread(15294, "func_ab", None),) and p.sample_time is None


def test_kinds_kernel_jit_unknown():
    p = _load_rw("perf-script/FlameGraph__perf-dd-stacks-01.txt")  # kernel DSO is .../vmlinux
    kinds = {f.name: f.kind for f in p.frames}
    assert kinds["sys_read"] == "kernel" and kinds["read"] == "native"
    p = _load_rw("perf-script/FlameGraph__perf-java-faults-01.txt")
    jit = [f for f in p.frames if f.module.startswith("/tmp/perf-")]
    assert jit and all(f.kind == "jit" for f in jit)
    p = _load_rw("perf-script/speedscope__forks.linux-perf.txt")
    names = {f.name: f for f in p.frames}
    assert names["[[kernel.kallsyms]]"].kind == "kernel"
    assert names["[unknown]"].module == "[unknown]"


def test_gzip_and_offsets_stripped():
    p = _load_rw("perf-script/FlameGraph__example-perf-stacks.txt.gz")
    assert p.n_samples == 1315
    assert not any(re.search(r"\+0x[0-9a-f]+$", f.name) for f in p.frames)


# ---------------------------------------------------------------------------
# Hostile corpus (INDEX.tsv rows) and the bad inputs of section P built here
# ---------------------------------------------------------------------------
def _hostile_rows() -> list[dict]:
    with open(HOSTILE_ROOT / "INDEX.tsv", encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["file"].startswith("perf/")]


HOSTILE = _hostile_rows()
P_EXPECT = {  # what INDEX.tsv's 'expected' column says, as checks on the isolated outcome
    "P01": lambda o, p: o["n_samples"] == 2 and o["totals"] == [2.0],
    "P03": lambda o, p: sorted(t.name for t in p.threads) == ["1234 5678", "V8 WorkerThread", "t"],
    "P05": lambda o, p: o["n_samples"] == 1 and len(o["warnings"]) == 1
    and p.frames[p.stack_frame[p.sample_stack[0]]].name == "main",
    "P07": lambda o, p: o["n_samples"] == 1 and o["n_frames"] == 2
    and sorted((f.name, f.file, f.line) for f in p.frames) == [("leaf_fn", "leaf.c", 42), ("main", "main.c", 7)],
    "P09": lambda o, p: {f.name for f in p.frames} == {"perf_event_exec", "bpf_prog_2b956549c660136a_uni_l4lb",
                                                       "[unknown]", "[iperf]"},
    "P11": lambda o, p: any(f.name == '</script><script>document.title="PWNED-1"</script>' for f in p.frames)
    and any(f.module == "/tmp/</script><img src=x onerror=alert(9)>.so" for f in p.frames),
    "P13": lambda o, p: {"a\x00b", "a\x0bb", "a\x7fb"} <= {f.name for f in p.frames},
    "P15": lambda o, p: o["n_samples"] == 1 and len(p.stack_frames(int(p.sample_stack[0]))) == 2,
}


def test_hostile_perf_rows_known():
    assert HOSTILE and {r["id"] for r in HOSTILE} <= set(P_EXPECT)


@pytest.mark.parametrize("row", HOSTILE, ids=lambda r: r["id"])
def test_hostile_perf(row):
    path = HOSTILE_ROOT / row["file"]
    out = run_isolated(path)
    assert_ok(out)
    assert out["format"] == "perf-script" and out["seconds"] < 10
    p = ps.load(path)
    assert P_EXPECT[row["id"]](out, p), (row["expected"], out)


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def _stacks(p: model.Profile) -> collections.Counter:
    c: collections.Counter = collections.Counter()
    for s, v in zip(p.sample_stack.tolist(), p.values.sum(axis=1).tolist()):
        c[";".join(p.frames[f].name for f in p.stack_frames(s))] += v
    return c


def test_p02_multi_event_never_added(tmp_path):
    text = ""
    for i, (ev, per) in enumerate((("cycles", 100), ("instructions", 7), ("cycles", 300), ("cache-misses", 2))):
        text += f"app 10 1.{i:06d}: {per} {ev}: \n\t 400000 main (/app)\n\n"
    out = run_isolated(_write(tmp_path, "P02.perf", text))
    assert_ok(out)
    assert out["sample_types"] == ["cycles/events", "instructions/events", "cache-misses/events"]
    assert out["totals"] == [400.0, 7.0, 2.0]


def test_p04_single_line_stacks(tmp_path):
    text = ("app 10 1.000000: 1 cycles:u:  400000 main (/app)\n"
            "app 10 1.100000: 3 cycles:  400010 leaf+0x4 (/app)\n")
    path = _write(tmp_path, "P04.perf", text)
    assert detect(path).name == "perf-script"
    p = ps.load(path)
    assert [str(s) for s in p.sample_types] == ["cycles:u/events", "cycles/events"]
    assert _stacks(p) == {"main": 1, "leaf": 3}


def test_p06_weird_stack_line(tmp_path):
    text = "app 10 1.000000: 1 cycles: \n\tTHIS_IS_NOT_A_FRAME\n\t 400000 main (/app)\n\n"
    out = run_isolated(_write(tmp_path, "P06.perf", text))
    assert_ok(out)
    assert out["n_samples"] == 1 and out["frame_names"] == ["main"]
    assert len(out["warnings"]) == 1 and "line 2" in out["warnings"][0]


def test_p08_cpp_java_go_names_intact(tmp_path):
    names = ["std::function<void (int)>::operator()(int) const", "(anonymous namespace)::Foo::bar()",
             "operator<<(std::ostream&, Foo const&)", "Lorg/Foo;.bar(Ljava/lang/String;)V",
             "net/http.(*Client).Do", "a;b"]
    text = "app 10 1.000000: 1 cycles: \n" + "".join(
        f"\t {0x400000 + i:x} {n} (/app)\n" for i, n in enumerate(names)) + "\n"
    out = run_isolated(_write(tmp_path, "P08.perf", text))
    assert_ok(out)
    assert sorted(out["frame_names"]) == sorted(names)
    p = ps.load(tmp_path / "P08.perf")
    (stack,) = ps.collapse_flamegraph(p)
    assert stack.split(";") == ["app", "a:b", "net/http.(*Client).Do", "Lorg/Foo:.bar", "operator<<",
                                "(anonymous namespace)::Foo::bar",
                                "std::function<void "]  # FlameGraph's lossy tidy, view only


def test_p10_period_extremes(tmp_path):
    text = "".join(f"app 10 1.{i:06d}: {per} cycles: \n\t 400000 main (/app)\n\n"
                   for i, per in enumerate(("18446744073709551615", "0", "-5", "9007199254740993")))
    out = run_isolated(_write(tmp_path, "P10.perf", text))
    assert_ok(out)
    assert out["n_samples"] == 3  # the negative one is skipped
    assert any("negative period" in w for w in out["warnings"])
    assert any("2**53" in w for w in out["warnings"])
    p = ps.load(tmp_path / "P10.perf")
    assert p.values[:, 0].tolist() == [float(2**64 - 1), 0.0, float(9007199254740993)]


def test_p12_header_crlf(tmp_path):
    text = ("# ========\r\n# captured on    : Mon Jan  1 00:00:00 2024\r\n# hostname : h\r\n"
            "# cmdline : /usr/bin/perf record -g ./x </script><b>x</b>\r\n# ========\r\n#\r\n"
            "x 5 1.000000: 1 cycles: \r\n\t 400000 leaf (/x)\r\n\t 400010 mid (/x)\r\n"
            "\t 400020 main (/x)\r\n\r\n")
    path = _write(tmp_path, "P12.perf", text)
    out = run_isolated(path)
    assert_ok(out)
    p = ps.load(path)
    assert _stacks(p) == {"main;mid;leaf": 1}
    assert p.meta["command"] == "/usr/bin/perf record -g ./x </script><b>x</b>"
    assert not any("\r" in f.name or "\r" in f.module for f in p.frames)


@pytest.mark.parametrize("depth", [5000, 100_000])
def test_p14_deep_stacks(tmp_path, depth):
    text = "app 10 1.000000: 1 cycles: \n" + "".join(
        f"\t {0x400000 + i:x} f{i} (/app)\n" for i in range(depth)) + "\n"
    out = run_isolated(_write(tmp_path, "P14.perf", text), timeout=30)
    assert_ok(out)
    p = ps.load(tmp_path / "P14.perf")
    fr = p.stack_frames(int(p.sample_stack[0]))
    assert len(fr) == depth and p.frames[fr[0]].name == f"f{depth - 1}"


def test_garbage_is_a_format_error(tmp_path):
    path = _write(tmp_path, "bad.perf", "this is 1 2.0: not: perf\nreally not\n")
    with pytest.raises(FormatError) as e:
        ps.load(path)
    assert "bad.perf:line 1" in str(e.value)
    big = _write(tmp_path, "noblank.perf", b"app 10 1.0: 1 cycles: \n" + b"\t 400000 f (/a)\n" * 10)
    old = ps.MAX_BLOCK
    try:
        ps.MAX_BLOCK = 50
        with pytest.raises(FormatError, match="more than 50 bytes"):
            ps.load(big)
    finally:
        ps.MAX_BLOCK = old


def test_orphan_and_separator_lines(tmp_path):
    text = ("\t 400000 orphan (/app)\n\n"
            "app 10 1.000000: 1 cycles: \n\t 400000 a (/app)\n \n\t 400000 orphan2 (/app)\n\n"
            "garbage line\n\t 400000 skipped (/app)\napp 10 2.000000: 1 cycles: \n\t 400000 b (/app)\n")
    p = ps.load(_write(tmp_path, "o.perf", text))
    assert _stacks(p) == {"a": 1, "b": 1}
    assert p.meta["perf_script"]["orphan_frame_lines"] == 3
    assert p.meta["perf_script"]["weird_event_lines"] == 1


def test_utf16_and_bom(tmp_path):
    text = "app 10 1.000000: 1 cycles: \n\t 400000 café (/app)\n\n"
    for enc, raw in (("utf-16", "\ufeff" + text), ("utf-8-sig", "\ufeff" + text)):
        path = _write(tmp_path, f"u-{enc}.perf", raw.encode("utf-16" if enc == "utf-16" else "utf-8"))
        p, fmt = load_with_format(path)
        assert fmt == "perf-script" and p.frames[0].name == "café"


# ---------------------------------------------------------------------------
# Frame naming rules
# ---------------------------------------------------------------------------
def test_python_trampolines_and_jit_and_inline_chains(tmp_path):
    text = ("python 7 1.000000: 1001001 cpu-clock:pppH: \n"
            "\t    7f0000000085 py::_burn:/w/cpu_split.py+0x5 (/tmp/perf-7.map)\n"
            "\t    7f0000000090 py::Engine.price:<frozen x>+0x5 (/tmp/jitted-7-12.so)\n"
            "\t    7f00000000a0 Ljava/io/PrintStream;::println->Ljava/io/PrintStream;::print->LFoo;::x+0x0 (/tmp/perf-7.map)\n"
            "\t          16b6a1 pymalloc_alloc+0x41 (inlined)\n"
            "\tffffffffff600000 [unknown] ([unknown])\n"
            "\t    7f00000000b0 [unknown] (/usr/lib/libc.so.6)\n\n")
    p = ps.load(_write(tmp_path, "py.perf", text))
    fr = [p.frames[f] for f in p.stack_frames(int(p.sample_stack[0]))]  # root first
    assert [(f.name, f.kind) for f in fr] == [
        ("[libc.so.6]", "native"), ("[unknown]", "kernel"), ("pymalloc_alloc", "inlined"),
        ("Ljava/io/PrintStream;::println", "jit"), ("Ljava/io/PrintStream;::print", "inlined"),
        ("LFoo;::x", "inlined"), ("Engine.price", "python"), ("_burn", "python")]
    assert fr[-1].file == "/w/cpu_split.py" and fr[-1].module == ""
    assert fr[-2].file == "<frozen x>"
    (stack,) = ps.collapse_flamegraph(p)
    assert stack.endswith(";Ljava/io/PrintStream:::println;Ljava/io/PrintStream:::print_[i];"
                          "LFoo:::x_[i];py::Engine.price:<frozen x>;py::_burn:/w/cpu_split.py")
    q = ps.load(tmp_path / "py.perf", unknown_addresses=True)
    assert {"[unknown <ffffffffff600000>]", "[libc.so.6 <7f00000000b0>]"} <= {f.name for f in q.frames}


def test_tracepoint_fields_after_the_event(tmp_path):
    text = ("bash 10 [000] 1.000000: sched:sched_switch: prev_comm=bash prev_pid=10 prev_prio=120 "
            "prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120\n"
            "\tffffffff8100 __schedule+0x1 ([kernel.kallsyms])\n\t 400000 main (/bin/bash)\n\n"
            "bash 10 [000] 2.000000: sched:sched_switch: prev_comm=bash prev_pid=10\n"
            "\tffffffff8100 __schedule+0x1 ([kernel.kallsyms])\n\t 400000 main (/bin/bash)\n\n")
    path = _write(tmp_path, "tp.perf", text)
    assert detect(path).name == "perf-script"
    p = ps.load(path)
    assert p.sample_types == (model.SampleType("sched:sched_switch", "samples"),)
    assert _stacks(p) == {"main;__schedule": 2} and "warnings" not in p.meta


def test_empty_stack_sample_is_counted(tmp_path):
    text = "app 10 1.000000: 5 cycles: \n\napp 10 2.000000: 7 cycles: \n\t 400000 main (/app)\n\n"
    p = ps.load(_write(tmp_path, "e.perf", text))
    assert _stacks(p) == {"[no stack]": 5, "main": 7}
    assert ps.collapse_flamegraph(p) == {"app": 5, "app;main": 7}


# ---------------------------------------------------------------------------
# Streaming, sniffing
# ---------------------------------------------------------------------------
def test_streamed_in_bounded_chunks(tmp_path, monkeypatch):
    block = "app 10 {t:.6f}: 1 cycles: \n" + "".join(f"\t {0x400000 + i:x} f{i % 7} (/app)\n"
                                                     for i in range(40)) + "\n"
    path = tmp_path / "big.perf"
    with open(path, "w") as f:
        for i in range(20_000):
            f.write(block.format(t=1 + i / 1000))
    size = path.stat().st_size
    assert size > 3 * ps._CHUNK
    reads: list[int] = []
    real = _io.open_binary

    class Spy(io.RawIOBase):
        def __init__(self, f):
            self.f = f

        def readable(self):
            return True

        def read(self, n=-1):
            reads.append(n)
            return self.f.read(n)

        def readinto(self, b):  # the importer reads into one reused buffer
            reads.append(len(b))
            return self.f.readinto(b)

        def peek(self, n=0):
            return self.f.peek(n)

        def close(self):
            self.f.close()

    monkeypatch.setattr(ps._io, "open_binary", lambda *a, **k: Spy(real(*a, **k)))
    p = ps.load(path)
    assert p.n_samples == 20_000 and p.sample_time is not None
    assert reads and all(0 < n <= ps._CHUNK for n in reads) and len(reads) >= 4


def test_sniff():
    assert ps.sniff(b"app 10 1.000000: 1 cycles: \n\t 400000 main (/app)\n") is True
    assert ps.sniff(b"main;foo;bar 12\nmain;foo 3\n") is False
    assert ps.sniff(b"java 19983 cycles:\nffffffff8103d0ca native_write_msr_safe ([kernel.kallsyms])\n") is True
    for f in sorted((RW / "folded").glob("*"))[:40]:
        head = _io.read_head(f)
        assert not ps.sniff(head), f.name
    assert detect_head(b"# ========\n# captured on: x\n# perf version : 6.1\n" + b"# x\n" * 10) is ps.FORMAT


# ---------------------------------------------------------------------------
# Our own recordings (tests/data/perf/<version>/): ground truth of the workload
# ---------------------------------------------------------------------------
def test_fixture_periods_sum_to_file_text():
    path = FIXTURES / "cpu_split.perf.txt"
    text = path.read_text()
    periods = [int(x) for x in re.findall(r"^\S.*?\d+\.\d+:\s+(\d+) cpu-clock", text, re.M)]
    p = ps.load(path)
    assert p.n_samples == len(periods) > 500
    assert p.values[:, 0].sum() == sum(periods)
    assert {t.name for t in p.threads} == {"python"}


def test_fixture_python_frames_show_the_70_30_split():
    p = ps.load(FIXTURES / "cpu_split-py313-perf_jit.perf.txt.gz")
    df = model.functions(p)
    py = df[df["kind"] == "python"].set_index("name")
    hot, cold = py.loc["price_options", "total"], py.loc["update_risk", "total"]
    assert py.loc["price_options", "file"].endswith("sample_workloads/cpu_split.py")
    assert 0.55 < hot / (hot + cold) < 0.85  # the workload spends 70% in price_options


def test_fixture_py312_trampolines():
    p = ps.load(FIXTURES / "cpu_split-py312-X-perf-dwarf.perf.txt")
    burn = [f for f in p.frames if f.kind == "python" and f.name == "_burn"]
    assert burn and burn[0].file.endswith("sample_workloads/cpu_split.py")
