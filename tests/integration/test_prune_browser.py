"""The detail budget in real Chromium (issue 11): a 0.2 % frame of a 50k-stack profile zooms
into its children; ``[other]`` frames say what they hold; the notice is the page's."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from flamekit.analysis.report import report_data
from flamekit.render.html import write_report
from flamekit.render.prune import prune, prune_note

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from browser import click_node, node_center, open_page  # noqa: E402
from test_prune_budget import budget_paths, to_stack_paths  # noqa: E402

pytestmark = pytest.mark.integration

#: each drawn node of the zoomed view: [node, x, width] per row, flattened per depth
DRAWN = """() => { const g = flamekit.instances.fk, out = [];
  g.main.rows.forEach(r => { for (let i = 0; i < r.length; i += 3) out.push([r[i], r[i + 1], r[i + 2]]); });
  return out; }"""


def test_zoom_into_a_small_frame_shows_its_children(browser, tmp_path):
    paths, w, th = budget_paths()
    p = to_stack_paths(paths, w, th).to_profile()
    out = tmp_path / "budget.html"
    write_report(report_data(p), out, title="budget")  # the defaults: 0.1 %, 50,000 frames
    _, info = prune(p)
    assert info.pruned_nodes > 0
    page = open_page(browser, out)
    try:
        assert page.fk_errors == []
        assert page.text_content("#fk-pruned") == prune_note(info, ["cpu"])
        page.select_option("#fk-thread", "2")  # "tiny": "target" holds 0.2 % of it
        g = "flamekit.instances.fk"
        target = page.evaluate(f"""() => {{ const D = {g}.data;
            for (let i = 0; i < D.n; i++) if (D.names[D.frame[i]] === 'target') return i; return -1; }}""")
        assert target >= 0
        share = page.evaluate(f"{g}.view.total[{target}] / {g}.grand")
        assert share == pytest.approx(0.002, abs=1e-4)
        click_node(page, "fk", target)
        assert page.evaluate(f"{g}.main.zoom") == target
        kids = page.evaluate(f"""() => {{ const D = {g}.data, v = {g}.view, out = {{}};
            for (let i = 0; i < D.n; i++) if (D.parent[i] === {target} && v.width[i] > 0)
              out[i] = [D.label(i, i), v.total[i]];
            return out; }}""")
        names = sorted(k[0] for k in kids.values())
        assert "child_a" in names  # 0.12 % of the thread: kept whatever the budget
        drawn = {n: (x, wd) for n, x, wd in page.evaluate(DRAWN)}
        width = page.evaluate(f"{g}.main.canvas.clientWidth")
        total = page.evaluate(f"{g}.view.total[{target}]")
        for node, (_, value) in kids.items():  # every child drawn, as wide as its share
            assert int(node) in drawn, kids[node]
            assert drawn[int(node)][1] == pytest.approx(width * value / total, abs=0.5)
        # an [other] frame (all threads): zoom to its parent, hover it: it says what it merges
        page.select_option("#fk-thread", "-1")
        other = page.evaluate(f"""() => {{ const D = {g}.data, v = {g}.view, o = D.p.pruned.other;
            let best = -1, bv = 0, k = -1;
            for (let j = 0; j < o.node.length; j++) if (D.parent[o.node[j]] >= 0 && v.total[o.node[j]] > bv) {{
              bv = v.total[o.node[j]]; best = o.node[j]; k = j; }}
            return [best, o.children[k], o.frames[k], D.label(best, best), D.parent[best]]; }}""")
        node, n_kids, n_frames, label, parent = other
        assert label == f"[other] {n_frames} smaller frame{'s' if n_frames != 1 else ''}"
        page.evaluate(f"{g}.zoomTo({parent})")
        box = node_center(page, node)
        assert box is not None
        page.mouse.move(box[0], box[1])
        tip = page.text_content("#fk-tooltip")
        assert f"Merged{n_kids} smaller callee" in tip and f"{n_frames} frame" in tip
    finally:
        page.close()
