"""Shared pytest fixtures: the read-in-place corpus under ../shared, and --update-golden."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: ../shared beside the project (read in place; never copied into the repo).
SHARED = Path(os.environ.get("FLAMEKIT_SHARED", ROOT.parent / "shared")).resolve()
CORPUS = SHARED / "corpus"
DATA = ROOT / "tests" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden to_text dumps instead of comparing them")


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was started with --update-golden."""
    return bool(request.config.getoption("--update-golden"))


def subtree_total(p, name: str, column: int = 0) -> float:
    """Return the value of the samples whose stack passes through a frame called ``name``."""
    tot = 0.0
    for s, v in zip(p.sample_stack, p.values[:, column]):
        if any(p.frames[f].name == name for f in p.stack_frames(int(s))):
            tot += float(v)
    return tot


def require_tool(cmd: str, install: str) -> str:
    """Return the path of ``cmd``; FAIL (never skip) when it is missing, naming the install step.

    Every tool the tests use is installed by .ci/run, so a missing one is a broken
    setup that a skip would hide.
    """
    import shutil

    path = shutil.which(cmd)
    if path is None:
        pytest.fail(f"{cmd} is not installed: {install} (.ci/run installs it)")
    return path


def require_corpus(sub: str = "") -> Path:
    """Return a corpus folder, failing loudly (not skipping silently) when it is missing."""
    p = CORPUS / sub if sub else CORPUS
    if not p.is_dir():
        pytest.fail(f"shared corpus folder missing: {p} (expected ../shared/corpus beside the repo)")
    return p


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The ../shared/corpus folder."""
    return require_corpus()


@pytest.fixture(scope="session")
def browser():
    """Yield ONE headless Debian Chromium (Playwright) for the whole session.

    Playwright's sync API allows one running instance per process, so every
    browser test uses this fixture instead of starting its own. Fails loudly
    (never skips) when Chromium or Playwright is missing.
    """
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    from browser import chromium_available, chromium_browser

    if not chromium_available():
        pytest.fail("headless Chromium or Playwright is missing: run .ci/run "
                    "(apt-get install chromium; pip install -e '.[test]')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = chromium_browser(pw)
        yield b
        b.close()
