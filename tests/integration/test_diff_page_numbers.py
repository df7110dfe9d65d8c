"""Issue 11 (Diff) on the diff page in real headless Chromium.

Colour follows significance (canvas pixels of a significant and a non-significant
frame), the banner stays true to the view after ``b``, and the Changes table of a
real diff page (two py-spy recordings of ``sample_workloads/regression_pair.py``,
without and with ``--inject``) fits its panel at 1280 px: no clipped column, names
broken only at ``.``/``_`` boundaries.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import flamekit
from flamekit.analysis.diff import diff
from flamekit.render.diff_html import write_diff_html

from conftest import DATA, ROOT

sys.path.insert(0, str(Path(__file__).parent))
from browser import node_center, open_page  # noqa: E402

PAIR = DATA / "py-spy" / "0.4.3"
BASE, HEAD = "regression_pair-base.raw.txt", "regression_pair-head.raw.txt"
WORKLOAD = ROOT / "sample_workloads" / "regression_pair.py"

PIXEL = """([node]) => {
    const g = window.flamekitState.graph, rows = g.main.rows, cv = g.main.canvas;
    const dpr = window.devicePixelRatio || 1, ctx = cv.getContext('2d');
    for (let d = 0; d < rows.length; d++) {
        const row = rows[d];
        for (let i = 0; i < row.length; i += 3) if (row[i] === node) {
            const top = g.main.orientation === 'icicle' ? d * 18 : g.main.cssH - (d + 1) * 18;
            const px = ctx.getImageData(Math.round((row[i + 1] + 1) * dpr), Math.round((top + 2) * dpr), 1, 1).data;
            return [px[0], px[1], px[2]];
        }
    }
    return null;
}"""


def _node_of(page, name: str) -> int:
    return page.evaluate("""([name]) => { const D = window.flamekitState.graph.data;
        let best = -1, w = -1;
        for (let i = 0; i < D.n; i++) if (D.names[D.frame[i]] === name) {
            const t = window.flamekitState.graph.tree; if (t.width[i] > w) { w = t.width[i]; best = i; } }
        return best; }""", [name])


def test_canvas_colour_follows_significance_and_banner_follows_view(browser, tmp_path) -> None:
    b, h = flamekit.load(PAIR / BASE), flamekit.load(PAIR / HEAD)
    res = diff(b, h, base_sources=[BASE], head_sources=[HEAD])
    t = res.table.set_index("name")
    # ground truth: price_book moved by ~−10.9 pp without significance, slow_risk_check is a regression
    assert abs(t.loc["price_book", "delta_self"]) > 5 and not t.loc["price_book", "significant"]
    assert t.loc["slow_risk_check", "regression"]
    out = tmp_path / "d.html"
    write_diff_html(res, out, prune_fraction=0)
    page = open_page(browser, out, width=1280)
    try:
        assert page.fk_errors == [] and page.fk_dialogs == []
        slow, price = _node_of(page, "slow_risk_check"), _node_of(page, "price_book")
        assert slow >= 0 and price >= 0
        rs, gs, bs = page.evaluate(PIXEL, [slow])
        assert rs > 240 and gs < 200 and bs < 200, (rs, gs, bs)          # red: significant regression
        rp, gp, bp = page.evaluate(PIXEL, [price])
        assert max(rp, gp, bp) - min(rp, gp, bp) <= 6, (rp, gp, bp)       # neutral grey
        legend = page.locator("#fk-legend").text_content()
        assert "significant regression" in legend and "not significant" in legend
        tip_rows = page.evaluate("""([n]) => { const g = window.flamekitState.graph;
            return g.opts.tooltipRows(g.info(g.tree, n)); }""", [price])
        assert "not significant (−10.85 pp, q 0.388)" in tip_rows[0][1]
        cells = page.evaluate("""() => [...document.querySelectorAll('#fk-changes tbody tr')]
            .map(tr => [tr.cells[0].textContent, tr.cells[1].textContent])""")
        assert any(st == "not significant" for st, _ in cells)
        for st, d in cells:   # "unchanged" only for a change that rounds to zero
            assert st != "unchanged" or d in ("+0.00", "-0.00"), (st, d)
        summary = page.locator("#fk-summary").text_content()
        assert BASE in summary and HEAD in summary
        assert "Widths: head" in " ".join(legend.split())
        page.locator("body").press("b")
        assert page.evaluate("window.flamekitState.graph.showBase") is True
        legend = " ".join(page.locator("#fk-legend").text_content().split())
        assert "Widths: base" in legend and "Widths: head" not in legend, legend
    finally:
        page.close()


def _record(out: Path, *args: str) -> Path:
    r = subprocess.run(["py-spy", "record", "-r", "200", "-f", "speedscope", "-o", str(out), "--",
                        sys.executable, str(WORKLOAD), "--seconds", "1.2", *args],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or not out.exists():
        pytest.fail(f"py-spy failed ({r.returncode}; install: pip install py-spy): {r.stderr[-800:]}")
    return out


@pytest.mark.integration
def test_changes_table_fits_its_panel_at_1280px(browser, tmp_path) -> None:
    base = _record(tmp_path / "base.json")
    head = _record(tmp_path / "head.json", "--inject")
    res = diff(flamekit.load(base), flamekit.load(head), base_sources=[str(base)],
               head_sources=[str(head)], min_delta=0.0, alpha=0.5)
    out = tmp_path / "diff.html"
    write_diff_html(res, out, title="regression pair")
    page = open_page(browser, out, width=1280, height=900)
    try:
        assert page.fk_errors == []
        page.locator("#changes").screenshot(path=str(tmp_path / "changes.png"))
        page.screenshot(path=str(Path("/tmp") / "flamekit-diff-1280.png"), full_page=True)
        for width in (1280, 760):   # 760: names must wrap, and only at their parts
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(200)
            fit = page.evaluate("""() => { const s = document.querySelector('.fk-changes-scroll'),
                t = document.getElementById('fk-changes'), card = document.getElementById('changes');
                return [s.scrollWidth, s.clientWidth, t.getBoundingClientRect().right,
                        card.getBoundingClientRect().right]; }""")
            assert fit[0] <= fit[1], (width, fit)      # no horizontal scroll: no clipped column
            assert fit[2] <= fit[3] + 0.5, (width, fit)  # the table ends inside its card
            over = page.evaluate("""() => [...document.querySelectorAll('#fk-changes td, #fk-changes th')]
                .filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent)""")
            assert over == [], (width, over[:5])
            lines = page.evaluate("""() => [...document.querySelectorAll('#fk-changes td.fk-fn')].map(td => {
                const r = document.createRange(), parts = []; let top = null, cur = '';
                const w = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
                while (w.nextNode()) { const n = w.currentNode;
                  for (let i = 0; i < n.length; i++) { r.setStart(n, i); r.setEnd(n, i + 1);
                    const y = r.getBoundingClientRect().top;
                    if (top !== null && Math.abs(y - top) > 3) { parts.push(cur); cur = ''; }
                    top = y; cur += n.data[i]; } }
                parts.push(cur); return parts; })""")
            for parts in lines:
                for part in parts[:-1]:   # every line but the last ends at a break opportunity
                    assert part[-1] in "._/:" or len(part) >= 24, (width, parts)
            if width == 760:
                assert any(len(p) > 1 for p in lines), "no name wrapped at 760 px"
    finally:
        page.close()
