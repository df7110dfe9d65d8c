"""Firefox Profiler / Gecko importer: a real Firefox 61 profile, generated families in both
layouts (processed as CPython 3.15 writes it, raw Gecko), and hostile tables."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gecko_writer
from conftest import CORPUS, DATA, require_corpus
from flamekit.formats import gecko, load, load_with_format
from flamekit.model import ProfileBuilder, SampleType, to_text
from hostile_util import assert_clean_failure, assert_ok, run_isolated

FF61 = CORPUS / "realworld" / "other" / "speedscope__firefox61-recursion.json"


def test_real_firefox61_devtools_export():
    require_corpus("realworld/other")
    p, fmt = load_with_format(FF61)
    assert fmt == "gecko"
    doc = json.loads(FF61.read_text())["profile"]
    t = doc["threads"][0]
    assert p.n_samples == len(t["samples"]["data"]) == 15
    assert [(x.id, x.name, x.pid) for x in p.threads] == [(323020, "GeckoMain", 18793)]
    assert p.sample_time is not None
    np.testing.assert_allclose(p.sample_time, [r[1] / 1000 for r in t["samples"]["data"]])
    # the leaf of every sample is the frame the file names for it
    strings, frames, stacks = t["stringTable"], t["frameTable"]["data"], t["stackTable"]["data"]
    for s, row in zip(p.sample_stack, t["samples"]["data"]):
        loc = strings[frames[stacks[row[0]][1]][0]]
        assert loc.startswith(p.frames[p.stack_frame[s]].name)
    assert "gamma" in {f.name for f in p.frames}


@pytest.mark.parametrize("layout", ["processed-57", "gecko-32"])
def test_fixture_equals_its_source_recording(layout):
    src = load(DATA / "py-spy" / "0.4.3" / "two_threads.speedscope.json")
    src = src.copy(values=np.ones_like(src.values), sample_types=[SampleType("samples", "count")])
    p, fmt = load_with_format(DATA / "firefox-profiler" / layout / "two_threads.json")
    assert fmt == "gecko"
    assert to_text(p.copy(sample_time=None), False) == to_text(src, False)


# -- generated family: any profile, both layouts --------------------------------------
_names = st.text(min_size=0, max_size=12)
# no lone surrogates (category Cs; st.text() leaves them out by itself, st.characters() with
# a blacklist does not): they are not Unicode, and the loader makes them U+FFFD on purpose
# (formats.valid_text, tested with the hostile inputs), so they cannot round-trip
_raw_names = st.text(alphabet=st.characters(blacklist_characters="()", blacklist_categories=("Cs",)),
                     max_size=12)


@st.composite
def _profiles(draw, names=_names):
    b = ProfileBuilder([SampleType("samples", "count")])
    frames = [b.frame(draw(names), draw(st.sampled_from(["", "a.py", "lib/x.so"])),
                      # line 0 is "no line": Gecko's frame then takes its function's line, so
                      # ("", "", 0) beside ("", "", 1) cannot come back as it went in
                      draw(st.integers(1, 10**6)), "", "unknown")
              for _ in range(draw(st.integers(1, 6)))]
    threads = [b.thread(draw(st.integers(0, 2**63 - 1)), draw(names))
               for _ in range(draw(st.integers(1, 3)))]
    for _ in range(draw(st.integers(1, 25))):
        stack = b.stack(draw(st.lists(st.sampled_from(frames), min_size=1, max_size=8)))
        b.add(stack, float(draw(st.integers(1, 5))), draw(st.sampled_from(threads)),
              float(draw(st.integers(0, 10**6))))
    p = b.build()
    return p


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=_profiles())
def test_processed_layout_round_trip(p, tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps(gecko_writer.processed(p)))
    q, fmt = load_with_format(f)
    assert fmt == "gecko"
    want = to_text(p, False).replace("[unknown]", "")
    got = to_text(q.copy(frames=[fr.__class__(fr.name, fr.file, fr.line, fr.module, "unknown")
                                 for fr in q.frames]), False).replace("[unknown]", "")
    assert got == want
    np.testing.assert_allclose(np.sort(q.sample_time), np.sort(p.sample_time))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=_profiles(names=_raw_names))
def test_raw_layout_round_trip(p, tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps(gecko_writer.raw(p)))
    q, fmt = load_with_format(f)
    assert fmt == "gecko"
    got = to_text(q.copy(frames=[fr.__class__(fr.name, fr.file, fr.line, fr.module, "unknown")
                                 for fr in q.frames]), False)
    assert got == to_text(p, False)


# -- hostile tables --------------------------------------------------------------------
def _base_processed() -> dict:
    b = ProfileBuilder([SampleType("samples", "count")])
    s = b.stack([b.frame("main", "a.py", 1), b.frame("work", "a.py", 5)])
    b.add(s, 1.0, b.thread(7, "T"), 0.0)
    b.add(s, 1.0, 0, 0.001)
    return gecko_writer.processed(b.build())


def _base_raw() -> dict:
    b = ProfileBuilder([SampleType("samples", "count")])
    s = b.stack([b.frame("main", "a.py", 1), b.frame("work", "a.py", 5)])
    b.add(s, 1.0, b.thread(7, "T"), 0.0)
    return gecko_writer.raw(b.build())


def _mut(base, fn):
    d = base()
    fn(d)
    return d


def _set(d, path, v):
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = v


P = ("threads", 0)
HOSTILE = {
    "prefix-cycle": (lambda: _mut(_base_processed, lambda d: _set(d, P + ("stackTable", "prefix"),
                                                                   [1, 0])), "fail:cycle"),
    "dangling-prefix": (lambda: _mut(_base_processed, lambda d: _set(
        d, P + ("stackTable", "prefix"), [None, 99])), "fail:out of range"),
    "frame-index": (lambda: _mut(_base_processed, lambda d: _set(
        d, P + ("stackTable", "frame"), [0, -1])), "fail:out of range"),
    "string-index": (lambda: _mut(_base_processed, lambda d: _set(
        d, P + ("funcTable", "name"), [0, 10**9])), "fail:out of range"),
    "strings-not-strings": (lambda: _mut(_base_processed, lambda d: _set(
        d, ("shared", "stringArray"), [1, 2, 3, 4])), "fail:string table"),
    "stack-column-type": (lambda: _mut(_base_processed, lambda d: _set(
        d, P + ("samples", "stack"), "0,1")), "fail:expected a list"),
    "ragged-columns": (lambda: _mut(_base_processed, lambda d: _set(
        d, P + ("samples", "time"), [0.0])), "fail:times for"),
    "negative-weight": (lambda: _mut(_base_processed, lambda d: _set(
        d, P + ("samples", "weight"), [1, -5])), "fail:negative weight"),
    "weight-overflow": (lambda: _mut(_base_processed, lambda d: _set(
        d, P + ("samples", "weight"), [1e308, 1e308])), "fail:overflow"),
    "unknown-weight-type": (lambda: _mut(_base_processed, lambda d: _set(
        d, P + ("samples", "weightType"), "furlongs")), "fail:unknown weight type"),
    "null-stack-skipped": (lambda: _mut(_base_processed, lambda d: _set(
        d, P + ("samples", "stack"), [None, 1])), "ok:1"),
    "raw-thread-as-bad-string": (lambda: _mut(_base_raw, lambda d: _set(
        d, ("threads", 0), "{not json")), "fail:not valid JSON"),
    "raw-thread-as-string": (lambda: _mut(_base_raw, lambda d: _set(
        d, ("threads", 0), json.dumps(d["threads"][0]))), "ok:1"),
    "raw-schema-index": (lambda: _mut(_base_raw, lambda d: _set(
        d, P + ("stackTable", "schema", "frame"), "one")), "fail:small integer"),
    "raw-processes-nested": (lambda: _nested_processes(100), "fail:nested deeper"),
    "deep-stack-100k": (lambda: _deep(100_000), "ok:1"),
}


def _nested_processes(n: int) -> dict:
    root = _base_raw()
    cur = root
    for _ in range(n):
        sub = _base_raw()
        cur["processes"] = [sub]
        cur = sub
    return root


def _deep(n: int) -> dict:
    d = _base_processed()
    t = d["threads"][0]
    t["stackTable"] = {"frame": [0] * n, "prefix": [None] + list(range(n - 1)), "length": n}
    t["samples"] = {"stack": [n - 1], "time": [0.0], "weight": None, "weightType": "samples",
                    "length": 1}
    return d


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile(name, tmp_path):
    make, want = HOSTILE[name]
    f = tmp_path / f"{name}.json"
    f.write_text(json.dumps(make()))
    out = run_isolated(f, timeout=30)
    assert not out["timed_out"] and not out["crashed"], out
    kind, _, arg = want.partition(":")
    if kind == "fail":
        assert_clean_failure(out, contains=arg)
    else:
        assert_ok(out)
        assert out["format"] == "gecko" and out["totals"] == [float(arg)]
        if name == "null-stack-skipped":
            assert any("null" in w for w in out["warnings"])


@pytest.mark.parametrize("head,want", [
    (b'{"meta":{"interval":1,"startTime":0,"preprocessedProfileVersion":57},"threads":[', True),
    (b'{"meta":{"version":32},"threads":[{"stackTable":{', True),
    (b'{"label":"x","duration":1,"profile":{"libs":[', True),
    (b'{"traceEvents":[]}', False),
    (b'{"$schema":"https://www.speedscope.app/file-format-schema.json","shared":{}}', False),
])
def test_sniff(head, want):
    assert gecko.sniff(head) is want
