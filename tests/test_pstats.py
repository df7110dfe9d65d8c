"""cProfile / pstats importer: ground truth against the stdlib's ``pstats``, generated
call graphs (cycles, DAG blow-up, deep chains), and hostile marshal data."""
from __future__ import annotations

import marshal
from json import loads as json_loads
import pstats as std_pstats
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DATA, HOSTILE, subtree_total, require_corpus
from flamekit.errors import FormatError
from flamekit.formats import load_with_format
from flamekit.formats import pstats as fk_pstats
from hostile_util import assert_clean_failure, assert_ok, run_isolated

FIXTURES = sorted((DATA / "cprofile").glob("*/*.pstats"))


def _self_by_key(p) -> dict:
    """Self time per (file, line, name) summed over the tree (builtins have file '~')."""
    leaf = p.stack_frame[p.sample_stack]
    per = np.bincount(leaf, weights=p.values[:, 0], minlength=len(p.frames))
    out: dict = {}
    for f, v in zip(p.frames, per):
        key = (f.file or "~", f.line, f.name)
        out[key] = out.get(key, 0.0) + float(v)
    return out


@pytest.mark.parametrize("path", FIXTURES, ids=lambda x: x.name)
def test_self_time_per_function_is_exact(path: Path):
    p, fmt = load_with_format(path)
    assert fmt == "pstats"
    stats = std_pstats.Stats(str(path)).stats
    got = _self_by_key(p)
    for key, (cc, nc, tt, ct, callers) in stats.items():
        if tt > 0:
            assert got.get(key, 0.0) == pytest.approx(tt, rel=1e-9, abs=1e-12), key
    assert p.totals()[0] == pytest.approx(sum(v[2] for v in stats.values()), rel=1e-9)
    assert "approximate" in p.meta and p.meta["tool"] == "cProfile"
    assert p.meta["warnings"][0] == fk_pstats.APPROXIMATE_NOTE


def test_cpu_split_subtrees_match_cumulative_times():
    path = DATA / "cprofile" / "3.11.7" / "cpu_split.pstats"
    p = fk_pstats.load(path)
    stats = std_pstats.Stats(str(path)).stats
    ct = {k[2]: v[3] for k, v in stats.items() if k[0].endswith("cpu_split.py")}
    hot, cold = subtree_total(p, "price_options"), subtree_total(p, "update_risk")
    # one caller each: the whole cumulative time lands under each function
    assert hot == pytest.approx(ct["price_options"], rel=1e-6)
    assert cold == pytest.approx(ct["update_risk"], rel=1e-6)
    # _burn is shared: its time is split 70/30 by the per-caller cumulative times
    burn = [(k, v) for k, v in stats.items() if k[2] == "_burn"][0][1]
    by_caller = {k[2]: v[3] for k, v in burn[4].items()}
    share = by_caller["price_options"] / sum(by_caller.values())
    assert 0.6 < share < 0.8  # the workload spends 70 % of its CPU in price_options
    assert hot / (hot + cold) == pytest.approx(ct["price_options"] / (ct["price_options"]
                                                                      + ct["update_risk"]))


def test_recursion_is_cut_and_said():
    p = fk_pstats.load(DATA / "cprofile" / "3.11.7" / "recursive.pstats")
    assert any("recursive/cyclic call edge" in w for w in p.meta["warnings"])
    for s in set(p.sample_stack.tolist()):
        fr = p.stack_frames(s)
        assert len(fr) == len(set(fr)), "a path of the rebuilt tree repeats a function"
    names = {p.frames[f].name for f in p.stack_frame[p.sample_stack]}
    assert {"fib", "is_even", "is_odd"} <= names


# -- generated call graphs --------------------------------------------------------------
def _key(i: int) -> tuple:
    return (f"/src/m{i % 3}.py", i + 1, f"f{i}")


