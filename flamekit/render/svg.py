"""Static SVG flame graphs (pipeline stage: render), in the style of Brendan Gregg's flamegraph.pl.

One ``<g class="frame">`` per call-tree node holds a ``<title>`` tooltip
(name, location, value and share), a ``<rect>`` and a ``<text>`` label
(empty when the frame is too narrow for three characters). The graph is
``width`` pixels wide (1200 by default, like flamegraph.pl) so it embeds in a
README or a ticket; roots stand on an ``all`` frame at the bottom, siblings
are ordered by name, and each frame's width is its total over the profile's
total times the frame area's width. Frames narrower than ``min_width`` pixels
are left out and a note at the bottom says how many and how much they held.

The file holds no script and no external reference: tooltips are SVG
``<title>`` elements. Names and paths are untrusted text: control
characters, bidirectional overrides and zero-width marks are shown as
visible escapes (``\\u202e``), then everything is XML-escaped.
Colours are deterministic: a hash of the function name picks a shade in a
palette chosen by frame kind (warm for Python, aqua for native code, orange
for the kernel, green for JIT frames).
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from xml.sax.saxutils import escape as _xml_escape

import numpy as np

from ..atomic import write_output
from ..model import Frame, Profile, SampleType, call_tree, group
from ..tree import propagate_down
from .terminal import format_value, safe_text

#: Default width of the picture, in pixels (flamegraph.pl's default).
DEFAULT_WIDTH = 1200
#: Frames narrower than this many pixels are left out (flamegraph.pl's default).
DEFAULT_MIN_WIDTH = 0.1
FRAME_HEIGHT = 16
FONT_SIZE = 12
#: Average glyph width as a fraction of the font size (flamegraph.pl's estimate for Verdana).
FONT_WIDTH = 0.59
X_PAD = 10
HEADER = 56
FOOTER = 34


@dataclass
class SvgLayout:
    """Where each kept call-tree node is drawn.

    ``node`` are stack rows of the grouped profile, ``x`` and ``width`` in
    pixels from the left edge of the frame area, ``depth`` 0 for roots (the
    ``all`` frame is not included). ``pruned_nodes``/``pruned_value`` count
    what was left out for being narrower than the minimum width.
    """

    profile: Profile
    sample_type: SampleType
    grand_total: float
    area_width: float
    node: np.ndarray
    x: np.ndarray
    width: np.ndarray
    depth: np.ndarray
    total: np.ndarray
    pruned_nodes: int
    pruned_value: float


def layout(profile: Profile, sample_type: str | int | SampleType | None = None, *,
           width: int = DEFAULT_WIDTH, min_width: float = DEFAULT_MIN_WIDTH,
           by: str = "function") -> SvgLayout:
    """Compute the flame graph geometry of ``profile`` (all threads merged).

    Frames are grouped by ``by`` (``function`` or ``line``); a node's width is
    ``total / grand_total * (width - 2 * X_PAD)``. Siblings are ordered by
    name then file, left to right; a parent's self time is the space right of
    its children.
    """
    p = group(profile, by)
    tree = call_tree(p, sample_type)
    area = float(width - 2 * X_PAD)
    grand = float(tree.grand_total)
    total = np.maximum(tree.total, 0.0)
    n = len(total)
    if n == 0 or grand <= 0:
        e = np.zeros(0, dtype=np.int64)
        return SvgLayout(p, tree.sample_type, max(grand, 0.0), area, e, np.zeros(0), np.zeros(0),
                         e, np.zeros(0), 0, 0.0)
    scale = area / grand
    keep = total * scale >= min_width
    prefix = tree.prefix
    parent_kept = np.ones(n, dtype=bool)
    has_parent = prefix >= 0
    parent_kept[has_parent] = keep[prefix[has_parent]]
    cut = ~keep & parent_kept  # topmost left-out rows: what the note reports
    # order siblings by (parent, name, file) and lay them out left to right
    names = sorted({(f.name, f.file) for f in p.frames})
    rank_of = {k: i for i, k in enumerate(names)}
    frame_rank = np.array([rank_of[(f.name, f.file)] for f in p.frames], dtype=np.int64)
    rank = frame_rank[tree.frame] if n else np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(n), rank, prefix))
    tot_o = total[order]
    cs = np.cumsum(tot_o) - tot_o
    start = np.ones(n, dtype=bool)
    start[1:] = prefix[order][1:] != prefix[order][:-1]
    base = np.maximum.accumulate(np.where(start, cs, -np.inf))
    offset = np.empty(n)
    offset[order] = cs - base
    x = propagate_down(prefix, offset, tree.depth)  # a node's left edge: its offset plus its parent's
    depth = tree.depth - 1  # roots at 0
    nodes = np.nonzero(keep)[0]
    return SvgLayout(p, tree.sample_type, grand, area, nodes, x[nodes] * scale,
                     total[nodes] * scale, depth[nodes], total[nodes],
                     int((~keep).sum()), float(total[cut].sum()))


#: Characters XML 1.0 cannot hold at all (lone surrogates, U+FFFE, U+FFFF).
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def display_name(s: str) -> str:
    """Return untrusted text as one visible line: controls, bidi overrides and non-XML code points escaped."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group(0)):04x}", safe_text(s, None))


