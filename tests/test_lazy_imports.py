"""Each command imports only what it uses (issue 15: start-up dominates small inputs).

Every case runs ``flamekit.cli.main`` in a fresh interpreter and lists which of
the heavy third-party packages ended up in ``sys.modules``. ``--version`` and
``--help`` must load none of them; ``info``/``top`` no pandas nor HTML/Markdown
rendering; ``convert`` pandas only for a target whose writer uses it.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flamekit import cli, formats

HEAVY = ("numpy", "pandas", "jinja2", "rich", "markdown_it", "nh3")
#: What a plain report does not use: the notes renderer (Markdown, sanitizer) and the diff.
REPORT_EXTRAS = ("flamekit.render.notes", "flamekit.analysis.diff")
DATA = Path(__file__).parent / "data" / "py-spy" / "0.4.3" / "cpu_split.speedscope.json"

PROBE = """
import json, sys
from flamekit.cli import main
code = main(json.loads(sys.argv[1]))
sys.stdout.flush()
heavy = json.loads(sys.argv[2])
print("\\nLOADED=" + json.dumps([m for m in heavy if m in sys.modules]) + " CODE=" + str(code))
"""


def loaded(argv: list[str], watch: tuple[str, ...] = HEAVY) -> list[str]:
    """Run ``main(argv)`` in a new interpreter; return the modules of ``watch`` it imported."""
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(watch)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("LOADED=")][-1]
    mods, code = line[len("LOADED="):].rsplit(" CODE=", 1)
    assert code == "0", (argv, out.stdout, out.stderr)
    return json.loads(mods)


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_import_nothing_heavy(argv):
    assert loaded(argv) == []


def test_info_imports_no_pandas_nor_renderers():
    assert loaded(["info", str(DATA)]) == ["numpy"]


def test_top_imports_no_pandas_nor_renderers(tmp_path):
    mods = loaded(["top", str(DATA), "-n", "3"])
    assert "numpy" in mods
    assert not {"pandas", "jinja2", "markdown_it", "nh3"} & set(mods), mods
    folded = tmp_path / "p.folded"  # read as paths (no stack table), --by total, CSV
    folded.write_text("main;work;work 3\nmain;idle 1\n")
    mods = loaded(["top", str(folded), "--by", "total", "--csv"])
    assert not {"pandas", "jinja2", "markdown_it", "nh3"} & set(mods), mods


def test_a_small_cpu_report_imports_no_pandas(tmp_path):
    """Most reports are small: pandas (a quarter of their time) only for what needs it."""
    folded = tmp_path / "p.folded"
    folded.write_text("main (app.py:1);work (app.py:5) 3\nmain (app.py:1);idle (app.py:9) 1\n")
    mods = loaded(["report", str(folded), "-o", str(tmp_path / "r.html")], HEAVY + REPORT_EXTRAS)
    assert "numpy" in mods and "pandas" not in mods, mods
    # no notes: no Markdown renderer nor sanitizer; a report is no diff (about 40 ms of start-up)
    assert not {"markdown_it", "nh3", *REPORT_EXTRAS} & set(mods), mods
    assert (tmp_path / "r.html").stat().st_size > 0


def test_a_report_imports_the_format_modules_detection_reaches(tmp_path):
    """Format modules load in detection order until one claims the file (the CSV writer never)."""
    every = tuple(f"flamekit.formats.{m}" for m in formats.MODULES)
    folded = tmp_path / "p.folded"
    folded.write_text("main (app.py:1);work (app.py:5) 3\n")
    native = tmp_path / "p.json"  # the format `flamekit record` writes: second in the order
    assert cli.main(["convert", str(folded), "-o", str(native)]) == 0
    assert formats.detect(native).name == "native" and formats.MODULES[:2] == ("memray", "native")
    mods = loaded(["report", str(native), "-o", str(tmp_path / "n.html")], every)
    assert mods == ["flamekit.formats.memray", "flamekit.formats.native"], mods
    mods = loaded(["report", str(folded), "-o", str(tmp_path / "f.html")], every)
    assert mods == [m for m in every if not m.endswith("csv_export")], mods
    assert loaded(["convert", str(folded), "-o", str(tmp_path / "p.csv")], every) == list(every)


def test_a_report_with_notes_renders_them(tmp_path):
    """The notes renderer is loaded when notes are given (the lazy import is on that path)."""
    folded = tmp_path / "p.folded"
    folded.write_text("main (app.py:1);work (app.py:5) 3\n")
    notes = tmp_path / "notes.md"
    notes.write_text("# Findings\n\n*work* is hot <script>x</script>\n")
    out = tmp_path / "r.html"
    mods = loaded(["report", str(folded), "-o", str(out), "--notes", str(notes)], HEAVY + REPORT_EXTRAS)
    assert {"markdown_it", "nh3", "flamekit.render.notes"} <= set(mods), mods
    page = out.read_text()
    assert "<h1>Findings</h1>" in page and "<em>work</em>" in page and "<script>x" not in page


@pytest.mark.parametrize("suffix,pandas", [("json", False), ("speedscope.json", False),
                                           ("folded", False)])
def test_convert_imports_pandas_only_for_a_target_that_needs_it(tmp_path, suffix, pandas):
    out = tmp_path / f"out.{suffix}"
    mods = loaded(["convert", str(DATA), "-o", str(out)])
    assert out.stat().st_size > 0
    assert ("pandas" in mods) is pandas, mods
    assert not {"jinja2", "markdown_it", "nh3", "rich"} & set(mods), mods


def test_command_help_lines_match_the_modules():
    """``--help`` lists commands from cli.HELPS without importing them: it must say what they say."""
    assert {m.NAME: m.HELP for m in cli._modules()} == cli.HELPS
    assert tuple(cli.HELPS) == cli.COMMANDS


def test_lazy_parser_parses_like_the_full_one():
    """Only the invoked command declares its arguments; the result is the same as the full parser's."""
    argv = ["top", str(DATA), "-n", "3"]
    full = vars(cli.build_parser().parse_args(argv))
    lazy = vars(cli.build_parser("top", lazy=True).parse_args(argv))
    assert full == lazy