@st.composite
def _graphs(draw):
    n = draw(st.integers(1, 10))
    int_callers = draw(st.booleans())  # the pure-Python profile module writes counts
    stats = {}
    for c in range(n):
        callers = {}
        for g in draw(st.lists(st.integers(0, n - 1), max_size=4, unique=True)):
            calls = draw(st.integers(0, 50))
            t = draw(st.sampled_from([0.0, 0.001, 0.5, 2.0]))
            callers[_key(g)] = calls if int_callers else (calls, calls, t / 2, t)
        tt = draw(st.sampled_from([0.0, 1e-6, 0.25, 1.0, 3.5]))
        stats[_key(c)] = (1, 1, tt, tt * 2, callers)
    return stats


@settings(max_examples=80, deadline=None)
@given(_graphs())
def test_generated_graphs_conserve_self_time(stats):
    p = fk_pstats.from_stats(stats).check()
    got = _self_by_key(p)
    for key, v in stats.items():
        assert got.get(key, 0.0) == pytest.approx(v[2], rel=1e-9, abs=1e-12)
    for s in set(p.sample_stack.tolist()):
        fr = p.stack_frames(s)
        assert len(fr) == len(set(fr))


def test_truncation_at_every_offset_is_a_clean_error(tmp_path):
    data = (DATA / "cprofile" / "3.11.7" / "recursive.pstats").read_bytes()
    f = tmp_path / "cut.pstats"
    for n in list(range(1, 200)) + list(range(200, len(data), 97)):
        f.write_bytes(data[:n])
        with pytest.raises(FormatError) as e:
            load_with_format(f, "pstats")
        assert not getattr(e.value, "unexpected", False), (n, str(e.value))


# -- hostile files, loaded in an isolated, limited child ---------------------------------
def test_corpus_hostile_files():
    h = HOSTILE / "pstats"
    out = run_isolated(h / "PS01-python2-marshal.pstats")
    assert_clean_failure(out, contains="Python 2")
    assert_clean_failure(run_isolated(h / "PS03-code-object.pstats"), contains="code object")
    assert_clean_failure(run_isolated(h / "PS05-bad-shapes.pstats"), contains="call count -1")
    out = run_isolated(h / "PS07-shared-ref-dag.pstats")
    assert_clean_failure(out)  # a walk of its 2**60 paths would never end: run_isolated's 10 s timeout
    assert out["seconds"] < 5  # flamekit's import included (1.5-2.7 s on this machine under load)


def test_realworld_pstats_files():
    real = require_corpus("realworld/pstats")
    assert_clean_failure(run_isolated(real / "gprof2dot__cProfile-py2-2007.pstats"),
                         contains="Python 2")
    ok = run_isolated(real / "gprof2dot__print1.pstats")
    assert_ok(ok)
    assert ok["n_frames"] == 11


def _diamonds(levels: int) -> dict:
    """Each level has two functions, each called by both of the level above: 2^levels paths."""
    stats = {("/d.py", 1, "root"): (1, 1, 0.0, 1.0, {})}
    above = [("/d.py", 1, "root")]
    for lv in range(levels):
        here = [("/d.py", 10 * lv + 2 + j, f"l{lv}_{j}") for j in range(2)]
        for k in here:
            stats[k] = (2, 2, 1.0, 1.0, {a: (1, 1, 0.5, 0.5) for a in above})
        above = here
    return stats


def _chain(n: int) -> dict:
    stats = {("/c.py", 1, "f0"): (1, 1, 1.0, 1.0, {})}
    for i in range(1, n):
        stats[("/c.py", i + 1, f"f{i}")] = (1, 1, 1.0, 1.0, {("/c.py", i, f"f{i - 1}"):
                                                           (1, 1, 1.0, 1.0)})
    return stats


