"""CSV export: sums per stack and per function, formula neutralization, pandas round trip."""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from flamekit.formats import csv_export, format_for_output, get, names
from flamekit.model import ProfileBuilder, SampleType, functions


def _profile():
    b = ProfileBuilder([SampleType("cpu", "samples"), SampleType("wall", "seconds")])
    main = b.frame("main", "bt.py", 1, "", "python")
    px = b.frame("price;fast", "px.py", 7, "", "python")
    evil = b.frame("=HYPERLINK(\"http://x\")", "", 0, "", "unknown")
    t1, t2 = b.thread(1, "MainThread", 9), b.thread(2, "-feed", 9)
    b.add(b.stack([main, px]), (3, 0.5), t1)
    b.add(b.stack([main, px]), (2, 0.25), t1)
    b.add(b.stack([main]), (1, 0.125), t2)
    b.add(b.stack([main, evil]), (4, 1.0), t1)
    return b.build()


def _rows(p, **kw):
    buf = io.BytesIO()
    csv_export.dump(p, buf, **kw)
    return buf.getvalue().decode()


def test_per_stack_rows_sum_to_totals():
    p = _profile()
    df = pd.read_csv(io.StringIO(_rows(p)))
    assert len(df) == 3  # (stack, thread) pairs
    np.testing.assert_allclose(df[["cpu/samples", "wall/seconds"]].sum().to_numpy(), p.totals())
    row = df[df["depth"] == 2].iloc[0]
    assert row["cpu/samples"] == 5 and row["stack"] == "main (bt.py:1);price\\;fast (px.py:7)"
    assert set(df["thread_name"]) == {"MainThread", "'-feed"}


def test_formula_cells_neutralized():
    text = _rows(_profile())
    for rec in csv.reader(io.StringIO(text)):
        for cell in rec:
            assert not cell.startswith(("=", "+", "@")) and not cell.startswith("-f")
    assert "'=HYPERLINK" in text


def test_per_function_rows_match_model():
    p = _profile()
    df = pd.read_csv(io.StringIO(_rows(p, rows="functions")))
    ref = functions(p, "cpu")
    for _, r in ref.iterrows():
        got = df[df["name"].str.lstrip("'") == r["name"]]
        assert got["self_cpu/samples"].item() == r["self"]
        assert got["total_cpu/samples"].item() == r["total"]
    assert df["self_cpu/samples"].sum() == p.totals()[0]


def test_one_sample_type_and_integers():
    text = _rows(_profile(), sample_type="cpu")
    assert text.splitlines()[0].endswith(",stack,cpu/samples")
    assert ".0" not in text


def test_registry_contract():
    assert not hasattr(csv_export, "sniff") and not hasattr(csv_export, "load")
    assert "csv" in names(writable=True) and "csv" not in names(readable=True)
    assert format_for_output("out.csv") is get("csv")


def test_bad_rows_option():
    with pytest.raises(ValueError):
        _rows(_profile(), rows="lines")


# --- issue 16: formula injection, as a family ---------------------------------------------

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _hostile_profile(names: list[str], type_name: str):
    from flamekit.model import ProfileBuilder as PB

    b = PB([SampleType(type_name, "samples")])
    t = b.thread(1, names[0], 9)
    root = b.frame("main", "bt.py", 1, "", "python")
    for i, n in enumerate(names):
        f = b.frame(n, n, i + 1, n, "python")
        b.add(b.stack([root, f]), (i + 1,), t)
    return b.build()


def _cells(text: str) -> list[list[str]]:
    import csv as _csv
    import io as _io

    return list(_csv.reader(_io.StringIO(text, newline="")))


def _is_number(c: str) -> bool:
    try:
        float(c)
        return True
    except ValueError:
        return False


def _assert_defused(rows: list[list[str]]) -> None:
    for row in rows:
        for c in row:
            assert _is_number(c) or not c.startswith(_FORMULA), (c, row)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as hst  # noqa: E402

_names = hst.lists(hst.tuples(hst.sampled_from(_FORMULA + ("", "'", "x")),
                              hst.text(min_size=0, max_size=12)).map(lambda t: t[0] + t[1])
                   .filter(lambda s: s.strip() != ""), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None)
@given(names=_names, first=hst.sampled_from(_FORMULA))
def test_csv_cells_are_defused_by_default_and_raw_on_request(names, first):
    import io as _io

    p = _hostile_profile(names, first + "cmd|' /C calc'!A0")
    for rows in ("stacks", "functions"):
        buf = _io.BytesIO()
        csv_export.dump(p, buf, rows=rows)
        _assert_defused(_cells(buf.getvalue().decode()))
        raw = _io.BytesIO()
        csv_export.dump(p, raw, rows=rows, raw=True)
        got = _cells(raw.getvalue().decode())
        assert got[0][-1].startswith(first) or got[0][-2].startswith("self_" + first), got[0]


def test_top_and_convert_csv_defuse_through_the_cli(tmp_path):
    import subprocess
    import sys

    from flamekit import dump as fk_dump

    names = ["=SUM(A1:A9)", "+cmd", "-2+3", "@evil", "\tTAB", "plain"]
    src = tmp_path / "hostile.json"
    fk_dump(_hostile_profile(names, "=bad"), src)

    def cli(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "flamekit", *args], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    for args in (["top", str(src), "--csv", "-n", "0"], ["convert", str(src), "--to", "csv", "-o", "-"]):
        _assert_defused(_cells(cli(*args)))
        raw = _cells(cli(*args, "--csv-raw"))
        flat = [c for row in raw for c in row]
        for n in ("=SUM(A1:A9)", "+cmd", "@evil"):
            assert any(c.startswith(n) for c in flat), (n, flat)
