"""The report's Time order view in real Chromium, on a py-spy recording whose phases are known.

``sample_workloads/ingest_backtest.py`` runs ``ingest_ticks`` for about 1 s, then
``run_backtest`` for about 1 s, and nothing in between. The flame chart must show
the first before the second; a time range selected by dragging on the resource
timeline (or the samples strip) must filter the flame graph, hotspots and
functions table to exactly the model's samples in that range, counted in Python.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from flamekit.analysis.report import report_data
from flamekit.model import ProfileBuilder, SampleType
from flamekit.render.html import write_report

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import canvas_ink, open_page  # noqa: E402
from record_helpers import record_two_phase, two_phase_report  # noqa: E402

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """One py-spy recording of the two-phase job, its profile and its report (module-wide)."""
    p, html = two_phase_report(tmp_path_factory.mktemp("timeline"))
    return p, html


def _phase_times(p, name: str) -> np.ndarray:
    """Times of the samples whose stack holds a frame called ``name`` (the model's ground truth)."""
    has = np.array([name in {p.frames[f].name for f in p.stack_frames(s)} for s in range(p.n_stacks)])
    return np.sort(p.sample_time[has[p.sample_stack]])


def _in_range(p, lo: float, hi: float, name: str | None = None) -> tuple[int, float]:
    """Return (samples, wall seconds) of the model in [lo, hi), optionally only under ``name``."""
    m = (p.sample_time >= lo) & (p.sample_time < hi)
    if name is not None:
        has = np.array([name in {p.frames[f].name for f in p.stack_frames(s)} for s in range(p.n_stacks)])
        m &= has[p.sample_stack]
    return int(m.sum()), float(p.values[m, 0].sum())


def _drag(page, selector: str, t_lo: float, t_hi: float) -> None:
    """Drag with the mouse across a chart from time ``t_lo`` to ``t_hi`` (its own axis)."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    ax = page.evaluate("(s) => document.querySelector(s).fkAxis", selector)
    k = (ax["right"] - ax["left"]) / (ax["t1"] - ax["t0"])
    x0, x1 = box["x"] + ax["left"] + (t_lo - ax["t0"]) * k, box["x"] + ax["left"] + (t_hi - ax["t0"]) * k
    y = box["y"] + box["height"] / 2
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, y, steps=4)
    page.mouse.move(x1, y)
    page.mouse.up()


def _chip(page) -> dict:
    return page.evaluate("""() => { const c = document.getElementById('fk-range-chip');
        return {hidden: c.hidden, text: c.textContent, lo: +c.dataset.lo, hi: +c.dataset.hi,
                samples: +c.dataset.samples}; }""")


def _page_numbers(page) -> dict:
    """The filtered flame graph's total, the hotspot rows and the functions table, as the page shows them."""
    return page.evaluate("""() => {
        const g = flamekit.instances.fk, D = g.data, self = {}, total = {};
        for (let i = 0; i < D.n; i++) {
            const nm = D.names[D.frame[i]];
            self[nm] = (self[nm] || 0) + g.view.self[i];
        }
        const hot = [...document.querySelectorAll('#fk-hotspots tbody tr')].map(
            tr => [tr.cells[1].textContent, tr.cells[4].textContent]);
        const funcs = [...document.querySelectorAll('#fk-functions tbody tr')].map(tr => tr.cells[0].textContent);
        return {grand: g.grand, self: self, hot: hot, funcs: funcs,
                note: document.getElementById('fk-hotspots-type').textContent};
    }""")


def test_flame_chart_shows_ingest_before_backtest(browser, recording, tmp_path):
    p, html = recording
    a, b = _phase_times(p, "ingest_ticks"), _phase_times(p, "run_backtest")
    assert len(a) > 40 and len(b) > 40, (len(a), len(b))  # ~100 each at 100 Hz
    assert a.max() < b.min()  # by construction: the recording's times keep the phases apart
    page = open_page(browser, html, width=1280)
    try:
        assert page.fk_errors == [] and page.fk_requests == []
        assert canvas_ink(page, "#fk-tl-canvas") > 0.05 and canvas_ink(page, "#fk-tl-overview") > 0.01
        boxes_a = page.evaluate("() => flamekit.timeline.boxes('ingest_ticks')")
        boxes_b = page.evaluate("() => flamekit.timeline.boxes('run_backtest')")
        assert boxes_a and boxes_b
        # the chart starts each phase where the model's first sample of it is, and A ends before B starts
        assert boxes_a[0][0] == pytest.approx(a.min(), abs=2e-6)
        assert boxes_b[0][0] == pytest.approx(b.min(), abs=2e-6)
        assert max(e for _, e, _ in boxes_a) <= min(s for s, _, _ in boxes_b) + 1e-6
        # as drawn: the widest ingest_ticks box lies left of the widest run_backtest box
        da, db = (page.evaluate("(n) => flamekit.timeline.drawn(n)", nm) for nm in ("ingest_ticks", "run_backtest"))
        assert da["x"] + da["w"] / 2 <= db["x"] - db["w"] / 2 + 1
        # most of the drawn width of each phase: one long run, not a scatter
        assert sum(e - s for s, e, _ in boxes_a) >= 0.8 * len(a) * 0.01
        # search in the chart counts the frames it finds; click zooms to a frame's time span
        page.fill("#fk-tl-search", "run_backtest")
        assert int(page.get_attribute("#fk-tl-match-count", "data-count")) >= len(boxes_b)
        page.locator("#fk-tl-canvas").scroll_into_view_if_needed()
        hit = page.evaluate("() => flamekit.timeline.drawn('run_backtest')")
        assert hit is not None
        page.mouse.move(hit["x"], hit["y"])
        tip = page.locator("#fk-tl-tooltip")
        assert tip.is_visible() and "run_backtest" in tip.inner_text()
        page.mouse.click(hit["x"], hit["y"])
        v = page.evaluate("() => [flamekit.timeline.view.t0, flamekit.timeline.view.t1]")
        assert v == pytest.approx([hit["start"], hit["end"]], abs=1e-9)
    finally:
        page.close()


def test_range_on_the_resource_timeline_filters_graph_hotspots_and_tables(browser, recording, tmp_path):
    p, html = recording
    a, b = _phase_times(p, "ingest_ticks"), _phase_times(p, "run_backtest")
    res = p.tables["resources"]["time"]
    page = open_page(browser, html, width=1280)
    try:
        full = _page_numbers(page)
        assert full["grand"] == pytest.approx(float(p.values[:, 0].sum()))
        # drag across the CPU chart over the first phase: from just before ingest_ticks began (after
        # the interpreter's start-up) to just before run_backtest began
        lo, hi = max(res[0], a.min() - 0.02), b.min() - 0.03
        _drag(page, "#fk-cpu-chart", lo, hi)
        chip = _chip(page)
        assert not chip["hidden"]
        assert chip["lo"] == pytest.approx(lo, abs=0.01) and chip["hi"] == pytest.approx(hi, abs=0.01)
        n, wall = _in_range(p, chip["lo"], chip["hi"])
        assert chip["samples"] == n and n > 40
        assert f"{chip['lo']:.2f}\u2013{chip['hi']:.2f} s, {n} samples" in chip["text"]
        got = _page_numbers(page)
        assert got["grand"] == pytest.approx(wall, rel=1e-9)
        na, wa = _in_range(p, chip["lo"], chip["hi"], "ingest_ticks")
        assert _in_range(p, chip["lo"], chip["hi"], "run_backtest")[0] == 0  # B is absent by construction
        assert got["self"].get("ingest_ticks", 0) == pytest.approx(wa, rel=1e-9) and wa / wall > 0.8
        assert got["self"].get("run_backtest", 0) == 0
        assert got["hot"][0][0] == "ingest_ticks"
        assert all(h[0] != "run_backtest" for h in got["hot"]) and "run_backtest" not in got["funcs"]
        assert f"{chip['lo']:.2f}\u2013{chip['hi']:.2f} s" in got["note"]
        # the "hide library frames" switch swaps the flame graph's tree: the range stays applied
        if page.locator("#fk-hide-libraries").count():
            page.click("#fk-hide-libraries")
            sw = _page_numbers(page)
            assert sw["grand"] == pytest.approx(wall, rel=1e-9) and sw["hot"][0][0] == "ingest_ticks"
            assert _chip(page)["samples"] == n
            page.click("#fk-hide-libraries")
        # the flame chart zooms to the range
        v = page.evaluate("() => [flamekit.timeline.view.t0, flamekit.timeline.view.t1]")
        assert v == pytest.approx([chip["lo"], chip["hi"]], abs=1e-9)
        # reset: everything again
        page.click("#fk-range-reset")
        assert _chip(page)["hidden"]
        back = _page_numbers(page)
        assert back["grand"] == pytest.approx(full["grand"]) and back["hot"] == full["hot"]
        # the second half, selected on the samples strip: B dominates and A is absent
        _drag(page, "#fk-tl-overview", a.max() + 0.005, float(p.sample_time.max()) + 0.01)
        chip = _chip(page)
        n, wall = _in_range(p, chip["lo"], chip["hi"])
        assert chip["samples"] == n and n > 40
        got = _page_numbers(page)
        assert got["grand"] == pytest.approx(wall, rel=1e-9)
        assert got["hot"][0][0] == "run_backtest" and "ingest_ticks" not in got["funcs"]
        assert page.fk_errors == [] and page.fk_requests == []
    finally:
        page.close()


def test_screenshot_of_the_time_order_view(browser, recording, tmp_path):
    """A 1280 px screenshot with a range selected (docs/img/timeline.png is one of these)."""
    p, html = recording
    b = _phase_times(p, "run_backtest")
    page = open_page(browser, html, width=1280, height=900)
    try:
        page.evaluate("(hi) => flamekit.timeline.setRange(flamekit.timeline.view.t0, hi)", float(b.min()) - 0.03)
        shot = tmp_path / "timeline.png"
        page.locator("#timeline").screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        page.close()


def test_names_in_the_flame_chart_are_text(browser, tmp_path):
    """Hostile frame names reach the chart's tooltip as text: no markup, no dialog."""
    evil = ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>', '"]);alert(3);//']
    b = ProfileBuilder([SampleType("cpu", "samples")])
    st = [b.stack([b.frame("main", "m.py"), b.frame(n, "<b>x.py</b>")]) for n in evil]
    for i in range(300):
        b.add(st[i // 100], 1, 0, i * 0.01)
    html = tmp_path / "evil.html"
    write_report(report_data(b.build()), html)
    page = open_page(browser, html, width=1280)
    try:
        page.locator("#fk-tl-canvas").scroll_into_view_if_needed()
        r = page.locator("#fk-tl-canvas").bounding_box()
        for k, name in enumerate(evil):
            page.mouse.move(r["x"] + r["width"] * (k + 0.5) / 3, r["y"] + 18 + 16 + 8)
            tip = page.locator("#fk-tl-tooltip")
            assert tip.is_visible()
            assert page.evaluate("() => document.getElementById('fk-tl-tooltip').firstChild.textContent") == name
            assert page.evaluate("() => document.querySelectorAll('#fk-tl-tooltip *').length") < 20
            assert page.locator("#fk-tl-tooltip img, #fk-tl-tooltip script, #fk-tl-tooltip b").count() == 0
        assert page.fk_dialogs == [] and page.fk_errors == []
    finally:
        page.close()


def test_perf_recordings_are_on_the_resource_timelines_clock(tmp_path):
    """``record --backend perf`` stamps samples with CLOCK_MONOTONIC: their times fall within the recording.

    (Python frames need perf support, Python 3.12+: the phases themselves are checked on py-spy above.)
    """
    from conftest import require_tool

    require_tool("perf", "apt-get install linux-perf")
    p = record_two_phase(tmp_path, "perf", 0.6)
    assert p.meta["sample_clock"] == "recording"
    res = p.tables["resources"]["time"]
    # every sample lies between the recording's start (0) and its end, like the resource samples
    assert 0 <= p.sample_time.min() and p.sample_time.max() <= p.meta["duration_s"]
    assert p.sample_time.min() <= res[-1] and p.sample_time.max() >= res[0]
    # the samples span the command's run: at least half of the 1.2 s of work it does by construction
    assert p.sample_time.max() - p.sample_time.min() >= 0.6
