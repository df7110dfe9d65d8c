"""Shares carry their 95 % interval (issue 11, "Uncertainty, shown"), checked against ground truth.

cpu_split.py measures its own split of CPU time between price_options and update_risk
(``time.thread_time``) and prints it; short perf recordings of it must put that measured
split inside the interval flamekit states at least 17 times in 20 (a 95 % interval misses
about once in 20).
"""
from __future__ import annotations

import csv
import io
import re
import subprocess
import sys

import pytest

import flamekit
from flamekit.analysis.uncertainty import effective_samples, margin, margins, resolution, wilson

from conftest import require_tool
from record_helpers import (REPO, WORKLOADS, env, flamekit_record, perf_runs, profile_path, python,
                            start_service, stop)

pytestmark = pytest.mark.integration

CPU_SPLIT = str(WORKLOADS / "cpu_split.py")
_MEASURED = re.compile(r"price_options (\d+(?:\.\d+)?)%, update_risk (\d+(?:\.\d+)?)%")


def test_wilson_interval_matches_the_textbook_values():
    from scipy.stats import binomtest

    for k, n in ((7, 10), (1, 40), (0, 25), (333, 1000)):
        ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        lo, hi = wilson(k / n, n)
        assert lo == pytest.approx(ref.low, abs=1e-9) and hi == pytest.approx(ref.high, abs=1e-9)
    assert margin(0.7, 10) == pytest.approx(0.7 - 0.39677814746114537)
    assert margins([0.7], 10)[0] == pytest.approx(margin(0.7, 10))
    assert margin(0.5, 10_000) == pytest.approx(0.0098, abs=2e-4)
    assert resolution([0.6, 0.3, 0.1], 200).ranked == 2
    assert not resolution([0.36, 0.34, 0.3], 30).enough


def test_interval_covers_the_workloads_own_split_17_of_20(tmp_path):
    """perf (CPU-time sampling) on CPython 3.13, at flamekit's default rate.

    The workload measures its split in CPU time (``thread_time``), which is what perf's
    ``cpu-clock`` samples. py-spy samples wall time: on an overloaded host (load 11 on 2
    cores) a preempted thread is sampled again and again in the same frame, so its samples
    are clustered and its split strays beyond a binomial interval more often (16-19 of 20
    seen), which is a different quantity, not a narrower truth. (Recorded two at a time:
    CPU-time sampling is not changed by a neighbour; see ``perf_runs``.)
    """
    require_tool("perf", "apt-get install linux-perf")
    py313 = python("3.13")
    assert py313, "Python 3.13 is needed for perf's Python frames: pyenv install 3.13 (.ci/run)"
    covered, seen = 0, []
    for out, prof in perf_runs(tmp_path, 20, [py313, CPU_SPLIT, "--seconds", "0.5"]):
        m = _MEASURED.search(out)  # the workload's own line (it passes through flamekit record)
        assert m, out
        truth = float(m.group(1)) / (float(m.group(1)) + float(m.group(2)))
        p = flamekit.focus(prof, r"^(price_options|update_risk)$")
        n = effective_samples(p)
        df = flamekit.functions(p)
        share = float(df[df["name"] == "price_options"]["total"].sum() / df["total"].max())
        lo, hi = wilson(share, n)
        covered += lo <= truth <= hi
        seen.append((round(truth, 3), round(share, 3), round(lo, 3), round(hi, 3), round(n)))
    print(seen)
    assert covered >= 17, seen


