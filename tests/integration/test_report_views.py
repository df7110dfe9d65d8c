"""The report's call tree, library switch and source view, in real headless Chromium.

One real py-spy recording of ``backtest_vectorized.py`` (numpy, pandas and import
machinery under the user's functions) serves the module; every figure the page
shows is checked against the model computed here (``call_tree``, ``functions``,
``hide_libraries``) or against a plain walk over the samples.
"""
from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import flamekit
from flamekit.analysis.hotspots import hotspots
from flamekit.analysis.report import report_data
from flamekit.model import (Frame, ProfileBuilder, SampleType, call_tree, functions, group,
                            hide_libraries, is_library)
from flamekit.render.html import REPORT_SCRIPTS, write_report

from conftest import DATA, HOSTILE, require_tool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import click_node, open_page  # noqa: E402
from record_helpers import REPO, WORKLOADS, env, flamekit_record, profile_path  # noqa: E402

pytestmark = pytest.mark.integration
WORKLOAD = WORKLOADS / "backtest_vectorized.py"


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """One py-spy recording of a workload that runs numpy/pandas code under its own functions."""
    require_tool("py-spy", "pip install py-spy")
    out = profile_path(tmp_path_factory.mktemp("views"))
    r = flamekit_record("-o", str(out), "--rate", "200", "--", sys.executable, str(WORKLOAD), "--seconds", "1")
    assert r.returncode == 0, r.stderr
    p = flamekit.load(out)  # py-spy keeps line numbers (no --nolineno): the source view has data
    assert sum(1 for f in p.frames if f.line > 0 and f.file == str(WORKLOAD)) >= 5
    return out


@pytest.fixture(scope="module")
def report(recording, tmp_path_factory) -> tuple:
    """The recording's profile and its report with every frame kept (no pruning)."""
    p = flamekit.load(recording)
    out = tmp_path_factory.mktemp("views-html") / "r.html"
    write_report(report_data(p), out, prune_fraction=0)
    return p, out


def paths_of(p) -> dict[int, tuple]:
    """Return the root-first ``(name, file)`` path of every stack row."""
    out: dict[int, tuple] = {}
    for i, (q, f) in enumerate(zip(p.stack_prefix.tolist(), p.stack_frame.tolist())):
        fr = p.frames[f]
        out[i] = (out[q] if q >= 0 else ()) + ((fr.name, fr.file),)
    return out


def model_tree(p) -> dict[tuple, tuple[float, float]]:
    """``path -> (self, total)`` of the model's call tree (the page's default sample type)."""
    ct = call_tree(p, 0)
    return {path: (float(ct.self_[i]), float(ct.total[i])) for i, path in paths_of(p).items()
            if ct.total[i] != 0 or ct.self_[i] != 0}


PAGE_TREE = """() => {
    const t = flamekit.callTree, D = t.data, out = [];
    document.querySelectorAll('#fk-calltree-body .fk-ct-row[data-node]').forEach(r => {
        const path = [];
        for (let k = +r.getAttribute('data-node'); k >= 0; k = D.parent[k]) path.unshift([D.names[D.frame[k]], D.files[D.frame[k]]]);
        out.push([path, +r.getAttribute('data-self'), +r.getAttribute('data-total')]);
    });
    return out;
}"""

EXPAND_ALL = """() => {
    const t = flamekit.callTree;
    for (let round = 0; round < 200; round++) {
        const closed = [...document.querySelectorAll('#fk-calltree-body .fk-ct-row[aria-expanded=false]')];
        const more = [...document.querySelectorAll('#fk-calltree-body .fk-ct-more')];
        if (!closed.length && !more.length) return round;
        closed.forEach(r => t.expand(+r.getAttribute('data-node')));
        more.forEach(r => t.more(+r.getAttribute('data-more')));
    }
    return -1;
}"""


def page_tree(page) -> dict[tuple, tuple[float, float]]:
    return {tuple(map(tuple, path)): (s, t) for path, s, t in page.evaluate(PAGE_TREE)}


