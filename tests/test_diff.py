"""flamekit diff: statistics, identity, normalization, Markdown, JSON, HTML payload and CLI."""
from __future__ import annotations

import json
import math
import os
import re

import numpy as np
import pytest

import flamekit
from flamekit.analysis.diff import diff
from flamekit.analysis.normalize import DEFAULT_RULES, normalize_text
from flamekit.analysis.stats import benjamini_hochberg, t_two_sided
from flamekit.cli import main
from flamekit.model import ProfileBuilder, SampleType, empty_profile
from flamekit.render import diff_json, markdown

CPU = SampleType("cpu", "samples")


def prof(stacks: dict[tuple, float], types=(CPU,), meta=None, line_shift: int = 0,
         file="app.py"):
    """Build a profile from {(frame names...): count or (counts per type)}; lines from names."""
    b = ProfileBuilder(list(types))
    for names, v in stacks.items():
        fids = [b.frame(n, file, 10 * (1 + sum(map(ord, n)) % 50) + line_shift, kind="python")
                for n in names]
        b.add(b.stack(fids), v if isinstance(v, tuple) else float(v))
    return b.build(meta=meta or {})


BASE = {("main", "load"): 100, ("main", "price"): 500, ("main", "price", "sqrt"): 200,
        ("main", "risk"): 200}


def row(res, name):
    t = res.table
    r = t[t["name"] == name]
    assert len(r) == 1, (name, t[["name", "file"]])
    return r.iloc[0]


# ---------------------------------------------------------------------------
# algebra and exact figures
# ---------------------------------------------------------------------------
def test_diff_of_a_profile_with_itself_is_all_zero():
    p = prof(BASE)
    res = diff(p, p)
    t = res.table
    assert (t["delta_self"] == 0).all() and (t["delta_total"] == 0).all()
    assert (t["status"] == "unchanged").all()
    assert not t["regression"].any() and not t["improvement"].any()
    assert (t["p_value"] == 1.0).all()
    assert res.verdict == "no-change"
    # several identical runs per side: Welch path, still all zero
    res = diff([p, p, p], [p, p])
    assert res.method == "welch" and (res.table["p_value"] == 1.0).all()
    assert res.verdict == "no-change"


def test_an_empty_side_is_an_error_naming_it():
    """Issue 16: an empty side used to give "no-change" (a CI gate passed on a failed recording)."""
    from flamekit.errors import UsageError

    e = empty_profile((CPU,))
    for b, h, side in ((e, e, "base"), (e, prof(BASE), "base"), (prof(BASE), e, "head")):
        with pytest.raises(UsageError, match=f"^{side} .* has no samples"):
            diff(b, h)


