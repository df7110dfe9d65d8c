"""Every export reads back (issue 16): a property test over every writable format.

For any profile the model accepts (a hypothesis strategy over frames with any code
point in their text, surrogates, NUL, newlines and ``;`` included; negative and huge
line numbers; threads with negative and 64-bit ids and pids; counts of 2**63 and
more; fractional values; several sample types), every writer in the registry either

* writes a file that its own importer reads back equal, within the precision the
  format documents (:func:`held`: what the format keeps of a profile), or
* refuses with one :class:`FlamekitError` line, leaving no file behind;

and ``flamekit convert`` (the CLI) does the same with exit 0 or 2. Values the model
itself refuses (ids, pids and lines beyond int64) are refused by
:meth:`Profile.check` with a one-line message. CSV is export only: it must parse
back as CSV with one value per stack and thread.

Bounded: ``max_examples`` and no per-example deadline, so the file runs in the
normal suite in about 10 s.
"""
from __future__ import annotations

import contextlib
import csv
import io
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flamekit.cli import main
from flamekit.errors import FlamekitError
from flamekit.formats import dump, load_with_format, names
from flamekit.model import KINDS, ModelError, Profile, ProfileBuilder, SampleType, valid_text
from flamekit.formats._kinds import frame_kind

I64 = 2**63
SPECIAL = [";", "a;b", "\n", "x\ry", "\x00", " ", "", "\ud800", "a\udfffb", "thread (5)",
           'process 1:"x"', "f (a.py:3)", "x_[k]", "\\x3b", "a b 12", "[x]", "\u202e", "\U0001f600"]
TEXT = st.one_of(st.sampled_from(SPECIAL),
                 st.text(st.characters(blacklist_categories=()), max_size=5))
LINES = st.one_of(st.integers(-3, 40), st.sampled_from([I64 - 1, -I64, 2**53 + 1]))
IDS = st.one_of(st.integers(0, 9), st.sampled_from([-1, I64 - 1, -I64, 2**32 + 7]))
TYPES = [SampleType("samples", "count"), SampleType("cpu", "nanoseconds"),
         SampleType("alloc_space", "bytes"), SampleType("wall", "seconds"),
         SampleType("odd name;", "things")]
VALUES = st.one_of(st.integers(0, 50).map(float),
                   st.sampled_from([0.5, 0.1, 2.0**53, 2.0**53 + 2, 2.0**63, 2.0**64, 1e30, -3.0]),
                   st.floats(0, 1e6))


@st.composite
def profiles(draw) -> Profile:
    """A valid profile: 1-2 sample types, 1-3 threads, up to 6 samples of depth 1-4."""
    types = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=2, unique=True))
    b = ProfileBuilder(types)
    frames = [b.frame(draw(TEXT), draw(st.one_of(st.just(""), TEXT, st.just("m.py"))),
                      draw(LINES), draw(st.one_of(st.just(""), TEXT)), draw(st.sampled_from(KINDS)))
              for _ in range(draw(st.integers(1, 4)))]
    threads = [b.thread(draw(IDS), draw(st.one_of(st.just(""), TEXT)),
                        draw(st.one_of(st.none(), IDS))) for _ in range(draw(st.integers(1, 3)))]
    timed = draw(st.booleans())
    for i in range(draw(st.integers(1, 6))):
        stack = b.stack(draw(st.lists(st.sampled_from(frames), min_size=1, max_size=4)))
        vals = [draw(VALUES) for _ in types]
        b.add(stack, vals, draw(st.sampled_from(threads)), float(i) * 0.01 if timed else None)
    return b.build()


# -- what each format holds ------------------------------------------------------------------
def _frame_key(fmt: str, f) -> tuple:
    if fmt == "folded":  # name (file:line); kinds only as _[k]/_[j]/_[i]
        kind = f.kind if f.kind in ("kernel", "jit", "inlined") else frame_kind(f.file)
        return f.name, f.file, f.line, kind
    if fmt == "speedscope":  # name, file (the module when there is no file), line
        return f.name, f.file or f.module, f.line
    if fmt == "pprof":  # a function without a name reads as pprof's "<unknown>"
        return f.name or "<unknown>", f.file, f.line, f.module
    return f.name, f.file, f.line, f.module, f.kind