def test_call_tree_numbers_expand_and_collapse(browser, report):
    p, out = report
    page = open_page(browser, out, width=1280)
    try:
        assert page.fk_errors == [] and page.fk_requests == []
        page.uncheck("#fk-hide-libraries")  # every frame: the tree of group(p, "function")
        want = model_tree(group(p, "function"))
        shown = page_tree(page)
        assert shown and len(shown) < len(want)  # lazily: only the heavy paths are open at first
        for path, (s, t) in shown.items():
            assert want[path] == pytest.approx((s, t)), path
        # expand and collapse one closed row: its children appear, heaviest first, then go
        node = int(page.locator("#fk-calltree-body .fk-ct-row[aria-expanded=false]").first.get_attribute("data-node"))
        row = page.locator(f'#fk-calltree-body .fk-ct-row[data-node="{node}"]')
        before = page.locator("#fk-calltree-body .fk-ct-row[data-node]").count()
        row.locator(".fk-ct-toggle").click()
        kids = page.evaluate("""(k) => [...document.querySelector('#fk-calltree-body .fk-ct-row[data-node="' + k + '"]')
            .parentNode.querySelector('.fk-ct-kids').children].map(w => +w.firstChild.getAttribute('data-total'))""", node)
        at = shown_path(page, node)
        n_kids = sum(1 for path in want if path[:-1] == at and want[path][1] != 0)
        assert len(kids) == n_kids > 0 and kids == sorted(kids, key=abs, reverse=True)
        assert row.get_attribute("aria-expanded") == "true"
        assert page.locator("#fk-calltree-body .fk-ct-row[data-node]").count() > before
        row.locator(".fk-ct-toggle").click()
        assert page.locator("#fk-calltree-body .fk-ct-row[data-node]").count() == before
        # everything expanded: one row per call path of the model, with its numbers
        assert page.evaluate(EXPAND_ALL) >= 1
        shown = page_tree(page)
        assert set(shown) == set(want)
        for path, (s, t) in shown.items():
            assert want[path] == pytest.approx((s, t)), path
        share = page.locator("#fk-calltree-body .fk-ct-row[data-node] .fk-ct-share").first.text_content()
        top = max(want.values(), key=lambda v: abs(v[1]))[1]
        assert share.endswith(f"{100 * top / sum(t for path, (s, t) in want.items() if len(path) == 1):.1f}%")
        # with library frames hidden the tree is the model's hide_libraries tree
        page.check("#fk-hide-libraries")
        page.evaluate(EXPAND_ALL)
        hidden = model_tree(hide_libraries(group(p, "function")))
        shown = page_tree(page)
        assert set(shown) == set(hidden)
        for path, (s, t) in shown.items():
            assert hidden[path] == pytest.approx((s, t)), path
        assert page.fk_errors == []
    finally:
        page.close()


def shown_path(page, node: int) -> tuple:
    return tuple(map(tuple, page.evaluate("""(k) => { const D = flamekit.callTree.data, path = [];
        for (; k >= 0; k = D.parent[k]) path.unshift([D.names[D.frame[k]], D.files[D.frame[k]]]); return path; }""", node)))


