"""The diff page (the HTML artifact a reviewer opens) says its inputs' doubts, in real Chromium.

The same inputs as ``tests/test_diff_warnings.py``: a folded base with a line the reader
skips (its own warning), a native head whose meta carries four warnings, one of them
hostile text (a terminal escape and markup). The page lists them as text under the summary;
a diff of clean inputs shows no such box.
"""
from __future__ import annotations

import sys
from pathlib import Path

import flamekit
from flamekit import formats

from test_cli import run

sys.path.insert(0, str(Path(__file__).parent))
from browser import open_page  # noqa: E402

HOSTILE = "\x1b]0;owned\x07 <img src=x onerror=alert(1)> & `x`"
SKIPPED = "skipped 1 line(s) without a valid 'stack COUNT' form (line 2)"

BOX = """() => { const b = document.getElementById('fk-warnings');
    return {hidden: b.hidden, shown: b.offsetHeight > 0, head: b.querySelector('strong') ? b.querySelector('strong').textContent : null,
            items: Array.from(b.querySelectorAll('li')).map(li => li.textContent),
            elements: b.querySelectorAll('*').length}; }"""


def test_diff_page_lists_the_inputs_warnings_as_text(browser, tmp_path) -> None:
    base = tmp_path / "base.folded"
    base.write_text("main;price 50\nnot a stack line\nmain;risk 30\n")
    (tmp_path / "h.folded").write_text("main;price 50\nmain;risk 45\n")
    prof = flamekit.load(str(tmp_path / "h.folded"))
    prof.meta["warnings"] = [HOSTILE] + [f"warning {i}" for i in range(1, 8)]
    head = tmp_path / "head.json"
    formats.dump(prof, str(head), "native")
    page_path = tmp_path / "d.html"
    r = run("diff", str(base), str(head), "-o", str(page_path), "-q")
    assert r.returncode == 0, r.stderr
    page = open_page(browser, page_path, width=1280)
    try:
        box = page.evaluate(BOX)
        assert page.fk_errors == [] and page.fk_dialogs == [], (page.fk_errors, page.fk_dialogs)
        page.screenshot(path=str(tmp_path / "diff-warnings.png"))
    finally:
        page.close()
    assert not box["hidden"] and box["shown"], box
    assert box["head"].startswith("⚠ Input warnings: base 1, head 8"), box
    # six quoted (the first one the reader's own, named by side and file), then a count;
    # the hostile text is text: its control characters replaced, its markup no element
    assert box["items"] == [f"base base.folded: {SKIPPED}",
                            "head head.json: \ufffd]0;owned\ufffd <img src=x onerror=alert(1)> & `x`",
                            "head head.json: warning 1", "head head.json: warning 2",
                            "head head.json: warning 3", "head head.json: warning 4",
                            "… and 3 more"], box
    assert box["elements"] == 1 + 1 + 7, box  # strong, ul, seven li: nothing from the input


def test_diff_page_of_clean_inputs_has_no_warning_box(browser, tmp_path) -> None:
    a, b = tmp_path / "a.folded", tmp_path / "b.folded"
    a.write_text("main;price 50\nmain;risk 30\n")
    b.write_text("main;price 50\nmain;risk 45\n")
    page_path = tmp_path / "d.html"
    r = run("diff", str(a), str(b), "-o", str(page_path), "-q")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    page = open_page(browser, page_path, width=1280)
    try:
        box = page.evaluate(BOX)
    finally:
        page.close()
    assert box["hidden"] and not box["shown"] and box["items"] == [], box
