"""Self-contained HTML reports (pipeline stage: render): jinja2 templates + inlined JS/CSS.

One cached :class:`jinja2.Environment` (autoescape on) loads ``templates/`` from the
installed package (``flamekit.templates``) or, in a source checkout, from the
repository's ``templates/`` folder. Static files are inlined verbatim by
:func:`include_static` (never interpolated), and the page's Content-Security-Policy
lists the SHA-256 of exactly the inlined script and style text, so nothing else can
run or load. Data is embedded as JSON by :func:`json_for_html`: sorted keys,
compact separators, ASCII only, with ``<``, ``>``, ``&``, U+2028 and U+2029 written
as ``\\u`` escapes, so the same profile always gives byte-identical HTML.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
import shlex
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import jinja2
from markupsafe import Markup

from .. import __version__
from ..atomic import write_output
from ..model import Profile, group
from .payload import DEFAULT_PRUNE, clip, payload_from_pruned, prune

#: Reproducibility keys shown in the report, in display order (others are never embedded).
META_KEYS = ("tool", "tool_version", "command", "pid", "host", "cpu_model", "python_version",
             "rate_hz", "duration_s", "sample_count", "lost_samples", "errors", "start_time",
             "git_commit", "exit_code", "format", "merged_from")
REPORT_SCRIPTS = ("js/flamegraph.js", "js/export.js", "js/report.js")
REPORT_STYLES = ("css/report.css",)
_MAX_META = 2000
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _template_root() -> Any:
    """Return the templates folder: the installed package's, else the source checkout's."""
    try:
        root = resources.files("flamekit.templates")
        if root.joinpath("base.html.j2").is_file():
            return root
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "templates"


def _read(name: str) -> str:
    node = _template_root()
    for part in name.split("/"):
        node = node.joinpath(part)
    return node.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=None)
def _static(name: str) -> str:
    if ".." in name.split("/") or name.startswith("/"):
        raise ValueError(f"bad static file name {name!r}")
    return _read(name)


def include_static(name: str) -> Markup:
    """Return a static file under ``templates/`` verbatim, marked safe (not a template)."""
    return Markup(_static(name))


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Return the one cached jinja2 environment (autoescape on, strict undefined)."""
    env = jinja2.Environment(loader=jinja2.FunctionLoader(lambda n: _read(n)),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals["include_static"] = include_static
    return env


_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def json_for_html(obj: Any) -> str:
    """Serialize ``obj`` deterministically for a ``<script type="application/json">``.

    Sorted keys, compact separators, ASCII output (lone surrogates survive as
    ``\\udXXX``), no NaN, and ``<``, ``>``, ``&``, U+2028, U+2029 escaped.
    """
    s = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                   allow_nan=False)
    return _JSON_ESCAPE_RE.sub(lambda m: _JSON_ESCAPES[m.group(0)], s)


def csp_hash(text: str) -> str:
    """Return the CSP source expression ``'sha256-…'`` of an inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def display_text(s: Any, limit: int = _MAX_META) -> str:
    """Return ``s`` as one display string: truncated first (plain text), bad characters replaced."""
    s = str(s)
    if len(s) > limit:
        s = s[:limit - 1] + "\u2026"
    return _BAD_CHARS.sub("\ufffd", s)


def render_page(template: str, *, title: str, data: Any,
                scripts: Sequence[str] = REPORT_SCRIPTS, styles: Sequence[str] = REPORT_STYLES,
                **context: Any) -> str:
    """Render a page template extending ``base.html.j2``; return the HTML text.

    ``scripts``/``styles`` name static files under ``templates/`` to inline (in
    order); the CSP meta tag hashes exactly their text. ``data`` is embedded in
    ``<script id="flamekit-data" type="application/json">``. Extra ``context``
    goes to the template (autoescaped unless it is :class:`Markup`).
    """
    js = [_static(s) for s in scripts]
    css = [_static(s) for s in styles]
    csp = ("default-src 'none'; script-src " + " ".join(csp_hash(s) for s in js)
           + "; style-src " + " ".join(csp_hash(s) for s in css)
           + "; img-src data:; base-uri 'none'; form-action 'none'")
    return environment().get_template(template).render(
        title=display_text(title, 300), csp=csp, inline_scripts=[Markup(s) for s in js],
        inline_styles=[Markup(s) for s in css], data_json=Markup(json_for_html(data)),
        flamekit_version=__version__, **context)


def _meta_rows(p: Profile) -> list[list[str]]:
    rows = [["flamekit_version", __version__]]
    for k in META_KEYS:
        if k not in p.meta or p.meta[k] is None:
            continue
        v = p.meta[k]
        if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
            v = shlex.join(v)
        elif not isinstance(v, str):
            v = json.dumps(v, sort_keys=True, ensure_ascii=False)
        rows.append([k, display_text(v)])
    return rows


def _table(p: Profile, name: str, columns: Sequence[str]) -> dict | None:
    t = p.tables.get(name)
    if not isinstance(t, dict) or not all(isinstance(t.get(c), list) for c in columns):
        return None
    n = min(len(t[c]) for c in columns)
    out = {}
    for c in columns:
        col = t[c][:n]
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in col):
            return None
        out[c] = [float(x) for x in col]
    return out if n else None


def _memory_timeline(p: Profile) -> dict | None:
    """Return scalene's memory footprint over time (``t_sec``, ``footprint_mb``), if usable."""
    t = _table(p, "scalene_memory_timeline", ("t_sec", "footprint_mb"))
    if not t:
        return None
    return {"time": t["t_sec"], "value": t["footprint_mb"], "unit": "megabytes"}


