"""pyinstrument importer: the JSON render and the saved session against the numbers in
the files, a generated family of wrong-typed fields, and hostile JSON."""
from __future__ import annotations

import copy
import gzip
import json

import pytest

from conftest import DATA, subtree_total
from flamekit.analysis.uncertainty import effective_samples
from flamekit.errors import FormatError
from flamekit.formats import load_with_format, pyinstrument
from hostile_util import assert_clean_failure, assert_ok, run_isolated

DIR = DATA / "pyinstrument" / "5.1.3"


def test_render_times_match_the_file():
    doc = json.loads((DIR / "cpu_split.json").read_text())
    p, fmt = load_with_format(DIR / "cpu_split.json")
    assert fmt == "pyinstrument"
    assert p.totals()[0] == pytest.approx(doc["root_frame"]["time"], abs=1e-6)
    # every node's inclusive time is the sum of the samples below it (one caller each here)
    work = [doc["root_frame"]]
    while work:
        n = work.pop()
        if n["function"] not in ("[self]", "_burn", "sqrt", "exp", "thread_time"):
            assert subtree_total(p, n["function"]) == pytest.approx(n["time"], abs=1e-5), n["function"]
        work.extend(n["children"])
    assert "[self]" not in {f.name for f in p.frames}
    hot, cold = subtree_total(p, "price_options"), subtree_total(p, "update_risk")
    assert 0.6 < hot / (hot + cold) < 0.8  # cpu_split spends 70 % in price_options
    assert p.meta["sample_count"] == doc["sample_count"]
    # the printed intervals rest on pyinstrument's samples, not on the render's few nodes
    assert effective_samples(p) == pytest.approx(doc["sample_count"])


def test_session_records_are_samples():
    doc = json.loads(gzip.decompress((DIR / "cpu_split.pyisession.gz").read_bytes()))
    p, fmt = load_with_format(DIR / "cpu_split.pyisession.gz")
    assert fmt == "pyinstrument"
    recs = doc["frame_records"]
    assert p.n_samples == len(recs)
    assert p.totals()[0] == pytest.approx(sum(r[1] for r in recs))
    assert [t.name for t in p.threads] == ["MainThread"]
    leaf_names = [p.frames[p.stack_frame[s]].name for s in p.sample_stack]
    assert leaf_names == [r[0][-1].split("\x00")[0] for r in recs]
    hot, cold = subtree_total(p, "price_options"), subtree_total(p, "update_risk")
    assert 0.6 < hot / (hot + cold) < 0.8


# -- a generated family: every field of a real render, given every wrong type ------------
def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            yield from _paths(v, path + (i,))


_WRONG = ["text", None, -1, 1e300, [], {}, True, 2**80]


def test_every_field_with_every_wrong_type(tmp_path):
    for name in ("cpu_split.json", "cpu_split.pyisession.gz"):
        raw = (DIR / name).read_bytes()
        doc = json.loads(gzip.decompress(raw) if name.endswith(".gz") else raw)
        if "frame_records" in doc:
            doc["frame_records"] = doc["frame_records"][-5:]
        paths = [p for p in _paths(doc) if p][:200]
        f = tmp_path / "mutant.json"
        for path in paths:
            for wrong in _WRONG:
                m = copy.deepcopy(doc)
                node = m
                for k in path[:-1]:
                    node = node[k]
                node[path[-1]] = wrong
                f.write_text(json.dumps(m))
                try:
                    p, _ = load_with_format(f, "pyinstrument")
                except FormatError as e:
                    assert not getattr(e, "unexpected", False), (path, wrong, str(e))
                    assert str(f) in str(e)
                else:
                    p.check()


HOSTILE = {
    "deep-nesting": ('{"sample_count":1,"root_frame":' + '{"function":"f","file_path":"a.py",'
                     '"line_no":1,"time":1,"children":[' * 100_000 + ']}' * 100_000 + "}",
                     "fail:"),
    "inf-time": ('{"sample_count":1,"root_frame":{"function":"f","file_path":"a.py","line_no":1,'
                 '"time":1e999,"children":[]}}', "fail:overflow"),
    "nan-token": ('{"sample_count":1,"root_frame":{"function":"f","file_path":"a.py",'
                  '"line_no":1,"time":NaN,"children":[]}}', "fail:non-finite"),
    "children-overflow": ('{"sample_count":1,"root_frame":{"function":"f","file_path":"a.py",'
                          '"line_no":1,"time":1e308,"children":[{"function":"g","file_path":"",'
                          '"line_no":0,"time":1e308,"children":[]},{"function":"h",'
                          '"file_path":"","line_no":0,"time":1e308,"children":[]}]}}',
                          "fail:overflow"),
    "negative-time": ('{"sample_count":1,"root_frame":{"function":"f","file_path":"a.py",'
                      '"line_no":1,"time":-1,"children":[]}}', "fail:negative"),
    "record-shape": ('{"start_call_stack":[],"sample_count":1,"frame_records":[[["a\\u0000b'
                     '\\u00001"]]]}', "fail:expected [stack, seconds]"),
    "null-root": ('{"sample_count":0,"target_description":"x","root_frame":null}', "ok:"),
    "markup-names": ('{"sample_count":1,"root_frame":{"function":"<img src=x onerror=alert(1)>",'
                     '"file_path":"</script>.py","line_no":1,"time":2,"children":[]}}', "ok:2"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile(name, tmp_path):
    text, want = HOSTILE[name]
    f = tmp_path / f"{name}.json"
    f.write_text(text)
    out = run_isolated(f, timeout=30)
    assert not out["timed_out"] and not out["crashed"], out
    kind, _, arg = want.partition(":")
    if kind == "fail":
        assert_clean_failure(out, contains=arg or None)
    elif name == "null-root":
        assert out["ok"] or out["error_type"] == "FormatError"
    else:
        assert_ok(out)
        assert out["format"] == "pyinstrument" and out["totals"] == [float(arg)]
        assert "<img src=x onerror=alert(1)>" in out["frame_names"]


@pytest.mark.parametrize("head,want", [
    (b'{"start_time": 1, "duration": 2, "sample_count": 3, "target_description": "x", '
     b'"cpu_time": 1, "root_frame": {', True),
    (b'{"start_time": 1, "start_call_stack": [], "frame_records": [', True),
    (b'{"$schema": "https://www.speedscope.app/file-format-schema.json"}', False),
    (b'[{"ph": "X"}]', False),
])
def test_sniff(head, want):
    assert pyinstrument.sniff(head) is want
