"""Sample times in the report: the speedscope Time Order opt-in and the embedded timeline rows."""
from __future__ import annotations

import json

import numpy as np
import pytest

from flamekit.analysis.report import report_data
from flamekit.formats import speedscope
from flamekit.model import ProfileBuilder, SampleType
from flamekit.render import timeline as tlmod
from flamekit.render.html import report_json
from flamekit.render.payload import prune
from flamekit.render.timeline import decode_timeline, timeline_data


def _pyspy_doc() -> dict:
    """A py-spy-like speedscope file: two threads, 1/100 s weights, one empty sample."""
    frames = [{"name": n, "file": "job.py", "line": i + 1} for i, n in enumerate(["main", "ingest", "backtest"])]
    return {"$schema": speedscope.SCHEMA_URL, "shared": {"frames": frames}, "exporter": "py-spy@0.4.3",
            "profiles": [
                {"type": "sampled", "name": 'Thread 7 "MainThread"', "unit": "seconds", "startValue": 0,
                 "endValue": 0.05, "samples": [[0, 1], [0, 1], [], [0, 2], [0, 2]],
                 "weights": [0.01] * 5},
                {"type": "sampled", "name": 'Thread 8 "feed"', "unit": "seconds", "startValue": 0,
                 "endValue": 0.02, "samples": [[0], [0, 2]], "weights": [0.01, 0.01]}]}


def test_sampled_profiles_are_timed_by_summed_weights_only_on_request(tmp_path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(_pyspy_doc()))
    assert speedscope.load(path).sample_time is None  # the format has no timestamps
    p = speedscope.load(path, sampled_times=True)
    names = [p.frames[p.stack_frame[s]].name for s in p.sample_stack]
    got = sorted(zip(p.sample_thread.tolist(), np.round(p.sample_time, 9).tolist(), names))
    # thread 0: the empty sample at 0.02 s is skipped but keeps its time slot
    assert got == [(0, 0.0, "ingest"), (0, 0.01, "ingest"), (0, 0.03, "backtest"), (0, 0.04, "backtest"),
                   (1, 0.0, "main"), (1, 0.01, "backtest")]
    assert p.values.sum() == pytest.approx(0.06)


def _timed_profile(n: int, seed: int = 3):
    """``n`` samples over 2 threads: ``phase_a`` in the first half of the time, ``phase_b`` after."""
    rng = np.random.default_rng(seed)
    b = ProfileBuilder([SampleType("cpu", "samples"), SampleType("cpu", "nanoseconds")])
    th = [b.thread(1, "MainThread"), b.thread(2, "worker")]
    f = {k: b.frame(k, "job.py", 0, kind="python") for k in ("main", "phase_a", "phase_b", "leaf1", "leaf2")}
    stacks = [b.stack([f["main"], f["phase_a"], f[x]]) for x in ("leaf1", "leaf2")] + \
             [b.stack([f["main"], f["phase_b"], f[x]]) for x in ("leaf1", "leaf2")]
    times = np.sort(rng.uniform(10.0, 12.0, n))
    for t in times:
        phase = 0 if t < 11.0 else 2
        b.add(stacks[phase + int(rng.integers(0, 2))], (1, int(rng.integers(900, 1100))),
              th[int(rng.integers(0, 2))], float(t))
    return b.build()


def test_rows_decode_to_the_model_samples_in_time_order() -> None:
    p = _timed_profile(500)
    q, _ = prune(p, 0)
    tl = timeline_data(q)
    assert tl["bin"] == 0 and tl["samples"] == tl["total"] == 500 and "capped" not in tl
    d = decode_timeline(tl)
    order = np.argsort(q.sample_time, kind="stable")
    np.testing.assert_allclose(d["time"], q.sample_time[order], atol=1e-6)
    assert d["node"].tolist() == q.sample_stack[order].tolist()
    assert d["thread"].tolist() == q.sample_thread[order].tolist()
    np.testing.assert_array_equal(d["values"], q.values[order])
    assert tl["values"][0] == 1  # a column every row shares is one number
    assert 0 < tl["interval"] < 0.02  # ~250 samples per thread over 2 s


def test_many_samples_are_binned_with_counts_and_totals_kept(monkeypatch) -> None:
    monkeypatch.setattr(tlmod, "MAX_ROWS", 800)
    monkeypatch.setattr(tlmod, "BIN_COUNTS", (2000, 200, 100))
    p = _timed_profile(3000)
    q, _ = prune(p, 0)
    tl = timeline_data(q)
    d = decode_timeline(tl)
    span = float(q.sample_time.max() - q.sample_time.min())
    assert tl["bin"] == pytest.approx(span / 200) and len(d["node"]) <= 800 and "capped" not in tl
    assert d["count"].sum() == tl["samples"] == 3000
    # per (node, thread): counts and values equal the model's
    for k in range(2):
        want = np.zeros((q.n_stacks, 2))
        np.add.at(want, (q.sample_stack, q.sample_thread), q.values[:, k])
        got = np.zeros((q.n_stacks, 2))
        np.add.at(got, (d["node"], d["thread"]), d["values"][:, k])
        np.testing.assert_allclose(got, want)
    # a row's time is its bin's start: every sample of the bin lies within one bin width after it
    assert (np.diff(d["time"]) >= -1e-9).all()
    mid = 11.0  # phase_b starts at 11 s: bins before it hold phase_a only
    names = [q.frames[q.stack_frame[q.stack_prefix[s]]].name for s in d["node"]]
    assert all(nm == "phase_a" for nm, t in zip(names, d["time"]) if t + tl["bin"] <= mid)
    assert all(nm == "phase_b" for nm, t in zip(names, d["time"]) if t >= mid)


def test_rows_past_the_cap_are_left_out_and_said(monkeypatch) -> None:
    monkeypatch.setattr(tlmod, "MAX_ROWS", 100)
    monkeypatch.setattr(tlmod, "BIN_COUNTS", (1000,))
    q, _ = prune(_timed_profile(3000), 0)
    tl = timeline_data(q)
    d = decode_timeline(tl)
    assert len(d["node"]) == 100 and tl["samples"] == int(d["count"].sum()) < 3000
    assert d["time"][-1] < tl["capped"]["until"] <= float(q.sample_time.max())


def test_report_embeds_the_timeline_only_for_timed_profiles() -> None:
    p = _timed_profile(200)
    doc = report_json(report_data(p), title="t")
    tl = doc["report"]["timeline"]
    assert tl["total"] == 200 and tl["clock"] == "" and tl["note"] == ""
    assert max(tl["node"]) < len(doc["payload"]["nodes"]["parent"])
    assert "timeline" not in report_json(report_data(p.copy(sample_time=None)), title="t")["report"]
