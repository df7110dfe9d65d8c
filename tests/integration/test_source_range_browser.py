"""The source view under a time range, in real Chromium, on a py-spy recording with sample times.

``sample_workloads/ingest_backtest.py`` runs ``ingest_ticks`` (lines 34-36) for about
1 s, then ``run_backtest`` (lines 41-52) for about 1 s. With a time range set, the
source view's per-line self and total must be those of the model's samples in the
range (counted here by a plain walk over the samples: the leaf's line for self, the
outermost occurrence's line for total), sum to the function's figures in the range,
say which range they cover, and come back to the whole profile's on reset. A report
whose source view has no stacks for ranges says so and shows no figures.
"""
from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from flamekit.analysis.report import report_data
from flamekit.model import hide_libraries
from flamekit.render import source_range
from flamekit.render.html import report_json, write_report
from flamekit.render.timeline import decode_timeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import open_page  # noqa: E402
from record_helpers import WORKLOADS, two_phase_report  # noqa: E402
from source_range_util import APP, LIB, tricky_profile, truth  # noqa: E402

pytestmark = pytest.mark.integration
WORKLOAD = str(WORKLOADS / "ingest_backtest.py")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """One py-spy recording of the two-phase job (line numbers and sample times kept) and its report."""
    p, html = two_phase_report(tmp_path_factory.mktemp("srcrange"))
    assert p.sample_time is not None
    return p, html


def range_lines(p, name: str, mask: np.ndarray, hide: bool) -> dict[int, list[float]]:
    """Per line of ``name`` (the workload's), over the samples of ``mask``: [self, total].

    Self: the samples whose leaf is the function at that line (with library frames
    hidden: the leaf of :func:`hide_libraries`' stack); total: those whose outermost
    frame of the function is at that line (the same either way).
    """
    out: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    h = hide_libraries(p) if hide else p
    key = (name, WORKLOAD)
    for (s, hs), v in zip(zip(p.sample_stack[mask].tolist(), h.sample_stack[mask].tolist()),
                          p.values[mask, 0].tolist()):
        leaf = h.frames[h.stack_frames(hs)[-1]]
        if (leaf.name, leaf.file) == key:
            out[leaf.line][0] += v
        outer = next((f for f in (p.frames[i] for i in p.stack_frames(s)) if (f.name, f.file) == key), None)
        if outer is not None:
            out[outer.line][1] += v
    return {ln: sv for ln, sv in out.items() if sv != [0.0, 0.0]}


def source_view(page) -> dict:
    """The source view as shown: rows with figures, the sum row and the note."""
    return page.evaluate("""() => {
        const rows = {};
        document.querySelectorAll('#fk-source-table tbody tr[data-line]').forEach(tr => {
            rows[tr.getAttribute('data-line')] = [tr.getAttribute('data-self'), tr.getAttribute('data-total'),
                                                  tr.cells[1].textContent, tr.cells[2].textContent];
        });
        const sum = document.getElementById('fk-source-sum'), note = document.getElementById('fk-source-note');
        return {rows: rows, self: sum && sum.getAttribute('data-self'), total: sum && sum.getAttribute('data-total'),
                range: sum && sum.getAttribute('data-range'), sumText: sum ? sum.textContent : '',
                note: note.hidden ? '' : note.textContent,
                fn: (document.querySelector('#fk-source-title .fk-src-fn') || {}).textContent};
    }""")


def select_function(page, name: str) -> None:
    """Select a function as a click in the flame graph does (its heaviest node)."""
    ok = page.evaluate("""(name) => { const g = flamekit.instances.fk, D = g.data; let best = -1;
        for (let i = 0; i < D.n; i++) if (D.names[D.frame[i]] === name && (best < 0 || g.view.total[i] > g.view.total[best])) best = i;
        if (best < 0) return false;
        g.selectFunction(D.func[D.frame[best]]); g.changed(); return true; }""", name)
    assert ok, name


def between(t: np.ndarray, x: float) -> float:
    """A time halfway between two samples near ``x`` (no sample sits on a range's edge)."""
    u = np.unique(t)
    i = int(np.clip(np.searchsorted(u, x), 1, len(u) - 1))
    return float((u[i - 1] + u[i]) / 2)


