"""Austin text importer: real austin-python test data, full metrics, malformed lines."""
from __future__ import annotations

from collections import Counter

import pytest

from conftest import CORPUS, realworld_names
from flamekit.errors import FormatError
from flamekit.formats import austin, load_with_format
from flamekit.model import SampleType

AUSTIN = CORPUS / "realworld" / "austin"


def _ground_truth(path):
    """Per (pid, thread token): sample-line count and metric sum, parsed naively."""
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("P")]
    per = Counter()
    total = 0
    for ln in lines:
        head, _, metric = ln.rpartition(" ")
        pid, tid = head.split(";")[:2]
        per[(int(pid[1:]), tid[1:])] += 1
        total += int(metric.split(",")[0])
    return len(lines), total, per


@pytest.mark.parametrize("name", realworld_names("austin"))
def test_realworld_austin(name):
    path = AUSTIN / name
    p, fmt = load_with_format(path)
    assert fmt == "austin"
    n, total, per = _ground_truth(path)
    assert p.n_samples == n
    assert p.totals()[0] == total
    assert len(p.threads) == len(per)
    assert {t.pid for t in p.threads} == {pid for pid, _ in per}


def test_header_meta_and_threads():
    p = austin.load(AUSTIN / "austin-python__repeat.austin")
    assert p.meta["austin"]["austin"] == "4.0.0" and p.meta["austin"]["python"] == "3.13.1"
    assert p.meta["duration"] == pytest.approx(0.891235)
    assert {t.id for t in p.threads} == {6148403200, 8306874560}
    assert any("." in f.name for f in p.frames)  # qualified names kept (Thread.run)
    assert p.sample_types == (SampleType("wall", "microseconds"),)


def test_hex_thread_ids_and_idle_samples():
    p = austin.load(AUSTIN / "austin-python__austin3.out")
    assert {(t.id, t.pid) for t in p.threads} == {(82848, 82848), (82858, 82848)}
    assert austin.NO_FRAMES in {f.name for f in p.frames}  # "P82848;T82848 21"
    main = [f for f in p.frames if f.name == "keep_cpu_busy"]
    assert main and main[0].file.endswith("target34.py") and main[0].kind == "python"


def test_stray_paren_in_line_number_is_counted():
    p = austin.load(AUSTIN / "austin-python__diff_a.austin")
    w = [f for f in p.frames if f.name == "wrapper"]
    assert w[0].line == 4 and w[0].file == "decorators.py"
    assert any("not an integer" in x for x in p.meta["warnings"])


def test_full_metrics_variant(tmp_path):
    f = tmp_path / "full.austin"
    f.write_text("# austin: 3.4.1\n# mode: full\n"
                 "P1;T7ffb7f8e4740;app.py:main:3;app.py:work:9 1000,0,-2048\n"
                 "P1;T7ffb7f8e4740;app.py:main:3;app.py:wait:12 500,1,16\n"
                 "P1;T7ffb7f8e4741;C:\\src\\app.py:main:3 250,0,0\n"
                 "garbage line\n")
    p, fmt = load_with_format(f)
    assert fmt == "austin"
    assert [str(s) for s in p.sample_types] == ["wall/microseconds", "cpu/microseconds",
                                                "memory/kilobytes"]
    assert p.totals().tolist() == [1750, 1250, -2032]  # idle time is not cpu time
    assert p.meta["has_negative_values"] is True
    assert {t.id for t in p.threads} == {0x7ffb7f8e4740, 0x7ffb7f8e4741}
    assert any(fr.file == "C:\\src\\app.py" for fr in p.frames)
    assert any("skipped 1 line" in w for w in p.meta["warnings"])


def test_memory_mode(tmp_path):
    f = tmp_path / "m.austin"
    f.write_text("# mode: memory\nP1;T1;a.py:f:1 -64\nP1;T1;a.py:g:2 128\n")
    p = austin.load(f)
    assert p.sample_types == (SampleType("memory", "kilobytes"),)
    assert p.totals().tolist() == [64]


def test_no_samples_is_an_error(tmp_path):
    f = tmp_path / "x.austin"
    f.write_text("P1;T1 not-a-number\n")
    with pytest.raises(FormatError, match="no austin samples"):
        austin.load(f)


@pytest.mark.parametrize("head, want", [
    (b"# austin: 3.0.0\n", True),
    (b"P403;Tx87;__main__.py:base:2 12\n", True),
    (b"main;foo;bar 12\n", False),
    (b"tid:1;a.py:f:1 3\n", False),
    (b"Pfoo;bar 1\n", False),
])
def test_sniff(head, want):
    assert bool(austin.sniff(head)) is want
