"""The source view's stacks (report.source.stacks) and the time rows' line nodes (timeline.lnode).

A Python mirror of templates/js/source.js's range sums reads the embedded data; its
per-line self and total for any range must equal the model's, counted sample by
sample (tests/source_range_util.truth): with and without library frames hidden,
through indirect recursion, library code calling user code, and binned rows.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from flamekit.analysis.report import report_data
from flamekit.model import Frame, ProfileBuilder, SampleType
from flamekit.render import source_range
from flamekit.render import timeline as tlmod
from flamekit.render.html import report_json
from flamekit.render.timeline import decode_timeline

from source_range_util import APP, LIB, tricky_profile, truth


def page_lines(doc: dict, func: int, lo: float, hi: float, hide: bool, k: int = 0) -> dict[int, list[float]]:
    """What source.js computes for payload function ``func`` over the rows in [lo, hi)."""
    st, tl = doc["report"]["source"]["stacks"], decode_timeline(doc["report"]["timeline"])
    par, fn, ln = (np.asarray(st[c], dtype=np.int64) for c in ("parent", "func", "line"))
    leaf = np.where(fn >= 0, np.arange(len(fn)), -1)
    if hide and "hidden" in st:
        leaf[st["hidden"]["node"]] = st["hidden"]["leaf"]
    m = (tl["time"] >= lo) & (tl["time"] < hi)
    acc = np.bincount(tl["lnode"][m], weights=tl["values"][m, k], minlength=len(par))
    outer = np.full(len(par), -1)
    out: dict[int, list[float]] = {}
    for i in range(len(par)):
        o = outer[par[i]] if par[i] >= 0 else -1
        outer[i] = i if o < 0 and fn[i] == func else o
        if acc[i] == 0:
            continue
        if outer[i] >= 0:
            out.setdefault(int(ln[outer[i]]), [0.0, 0.0])[1] += acc[i]
        if leaf[i] >= 0 and fn[leaf[i]] == func:
            out.setdefault(int(ln[leaf[i]]), [0.0, 0.0])[0] += acc[i]
    return out


def func_id(doc: dict, name: str) -> int:
    S, F = doc["payload"]["strings"], doc["payload"]["frames"]
    return next(F["func"][i] for i in range(len(F["func"])) if S[F["name"][i]] == name)


@pytest.mark.parametrize("max_rows", [None, 300])  # single samples, then bins
def test_range_lines_equal_the_samples(monkeypatch, max_rows):
    p = tricky_profile()
    if max_rows:
        monkeypatch.setattr(tlmod, "MAX_ROWS", max_rows)
        monkeypatch.setattr(tlmod, "BIN_COUNTS", (40, 20))
    doc = report_json(report_data(p), title="t")
    tl = doc["report"]["timeline"]
    assert (tl["bin"] > 0) == bool(max_rows) and "capped" not in tl
    st = doc["report"]["source"]["stacks"]
    assert "hidden" in st and len(st["parent"]) <= p.n_stacks
    assert all(q < i for i, q in enumerate(st["parent"]))
    t = p.sample_time
    if max_rows:  # the page's rows sit at their bin's start: the range filters whole bins
        w, t0 = tl["tick"], tl["t0"]
        t = t0 + np.minimum(np.floor((t - t0) / w), int((t.max() - t0) / w)) * w
    checked = 0
    for lo, hi in ((0.0, 11.0), (1.23, 4.56), (4.0, 9.9), (7.5, 8.5)):
        mask = (t >= lo) & (t < hi)
        for name, file in (("parse", APP), ("walk", APP), ("raw_decode", LIB), ("main", APP)):
            for hide in (False, True):
                for k in (0, 1):
                    want = truth(p, name, file, mask, hide, k)
                    got = {ln: sv for ln, sv in page_lines(doc, func_id(doc, name), lo, hi, hide, k).items()
                           if sv != [0.0, 0.0]}
                    assert got.keys() == want.keys(), (name, lo, hi, hide)
                    for ln in want:
                        assert got[ln] == pytest.approx(want[ln], rel=1e-12), (name, ln, lo, hi, hide, k)
                    checked += len(want) > 1
    assert checked > 30
    # recursion counted once: parse's lines' totals sum to the samples with parse on the stack
    on = np.array([any(p.frames[f].name == "parse" for f in p.stack_frames(s)) for s in range(p.n_stacks)])
    whole = page_lines(doc, func_id(doc, "parse"), -1, 99, False)
    assert sum(v[1] for v in whole.values()) == pytest.approx(float(p.values[on[p.sample_stack], 0].sum()))


def test_past_the_budget_the_stacks_are_left_out(monkeypatch):
    monkeypatch.setattr(source_range, "MAX_NODES", 3)
    doc = report_json(report_data(tricky_profile()), title="t")
    assert doc["report"]["source"]["stacks"] == {"omitted": "too many distinct stacks"}
    assert "lnode" not in doc["report"]["timeline"]


def test_untimed_and_lineless_profiles_carry_no_stacks():
    p = tricky_profile()
    doc = report_json(report_data(p.copy(sample_time=None)), title="t")
    assert "stacks" not in doc["report"]["source"] and "timeline" not in doc["report"]
    b = ProfileBuilder([SampleType("cpu", "samples")])
    s = b.stack([b.frame("a", "a.py"), b.frame("b", "a.py")])
    for i in range(50):
        b.add(s, 1, 0, i * 0.01)
    doc = report_json(report_data(b.build()), title="t")  # no line numbers: nothing listed
    assert doc["report"]["source"]["funcs"] == {} and "stacks" not in doc["report"]["source"]
    assert "lnode" not in doc["report"]["timeline"]


def test_any_64_bit_line_and_long_names():
    """Lines near 2**63 and names longer than the page keeps (clipped) still find their function."""
    b = ProfileBuilder([SampleType("cpu", "samples")])
    big, long = 2**63 - 5, "f" * 3000
    s1 = b.stack([b.frame("main", APP, 1, kind="python"), b.frame(long, APP, big, kind="python")])
    s2 = b.stack([b.frame("main", APP, 1, kind="python"), b.frame(long, APP, 7, kind="python")])
    for i in range(60):
        b.add(s1 if i % 3 else s2, 1, 0, i * 0.01)
    p = b.build()
    doc = report_json(report_data(p), title="t")
    json.dumps(doc)
    S, F = doc["payload"]["strings"], doc["payload"]["frames"]
    fid = next(F["func"][i] for i in range(len(F["func"])) if S[F["name"][i]].startswith("fff"))
    got = page_lines(doc, fid, -1, 99, False)
    assert got == {big: [40.0, 40.0], 7: [20.0, 20.0]}
    assert Frame(long, APP, big).line == big
