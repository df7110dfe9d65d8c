"""speedscope JSON: real-world corpus, py-spy fixtures, hostile input, units, threads, round trips."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, DATA, HOSTILE as HOSTILE_ROOT, realworld_names
from hostile_util import assert_clean_failure, assert_ok, run_isolated

from flamekit.errors import FormatError
from flamekit.formats import detect, load_with_format, speedscope
from flamekit.model import Frame, ProfileBuilder, SampleType, equivalent, functions, to_text

PYSPY = DATA / "py-spy" / "0.4.3"
RW = CORPUS / "realworld" / "speedscope"
HOSTILE = HOSTILE_ROOT / "speedscope"
INVALID = {"speedscope__invalid-incomplete-trace.json", "speedscope__invalid-out-of-order-events.json"}


def _stacks(p, thread=None):
    """Return {"a;b;c": value} of the first sample type (optionally one thread index)."""
    out: dict[str, float] = {}
    for s, t, v in zip(p.sample_stack.tolist(), p.sample_thread.tolist(), p.values[:, 0]):
        if thread is not None and t != thread:
            continue
        key = ";".join(p.frames[f].name for f in p.stack_frames(s))
        out[key] = out.get(key, 0) + float(v)
    return out


def _write(tmp_path: Path, doc, name="x") -> Path:
    f = tmp_path / name
    f.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return f


def _roundtrip(p, tmp_path: Path, **kw):
    buf = io.BytesIO()
    speedscope.dump(p, buf, **kw)
    f = tmp_path / "roundtrip"  # no suffix: detection must go by content
    f.write_bytes(buf.getvalue())
    assert detect(f).name == "speedscope"
    return load_with_format(f)[0], json.loads(buf.getvalue())


def _rw_files():
    return [RW / n for n in realworld_names("speedscope")]


# -- real-world corpus --------------------------------------------------------
@pytest.mark.parametrize("path", _rw_files(), ids=lambda p: p.name)
def test_realworld_imports_or_is_rejected(path: Path, tmp_path: Path) -> None:
    if path.name in INVALID:
        assert_clean_failure(run_isolated(path))
        return
    p, fmt = load_with_format(path)
    assert fmt == "speedscope" and p.n_samples > 0
    q, _ = _roundtrip(p, tmp_path)
    assert equivalent(p, q), to_text(q)


def test_speedscope_snapshots() -> None:
    """Expected stacks from speedscope's own file-format.test.ts.snap (jlfwong/speedscope)."""
    want = {"a;b;c": 5, "a;b;d": 4, "a;b": 5}
    for name, st in (("speedscope__0.0.1-simple.speedscope.json", "samples/count"),
                     ("speedscope__0.0.1-simple-no-pretty-print.speedscope.json", "samples/count"),
                     ("speedscope__0.1.2-simple-sampled.speedscope.json", "wall/seconds")):
        p = load_with_format(RW / name)[0]
        assert _stacks(p) == want, name
        assert [str(s) for s in p.sample_types] == [st]
    p = load_with_format(RW / "speedscope__0.6.0-two-sampled.speedscope.json")[0]
    assert [t.name for t in p.threads] == ["one", "two"]
    assert _stacks(p, 0) == want and _stacks(p, 1) == want
    assert p.meta["speedscope"] == {"exporter": "speedscope@0.6.0", "name": "Two Samples",
                                    "activeProfileIndex": 1}
    assert (p.meta["tool"], p.meta["tool_version"]) == ("speedscope", "0.6.0")


def test_evented_intervals_are_timed_only_with_time_units(tmp_path: Path) -> None:
    p = load_with_format(RW / "speedscope__0.0.1-simple.speedscope.json")[0]
    assert p.sample_time is None  # unit none: no seconds to give
    assert p.values[:, 0].tolist() == [2, 4, 3, 5]  # one sample per interval, in order
    doc = json.loads((RW / "speedscope__0.0.1-simple.speedscope.json").read_text())
    doc["profiles"][0].update(unit="milliseconds", startValue=-2)
    q = load_with_format(_write(tmp_path, doc))[0]
    assert q.sample_types == (SampleType("wall", "milliseconds"),)
    assert q.sample_time.tolist() == [0.002, 0.004, 0.008, 0.011]


