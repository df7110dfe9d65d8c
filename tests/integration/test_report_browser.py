"""The HTML report in a real headless Chromium: drawing, zoom, search, sandwich, XSS, wheel."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import flamekit
from flamekit.formats import get
from flamekit.model import ProfileBuilder, SampleType, call_tree
from flamekit.analysis.report import report_data
from flamekit.render.html import REPORT_SCRIPTS, REPORT_STYLES, include_static, write_report
from flamekit.render.payload import MAX_STRING

from conftest import HOSTILE as HOSTILE_ROOT, ROOT

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import node_center, canvas_ink, click_node, open_page  # noqa: E402

pytestmark = pytest.mark.integration

HOSTILE = ["folded/F08-markup-frames.folded", "folded/F10-long-name.folded",
           "perf/P11-markup-symbols.perf", "perf/P13-control-chars.perf",
           "speedscope/S09-markup-everywhere.json", "scalene/SC02-source-breakout.json",
           "chrome/C04-markup.cpuprofile", "pprof/PP11-markup-strings.pb.gz"]
#: extra payloads from bad_inputs.md beyond the F08 list
EXTRA = ["<script>alert(1)</script>", "javascript:alert(1)", "\u2028\u2029", "a\x00b\x0bc\x7f",
         "\ud800lone", "</title><script>alert(14)</script>", "<lambda>", "<module>",
         '"];URL="javascript:alert(1)', "<svg/onload=alert(1)>", "{{7*7}}"]


def payloads() -> list[str]:
    lines = (HOSTILE_ROOT / "folded/F08-markup-frames.folded").read_text().split("\n")
    names = [ln.rsplit(" ", 1)[0].split(";", 1)[1] for ln in lines if ln.strip()]
    return names + EXTRA


def shop_profile():
    """A small two-thread profile with known callers: fill <- {route, main}."""
    b = ProfileBuilder([SampleType("cpu", "samples"), SampleType("alloc_space", "bytes")])
    t0, t1 = b.thread(11, "MainThread"), b.thread(12, "feed-handler")
    F = {n: b.frame(n, f"{n}.py", i + 1, kind="python") for i, n in
         enumerate(["main", "route", "fill", "price", "risk", "decode", "parse"])}
    S = lambda *ns: b.stack([F[n] for n in ns])  # noqa: E731
    b.add(S("main", "route", "fill", "price"), (50, 1000), t0)
    b.add(S("main", "route", "risk"), (20, 0), t0)
    b.add(S("main", "fill"), (10, 4000), t0)
    b.add(S("main", "route", "fill"), (5, 0), t0)
    b.add(S("decode", "parse"), (30, 2000), t1)
    b.add(S("decode", "parse", "price"), (7, 0), t1)
    return b.build()


def _expected_callers(p, func_name, k=0):
    tree = call_tree(p, k)
    names = [p.frames[f].name for f in p.stack_frame]
    out: dict[str, float] = {}
    for i, n in enumerate(names):
        if n != func_name:
            continue
        a, nested = int(p.stack_prefix[i]), False
        while a >= 0:
            nested |= names[a] == func_name
            a = int(p.stack_prefix[a])
        q = int(p.stack_prefix[i])
        if not nested and q >= 0 and tree.total[i]:
            out[names[q]] = out.get(names[q], 0) + tree.total[i]
    return out


def test_report_interactions(browser, tmp_path):
    p = shop_profile()
    out = tmp_path / "r.html"
    write_report(report_data(p, by="line"), out, title="shop", notes="## Notes\n\n* fill is hot\n",
                 prune_fraction=0)
    page = open_page(browser, out)
    try:
        assert page.fk_errors == [] and page.fk_dialogs == []
        assert canvas_ink(page, "#fk-canvas") > 0.02
        # click "fill" under main->route: zoom, breadcrumb names the path
        names = [p.frames[f].name for f in p.stack_frame]
        node = next(i for i, n in enumerate(names) if n == "fill" and p.stack_prefix[i] >= 0
                    and names[p.stack_prefix[i]] == "route")
        click_node(page, "fk", node)
        crumbs = page.locator("#fk-breadcrumb .fk-crumb").all_text_contents()
        assert crumbs == ["all", "main", "route", "fill"]
        assert page.evaluate("flamekit.instances.fk.main.zoom") == node
        assert canvas_ink(page, "#fk-canvas") > 0.02
        page.click("#fk-reset")
        assert page.locator("#fk-breadcrumb .fk-crumb").all_text_contents() == ["all"]
        # sandwich of "fill" (selected by the click): callers route and main with their totals
        callers = page.locator("#fk-sandwich-callers li")
        got = {li.locator(".fk-name").text_content(): float(li.get_attribute("data-value"))
               for li in callers.all()}
        assert got == _expected_callers(p, "fill") == {"route": 55.0, "main": 10.0}
        callees = page.locator("#fk-sandwich-callees li .fk-name").all_text_contents()
        assert callees == ["price"]
        # search: substring and regex, counts from the model
        tree = call_tree(p, 0)
        for pattern, regex in (("r", False), ("^p", True), ("price", False), ("zzz", False)):
            page.fill("#fk-search", "")
            if regex:
                page.check("#fk-regex")
            else:
                page.uncheck("#fk-regex")
            page.fill("#fk-search", pattern)
            import re
            hit = [(re.search(pattern, n) if regex else pattern in n) and tree.total[i] != 0
                   for i, n in enumerate(names)]
            assert page.get_attribute("#fk-match-count", "data-count") == str(sum(map(bool, hit))), pattern
        page.fill("#fk-search", "price")
        page.uncheck("#fk-regex")
        share = float(page.get_attribute("#fk-match-count", "data-share"))
        assert share == pytest.approx(57 / 122)
        # thread selector: the worker thread only has decode/parse/price
        page.select_option("#fk-thread", "1")
        assert page.get_attribute("#fk-match-count", "data-count") == "1"
        assert page.evaluate("flamekit.instances.fk.grand") == 37
        page.select_option("#fk-thread", "-1")
        # sample type selector and the allocation section
        page.select_option("#fk-type", "1")
        assert page.evaluate("flamekit.instances.fk.grand") == 7000
        assert page.is_visible("#allocations")
        assert canvas_ink(page, "#fkmem-canvas") > 0.02
        page.select_option("#fk-type", "0")
        # keyboard: i flips to icicle, Escape resets
        page.click("body", position={"x": 5, "y": 5})
        page.keyboard.press("i")
        assert page.evaluate("flamekit.instances.fk.main.orientation") == "icicle"
        # functions table: sortable and filterable
        page.fill("#fk-func-filter", "pri")
        assert page.locator("#fk-functions tbody tr").count() == 1
        page.fill("#fk-func-filter", "")
        page.click("#fk-functions th[data-key=name]")
        first = page.locator("#fk-functions tbody tr td").first.text_content()
        assert first == "decode"
        # exports: folded text equals the profile's stacks
        with page.expect_download() as dl:
            page.click("#fk-export-folded")
        text = Path(dl.value.path()).read_text()
        lines = dict(ln.rsplit(" ", 1) for ln in text.splitlines())
        names = {tuple(f.split(" (")[0] for f in k.split(";") if not f.startswith("thread (")): v
                 for k, v in lines.items()}
        assert names["main", "route", "fill", "price"] == "50" and sum(map(float, lines.values())) == 122
        want = io.BytesIO()
        get("folded").dump(p, want)
        assert text.encode() == want.getvalue()  # what `flamekit convert --to folded` writes
        with page.expect_download() as dl:
            page.click("#fk-export-speedscope")
        ss = json.loads(Path(dl.value.path()).read_text())
        assert sum(sum(pr["weights"]) for pr in ss["profiles"]) == 122
        assert page.fk_requests == [] and page.fk_errors == []
    finally:
        page.close()


def test_xss_payloads_stay_text(browser, tmp_path):
    names = payloads()
    b = ProfileBuilder([SampleType("cpu", "samples")])
    root = b.frame("root")
    for i, n in enumerate(names):
        th = b.thread(100 + i, n)
        b.add(b.stack([root, b.frame(n, n, i + 1, kind="python")]), 1 + i, th)
    p = b.build()
    out = tmp_path / "x.html"
    note = "\n\n".join(names)
    write_report(report_data(p, by="line"), out, title=names[0], notes=note, prune_fraction=0)
    page = open_page(browser, out)
    try:
        assert page.fk_dialogs == [] and page.fk_errors == [] and page.fk_requests == []
        assert page.evaluate("document.scripts.length") == len(REPORT_SCRIPTS) + 1
        assert page.evaluate("document.title") == names[0]
        decoded = page.evaluate("""() => { const d = JSON.parse(document.getElementById('flamekit-data').textContent);
            const S = d.payload.strings; return [d.payload.frames.name.map(k => S[k]),
            d.payload.frames.file.map(k => S[k]), d.payload.threads.name.map(k => S[k])]; }""")
        assert sorted(decoded[0]) == sorted(names + ["root"])
        assert sorted(decoded[1]) == sorted(names + [""])
        assert decoded[2] == names
        hs = page.locator("#fk-hotspots tbody td.fk-fn").all_text_contents()
        assert set(hs) <= set(names) and len(hs) == 15
        opts = page.locator("#fk-thread option").all_text_contents()[1:]
        assert opts == [f"{n} (tid {100 + i})" for i, n in enumerate(names)]
        notes_text = page.locator("#fk-notes").text_content()
        assert "<lambda>" in notes_text and "<script>alert(1)</script>" in notes_text
        assert page.locator("#fk-notes script, #fk-notes img, #fk-notes svg").count() == 0
        # hover each drawn frame: the tooltip names it exactly (the notes come first: scroll to the graph)
        page.locator("#fk-canvas").scroll_into_view_if_needed()
        for node in range(1, min(len(names), 12) + 1):
            pos = node_center(page, node, "window.flamekit.instances.fk")
            if pos is None:
                continue
            page.mouse.move(*pos)
            got = page.locator("#fk-tooltip .fk-tip-name").text_content()
            want = p.frames[int(p.stack_frame[node])].name
            assert got == (want or "(empty name)")
        assert page.evaluate("document.scripts.length") == len(REPORT_SCRIPTS) + 1 and page.fk_dialogs == []
    finally:
        page.close()


@pytest.mark.parametrize("rel", HOSTILE)
def test_hostile_files_in_browser(browser, tmp_path, rel):
    path = HOSTILE_ROOT / rel
    p = flamekit.load(path)  # every payload file imports (refused ones are tested elsewhere)
    out = tmp_path / "h.html"
    write_report(report_data(p), out, notes=path.read_text(errors="replace")[:3000])
    page = open_page(browser, out)
    try:
        assert page.fk_dialogs == [] and page.fk_errors == [] and page.fk_requests == []
        assert page.evaluate("document.scripts.length") == len(REPORT_SCRIPTS) + 1
        assert page.evaluate("document.querySelectorAll('[onerror],[onload],[onmouseover]').length") == 0
        assert canvas_ink(page, "#fk-canvas") > 0.005
        decoded = set(page.evaluate("""() => { const d = JSON.parse(document.getElementById('flamekit-data').textContent);
            const S = d.payload.strings; return d.payload.frames.name.map(k => S[k]); }"""))
        want = {n if len(n) <= MAX_STRING else n[:MAX_STRING - 1] + "\u2026"
                for n in {p.frames[f].name for f in p.stack_frame}}
        assert decoded - {"[other]"} == want
        if "F10" in rel:  # truncated before escaping: no entity cut in half, bounded size
            # (the page's own scripts and styles, inlined, plus at most 75 kB of data and markup)
            inlined = sum(len(str(include_static(f)).encode()) for f in REPORT_SCRIPTS + REPORT_STYLES)
            assert out.stat().st_size < inlined + 75_000
            assert max(map(len, decoded)) == MAX_STRING
    finally:
        page.close()


def test_draw_time_and_determinism_on_pyspy_profile(browser, tmp_path):
    src = ROOT / "tests/data/py-spy"
    files = sorted(f for f in src.rglob("*") if f.is_file() and f.suffix in (".json", ".txt", ".folded"))
    assert files, f"no py-spy fixture under {src}"
    p = flamekit.load(files[0])
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    write_report(report_data(p), a)
    write_report(report_data(p), b)
    assert a.read_bytes() == b.read_bytes()
    page = open_page(browser, a)
    try:
        assert page.fk_errors == [] and canvas_ink(page, "#fk-canvas") > 0.01
        assert page.evaluate("window.flamekitState.drawMs") < 1000
    finally:
        page.close()


@pytest.mark.slow
def test_wheel_installs_templates_and_renders(tmp_path):
    """Build a wheel from a copy of the repo, install it in a fresh venv, render a report."""
    import shutil

    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info",
                                                             "build", "dist", ".pytest_cache"))
    (src / "README.md").touch()
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"),
                        str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("flamekit-*.whl"))
    env_dir = tmp_path / "venv"
    # not system_site_packages: from a developer's venv, that "system" is the base interpreter,
    # which lacks the venv's numpy, jinja2...; the helper's .pth shows this interpreter's packages
    from venv_helpers import fresh_venv

    py = fresh_venv(env_dir)
    r = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    folded = tmp_path / "p.folded"
    folded.write_text("main;work 3\nmain;idle 1\n")
    code = ("import flamekit, sys; from flamekit.render.html import _template_root; "
            "print(flamekit.__file__); print(_template_root()); "
            "from flamekit.cli import main; sys.exit(main(['report', sys.argv[1], '-o', sys.argv[2]]))")
    r = subprocess.run([str(py), "-c", code, str(folded), str(tmp_path / "w.html")], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": ""})
    assert r.returncode == 0, r.stderr
    where, troot = r.stdout.splitlines()[:2]
    assert str(env_dir) in where and str(env_dir) in troot
    html = (tmp_path / "w.html").read_text()
    assert 'id="flamekit-data"' in html and "flamekit.render" in html


def test_wide_notes_stay_within_the_page(browser, tmp_path):
    """A 3,000-column Markdown table (once an 80,000 px page), a 3,000-character word and a
    long code line in --notes: the page is no wider than the 1280 px window; the table
    scrolls inside its own box and all of its columns are there."""
    cols = 3000
    table = ("| " + " | ".join(f"column{i}" for i in range(cols)) + " |\n"
             + "|" + "---|" * cols + "\n"
             + "| " + " | ".join(str(i * 7) for i in range(cols)) + " |\n")
    notes = (f"## Wide\n\n{table}\n" + "x" * 3000 + "\n\n```\n" + "y = 1; " * 3000 + "\n```\n")
    out = tmp_path / "wide.html"
    write_report(report_data(shop_profile()), out, title="wide", notes=notes)
    page = open_page(browser, out, width=1280, height=900)
    try:
        assert page.fk_errors == []
        sizes = page.evaluate("""() => {
            const t = document.querySelector('#fk-notes table');
            const box = document.querySelector('#fk-notes');
            return {doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,
                    view: window.innerWidth, th: t.querySelectorAll('th').length,
                    tableClient: t.clientWidth, tableScroll: t.scrollWidth,
                    notesRight: box.getBoundingClientRect().right};
        }""")
        assert sizes["doc"] <= sizes["view"] == 1280, sizes
        assert sizes["body"] <= 1280 and sizes["notesRight"] <= 1280, sizes
        assert sizes["th"] == cols
        assert sizes["tableClient"] < 1280 < sizes["tableScroll"], sizes  # it scrolls inside
        page.locator("#notes").scroll_into_view_if_needed()
        page.mouse.wheel(0, -200)
        page.screenshot(path=str(tmp_path / "wide-notes.png"))
    finally:
        page.close()
