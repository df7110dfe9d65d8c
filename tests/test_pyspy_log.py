"""What flamekit reads from py-spy's own log: its sample count and its doubts.

The lines are py-spy 0.4.3's, as it printed them here (``flamekit record --rate 20000``
of a 0.3 s loop: "12.55s behind in sampling"). Making py-spy fall behind for real takes a
recording of about 17 s (at 20 kHz it stops the target for every sample), so this test
reads the captured text. (The session appends :func:`pyspy.warnings` to the recording's
``meta["warnings"]``, and ``flamekit record`` prints them.)
"""
from __future__ import annotations

import pytest

from flamekit.record import pyspy

LOG = """py-spy> Sampling process 200 times a second. Press Control-C to exit.

py-spy> 13.94s behind in sampling, results may be inaccurate. Try reducing the sampling rate

py-spy> 512.31ms behind in sampling, results may be inaccurate. Try reducing the sampling rate

py-spy> Stopped sampling because process exited
py-spy> Wrote speedscope file to '/tmp/fast.json'. Samples: 149217 Errors: 3
"""


def test_stats_read_the_count_and_the_largest_delay():
    assert pyspy.stats(LOG) == {"tool_sample_count": 149217, "errored_samples": 3, "sampling_behind_s": 13.94}
    assert pyspy.stats("py-spy> 512.31ms behind in sampling, results may")["sampling_behind_s"] == 0.512
    assert pyspy.stats("py-spy> 750µs behind in sampling")["sampling_behind_s"] == pytest.approx(0.001)
    assert pyspy.stats("py-spy> Wrote x. Samples: 10 Errors: 0") == {"tool_sample_count": 10,
                                                                     "errored_samples": 0}


def test_a_late_recording_carries_a_warning_naming_the_rate():
    w = pyspy.warnings({"sampling_behind_s": 13.94, "rate_hz": 20000})
    assert len(w) == 1 and w[0].startswith("py-spy fell 13.94 s behind its sampling schedule")
    assert "--rate 20000 Hz" in w[0] and "record again" in w[0]
    assert pyspy.warnings({"rate_hz": 100}) == [] and pyspy.warnings({"sampling_behind_s": 0}) == []
