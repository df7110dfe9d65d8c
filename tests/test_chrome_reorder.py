"""Same-timestamp reordering of trace B/E events is linear and keeps its old results.

``_reorder`` used to move each waiting E through a list (quadratic in the events
sharing a timestamp, issue 16). The reference below is that old list-moving
algorithm, kept here as the oracle: on a generated family of event groups (few
names, many shared timestamps, E before B) the linear version gives the same order.
"""
from __future__ import annotations

import json
from collections import Counter

from hypothesis import example, given, settings
from hypothesis import strategies as st

from flamekit.formats import load_with_format
from flamekit.formats._chrome_trace import TraceImporter


def _reference(evs: list) -> list:
    out: list = []
    open_names: Counter = Counter()
    i = 0
    while i < len(evs):
        j = i
        while j < len(evs) and evs[j][0] == evs[i][0]:
            j += 1
        group = list(evs[i:j])
        k = 0
        while k < len(group):
            r = group[k]
            name = r[3].get("name")
            if r[2] == "E" and not open_names[name] and any(
                    g[2] == "B" and g[3].get("name") == name for g in group[k + 1:]):
                pos = next(m for m in range(k + 1, len(group))
                           if group[m][2] == "B" and group[m][3].get("name") == name)
                group.insert(pos, group.pop(k))
                continue
            if r[2] == "B":
                open_names[name] += 1
            elif r[2] == "E" and open_names[name]:
                open_names[name] -= 1
            out.append(r)
            k += 1
        i = j
    return out


_event = st.tuples(st.integers(0, 3), st.sampled_from("BEX"), st.sampled_from(["a", "b", "c", None]))


@settings(max_examples=400, deadline=None)
@given(st.lists(_event, max_size=40))
@example([(0, "E", "a"), (0, "E", "a"), (0, "B", "a"), (0, "B", "a")])
@example([(0, "E", "a"), (0, "E", "a"), (0, "E", "a"), (0, "B", "a"), (0, "E", "b"),
          (0, "B", "a"), (0, "B", "b"), (0, "B", "a"), (1, "E", "a")])
@example([(0, "B", "a"), (0, "E", "a"), (0, "E", "a"), (0, "E", "a"), (0, "B", "a")])
def test_linear_reorder_matches_reference(raw):
    evs = sorted(((ts, seq, ph, {"name": name} if name else {}, 0.0)
                  for seq, (ts, ph, name) in enumerate(raw)), key=lambda r: (r[0], r[1]))
    assert TraceImporter._reorder(evs) == _reference(evs)


def test_many_events_at_one_timestamp(tmp_path):
    # 20k zero-length calls written E-before-B at one timestamp: every E must wait
    n = 20_000
    events = []
    for i in range(n):
        events.append({"name": f"f{i % 3}", "ph": "E", "ts": 5, "pid": 1, "tid": 1})
        events.append({"name": f"f{i % 3}", "ph": "B", "ts": 5, "pid": 1, "tid": 1})
    events.append({"name": "tail", "ph": "X", "ts": 5, "dur": 10, "pid": 1, "tid": 1})
    f = tmp_path / "same-ts.json"
    f.write_text(json.dumps(events))
    p, fmt = load_with_format(f)  # quadratic before (minutes); linear now (about a second)
    assert fmt == "chrome"
    assert p.totals()[1] == 10
