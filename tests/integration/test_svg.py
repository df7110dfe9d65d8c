"""The static SVG flame graph (``convert --to svg``, ``report --svg``) in real headless Chromium.

Frame widths are checked against totals computed here, independently of the
renderer, by walking every sample's stack: each drawn frame's width over the
frame area equals its path's total over the profile's total (within the
0.01 px rounding of the file), and every path wide enough to be drawn is drawn.
"""
from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from flamekit import formats
from flamekit.model import ProfileBuilder, SampleType
from flamekit.render.svg import DEFAULT_MIN_WIDTH, FRAME_HEIGHT, X_PAD, display_name, render_svg

from conftest import DATA, require_tool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import open_page  # noqa: E402
from record_helpers import WORKLOADS, env, flamekit_record, profile_path  # noqa: E402

pytestmark = pytest.mark.integration

PYSPY = DATA / "py-spy" / "0.4.3"
#: The drawn frames as the browser laid them out: box, tooltip and label.
READ_FRAMES = """() => [...document.querySelectorAll('g.frame')].map(g => {
    const r = g.querySelector('rect'), b = r.getBBox();
    return {x: b.x, y: b.y, w: b.width, title: g.querySelector('title').textContent,
            label: g.querySelector('text').textContent};
})"""


def flamekit_cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m flamekit ARGS`` from this checkout."""
    return subprocess.run([sys.executable, "-m", "flamekit", *args], env=env(), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def expected_paths(profile) -> tuple[dict[tuple, float], float]:
    """Return total per root-first path of ``(name, file)`` (display names), and the grand total."""
    tot: dict[tuple, float] = defaultdict(float)
    grand = 0.0
    frames = [(display_name(f.name), f.file) for f in profile.frames]
    for s, v in zip(profile.sample_stack.tolist(), profile.values[:, 0].tolist()):
        path = tuple(frames[i] for i in profile.stack_frames(s))
        grand += v
        for d in range(1, len(path) + 1):
            tot[path[:d]] += v
    return tot, grand


def drawn_paths(rows: list[dict]) -> dict[tuple, dict]:
    """Rebuild each drawn frame's path from geometry: its parent is the frame just below containing it."""
    by_y: dict[float, list[dict]] = defaultdict(list)
    for r in rows:
        by_y[round(r["y"])].append(r)
    root = max(by_y)  # the "all" frame is the lowest row
    assert len(by_y[root]) == 1 and by_y[root][0]["title"].startswith("all\n")
    out: dict[tuple, dict] = {}
    paths = {id(by_y[root][0]): ()}
    for y in sorted(by_y, reverse=True)[1:]:
        below = by_y[y + FRAME_HEIGHT]
        for r in by_y[y]:
            parents = [q for q in below if q["x"] - 0.02 <= r["x"] and r["x"] + r["w"] <= q["x"] + q["w"] + 0.02]
            assert len(parents) == 1, (r, parents)
            name, loc = r["title"].split("\n")[:2]
            key = paths[id(parents[0])] + ((name, re.sub(r":\d+$", "", loc)),)
            assert key not in out, key
            paths[id(r)] = key
            out[key] = r
    return out


def check_widths(page, profile) -> int:
    """Assert every frame's width matches the model's totals; return the number of frames drawn."""
    rows = page.evaluate(READ_FRAMES)
    area = 1200 - 2 * X_PAD
    drawn = drawn_paths(rows)
    want, grand = expected_paths(profile)
    assert grand > 0
    for path, r in drawn.items():
        assert path in want, path
        assert abs(r["w"] - want[path] / grand * area) <= 0.011, (path, r["w"], want[path] / grand * area)
    wide = {p for p, v in want.items() if v / grand * area >= DEFAULT_MIN_WIDTH + 0.01}
    assert wide <= set(drawn), sorted(wide - set(drawn))[:3]
    return len(drawn)


@pytest.mark.parametrize("name", ["cpu_split.raw.txt", "cpu_split.speedscope.json",
                                  "two_threads.speedscope.json"])
def test_svg_widths_match_model_totals(browser, tmp_path, name):
    """convert --to svg on real py-spy recordings: renders cleanly, widths equal the model's shares."""
    out = tmp_path / "flame.svg"
    r = flamekit_cli("convert", str(PYSPY / name), "-o", str(out))
    assert r.returncode == 0, r.stderr
    profile = formats.load(PYSPY / name)
    page = open_page(browser, out, wait_ready=False)
    try:
        assert page.evaluate("document.documentElement.tagName") == "svg"
        assert page.evaluate("document.getElementsByTagName('parsererror').length") == 0
        assert page.fk_errors == [] and page.fk_requests == []
        n = check_widths(page, profile)
        assert n >= 5
        assert page.evaluate("document.querySelectorAll('g.frame > rect').length") == n + 1
        assert page.evaluate("document.querySelectorAll('g.frame > text').length") == n + 1
        subtitle = page.evaluate("document.querySelector('text.subtitle').textContent")
        assert str(profile.sample_types[0]) in subtitle
    finally:
        page.close()


