"""The report's export buttons in headless Chromium write what the Python exporters write.

"Export folded" is compared byte for byte with ``flamekit convert --to folded``
(the same profile, the report's default sample type), and "Export speedscope"
with ``formats/speedscope.py``'s dump (its shared frames and profiles; the
document's ``exporter`` names the page's flamekit). Profiles: real recordings
(py-spy raw with threads, a perf/FlameGraph file with kernel frames, pprof with
several sample types), hostile and unicode names from the generated hostile family, and a
built profile whose names hold ``;``, spaces, parentheses, backslash escapes,
``_[k]`` look-alikes, thread/process look-alikes and non-integral seconds.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import flamekit
from flamekit.formats import get
from flamekit.model import ProfileBuilder, SampleType, compact, group
from flamekit.analysis.report import first_lines, report_data
from flamekit.render.html import write_report
from flamekit.render.payload import prune

from conftest import DATA, HOSTILE, ROOT, require_corpus

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import open_page  # noqa: E402

pytestmark = pytest.mark.integration

REAL = ["py-spy/0.4.3/regression_pair-head.raw.txt", "py-spy/0.4.3/two_threads_idle.raw.txt",
        "corpus:realworld/folded/speedscope__perf-vertx-stacks-01-collapsed-all.txt",
        "corpus:realworld/pprof/pprof__report-sample.cpu.pb.gz",
        "hostile:folded/F08-markup-frames.folded", "hostile:folded/F12-unicode.folded",
        "hostile:folded/F05-empty-frames.folded", "built"]
TRICKY = ["semi;colon", "two  spaces", "café 💩 \u202e", "name (with parens)", "f (x.py:3)",
          "ends_[k]", "thread (12)", 'process 7:"sh"', "back\\x3bslash", "tab\tnew\nline",
          "<script>", "[other]"]


def _built(path: Path) -> Path:
    b = ProfileBuilder([SampleType("wall", "seconds"), SampleType("cpu", "samples")])
    main = b.frame("main", "app (v2).py", 1, kind="python")
    threads = [b.thread(0, ""), b.thread(11, "Main;Thread", 42), b.thread(12, "io (pool)", 42)]
    for i, name in enumerate(TRICKY):
        kind = ("kernel", "jit", "inlined", "python", "unknown")[i % 5]
        leaf = b.frame(name, "" if i % 3 else f"pkg/m{i}.py", i % 4, kind=kind)
        b.add(b.stack([main, leaf]), [0.01 * (i + 1) + 0.0005, float(i)], thread=threads[i % 3])
    p = b.build()
    p.meta["processes"] = {"42": "python3 -m app; --x"}
    flamekit.dump(p, path, "native")
    return path


def _source(spec: str, tmp_path: Path) -> Path:
    if spec == "built":
        return _built(tmp_path / "built.json")
    if spec.startswith("corpus:"):
        return require_corpus() / spec[len("corpus:"):]
    if spec.startswith("hostile:"):  # the generated hostile family (tests/hostile_corpus.py)
        return HOSTILE / spec[len("hostile:"):]
    return DATA / spec


def _download(page, button: str) -> bytes:
    with page.expect_download() as d:
        page.locator(button).click()
    return Path(d.value.path()).read_bytes()


def _python_speedscope(p, k: int) -> dict:
    buf = io.BytesIO()
    get("speedscope").dump(p, buf, sample_type=k)
    return json.loads(buf.getvalue())


@pytest.mark.parametrize("spec", REAL)
def test_export_buttons_write_what_python_writes(browser, tmp_path, spec):
    src = _source(spec, tmp_path)
    p = flamekit.load(src)
    out = tmp_path / "r.html"
    write_report(report_data(p, by="line"), out, prune_fraction=0)
    conv = subprocess.run([sys.executable, "-m", "flamekit", "convert", str(src), "-o", "-",
                           "--to", "folded"], capture_output=True, cwd=ROOT, timeout=120)
    assert conv.returncode == 0, conv.stderr
    page = open_page(browser, out)
    try:
        folded = _download(page, "#fk-export-folded")
        assert folded == conv.stdout
        got = json.loads(_download(page, "#fk-export-speedscope"))
        assert page.fk_errors == [] and page.fk_requests == []
    finally:
        page.close()
    # the page holds one row per (stack, thread): pprof's repeated stacks arrive summed
    want = _python_speedscope(compact(p) if p.sample_time is None else p, 0)
    assert got["exporter"].startswith("flamekit@")
    assert (got["$schema"], got["version"]) == (want["$schema"], want["version"])
    assert got["shared"] == want["shared"]
    if p.sample_time is None:  # timed profiles are "evented" in Python, "sampled" here
        assert got["profiles"] == want["profiles"]
    else:
        assert [x["name"] for x in got["profiles"]] == [x["name"] for x in want["profiles"]]
    # and what the page wrote reads back as the same call tree
    back = tmp_path / "back.folded"
    back.write_bytes(folded)
    assert flamekit.load(back).totals()[0] == pytest.approx(
        flamekit.load(src).totals()[0] * (1e6 if spec == "built" else 1))


def test_export_of_a_pruned_per_function_report(browser, tmp_path):
    """The default report exports the tree it draws: Python's dump of the grouped, pruned profile."""
    p = flamekit.load(DATA / "py-spy/0.4.3/regression_pair-head.raw.txt")
    out = tmp_path / "r.html"
    write_report(report_data(p), out, prune_fraction=0.005, max_nodes=0)
    # the page draws one frame per function, at the lowest line sampled in it (its tooltip's file:line)
    shown, info = prune(first_lines(p, group(p, "function")), 0.005, max_nodes=0)
    assert info.pruned_nodes > 0 and len(shown.frames) < len(p.frames)
    buf = io.BytesIO()
    get("folded").dump(shown, buf)
    page = open_page(browser, out)
    try:
        assert _download(page, "#fk-export-folded") == buf.getvalue()
    finally:
        page.close()