def check_rows(got: dict, truth: dict[int, list[float]], what: str) -> None:
    """The page's rows with figures equal ``truth`` (lines with nothing in it show no figure)."""
    shown = {int(ln): [float(s), float(t)] for ln, (s, t, _, _) in got["rows"].items() if float(s) or float(t)}
    assert set(shown) == set(truth), what
    for ln, st in shown.items():
        assert st == pytest.approx(truth[ln], rel=1e-9), (what, ln)


def test_range_filters_the_source_view(browser, recording, tmp_path):
    p, html = recording
    t = p.sample_time
    names = [p.frames[i].name for i in range(len(p.frames))]
    assert "ingest_ticks" in names and "run_backtest" in names
    a = np.sort(t[np.isin(p.sample_stack, [s for s in range(p.n_stacks)
                                           if any(p.frames[f].name == "run_backtest" for f in p.stack_frames(s))])])
    # the last 0.3 s of ingest_ticks and the first 0.3 s of run_backtest
    lo, hi = between(t, a.min() - 0.3), between(t, a.min() + 0.3)
    mask = (t >= lo) & (t < hi)
    page = open_page(browser, html, width=1280)
    try:
        hid = page.locator("#fk-hide-libraries").count() > 0 and page.is_checked("#fk-hide-libraries")
        whole = {}
        for name in ("ingest_ticks", "run_backtest"):
            select_function(page, name)
            whole[name] = source_view(page)
            check_rows(whole[name], range_lines(p, name, np.ones(len(t), bool), hid), name + " whole")
            assert whole[name]["range"] is None
        page.evaluate("([lo, hi]) => flamekit.timeline.setRange(lo, hi)", [lo, hi])
        chip = page.evaluate("() => document.getElementById('fk-range-chip').textContent")
        assert f"range: {lo:.2f}\u2013{hi:.2f} s, {int(mask.sum())} samples" in chip
        for name in ("run_backtest", "ingest_ticks"):
            select_function(page, name)
            got = source_view(page)
            truth = range_lines(p, name, mask, hid)
            assert len(truth) >= 2, (name, truth)  # several lines of each in the range
            check_rows(got, truth, name + " range")
            # the lines sum to the function's self and total in the range (the model's, by samples)
            on = np.array([any(p.frames[f].name == name for f in p.stack_frames(s)) for s in range(p.n_stacks)])
            fn_total = float(p.values[mask & on[p.sample_stack], 0].sum())
            assert float(got["total"]) == pytest.approx(fn_total, rel=1e-9) and fn_total > 0
            assert sum(tt for _, tt in truth.values()) == pytest.approx(fn_total, rel=1e-9)
            assert float(got["self"]) == pytest.approx(sum(s for s, _ in truth.values()), rel=1e-9)
            assert float(got["total"]) < float(whole[name]["total"])  # not the whole profile's
            assert got["range"] == f"{lo} {hi}"
            assert got["note"].startswith(chip.replace("Reset range", "").strip())
            assert "in the range" in got["sumText"]
        # the switch (when the page has one) changes self only: library code folded into lines
        if page.locator("#fk-hide-libraries").count():
            page.set_checked("#fk-hide-libraries", not hid)
            check_rows(source_view(page), range_lines(p, "ingest_ticks", mask, not hid), "switched")
            page.set_checked("#fk-hide-libraries", hid)
        # reset: the whole profile's figures again
        page.click("#fk-range-reset")
        for name in ("ingest_ticks", "run_backtest"):
            select_function(page, name)
            back = source_view(page)
            assert back["rows"] == whole[name]["rows"] and back["range"] is None
            assert (back["self"], back["total"]) == (whole[name]["self"], whole[name]["total"])
            assert "range:" not in back["note"]
        assert page.fk_errors == [] and page.fk_requests == []
    finally:
        page.close()


def test_recursion_and_library_code_under_a_range(browser, tmp_path):
    """Indirect recursion (a line's total counts a sample once), library code calling user code and
    library leaves (self moves with the switch): the page's figures equal the samples'."""
    p = tricky_profile()
    html = tmp_path / "tricky.html"
    write_report(report_data(p), html)
    t = p.sample_time
    page = open_page(browser, html, width=1280)
    try:
        checked = 0
        for lo, hi in ((between(t, 1.0), between(t, 4.0)), (between(t, 6.0), between(t, 9.5))):
            page.evaluate("([lo, hi]) => flamekit.timeline.setRange(lo, hi)", [lo, hi])
            mask = (t >= lo) & (t < hi)
            for hide in (True, False):
                page.set_checked("#fk-hide-libraries", hide)
                for name, file in (("parse", APP), ("walk", APP), ("raw_decode", LIB)):
                    if hide and file == LIB:  # folded away: not in the flame graph to select
                        continue
                    select_function(page, name)
                    got = source_view(page)
                    want = truth(p, name, file, mask, hide)
                    check_rows(got, want, f"{name} {lo}-{hi} hide={hide}")
                    assert float(got["total"]) == pytest.approx(sum(v[1] for v in want.values()))
                    checked += len(want) >= 2
        assert checked >= 8
        assert page.fk_errors == []
    finally:
        page.close()


