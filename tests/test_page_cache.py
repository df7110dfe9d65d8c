"""Cached page shells (flamekit.render.page_cache): the same bytes as jinja2, without jinja2.

The report pages are rendered three ways (cache off, cold cache, warm cache) and compared
byte for byte, with values that test the escaping and each branch of the template; a
warm run in a fresh interpreter must not import jinja2. Synthetic templates check that a
shell is refused when a value is used in any other way than printed or tested for
emptiness, that a changed template file is noticed, and that a damaged entry or an
unwritable cache folder only costs the cache.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from flamekit.analysis.report import report_data
from flamekit.formats import load
from flamekit.render import page_cache
from flamekit.render.html import render_report

FOLDED = "main (app.py:1);work (app.py:5) 3\nmain (app.py:1);idle (app.py:9) 1\n"


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    """A private cache folder (``XDG_CACHE_HOME``), cache on."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("FLAMEKIT_PAGE_CACHE", raising=False)
    return tmp_path / "xdg" / "flamekit" / "pages"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    p = tmp_path_factory.mktemp("pc") / "p.folded"
    p.write_text(FOLDED)
    return report_data(load(p))


CASES = [  # (title, notes, approximate): each branch of report.html.j2, hostile text
    ("Qzx plain", None, None),
    ("Qzx <script>alert('x')</script> & \"q\" \u2028", None, None),
    ("Qzx with notes", "# Findings\n\n*hot* <b>x</b>\n", None),
    ("Qzx approximate", None, "cut at 5 levels: <deep> & \"wide\""),
    ("Qzx both", "notes", "approx"),
]


@pytest.mark.parametrize("title,notes,approx", CASES)
def test_report_pages_are_byte_identical_cold_warm_and_off(data, cache, monkeypatch, title, notes, approx):
    monkeypatch.setattr(data, "approximate", approx)
    monkeypatch.setenv("FLAMEKIT_PAGE_CACHE", "0")
    off = render_report(data, title=title, notes=notes)
    assert not cache.exists()
    monkeypatch.delenv("FLAMEKIT_PAGE_CACHE")
    cold = render_report(data, title=title, notes=notes)
    entries = list(cache.glob("*.json"))
    assert len(entries) == 1  # the report page qualifies: a shell was kept
    warm = render_report(data, title=title, notes=notes)
    assert off == cold == warm
    parts = json.loads(entries[0].read_text())["parts"]
    assert set(parts[1::2]) >= {"title", "data_json"}  # values are markers, never stored
    assert "Qzx" not in "".join(parts) and "Findings" not in "".join(parts)


def test_a_warm_report_loads_no_jinja2(tmp_path):
    folded = tmp_path / "p.folded"
    folded.write_text(FOLDED)
    probe = ("import sys; sys.argv = ['flamekit'] + sys.argv[1:]\n"
             "from flamekit.cli import main\nmain()\n"
             "print('JINJA2', 'jinja2' in sys.modules, 'hashlib' in sys.modules)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env.pop("FLAMEKIT_PAGE_CACHE", None)
    pages, seen = [], []
    for i in range(2):
        out = tmp_path / f"r{i}.html"
        r = subprocess.run([sys.executable, "-c", probe, "report", str(folded), "-o", str(out)],
                           capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        seen.append(r.stdout.split("JINJA2")[-1].split())
        pages.append(out.read_bytes())
    assert seen == [["True", "True"], ["False", "False"]], seen
    assert pages[0] == pages[1]


def _page(templates: dict[str, str], values: dict, name: str = "page.j2"):
    """Render ``name`` from ``templates`` through the cache; return (html, jinja2's html)."""
    env = jinja2.Environment(loader=jinja2.DictLoader(templates), autoescape=True,
                             undefined=jinja2.StrictUndefined)

    def render(v):
        return env.get_template(name).render(**v)

    html = page_cache.render(
        name, values, files=lambda: [(k, t.encode()) for k, t in templates.items()], code=(),
        render=render, cacheable=lambda names: page_cache.printed_or_tested(env, name, names))
    return html, render(values)


@pytest.mark.parametrize("body,ok", [
    ("<h1>{{ title }}</h1>{% if note %}<p>{{ note }}</p>{% endif %}", True),
    ("{% if title %}t{% else %}-{% endif %}{% include 'inc.j2' %}", True),
    ("{{ title|upper }}", False),
    ("{% if title == 'x' %}x{% endif %}{{ title }}", False),
    ("{% if title|length > 3 %}long{% endif %}{{ title }}", False),
    ("{% set title = 'y' %}{{ title }}", False),
    ("{% for title in [1] %}{{ title }}{% endfor %}", False),
    ("{% filter upper %}{{ title }}{% endfilter %}", False),
    ("{% autoescape false %}{{ title }}{% endautoescape %}", False),
    ("{% include 'bad.j2' %}", False),  # the rule holds in included templates too
])
def test_a_shell_is_kept_only_for_values_printed_or_tested(cache, body, ok):
    templates = {"page.j2": body, "inc.j2": "[{{ title }}]", "bad.j2": "{{ title ~ '!' }}"}
    for title in ("a <b> & c", "xyzw"):
        html, direct = _page(templates, {"title": title, "note": "n&"})
        assert html == direct
    assert bool(list(cache.glob("*.json"))) is ok


def test_a_changed_template_is_noticed(cache):
    html, _ = _page({"page.j2": "<i>{{ title }}</i>"}, {"title": "t"})
    html2, direct = _page({"page.j2": "<b>{{ title }}</b>"}, {"title": "t"})
    assert (html, html2) == ("<i>t</i>", "<b>t</b>") and html2 == direct
    assert len(list(cache.glob("*.json"))) == 2


def test_a_damaged_entry_is_rewritten(cache):
    tpl = {"page.j2": "<i>{{ title }}</i>"}
    _page(tpl, {"title": "t"})
    (entry,) = cache.glob("*.json")
    for junk in ("{not json", json.dumps({"key": "other", "parts": []}), json.dumps([1])):
        entry.write_text(junk)
        assert _page(tpl, {"title": "<x>"})[0] == "<i>&lt;x&gt;</i>"
        assert json.loads(entry.read_text())["parts"] == ["<i>", "title", "</i>"]


def test_an_unwritable_cache_only_costs_the_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert _page({"page.j2": "<i>{{ title }}</i>"}, {"title": "&"})[0] == "<i>&amp;</i>"


def test_values_that_could_hold_data_are_never_cached(cache):
    html, direct = _page({"page.j2": "{{ title }}{{ rows }}"}, {"title": "t", "rows": ["secret"]})
    assert html == direct and not cache.exists()


def test_the_cache_keeps_the_entries_written_last(cache, monkeypatch):
    monkeypatch.setattr(page_cache, "MAX_ENTRIES", 3)
    for i in range(5):  # five template versions: five entries made, the last three kept
        html, direct = _page({"page.j2": f"<i{i}>{{{{ title }}}}</i{i}>"}, {"title": "t"})
        assert html == direct == f"<i{i}>t</i{i}>"
        os.utime(max(cache.glob("*.json"), key=lambda p: p.stat().st_mtime_ns), ns=(i * 10**9, i * 10**9))
    kept = sorted(json.loads(p.read_text())["parts"][0] for p in cache.glob("*.json"))
    assert kept == ["<i2>", "<i3>", "<i4>"]