def test_invalid_messages_match_speedscope() -> None:
    with pytest.raises(FormatError, match=r'tried to leave frame "B" while frame "A" was at the top at 4'):
        load_with_format(RW / "speedscope__invalid-out-of-order-events.json")
    with pytest.raises(FormatError, match="still open"):
        load_with_format(RW / "speedscope__invalid-incomplete-trace.json")


def test_austin_threads_and_units() -> None:
    p = load_with_format(RW / "austin-python__austin.speedscope.json")[0]
    assert [(t.id, t.pid) for t in p.threads] == [(82848, 82848), (82858, 82848)]
    assert p.sample_types == (SampleType("wall", "microseconds"),)
    assert all(f.kind == "python" for f in p.frames)


# -- py-spy fixtures (recorded with py-spy 0.4.3) ---------------------------------
def test_pyspy_ground_truth_70_30() -> None:
    """cpu_split.py spends 70% of its CPU in price_options, 30% in update_risk."""
    p, fmt = load_with_format(PYSPY / "cpu_split.speedscope.json")
    assert fmt == "speedscope" and p.meta["tool"] == "py-spy" and p.meta["tool_version"] == "0.4.3"
    assert p.sample_types == (SampleType("wall", "seconds"),)
    assert len(p.threads) == 1 and p.threads[0].id > 0
    df = functions(p).set_index("name")
    hot, cold = df.loc["price_options", "total"], df.loc["update_risk", "total"]
    share = hot / (hot + cold)
    assert 0.60 <= share <= 0.80, share
    # each sample weighs 1/200 s; the run lasted ~1.5 s of CPU
    assert np.allclose(p.values[:, 0], 0.005)
    assert 1.2 <= p.totals()[0] <= 2.0
    burn = [f for f in p.frames if f.name == "_burn"]
    assert burn and all(f.kind == "python" and f.file.endswith("cpu_split.py") and f.line for f in burn)


def test_pyspy_threads(tmp_path: Path) -> None:
    p = load_with_format(PYSPY / "two_threads.speedscope.json")[0]
    assert len(p.threads) == 3 and len({t.id for t in p.threads}) == 3
    assert "feed" in {t.name for t in p.threads}
    df = functions(p).set_index("name")
    share = df.loc["quote_feed", "total"] / (df.loc["quote_feed", "total"] + df.loc["risk_engine", "total"])
    assert 0.55 <= share <= 0.78, share  # 2/3 of the CPU goes to the feed
    q, doc = _roundtrip(p, tmp_path)
    assert equivalent(p, q)
    assert [x["name"] for x in doc["profiles"]] == [f'Thread {t.id} "{t.name}"' for t in p.threads]


@pytest.mark.parametrize("name", ["cpu_split.speedscope.json", "two_threads.speedscope.json"])
def test_pyspy_roundtrip(name: str, tmp_path: Path) -> None:
    p = load_with_format(PYSPY / name)[0]
    q, doc = _roundtrip(p, tmp_path)
    assert equivalent(p, q)
    assert doc["$schema"] == speedscope.SCHEMA_URL and doc["exporter"] == "py-spy@0.4.3"
    assert all(x["type"] == "sampled" and x["unit"] == "seconds" for x in doc["profiles"])


# -- hostile input ------------------------------------------------------------
@pytest.mark.parametrize("name,needle", [
    ("S01-frame-index-out-of-range.json", "out of range"),
    ("S03-close-not-on-top.json", "at the top"),
    ("S04-time-goes-backwards.json", "backwards"),
    ("S05-unknown-type.json", "unknown profile type"),
])
def test_hostile_rejected(name: str, needle: str) -> None:
    assert_clean_failure(run_isolated(HOSTILE / name), needle)


def test_hostile_duplicate_keys_last_wins() -> None:
    out = run_isolated(HOSTILE / "S07-duplicate-keys.json")
    assert_ok(out)
    assert out["frame_names"] == ["<img src=x onerror=alert(7)>"] and out["totals"] == [1.0]