def _text(s: str) -> str:
    """Return untrusted text as safe XML character data (visible escapes, then XML escapes)."""
    return _xml_escape(display_name(s), {'"': "&quot;", "'": "&#39;"})


def colour(frame: Frame) -> str:
    """Return a deterministic ``rgb(...)`` fill for a frame: palette by kind, shade by name."""
    h = zlib.crc32(frame.name.encode("utf-8", "surrogatepass"))
    v1, v2, v3 = (h & 0xFF) / 255, ((h >> 8) & 0xFF) / 255, ((h >> 16) & 0xFF) / 255
    if frame.kind == "native":
        r, g, b = 50 + 60 * v1, 165 + 55 * v2, 165 + 55 * v2
    elif frame.kind == "kernel":
        r, g, b = 200 + 55 * v1, 110 + 50 * v2, 0 + 30 * v3
    elif frame.kind == "jit":
        r, g, b = 50 + 60 * v1, 180 + 60 * v2, 50 + 60 * v3
    else:  # flamegraph.pl's "hot" palette
        r, g, b = 205 + 50 * v3, 230 * v1, 55 * v2
    return f"rgb({int(r)},{int(g)},{int(b)})"


def _fit_label(label: str, width: float) -> str:
    """Return the part of ``label`` that fits ``width`` pixels ('' under three characters)."""
    chars = int(width / (FONT_SIZE * FONT_WIDTH))
    if chars < 3:
        return ""
    if len(label) <= chars:
        return label
    return label[:chars - 2] + ".."


def _first_lines(profile: Profile) -> dict[tuple[str, str], int]:
    """Return the smallest known line number per function ``(name, file)``."""
    lines: dict[tuple[str, str], int] = {}
    for f in profile.frames:
        if f.line > 0:
            k = (f.name, f.file)
            if f.line < lines.get(k, 1 << 62):
                lines[k] = f.line
    return lines


