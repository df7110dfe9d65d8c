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
