"""``flamekit diff`` says its inputs' import warnings: on stderr, in the Markdown, in the JSON.

A folded file with a line that is not ``stack COUNT`` is read with that line skipped and a
warning naming it (the reader's own words); a native file keeps whatever warnings its meta
holds (here one with a terminal escape, as a hostile file could carry). The warnings are
read on every route a diff loads by: the folded paths reader (no profile), a full profile
(``--hide-libraries``, other formats) and, for big inputs, forked children (forced here by
lowering the size at which they start).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import flamekit
from flamekit import _forked, cli, formats
from flamekit.analysis.diff import diff, inputs
from flamekit.render import diff_json, markdown

from test_cli import run

HOSTILE = "\x1b]0;owned\x07 hostile\nline `x` | @someone"
SKIPPED = "skipped 1 line(s) without a valid 'stack COUNT' form (line 2)"


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """BASE: a folded file with one malformed line; HEAD: a native file with four warnings."""
    base = tmp_path / "base.folded"
    base.write_text("main;price 50\nnot a stack line\nmain;risk 30\n")
    head = tmp_path / "head.json"
    prof = flamekit.load(str(tmp_path / _folded(tmp_path, "h.folded",
                                                  "main;price 50\nmain;risk 45\n")))
    prof.meta["warnings"] = [HOSTILE, "warning 1", "warning 2", "warning 3"]
    formats.dump(prof, str(head), "native")
    return base, head


def _folded(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text)
    return name


def test_diff_says_each_inputs_warnings_on_stderr_in_the_markdown_and_the_json(pair, tmp_path):
    base, head = pair
    md, js = tmp_path / "d.md", tmp_path / "d.json"
    r = run("diff", str(base), str(head), "--markdown", str(md), "--json", str(js), "-q")
    assert r.returncode == 0, r.stderr
    # named by side; the reader's "PATH: ..." is not named twice; the hostile text escaped
    assert r.stderr.splitlines() == [
        f"flamekit: warning: base {base}: {SKIPPED}",
        f"flamekit: warning: head {head}: \\x1b]0;owned\\x07 hostile\\nline `x` | @someone",
        f"flamekit: warning: head {head}: warning 1",
        f"flamekit: warning: head {head}: warning 2",
        f"flamekit: warning: ... and 1 more of head {head} (flamekit info {head} lists them)"]
    text = md.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text
    lines = text.splitlines()
    at = lines.index("**⚠️ Input warnings**: base 1, head 4 (`flamekit info FILE` lists a "
                     "file's warnings)")
    assert lines[at + 1:at + 8] == [
        "",
        f"- base `base.folded`: `{SKIPPED}`",
        # a code span: inert, one line, the pipe cannot end a table cell, no mention
        "- head `head.json`: ``\ufffd]0;owned\ufffd hostile⏎line `x` \\| @someone``",
        "- head `head.json`: `warning 1`",
        "- head `head.json`: `warning 2`",
        "- head `head.json`: `warning 3`",
        ""]
    assert lines.index("<!-- flamekit-diff -->") < at < lines.index("<details><summary>Method</summary>")
    doc = json.loads(js.read_text(encoding="utf-8"))
    (b,), (h,) = doc["base"]["runs"], doc["head"]["runs"]
    assert b["warnings"] == [f"{base}: {SKIPPED}"] and b["warnings_count"] == 1
    assert h["warnings"] == [HOSTILE, "warning 1", "warning 2", "warning 3"]
    assert (h["warnings_count"], doc["head"]["warnings_count"], doc["base"]["warnings_count"]) == (4, 4, 1)
    assert b["sampling_behind_s"] is None and h["sampling_behind_s"] is None


def test_a_diff_of_clean_inputs_says_nothing_more(tmp_path):
    a = tmp_path / _folded(tmp_path, "a.folded", "main;price 50\nmain;risk 30\n")
    b = tmp_path / _folded(tmp_path, "b.folded", "main;price 50\nmain;risk 45\n")
    md = tmp_path / "d.md"
    r = run("diff", str(a), str(b), "--markdown", str(md), "-q")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "Input warnings" not in md.read_text(encoding="utf-8")


@pytest.mark.parametrize("hide", [False, True], ids=["paths-reader", "full-profile"])
def test_warnings_come_back_from_the_forked_loaders(pair, tmp_path, monkeypatch, capsys, hide):
    """Big inputs are prepared in forked children (folded ones as paths, without a profile):
    each run's warnings travel back with its prepared run."""
    base, head = pair
    assert formats.load_paths(str(base)) is not None  # the folded file takes the paths route
    monkeypatch.setattr(inputs, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(inputs.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    started = []
    start = _forked.start
    monkeypatch.setattr(_forked, "start", lambda *a, **k: started.append(a[0]) or start(*a, **k))
    js = tmp_path / "d.json"
    args = ["diff", str(base), str(head), "--json", str(js), "-q"] + (["--hide-libraries"] if hide else [])
    assert cli.main(args) == 0
    assert len(started) == 2  # both inputs were loaded in children
    err = [ln for ln in capsys.readouterr().err.splitlines() if "warning" in ln]
    assert err[:2] == [f"flamekit: warning: base {base}: {SKIPPED}",
                       f"flamekit: warning: head {head}: \\x1b]0;owned\\x07 hostile\\nline `x` | @someone"]
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert doc["base"]["runs"][0]["warnings"] == [f"{base}: {SKIPPED}"]
    assert doc["head"]["runs"][0]["warnings_count"] == 4


def test_the_markdown_quotes_a_few_warnings_then_counts_the_rest(tmp_path):
    """Several runs: each warning names its run; past ``shown`` only a count (the comment stays
    short whatever an input holds)."""
    paths = [str(tmp_path / _folded(tmp_path, f"b{i}.folded", f"main;price 5{i}\nbad\nmain;risk 30\nworse\n"))
             for i in range(3)]
    head = flamekit.load(str(tmp_path / _folded(tmp_path, "h.folded", "main;price 50\nmain;risk 40\n")))
    head.meta["warnings"] = [f"w{i}" for i in range(60)]  # more than a run keeps (50): all counted
    res = diff([flamekit.load(p) for p in paths], [head], base_sources=paths, head_sources=["h.json"])
    lines = markdown.input_warnings(res, shown=4)
    skipped = "skipped 2 line(s) without a valid 'stack COUNT' form (line 2, 4)"
    assert lines[0].startswith("**⚠️ Input warnings**: base 3, head 60 (")
    assert lines[1:] == ["",
                         f"- run 1 of base `b0.folded`: `{skipped}`",
                         f"- run 2 of base `b1.folded`: `{skipped}`",
                         f"- run 3 of base `b2.folded`: `{skipped}`",
                         "- head `h.json`: `w0`",
                         "- … and 59 more",  # 49 more kept texts + 10 only counted
                         ""]
    doc = diff_json.to_dict(res)
    assert doc["head"]["runs"][0]["warnings_count"] == 60
    assert len(doc["head"]["runs"][0]["warnings"]) == 50