def test_call_tree_and_flame_graph_select_each_other(browser, report):
    p, out = report
    page = open_page(browser, out, width=1280)
    try:
        # a row -> the flame graph zooms to that node, the sandwich and source view follow
        row = page.locator("#fk-calltree-body .fk-ct-row[data-node]").nth(2)
        node = int(row.get_attribute("data-node"))
        name = row.locator(".fk-ct-fn").text_content()
        row.locator(".fk-ct-fn").click()
        assert page.evaluate("flamekit.instances.fk.main.zoom") == node
        assert page.locator("#fk-breadcrumb .fk-crumb").last.text_content() == name
        assert page.locator("#fk-sandwich-title").text_content() == "Sandwich: " + name
        assert page.locator("#fk-source-title .fk-src-fn").text_content() == name
        assert "fk-ct-sel" in row.get_attribute("class")
        # a frame in the flame graph that the tree has not drawn yet -> expanded to, marked, in view
        page.click("#fk-reset")
        for root in page.locator("#fk-calltree-body > .fk-ct-node > .fk-ct-row[aria-expanded=true]").all():
            root.locator(".fk-ct-toggle").click()  # everything below the roots closed
        deep = page.evaluate("""() => { const g = flamekit.instances.fk, t = g.tree, drawn = new Set();
            g.main.rows.forEach(r => { for (let i = 0; i < r.length; i += 3) if (r[i + 2] > 12) drawn.add(r[i]); });
            let best = -1;
            drawn.forEach(k => { const r = flamekit.callTree.rowOf.get(k);
                if (!(r && r.isConnected) && (best < 0 || t.depth[k] > t.depth[best])) best = k; });
            return best; }""")
        assert deep >= 0, "every drawn frame has a row with the roots closed: the tree is not lazy"
        page.locator("#fk-canvas").scroll_into_view_if_needed()
        click_node(page, "fk", deep)
        sel = page.locator("#fk-calltree-body .fk-ct-row.fk-ct-sel")
        assert sel.count() == 1 and int(sel.get_attribute("data-node")) == deep
        box = page.evaluate("""() => { const b = document.getElementById('fk-calltree-body').getBoundingClientRect(),
            r = document.querySelector('#fk-calltree-body .fk-ct-sel').getBoundingClientRect();
            return [r.top >= b.top - 1, r.bottom <= b.bottom + 1]; }""")
        assert box == [True, True]
        # keyboard: Enter on a focused row selects it
        other = page.locator("#fk-calltree-body .fk-ct-row[data-node]").first
        other.focus()
        page.keyboard.press("Enter")
        assert page.evaluate("flamekit.instances.fk.main.zoom") == int(other.get_attribute("data-node"))
        # the flame graph's search marks the matching rows
        root = page.locator("#fk-calltree-body > .fk-ct-node > .fk-ct-row .fk-ct-fn").first.text_content()
        page.fill("#fk-search", root)
        marked = page.locator("#fk-calltree-body .fk-ct-row.fk-ct-match .fk-ct-fn").all_text_contents()
        assert marked and all(root in m for m in marked)
        unmarked = page.locator("#fk-calltree-body .fk-ct-row:not(.fk-ct-match) .fk-ct-fn").all_text_contents()
        assert not any(root in m for m in unmarked)
        page.fill("#fk-search", "")
        assert page.locator("#fk-calltree-body .fk-ct-match").count() == 0
        assert page.fk_errors == []
    finally:
        page.close()


def test_library_switch(browser, report):
    p, out = report
    info = hide_libraries(p).meta["hidden_libraries"]
    assert info["rows"] > 0 and info["functions"] > 10  # numpy, pandas, importlib under user code
    page = open_page(browser, out, width=1280)
    try:
        bar = page.locator("#fk-libraries")
        assert page.is_checked("#fk-hide-libraries")  # on by default for a Python profile
        assert [int(bar.get_attribute(f"data-{k}")) for k in ("frames", "functions", "rows")] == \
            [info["frames"], info["functions"], info["rows"]]
        note = page.locator("#fk-libraries-note").text_content()
        assert f"Folded {info['frames']} library frames of {info['functions']} functions" in note
        moved = 100 * info["self"][0] / float(p.values[:, 0].sum())
        assert f"({moved:.1f}% of the total)" in note

        def drawn():  # (name, file, parent name) of every node the flame graph has
            return page.evaluate("""() => { const D = flamekit.instances.fk.data;
                return Array.from(D.parent, (q, i) => [D.names[D.frame[i]], D.files[D.frame[i]], D.p.frames.library[D.frame[i]],
                                                       q >= 0 ? D.p.frames.library[D.frame[q]] : -1]); }""")
        on = drawn()
        g = group(p, "function")
        assert len(on) == hide_libraries(g).n_stacks
        # no library frame is left under a user frame (only the bootstrap ones above all user code)
        roots_lib = {(n, f) for n, f, lib, plib in on if lib and plib == 0}
        assert roots_lib == set()
        assert all(lib == is_library(Frame(n, f)) for n, f, lib, _ in on)
        hot_on = page.locator("#fk-hotspots tbody td.fk-fn").all_text_contents()
        want_on = [h.name for h in hotspots(hide_libraries(p), 0, n=15)]
        assert hot_on == want_on
        page.uncheck("#fk-hide-libraries")
        off = drawn()
        assert len(off) == g.n_stacks > len(on)
        assert sum(1 for n, f, lib, plib in off if lib and plib == 0) > 0
        hot_off = page.locator("#fk-hotspots tbody td.fk-fn").all_text_contents()
        assert hot_off == [h.name for h in hotspots(p, 0, n=15)] != hot_on
        assert "the switch folds" in page.locator("#fk-libraries-note").text_content()
        # totals never change: the flame graph's grand total is the same either way
        assert page.evaluate("flamekit.instances.fk.grand") == pytest.approx(float(p.values[:, 0].sum()))
        assert page.fk_errors == []
    finally:
        page.close()


