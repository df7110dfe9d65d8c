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
