"""The report page on real py-spy recordings in real Chromium (issue 11, "Report").

Two short recordings of ``sample_workloads/cpu_split.py`` (made once per module, in
parallel) are reported as labelled roots: each root is as wide as its input's own
total, every panel names both inputs, the reproducibility panel matches facts the
test computes itself (working directory, git, Python, host, CPUs), the flame graph
has a colour legend, tooltips give file:line, and notes lead the page.
"""
from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
import sys

import pytest

import flamekit

from browser import node_center, open_page
from record_helpers import REPO, WORKLOADS, env

pytestmark = pytest.mark.integration

CPU_SPLIT = str(WORKLOADS / "cpu_split.py")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Two real py-spy recordings (a: 0.6 CPU s, 70/30; b: 0.3 CPU s, 30/70), recorded in parallel."""
    d = tmp_path_factory.mktemp("inputs")
    jobs = {}
    for name, secs, hot in (("a", "0.6", "0.7"), ("b", "0.3", "0.3")):
        out = d / f"{name}.json"
        jobs[name] = (out, subprocess.Popen(
            [sys.executable, "-m", "flamekit", "record", "--no-progress", "-o", str(out), "--",
             sys.executable, CPU_SPLIT, "--seconds", secs, "--hot", hot],
            cwd=REPO, env=env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    paths = {}
    for name, (out, proc) in jobs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        paths[name] = out
    return paths


def _report(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flamekit", "report", *args], cwd=tmp_path, env=env(),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def two_inputs(recordings, tmp_path_factory):
    """The report of both recordings, default labels (their file names: a, b)."""
    out = tmp_path_factory.mktemp("two") / "two.html"
    r = _report(out.parent, str(recordings["a"]), str(recordings["b"]), "-o", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_two_inputs_are_labelled_roots_as_wide_as_their_totals(browser, recordings, two_inputs):
    want = {k: float(flamekit.load(p).totals()[0]) for k, p in recordings.items()}
    page = open_page(browser, two_inputs, width=1280)
    try:
        got = page.evaluate("""() => {
            const g = window.flamekit.instances.fk, D = g.data;
            return D.inputRoot.map((r) => {
                const row = g.main.rows[0]; let drawn = null;  // [node, x, width, ...] at depth 0
                for (let i = 0; i < row.length; i += 3) if (row[i] === r) drawn = row[i + 2];
                return {label: D.names[D.frame[r]], parent: D.parent[r], total: g.view.total[r],
                        width: g.tree.width[r], W: g.tree.W, drawn: drawn,
                        canvas: g.main.canvas.getBoundingClientRect().width};
            });
        }""")
        assert [x["label"] for x in got] == ["a", "b"]
        assert all(x["parent"] == -1 for x in got)
        for x in got:  # each root's value is its own input's total, in the page and in pixels
            assert x["total"] == pytest.approx(want[x["label"]], rel=1e-9)
            share = want[x["label"]] / sum(want.values())
            assert x["width"] / x["W"] == pytest.approx(share, rel=1e-9)
            assert x["drawn"] == pytest.approx(share * x["canvas"], abs=1.0)
        assert page.fk_errors == [] and page.fk_requests == []
    finally:
        page.close()


def test_every_panel_lists_both_inputs(browser, two_inputs):
    page = open_page(browser, two_inputs, width=1280)
    try:
        summary = page.locator("#fk-summary").text_content()
        assert "2 inputs as labelled roots: a, b" in summary
        # hotspots: one table per input, shares of its own total
        assert page.eval_on_selector_all("#fk-hotspots-inputs table", "ts => ts.map(t => t.dataset.input)") == ["a", "b"]
        for i, lab in enumerate("ab"):
            heads = page.locator(f"#fk-hotspots-{i} thead th").all_text_contents()
            assert f"Self % of {lab}" in heads and f"Total % of {lab}" in heads
            assert page.locator(f"#fk-hotspots-{i} tbody td.fk-fn").count() > 0
            # the hot function's shares add up within each input: the top row's self % of its input
            first = page.locator(f"#fk-hotspots-{i} tbody tr").first.locator("td").nth(4).text_content()
            assert 0 < float(first.split("%")[0]) <= 100
        # functions table: an Input column naming both
        assert page.locator("#fk-functions thead th").first.text_content() == "Input"
        inputs = set(page.locator("#fk-functions tbody td.fk-input").all_text_contents())
        assert inputs == {"a", "b"}
        # resource timeline: one line per input, named in the legend of each chart
        assert page.is_visible("#resources")
        legends = page.eval_on_selector_all(".fk-series-legend", "ls => ls.map(l => Array.from(l.querySelectorAll('[data-input]')).map(x => x.dataset.input))")
        assert legends and all(x == ["a", "b"] for x in legends)
        # reproducibility: one column per input
        assert page.locator("#fk-repro thead th").all_text_contents() == ["Field", "a", "b"]
        cmd = page.eval_on_selector_all("#fk-repro tr[data-key=command] td[data-input]", "ts => ts.map(t => t.textContent)")
        assert len(cmd) == 2 and "--seconds 0.6" in cmd[0] and "--seconds 0.3" in cmd[1]
        # threads are named by input
        opts = page.locator("#fk-thread option").all_text_contents()[1:]
        assert opts and {o.split(":")[0] for o in opts} == {"a", "b"}
        assert page.fk_errors == []
    finally:
        page.close()


def test_tooltip_gives_file_line_and_both_shares(browser, recordings, two_inputs):
    p = flamekit.load(recordings["a"])
    lines = [f.line for f in p.frames if f.name == "price_options" and f.line]
    assert lines, "the recording has price_options with line numbers"
    page = open_page(browser, two_inputs, width=1280)
    try:
        node = page.evaluate("""() => { const D = window.flamekit.instances.fk.data;
            for (let i = 0; i < D.n; i++) if (D.names[D.frame[i]] === 'price_options' && D.inputOf[i] === 0) return i;
            return -1; }""")
        assert node >= 0
        pos = node_center(page, node)
        assert pos is not None
        page.mouse.move(*pos)
        assert page.locator("#fk-tooltip .fk-tip-name").text_content() == "price_options"
        loc = page.locator("#fk-tooltip .fk-tip-file").text_content()
        m = re.fullmatch(r"(.+):(\d+)", loc)
        assert m and m.group(1).endswith("cpu_split.py"), loc
        assert int(m.group(2)) == min(lines)  # grouped by function: its first sampled line
        tip = page.locator("#fk-tooltip").text_content()
        assert "of the page" in tip and "of a" in tip and "Input" in tip
        # the shares are right: Total = node total / page total, and / input a's total
        vals = page.evaluate("""(n) => { const g = window.flamekit.instances.fk, D = g.data;
            return [g.view.total[n], g.grand, g.view.total[D.inputRoot[0]]]; }""", node)
        assert f"{100 * vals[0] / vals[1]:.2f}% of the page" in tip
        assert f"{100 * vals[0] / vals[2]:.2f}% of a" in tip
    finally:
        page.close()


def test_legend_names_the_colours_drawn(browser, two_inputs):
    page = open_page(browser, two_inputs, width=1280)
    try:
        kinds = page.eval_on_selector_all("#fk-legend .fk-legend-item", "xs => xs.map(x => x.dataset.kind)")
        assert kinds[0] == "input" and "python" in kinds and "match" in kinds
        # every swatch's colour is one the graph uses for that kind
        assert page.evaluate("""() => { const g = window.flamekit.instances.fk, D = g.data;
            const sw = document.querySelector('#fk-legend [data-kind=input] .fk-swatch');
            const c = getComputedStyle(sw).backgroundColor;
            const r = D.inputRoot[0], col = g.colorOf(g.tree, r, false, false);
            const probe = document.createElement('span'); probe.style.background = col;
            document.body.appendChild(probe); const want = getComputedStyle(probe).backgroundColor;
            probe.remove(); return c === want; }""")
    finally:
        page.close()


def _git(*args: str) -> str | None:
    try:
        r = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def test_repro_panel_matches_ground_truth(browser, recordings, tmp_path):
    out = tmp_path / "one.html"
    notes = tmp_path / "notes.md"
    notes.write_text("# Assessment\n\nThe pricing loop is the hotspot.\n")
    r = _report(tmp_path, str(recordings["a"]), "-o", str(out), "--notes", str(notes))
    assert r.returncode == 0, r.stderr
    meta = flamekit.load(recordings["a"]).meta
    page = open_page(browser, out, width=1280)
    try:
        rows = dict(page.eval_on_selector_all(
            "#fk-repro tbody tr", "rs => rs.map(r => [r.dataset.key, r.cells[1].textContent])"))
        # computed here, not read from the profile: where the command ran, its git state, Python, host
        assert rows["cwd"] == os.path.realpath(REPO)
        head = _git("rev-parse", "HEAD")
        if head:
            assert rows["git_commit"] == head
            dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
            assert rows["git_dirty"].startswith("yes") == dirty
        else:
            assert rows["git_commit"] == "not recorded"
        assert rows["python_version"] == platform.python_version()
        assert rows["python_implementation"] == platform.python_implementation()
        assert rows["cpu_count"] == str(os.cpu_count())
        assert rows["host"] == socket.gethostname()
        assert rows["tool"] == "py-spy" and rows["rate_hz"] == "100"
        assert re.fullmatch(r"\d+\.\d+\.\d+\S*", rows["tool_version"])
        assert rows["flamekit_version"] == flamekit.__version__ == rows["report_version"]
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.lower().startswith("model name")), None)
        if model:
            assert rows["cpu_model"] == model
        for k in ("load_avg_start", "load_avg_end"):
            assert re.fullmatch(r"\d+\.\d\d \(1 min\), \d+\.\d\d \(5 min\), \d+\.\d\d \(15 min\)", rows[k])
        # the busy-host warning shows exactly when the recorded load exceeded the cores
        busy = max(meta["load_avg_start"][0], meta["load_avg_end"][0]) > os.cpu_count()
        assert page.locator("#repro .fk-busy").count() == int(busy)
        # notes lead the page: before the flame graph in DOM order, and first in the menu
        assert page.evaluate("""() => !!(document.getElementById('notes').compareDocumentPosition(
            document.getElementById('flamegraph')) & Node.DOCUMENT_POSITION_FOLLOWING)""")
        assert page.evaluate("document.querySelector('main > section').id") == "notes"
        assert page.locator(".fk-nav a").first.text_content() == "Notes"
        assert page.fk_errors == []
    finally:
        page.close()


def test_profile_from_another_tool_says_not_recorded(browser, corpus, tmp_path):
    src = corpus / "realworld/folded/austin-python__diff_a-b.folded"
    out = tmp_path / "other.html"
    r = _report(tmp_path, str(src), "-o", str(out))
    assert r.returncode == 0, r.stderr
    page = open_page(browser, out, width=1280)
    try:
        rows = dict(page.eval_on_selector_all(
            "#fk-repro tbody tr", "rs => rs.map(r => [r.dataset.key, r.cells[1].textContent])"))
        for k in ("cwd", "git_commit", "python_version", "host", "cpu_count", "load_avg_start", "rate_hz"):
            assert rows[k] == "not recorded", k
        assert page.locator("#repro .fk-busy").count() == 0
    finally:
        page.close()


def test_labels_and_merge_on_the_command_line(recordings, tmp_path):
    a, b = str(recordings["a"]), str(recordings["b"])
    r = _report(tmp_path, a, b, "--label", "before", "--label", "after", "-o", "l.html")
    assert r.returncode == 0, r.stderr
    doc = _data(tmp_path / "l.html")
    s = doc["payload"]["strings"]
    roots = [s[doc["payload"]["frames"]["name"][f]] for f in doc["payload"]["inputs"]["frame"]]
    assert roots == ["before", "after"] and [x["label"] for x in doc["report"]["inputs"]] == roots
    # --merge: today's one merged profile, no labelled roots
    r = _report(tmp_path, a, b, "--merge", "-o", "m.html")
    assert r.returncode == 0, r.stderr
    doc = _data(tmp_path / "m.html")
    assert "inputs" not in doc["payload"] and "inputs" not in doc["report"]
    total = sum(float(flamekit.load(x).totals()[0]) for x in (a, b))
    assert sum(doc["report"]["totals"][:1]) == pytest.approx(total)
    for bad, needle in (([a, "--label", "x", "--label", "y"], "2 --label values for 1 input"),
                        ([a, b, "--merge", "--label", "x"], "does not go with --merge"),
                        ([a, "--label", " "], "must not be empty")):
        r = _report(tmp_path, *bad, "-o", "bad.html")
        assert r.returncode == 2 and r.stderr.startswith("flamekit: ") and needle in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and not (tmp_path / "bad.html").exists()


def _data(path) -> dict:
    html = path.read_text()
    return json.loads(re.search(r'id="flamekit-data" type="application/json">(.*?)</script>', html, re.S).group(1))


def test_side_by_side_toggle_shows_each_input_with_shared_search(browser, recordings, two_inputs):
    want = [float(flamekit.load(recordings[k]).totals()[0]) for k in "ab"]
    page = open_page(browser, two_inputs, width=1280)
    try:
        assert not page.is_visible("#fk-side")
        page.click("#fk-side-toggle")
        assert page.is_visible("#fk-side")
        assert page.eval_on_selector_all(".fk-side-col", "cs => cs.map(c => c.dataset.input)") == ["a", "b"]
        got = page.evaluate("""() => [0, 1].map(k => { const g = window.flamekit.instances['fk-side' + k];
            const z = g.main.zoom; return [z === g.data.inputRoot[k], g.view.total[z]]; })""")
        assert [x[0] for x in got] == [True, True]  # each graph is zoomed to its own input's root
        assert [x[1] for x in got] == pytest.approx(want, rel=1e-9)
        page.fill("#fk-search", "price_options")  # the main search box drives both
        counts = [page.get_attribute(f"#fk-side{k}-match-count", "data-count") for k in (0, 1)]
        assert counts == [page.get_attribute("#fk-match-count", "data-count")] * 2 and counts[0] != "0"
        page.click("#fk-side-toggle")
        assert not page.is_visible("#fk-side")
        assert page.fk_errors == []
    finally:
        page.close()


def test_legend_lists_exactly_the_kinds_drawn(browser, corpus, tmp_path):
    """A perf profile (kernel and native frames, pruned [other] nodes): one legend entry per kind present."""
    src = corpus / "realworld/perf-script/FlameGraph__perf-vertx-stacks-01.txt"
    p = flamekit.load(src)
    kinds = {f.kind if f.kind in ("python", "native", "kernel") else "unknown" for f in p.frames}
    out = tmp_path / "perf.html"
    r = _report(tmp_path, str(src), "-o", str(out), "--prune", "0.01", "--max-nodes", "0")
    assert r.returncode == 0, r.stderr
    page = open_page(browser, out, width=1280)
    try:
        shown = page.eval_on_selector_all("#fk-legend .fk-legend-item", "xs => xs.map(x => x.dataset.kind)")
        assert page.evaluate("window.flamekit.instances.fk.data.p.pruned.otherFrame") >= 0  # [other] drawn
        assert set(shown) == kinds | {"other", "match"}, (shown, kinds)
        assert "input" not in shown  # one input: no labelled root
        assert page.fk_errors == []
    finally:
        page.close()
