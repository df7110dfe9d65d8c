"""The HTML report without a browser: payload, pruning, escaping, CSP, determinism, notes, CLI."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = None
from html.parser import HTMLParser

import numpy as np
import pytest

import flamekit
from flamekit.analysis.hotspots import allocation_sites, hotspots
from flamekit.model import ProfileBuilder, SampleType, call_tree
from flamekit.analysis.report import report_data
from flamekit.render.html import REPORT_SCRIPTS, REPORT_STYLES, json_for_html, render_report
from flamekit.render.notes import render_notes
from flamekit.render.payload import MAX_STRING, build_payload, decode, prune

from conftest import CORPUS, HOSTILE as HOSTILE_ROOT, ROOT

#: hostile files whose strings must render as inert text (skipped when no importer yet)
HOSTILE = ["folded/F08-markup-frames.folded", "folded/F10-long-name.folded",
           "folded/F12-unicode.folded", "perf/P11-markup-symbols.perf",
           "perf/P13-control-chars.perf", "speedscope/S09-markup-everywhere.json",
           "speedscope/S07-duplicate-keys.json", "scalene/SC02-source-breakout.json",
           "chrome/C04-markup.cpuprofile", "pprof/PP11-markup-strings.pb.gz",
           "pprof/PP08-negative-values.pb.gz", "render/H01-diff-b.folded"]


class Page(HTMLParser):
    """Collect script/style elements, their text, and every attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict, str]] = []
        self.styles: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self._in: str | None = None
        self._a: dict = {}
        self._buf: list[str] = []
        self.title = ""

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            self.attrs.append((tag, k, v))
        if tag in ("script", "style", "title"):
            self._in, self._a, self._buf = tag, dict(attrs), []

    def handle_endtag(self, tag):
        if tag == self._in:
            text = "".join(self._buf)
            if tag == "script":
                self.scripts.append((self._a, text))
            elif tag == "style":
                self.styles.append(text)
            else:
                self.title = text
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._buf.append(data)


def parse(html: str) -> Page:
    p = Page()
    p.feed(html)
    p.close()
    return p


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def check_invariants(html: str) -> dict:
    """Check bad_inputs.md §0.4 on a report; return the decoded embedded JSON."""
    page = parse(html)
    # the data, then one element per inlined file (flamegraph, export, views, report); nothing else
    assert len(page.scripts) == len(REPORT_SCRIPTS) + 1, [a for a, _ in page.scripts]
    assert len(page.styles) == len(REPORT_STYLES)
    data_attrs, data_text = page.scripts[0]
    assert data_attrs == {"id": "flamekit-data", "type": "application/json"}
    assert not re.search(r"[<>&\u2028\u2029]", data_text)
    for tag, k, v in page.attrs:
        assert not k.lower().startswith("on"), (tag, k, v)
        if k in ("href", "src", "xlink:href") and v:
            assert v.startswith(("#", "data:image/", "http:", "https:")), (tag, k, v)
    csp = [v for t, k, v in page.attrs if t == "meta" and k == "content" and "default-src" in (v or "")]
    assert len(csp) == 1
    for _, text in page.scripts[1:]:
        assert _sha(text) in csp[0]
    for text in page.styles:
        assert _sha(text) in csp[0]
    assert "default-src 'none'" in csp[0] and "unsafe-inline" not in csp[0]
    return json.loads(data_text)


def toy_profile():
    """main -> {work -> {leaf, helper}, idle}; thread 1 runs main -> helper."""
    b = ProfileBuilder([SampleType("cpu", "samples"), SampleType("wall", "nanoseconds")])
    t0, t1 = b.thread(1, "MainThread"), b.thread(2, "worker")
    m = b.frame("main", "app.py", 1, kind="python")
    w = b.frame("work", "app.py", 10, kind="python")
    lf = b.frame("leaf", "lib.py", 5, kind="python")
    hp = b.frame("helper", "lib.py", 20, kind="python")
    idle = b.frame("idle", "app.py", 30, kind="python")
    b.add(b.stack([m, w, lf]), (60, 6e8), t0)
    b.add(b.stack([m, w, hp]), (20, 2e8), t0)
    b.add(b.stack([m, idle]), (15, 1.5e8), t0)
    b.add(b.stack([m, hp]), (5, 5e7), t1)
    b.add(b.stack([m, w]), (3, 3e7), t1)
    return b.build()


