"""Reports of memray captures in a real headless Chromium: drawing, memory types, charts, XSS.

The checks the other report pages pass (no console error, dialog or network
request; the flame graph draws; search and the sample-type selector agree with
the model; byte-identical output for the same input; untrusted names stay text),
on a real memray capture with a known answer and on one whose function and file
names are hostile markup (set through ``code.replace``/``compile``: memray records
``co_name`` and ``co_filename`` as they are).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import flamekit
from conftest import DATA
from flamekit.analysis.report import report_data
from flamekit.render.html import REPORT_SCRIPTS, write_report

sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))
from browser import canvas_ink, open_page  # noqa: E402

pytestmark = pytest.mark.integration

CAPTURE = DATA / "memray" / "1.20.0" / "mem_known.bin"
MIB = 1 << 20


def test_memray_report_in_browser(browser, tmp_path):
    p = flamekit.load(CAPTURE)
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    write_report(report_data(p), a)
    write_report(report_data(p), b)
    assert a.read_bytes() == b.read_bytes()
    page = open_page(browser, a)
    try:
        assert page.fk_errors == [] and page.fk_dialogs == [] and page.fk_requests == []
        assert page.evaluate("document.scripts.length") == a.read_text().count("<script")
        assert canvas_ink(page, "#fk-canvas") > 0.02
        opts = page.locator("#fk-type option").all_text_contents()
        assert len(opts) == 4 and "peak_space" in opts[0] and "leaked_space" in opts[1], opts
        totals = p.totals()
        assert page.evaluate("flamekit.instances.fk.grand") == totals[0]
        page.select_option("#fk-type", "1")
        assert page.evaluate("flamekit.instances.fk.grand") == totals[1]
        # search: keep_positions holds the leaked memory (8 MiB of 8.06)
        page.fill("#fk-search", "keep_positions")
        share = float(page.get_attribute("#fk-match-count", "data-share"))
        keep = flamekit.functions(flamekit.group(p, "function"), "leaked_space")
        want = float(keep[keep["name"] == "keep_positions"]["total"].sum()) / totals[1]
        assert share == pytest.approx(want, rel=1e-6) and share > 0.9
        # allocation breakdown: sites by line with peak and count, and its flame graph
        assert page.is_visible("#allocations")
        first = page.locator("#fk-alloc-sites tbody tr").first.locator("td").all_text_contents()
        assert first[0] == "churn_ticks" and first[2] == "32.00 MiB" and first[5] == "128", first
        assert canvas_ink(page, "#fkmem-canvas") > 0.02
        # ... drawn for the report's memory type (peak_space, memray's first)
        assert page.evaluate("flamekit.instances.fkmem.grand") == totals[0]
        assert "peak_space" in page.locator("#fk-alloc-graph-type").text_content()
        # memory over time from memray's snapshots, beside the resource timeline
        assert page.is_visible("#resources") and page.is_visible("#fk-heap-chart")
        assert canvas_ink(page, "#fk-heap-chart") > 0.002 and canvas_ink(page, "#fk-rss-chart") > 0.002
        assert not page.is_visible("#fk-cpu-chart")  # a capture read directly has no CPU timeline
    finally:
        page.close()
    # the allocation flame graph follows a chosen memory type
    c = tmp_path / "c.html"
    write_report(report_data(p, sample_type="alloc_space"), c)
    page = open_page(browser, c)
    try:
        assert page.evaluate("flamekit.instances.fkmem.grand") == p.totals()[p.type_index("alloc_space")]
        assert "alloc_space" in page.locator("#fk-alloc-graph-type").text_content()
        assert page.fk_errors == []
    finally:
        page.close()


HOSTILE_PROGRAM = r'''
import sys
NAMES = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "\u202eevil", "a\x00b"]
KEEP = []
def grab(n):
    KEEP.append(bytearray(n))
for i, name in enumerate(NAMES):
    code = compile("def f(n):\n    KEEP.append(bytearray(n))\n", f"</title><svg onload=alert({i})>.py", "exec")
    ns = {"KEEP": KEEP}
    exec(code, ns)
    f = ns["f"]
    f.__code__ = f.__code__.replace(co_name=name)
    f((i + 1) << 20)
'''


def test_hostile_names_from_a_capture_stay_text(browser, tmp_path):
    prog = tmp_path / "hostile.py"
    prog.write_text(HOSTILE_PROGRAM)
    cap = tmp_path / "h.bin"
    r = subprocess.run([sys.executable, "-m", "memray", "run", "-q", "-o", str(cap), str(prog)],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    p = flamekit.load(cap)
    names = {f.name for f in p.frames}
    assert "<script>alert(1)</script>" in names and "<img src=x onerror=alert(2)>" in names
    out = tmp_path / "h.html"
    write_report(report_data(p, sample_type="leaked_space"), out)
    page = open_page(browser, out)
    try:
        assert page.fk_dialogs == [] and page.fk_errors == [] and page.fk_requests == []
        # only the page's own scripts (names are escaped: no "<script" of theirs in the file)
        assert page.evaluate("document.scripts.length") == out.read_text().count("<script") == len(REPORT_SCRIPTS) + 1
        assert page.evaluate("document.querySelectorAll('[onerror],[onload]').length") == 0
        shown = page.locator("#fk-hotspots tbody td.fk-fn").all_text_contents()
        assert "<img src=x onerror=alert(2)>" in shown, shown
        sites = page.locator("#fk-alloc-sites tbody td.fk-fn").all_text_contents()
        assert "<script>alert(1)</script>" in sites
        assert canvas_ink(page, "#fk-canvas") > 0.01
    finally:
        page.close()
