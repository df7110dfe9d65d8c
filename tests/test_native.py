"""flamekit native JSON: exact round trips, detection, and validation errors."""
from __future__ import annotations

import copy
import gzip
import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flamekit.errors import FormatError
from flamekit.formats import dump as registry_dump
from flamekit.formats import load_with_format, native
from flamekit.model import Frame, Profile, ProfileBuilder, SampleType, Thread, empty_profile


def rich_profile() -> Profile:
    """A profile using every field: 2 types, times, threads with pids, meta, tables, kinds."""
    b = ProfileBuilder([SampleType("cpu", "nanoseconds"), SampleType("alloc_space", "bytes")])
    t0 = b.thread(11, "MainThread", 7)
    t1 = b.thread(12, "wörker <b>", None)
    m = b.frame("main", "app.py", 3, "app", "python")
    k = b.frame("do_sys_open", "", 0, "[kernel.kallsyms]", "kernel")
    j = b.frame("Interp;reter", "", 0, "", "jit")
    i = b.frame("", "x.c", 9, "libx.so", "inlined")
    n = b.frame("memcpy", "", 0, "libc.so.6", "native")
    # (a lone surrogate is not text: the registry writes and reads it as U+FFFD, see
    # test_hostile_text.py; 1e38 is near the bound on a type's total, model.MAX_TOTAL)
    u = b.frame("\u2028?\ufffd\U0010ffff", "", 0, "", "unknown")
    b.add(b.stack([m, k]), [0.1 + 0.2, 1e38], t0, 1.5)
    b.add(b.stack([m, j, i]), [3.0, -0.0], t1, 1e-9)
    b.add(b.stack([m, n, u]), [5e-324, 2.0**60 + 1], t0, 1700000000.123456789)
    b.add(b.stack([m, k]), [1.0, 7.0], t1, -3.25)
    b.tables = {"lines": {"file": ["app.py"], "line": [3], "cpu": [0.5]}}
    return b.build(meta={"tool": "py-spy", "tool_version": "0.4.3", "rate": 100.5,
                         "nested": {"a": [1, 2.5, None, "x"]}, "warnings": ["w1"]})


def _rt(tmp_path: Path, p: Profile, name: str = "p.json") -> Profile:
    path = tmp_path / name
    registry_dump(p, path, "native")
    q, fmt = load_with_format(path)
    assert fmt == "native"
    return q


def test_exact_roundtrip_rich(tmp_path):
    p = rich_profile()
    q = _rt(tmp_path, p)
    assert q == p
    assert q.values.tobytes() == p.values.tobytes()  # bit-exact, incl. -0.0 and denormals
    assert q.sample_time.tobytes() == p.sample_time.tobytes()
    assert q.frames == p.frames and q.threads == p.threads


def test_roundtrip_gzip_and_no_extension(tmp_path):
    p = rich_profile()
    path = tmp_path / "p.flamekit.json.gz"
    registry_dump(p, path)  # picked by extension
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    q, fmt = load_with_format(path)
    assert fmt == "native" and q == p
    raw = tmp_path / "noext"
    raw.write_bytes(gzip.decompress(path.read_bytes()))
    assert load_with_format(raw) == (p, "native") or load_with_format(raw)[0] == p


def test_roundtrip_empty(tmp_path):
    p = empty_profile()
    assert _rt(tmp_path, p) == p


def test_marker_first_and_version():
    buf = io.BytesIO()
    native.dump(rich_profile(), buf)
    assert buf.getvalue().startswith(b'{"flamekit_profile":1,')
    assert native.sniff(buf.getvalue()[:100])
    assert not native.sniff(b'{"shared": {"frames": []}}')


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.lists(st.integers(0, 5), min_size=1, max_size=6),
                          st.floats(-2.0**120, 2.0**120),  # totals stay below model.MAX_TOTAL
                          st.integers(0, 2),
                          st.floats(allow_nan=False, allow_infinity=False)), max_size=8),
       st.text(max_size=5))
def test_roundtrip_property(tmp_path, rows, label):
    b = ProfileBuilder([SampleType("v", "u")])
    fr = [b.frame(f"f{i}{label}", f"m{i}.py", i, label, "python") for i in range(6)]
    for frames, v, t, tm in rows:
        b.add(b.stack([fr[x] for x in frames]), v, b.thread(t, label), tm)
    p = b.build(meta={"label": label})
    buf = io.BytesIO()
    native.dump(p, buf)
    path = tmp_path / "prop.json"
    path.write_bytes(buf.getvalue())
    assert native.load(path) == p


