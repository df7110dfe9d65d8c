"""Shared headless-Chromium helpers for browser tests (Debian chromium driven by Playwright).

``chromium_browser()`` starts one browser (use it from a session-scoped fixture);
``open_page(browser, path_or_html)`` opens a report and records console errors,
dialogs and every network request other than the report file itself, in
``page.fk_errors``, ``page.fk_dialogs`` and ``page.fk_requests``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("FLAMEKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_available() -> bool:
    """Return True when Playwright and a Chromium executable are both present."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def chromium_browser(playwright: Any) -> Any:
    """Launch headless Chromium from ``executable_path`` with the project's flags."""
    exe = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    return playwright.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)


def open_page(browser: Any, report: str | os.PathLike, *, width: int = 1366, height: int = 900,
              wait_ready: bool = True, timeout_ms: int = 20000) -> Any:
    """Open a report file in a new page, recording errors, dialogs and network requests."""
    page = browser.new_page(viewport={"width": width, "height": height})
    url = Path(report).resolve().as_uri()
    page.fk_errors, page.fk_dialogs, page.fk_requests = [], [], []
    page.on("console", lambda m: page.fk_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.fk_errors.append(str(e)))

    def on_dialog(d: Any) -> None:
        page.fk_dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda r: page.fk_requests.append(r.url) if r.url != url else None)
    page.goto(url)
    if wait_ready:
        page.wait_for_function("window.flamekitState && window.flamekitState.ready === true",
                               timeout=timeout_ms)
    return page


def canvas_ink(page: Any, selector: str) -> float:
    """Return the fraction of non-transparent pixels of a canvas (0.0 = blank)."""
    return page.evaluate("""(sel) => {
        const c = document.querySelector(sel);
        if (!c || !c.width || !c.height) return 0;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        for (let i = 3; i < d.length; i += 16) if (d[i] > 0) ink++;
        return ink / (d.length / 16);
    }""", selector)


def node_center(page: Any, node: int, graph: str = "window.flamekit.instances.fk") -> list[float] | None:
    """Return the page coordinates of the middle of a drawn node (by payload node id), or None.

    ``graph`` is a JavaScript expression naming the flame graph instance (the
    report's is ``window.flamekit.instances.fk``, the diff page's
    ``window.flamekitState.graph``).
    """
    return page.evaluate("""([graph, node]) => {
        const g = (0, eval)(graph), rows = g.main.rows;
        const r = g.main.canvas.getBoundingClientRect();
        for (let d = 0; d < rows.length; d++) {
            const row = rows[d];
            for (let i = 0; i < row.length; i += 3) if (row[i] === node) {
                const y = g.main.orientation === 'icicle' ? d * 18 + 9 : g.main.cssH - d * 18 - 9;
                return [r.left + row[i + 1] + row[i + 2] / 2, r.top + y];
            }
        }
        return null;
    }""", [graph, node])


def click_node(page: Any, graph_id: str, node: int) -> None:
    """Click the middle of a drawn flame graph node (by payload node id) on its canvas."""
    box = node_center(page, node, f"window.flamekit.instances[{graph_id!r}]")
    if box is None:
        raise AssertionError(f"node {node} is not drawn in graph {graph_id!r}")
    page.mouse.click(box[0], box[1])