def test_timeline_rows_name_their_line_nodes(recording):
    """The embedded stacks and rows give the model's per-line figures for any range (no browser)."""
    p, _ = recording
    doc = report_json(report_data(p), title="t")
    st, tl = doc["report"]["source"]["stacks"], decode_timeline(doc["report"]["timeline"])
    par, fn, ln = (np.asarray(st[k]) for k in ("parent", "func", "line"))
    assert (par < np.arange(len(par))).all() and len(tl["lnode"]) == len(tl["time"])
    assert len(par) <= p.n_stacks
    funcs = doc["report"]["source"]["funcs"]
    S, F = doc["payload"]["strings"], doc["payload"]["frames"]
    fid = next(F["func"][i] for i in range(len(F["func"])) if S[F["name"][i]] == "run_backtest")
    assert str(fid) in funcs
    t = p.sample_time
    lo, hi = between(t, float(np.median(t))), between(t, float(t.max()))
    m = (tl["time"] >= lo) & (tl["time"] < hi)
    acc = np.bincount(tl["lnode"][m], weights=tl["values"][m, 0], minlength=len(par))
    total: dict[int, float] = defaultdict(float)
    for i in np.flatnonzero(acc):
        path, k = [], int(i)
        while k >= 0:
            path.append(k)
            k = int(par[k])
        outer = next((k for k in reversed(path) if fn[k] == fid), None)
        if outer is not None:
            total[int(ln[outer])] += float(acc[i])
    truth = range_lines(p, "run_backtest", (t >= lo) & (t < hi), False)
    assert dict(total) == pytest.approx({k: v[1] for k, v in truth.items() if v[1]}, rel=1e-9)


def test_a_report_without_stacks_says_so(browser, recording, tmp_path, monkeypatch):
    """Past the stacks' budget the view shows no figures under a range, and says why."""
    p, _ = recording
    monkeypatch.setattr(source_range, "MAX_NODES", 1)
    html = tmp_path / "nostacks.html"
    write_report(report_data(p), html)
    t = p.sample_time
    page = open_page(browser, html, width=1280)
    try:
        select_function(page, "ingest_ticks")
        whole = source_view(page)
        assert whole["self"] is not None and len(whole["rows"]) >= 2
        page.evaluate("([lo, hi]) => flamekit.timeline.setRange(lo, hi)", [float(t.min()), float(t.max())])
        got = source_view(page)
        assert got["range"] == "none" and got["self"] is None and got["total"] is None
        assert set(got["rows"]) == set(whole["rows"])  # the lines and their text stay
        assert all(s is None and tt is None and c1 == "" and c2 == "" for s, tt, c1, c2 in got["rows"].values())
        assert "no per-line figures for a time range (too many distinct stacks)" in got["note"]
        page.click("#fk-range-reset")
        assert source_view(page)["rows"] == whole["rows"]
        assert page.fk_errors == []
    finally:
        page.close()


def test_screenshot_of_the_source_view_with_a_range(browser, recording, tmp_path):
    """A 1280 px screenshot of the source view with a range set (looked at by hand)."""
    p, html = recording
    t = p.sample_time
    page = open_page(browser, html, width=1280, height=900)
    try:
        page.evaluate("([lo, hi]) => flamekit.timeline.setRange(lo, hi)",
                      [between(t, float(np.median(t))), between(t, float(np.median(t)) + 0.4)])
        select_function(page, "run_backtest")
        shot = tmp_path / "source-range.png"
        page.locator("#source").scroll_into_view_if_needed()
        page.locator("#source").screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        keep = os.environ.get("FLAMEKIT_SHOTS")  # a folder to keep it in, for a look by hand
        if keep:
            (Path(keep) / "source-range.png").write_bytes(shot.read_bytes())
    finally:
        page.close()