def test_shares_deltas_status_and_binomial_p_value():
    head = dict(BASE)
    head[("main", "audit")] = 250          # new: 250 / 1250 = 20 %
    del head[("main", "load")]             # gone
    a, b = prof(BASE), prof(head)
    res = diff(a, b, dispersion=1.0)
    assert res.method == "binomial" and res.dispersion == 1.0
    r = row(res, "audit")
    assert r["status"] == "new" and r["regression"]
    assert r["base_self"] == 0 and r["head_self"] == pytest.approx(100 * 250 / 1150)
    assert math.isinf(r["ratio"])
    # two-proportion z with the pooled proportion, by hand
    n1, n2, x2 = 1000, 1150, 250
    pbar = x2 / (n1 + n2)
    z = (x2 / n2) / math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    assert r["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-9)
    g = row(res, "load")
    assert g["status"] == "gone" and g["improvement"] and g["head_total"] == 0
    assert g["base_total"] == pytest.approx(10.0)
    pr = row(res, "price")  # total includes sqrt
    assert pr["base_total"] == pytest.approx(70.0) and pr["base_self"] == pytest.approx(50.0)
    assert res.verdict == "regression"
    assert res.regressions().iloc[0]["name"] == "audit"


def test_min_delta_and_alpha_gate_regressions():
    head = dict(BASE)
    head[("main", "audit")] = 8  # ~0.8 pp: real (huge n below) but under min_delta
    big = {k: v * 1000 for k, v in BASE.items()}
    bigh = {k: v * 1000 for k, v in head.items()}
    res = diff(prof(big), prof(bigh), dispersion=1.0)
    r = row(res, "audit")
    assert r["p_value"] < 1e-6 and r["delta_self"] < 1.0 and not r["regression"]
    assert not r["tested"] and r["q_value"] == 1.0  # could never reach min_delta: filtered
    res = diff(prof(big), prof(bigh), dispersion=1.0, min_delta=0.5)
    assert row(res, "audit")["regression"]
    # tiny n: large delta but not significant
    small = {k: v / 50 for k, v in BASE.items()}
    smallh = dict(small)
    smallh[("main", "audit")] = 1
    res = diff(prof(small), prof(smallh), dispersion=1.0)
    assert row(res, "audit")["delta_self"] > 1.0 and not row(res, "audit")["regression"]


def test_dispersion_is_estimated_and_shrinks_significance():
    # six functions whose shares wobble far more than binomial noise allows
    names = ["f%d" % i for i in range(6)]
    a = prof({("main", n): 10000 for n in names})
    b = prof({("main", n): 10000 * (1.1 if i % 2 else 0.9) for i, n in enumerate(names)})
    res = diff(a, b)
    assert res.dispersion > 10 and "estimated" in res.dispersion_source
    assert res.verdict == "no-change"
    fixed = diff(a, b, dispersion=1.0)
    assert fixed.verdict != "no-change"


def test_moderated_welch_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(7)
    runs_a, runs_b = [], []
    for k in range(4):
        runs_a.append(prof({("main", "x"): 1000 + rng.integers(-600, 600), ("main", "y"): 1000}))
    for k in range(3):
        runs_b.append(prof({("main", "x"): 1600 + rng.integers(-600, 600), ("main", "y"): 1000}))
    res = diff(runs_a, runs_b)
    assert res.method == "welch"
    share = lambda p: 100 * float(p.values[[p.frames[p.stack_frame[s]].name == "x"  # noqa: E731
                                            for s in p.sample_stack], 0].sum()) / p.values.sum()
    sa, sb = [share(p) for p in runs_a], [share(p) for p in runs_b]
    na = [float(p.values.sum()) for p in runs_a]
    nb = [float(p.values.sum()) for p in runs_b]
    # H0 share pooled over all runs (weighted by samples); sampling variance per run at it
    pooled = (np.dot(sa, na) + np.dot(sb, nb)) / (sum(na) + sum(nb))
    fa = np.mean([pooled * (100 - pooled) / n for n in na])
    fb = np.mean([pooled * (100 - pooled) / n for n in nb])
    # each side's variance pulled toward phi x sampling variance with 4 prior degrees of
    # freedom (phi = 1 here: fewer than 3 well-sampled functions to estimate it from)
    d0 = 4.0
    va = max((d0 * fa + 3 * np.var(sa, ddof=1)) / (d0 + 3), fa) / 4
    vb = max((d0 * fb + 2 * np.var(sb, ddof=1)) / (d0 + 2), fb) / 3
    df = (va + vb) ** 2 / (va ** 2 / (d0 + 3) + vb ** 2 / (d0 + 2))
    want = 2 * stats.t.sf(abs(np.mean(sb) - np.mean(sa)) / math.sqrt(va + vb), df)
    assert row(res, "x")["p_value_self"] == pytest.approx(want, rel=1e-6)
    assert row(res, "x")["base_self"] == pytest.approx(np.mean(sa))
    # the moderated test is sharper than plain Welch with 2-3 degrees of freedom per side
    assert want < stats.ttest_ind(sb, sa, equal_var=False).pvalue


def test_t_tail_and_bh_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    t = np.array([0.0, 0.3, 1.0, 2.5, 4.0, 12.0, 60.0])
    for df in (1.0, 2.0, 3.7, 10.0, 250.0, math.inf):
        got = t_two_sided(t, np.full(len(t), df))
        want = 2 * stats.t.sf(t, df)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-300)
    p = np.random.default_rng(3).random(200) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p), rtol=1e-12)


# ---------------------------------------------------------------------------
# identity and normalization
# ---------------------------------------------------------------------------
def test_moved_lines_are_not_new_code_by_function_but_are_by_line():
    a, b = prof(BASE), prof(BASE, line_shift=7)
    res = diff(a, b)
    assert (res.table["status"] == "unchanged").all() and res.verdict == "no-change"
    res = diff(a, b, by="line")
    assert {"new", "gone"} <= set(res.table["status"])
    res = diff(a, prof(BASE, file="other.py"), by="file")
    assert set(res.table["status"]) == {"new", "gone"}