def test_json_for_html_escapes_and_is_deterministic():
    s = json_for_html({"b": "</script><!--&\u2028\u2029", "a": [1.5, "\ud800"]})
    assert s.startswith('{"a":')
    for bad in "<>&\u2028\u2029":
        assert bad not in s
    assert "\\u003c/script\\u003e" in s and "\\u2028" in s and "\\u2029" in s and "\\u0026" in s
    assert json.loads(s)["b"] == "</script><!--&\u2028\u2029"
    assert json.loads(s)["a"][1] == "\ud800"


def test_payload_mirrors_call_tree():
    p = toy_profile()
    payload, info = build_payload(p, prune_fraction=0)
    assert info.pruned_nodes == 0 and payload["pruned"]["otherFrame"] == -1
    d = decode(payload)
    for k in range(2):
        for th in (None, 0, 1):
            tree = call_tree(p, k, th)
            s, t = d.view(k, th)
            assert np.allclose(s, tree.self_) and np.allclose(t, tree.total)
    assert d.node_names() == [p.frames[f].name for f in p.stack_frame]
    n, share = d.search("e")  # helper (x2), idle: "leaf" has no e? it has: leaf
    expected = sum(1 for i, f in enumerate(p.stack_frame) if "e" in p.frames[f].name)
    assert n == expected


def test_prune_merges_into_other_and_reports_share():
    b = ProfileBuilder([SampleType("cpu", "samples")])
    m = b.frame("main")
    big = b.frame("big")
    b.add(b.stack([m, big]), 10000)
    for i in range(50):
        b.add(b.stack([m, b.frame(f"tiny{i}"), b.frame("deeper")]), 1)
    p = b.build()
    q, info = prune(p, 1 / 1000, max_nodes=0)  # the share rule alone (no detail budget)
    q.check()
    assert info.pruned_nodes == 100 and q.n_stacks == 3
    assert info.share[0] == pytest.approx(50 / 10050)
    assert q.totals()[0] == p.totals()[0]
    names = {q.frames[f].name for f in q.stack_frame}
    assert names == {"main", "big", "[other]"}
    other = [i for i, f in enumerate(q.stack_frame) if q.frames[f].name == "[other]"][0]
    assert call_tree(q).total[other] == 50
    payload, _ = build_payload(p, prune_fraction=1 / 1000, max_nodes=0)
    assert payload["pruned"]["nodes"] == 100
    assert payload["pruned"]["other"] == {"node": [2], "children": [50], "frames": [100]}
    assert payload["strings"][payload["frames"]["name"][payload["pruned"]["otherFrame"]]] == "[other]"
    # nothing pruned at 0, nor when the budget holds every node
    assert prune(p, 0)[1].pruned_nodes == 0
    assert prune(p, 1 / 1000)[1].pruned_nodes == 0


def test_report_deterministic_and_no_environment(monkeypatch):
    p = toy_profile()
    p.meta.update({"tool": "py-spy", "tool_version": "0.4.3", "command": ["python", "x.py"],
                   "host": "box", "rate_hz": 100, "secret_key_not_whitelisted": "hunter2"})
    monkeypatch.setenv("FLAMEKIT_TEST_SECRET", "s3cr3t-value")
    a = render_report(report_data(p), title="t", notes="# notes")
    b = render_report(report_data(flamekit.model.compact(p).copy(meta=p.meta)), title="t",
                      notes="# notes")
    assert a == render_report(report_data(p), title="t", notes="# notes")
    assert "s3cr3t-value" not in a and "hunter2" not in a
    data = check_invariants(a)
    keys = [k for k, _ in data["report"]["meta"]]
    # the recorded fields in the panel's order (what ran, where, with what); the report's own
    # flamekit version is a separate field, never mixed up with the recording's
    assert keys == ["command", "tool", "tool_version", "rate_hz", "host"]
    assert data["report"]["reportVersion"] == flamekit.__version__
    assert dict(data["report"]["meta"])["command"] == "python x.py"
    assert b  # compacted input renders too