def line_truth(p, name: str, file: str, k: int = 0) -> dict[int, list[float]]:
    """Per line of one function, by a plain walk over the samples: [self, total] (outermost occurrence)."""
    out: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for s, v in zip(p.sample_stack.tolist(), p.values[:, k].tolist()):
        frames = [p.frames[f] for f in p.stack_frames(s)]
        leaf = frames[-1]
        if (leaf.name, leaf.file) == (name, file):
            out[leaf.line][0] += v
        outer = next((f for f in frames if (f.name, f.file) == (name, file)), None)
        if outer is not None:
            out[outer.line][1] += v
    return dict(out)


def source_rows(page) -> dict[int, tuple[float, float, str]]:
    return {int(r[0]): (float(r[1]), float(r[2]), r[3]) for r in page.evaluate("""() =>
        [...document.querySelectorAll('#fk-source-table tbody tr[data-line]')].map(tr =>
            [tr.getAttribute('data-line'), tr.getAttribute('data-self'), tr.getAttribute('data-total'),
             tr.cells[3].textContent])""")}


def select_function(page, name: str) -> None:
    """Select a function as a click in the flame graph does (its heaviest node)."""
    ok = page.evaluate("""(name) => { const g = flamekit.instances.fk, D = g.data; let best = -1;
        for (let i = 0; i < D.n; i++) if (D.names[D.frame[i]] === name && (best < 0 || g.view.total[i] > g.view.total[best])) best = i;
        if (best < 0) return false;
        g.zoomTo(best); g.selectFunction(D.func[D.frame[best]]); g.changed(); return true; }""", name)
    assert ok, name


def test_source_view_lines_equal_the_model(browser, report):
    p, out = report
    page = open_page(browser, out, width=1280)
    try:
        checked = 0
        text = WORKLOAD.read_text().split("\n")
        for hide in (True, False):  # library frames folded into their callers' lines, then not
            q = hide_libraries(p) if hide else p
            page.set_checked("#fk-hide-libraries", hide)
            fn = functions(q)
            for name in ("rolling_sum", "positions", "run_backtest"):
                row = fn[(fn["name"] == name) & (fn["file"] == str(WORKLOAD))]
                if not len(row):
                    continue
                select_function(page, name)
                assert page.locator("#fk-source-title .fk-src-fn").text_content() == name
                truth = {ln: v for ln, v in line_truth(q, name, str(WORKLOAD)).items() if v != [0.0, 0.0]}
                got = source_rows(page)
                assert set(got) == set(truth), name
                for ln, (s, t, code) in got.items():
                    assert [s, t] == pytest.approx(truth[ln]), (name, ln, hide)
                    assert code == text[ln - 1]  # the file's own line, read at report time
                total = page.locator("#fk-source-sum")
                assert float(total.get_attribute("data-self")) == pytest.approx(float(row["self"].iloc[0]))
                assert float(total.get_attribute("data-total")) == pytest.approx(float(row["total"].iloc[0]))
                checked += 1
        assert checked >= 4
        assert page.fk_errors == []
    finally:
        page.close()


def test_no_source_leaves_the_text_out(browser, recording, report, tmp_path):
    p, with_source = report
    out = tmp_path / "n.html"
    r = subprocess.run([sys.executable, "-m", "flamekit", "report", str(recording), "--no-source", "-o", str(out)],
                       cwd=REPO, env=env(), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    # lines of the workload's source (and of the numpy/pandas files it ran) are in the default
    # report and in no --no-source one
    src = [ln.strip() for ln in WORKLOAD.read_text().split("\n") if len(ln.strip()) > 30]
    html, plain = with_source.read_text(), out.read_text()
    assert sum(s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") in html
               for s in src) > 5
    assert not any(s[:30] in plain for s in src)
    assert '"chunks"' in html and '"chunks"' not in plain
    page = open_page(browser, out, width=1280)
    try:  # the per-line figures stay, the page says why the text is missing
        select_function(page, "positions")
        assert len(source_rows(page)) >= 1
        assert "--no-source" in page.locator("#fk-source-note").text_content()
        assert all(code == "" for *_, code in source_rows(page).values())
    finally:
        page.close()


HOSTILE_LINES = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "\u2028 & </td></tr> {{7*7}}",
                 "x = '</script><script>alert(3)</script>'"]