def test_top_prints_each_share_with_its_interval(tmp_path):
    out = profile_path(tmp_path)
    r = flamekit_record("--rate", "100", "-o", str(out), "--", sys.executable, CPU_SPLIT, "--seconds", "1")
    assert r.returncode == 0, r.stderr
    p = flamekit.load(out)
    n = effective_samples(p)
    assert abs(n - p.n_samples) <= 1  # one py-spy sample each
    def top(*extra: str) -> str:
        r = subprocess.run([sys.executable, "-m", "flamekit", "top", str(out), "--by", "total", "-n", "5",
                            *extra], cwd=REPO, env=env(), capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    rows = list(csv.DictReader(io.StringIO(top("--csv"))))
    assert len(rows) == 5
    for row in rows:
        for col in ("self_pct", "total_pct"):
            share = float(row[col]) / 100
            assert float(row[col + "_pm"]) == pytest.approx(100 * margin(share, n), abs=1e-3), row
    text = top()
    shown = re.findall(r"(\d+\.\d\d)% ±(\d+\.\d)\b", text)
    assert len(shown) == 10, text  # self% and total% of five rows
    # the terminal rounds the exact share, the CSV gives it to 4 places: rounding the CSV's figure
    # again may differ in the last digit (31.565 shows as 31.57; the CSV's "31.5650" gives 31.56)
    want = [(float(r[c]), float(r[c + "_pm"])) for r in rows for c in ("self_pct", "total_pct")]
    for (pct, pm), (w, wpm) in zip(shown, want):  # both in the table's order: row by row, self, total
        assert abs(float(pct) - w) <= 0.00501 and abs(float(pm) - wpm) <= 0.0501, (shown, want)
    assert f"95% interval from {round(n):,} samples" in text, text


# -- the report: coverage, samples, intervals (real py-spy recording, real Chromium) ------------
def test_report_states_coverage_samples_and_intervals(tmp_path, browser):
    from browser import open_page

    svc = start_service(duty=0.3)
    try:
        out, html = profile_path(tmp_path), tmp_path / "r.html"
        r = flamekit_record("--pid", str(svc.pid), "--duration", "2", "--rate", "200", "-o", str(out),
                            "--html", str(html))
        assert r.returncode == 0, r.stderr
    finally:
        stop(svc)
    p = flamekit.load(out)
    n = effective_samples(p)
    page = open_page(browser, html)
    try:
        summary = page.inner_text("#fk-summary")
        m = p.meta
        assert (f"wall: {m['active_s']:.2f} s active of {m['recorded_s']:.1f} s recorded; "
                f"idle excluded (--idle to include)") in summary, summary
        note = page.inner_text("#fk-samples")
        assert f"Shares rest on {round(n):,} samples" in note, note
        hot = page.eval_on_selector_all("#fk-hotspots tbody tr", "rs => rs.map(r => r.innerText)")
        assert hot and all(re.search(r"\d\.\d\d% ±\d+\.\d", h) for h in hot), hot
        top = flamekit.functions(p).sort_values("self", ascending=False).iloc[0]
        # the page rounds in JavaScript (toFixed), Python here: compare the numbers, not a
        # string that can differ by one in the last digit at a rounding boundary
        shown = re.search(r"(\d+\.\d\d)% ±(\d+\.\d)", hot[0])
        assert shown, hot[0]
        want_pm = 100 * margin(top.self_pct / 100, n)
        assert abs(float(shown.group(1)) - top.self_pct) <= 0.005 + 1e-9, (top.self_pct, hot[0])
        assert abs(float(shown.group(2)) - want_pm) <= 0.05 + 1e-9, (want_pm, hot[0])
        funcs = page.eval_on_selector_all("#fk-functions tbody tr", "rs => rs.map(r => r.innerText)")
        assert funcs and all("±" in f for f in funcs), funcs[:3]
        assert not page.fk_errors, page.fk_errors
    finally:
        page.close()


def test_report_flags_a_profile_too_small_to_rank(tmp_path, browser):
    from browser import open_page

    folded = tmp_path / "tiny.folded"
    folded.write_text("main;price 6\nmain;risk 5\nmain;io 1\n", encoding="utf-8")
    html = tmp_path / "tiny.html"
    r = subprocess.run([sys.executable, "-m", "flamekit", "report", str(folded), "-o", str(html)],
                       cwd=REPO, env=env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    page = open_page(browser, html)
    try:
        note = page.inner_text("#fk-samples")
        assert "Shares rest on 12 samples" in note and "Too few samples to rank the top functions" in note, note
    finally:
        page.close()


def test_summary_writes_counts_with_thousands_separators(tmp_path, browser):
    """1,200 stacks of 1,000 samples: '1,200 sample rows · samples: 1,200,000', and the
    note says '1,200,000 samples' (not 'samples of samples')."""
    from browser import open_page

    folded = tmp_path / "book.folded"
    folded.write_text("".join(f"main;match_order;level_{i} 1000\n" for i in range(1200)), encoding="utf-8")
    html = tmp_path / "book.html"
    r = subprocess.run([sys.executable, "-m", "flamekit", "report", str(folded), "-o", str(html)],
                       cwd=REPO, env=env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    n = effective_samples(flamekit.load(folded))
    page = open_page(browser, html)
    try:
        assert page.inner_text("#fk-summary").startswith("1,200 sample rows · samples: 1,200,000 · 1 thread")
        assert page.inner_text("#fk-samples").startswith(f"Shares rest on {round(n):,} samples; ± is"), n
    finally:
        page.close()
