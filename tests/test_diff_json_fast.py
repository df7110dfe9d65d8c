"""The diff JSON's compact rows are written a column at a time (``diff_json.rows_text``):
the text must be exactly what ``json.dumps`` writes for the same rows (issue 15).

Ground truth is :func:`json.dumps` itself, on small random tables (hostile strings:
quotes, backslashes, control characters, non-ASCII, lone surrogates; floats at the
edges of their range, negative zero, None; big integers; booleans) and on real diffs
(regressions, new and gone functions, run times, a memory diff, a row limit).
"""
from __future__ import annotations

import json
import random

import numpy as np

from flamekit.analysis.diff import diff
from flamekit.analysis.memory_diff import exact_memory
from flamekit.model import ProfileBuilder, SampleType
from flamekit.render import diff_json

ALPHABET = ['a', 'Z', '"', '\\', '\n', '\t', '\x00', '\x1f', '\x7f', 'é', '→', '\u2028', '\ud800',
            '😀', ' ', ',', ':', '%', '%s', '{', ']']
FLOATS = [0.0, -0.0, 1.0, -1.5, 1e300, -1e-300, 5e-324, 1 / 3, 123456789.123, 2.0 ** 60]


def _value(rng: random.Random, kind: str):
    if kind == "str":
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(6)))
    if kind == "int":
        return rng.choice([0, -1, 7, 2 ** 63 - 1, -(2 ** 70), rng.randrange(-10 ** 6, 10 ** 6)])
    if kind == "bool":
        return rng.random() < 0.5
    v = rng.choice(FLOATS + [None, rng.uniform(-1e6, 1e6), rng.random() * 1e-9])
    return v


def _plain(names: list[str], cols: list[list]) -> str:
    rows = [dict(zip(names, vals)) for vals in zip(*cols)]
    return json.dumps(rows, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def test_rows_text_is_json_dumps_on_random_tables():
    rng = random.Random(15)
    text_names = sorted(diff_json._TEXT_COLUMNS)
    for trial in range(200):
        n = rng.choice([0, 1, 2, 5, 17])
        spec = [(c, "str") for c in rng.sample(text_names, rng.randrange(1, len(text_names) + 1))]
        spec += [(f"f{i}_{trial % 3}", rng.choice(["float", "int", "bool"])) for i in range(rng.randrange(8))]
        rng.shuffle(spec)  # the text sorts the keys itself
        names = [c for c, _ in spec]
        cols = [[_value(rng, kind) for _ in range(n)] for _, kind in spec]
        assert diff_json.rows_text(names, cols) == _plain(names, cols), (names, cols)


def _prof(stacks: dict[tuple, float], unit: str = "samples"):
    b = ProfileBuilder([SampleType("cpu" if unit == "samples" else "peak_space", unit)])
    for names, v in stacks.items():
        b.add(b.stack([b.frame(n, "app.py", 10 + len(n), kind="python") for n in names]), float(v))
    return b.build(meta={"duration_s": 2.0})


def _random_pair(rng: random.Random, unit: str = "samples"):
    names = [f"f{i}" + rng.choice(["", '"q"', "\\", "é", "\x01"]) for i in range(12)]
    a, b = {}, {}
    for _ in range(30):
        path = ("main",) + tuple(rng.sample(names, rng.randrange(1, 4)))
        if rng.random() < 0.8:
            a[path] = a.get(path, 0) + rng.randrange(1, 400)
        if rng.random() < 0.8:
            b[path] = b.get(path, 0) + rng.randrange(1, 400)
    b[("main", "brand_new")] = 500
    return _prof(a, unit), _prof(b, unit)


def test_dumps_is_json_dumps_of_to_dict_on_random_diffs():
    rng = random.Random(5)
    for trial in range(12):
        base, head = _random_pair(rng)
        res = diff(base, head)
        assert res.counts().get("new", 0) >= 1
        for limit in (3, None):
            want = json.dumps(diff_json.to_dict(res, limit), sort_keys=True, ensure_ascii=False,
                              allow_nan=False, separators=(",", ":")) + "\n"
            assert diff_json.dumps(res, limit) == want
        assert json.loads(diff_json.dumps(res, indent=2)) == json.loads(want)  # the indented way


def test_dumps_of_a_memory_diff_is_json_dumps():
    base, head = _random_pair(random.Random(9), unit="bytes")
    res = exact_memory(diff(base, head), None)
    assert "delta_bytes" in res.table.columns
    want = json.dumps(diff_json.to_dict(res), sort_keys=True, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")) + "\n"
    assert diff_json.dumps(res) == want
    assert np.isfinite([r["delta_bytes"] for r in json.loads(want)["functions"]]).all()