def test_hotspots_heaviest_path():
    p = toy_profile()
    hs = hotspots(p, "cpu")
    assert [h.name for h in hs[:3]] == ["leaf", "helper", "idle"]
    assert hs[0].self == 60 and [f.name for f in hs[0].path] == ["main", "work", "leaf"]
    assert hs[1].self == 25 and [f.name for f in hs[1].path] == ["main", "work", "helper"]
    assert (hs[1].file, hs[1].line) == ("lib.py", 20)
    assert allocation_sites(p).empty


def test_allocation_sites_from_memory_types():
    b = ProfileBuilder([SampleType("cpu_python", "seconds"), SampleType("alloc_space", "megabytes"),
                        SampleType("mallocs", "count"), SampleType("peak_memory", "megabytes")])
    f1 = b.frame("load", "a.py", 3, kind="python")
    f2 = b.frame("load", "a.py", 4, kind="python")
    b.add(b.stack([f1]), (0.1, 100, 7, 80))
    b.add(b.stack([f2]), (0.2, 10, 1, 12))
    df = allocation_sites(b.build())
    assert df[["line", "alloc", "count", "peak"]].values.tolist() == [[3, 100, 7, 80], [4, 10, 1, 12]]
    assert df.attrs["alloc_type"] == "alloc_space/megabytes"


def test_notes_are_sanitized():
    html = render_notes("# T\n\n<script>alert(1)</script>\n\n![a](data:image/png;base64,AAAA) "
                        "![b](https://example.invalid/x.png) [j](javascript:alert(1)) "
                        "<img src=x onerror=alert(1)>\n\n| a | b |\n|---|---|\n| 1 | `x<y` |\n")
    assert "<h1>T</h1>" in html and "<table>" in html and "<code>x&lt;y</code>" in html
    assert "<script" not in html and "onerror=" not in html.replace("onerror=alert(1)&gt;", "")
    assert 'src="data:image/png;base64,AAAA"' in html
    assert "example.invalid" not in html and "javascript:" not in html.replace("[j](javascript:", "")
    page = parse(html)
    for tag, k, v in page.attrs:
        assert not k.startswith("on")
        if k == "src":
            assert v.startswith("data:image/")
        if k == "href":
            assert not v.lower().startswith("javascript")


@pytest.mark.parametrize("rel", HOSTILE)
def test_hostile_inputs_render_inert(rel):
    path = HOSTILE_ROOT / rel
    p = flamekit.load(path)  # every payload file imports (refused ones are tested elsewhere)
    html = render_report(report_data(p), notes=path.read_text(errors="replace")[:4000], prune_fraction=0)
    data = check_invariants(html)
    assert html == render_report(report_data(p), notes=path.read_text(errors="replace")[:4000],
                                 prune_fraction=0)
    d = decode(data["payload"])
    used = sorted({p.frames[f].name for f in p.stack_frame})
    clipped = sorted({n if len(n) <= MAX_STRING else n[:MAX_STRING - 1] + "\u2026" for n in used})
    assert sorted(set(d.names)) == clipped
    html.encode("utf-8")  # well-formed: no lone surrogates leak into the output


@pytest.mark.skipif(tomllib is None, reason="tomllib needs Python 3.11")
def test_pyproject_lists_every_package():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    pkgs = set(cfg["packages"])
    found = {".".join(d.relative_to(ROOT).parts) for d in (ROOT / "flamekit").rglob("*")
             if d.is_dir() and (d / "__init__.py").exists()} | {"flamekit"}
    assert found <= pkgs
    assert cfg["package-dir"]["flamekit.templates"] == "templates"


