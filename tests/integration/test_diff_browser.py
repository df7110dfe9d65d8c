"""The differential flame graph page in headless Chromium: drawing, colours, base toggle, vanished frames, XSS."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from flamekit.analysis.diff import diff
from flamekit.model import ProfileBuilder, SampleType
from flamekit.render.diff_html import write_diff_html

from conftest import HOSTILE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import node_center, canvas_ink, open_page  # noqa: E402

pytestmark = pytest.mark.integration

EXTRA = ["<script>alert(1)</script>", "javascript:alert(1)", "\u2028\u2029", "a\x00b\x0bc\x7f",
         "</title><script>alert(14)</script>", "<lambda>", '"];URL="javascript:alert(1)',
         "<svg/onload=alert(1)>", "{{7*7}}", "a|b`c`\nd"]
T = (SampleType("cpu", "samples"), SampleType("alloc_space", "bytes"))


def hostile_names() -> list[str]:
    f = HOSTILE / "folded/F08-markup-frames.folded"
    names = [ln.rsplit(" ", 1)[0].split(";", 1)[1] for ln in f.read_text().split("\n")
             if ln.strip() and ";" in ln]
    return names + EXTRA


def build(stacks):
    b = ProfileBuilder(list(T))
    for names, v in stacks.items():
        b.add(b.stack([b.frame(n, n if n != "main" else "job.py", 1, kind="python") for n in names]), v)
    return b.build()


def test_diff_page_draws_toggles_and_lists_vanished(browser, tmp_path):
    base = {("main", "price"): (500, 1000), ("main", "risk"): (300, 0),
            ("main", "legacy", "old_io"): (200, 5000)}
    head = {("main", "price"): (500, 1000), ("main", "risk"): (300, 0),
            ("main", "audit"): (250, 7000)}
    for sample_type in ("cpu", "alloc_space"):
        res = diff(build(base), build(head), sample_type=sample_type, dispersion=1.0)
        out = tmp_path / f"{sample_type}.html"
        write_diff_html(res, out, title=f"diff {sample_type}")
        page = open_page(browser, out)
        try:
            assert page.fk_dialogs == [] and page.fk_errors == [] and page.fk_requests == []
            assert canvas_ink(page, "#fk-canvas") > 0.01
            if sample_type == "cpu":  # bytes: 3 allocation rows are too few samples to be significant
                assert "Regression" in page.locator("#fk-verdict").text_content()
            names = page.locator("#fk-changes tbody td.fk-fn").all_text_contents()
            assert names[0] in ("audit", "legacy", "old_io")
            assert "audit" in names and "old_io" in names
            # colours: 'audit' grew (red), 'old_io' vanished (not drawn in head widths)
            col = page.evaluate("""() => { const g = window.flamekitState.graph, D = g.data;
                const out = {}; for (let i = 0; i < D.n; i++) {
                  const nm = D.names[D.frame[i]]; const info = g.info(g.tree, i);
                  out[nm] = [g.opts.colorFor(info), info.base.self, info.head.self]; }
                return out; }""")
            # colour follows significance: red/blue only for a significant regression/improvement
            t = res.table.set_index("name")
            assert col["audit"][1] == 0 and col["old_io"][2] == 0 and col["old_io"][1] > 0
            if t.loc["audit", "regression"]:
                assert col["audit"][0].startswith("rgb(255,")
            else:
                assert col["audit"][0] == "rgb(212,212,212)"  # grew, not significant: neutral
            if t.loc["old_io", "improvement"]:
                assert col["old_io"][0].endswith(",255)")  # shrank significantly: blue
            else:
                assert col["old_io"][0] == "rgb(212,212,212)"
            assert sample_type != "cpu" or t.loc["audit", "regression"]
            assert col["main"][0] == "rgb(236,236,236)"  # no self on either side
            # vanished list: 'legacy' subtree, viewable in the base tree
            vn = page.locator("#fk-vanished tbody td.fk-fn").all_text_contents()
            assert vn == ["legacy"]
            assert page.locator("#fk-gone tbody td.fk-fn").all_text_contents() == ["legacy", "old_io"] \
                or set(page.locator("#fk-gone tbody td.fk-fn").all_text_contents()) == {"legacy", "old_io"}
            page.locator("#fk-vanished button.fk-view").first.click()
            st = page.evaluate("""() => { const g = window.flamekitState.graph;
                return [g.showBase, g.main.zoom, g.data.names[g.data.frame[g.main.zoom]]]; }""")
            assert st[0] is True and st[2] == "legacy"
            assert "base" in page.locator("#fk-graph-side").text_content()
            assert canvas_ink(page, "#fk-canvas") > 0.01
            page.locator("#fk-base-toggle").click()
            assert page.evaluate("window.flamekitState.graph.showBase") is False
        finally:
            page.close()


def test_hostile_names_stay_text_on_the_diff_page(browser, tmp_path):
    names = hostile_names()
    base = {("main", n): (10 + i, 1) for i, n in enumerate(names)}
    head = {("main", n): (10 + 2 * i, 1) for i, n in enumerate(names)}
    res = diff(build(base), build(head), min_delta=0.0, alpha=0.5)
    out = tmp_path / "x.html"
    write_diff_html(res, out, title=names[0], prune_fraction=0)
    page = open_page(browser, out)
    try:
        assert page.fk_dialogs == [] and page.fk_errors == [] and page.fk_requests == []
        assert page.evaluate("document.scripts.length") == 3
        assert page.evaluate("document.querySelectorAll('[onerror],[onload],[onmouseover]').length") == 0
        assert page.evaluate("document.title") == names[0]
        got = set(page.locator("#fk-changes tbody td.fk-fn").all_text_contents())
        assert got == set(names) | {"main"} - {""} or got >= set(n for n in names if n)
        # hover frames: the tooltip names them exactly, with the diff rows
        for node in range(1, min(len(names), 8) + 1):
            pos = node_center(page, node, "window.flamekitState.graph")
            if pos is None:
                continue
            page.mouse.move(*pos)
            tip = page.locator("#fk-tooltip").text_content()
            assert "q-value" in tip and "base" in tip
        page.locator("#fk-changes tbody tr").first.click()
        assert page.evaluate("document.scripts.length") == 3 and page.fk_dialogs == []
        assert page.fk_errors == []
    finally:
        page.close()


def test_tooltip_of_a_name_over_1023_characters_keeps_status_and_q(browser, tmp_path):
    """Bug: rows and graph clipped long names differently and diff.js matched them by name."""
    from flamekit.render.payload import MAX_STRING

    long_a = "pkg.module." + "a" * 1500          # two names equal in their first 1,023 chars:
    long_b = "pkg.module." + "a" * 1400 + "b" * 100  # only an id tells their rows apart
    base = {("main", long_a): (100, 1), ("main", long_b): (400, 1), ("main", "other"): (500, 1)}
    head = {("main", long_a): (400, 1), ("main", long_b): (100, 1), ("main", "other"): (500, 1)}
    res = diff(build(base), build(head), dispersion=1.0)
    want = {r["name"]: r for _, r in res.table.iterrows()}
    assert want[long_a]["status"] == "grown" and want[long_b]["status"] == "shrunk"
    out = tmp_path / "long.html"
    write_diff_html(res, out, prune_fraction=0)
    page = open_page(browser, out)
    try:
        assert page.fk_errors == [] and page.fk_dialogs == []
        nodes = page.evaluate("""() => { const D = window.flamekitState.graph.data, out = [];
            for (let i = 0; i < D.n; i++) out.push([i, D.names[D.frame[i]]]); return out; }""")
        clipped = [(i, n) for i, n in nodes if len(n) > 1000]
        assert len(clipped) == 2 and clipped[0][1] == clipped[1][1]  # same text on the page
        assert all(len(n) == MAX_STRING and n.endswith("…") for _, n in clipped)
        seen = {}
        for node, _ in clipped:
            pos = node_center(page, node, "window.flamekitState.graph")
            assert pos is not None
            page.mouse.move(*pos)
            tip = page.locator("#fk-tooltip").text_content()
            assert "q-value" in tip, tip[-300:]
            status = "grown" if "slower (+" in tip else "shrunk" if "faster (−" in tip else None
            seen[status] = node
        # each node's tooltip carries ITS row: the grown one is long_a, the shrunk one long_b
        frames = page.evaluate("""() => { const D = window.flamekitState.graph.data;
            return [D.frame, JSON.parse(document.getElementById('flamekit-data').textContent)
                    .diff.rows.map(r => [r.frame, r.status])]; }""")
        node_frame, rows = frames
        by_frame = dict((f, st) for f, st in rows)
        assert by_frame[node_frame[seen["grown"]]] == "grown"
        assert by_frame[node_frame[seen["shrunk"]]] == "shrunk"
    finally:
        page.close()