def render_svg(profile: Profile, sample_type: str | int | SampleType | None = None, *,
               title: str | None = None, width: int = DEFAULT_WIDTH,
               min_width: float = DEFAULT_MIN_WIDTH, by: str = "function") -> str:
    """Return a static SVG flame graph of ``profile`` (see the module docstring).

    ``title`` defaults to "Flame graph" plus the profile's command; ``width``
    is in pixels; ``min_width`` (pixels) is the narrowest frame drawn.
    """
    lay = layout(profile, sample_type, width=width, min_width=min_width, by=by)
    p, st = lay.profile, lay.sample_type
    lines = _first_lines(profile) if by == "function" else {}
    if title is None:
        title = "Flame graph"
        cmd = profile.meta.get("command")
        if cmd:
            title += ": " + (" ".join(map(str, cmd)) if isinstance(cmd, list) else str(cmd))
    tool = profile.meta.get("tool")
    sub = [f"{st}", f"total {_amount(lay.grand_total, st)}"]
    if p.n_samples and st.unit not in ("count", "samples"):
        sub.append(f"{p.n_samples:,} samples")
    if isinstance(profile.meta.get("approximate"), str):
        sub.append("approximate call tree")
    if tool:
        ver = profile.meta.get("tool_version")
        sub.append(f"recorded with {tool}{' ' + str(ver) if ver else ''}")
    max_depth = int(lay.depth.max()) + 1 if len(lay.depth) else 0
    rows = max_depth + 1  # plus the "all" frame
    height = HEADER + rows * FRAME_HEIGHT + FOOTER
    base_y = HEADER + max_depth * FRAME_HEIGHT  # top of the "all" frame
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Verdana, sans-serif" font-size="{FONT_SIZE}">',
        "<style>.frame text{fill:#000;pointer-events:none}.frame:hover rect{stroke:#000;stroke-width:0.5}"
        "</style>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f8f8f2"/>',
        f'<text class="title" x="{width / 2:.1f}" y="22" text-anchor="middle" font-size="17">'
        f"{_text(_clip(title, 160))}</text>",
        f'<text class="subtitle" x="{width / 2:.1f}" y="42" text-anchor="middle" fill="#555">'
        f"{_text(' · '.join(sub))}</text>",
    ]
    grand = lay.grand_total
    unit = st.unit
    all_label = f"all ({_amount(grand, st)}, 100%)"
    out.append(_frame(all_label, f"all\n{_amount(grand, st)} (100.00%)",
                      X_PAD, base_y, lay.area_width, "rgb(250,200,180)"))
    frames = p.frames
    fr = p.stack_frame
    for node, x, w, d, tot in zip(lay.node.tolist(), lay.x.tolist(), lay.width.tolist(),
                                  lay.depth.tolist(), lay.total.tolist()):
        f = frames[int(fr[node])]
        line = f.line or lines.get((f.name, f.file), 0)
        loc = f"{f.file}:{line}" if f.file and line else (f.file or f.module or f.kind)
        share = tot / grand * 100
        tip = f"{_clip(f.name, 1000)}\n{_clip(loc, 1000)}\n{_amount(tot, st)} ({share:.2f}%)"
        out.append(_frame(f.name, tip, X_PAD + x, base_y - (d + 1) * FRAME_HEIGHT, w, colour(f)))
    note = ""
    if lay.pruned_nodes:
        note = (f"{lay.pruned_nodes:,} frames narrower than {min_width:g} px not drawn "
                f"({_amount(lay.pruned_value, st)}, {lay.pruned_value / grand * 100:.2f}% of the total)")
    elif not grand:
        note = "no samples"
    if note:
        out.append(f'<text class="note" x="{X_PAD}" y="{height - 12}" fill="#555">{_text(note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _amount(v: float, st: SampleType) -> str:
    """Return ``v`` with its unit once (``1.2 s``, ``3.0 MiB``, ``1,234 samples``)."""
    text = format_value(v, st.unit)
    if text[-1:].isalpha():
        return text
    return f"{text} {st.name if st.unit == 'count' else st.unit}"


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[:n - 1] + "\u2026"


def _frame(label: str, tip: str, x: float, y: float, w: float, fill: str) -> str:
    """Return one frame: a group with its tooltip, rectangle and (fitted) label."""
    shown = _fit_label(display_name(label), w)
    return (f'<g class="frame"><title>{_text_lines(tip)}</title>'
            f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{FRAME_HEIGHT - 1}" fill="{fill}" rx="2"/>'
            f'<text x="{x + 3:.2f}" y="{y + FRAME_HEIGHT - 4.5}">'
            f'{_xml_escape(shown, {chr(34): "&quot;"})}</text></g>')


def _text_lines(tip: str) -> str:
    """Escape a multi-line tooltip line by line (newlines stay real line breaks)."""
    return "\n".join(_text(part) for part in tip.split("\n"))


def write_svg(profile: Profile, path: str, sample_type: str | int | SampleType | None = None,
              **options) -> None:
    """Write :func:`render_svg` of ``profile`` to ``path`` atomically (``-`` for standard output)."""
    write_output(path, render_svg(profile, sample_type, **options))
