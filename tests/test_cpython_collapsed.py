"""CPython 3.15 profiling.sampling collapsed output: threads kept, not mistaken for folded."""
from __future__ import annotations

import pytest

from conftest import DATA
from flamekit.errors import FormatError
from flamekit.formats import cpython_collapsed, detect, load_with_format
from flamekit.model import Frame

SAMPLE = DATA / "cpython-collapsed" / "3.15" / "sample.collapsed"


def test_sample_file_ground_truth():
    p, fmt = load_with_format(SAMPLE)
    assert fmt == "cpython-collapsed"
    lines = SAMPLE.read_text().splitlines()
    want: dict[int, float] = {}
    for ln in lines:
        tid = int(ln.split(";")[0][4:])
        want[tid] = want.get(tid, 0) + int(ln.rsplit(" ", 1)[1])
    got = {p.threads[t].id: float(p.values[p.sample_thread == t, 0].sum())
           for t in range(len(p.threads))}
    assert got == want
    assert p.totals()[0] == sum(want.values()) == 674
    leafs = [p.frames[p.stack_frames(s)[-1]] for s in p.sample_stack]
    assert leafs[0] == Frame("price", "pricing.py", 17, "", "python")
    assert "tid:140234" not in {f.name for f in p.frames}


def test_detected_by_content_not_as_folded(tmp_path):
    f = tmp_path / "unknown"
    f.write_bytes(SAMPLE.read_bytes())
    assert detect(f).name == "cpython-collapsed"
    g = tmp_path / "plain.folded"
    g.write_text("main;tid:1 3\n")
    assert not cpython_collapsed.sniff(g.read_bytes())


def test_odd_frames_and_bad_lines(tmp_path):
    f = tmp_path / "x.collapsed"
    f.write_text("tid:1;a.py:f:x;b.py:g:h:3;bare 2\nnonsense\ntid:2;a.py:f:1 1\n")
    p = cpython_collapsed.load(f)
    assert p.totals()[0] == 3
    names = {(fr.file, fr.name, fr.line) for fr in p.frames}
    assert ("a.py", "f", 0) in names and ("b.py", "g:h", 3) in names and ("", "bare", 0) in names
    assert any("skipped 1 line" in w for w in p.meta["warnings"])
    assert any("not an integer" in w for w in p.meta["warnings"])


def test_only_garbage_is_an_error(tmp_path):
    f = tmp_path / "g.collapsed"
    f.write_text("tid:x;foo 1\n")
    with pytest.raises(FormatError, match="g.collapsed:line 1"):
        cpython_collapsed.load(f)