def _thread_keys(fmt: str, p: Profile) -> list[tuple]:
    if fmt == "folded":  # py-spy's root frames: a thread is its (pid, tid); names checked apart
        return [(t.id, t.pid) for t in p.threads]
    return [(t.id, t.name, t.pid) for t in p.threads]


def _unique_thread_names(p: Profile) -> dict[tuple, str]:
    """(tid, pid) -> name, for threads that are alone with their (tid, pid) and have values."""
    used = {int(t) for t, v in zip(p.sample_thread.tolist(), p.values[:, 0]) if v != 0}
    ids = [(t.id, t.pid) for t in p.threads]
    return {ids[i]: t.name for i, t in enumerate(p.threads) if ids.count(ids[i]) == 1 and i in used}


def _stack_key(fmt: str, p: Profile, s: int) -> tuple:
    keys = [_frame_key(fmt, p.frames[f]) for f in p.stack_frames(s)]
    if fmt == "pprof":  # an inlined frame shares its caller's location, so its mapping
        fr = [p.frames[f] for f in p.stack_frames(s)]
        for i in range(1, len(fr)):
            if fr[i].kind == "inlined":
                keys[i] = keys[i][:3] + (keys[i - 1][3],)
    return tuple(keys)


_TO_NS = {"seconds": 1e9, "milliseconds": 1e6, "microseconds": 1e3}


def held(p: Profile, fmt: str) -> dict[tuple, float]:
    """(thread, stack, sample type) -> summed value, as the format keeps it; zeros dropped
    (a type whose samples are all zero may vanish: speedscope writes no profile for it)."""
    cols = [0] if fmt == "folded" else list(range(len(p.sample_types)))
    types = [str(p.sample_types[k]) for k in cols]
    vals = p.values[:, cols].copy()
    if fmt == "pprof":  # int64 values: fractional time becomes whole nanoseconds, per sample
        for j, k in enumerate(cols):
            st_ = p.sample_types[k]
            if st_.unit in _TO_NS and not np.all(vals[:, j] == np.round(vals[:, j])):
                vals[:, j] = np.round(vals[:, j] * _TO_NS[st_.unit])
                types[j] = f"{st_.name}/nanoseconds"
    out: dict[tuple, np.ndarray] = {}
    tkeys = _thread_keys(fmt, p)
    for s, t, v in zip(p.sample_stack.tolist(), p.sample_thread.tolist(), vals):
        key = (tkeys[t], _stack_key(fmt, p, s))
        out[key] = out.get(key, 0) + v
    scale = {"seconds": 1e6, "milliseconds": 1e3, "microseconds": 1.0}.get(p.sample_types[0].unit)
    if fmt == "folded" and scale and not all(np.all(v == np.round(v)) for v in out.values()):
        out = {k: np.round(v * scale) for k, v in out.items()}  # documented: whole microseconds
        types = ["samples/count"]
    if fmt == "folded":
        types = ["samples/count"]  # folded files carry no sample type
    return {k + (types[j],): float(x) for k, v in out.items() for j, x in enumerate(v.tolist())
            if x != 0}


def _types(p: Profile, fmt: str) -> list[SampleType]:
    return [p.sample_types[0]] if fmt == "folded" else list(p.sample_types)


def _same(a: dict, b: dict, rel: float) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=rel) for k in a)


