"""Broken inputs as files, each with its expected one-line error (speedscope/pprof style).

``tests/data/invalid/<format>/<case>`` is a broken file meant to be read as
``<format>`` (``any/`` holds container-level cases: empty, NUL bytes, foreign
compressors, broken gzip); ``<case>.expected`` beside it is the exact line
``flamekit info <case>`` must print on stderr, run from that folder so the
message names the file by its relative name. Each case goes through the real
CLI in a subprocess: exit status 2, nothing on stdout, one line on stderr, no
traceback. The list after "unrecognized format (tried: ...)" is compared as ``...``
(it grows with every new format; ``test_cli`` checks it). Adding a case is adding two files (``pytest --update-golden`` writes
the ``.expected`` lines; review them in the diff). How the cases were made:
``tests/data/invalid/README.md``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, ROOT

INVALID = DATA / "invalid"
_TRIED = re.compile(r"\(tried: [^)]*\)$")


def _cases() -> list[Path]:
    return sorted(p for p in INVALID.glob("*/*")
                  if p.is_file() and not p.name.endswith((".expected", ".md")))


CASES = _cases()


def _id(p: Path) -> str:
    return f"{p.parent.name}/{p.name}"


def test_cases_exist():
    assert CASES, f"no broken inputs under {INVALID}"
    folders = {p.parent.name for p in CASES}
    want = {"any", "folded", "perf-script", "speedscope", "pprof", "chrome", "austin", "native",
            "scalene", "cpython-collapsed", "memray"}
    assert want <= folders, f"formats without broken inputs: {sorted(want - folders)}"
    stray = [p.name for p in INVALID.glob("*/*.expected")
             if not p.with_name(p.name[:-len(".expected")]).is_file()]
    assert not stray, f".expected files without their input: {stray}"


@pytest.mark.parametrize("path", CASES, ids=_id)
def test_invalid_input(path: Path, update_golden: bool):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("FLAMEKIT_DEBUG", None)
    env["COLUMNS"] = "200"
    proc = subprocess.run([sys.executable, "-m", "flamekit", "info", path.name], cwd=path.parent,
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                          timeout=120)
    err = proc.stderr
    assert "Traceback" not in err, err
    assert proc.returncode == 2, f"exit {proc.returncode}\nstdout: {proc.stdout[:500]}\nstderr: {err}"
    assert proc.stdout == ""
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    line = _TRIED.sub("(tried: ...)", err.rstrip("\n"))
    assert line.startswith(f"flamekit: {path.name}"), line  # names the file first
    expected = path.with_name(path.name + ".expected")
    if update_golden:
        expected.write_text(line + "\n", encoding="utf-8")
        return
    assert expected.is_file(), f"missing {expected.name}: run pytest {__file__} --update-golden"
    assert line == expected.read_text(encoding="utf-8").rstrip("\n")
