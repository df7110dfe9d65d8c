"""Issue 11, Diff: the figures of a diff say what they are, in every output.

On the in-repo py-spy pair (``tests/data/py-spy/0.4.3/regression_pair-*``, see
``test_diff_golden.py``): the Markdown table lists only rows meeting its stated
|Δ| rule and groups interpreter start-up frames; statuses never say "unchanged"
for a non-zero change; run time in seconds when both sides are time-based;
base and head are named; hostile names stay one inert code span.
"""
from __future__ import annotations

import re

import pytest

import flamekit
from flamekit.analysis.diff import diff
from flamekit.render import diff_json, diff_words, markdown
from flamekit.render.terminal import diff_summary

from conftest import DATA

PAIR = DATA / "py-spy" / "0.4.3"
BASE, HEAD = "regression_pair-base.raw.txt", "regression_pair-head.raw.txt"


def _pair(durations: tuple[float, float] | None = None, meta: tuple[dict, dict] | None = None):
    b, h = flamekit.load(PAIR / BASE), flamekit.load(PAIR / HEAD)
    if durations:
        b.meta["duration"], h.meta["duration"] = durations
    if meta:
        b.meta.update(meta[0])
        h.meta.update(meta[1])
    return diff(b, h, base_sources=[str(PAIR / BASE)], head_sources=[str(PAIR / HEAD)])


def _rows(text: str) -> list[list[str]]:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    rows, cur, cell = [], None, False
    for tok in md.parse(text):
        if tok.type == "tr_open":
            cur = []
        elif tok.type == "tr_close":
            rows.append(cur)
        elif tok.type in ("td_open", "th_open"):
            cell = True
        elif tok.type in ("td_close", "th_close"):
            cell = False
        elif tok.type == "inline" and cur is not None and cell:
            cur.append("".join(c.content for c in tok.children or []))
    return rows


def _detail(text: str) -> str:
    return text[text.index("<summary>All changes"):text.index("<summary>Method")]


def test_detail_table_lists_only_rows_that_meet_its_rule_and_groups_startup() -> None:
    res = _pair()
    text = markdown.render(res)
    det = _detail(text)
    assert "|Δ self| ≥ 0.1 pp" in det
    rows = [r for r in _rows(det) if r[0] != "Status"]
    assert rows
    for r in rows:
        assert abs(float(r[1].replace("−", "-"))) >= 0.1, r   # Δ pp column meets the rule
    assert "+0.00" not in det and "-0.00" not in det
    # start-up frames: one row, summing their own shares (ground truth from the table)
    t = res.table
    su = t["file"].map(diff_words.is_startup)
    assert su.sum() >= 5 and "<frozen importlib._bootstrap>" in set(t["file"][su])
    assert not any("importlib._bootstrap" in r[4] for r in rows)
    start = [r for r in rows if r[0].startswith("start-up")]
    assert len(start) == 1
    want = t["delta_self"][su].sum()
    assert float(start[0][1]) == pytest.approx(want, abs=0.006)
    shown = markdown.render(res, show_startup=True)
    assert "<frozen importlib._bootstrap" in _detail(shown)
    assert "start-up (" not in _detail(shown)


def test_statuses_say_what_the_numbers_say() -> None:
    res = _pair()
    doc = diff_json.to_dict(res)
    seen_ns = False
    for r in doc["functions"]:
        st = r["status_text"]
        if abs(r["delta_self"]) >= 0.005:
            assert "unchanged" not in st, r
        if not r["significant"] and abs(r["delta_self"]) >= 0.005:
            seen_ns = True
            assert "not significant (" in st and f"q {diff_words.fmt_q(r['q_value'])}" in st
    assert seen_ns
    pb = next(r for r in doc["functions"] if r["name"] == "price_book")
    assert pb["status_text"] == "not significant (−10.85 pp, q 0.388)"
    slow = next(r for r in doc["functions"] if r["name"] == "slow_risk_check")
    assert slow["status_text"].startswith("slower (+13.63 pp, q ")
    md = _detail(markdown.render(res))
    assert "| unchanged |" not in md and "not significant" in md


def test_run_time_in_seconds_when_both_sides_are_timed() -> None:
    res = _pair((4.05, 4.89))
    want = "4.05 s → 4.89 s per run, +0.84 s, +21%"
    text = markdown.render(res)
    assert want in text
    doc = diff_json.to_dict(res)
    assert doc["run_time"]["base_s"] == pytest.approx(4.05)
    assert doc["run_time"]["change_s"] == pytest.approx(0.84)
    assert doc["run_time"]["change_pct"] == pytest.approx(100 * 0.84 / 4.05)
    t = res.table.set_index("name")
    truth = (t.loc["slow_risk_check", "head_self"] * 4.89
             - t.loc["slow_risk_check", "base_self"] * 4.05) / 100
    assert doc["regressions"][0]["delta_s_per_run"] == pytest.approx(truth)
    rows = [r for r in _rows(text) if r[0] != "Status"]
    assert _rows(text)[0][2] == "Δ s/run"
    assert float(rows[0][2]) == pytest.approx(truth, abs=0.0006)
    term = diff_summary(res)
    assert want in term and f"+{truth:.2f} s/run" in term
    # a count-based pair says nothing about seconds
    plain = _pair()
    assert diff_words.run_times(plain) is None and diff_json.to_dict(plain)["run_time"] is None
    assert "per run" not in markdown.render(plain)


def test_base_and_head_are_named_in_every_output() -> None:
    res = _pair()
    assert BASE in markdown.render(res) and HEAD in markdown.render(res)
    doc = diff_json.to_dict(res)
    assert (doc["base"]["name"], doc["head"]["name"]) == (BASE, HEAD)
    term = diff_summary(res)
    assert BASE in term and HEAD in term
    sha_b, sha_h = "a" * 40, "b" * 40
    git = _pair(meta=({"compare": {"side": "base", "commit": sha_b, "ref": "main"}},
                      {"compare": {"side": "head", "commit": sha_h, "ref": "feature"}}))
    doc = diff_json.to_dict(git)
    assert doc["base"]["name"] == "main @ aaaaaaa" and doc["head"]["name"] == "feature @ bbbbbbb"
    assert "`main @ aaaaaaa`" in markdown.render(git)
    assert "feature @ bbbbbbb" in diff_summary(git)


HOSTILE = ["a|b", "x`y``z", "`edge`", "<b>html</b>", "line1\nline2", "evil\u202eexe.py",
           "**bold** [l](http://e.x)", "back\\slash|", "@someone"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_one_inert_code_span(name: str) -> None:
    from markdown_it import MarkdownIt

    s = markdown.code(name)
    md = MarkdownIt("commonmark").enable("table")
    text = f"| a | b |\n|---|---|\n| {s} | x |\n"
    toks = [t for t in md.parse(text) if t.type == "inline"]
    cells = [t for t in toks]
    assert len(cells) == 4, text   # 2 header cells + 2 body cells: the name did not split a cell
    kids = cells[2].children or []
    assert [k.type for k in kids] == ["code_inline"], (text, [k.type for k in kids])
    want = name.replace("\n", "⏎").replace("\u202e", "\ufffd")
    assert kids[0].content.strip() == want.strip()
    assert "\\_" not in s and "&lt;" not in s     # not backslash-escaped or entity-encoded
    assert re.search("[\u202a-\u202e\u2066-\u2069\n]", s) is None