def test_cli_report(tmp_path):
    src = tmp_path / "a.folded"
    src.write_text("main;work;leaf 5\nmain;idle 2\n")
    src2 = tmp_path / "b.folded"
    src2.write_text("main;work;leaf 1\n")
    notes = tmp_path / "n.md"
    notes.write_text("## Findings\n\n* leaf is hot\n")
    out = tmp_path / "r.html"
    r = subprocess.run([sys.executable, "-m", "flamekit", "report", str(src), str(src2), "-o", str(out),
                        "--title", "<b>T</b>", "--notes", str(notes), "--min-width", "1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    data = check_invariants(html)
    assert "<title>&lt;b&gt;T&lt;/b&gt;</title>" in html and "<h2>Findings</h2>" in html
    assert data["report"]["totals"] == [8.0]
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(range(256)) * 4)
    r = subprocess.run([sys.executable, "-m", "flamekit", "report", str(bad), "-o", str(tmp_path / "x.html")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.startswith("flamekit: ")
    assert not (tmp_path / "x.html").exists()


def test_flame_graph_groups_lines_by_function():
    b = ProfileBuilder([SampleType("cpu", "samples")])
    m = b.frame("main", "a.py", 1)
    b.add(b.stack([m, b.frame("on_bar", "a.py", 40)]), 3)
    b.add(b.stack([m, b.frame("on_bar", "a.py", 41)]), 2)
    p = b.build()
    by_func = json.loads(re.search(r'id="flamekit-data" type="application/json">(.*?)</script>',
                                   render_report(report_data(p)), re.S).group(1))
    by_line = json.loads(re.search(r'id="flamekit-data" type="application/json">(.*?)</script>',
                                   render_report(report_data(p, by="line")), re.S).group(1))
    assert len(by_func["payload"]["nodes"]["parent"]) == 2
    assert len(by_line["payload"]["nodes"]["parent"]) == 3
    assert by_func["report"]["hotspots"][0][0]["line"] == 40  # heaviest line kept


def test_cli_report_to_stdout_and_unwritable_output(tmp_path):
    """``-o -`` writes the same page to stdout; a missing output folder fails before loading."""
    src = tmp_path / "a.folded"
    src.write_text("main;work;leaf 5\nmain;idle 2\n")
    out = tmp_path / "r.html"
    cmd = [sys.executable, "-m", "flamekit", "report", str(src)]
    r = subprocess.run(cmd + ["-o", str(out)], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(cmd + ["-o", "-"], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == out.read_bytes()
    missing = tmp_path / "nope" / "r.html"
    r = subprocess.run([sys.executable, "-m", "flamekit", "report", str(tmp_path / "absent.folded"),
                        "-o", str(missing)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr == f"flamekit: cannot write {missing}: folder " \
                                            f"{missing.parent} does not exist\n", r.stderr


@pytest.mark.parametrize("rel", ["realworld/pprof/pprof__report-sample.cpu.pb.gz",
                                 "realworld/austin/austin-python__austin3.out",
                                 "scalene:cpu_split.scalene.json.gz"])
def test_report_shows_the_duration_of_every_importer(rel):
    """Bug: pprof, Austin and scalene write meta["duration"]; the report read only duration_s."""
    path = (ROOT / "tests/data/scalene/2.4.0" / rel.split(":", 1)[1] if rel.startswith("scalene:")
            else CORPUS / rel)
    p = flamekit.load(path)
    want = p.meta["duration"]
    assert isinstance(want, float) and want > 0 and "duration_s" not in p.meta
    data = report_data(p)
    assert data.duration_s == want
    doc = json.loads(re.search(r'id="flamekit-data" type="application/json">(.*?)</script>',
                               render_report(data), re.S).group(1))
    assert ["duration_s", json.dumps(want)] in doc["report"]["meta"]


def test_report_data_is_typed_analysis_and_html_only_renders():
    """The renderer takes a ReportData; hotspots come from analysis, never from render/html.py."""
    import ast

    from flamekit.analysis.hotspots import hotspots
    from flamekit.analysis.report import ReportData

    b = ProfileBuilder([SampleType("cpu", "samples")])
    m = b.frame("main", "a.py", 1)
    b.add(b.stack([m, b.frame("hot", "a.py", 5)]), 7)
    b.add(b.stack([m]), 1)
    data = report_data(b.build())
    assert isinstance(data, ReportData) and data.hotspots[0] == hotspots(data.profile, 0, n=15)
    src = (ROOT / "flamekit/render/html.py").read_text()
    imported = {a.name for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)
                for a in n.names}
    assert not imported & {"hotspots", "allocation_sites", "memory_types", "group", "functions"}


def test_one_duration_accessor():
    """model.duration: any importer's spelling, else the span of timed samples plus one interval."""
    from flamekit.model import duration, meta_duration

    b = ProfileBuilder([SampleType("cpu", "samples")])
    s = b.stack([b.frame("main")])
    for t in (0.0, 0.5, 1.0, 1.5):
        b.add(s, 1, time=t)
    p = b.build()
    assert duration(p) == 2.0  # 1.5 s span + the 0.5 s interval of the last sample
    assert duration(p.copy(meta={"duration": 7.5})) == 7.5
    assert duration(p.copy(meta={"duration_s": 3.0})) == 3.0
    assert meta_duration({"elapsed": 4}) == 4.0 and meta_duration({"duration": -1}) is None
    assert meta_duration({"duration": True}) is None and meta_duration({}) is None
    assert report_data(p.copy(meta={"duration": 7.5})).duration_s == 7.5


def test_input_labels_are_file_stems_made_unique():
    from flamekit.analysis.report import input_labels

    assert input_labels(["x/a.json", "y/b.speedscope.json"]) == ["a", "b"]
    assert input_labels(["base/run.json.gz", "head/run.json"]) == ["base/run", "head/run"]
    assert input_labels(["d/run.json", "d/run.folded"]) == ["d/run", "d/run #2"]
    assert input_labels(["a.json", "b.json"], ["before"]) == ["before", "b"]
    assert input_labels(["v1.2.txt"]) == ["v1.2"]  # only format suffixes are dropped


def test_labelled_roots_keep_each_inputs_total_and_sections():
    from flamekit.analysis.report import host_busy, report_inputs
    from flamekit.model import under

    a = toy_profile()
    b = flamekit.model.scale(toy_profile(), 3.0)
    u = under(a, flamekit.Frame("root"))
    assert u.n_stacks == a.n_stacks + 1 and (u.totals() == a.totals()).all()
    assert int((u.stack_prefix < 0).sum()) == 1
    data = report_inputs([a, b], ["a", "b"])
    roots = [i for i in range(data.flame.n_stacks) if data.flame.stack_prefix[i] < 0]
    names = [data.flame.frames[int(data.flame.stack_frame[i])].name for i in roots]
    assert sorted(names) == ["a", "b"]
    assert [d.label for d in data.parts] == ["a", "b"]
    assert data.parts[1].hotspots[0][0].self == 3 * data.parts[0].hotspots[0][0].self
    doc = check_invariants(render_report(data, title="t"))
    assert [x["label"] for x in doc["report"]["inputs"]] == ["a", "b"]
    assert [x["totals"][0] for x in doc["report"]["inputs"]] == [a.totals()[0], 3 * a.totals()[0]]
    assert len(doc["payload"]["inputs"]["frame"]) == 2
    assert host_busy({"cpu_count": 2, "load_avg_start": [1.0, 1, 1], "load_avg_end": [2.5, 1, 1]}) is True
    assert host_busy({"cpu_count": 2, "load_avg_start": [1.9, 1, 1], "load_avg_end": [2.0, 1, 1]}) is False
    assert host_busy({"cpu_count": 2}) is None and host_busy({}) is None


def test_each_input_is_pruned_on_its_own_and_a_small_one_is_kept():
    """Per-input pruning: a 1-sample input beside a 100k-sample one keeps its root and frames."""
    from flamekit.analysis.report import report_inputs
    from flamekit.render.report_sections import prune_inputs

    def prof(rows):
        b = ProfileBuilder([SampleType("cpu", "samples")])
        for names, v in rows:
            b.add(b.stack([b.frame(n, "m.py", 1, kind="python") for n in names]), v)
        return b.build()

    big = prof([(["main", "big"], 99_990), (["main", "tiny"], 10)])
    small = prof([(["main", "only"], 1)])
    data = report_inputs([big, small], ["big", "small"])
    q, info, roots = prune_inputs(data, 0.001, max_nodes=0)  # the share rule alone (no budget)
    names = [q.frames[int(f)].name for f in q.stack_frame]
    assert "tiny" not in names and "[other]" in names  # 0.01 % of its input: pruned
    assert "only" in names and all(r >= 0 for r in roots)  # 100 % of its (tiny) input: kept
    assert [q.frames[r].name for r in roots] == ["big", "small"]
    assert info.share[0] == pytest.approx(10 / 100_001) and info.pruned_nodes == 1
    assert q.totals()[0] == 100_001