def _check_format(p: Profile, fmt: str, path: Path) -> str:
    """Write ``p`` as ``fmt`` and read it back; return "ok" or "refused"."""
    try:
        dump(p, path, fmt)
    except FlamekitError as e:
        msg = str(e)
        assert msg and "\n" not in msg, (fmt, msg)
        assert not path.exists(), f"{fmt} refused but left {path.name}"
        return "refused"
    e = valid_text(p)[0]
    if fmt == "csv":  # export only: valid CSV, one row per (thread, stack), exact numbers
        rows = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
        assert len(rows[0]) == 6 + len(e.sample_types)
        want: dict[tuple, np.ndarray] = {}
        for s_, t, v in zip(e.sample_stack.tolist(), e.sample_thread.tolist(), e.values):
            key = (s_, t)
            want[key] = want.get(key, 0) + v
        assert len(rows) == 1 + len(want)
        got_rows = sorted((r[0], r[3], tuple(float(x) for x in r[6:])) for r in rows[1:])
        exp_rows = sorted((str(e.threads[t].id), str(len(e.stack_frames(s_))),
                           tuple(v.tolist())) for (s_, t), v in want.items())
        assert got_rows == exp_rows
        return "ok"
    q, got_fmt = load_with_format(path)
    assert got_fmt == fmt
    if fmt == "native":
        assert q == e
        return "ok"
    want, got = held(e, fmt), held(q, fmt)
    assert _same(want, got, 1e-15), f"{fmt} changed the profile:\nwant {want}\ngot  {got}"
    if fmt == "folded":
        names_back = {(t.id, t.pid): t.name for t in q.threads}
        for key, name in _unique_thread_names(e).items():
            assert names_back[key] == name, (key, name, names_back)
    return "ok"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_export_reads_back_or_refuses(data, tmp_path_factory) -> None:
    try:
        p = data.draw(profiles())
    except ModelError as e:  # ids, pids and lines beyond int64: the model's own refusal
        assert "\n" not in str(e) and "64-bit" in str(e), str(e)
        return
    tmp = tmp_path_factory.mktemp("rt")
    for fmt in names(writable=True):
        _check_format(p, fmt, tmp / f"out.{fmt}")


def test_a_plain_profile_is_written_by_every_format(tmp_path: Path) -> None:
    """Refusing is allowed only for what a format cannot hold: plain profiles all pass."""
    b = ProfileBuilder([SampleType("samples", "count"), SampleType("alloc_space", "bytes")])
    t = b.thread(7, "MainThread", 3)
    m, w = b.frame("main", "app.py", 1, "", "python"), b.frame("work", "app.py", 5, "", "python")
    b.add(b.stack([m, w]), [3, 100], t)
    b.add(b.stack([m]), [2, 0], t)
    p = b.build()
    for fmt in names(writable=True):
        assert _check_format(p, fmt, tmp_path / f"p.{fmt}") == "ok", fmt


def test_model_refuses_ids_and_lines_beyond_int64() -> None:
    for make in (lambda b: b.thread(2**64, "t"), lambda b: b.thread(1, "t", -2**63 - 1),
                 lambda b: b.frame("f", "a.py", 2**63)):
        b = ProfileBuilder([SampleType("samples", "count")])
        make(b)
        b.add(b.stack([b.frame("g")]), 1.0)
        with pytest.raises(ModelError, match="64-bit"):
            b.build()


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_convert_cli_writes_or_refuses_in_one_line(data, tmp_path_factory) -> None:
    try:
        p = data.draw(profiles())
    except ModelError:
        return
    tmp = tmp_path_factory.mktemp("cli")
    src = tmp / "in.json"
    dump(p, src, "native")
    for fmt in names(writable=True):
        out, err = io.StringIO(), io.StringIO()
        dest = tmp / f"o.{fmt}"
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["convert", str(src), "--to", fmt, "-o", str(dest)])
        assert code in (0, 2), (fmt, err.getvalue())
        if code == 2:  # (a "note:" line may come first, e.g. which sample type folded writes)
            last = err.getvalue().rstrip("\n").split("\n")[-1]
            assert last.startswith("flamekit: ") and "Traceback" not in err.getvalue()
            assert not dest.exists()
