"""Issue 16: every numeric option rejects nan, inf and out-of-range values (exit 2, one line).

``--fail-on-regression nan`` used to switch a CI gate off silently and ``-1`` was
accepted; ``--dispersion nan`` did the same to the statistics.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from flamekit import cli
from flamekit.cli.options import number

NAN_INF = ["nan", "NaN", "inf", "-inf", "1e999", "", "x"]

#: command prefix, option, bad values beyond NAN_INF, one good value
CASES = [
    (["diff", "a", "b"], "--fail-on-regression", ["-1", "-0.5"], "2"),
    (["diff", "a", "b"], "--min-delta", ["-1"], "0"),
    (["diff", "a", "b"], "--alpha", ["0", "1", "-0.1", "1.5"], "0.05"),
    (["diff", "a", "b"], "--dispersion", ["0", "-2"], "1.5"),
    (["compare", "--base", "x"], "--fail-on-regression", ["-1"], "1"),
    (["compare", "--base", "x"], "--runs", ["0", "-3", "1.5"], "3"),
    (["compare", "--base", "x"], "--alpha", ["0", "2"], "0.01"),
    (["record", "-o", "x.json"], "--duration", ["0", "-1"], "2.5"),
    (["record", "-o", "x.json"], "--rate", ["0", "-100", "99.5"], "100"),
    (["record", "-o", "x.json"], "--pid", ["0", "-1", "1.5"], "1"),
    (["report", "p.json"], "--prune", ["-0.1", "1.1"], "0.001"),
    (["report", "p.json"], "--min-width", ["-1"], "0.5"),
    (["report", "p.json"], "--min-share", ["-1", "101"], "0.1"),
    (["report", "p.json"], "--max-nodes", ["-1", "1.5"], "1000"),
    (["top"], "--interval", ["0", "-1"], "2"),
    (["top"], "--window", ["0"], "5"),
    (["dump"], "--pid", ["0", "-5"], "1"),
]


def _parse(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int | None, str]:
    parser = cli.build_parser()
    try:
        parser.parse_args(argv)
        code = None
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("prefix,option,bad,good", CASES, ids=[f"{c[0][0]}{c[1]}" for c in CASES])
def test_numeric_option_rejects_nonsense(prefix, option, bad, good, capsys) -> None:
    for value in NAN_INF + bad:
        code, err = _parse(prefix + [f"{option}={value}"], capsys)
        assert code == 2, (option, value, err)
        assert f"argument {option}" in err and "expected" in err, err
    code, err = _parse(prefix + [option, good], capsys)
    assert code is None or f"argument {option}" not in err, (option, good, err)


def test_range_helper_edges() -> None:
    p = number(0, 1, lo_open=True, hi_open=True)
    assert p("0.5") == 0.5
    for bad in ("0", "1", "nan"):
        with pytest.raises(Exception):
            p(bad)
    assert number(integer=True)("7") == 7


def test_gate_cannot_be_switched_off_through_the_cli(tmp_path) -> None:
    a = tmp_path / "a.folded"
    a.write_text("main;x 10\n")
    proc = subprocess.run([sys.executable, "-m", "flamekit", "diff", str(a), str(a),
                           "--fail-on-regression", "nan"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--fail-on-regression" in proc.stderr and "'nan'" in proc.stderr


@pytest.mark.parametrize("empty_side", ["base", "head"])
@pytest.mark.parametrize("runs", [1, 2])
def test_a_side_with_zero_samples_is_an_error_not_a_pass(tmp_path, empty_side, runs) -> None:
    """A gate must not pass on a failed (empty) recording: exit 2 naming the side."""
    from flamekit import dump
    from flamekit.model import ProfileBuilder, SampleType

    def prof(n: int):
        b = ProfileBuilder([SampleType("cpu", "samples")])
        t = b.thread(1, "MainThread", 1)
        if n:
            b.add(b.stack([b.frame("main", "m.py", 1, "", "python")]), (n,), t)
        return b.build()

    full = [tmp_path / f"full{i}.json" for i in range(runs)]
    for f in full:
        dump(prof(50), f)
    empty = tmp_path / "empty.json"
    dump(prof(0), empty)
    sides = {"base": [str(f) for f in full], "head": [str(f) for f in full]}
    sides[empty_side][-1] = str(empty)
    args = ["diff", *sides["base"][:1], *sides["head"][:1], "--fail-on-regression", "1"]
    if runs > 1:
        args = ["diff", "--base", *sides["base"], "--head", *sides["head"], "--fail-on-regression", "1"]
    proc = subprocess.run([sys.executable, "-m", "flamekit", *args], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert f"{empty_side} " in proc.stderr and "no samples" in proc.stderr, proc.stderr
