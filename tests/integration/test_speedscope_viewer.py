"""The real speedscope viewer (npm package, headless Chromium) reads flamekit's exports.

Setup: ``npm install speedscope`` into ``~/.cache/flamekit-npm`` (never into the
project; reruns reuse it). The test opens ``dist/release/index.html`` from
``file://``, imports our file through speedscope's ``input[type=file]``, and checks
the profile name in the toolbar and every frame name in the Sandwich table, with
no page error, console error or alert (speedscope alerts on import failure).
Skipped only when npm or Chromium/Playwright is absent.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_tool

from flamekit.formats import dump
from flamekit.model import ProfileBuilder, SampleType

sys.path.insert(0, str(Path(__file__).resolve().parent))

CACHE = Path(os.environ.get("FLAMEKIT_NPM_CACHE", Path.home() / ".cache" / "flamekit-npm"))
SPEEDSCOPE_VERSION = "1.25.0"


@pytest.fixture(scope="module")
def speedscope_index() -> Path:
    """Install the speedscope npm package once (cached) and return its index.html."""
    require_tool("npm", "apt-get install npm")
    idx = CACHE / "node_modules" / "speedscope" / "dist" / "release" / "index.html"
    if not idx.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CACHE),
                            f"speedscope@{SPEEDSCOPE_VERSION}"], capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, f"npm install speedscope failed:\n{r.stderr[-2000:]}"
    assert idx.exists(), f"speedscope package has no {idx}"
    return idx


def _profile():
    b = ProfileBuilder([SampleType("cpu", "samples")])
    main = b.frame("run_backtest", "backtest.py", 12, "", "python")
    fills = b.frame("simulate_fills", "execution.py", 88, "", "python")
    price = b.frame("price_option", "pricing.py", 42, "", "python")
    lam = b.frame("<lambda>", "signals.py", 7, "", "python")
    semi = b.frame("quote;bid", "book.py", 3, "", "python")
    t = b.thread(4242, "MainThread", 99)
    b.add(b.stack([main, price]), 70.0, t)
    b.add(b.stack([main, fills, lam]), 20.0, t)
    b.add(b.stack([main, fills, semi]), 10.0, t)
    return b.build({"title": "backtest run"})


def _import(browser, index: Path, file: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (errors.append("alert: " + d.message), d.dismiss()))
    page.goto(index.as_uri())
    page.wait_for_selector("input[type=file]", state="attached", timeout=20000)
    page.set_input_files("input[type=file]", str(file))
    page.get_by_text("Sandwich").first.wait_for(timeout=20000)
    page.get_by_text("Sandwich").first.click()
    page.get_by_text("Symbol Name").first.wait_for(timeout=20000)
    return page, errors


def _symbols(page) -> list[str]:
    text = page.inner_text("body")
    return [ln.strip() for ln in text.splitlines()]


def test_speedscope_viewer_reads_our_speedscope_export(speedscope_index, browser, tmp_path):
    out = tmp_path / "backtest.speedscope.json"
    dump(_profile(), out, "speedscope")
    doc = json.loads(out.read_text())
    page, errors = _import(browser, speedscope_index, out)
    body = page.inner_text("body")
    assert not errors, errors
    assert doc["profiles"][0]["name"] in body, body[:500]
    lines = _symbols(page)
    for name in ("run_backtest", "simulate_fills", "price_option", "<lambda>", "quote;bid"):
        assert name in lines, f"{name!r} missing from speedscope's sandwich view"
    page.close()


def test_speedscope_viewer_reads_our_folded_export(speedscope_index, browser, tmp_path):
    out = tmp_path / "backtest.folded"
    dump(_profile(), out, "folded")
    text = out.read_text()
    page, errors = _import(browser, speedscope_index, out)
    assert not errors, errors
    lines = _symbols(page)
    for name in ("run_backtest", "simulate_fills", "price_option", "<lambda>"):
        assert any(ln == name or ln.startswith(name + " (") for ln in lines), (name, text)
    # the ';' inside "quote;bid" was escaped, so speedscope sees ONE frame, not "quote" + "bid"
    assert not any(ln == "bid" or ln.startswith("bid (") for ln in lines), text
    assert any("quote" in ln and "bid" in ln for ln in lines), text
    page.close()


def test_folded_export_keeps_flamegraph_grammar(tmp_path):
    """``frame;frame;... COUNT``: integer counts, no ';' / LF / CR inside a frame."""
    import re

    from flamekit.formats import load

    hostile = ["a;b", "line\nbreak", "cr\rname", "trailing 12", "tab\tx", "nul\x00x",
               "</script><img src=x onerror=alert(1)>", "  ", "", "caf\u00e9;\u2028"]
    b = ProfileBuilder([SampleType("samples", "count")])
    root = b.frame("main", "app.py", 1, "", "python")
    for i, name in enumerate(hostile):
        b.add(b.stack([root, b.frame(name, "", 0, "", "unknown")]), float(i + 1))
    p = b.build()
    out = tmp_path / "h.folded"
    dump(p, out, "folded")
    lines = out.read_bytes().decode("utf-8").split("\n")
    assert lines[-1] == ""
    total = 0
    for ln in lines[:-1]:
        m = re.fullmatch(r"([^\n\r]*) ([0-9]+)", ln)
        assert m, repr(ln)
        frames = m.group(1).split(";")
        assert len(frames) == 2, (ln, frames)  # no ';' leaked out of a name
        total += int(m.group(2))
    assert total == sum(range(1, len(hostile) + 1))
    q = load(out, "folded")
    assert sorted(q.frames[q.stack_frames(s)[-1]].name for s in q.sample_stack) == sorted(hostile)