def build_report_data(profile: Profile, *, title: str, notes_html: str = "",
                      sample_type: str | int | None = None,
                      prune_fraction: float = DEFAULT_PRUNE, by: str = "function") -> dict:
    """Return the JSON document a report embeds: the flame graph payload and report sections.

    ``by="function"`` merges frames that differ only by line in the flame graph;
    ``by="line"`` keeps one frame per line. Hotspots keep the heaviest line.
    """
    from ..analysis.hotspots import allocation_sites, hotspots, memory_types

    # Prune once: the flame graph and the in-page function table show the pruned tree (the
    # pruned share is reported). Hotspots are exact: computed on the full profile, only for
    # the functions that can make the top (see analysis.hotspots).
    default_type = profile.type_index(sample_type) if profile.sample_types else 0
    flame = profile
    if by == "function" and any(f.line for f in profile.frames):
        flame = group(profile, "function")  # one frame per function, not per line (py-spy)
    pruned, info = prune(flame, prune_fraction)
    payload = payload_from_pruned(pruned, info, default_type=default_type)
    del flame, pruned  # peak memory on million-stack profiles: the grouped tree is done
    hs = []
    for k, st in enumerate(profile.sample_types):
        rows = []
        for h in hotspots(profile, k, n=15):
            rows.append({"name": clip(h.name), "file": clip(h.file), "line": h.line,
                         "self": h.self, "total": h.total, "selfPct": h.self_pct,
                         "totalPct": h.total_pct,
                         "path": [clip(f.name) for f in h.path[-40:]],
                         "pathCut": max(0, len(h.path) - 40)})
        hs.append(rows)
    report: dict[str, Any] = {
        "title": display_text(title, 300),
        "hotspots": hs,
        "hotspotsExact": True,
        "meta": _meta_rows(profile),
        "warnings": [display_text(w, 300) for w in profile.meta.get("warnings", [])[:50]],
        "warningCount": len(profile.meta.get("warnings", [])),
        "nSamples": profile.n_samples,
        "totals": [float(x) for x in profile.totals()],
        "memoryTypes": memory_types(profile),
    }
    sites = allocation_sites(profile, n=25)
    if len(sites):
        report["alloc"] = {
            "allocType": sites.attrs.get("alloc_type"), "peakType": sites.attrs.get("peak_type"),
            "countType": sites.attrs.get("count_type"),
            "rows": [{"name": clip(r.name), "file": clip(r.file), "line": int(r.line),
                      "alloc": float(r.alloc), "allocPct": float(r.alloc_pct),
                      "peak": None if r.peak != r.peak else float(r.peak),
                      "count": None if r.count != r.count else float(r.count)}
                     for r in sites.itertuples(index=False)],
        }
        tl = _memory_timeline(profile)
        if tl:
            report["alloc"]["timeline"] = tl
    res = _table(profile, "resources", ("time", "cpu_percent", "rss_bytes"))
    if res:
        report["resources"] = res
    return {"payload": payload, "report": report, "hasNotes": bool(notes_html)}


def render_report(profile: Profile, *, title: str | None = None, notes: str | None = None,
                  sample_type: str | int | None = None,
                  prune_fraction: float = DEFAULT_PRUNE, by: str = "function") -> str:
    """Return the HTML text of a report (deterministic for the same inputs).

    ``notes`` is Markdown text (rendered and sanitized); ``prune_fraction`` is
    the pruning threshold (fraction of the total; 0 keeps everything).
    """
    from .notes import render_notes

    if title is None:
        title = "flamekit report"
        cmd = profile.meta.get("command")
        if cmd:
            title += ": " + (shlex.join(cmd) if isinstance(cmd, list) else str(cmd))
    notes_html = render_notes(notes) if notes else ""
    data = build_report_data(profile, title=title, notes_html=notes_html,
                             sample_type=sample_type, prune_fraction=prune_fraction, by=by)
    approx = profile.meta.get("approximate")
    return render_page("report.html.j2", title=title, data=data, notes_html=Markup(notes_html),
                       approximate=display_text(approx, 500) if isinstance(approx, str) else "")


def write_report(profile: Profile, path: str | os.PathLike, *, title: str | None = None,
                 notes: str | None = None, sample_type: str | int | None = None,
                 prune_fraction: float = DEFAULT_PRUNE, by: str = "function") -> None:
    """Write a self-contained HTML report to ``path`` (``-``: stdout) atomically (see :func:`render_report`)."""
    write_output(path, render_report(profile, title=title, notes=notes, sample_type=sample_type,
                                     prune_fraction=prune_fraction, by=by))
