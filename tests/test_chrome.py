"""Chrome .cpuprofile and Trace Event importer: real files, hostile files, semantics."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import CORPUS, HOSTILE as HOSTILE_ROOT, realworld_names
from flamekit.errors import FormatError
from flamekit.formats import chrome, load_with_format

CPU = CORPUS / "realworld" / "chrome-cpuprofile"
TRACE = CORPUS / "realworld" / "chrome-trace"
HOSTILE = HOSTILE_ROOT / "chrome"


def _names(p):
    return [[p.frames[f].name for f in p.stack_frames(s)] for s in p.sample_stack]


@pytest.mark.parametrize("name", realworld_names("chrome-cpuprofile"))
def test_cpuprofile_sample_counts_match_file(name):
    path = CPU / name
    p, fmt = load_with_format(path)
    assert fmt == "chrome"
    doc = json.loads(path.read_text())
    assert p.n_samples == len(doc["samples"])
    assert p.totals()[0] == len(doc["samples"])
    # times are sorted, and wall time covers first sample .. end
    assert p.sample_time is not None and (np.diff(p.sample_time) >= 0).all()
    assert p.totals()[1] > 0


def test_cpuprofile_simple_ground_truth():
    p = chrome.load(CPU / "speedscope__chrome65-simple.cpuprofile")
    doc = json.loads((CPU / "speedscope__chrome65-simple.cpuprofile").read_text())
    t = doc["startTime"] + np.cumsum(doc["timeDeltas"])
    np.testing.assert_allclose(p.sample_time, t / 1e6)
    # weight of each sample = interval to the next one; the last runs to endTime
    assert p.totals()[1] == doc["endTime"] - t[0]
    assert "(root)" not in {f.name for f in p.frames}
    nodes = {n["id"]: n for n in doc["nodes"]}
    leaf_names = [nodes[s]["callFrame"]["functionName"] or "(anonymous)" for s in doc["samples"]]
    assert [n[-1] for n in _names(p)] == leaf_names


def test_old_head_form_matches_new_form():
    old = chrome.load(CPU / "speedscope__node10-example.cpuprofile")
    new = chrome.load(CPU / "speedscope__chrome65-simple.cpuprofile")
    assert old.n_samples == new.n_samples == 29
    assert _names(old) == _names(new)


@pytest.mark.parametrize("name", realworld_names("chrome-trace"))
def test_every_trace_imports(name):
    p, fmt = load_with_format(TRACE / name)
    assert fmt == "chrome"
    assert p.n_samples > 0
    assert (p.values >= 0).all(), "never a negative width"


def test_trace_simple_self_times():
    # simple.json: alpha [0,14) contains beta [1,10)... computed by hand from the file
    p = chrome.load(TRACE / "speedscope-te__simple.json")
    ev = json.loads((TRACE / "speedscope-te__simple.json").read_text())
    total_span = max(e["ts"] + e.get("dur", 0) for e in ev) - min(e["ts"] for e in ev)
    assert p.totals()[1] == total_span  # self times of nested calls add up to the root span
    roots = {n[0] for n in _names(p)}
    assert len(roots) == 1


def test_truncated_trace_arrays_equal_complete_one():
    full = chrome.load(TRACE / "speedscope-te__simple.json")
    for name in ("simple-partial", "simple-partial-trailing-comma", "simple-partial-whitespace"):
        part = chrome.load(TRACE / f"speedscope-te__{name}.json")
        assert _names(part) == _names(full) and (part.values == full.values).all()


def test_sampled_trace_uses_profile_chunks():
    p = chrome.load(TRACE / "speedscope__chrome69-simple.json")
    assert p.meta["chrome"]["kind"] == "trace (sampled)"
    doc = json.loads((TRACE / "speedscope__chrome69-simple.json").read_text())
    n = sum(len(e["args"]["data"]["cpuProfile"].get("samples", []))
            for e in doc if e.get("name") == "ProfileChunk"
            and "cpuProfile" in e.get("args", {}).get("data", {}))
    assert p.n_samples == n


def test_multiprocess_threads_and_names():
    p = chrome.load(TRACE / "speedscope-te__multiprocess.json")
    doc = json.loads((TRACE / "speedscope-te__multiprocess.json").read_text())
    want = {(e["pid"], e["tid"]) for e in doc if e["ph"] == "X"}
    assert {(t.pid, t.id) for t in p.threads} == want
    named = {e["args"]["name"] for e in doc if e.get("name") == "thread_name"}
    assert named & {t.name for t in p.threads}


def test_unbalanced_events_warn():
    p = chrome.load(TRACE / "speedscope-te__too-many-end-events.json")
    assert any("E event" in w for w in p.meta["warnings"])
    p = chrome.load(TRACE / "speedscope-te__not-enough-end-events.json")
    assert any("never closed" in w for w in p.meta["warnings"])


# -- hostile -----------------------------------------------------------------
@pytest.mark.parametrize("name, needle", [
    ("C01-cycle.cpuprofile", "two parents"),
    ("C03-length-mismatch.cpuprofile", "3 samples but 1 timeDeltas"),
])
def test_hostile_cpuprofile_errors(name, needle):
    with pytest.raises(FormatError) as ei:
        load_with_format(HOSTILE / name)
    assert needle in str(ei.value) and name in str(ei.value)
    assert not getattr(ei.value, "unexpected", False)


def test_c04_markup_kept_verbatim():
    p = chrome.load(HOSTILE / "C04-markup.cpuprofile")
    assert any(f.name.startswith("</script>") for f in p.frames)
    assert any(f.file.startswith("javascript:") for f in p.frames)  # text; renderer's job


def test_c06_bad_events_skipped_and_counted():
    p = chrome.load(HOSTILE / "C06-bad-events.json")
    w = " | ".join(p.meta["warnings"])
    assert "negative or bad dur: 1" in w
    assert "non-numeric or out-of-range ts: 2" in w  # ts "12" and ts 1e300
    assert "E event without a matching B: 1" in w
    assert "without a name: 1" in w
    assert (p.values >= 0).all()


def _write(tmp_path, name, obj):
    f = tmp_path / name
    f.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return f


def _cpu(nodes, samples, deltas):
    return {"nodes": nodes, "startTime": 0, "endTime": 100, "samples": samples,
            "timeDeltas": deltas}


def _node(i, name, children=()):
    return {"id": i, "callFrame": {"functionName": name, "url": "app.js", "lineNumber": i,
                                   "columnNumber": 0}, "children": list(children)}


def test_c02_unknown_node(tmp_path):
    f = _write(tmp_path, "C02.cpuprofile", _cpu([_node(1, "(root)", [2]), _node(2, "a")],
                                                 [2, 99], [1, 1]))
    with pytest.raises(FormatError, match="unknown node 99"):
        chrome.load(f)
    # a dangling child id is dropped with a warning, as Chrome DevTools does
    # (tests/test_chrome_dangling.py runs a generated family of these)
    f = _write(tmp_path, "C02b.cpuprofile", _cpu([_node(1, "(root)", [2, 7]), _node(2, "a")],
                                                  [2], [1]))
    p = chrome.load(f)
    assert _names(p) == [["a"]]
    assert any("child id with no node" in w and w.endswith(": 1") for w in p.meta["warnings"])


def test_c01_parent_cycle_without_root(tmp_path):
    nodes = [dict(_node(1, "a"), parent=2), dict(_node(2, "b"), parent=1)]
    f = _write(tmp_path, "cyc.cpuprofile", _cpu(nodes, [1], [1]))
    with pytest.raises(FormatError, match="cycle"):
        chrome.load(f)


def test_c03_negative_deltas_sorted(tmp_path):
    nodes = [_node(1, "(root)", [2, 3]), _node(2, "a"), _node(3, "b")]
    f = _write(tmp_path, "C03-neg.cpuprofile", _cpu(nodes, [2, 3, 2], [10000, -500, 10500]))
    p = chrome.load(f)
    # times 10000, 9500, 20000 -> order b, a, a
    np.testing.assert_allclose(p.sample_time * 1e6, [9500, 10000, 20000])
    assert [n[-1] for n in _names(p)] == ["b", "a", "a"]
    assert p.values[:2, 1].tolist() == [500, 10000]


def test_c07_deep_head_is_clean(tmp_path):
    node = {"functionName": "leaf", "url": "", "lineNumber": 0, "id": 3001, "hitCount": 1,
            "children": []}
    text = json.dumps(node)
    for i in range(3000, 0, -1):
        text = ('{"functionName": "f%d", "url": "", "lineNumber": 0, "id": %d, "hitCount": 0, '
                '"children": [%s]}' % (i, i, text))
    f = _write(tmp_path, "C07.cpuprofile", '{"head": %s, "startTime": 0, "endTime": 1}' % text)
    try:
        p = chrome.load(f)
    except FormatError as e:
        assert "nested too deeply" in str(e)
    else:
        assert p.n_samples == 1 and len(p.stack_frames(p.sample_stack[0])) == 3001


def test_invalid_json_reports_line(tmp_path):
    f = _write(tmp_path, "bad.cpuprofile", '{"nodes": [\n{"id": 1,,}]}')
    with pytest.raises(FormatError, match=r"bad.cpuprofile:line 2: chrome: invalid JSON"):
        chrome.load(f)


def test_nan_rejected(tmp_path):
    f = _write(tmp_path, "nan.json", '[{"ph": "X", "name": "a", "ts": NaN, "dur": 1}]')
    with pytest.raises(FormatError, match="non-finite"):
        chrome.load(f)


@pytest.mark.parametrize("path, want", [
    (CORPUS / "realworld/other/speedscope__chrome69.heapprofile", False),
    (CORPUS / "realworld/other/speedscope__firefox61-recursion.json", False),
    (CPU / "speedscope__node10-example.cpuprofile", True),
    (TRACE / "speedscope__chrome141-no-arg-data.json", True),
])
def test_sniff(path, want):
    from flamekit.formats import _io

    assert bool(chrome.sniff(_io.read_head(path))) is want