BUILT = {
    "PS02-wrong-toplevel": (marshal.dumps([1, 2, 3]), "fail:must be a dict"),
    "PS04-truncated": (marshal.dumps(_chain(5))[:-7], "fail:truncated"),
    "PS06-list-size-bomb": (b"{)\x03" + b"[" + struct.pack("<i", 0x7FFFFFFF), "fail:impossible"),
    "huge-count": (marshal.dumps({("/a.py", 1, "f"): (2**70, 1, 1.0, 1.0, {})}),
                   "fail:out of range"),
    "nan-time": (marshal.dumps({("/a.py", 1, "f"): (1, 1, float("nan"), 1.0, {})}),
                 "fail:finite"),
    "bad-caller-shape": (marshal.dumps({("/a.py", 1, "f"): (1, 1, 1.0, 1.0,
                                                           {("/a.py", 1, "f"): (1, 2)})}),
                         "fail:4-tuple"),
    "time-overflow": (marshal.dumps({("/a.py", i, "f"): (1, 1, 1e308, 1e308, {})
                                     for i in range(3)}), "fail:overflow"),
    "cycle-without-root": (marshal.dumps({
        ("/a.py", 1, "a"): (1, 1, 1.0, 2.0, {("/a.py", 2, "b"): (1, 1, 1.0, 2.0)}),
        ("/a.py", 2, "b"): (1, 1, 2.0, 2.0, {("/a.py", 1, "a"): (1, 1, 2.0, 2.0)})}), "ok:3"),
    "deep-chain-50k": (marshal.dumps(_chain(50_000)), "ok:50000"),
    "diamond-blowup-2^40-paths": (marshal.dumps(_diamonds(40)), "ok:80"),
    "empty-dict": (marshal.dumps({}), "ok:0"),
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_built_hostile(name, tmp_path):
    data, want = BUILT[name]
    f = tmp_path / f"{name}.pstats"
    f.write_bytes(data)
    # a marshal'd list is not claimed by detection: name the format to reach the shape check
    out = run_isolated(f, fmt="pstats" if name.startswith("PS02") else None, timeout=30)
    assert not out["timed_out"] and not out["crashed"], out
    kind, _, arg = want.partition(":")
    if kind == "fail":
        assert_clean_failure(out, contains=arg)
    else:
        if name == "empty-dict":
            assert out["ok"] or out["error_type"] == "FormatError", out
            return
        assert_ok(out)
        assert out["format"] == "pstats"
        assert out["totals"][0] == pytest.approx(float(arg))
        if name.startswith("diamond"):
            assert any("capped" in w for w in out["warnings"]), out["warnings"]


# -- every view says the tree is approximate ------------------------------------------
def test_views_say_approximate(tmp_path, capsys):
    from html.parser import HTMLParser

    from flamekit import cli

    src = str(DATA / "cprofile" / "3.11.7" / "recursive.pstats")
    assert cli.main(["top", src, "-n", "3"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("note: approximate call tree")
    assert cli.main(["info", src]) == 0
    assert "approximate call tree" in capsys.readouterr().out
    assert cli.main(["info", src, "--json"]) == 0
    assert json_loads(capsys.readouterr().out)["meta"]["approximate"] == fk_pstats.APPROXIMATE_NOTE
    html = tmp_path / "r.html"
    assert cli.main(["report", src, "-o", str(html)]) == 0

    class Find(HTMLParser):
        on, text = False, ""

        def handle_starttag(self, tag, attrs):
            self.on = dict(attrs).get("id") == "fk-approximate"

        def handle_endtag(self, tag):
            self.on = False

        def handle_data(self, data):
            if self.on:
                self.text += data

    finder = Find()
    finder.feed(html.read_text())
    assert finder.text == fk_pstats.APPROXIMATE_NOTE
    svg = tmp_path / "r.svg"
    assert cli.main(["convert", src, "-o", str(svg)]) == 0
    assert "approximate call tree" in svg.read_text()
    # a sampled profile says nothing of the kind
    assert cli.main(["top", str(DATA / "py-spy" / "0.4.3" / "cpu_split.speedscope.json")]) == 0
    assert "approximate" not in capsys.readouterr().out


def test_cli_hostile_is_one_line_exit_2(tmp_path):
    import subprocess
    import sys

    f = tmp_path / "bomb.pstats"
    f.write_bytes(b"{)\x03[" + struct.pack("<i", 0x7FFFFFFF))
    proc = subprocess.run([sys.executable, "-m", "flamekit", "top", str(f)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("flamekit: ") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