def _doc() -> dict:
    return native.to_json_obj(rich_profile())


def _bad(tmp_path: Path, doc, match: str, raw: bytes | None = None):
    path = tmp_path / "bad.json"
    path.write_bytes(raw if raw is not None else json.dumps(doc).encode())
    with pytest.raises(FormatError) as ei:
        load_with_format(path, "native")
    msg = str(ei.value)
    assert str(path) in msg and "native" in msg
    assert match in msg, msg
    assert not getattr(ei.value, "unexpected", False)


def _mut(f):
    d = _doc()
    f(d)
    return d


@pytest.mark.parametrize("mutate,match", [
    (lambda d: d.__setitem__("flamekit_profile", 2), "newer than this flamekit"),
    (lambda d: d.__setitem__("flamekit_profile", "1"), "positive integer"),
    (lambda d: d.pop("frames"), "field frames: native: missing"),
    (lambda d: d["frames"]["name"].append(10**6), "frames.name"),
    (lambda d: d["frames"].__setitem__("line", d["frames"]["line"][:-1]), "frames.line: native: has"),
    (lambda d: d["frames"]["kind"].__setitem__(0, 1), "unknown frame kind"),
    (lambda d: d["stacks"]["prefix"].__setitem__(0, 5), "stacks.prefix[0]"),
    (lambda d: d["stacks"]["frame"].__setitem__(1, -1), "stacks.frame[1]: native: value -1 out of range"),
    (lambda d: d["samples"]["stack"].__setitem__(0, 99999), "samples.stack[0]"),
    (lambda d: d["samples"]["stack"].__setitem__(0, -1), "samples.stack[0]"),
    (lambda d: d["samples"]["stack"].__setitem__(0, 1.0), "expected an integer"),
    (lambda d: d["samples"]["stack"].__setitem__(0, True), "expected an integer"),
    (lambda d: d["samples"]["stack"].__setitem__(0, 2**70), "samples.stack[0]"),
    (lambda d: d["samples"]["thread"].pop(), "samples.thread: native: has 3 entries, expected 4"),
    (lambda d: d["samples"]["values"][0].__setitem__(1, "3"), "samples.values[0][1]"),
    (lambda d: d["samples"]["values"].pop(), "value columns"),
    (lambda d: d["samples"]["time"].__setitem__(0, None), "samples.time[0]"),
    (lambda d: d["threads"]["pid"].__setitem__(0, "7"), "threads.pid[0]"),
    (lambda d: d.__setitem__("strings", [1, 2]), "list of strings"),
    (lambda d: d.__setitem__("sample_types", [{"name": "a", "unit": "b"}] * 2), "duplicate"),
    (lambda d: d.__setitem__("meta", [1]), "field meta"),
    (lambda d: d.__setitem__("threads", {"id": [], "name": [], "pid": []}), "at least one thread"),
    (lambda d: d["stacks"].__setitem__("frame", [0, 0, 0, 0, 0, 0, 0][:len(d["stacks"]["frame"])])
     or d["stacks"].__setitem__("prefix", [-1] * len(d["stacks"]["frame"])), "duplicate"),
])
def test_validation_errors(tmp_path, mutate, match):
    _bad(tmp_path, _mut(mutate), match)


def test_nonfinite_and_broken_json(tmp_path):
    d = _doc()
    d["samples"]["values"][0][0] = 123456.5
    text = json.dumps(d).replace("123456.5", "NaN", 1)
    _bad(tmp_path, None, "non-finite", text.encode())
    text = json.dumps(d).replace("123456.5", "1e999", 1)
    _bad(tmp_path, None, "overflows a 64-bit float", text.encode())  # the strict JSON reader
    _bad(tmp_path, None, "line 1: native: invalid JSON", b'{"flamekit_profile": 1, ')
    _bad(tmp_path, None, "nested too deeply",
         b'{"flamekit_profile": 1, "meta": ' + b"[" * 100000 + b"]" * 100000 + b"}")
    _bad(tmp_path, None, "not a flamekit profile", b"[1, 2]")


def test_copy_does_not_alias():
    d = _doc()
    d2 = copy.deepcopy(d)
    assert native.from_json_obj(d) == native.from_json_obj(d2)
    np.testing.assert_array_equal(native.from_json_obj(d).values, rich_profile().values)
    assert native.from_json_obj(d).frames[0] == Frame("main", "app.py", 3, "app", "python")
    assert native.from_json_obj(d).threads[0] == Thread(11, "MainThread", 7)
