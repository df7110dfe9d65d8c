"""The ``samples`` + ``stackFrames`` trace form: each sample lasts until its own thread's
next sample (checked on a generated family with interleaved, unsorted threads)."""
from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flamekit.formats import load_with_format


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 3), st.integers(1, 4)),
                min_size=1, max_size=60, unique_by=lambda s: (s[0], s[1])))
def test_durations_run_to_the_threads_next_sample(tmp_path, samples):
    frames = {"1": {"name": "root"}, "2": {"name": "a", "parent": "1"},
              "3": {"name": "b", "parent": "1"}, "4": {"name": "c", "parent": "3"}}
    doc = {"traceEvents": [], "stackFrames": frames,
           "samples": [{"ts": ts, "tid": tid, "pid": 1, "sf": str(sf), "weight": 1}
                       for ts, tid, sf in samples]}
    f = tmp_path / "sf.json"
    f.write_text(json.dumps(doc))
    p, fmt = load_with_format(f)
    assert fmt == "chrome" and p.n_samples == len(samples)
    want = {}
    for tid in {s[1] for s in samples}:
        ts = sorted(s[0] for s in samples if s[1] == tid)
        for a, b in zip(ts, ts[1:] + ts[-1:]):
            want[(tid, a)] = b - a
    got = {(p.threads[t].id, round(float(tm) * 1e6)): float(v)
           for t, tm, v in zip(p.sample_thread, p.sample_time, p.values[:, 1])}
    assert got == want
    assert np.all(np.diff(p.sample_time) >= 0)
