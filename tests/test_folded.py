"""Folded / collapsed stacks: grammar, frames, threads, encodings, export and round trips."""
from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flamekit.errors import FlamekitError, FormatError
from flamekit.formats import detect, folded, load_with_format
from flamekit.model import Frame, ProfileBuilder, SampleType, Thread, equivalent


def _write(tmp_path: Path, data: bytes, name: str = "p.folded") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _stacks(p) -> dict[tuple, float]:
    """Return {(thread index, tuple of frame names)...: value} summed."""
    out: dict[tuple, float] = {}
    for s, t, v in zip(p.sample_stack.tolist(), p.sample_thread.tolist(), p.values[:, 0]):
        key = (t, tuple(p.frames[f].name for f in p.stack_frames(s)))
        out[key] = out.get(key, 0.0) + float(v)
    return out


def _roundtrip(tmp_path: Path, p, name: str = "rt"):
    buf = io.BytesIO()
    folded.dump(p, buf)
    path = _write(tmp_path, buf.getvalue(), name)  # no extension: detection by content
    q, fmt = load_with_format(path)
    assert fmt == "folded"
    return q, buf.getvalue()


def test_basic_counts_and_aggregation(tmp_path):
    p = folded.load(_write(tmp_path, b"main;a 1\nmain;b 2\nmain;a 4\nmain 0.5\n"))
    assert _stacks(p) == {(0, ("main", "a")): 5.0, (0, ("main", "b")): 2.0, (0, ("main",)): 0.5}
    assert p.n_samples == 3  # identical lines are summed, first appearance order
    assert [f.name for f in p.frames] == ["main", "a", "b"]
    assert p.sample_types == (SampleType("samples", "count"),)


def test_count_is_after_last_whitespace(tmp_path):
    p = folded.load(_write(tmp_path, b"main;foo 12;bar 3 4\nx;y\t7\n"))
    assert _stacks(p) == {(0, ("main", "foo 12", "bar 3")): 4.0, (0, ("x", "y")): 7.0}


def test_invalid_counts_are_skipped_with_warning(tmp_path):
    body = "\n".join(["ok 1", "a 1.5", "b 1e3", "c nan", "d inf", "e -3", "f 0x10", "g 1_000",
                      "h １２", "i १२", "j 0", "k 1.", "no count", ""]) + "\n"
    p = folded.load(_write(tmp_path, body.encode()))
    assert _stacks(p) == {(0, ("ok",)): 1.0, (0, ("a",)): 1.5, (0, ("j",)): 0.0}
    (w,) = p.meta["warnings"]
    assert "skipped 10 line(s)" in w and "line 3, 4, 5, 6, 7" in w


def test_f01_missing_counts(tmp_path):
    p = folded.load(_write(tmp_path, b"main;a 1\nmain;b\n\nmain;c x\n  \nmain;d 2\n"))
    assert p.totals().tolist() == [3.0] and p.n_samples == 2
    assert "skipped 2 line(s)" in p.meta["warnings"][0]


def test_huge_counts(tmp_path):
    p = folded.load(_write(tmp_path, b"n;a 18446744073709551617\n"))
    assert p.values[0, 0] == float(2**64 + 1)
    for bad in (b"n;a 1\nn;b 1" + b"0" * 400 + b"\n", b"n;a 1\nn;c " + b"9" * 5000 + b"\n",
                b"n;a 1\nn;d " + b"9" * 400 + b".5\n"):
        with pytest.raises(FormatError, match=r"line 2: folded: count"):
            folded.load(_write(tmp_path, bad))


def test_empty_frames_kept(tmp_path):
    p = folded.load(_write(tmp_path, b"main;;b 1\n;a 1\na; 1\n; 1\n"))
    assert _stacks(p) == {(0, ("main", "", "b")): 1.0, (0, ("", "a")): 1.0,
                          (0, ("a", "")): 1.0, (0, ("", "")): 1.0}


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_line_endings(tmp_path, eol):
    p = folded.load(_write(tmp_path, eol.join([b"main;a 1", b"main;b 2", b"main;c 3"]) + eol))
    assert _stacks(p) == {(0, ("main", "a")): 1, (0, ("main", "b")): 2, (0, ("main", "c")): 3}
    assert not any("\r" in f.name for f in p.frames)