def test_hostile_name_and_source_stay_text(browser, tmp_path):
    code = tmp_path / "evil.py"
    code.write_text("\n".join(HOSTILE_LINES) + "\n", encoding="utf-8")
    b = ProfileBuilder([SampleType("cpu", "samples")])
    name = "<img src=y onerror=alert(4)>"
    main = b.frame("main", str(code), 1, kind="python")
    for i in range(len(HOSTILE_LINES)):
        b.add(b.stack([main, b.frame(name, str(code), i + 1, kind="python")]), 10 + i, b.thread(1, "t"))
    out = tmp_path / "h.html"
    write_report(report_data(b.build()), out, prune_fraction=0)
    page = open_page(browser, out, width=1280)
    try:
        select_function(page, name)
        assert page.locator("#fk-source-title .fk-src-fn").text_content() == name
        got = source_rows(page)
        assert {ln: code for ln, (_, _, code) in got.items()} == {i + 1: s for i, s in enumerate(HOSTILE_LINES)}
        assert [got[i + 1][0] for i in range(len(HOSTILE_LINES))] == [10, 11, 12, 13]
        rows = page.locator("#fk-calltree-body .fk-ct-fn").all_text_contents()
        assert name in rows
        assert page.fk_dialogs == [] and page.fk_errors == [] and page.fk_requests == []
        assert page.evaluate("document.scripts.length") == len(REPORT_SCRIPTS) + 1
        assert page.locator("#source img, #source script, #calltree img").count() == 0
    finally:
        page.close()


def test_hostile_scalene_source_stays_text(browser, tmp_path):
    """scalene's source text breaking out of a <script> (corpus SC02) shows as the text it is."""
    p = flamekit.load(HOSTILE / "scalene/SC02-source-breakout.json")
    t = p.tables["scalene_lines"]
    out = tmp_path / "sc02.html"
    write_report(report_data(p), out, prune_fraction=0)
    page = open_page(browser, out, width=1280)
    try:
        select_function(page, "<module>")
        got = page.evaluate("""() => [...document.querySelectorAll('#fk-source-table tbody tr')]
            .map(tr => [tr.cells[0].textContent, tr.cells[3].textContent])""")
        assert got == [[str(ln), s] for ln, s in zip(t["line"], t["source"])]
        assert page.locator("#fk-source-title .fk-src-file").text_content() == t["file"][0]
        assert page.fk_dialogs == [] and page.fk_errors == [] and page.fk_requests == []
        assert page.evaluate("document.scripts.length") == len(REPORT_SCRIPTS) + 1
    finally:
        page.close()


def test_scalene_source_from_the_profile(browser, tmp_path):
    fixture = next((DATA / "scalene").rglob("cpu_split.scalene.json.gz"))
    p = flamekit.load(fixture)
    lines = p.tables["scalene_lines"]
    src = {(f, ln): s for f, ln, s in zip(lines["file"], lines["line"], lines["source"])}
    out = tmp_path / "s.html"
    write_report(report_data(p), out, prune_fraction=0)
    page = open_page(browser, out, width=1280)
    try:
        fn = functions(p)
        top = fn.iloc[0]
        select_function(page, top["name"])
        got = source_rows(page)  # lines with figures in some sample type; the shown one is checked
        truth = line_truth(p, top["name"], top["file"])
        assert {ln for ln, (s, t, _) in got.items() if (s, t) != (0, 0)} == \
            {ln for ln, v in truth.items() if v != [0.0, 0.0]} != set()
        for ln, (s, t, code) in got.items():
            assert [s, t] == pytest.approx(truth.get(ln, [0.0, 0.0]))
            assert code == src[(top["file"], ln)].rstrip("\r\n")
        assert "(text from the profile)" in page.locator("#fk-source-sum").text_content()
        assert page.fk_errors == []
    finally:
        page.close()