def test_name_normalization_rules_and_switch():
    cases = {"<function f at 0x7f3a12bc90d0>": "<function f at 0x…>",
             "<lambda_12>": "<lambda_N>", "lambda$7": "lambda$N", "closure_3": "closure_N",
             "<lambda>": "<lambda>", "price_0x1f": "price_0x1f"}
    for src, want in cases.items():
        assert normalize_text(src) == want
    assert normalize_text("/tmp/tmpab12cd_x/job.py", field="file") == "/tmp/tmpXXXXXX/job.py"
    assert normalize_text("/tmp/tmp.AbCdEf1234/j.py", field="file") == "/tmp/tmpXXXXXX/j.py"
    assert normalize_text("/srv/templates/j.py", field="file") == "/srv/templates/j.py"
    assert normalize_text("/tmp/pytest-of-ci/pytest-17/t0/j.py", field="file") == \
        "/tmp/pytest-of-ci/pytest-N/t0/j.py"
    assert {r.name for r in DEFAULT_RULES} == {"address", "generated_id", "temp_dir", "pytest_dir"}
    a = prof({("main", "<lambda_3>"): 10, ("main", "cb at 0x7ffde0a1b2c3"): 10}, file="/tmp/tmpaaaa1111/x.py")
    b = prof({("main", "<lambda_9>"): 10, ("main", "cb at 0x7ffd00000001"): 10}, file="/tmp/tmpbbbb2222/x.py")
    res = diff(a, b)
    assert (res.table["status"] == "unchanged").all()
    assert res.normalization["frames_changed"]["base"]["generated_id"] == 1
    assert res.normalization["frames_changed"]["base"]["temp_dir"] == 3
    res = diff(a, b, normalize=False)
    assert set(res.table["status"]) == {"new", "gone"}


def test_absolute_mode_uses_durations():
    a = prof(BASE, meta={"duration": 10.0})
    head = {k: v * 2 for k, v in BASE.items()}
    b = prof(head, meta={"duration": 10.0})
    rel = diff(a, b)
    assert rel.verdict == "no-change"          # same shares
    ab = diff(a, b, absolute=True, dispersion=1.0)
    r = row(ab, "price")
    assert r["base_self"] == pytest.approx(50.0) and r["head_self"] == pytest.approx(100.0)
    assert r["regression"]
    with pytest.raises(flamekit.errors.UsageError, match="duration"):
        diff(prof(BASE), b, absolute=True)


def test_allocation_sample_type_is_diffable():
    T = (CPU, SampleType("alloc_space", "bytes"))
    a = prof({("main", "load"): (10, 1000), ("main", "parse"): (10, 1000)}, types=T)
    b = prof({("main", "load"): (10, 1000), ("main", "parse"): (10, 9000)}, types=T)
    assert diff(a, b).verdict == "no-change"
    res = diff(a, b, sample_type="alloc_space")
    assert str(res.base.sample_type) == "alloc_space/bytes"
    assert row(res, "parse")["head_self"] == pytest.approx(90.0)
    with pytest.raises(flamekit.errors.UsageError, match="no sample type"):
        diff(a, b, sample_type="wall")


def test_union_tree_totals_and_vanished_nodes():
    head = dict(BASE)
    del head[("main", "load")]
    res = diff(prof(BASE), prof(head))
    t = res.tree()
    roots = t.prefix < 0
    assert t.base_total[roots].sum() == pytest.approx(100.0)
    assert t.head_total[roots].sum() == pytest.approx(100.0)
    assert (t.prefix < np.arange(len(t.prefix))).all()
    names = [res.keys[k][0] for k in t.key]
    i = names.index("load")
    assert t.head_total[i] == 0 and t.base_total[i] == pytest.approx(10.0)


# ---------------------------------------------------------------------------
# Markdown, JSON, HTML, CLI
# ---------------------------------------------------------------------------
HOSTILE = ["a|b", "x`y`z", "<script>alert(1)</script>", "line1\nline2", "**bold** [l](http://e.x)",
           "@someone", "back\\slash|", "$x$", "&lt;ent", "<img src=x onerror=alert(1)>"]


def hostile_diff():
    base = {("main", n): 10 for n in HOSTILE}
    head = {("main", n): 10 for n in HOSTILE}
    head[("main", HOSTILE[0])] = 60
    return diff(prof(base), prof(head), dispersion=1.0, min_delta=0.0, alpha=0.5)


def _tables(md_text):
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(md_text)
    rows, cur, cell = [], None, False
    for tok in tokens:
        if tok.type == "tr_open":
            cur = []
        elif tok.type == "tr_close":
            rows.append(cur)
        elif tok.type == "inline" and cur is not None and cell:
            text = "".join(c.content for c in (tok.children or []) if c.type in ("text", "code_inline"))
            kinds = {c.type for c in (tok.children or [])}
            cur.append((text, kinds))
        elif tok.type in ("td_open", "th_open"):
            cell = True
        elif tok.type in ("td_close", "th_close"):
            cell = False
    return md, tokens, rows


