"""Chrome profiles whose nodes list a child id that has no node (issue 16).

Chrome and the Firefox Profiler load such files: DevTools'
``CPUProfileDataModel.translateProfileTree`` skips a child id it cannot find. A
generated family of node trees, written as ``.cpuprofile`` files and as unchunked
trace files (one ``CpuProfile`` event), gets dangling child ids added at random:
each must load to the same profile as the clean file, with one counted warning.
"""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flamekit.formats import load_with_format
from flamekit.model import to_text


@st.composite
def _trees(draw):
    n = draw(st.integers(2, 30))
    nodes = [{"id": 1, "callFrame": {"functionName": "(root)", "url": "", "lineNumber": -1,
                                     "columnNumber": -1, "scriptId": "0"}, "children": []}]
    for i in range(2, n + 1):
        parent = draw(st.integers(1, i - 1))
        nodes.append({"id": i, "callFrame": {"functionName": draw(st.sampled_from(
            ["main", "work", "parse", "(program)", "(garbage collector)", "λ"])),
            "url": "app.js", "lineNumber": i, "columnNumber": 0, "scriptId": "1"},
            "children": []})
        nodes[parent - 1]["children"].append(i)
    samples = draw(st.lists(st.integers(2, n), min_size=1, max_size=40))
    deltas = draw(st.lists(st.integers(1, 2000), min_size=len(samples), max_size=len(samples)))
    cp = {"nodes": nodes, "startTime": 1_000_000, "endTime": 1_000_000 + sum(deltas) + 500,
          "samples": samples, "timeDeltas": deltas}
    # dangling references: (node index, position, missing id)
    dangling = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 5),
                                       st.integers(n + 1, 10**9)), min_size=1, max_size=5))
    return cp, dangling


def _with_dangling(cp: dict, dangling: list) -> dict:
    bad = json.loads(json.dumps(cp))
    for k, pos, missing in dangling:
        kids = bad["nodes"][k]["children"]
        kids.insert(min(pos, len(kids)), missing)
    return bad


def _as_trace(cp: dict) -> dict:
    return {"traceEvents": [
        {"name": "TracingStartedInBrowser", "ph": "I", "pid": 7, "tid": 3, "ts": 0, "args": {}},
        {"name": "CpuProfile", "ph": "I", "cat": "disabled-by-default-devtools.timeline",
         "pid": 7, "tid": 3, "ts": cp["startTime"], "args": {"data": {"cpuProfile": cp}}}]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_trees(), st.booleans())
def test_dangling_children_are_dropped(tmp_path, tree, as_trace):
    cp, dangling = tree
    wrap = _as_trace if as_trace else (lambda x: x)
    clean, bad = tmp_path / "clean.json", tmp_path / "bad.json"
    clean.write_text(json.dumps(wrap(cp)))
    bad.write_text(json.dumps(wrap(_with_dangling(cp, dangling))))
    p, fmt = load_with_format(clean)
    q, fmt2 = load_with_format(bad)
    assert fmt == fmt2 == "chrome"
    assert to_text(q, include_meta=False) == to_text(p, include_meta=False)
    warn = [w for w in q.meta["warnings"] if "child id with no node" in w]
    assert warn and warn[0].endswith(f": {len(dangling)}"), q.meta["warnings"]
    assert not any("child id with no node" in w for w in p.meta.get("warnings", []))


def test_real_node_profile_with_a_dangling_child(tmp_path):
    from conftest import DATA

    src = DATA / "node" / "20.20.2" / "spin.cpuprofile"
    cp = json.loads(src.read_text())
    cp["nodes"][0]["children"] = cp["nodes"][0].get("children", []) + [123456789]
    bad = tmp_path / "spin-dangling.cpuprofile"
    bad.write_text(json.dumps(cp))
    p, _ = load_with_format(src)
    q, fmt = load_with_format(bad)
    assert fmt == "chrome"
    assert to_text(q, include_meta=False) == to_text(p, include_meta=False)
    assert any("child id with no node" in w and w.endswith(": 1") for w in q.meta["warnings"])