def test_hostile_markup_kept_verbatim(tmp_path: Path) -> None:
    p = load_with_format(HOSTILE / "S09-markup-everywhere.json")[0]
    assert len(p.frames) == 18 and p.frames[0].name.startswith("</script>")
    q, doc = _roundtrip(p, tmp_path)
    assert equivalent(p, q)
    assert doc["shared"]["frames"][0]["name"] == p.frames[0].name  # escaped only by JSON


BUILT = {
    "S01-negative-index": {"shared": {"frames": [{"name": "a"}]}, "profiles": [
        {"type": "evented", "unit": "none", "startValue": 0, "endValue": 1,
         "events": [{"type": "O", "frame": -1, "at": 0}]}]},
    "S01-bool-index": {"shared": {"frames": [{"name": "a"}, {"name": "b"}]}, "profiles": [
        {"type": "sampled", "unit": "none", "samples": [[True]], "weights": [1]}]},
    "S02-weights-length-mismatch": {"shared": {"frames": [{"name": "a"}]}, "profiles": [
        {"type": "sampled", "unit": "none", "samples": [[0], [0]], "weights": [1]}]},
    "S03-unclosed": {"shared": {"frames": [{"name": "a"}]}, "profiles": [
        {"type": "evented", "unit": "none", "startValue": 0, "endValue": 1,
         "events": [{"type": "O", "frame": 0, "at": 0}]}]},
    "S05-missing-profiles": {"shared": {"frames": []}},
    "S05-unknown-event": {"shared": {"frames": [{"name": "a"}]}, "profiles": [
        {"type": "evented", "unit": "none", "events": [{"type": "X", "frame": 0, "at": 0}]}]},
    "S06-nan": '{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"sampled","unit":"none",'
               '"samples":[[0]],"weights":[NaN]}]}',
    "S06-infinity": '{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"sampled","unit":"none",'
                    '"samples":[[0]],"weights":[Infinity]}]}',
    "S06-overflow": '{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"sampled","unit":"none",'
                    '"samples":[[0]],"weights":[-1e999]}]}',
    "S06-huge-int": '{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"sampled","unit":"none",'
                    '"samples":[[0]],"weights":[1' + "0" * 400 + ']}]}',
    "S08-deep-nesting": "[" * 100000 + "]" * 100000,
    "S10-sum-overflows": {"shared": {"frames": [{"name": "a"}]}, "activeProfileIndex": 2**64,
                          "profiles": [{"type": "sampled", "unit": "none", "samples": [[0], [0]],
                                        "weights": [1.797e308, 1.797e308]}]},
    "not-an-object": "[1, 2]",
    "name-not-string": {"shared": {"frames": [{"name": 5}]}, "profiles": []},
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_built_hostile_rejected(name: str, tmp_path: Path) -> None:
    f = _write(tmp_path, BUILT[name], name + ".json")
    assert_clean_failure(run_isolated(f, fmt="speedscope" if name.startswith("S08") or
                                      name == "not-an-object" else None))


def test_active_profile_index_out_of_range_ignored(tmp_path: Path) -> None:
    doc = {"$schema": speedscope.SCHEMA_URL, "activeProfileIndex": 2**64,
           "shared": {"frames": [{"name": "a"}]},
           "profiles": [{"type": "sampled", "unit": "none", "samples": [[0]], "weights": [2]}]}
    p = load_with_format(_write(tmp_path, doc))[0]
    assert "activeProfileIndex" not in p.meta.get("speedscope", {})
    assert any("activeProfileIndex" in w for w in p.meta["warnings"])


# -- names, units, threads ----------------------------------------------------------
@pytest.mark.parametrize("name,want", [
    ('Thread 8644 ""', (8644, "", None)),
    ('Thread 9565 "feed"', (9565, "feed", None)),
    ('Thread 7 "a "quoted" name" pid 12', (7, 'a "quoted" name', 12)),
    ("Wall time profile for 82848:82858", (82858, "Wall time profile for 82848:82858", 82848)),
    ("MainThread tid: 1234", (1234, "MainThread", None)),
    ("worker (tid=55)", (55, "worker", None)),
    ("one", (3, "one", None)),
])
def test_parse_thread(name: str, want: tuple) -> None:
    assert speedscope.parse_thread(name, 3) == want


@pytest.mark.parametrize("unit,want", [
    ("none", "samples/count"), ("nanoseconds", "wall/nanoseconds"),
    ("microseconds", "wall/microseconds"), ("milliseconds", "wall/milliseconds"),
    ("seconds", "wall/seconds"), ("bytes", "alloc_space/bytes"), ("furlongs", "value/furlongs"),
])
def test_units_become_sample_types(unit: str, want: str, tmp_path: Path) -> None:
    doc = {"$schema": speedscope.SCHEMA_URL, "shared": {"frames": [{"name": "a", "file": "m.py", "line": 3,
                                                                    "col": 7}]},
           "profiles": [{"type": "sampled", "name": "p", "unit": unit, "startValue": 0, "endValue": 3,
                         "samples": [[0], [0]], "weights": [1, 2]}]}
    p = load_with_format(_write(tmp_path, doc))[0]
    assert [str(s) for s in p.sample_types] == [want] and p.totals().tolist() == [3.0]
    assert p.frames == (Frame("a", "m.py", 3, "", "python"),)
    q, _ = _roundtrip(p, tmp_path)
    assert q.sample_types == p.sample_types


# -- export --------------------------------------------------------------------------
def _multi_type_profile():
    b = ProfileBuilder([SampleType("cpu", "samples"), SampleType("alloc_space", "bytes")])
    main = b.frame("main", "app.py", 1, kind="python")
    work = b.frame('we"ird</script>', "app.py", 9, kind="python")
    leaf = b.frame("malloc", "", 0, "libc.so.6", "native")
    t0 = b.thread(11, "MainThread", 5)
    t1 = b.thread(12, "pool")
    b.add(b.stack([main, work]), [3, 0], t0)
    b.add(b.stack([main, work, leaf]), [0, 4096], t0)
    b.add(b.stack([main]), [2, 0], t1)
    return b.build()


def test_dump_one_profile_per_thread_and_type(tmp_path: Path) -> None:
    p = _multi_type_profile()
    q, doc = _roundtrip(p, tmp_path)
    assert [x["name"] for x in doc["profiles"]] == [
        'Thread 11 "MainThread" pid 5 [cpu/samples]', 'Thread 11 "MainThread" pid 5',
        'Thread 12 "pool" [cpu/samples]']
    assert [x["unit"] for x in doc["profiles"]] == ["none", "bytes", "none"]
    assert doc["shared"]["frames"][2] == {"name": "malloc", "file": "libc.so.6"}
    assert q.sample_types == p.sample_types and q.threads == p.threads
    assert _stacks(q) == _stacks(p)
    # one type only
    r, doc = _roundtrip(p, tmp_path, sample_type="alloc_space")
    assert len(doc["profiles"]) == 1 and r.sample_types == (SampleType("alloc_space", "bytes"),)
    assert r.totals().tolist() == [4096.0]


def test_timed_profile_roundtrips_as_evented(tmp_path: Path) -> None:
    b = ProfileBuilder([SampleType("wall", "nanoseconds")])
    a, c, d = (b.frame(n, "x.py", i + 1, kind="python") for i, n in enumerate("acd"))
    t = b.thread(1, "main")
    # contiguous, a repeated stack, then a gap of 5 ns
    for stack, v, at in (([a, c], 10, 0), ([a, c], 5, 10), ([a, d], 5, 15), ([a], 1, 25)):
        b.add(b.stack(stack), v, t, at / 1e9)
    p = b.build()
    q, doc = _roundtrip(p, tmp_path)
    assert doc["profiles"][0]["type"] == "evented"
    assert equivalent(p, q) and q.n_samples == 4
    assert np.array_equal(q.sample_time, p.sample_time) and np.array_equal(q.values, p.values)