def test_markdown_table_and_hostile_names_stay_in_their_cells():
    res = hostile_diff()
    text = markdown.render(res)
    assert text.startswith(markdown.MARKER)
    md, tokens, rows = _tables(text)
    assert rows, "no table rendered"
    assert all(len(r) == 7 for r in rows), [len(r) for r in rows]
    names = {r[3][0] for r in rows}
    for n in HOSTILE:
        assert n.replace("\n", "⏎") in names, n
    for r in (r for r in rows if r[3][0] != "Function"):
        for text_, kinds in r[3:5]:  # function and file cells: one code span, nothing else
            assert kinds <= {"code_inline"} or text_ == "–", (text_, kinds)
    html = md.render(text)
    assert "<script>" not in html and "<img" not in html and "<a " not in html
    assert html.count("<table>") >= 2


def test_markdown_is_bounded_and_says_what_it_cut():
    base = {("main", "f%05d_" % i + "x" * 150 + "|`<"): 1 + i % 7 for i in range(3000)}
    head = {k: v * (1 + (hash(k) % 3)) for k, v in base.items()}
    res = diff(prof(base), prof(head), min_delta=0.0)
    text = markdown.render(res, min_detail_pp=0.0)
    assert len(text) <= markdown.MAX_CHARS
    assert "more rows left out" in text
    assert text.count(markdown.MARKER) == 1
    _, _, rows = _tables(text)
    assert all(len(r) == 7 for r in rows)
    small = markdown.render(res, max_chars=5000)
    assert len(small) <= 5000 and small.startswith(markdown.MARKER)


def test_json_document_is_plain_json_with_documented_fields():
    res = hostile_diff()
    text = diff_json.dumps(res)
    doc = json.loads(text)
    assert doc["schema"] == "flamekit-diff" and doc["version"] == 1
    assert set(doc) >= {"verdict", "options", "normalization", "statistics", "base", "head",
                        "counts", "regressions", "functions", "functions_omitted", "run_time"}
    f = doc["functions"][0]
    assert set(f) == {"name", "file", "line", "module", "kind", "status", "base_self", "head_self",
                      "delta_self", "base_total", "head_total", "delta_total", "ratio", "p_value",
                      "q_value", "p_value_self", "q_value_self", "p_value_total", "q_value_total",
                      "base_value", "head_value", "tested", "significant", "regression",
                      "improvement", "status_text", "delta_s_per_run"}
    assert {x["name"] for x in doc["functions"]} >= set(HOSTILE)
    new = diff(prof(BASE), prof({**BASE, ("main", "z"): 100}))
    z = [x for x in diff_json.to_dict(new)["functions"] if x["name"] == "z"][0]
    assert z["ratio"] is None and z["status"] == "new"
    assert diff_json.dumps(res) == text  # deterministic


def test_diff_html_is_deterministic_escaped_and_self_contained(tmp_path):
    from flamekit.render.diff_html import build_diff_data, render_diff_html

    res = hostile_diff()
    html = render_diff_html(res, title="<script>alert('t')</script>")
    assert html == render_diff_html(res, title="<script>alert('t')</script>")
    assert "<script>alert" not in html and "<img" not in html
    assert html.count("<script") == 3  # the JSON data block and the two inlined scripts
    assert "Content-Security-Policy" in html and "http://" not in html.split("</head>")[0]
    data = build_diff_data(res, title="t")
    P = data["payload"]
    assert P["diff"] == {"base": 0, "head": 1}
    S = P["strings"]
    assert {S[k] for k in P["frames"]["name"]} >= set(HOSTILE)


def _write_folded(path, stacks):
    path.write_text("".join(";".join(f"{n} (app.py:{10 + i})" for i, n in enumerate(k)) +
                            f" {v}\n" for k, v in stacks.items()))