def test_svg_of_fresh_recording_and_report_flag(browser, tmp_path):
    """record cpu_split.py with py-spy, then report --svg: price_options is ~70 % of the picture."""
    require_tool("py-spy", "pip install py-spy")
    prof = profile_path(tmp_path)
    r = flamekit_record("-o", str(prof), "--", sys.executable, str(WORKLOADS / "cpu_split.py"),
                        "--seconds", "2", "--hot", "0.7")
    assert r.returncode == 0, r.stderr
    svg = tmp_path / "flame.svg"
    r = flamekit_cli("report", str(prof), "-o", str(tmp_path / "r.html"), "--svg", str(svg))
    assert r.returncode == 0, r.stderr
    profile = formats.load(prof)
    page = open_page(browser, svg, wait_ready=False)
    try:
        assert page.fk_errors == []
        check_widths(page, profile)
        rows = page.evaluate(READ_FRAMES)
        hot = sum(r["w"] for r in rows if r["title"].startswith("price_options\n"))
        cold = sum(r["w"] for r in rows if r["title"].startswith("update_risk\n"))
        assert hot + cold > 0
        assert 0.55 <= hot / (hot + cold) <= 0.85, (hot, cold)
    finally:
        page.close()


HOSTILE = ["<script>alert(1)</script>", 'a & b "quoted" \'single\'', "\u202eevil_rtl",
           "</title><script>alert(2)</script>", "ctl\x01\x1b[31m", "<svg onload=alert(3)>",
           "]]><!--", "\ud800lone"]


def test_svg_hostile_names_stay_text(browser, tmp_path):
    """Markup, quotes, ampersands, bidi overrides and control characters end up as visible text."""
    b = ProfileBuilder([SampleType("cpu", "samples")])
    root = b.frame("main", "app.py", 1)
    for i, name in enumerate(HOSTILE):
        f = b.frame(name, f"evil<{i}>&\".py", i + 1)
        b.add(b.stack([root, f]), 10 + i)
    p = b.build()
    out = tmp_path / "hostile.svg"
    out.write_text(render_svg(p, title="<b>title</b> & \u202e"), encoding="utf-8")  # strict UTF-8
    page = open_page(browser, out, wait_ready=False)
    try:
        assert page.evaluate("document.documentElement.tagName") == "svg"
        assert page.evaluate("document.getElementsByTagName('parsererror').length") == 0
        assert page.evaluate("document.getElementsByTagName('script').length") == 0
        assert page.evaluate("document.querySelectorAll('[onload]').length") == 0
        assert page.fk_dialogs == [] and page.fk_errors == []
        titles = page.evaluate("[...document.querySelectorAll('g.frame > title')].map(t => t.textContent)")
        names = {t.split("\n")[0] for t in titles}
        for name in HOSTILE:
            assert display_name(name) in names, name
        for shown in ("<script>alert(1)</script>", "a & b \"quoted\" 'single'", "\\u202eevil_rtl",
                      "ctl\\x01\\x1b[31m", "\\ud800lone"):
            assert shown in names, shown  # the override and controls are shown, not obeyed
        assert not any("\u202e" in t or "\x1b" in t for t in titles)
        assert page.evaluate("document.querySelector('text.title').textContent") == "<b>title</b> & \\u202e"
        check_widths(page, p)
    finally:
        page.close()


def test_svg_prunes_narrow_frames_with_a_note(tmp_path):
    """Frames under the minimum width are left out and the note says how many and how much."""
    b = ProfileBuilder([SampleType("cpu", "samples")])
    main = b.frame("main", "app.py", 1)
    b.add(b.stack([main, b.frame("big", "app.py", 2)]), 100_000)
    for i in range(50):
        b.add(b.stack([main, b.frame(f"tiny{i}", "app.py", 10 + i)]), 1)
    text = render_svg(b.build())
    assert text.count('<g class="frame">') == 3  # all, main, big
    assert "50 frames narrower than 0.1 px not drawn (50 samples, 0.05% of the total)" in text
    assert "tiny" not in text


def test_convert_svg_errors(tmp_path):
    """A bad sample type or a missing folder is one line and exit 2, with no file left behind."""
    r = flamekit_cli("convert", str(PYSPY / "cpu_split.raw.txt"), "-o", str(tmp_path / "x.svg"),
                     "--sample-type", "nope")
    assert r.returncode == 2 and r.stderr.startswith("flamekit: ") and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []
    r = flamekit_cli("convert", str(PYSPY / "cpu_split.raw.txt"), "-o", str(tmp_path / "no" / "x.svg"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_svg_of_every_loadable_hostile_input_is_well_formed():
    """Each hostile corpus file that imports draws as well-formed XML: no script, no on* attribute, no NaN."""
    import xml.etree.ElementTree as ET

    from flamekit.errors import FlamekitError

    drawn = 0
    from conftest import HOSTILE

    for path in sorted(HOSTILE.rglob("*")):
        if not path.is_file() or path.suffix in (".tsv", ".md") or "bomb" in path.name:
            continue
        try:
            profile = formats.load(path)
        except FlamekitError:
            continue
        text = render_svg(profile)
        root = ET.fromstring(text.encode("utf-8"))  # raises on anything XML cannot hold
        tags = {el.tag.split("}")[-1] for el in root.iter()}
        assert tags <= {"svg", "style", "rect", "text", "g", "title"}, (path.name, tags)
        assert not any(a.lower().startswith("on") for el in root.iter() for a in el.attrib), path.name
        assert not re.search(r'(width|x)="(nan|inf|-inf)"', text, re.I), path.name
        assert len(text) < 200_000, path.name  # F10: a 120 KB name is clipped in labels and tooltips
        drawn += 1
    assert drawn >= 15, drawn