def test_crlf_split_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(folded, "CHUNK", 7)
    data = b"main;a 1\r\nmain;bb 2\r\nmain;c 3\rmain;d 4"
    p = folded.load(_write(tmp_path, data))
    assert _stacks(p) == {(0, ("main", "a")): 1, (0, ("main", "bb")): 2, (0, ("main", "c")): 3,
                          (0, ("main", "d")): 4}


class _ShortReads(io.RawIOBase):
    """A stream whose reads stop short of what was asked now and then (a pipe, a socket)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.pos, self.sizes = data, 0, sizes

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), len(self.data) - self.pos, self.sizes[self.pos % len(self.sizes)])
        b[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n

    def read(self, size: int = -1) -> bytes:
        b = bytearray(len(self.data) if size < 0 else size)
        return bytes(b[:self.readinto(b)])


@pytest.mark.parametrize("reuse", [True, False])
def test_text_blocks_short_and_full_reads(reuse):
    """Blocks carry the whole text whatever the reads return (the reused buffer only after a
    full chunk; a short read then more data, or a BOM alone in the first chunk, lose nothing)."""
    from flamekit.formats._io import text_blocks
    body = b"".join(b"main;f%d 1\r\n" % i for i in range(300))
    for data in (body, b"\xef\xbb\xbf" + body):
        for sizes in ([7], [3, 7, 2, 7], [1000], [3, 1000]):
            want = body.replace(b"\r\n", b"\n")
            got = b"".join(bytes(b) for b in text_blocks(_ShortReads(data, sizes), 7, reuse=reuse))
            assert got == want, (sizes, data[:3])
    assert b"".join(text_blocks(io.BytesIO(b"\xef\xbb\xbfa 1\n"), 3, reuse=reuse)) == b"a 1\n"


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be", "utf-8-sig"])
def test_bom_encodings(tmp_path, enc):
    text = "\ufeffmain;café 1\r\nmain;b 2\r\n" if enc != "utf-8-sig" else "main;café 1\nmain;b 2\n"
    p, fmt = load_with_format(_write(tmp_path, text.encode(enc), "noext"))
    assert fmt == "folded"
    assert _stacks(p) == {(0, ("main", "café")): 1, (0, ("main", "b")): 2}


def test_invalid_utf8_becomes_replacement(tmp_path):
    p = folded.load(_write(tmp_path, b"main;caf\xe9;\xff\xfe\xed\xa0\x80x;ok 5\nmain;ok 2\n"))
    assert p.totals().tolist() == [7.0]
    assert "caf\ufffd" in [f.name for f in p.frames]


def test_gzip(tmp_path):
    p, fmt = load_with_format(_write(tmp_path, gzip.compress(b"a;b 3\n"), "x.gz"))
    assert fmt == "folded" and _stacks(p) == {(0, ("a", "b")): 3}


def test_frames_split_and_kinds(tmp_path):
    data = ("<module> (app.py:64);main (app.py:50);PyObject_Call (libpython3.11.so.1.0);"
            "foo(int) (lib.c:3);std::function<void (int)>::operator()(int);"
            "do_sys_open_[k];Interpreter_[j];inl_[i];wake_[w];get (C:\\x\\y.py:12) 1\n")
    p = folded.load(_write(tmp_path, data.encode()))
    assert list(p.frames) == [
        Frame("<module>", "app.py", 64, "", "python"), Frame("main", "app.py", 50, "", "python"),
        Frame("PyObject_Call", "libpython3.11.so.1.0", 0, "", "native"),
        Frame("foo(int)", "lib.c", 3, "", "native"),
        Frame("std::function<void (int)>::operator()(int)", "", 0, "", "unknown"),
        Frame("do_sys_open", "", 0, "", "kernel"), Frame("Interpreter", "", 0, "", "jit"),
        Frame("inl", "", 0, "", "inlined"), Frame("wake_[w]", "", 0, "", "unknown"),
        Frame("get", "C:\\x\\y.py", 12, "", "python"),
    ]


def test_pyspy_threads_and_processes(tmp_path):
    data = (b'process 7:"python a.py";thread (0x7F01);main (a.py:1) 2\n'
            b'process 7:"python a.py";thread (0x7F01): MainThread;main (a.py:1) 3\n'
            b'process 7:"python a.py";thread (12): Worker;work (a.py:9) 4\n'
            b'process 7:"python a.py";thread (12): Worker 1\n'
            b'plain;stack 5\n')
    p = folded.load(_write(tmp_path, data))
    assert p.threads == (Thread(0x7F01, "MainThread", 7), Thread(12, "Worker", 7), Thread(0, "", None))
    assert p.meta["processes"] == {"7": "python a.py"}
    assert _stacks(p) == {(0, ("main",)): 5, (1, ("work",)): 4, (1, ("thread (12): Worker",)): 1,
                          (2, ("plain", "stack")): 5}
    q, _ = _roundtrip(tmp_path, p)
    assert q == p


def test_markers_after_plain_lines_and_not_at_root(tmp_path):
    p = folded.load(_write(tmp_path, b"a;b 1\nthread (5);a 2\nx;thread (5);process 3:\"c\" 1\n"))
    assert p.threads == (Thread(0, ""), Thread(5, ""))
    assert _stacks(p) == {(0, ("a", "b")): 1, (1, ("a",)): 2,
                          (0, ("x", "thread (5)", 'process 3:"c"')): 1}
    q, _ = _roundtrip(tmp_path, p)
    assert q == p


def test_sniff():
    assert folded.sniff(b"main;a 1\nmain;b 2\n")
    assert folded.sniff(b"# comment\n// other\na;b;c 1\ninvalid line\n")
    assert not folded.sniff(b"")
    assert not folded.sniff(b"this\nis an unknown\nformat\n")
    assert not folded.sniff(b'{"a": 1}')
    assert not folded.sniff(b'[{"ph": "B", "ts": 1}]')
    assert folded.sniff(b"<module> (a.py:1);f (a.py:2) 3\n")
    assert folded.sniff(b"[unknown];main_[k] 3\n")
    assert not folded.sniff(b"\x00\x01\x02 1\n")
    assert not folded.sniff(b"# callgrind format\nevents: Instructions\nfl=a.c\nfn=main\n16 20\n")
    perf = (b"java 12345 [000] 123.456789: 1 cycles: \n"
            b"\t  7f00 main (/usr/bin/app)\n\t  7f01 start (/usr/bin/app)\n\n")
    assert not folded.sniff(perf)
    assert not folded.sniff(b"--- heapz 1 ---\n0 0 @ 0\n")
    long_line = b"root;" + b"A&<>\"'" * 20000  # one frame longer than the sniffed head
    assert folded.sniff(long_line[:65536])


def test_dump_counts_and_rejects_negative():
    b = ProfileBuilder([SampleType("cpu", "samples"), SampleType("wall", "seconds")])
    s = b.stack([b.frame("main"), b.frame("a")])
    b.add(s, [3.0, 0.00001])
    b.add(b.stack([b.frame("main")]), [2.0**60, 2.5])
    p = b.build()
    buf = io.BytesIO()
    folded.dump(p, buf)
    assert buf.getvalue() == b"main;a 3\nmain 1152921504606846976\n"
    buf = io.BytesIO()
    folded.dump(p, buf, sample_type="wall")
    # recorded time in fractional seconds is written in whole microseconds (integer grammar)
    assert buf.getvalue() == b"main;a 10\nmain 2500000\n"
    b2 = ProfileBuilder([SampleType("samples", "count")])
    b2.add(b2.stack([b2.frame("main")]), 2.5)
    buf = io.BytesIO()
    folded.dump(b2.build(), buf)
    assert buf.getvalue() == b"main 2.5\n"  # decimal counts of unit-less data stay as they are
    b.add(s, [-1.0, 1.0])
    with pytest.raises(FlamekitError, match="negative"):
        folded.dump(b.build(), io.BytesIO())


def test_dump_escapes_grammar_breakers(tmp_path):
    b = ProfileBuilder([SampleType("samples", "count")])
    names = ["semi;colon", "new\nline", "cr\rx", "back\\x3bslash", "f (a.py:3)", "x_[k]",
             "thread (5)", 'process 3:"x"', "thread (5): T", "", "trailing ", "(paren) (x)"]
    frames = [b.frame(n) for n in names]
    frames += [b.frame("k", kind="kernel"), b.frame("fn", "we(ird):1.py", 7, "", "python"),
               b.frame("g", "a:12", 0), b.frame("h", "", 5)]
    for i in range(len(frames)):
        b.add(b.stack(frames[: i + 1]), float(i + 1))
    p = b.build()
    q, raw = _roundtrip(tmp_path, p)
    assert raw.count(b"\n") == len(frames)
    assert [f.name for f in q.frames] == [f.name for f in p.frames]
    assert equivalent(p, q)
    assert b"semi\\x3bcolon" in raw and b"new\\x0aline" in raw


_name = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.lists(st.tuples(_name, st.sampled_from(["", "a.py", "x (y).c", "C:\\t"]),
                                             st.integers(0, 99),
                                             st.sampled_from(["unknown", "kernel", "jit", "inlined"])),
                                   min_size=1, max_size=5),
                          st.integers(0, 10**6)), min_size=1, max_size=6))
def test_roundtrip_property(tmp_path, stacks):
    b = ProfileBuilder([SampleType("samples", "count")])
    for frames, count in stacks:
        b.add(b.stack([b.frame(n, f, ln if f else 0, "", k) for n, f, ln, k in frames]), float(count))
    p = b.build()
    buf = io.BytesIO()
    folded.dump(p, buf)
    path = tmp_path / "prop.folded"
    path.write_bytes(buf.getvalue())
    q = folded.load(path)
    # kinds python/native are inferred from the file on import; compare names/files/lines
    strip = lambda prof: sorted((t, tuple((prof.frames[f].name, prof.frames[f].file, prof.frames[f].line,
                                            prof.frames[f].kind if prof.frames[f].kind in ("kernel", "jit", "inlined") else "")
                                           for f in prof.stack_frames(s)), float(v))
                                for s, t, v in zip(prof.sample_stack.tolist(), prof.sample_thread.tolist(),
                                                   prof.values[:, 0]))
    assert _agg(strip(q)) == _agg(strip(p))
    # and a second round trip is exact
    buf2 = io.BytesIO()
    folded.dump(q, buf2)
    path.write_bytes(buf2.getvalue())
    assert folded.load(path) == q


def _agg(rows):
    out: dict = {}
    for t, s, v in rows:
        out[(t, s)] = out.get((t, s), 0.0) + v
    return out


def test_deep_stack(tmp_path):
    p = folded.load(_write(tmp_path, (";".join(["a"] * 100000) + " 1\n").encode()))
    assert p.n_stacks == 100000 and len(p.frames) == 1
    q, _ = _roundtrip(tmp_path, p)
    assert q == p


def test_empty_file_loads_empty(tmp_path):
    p = folded.load(_write(tmp_path, b"\n\n"))
    assert p.n_samples == 0
    with pytest.raises(FormatError, match="empty"):
        detect(_write(tmp_path, b"", "e"))


def test_many_stacks_vectorized(tmp_path):
    rng = np.random.default_rng(1)
    lines, truth = [], {}
    for i in range(3000):
        depth = int(rng.integers(1, 30))
        st_ = tuple(f"f{int(x)} (m{int(x) % 7}.py:{int(x) + 1})" for x in rng.integers(0, 200, depth))
        c = int(rng.integers(1, 50))
        lines.append(";".join(st_) + f" {c}")
        truth[st_] = truth.get(st_, 0) + c
    p = folded.load(_write(tmp_path, ("\n".join(lines) + "\n").encode()))
    got = {}
    for s, v in zip(p.sample_stack.tolist(), p.values[:, 0]):
        got[tuple(p.frames[f].label() for f in p.stack_frames(s))] = float(v)
    assert got == {k: float(v) for k, v in truth.items()}
    q, _ = _roundtrip(tmp_path, p)
    assert q == p


def test_pyspy_fixture_roundtrip(tmp_path):
    src = Path(__file__).parent / "data" / "py-spy" / "0.4.3" / "cpu_split.raw.txt"
    p = folded.load(src)
    assert all(f.kind == "python" for f in p.frames if f.file.endswith(".py"))
    q, _ = _roundtrip(tmp_path, p)
    assert q == p


def test_pyspy_fixture_ground_truth():
    """cpu_split.py spends 70% of its CPU in price_options and 30% in update_risk."""
    from flamekit.model import functions

    src = Path(__file__).parent / "data" / "py-spy" / "0.4.3" / "cpu_split.raw.txt"
    df = functions(folded.load(src))
    tot = {n: float(df.loc[df["name"] == n, "total"].sum()) for n in ("price_options", "update_risk")}
    share = tot["price_options"] / (tot["price_options"] + tot["update_risk"])
    assert 0.6 < share < 0.8, tot
    assert tot["price_options"] + tot["update_risk"] > 250  # ~1.5 s at 200 Hz