def test_cli_outputs_exit_codes_globs_and_directories(tmp_path, capsys):
    (tmp_path / "base").mkdir()
    (tmp_path / "head").mkdir()
    big = {k: v * 20 for k, v in BASE.items()}
    for i in range(3):
        _write_folded(tmp_path / "base" / f"run{i}.folded", {k: v + 7 * i for k, v in big.items()})
        _write_folded(tmp_path / "head" / f"run{i}.folded",
                      {**{k: v + 5 * i for k, v in big.items()}, ("main", "audit"): 2000 + 50 * i})
    out = tmp_path / "out"
    out.mkdir()
    args = ["diff", "--base", str(tmp_path / "base" / "*.folded"), "--head", str(tmp_path / "head"),
            "-o", str(out / "d.html"), "--markdown", str(out / "c.md"), "--json", str(out / "d.json")]
    assert main(args) == 0
    doc = json.loads((out / "d.json").read_text())
    assert doc["statistics"]["method"] == "welch" and len(doc["base"]["runs"]) == 3
    assert doc["regressions"][0]["name"] == "audit"
    assert (out / "c.md").read_text().startswith("<!-- flamekit-diff -->")
    assert (out / "d.html").read_text().startswith("<!DOCTYPE html>")
    assert main(args + ["--fail-on-regression", "5"]) == 3
    assert "significant regression" in capsys.readouterr().err
    assert main(args + ["--fail-on-regression", "50"]) == 0
    b0, h0 = str(tmp_path / "base" / "run0.folded"), str(tmp_path / "head" / "run0.folded")
    assert main(["diff", b0, b0, "--fail-on-regression", "0.1", "-q"]) == 0
    assert main(["diff", b0]) == 2
    assert main(["diff", b0, str(tmp_path / "nope*.folded")]) == 2
    capsys.readouterr()
    assert main(["diff", b0, h0, "--by", "line", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["options"]["by"] == "line"
    (tmp_path / "bad.folded").write_text("\x00\x01 not a profile")
    assert main(["diff", b0, str(tmp_path / "bad.folded")]) == 2
    assert "bad.folded" in capsys.readouterr().err


def test_python_api_accepts_paths_and_lists(tmp_path):
    p = tmp_path / "a.folded"
    _write_folded(p, BASE)
    res = flamekit.diff(str(p), [p, p])
    assert res.base.n_runs == 1 and res.head.n_runs == 2 and res.verdict == "no-change"
    assert re.search(r"a\.folded$", res.base.runs[0].source)


def test_a_new_hotspot_does_not_flag_the_diluted_functions_nor_inflate_dispersion():
    # ten functions; HEAD adds "slow" with 10 % of the time, all other counts identical:
    # every other share drops by 10 % relative (e.g. 30 % -> 27 %), which is dilution, not change
    counts = [3000, 2000, 1500, 1000, 800, 600, 500, 300, 200, 100]
    base = {("main", f"f{i}"): c for i, c in enumerate(counts)}
    head = dict(base)
    head[("main", "slow")] = sum(counts) / 9  # 10 % of HEAD's total
    res = diff(prof(base), prof(head))
    assert list(res.regressions()["name"]) == ["slow"]
    assert res.improvements().empty, res.improvements()[["name", "delta_self", "q_value"]]
    assert row(res, "f0")["delta_self"] == pytest.approx(-3.0)  # shown as measured
    assert row(res, "f0")["status"] == "unchanged"
    assert res.dispersion == pytest.approx(1.0)
    # the same when the hotspot already existed in BASE (grown, not new)
    base2 = dict(base)
    base2[("main", "slow")] = 10
    res2 = diff(prof(base2), prof(head))
    assert list(res2.regressions()["name"]) == ["slow"] and res2.improvements().empty
    assert res2.dispersion == pytest.approx(1.0)


def test_deep_recursive_stacks_merge_the_same_way_level_by_level_and_row_by_row(monkeypatch):
    from flamekit import tree

    deep = ("main",) + ("rec",) * 400
    base = {deep + ("work",): 30, deep[:200] + ("io",): 10, ("main", "other"): 60}
    head = {deep + ("work",): 50, deep[:300] + ("io",): 10, ("main", "other"): 40}
    loop = diff(prof(base), prof(head))  # deeper than 256 levels, few rows: the row loop
    monkeypatch.setattr(tree, "LOOP_DEPTH", 10**6)
    levels = diff(prof(base), prof(head))
    cols = ["name", "base_self", "head_self", "base_total", "head_total", "p_value"]
    assert loop.table[cols].equals(levels.table[cols])
    t1, t2 = loop.tree(), levels.tree()
    assert len(t1.prefix) == len(t2.prefix) == 405  # main, 400 rec, work, io twice, other
    assert sorted(t1.head_total.round(9)) == sorted(t2.head_total.round(9))
    # recursion counts once in total: rec holds 40 % of BASE (work 30 + io 10), not 400x that
    assert row(loop, "rec")["base_total"] == pytest.approx(40.0)
    assert row(loop, "rec")["head_total"] == pytest.approx(60.0)
    assert row(loop, "work")["delta_self"] == pytest.approx(20.0)


def test_parallel_loading_gives_the_same_profiles_and_the_usual_errors(tmp_path, monkeypatch):
    from flamekit import formats
    from flamekit.analysis.diff import inputs
    from flamekit.errors import FormatError

    a, b, bad = tmp_path / "a.folded", tmp_path / "b.folded", tmp_path / "bad.folded"
    a.write_text("main;price 5\nmain;risk 3\n")
    b.write_text("main;price 5\nmain;risk 3\nmain;slow_risk_check 2\n")
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage-not-gzip")  # corrupt gzip: a FormatError
    monkeypatch.setattr(inputs, "PARALLEL_MIN_BYTES", 0)

    def load(path):
        return formats.load(path, "folded")

    got = inputs.map_paths(load, [str(a), str(b)], workers=2)
    want = [formats.load(str(a), "folded"), formats.load(str(b), "folded")]
    assert [flamekit.to_text(p, include_meta=False) for p in got] == \
        [flamekit.to_text(p, include_meta=False) for p in want]
    with pytest.raises(FormatError, match="gzip"):
        inputs.map_paths(load, [str(a), str(bad)], workers=2)


_REFAULTS = """
import resource, sys
import numpy as np
from flamekit import _forked
if sys.argv[1] == "keep":
    _forked.keep_freed_heap()
a = np.ones(2 * 1024 * 1024)  # 16 MB: glibc maps and unmaps it by itself by default
del a
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
b = np.ones(2 * 1024 * 1024)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_keep_freed_heap_reuses_freed_pages_instead_of_faulting_them_in_again():
    """The diff's loader children keep what they free: a second 16 MB array after freeing the
    first costs no new page faults (by default it is new memory: ~4000 faults of 4 KB)."""
    import subprocess
    import sys

    def faults(mode: str) -> int:
        r = subprocess.run([sys.executable, "-c", _REFAULTS, mode], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, NUMPY_MADVISE_HUGEPAGE="0"))
        assert r.returncode == 0, r.stderr
        return int(r.stdout.split()[-1])

    assert faults("default") > 3000
    assert faults("keep") < 500


def test_before_fork_runs_once_here_and_the_children_inherit_it(tmp_path, monkeypatch):
    """What ``before_fork`` imports or sets is done once, in this process, before the children
    start (they see it), and not at all when nothing is forked."""
    from flamekit.analysis.diff import inputs

    a, b = tmp_path / "a.folded", tmp_path / "b.folded"
    a.write_text("main;price 5\n")
    b.write_text("main;risk 3\n")
    calls: list[int] = []

    def seen(path):  # runs in a child: did it inherit what before_fork did here?
        return (os.path.basename(path), len(calls), os.getpid())

    monkeypatch.setattr(inputs, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(inputs.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    got = inputs.map_paths(seen, [str(a), str(b)], workers=2,
                           before_fork=lambda: calls.append(os.getpid()))
    assert calls == [os.getpid()]
    assert [g[:2] for g in got] == [("a.folded", 1), ("b.folded", 1)]
    assert all(g[2] != os.getpid() for g in got)  # really done in children
    calls.clear()
    monkeypatch.setattr(inputs, "PARALLEL_MIN_BYTES", 1 << 40)  # small: done here, no fork
    got = inputs.map_paths(seen, [str(a), str(b)], workers=2,
                           before_fork=lambda: calls.append(os.getpid()))
    assert calls == [] and [g[2] for g in got] == [os.getpid()] * 2


def test_two_functions_only_the_other_share_is_not_judged_on_rounding():
    # with two functions, the share outside the most-changed one is 100 % on both sides;
    # rounding (100.00000000000001 vs 99.99999999999999) must not read as a sure change
    res = diff(prof({("main", "price"): 140, ("main", "hedge"): 73}),
               prof({("main", "price"): 140, ("main", "hedge"): 78}))
    assert res.verdict == "no-change", res.table[["name", "p_value", "q_value"]]
    assert (res.table["p_value"] > 0.01).all()


def _sampled(names: list[str]) -> "flamekit.Profile":
    """A profile of single samples in time order, one row per sample (like py-spy's speedscope)."""
    b = ProfileBuilder([SampleType("wall", "seconds")])
    ids = {n: b.stack([b.frame("main", "app.py", 1), b.frame(n, "app.py", 10)]) for n in set(names)}
    for n in names:
        b.add(ids[n], 0.005)
    return b.build()


def test_within_run_clustering_raises_the_dispersion_and_keeps_a_a_quiet():
    rng = np.random.default_rng(19)  # a pair the plain sampling model calls a regression

    def clustered(p_price: float) -> list[str]:
        # 60 bursts of 10 identical samples: 600 rows but only ~60 independent draws
        return [n for n in rng.choice(["price", "hedge"], size=60, p=[p_price, 1 - p_price])
                for _ in range(10)]

    a, b = clustered(0.6), clustered(0.6)
    assert diff(_sampled(a), _sampled(b), dispersion=1.0).verdict == "regression"
    res = diff(_sampled(a), _sampled(b))
    assert res.dispersion > 3 and res.dispersion_source.startswith("within-run")
    assert res.verdict != "regression"
    # the same samples in shuffled order are independent: no within-run inflation
    flat = diff(_sampled(list(rng.permutation(a))), _sampled(list(rng.permutation(b))))
    assert flat.dispersion < 2
    # aggregated rows (one per distinct stack, as from folded files) are not time-ordered
    agg = diff(prof({("main", "price"): 360, ("main", "hedge"): 240}),
               prof({("main", "price"): 350, ("main", "hedge"): 250}))
    assert not agg.dispersion_source.startswith("within-run")


def _random_runs(rng, n_runs: int, shift: int) -> list:
    """Random recursive call trees over 12 functions with two lines each (so keying merges rows)."""
    names = [f"f{i}" for i in range(12)]
    runs = []
    for _ in range(n_runs):
        b = ProfileBuilder([CPU])
        for _ in range(300):
            depth = int(rng.integers(1, 9))
            fids = [b.frame(names[int(rng.integers(0, 12)) if d else int(rng.integers(0, 3))],
                            "app.py", 10 + int(rng.integers(0, 2)) + shift, kind="python")
                    for d in range(depth)]
            b.add(b.stack(fids), float(rng.integers(1, 50)) if rng.random() < 0.9 else 0.0)
        runs.append(b.build())
    return runs


def _paths(tree) -> dict[tuple, tuple]:
    """Key path of every node of a DiffTree -> its (base_self, base_total, head_self, head_total)."""
    out, path = {}, []
    for i, p in enumerate(tree.prefix.tolist()):
        path.append((path[p] if p >= 0 else ()) + (int(tree.key[i]),))
        out[path[i]] = (tree.base_self[i], tree.base_total[i], tree.head_self[i],
                        tree.head_total[i])
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("thr", [0.5, 3.0, 30.0])
@pytest.mark.parametrize("walk", ["children", "levels"])
def test_pruned_tree_equals_the_full_union_tree_cut_at_the_threshold(seed, thr, walk,
                                                                      monkeypatch):
    """The page merges only wide paths (DiffResult.pruned_tree); it must equal cutting the
    full union tree: same kept nodes and values, and each [other] equal to the pruned
    children's totals, with several runs per side and recursion. Runs are matched by
    walking down the children of matches (tables ordered by parent) or level by level
    (any order)."""
    from flamekit.analysis.diff import union as U
    from flamekit.tree import depths

    if walk == "levels":
        monkeypatch.setattr(U, "_match_children", lambda prefix, key, g, m, index, base, found:
                            U._match_levels(prefix, key, g, depths(prefix), m, index, base, found))
    rng = np.random.default_rng(seed)
    res = diff(_random_runs(rng, 2, 0), _random_runs(rng, 3, 5))
    full = res.tree()
    keep = np.maximum(full.base_total, full.head_total) >= thr
    want = {k: v for k, v, kp in zip(_paths(full).keys(), _paths(full).values(), keep) if kp}
    pt = res.pruned_tree(thr)
    assert pt.pruned_nodes is None  # the fast path ran (nothing narrow was merged)
    got = _paths(pt.tree)
    assert got.keys() == want.keys() and 0 < len(got) < len(full.prefix)
    for k in got:
        assert got[k] == pytest.approx(want[k], abs=1e-9), k
    # [other] per kept parent = totals of its pruned children in the full tree
    fpaths = list(_paths(full).keys())
    idx = {k: i for i, k in enumerate(got)}
    ob = np.zeros(len(got) + 1)
    oh = np.zeros(len(got) + 1)
    for j, k in enumerate(fpaths):
        if not keep[j] and (len(k) == 1 or k[:-1] in want):
            slot = idx[k[:-1]] if len(k) > 1 else len(got)
            ob[slot] += full.base_total[j]
            oh[slot] += full.head_total[j]
    assert pt.other_base == pytest.approx(ob, abs=1e-9)
    assert pt.other_head == pytest.approx(oh, abs=1e-9)
    # the exact path (every node at hand) gives the same figures, and a count
    exact = res.pruned_tree(0.0)
    assert exact.pruned_nodes == 0 and len(exact.tree.prefix) == len(full.prefix)


def _folded_inputs() -> list:
    from conftest import CORPUS, DATA, HOSTILE

    files = sorted((CORPUS / "realworld" / "folded").glob("*"))
    files += sorted((HOSTILE / "folded").glob("*"))
    files += [DATA / "py-spy" / "0.4.3" / "two_threads_idle.raw.txt",  # py-spy --threads
              DATA / "py-spy" / "0.4.3" / "cpu_split.raw.txt",
              DATA / "cpython-collapsed" / "3.15" / "sample.collapsed"]
    return [f for f in files if f.is_file()]


def _run_facts(r) -> dict:
    return {"info": r.info, "type": r.sample_type, "changed": r.changed, "rows": len(r.prefix),
            "keys": {k[:3]: (k[3:], round(float(s), 9), round(float(t), 9))
                     for k, s, t in zip(r.keys, r.key_self, r.key_total) if s or t},
            "blocks": r.blocks is not None}


def test_prepared_from_paths_equals_prepared_from_the_profile():
    """The CLI prepares folded files straight from their paths (frames keyed before any stack
    table); every folded input of the corpus (and py-spy --threads output) must give the run
    prepare_run gives for the loaded profile, by function, line and file."""
    from conftest import require_corpus

    from flamekit import formats
    from flamekit.analysis.diff import prepare_paths, prepare_run
    from flamekit.errors import FormatError

    require_corpus("realworld/folded")
    checked = 0
    for f in _folded_inputs():
        try:
            prof = formats.load(f, "folded")
        except FormatError as e:  # hostile files: both readers refuse them alike
            with pytest.raises(FormatError) as e2:
                formats.load_paths(f, "folded")
            assert str(e2.value) == str(e)
            continue
        sp = formats.load_paths(f, "folded")
        assert sp is not None
        for by in ("function", "line", "file"):
            a = prepare_paths(sp, by=by, source=str(f))
            b = prepare_run(prof, by=by, source=str(f))
            assert _run_facts(a) == _run_facts(b), (f.name, by)
        checked += 1
    assert checked >= 10
    # other formats have no paths reader: the caller loads a profile instead
    assert formats.load_paths(DATA_SPEEDSCOPE) is None


DATA_SPEEDSCOPE = __import__("conftest").DATA / "py-spy" / "0.4.3" / "cpu_split.speedscope.json"


def test_cli_diff_of_folded_files_equals_the_api_diff_of_their_profiles(tmp_path, monkeypatch):
    """`flamekit diff` (paths prepared in forked children) and flamekit.diff on loaded
    profiles give the same JSON document for big enough folded inputs."""
    from flamekit import formats
    from flamekit.analysis.diff import inputs
    from flamekit.cli import diff as cli_diff

    rng = np.random.default_rng(7)
    names = [f"fn{i} (mod{i % 7}.py:{10 + i % 3})" for i in range(60)]

    def write(path, extra):
        lines = []
        for i in range(3000):
            depth = int(rng.integers(1, 12))
            lines.append(";".join(names[int(j)] for j in rng.integers(0, 60, depth))
                         + f" {int(rng.integers(1, 40))}")
        lines += extra
        path.write_text("\n".join(lines) + "\n")

    a, b = tmp_path / "a.folded", tmp_path / "b.folded"
    write(a, [])
    write(b, ["main (app.py:1);slow_risk_check (risk.py:5) 4000"])
    out = tmp_path / "d.json"
    from flamekit import _forked

    # force the forked children on these small files, whatever the machine
    monkeypatch.setattr(inputs, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(inputs.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    forks = []
    real_start = _forked.start
    monkeypatch.setattr(_forked, "start", lambda *a: forks.append(a) or real_start(*a))
    # the page too is written in a child (beside the JSON); when the child fails, the parent
    # writes it again itself
    from flamekit.render import diff_html

    monkeypatch.setattr(cli_diff, "PARALLEL_HTML_MIN_NODES", 0)
    parent = os.getpid()
    real_write = diff_html.write_diff_html

    def write_fails_in_children(*a, **kw):
        if os.getpid() != parent:
            raise OSError("disk full (in the child only)")
        return real_write(*a, **kw)

    monkeypatch.setattr(diff_html, "write_diff_html", write_fails_in_children)
    page = tmp_path / "d.html"
    assert main(["diff", str(a), str(b), "--json", str(out), "-o", str(page), "-q",
                 "--title", "t"]) == 0
    assert len(forks) == 3  # two loads, one page
    got = json.loads(out.read_text())
    res = diff(formats.load(a), formats.load(b), base_sources=[str(a)], head_sources=[str(b)])
    assert got == json.loads(json.dumps(diff_json.to_dict(res)))
    assert got["regressions"][0]["name"] == "slow_risk_check"
    assert page.read_text(encoding="utf-8") == diff_html.render_diff_html(res, title="t")
