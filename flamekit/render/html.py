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
import shlex
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import jinja2
import numpy as np
from markupsafe import Markup

from ..atomic import write_output
from ..analysis.report import REPRO_KEYS, ReportData
from ..version import __version__
from .payload import clip, frame_map, payload_from_pruned
from .prune import DEFAULT_MAX_NODES, DEFAULT_MIN_SHARE, prune, prune_note
from .report_sections import (alloc_rows, busy_text, coverage, display_text, hotspot_row, input_section,
                              meta_rows, prune_inputs)
from .report_views import libraries_json, source_json
from .source_range import line_stacks, listed_functions
from .timeline import timeline_data

REPORT_SCRIPTS = ("js/flamegraph.js", "js/export.js", "js/libraries.js", "js/calltree.js",
                  "js/source.js", "js/report.js", "js/timeline.js")
REPORT_STYLES = ("css/report.css", "css/views.css", "css/timeline.css")


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


def json_for_html(obj: Any) -> str:
    """Serialize ``obj`` deterministically for a ``<script type="application/json">``.

    Sorted keys, compact separators, ASCII output (lone surrogates survive as
    ``\\udXXX``), no NaN, and ``<``, ``>``, ``&``, U+2028, U+2029 escaped.
    """
    # check_circular=False: a page's document is a tree of fresh lists and dicts (a cycle,
    # a bug, would end in RecursionError); the check's id bookkeeping is ~10 % of the dump
    s = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                   allow_nan=False, check_circular=False)
    # ASCII output writes U+2028 and U+2029 as \\u escapes already; three C passes, not a
    # regex with a Python call per match (a py-spy page has thousands of "<module>")
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def csp_hash(text: str) -> str:
    """Return the CSP source expression ``'sha256-…'`` of an inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


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


def report_json(data: ReportData, *, title: str, notes_html: str = "",
                prune_fraction: float = DEFAULT_MIN_SHARE,
                max_nodes: int = DEFAULT_MAX_NODES) -> dict:
    """Return the JSON document a report embeds: the flame graph payload and report sections.

    The flame graph (and the in-page function table) show ``data.flame``
    pruned to the detail budget (:func:`flamekit.render.prune.prune`: every
    node of at least ``prune_fraction`` of its thread, then the heaviest up to
    ``max_nodes``; the notice says what went); hotspots are exact (computed on
    the whole profile by :mod:`flamekit.analysis.report`).
    """
    p = data.profile
    if data.parts:  # several inputs: each pruned on its own, under its labelled root
        pruned, info, roots = prune_inputs(data, prune_fraction, max_nodes)
    else:
        (pruned, info), roots = prune(data.flame, prune_fraction, max_nodes), []
    payload = payload_from_pruned(pruned, info, default_type=data.default_type)
    if data.parts:
        fmap = frame_map(pruned)
        payload["inputs"] = {"frame": [int(fmap[r]) if r >= 0 else -1 for r in roots]}
    source = source_json(data.lines, payload)
    # per-sample times on the pruned nodes (None: untimed); one input only (each has its own clock)
    stacks, lnode = None, None
    if not data.parts and pruned.sample_time is not None and pruned.n_samples and source["funcs"]:
        stacks, rows = line_stacks(p, listed_functions(p, payload, source))
        # the flame profile keeps the samples of p in order (grouping and pruning only rename rows)
        if rows is not None and p.n_samples == pruned.n_samples and \
                np.array_equal(p.sample_time, pruned.sample_time):
            lnode = rows[p.sample_stack]
        elif rows is not None:
            stacks = {"omitted": "the flame graph's samples differ from the profile's"}
    timeline = None if data.parts else timeline_data(pruned, lnode)
    del pruned  # peak memory on million-stack profiles: the pruned tree is done
    if stacks is not None and timeline is not None:
        source["stacks"] = stacks
    warnings = data.warnings
    report: dict[str, Any] = {
        "title": display_text(title, 300),
        "hotspots": [[hotspot_row(h, n) for h in hs] for hs, n in zip(data.hotspots, data.effective_samples)],
        "hotspotsExact": True,
        "meta": meta_rows(data),
        "reproKeys": list(REPRO_KEYS),
        "reportVersion": __version__,
        "busy": display_text(busy_text(data), 600),
        "warnings": [display_text(w, 300) for w in warnings[:50]],
        "warningCount": len(warnings),
        "pruneNote": prune_note(info, [st.name for st in p.sample_types]),
        "nSamples": p.n_samples,
        "effectiveSamples": [round(n, 3) for n in data.effective_samples],
        "rankable": data.rankable,
        "coverage": coverage(data),
        "totals": [float(x) for x in p.totals()],
        "memoryTypes": data.memory_types,
    }
    if data.parts:
        report["inputs"] = [input_section(d, p.sample_types) for d in data.parts]
    with_sites = [d for d in (data.parts or [data])
                  if d.allocation_sites is not None and len(d.allocation_sites)]
    if with_sites:
        sites = with_sites[0].allocation_sites
        report["alloc"] = {
            "allocType": sites.attrs.get("alloc_type"), "peakType": sites.attrs.get("peak_type"),
            "countType": sites.attrs.get("count_type"),
            "rows": [r for d in with_sites for r in alloc_rows(d)],
        }
        if data.alloc_graph_type is not None:  # the flame graph of the allocation section
            report["alloc"]["graphType"] = str(p.sample_types[data.alloc_graph_type])
        tl = data.memory_timeline
        if tl:
            report["alloc"]["timeline"] = {"time": tl.time, "value": tl.value, "unit": tl.unit}
    libs = libraries_json(data, [[hotspot_row(h, n) for h in hs] for hs, n in
                                 zip(data.hotspots_hidden or [], data.effective_samples)])
    if libs:
        report["libraries"] = libs
    report["source"] = source
    if timeline is not None:
        report["timeline"] = timeline
    if data.resources:
        report["resources"] = data.resources
    if data.memory:
        report["memory"] = data.memory
    return {"payload": payload, "report": report, "hasNotes": bool(notes_html)}


def default_title(data: ReportData) -> str:
    """Return ``flamekit report`` plus the recorded command, when there is one."""
    title = "flamekit report"
    if data.parts:
        return title + ": " + ", ".join(d.label or "" for d in data.parts)
    cmd = data.profile.meta.get("command")
    if cmd:
        title += ": " + (shlex.join(cmd) if isinstance(cmd, list) else str(cmd))
    return title


def render_report(data: ReportData, *, title: str | None = None, notes: str | None = None,
                  prune_fraction: float = DEFAULT_MIN_SHARE,
                  max_nodes: int = DEFAULT_MAX_NODES) -> str:
    """Return the HTML text of a report (deterministic for the same inputs).

    ``data`` comes from :func:`flamekit.analysis.report.report_data`; ``notes``
    is Markdown text (rendered and sanitized); ``prune_fraction`` (share of a
    thread's total kept whatever the budget; 0 keeps everything) and
    ``max_nodes`` (the detail budget) set the pruning (:func:`report_json`).
    """
    if title is None:
        title = default_title(data)
    notes_html = ""
    if notes:  # markdown-it and nh3 load only for a report with notes (~30 ms of start-up)
        from .notes import render_notes

        notes_html = render_notes(notes)
    doc = report_json(data, title=title, notes_html=notes_html, prune_fraction=prune_fraction,
                      max_nodes=max_nodes)
    approx = data.approximate
    return render_page("report.html.j2", title=title, data=doc, notes_html=Markup(notes_html),
                       approximate=display_text(approx, 500) if approx else "")


def write_report(data: ReportData, path: str | os.PathLike, *, title: str | None = None,
                 notes: str | None = None, prune_fraction: float = DEFAULT_MIN_SHARE,
                 max_nodes: int = DEFAULT_MAX_NODES) -> None:
    """Write a self-contained HTML report to ``path`` (``-``: stdout) atomically (see :func:`render_report`)."""
    write_output(path, render_report(data, title=title, notes=notes,
                                     prune_fraction=prune_fraction, max_nodes=max_nodes))
