"""``flamekit info`` (pipeline stage: cli): what a profile file holds."""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from typing import Any

from .. import formats
from ..analysis.summary import ordered_meta, summarize
from ..render.coverage import coverage_text
from ..render.terminal import Table, format_value, print_sections, print_table

NAME = "info"
HELP = "show a profile's format, sample types, totals, threads and metadata"
DESCRIPTION = """\
flamekit info - describe a profile file.

Prints the detected format, every sample type with its total, the numbers of
samples, stacks and frames, the threads with their own totals, the time range
of timed samples, the recording's metadata (tool, command, pid, host, start
time, duration, rate, Python version, lost samples...), import warnings and
extra tables. --json prints the same facts as one JSON object.

USAGE: flamekit info PROFILE [--json]
"""
EPILOG = """\
examples:
  flamekit info backtest.json
  flamekit info out.perf.gz --json | python -m json.tool
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    p.add_argument("profile", metavar="PROFILE", help="profile file (any readable format)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--from", metavar="FORMAT", dest="from_format",
                   help="input format, skipping detection")


def run(args: argparse.Namespace) -> int:
    """Load the profile and print its summary."""
    profile, fmt = formats.load_with_format(args.profile, args.from_format)
    s = summarize(profile, fmt=fmt, source=args.profile)
    if args.json:
        json.dump(s, sys.stdout, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False,
                  default=str)
        sys.stdout.write("\n")
        return 0
    print_sections(_sections(s))
    if len(s["threads"]) > 1 or (s["threads"] and (s["threads"][0]["name"]
                                                     or s["threads"][0]["id"])):
        sys.stdout.write("\n")
        print_table(_thread_table(s))
    return 0


def _sections(s: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    prof = [("file", s.get("file", "")),
            ("size", format_value(s["bytes"], "bytes") if s.get("bytes") is not None else "?"),
            ("format", s["format"] or "?"),
            ("samples", f"{s['samples']:,}"),
            ("stacks", f"{s['stacks']:,} (max depth {s['max_depth']})"),
            ("frames", f"{s['frames']:,} ({s['functions']:,} functions)"),
            ("threads", f"{len(s['threads']):,}")]
    covered = coverage_text(s["meta"])
    if covered:
        prof.append(("time", covered))
    t = s["time"]
    if t:
        prof.append(("time range", f"{t['start']:.6f} .. {t['end']:.6f} s "
                                   f"(span {format_value(t['span'], 'seconds')})"))
    types = [(f"{st['name']}/{st['unit']}", _total(st["total"], st["unit"]))
             for st in s["sample_types"]]
    meta = [(k, _meta_value(k, v)) for k, v in ordered_meta(s["meta"])]
    w = s["warnings"]
    warns: list[tuple[str, str]] = []
    if w["count"]:
        warns.append(("count", f"{w['count']:,}"))
        warns.extend((f"#{i + 1}", str(x)) for i, x in enumerate(w["first"]))
    tables = [(name, f"{rows:,} rows") for name, rows in s["tables"].items()]
    return [("profile", prof), ("sample types (total)", types), ("metadata", meta),
            ("warnings", warns), ("tables", tables)]


def _total(x: float, unit: str) -> str:
    """Return ``1,234 unit``, plus a human form (``(1.23 s)``) when that says it shorter."""
    human = format_value(x, unit)
    plain = format_value(x)
    if human == plain:
        return plain  # the unit is in the label already
    if unit in ("seconds", "s", "bytes"):
        return human
    return f"{plain} {unit} ({human})"


def _meta_value(key: str, v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, list) and all(isinstance(x, str) for x in v) and key in ("command", "argv",
                                                                             "cmdline", "cmd"):
        return " ".join(v)
    if key in ("start_time", "started", "start") and isinstance(v, (int, float)) and v > 1e8:
        try:
            return _dt.datetime.fromtimestamp(float(v), _dt.timezone.utc).isoformat() + f" ({v})"
        except (OverflowError, OSError, ValueError):
            pass
    if isinstance(v, (int, float)) and not isinstance(v, bool) and key.endswith("_bytes"):
        return format_value(v, "bytes") + (" (maximum)" if key.startswith("peak") else "")
    if isinstance(v, float):
        if any(w in key for w in ("duration", "elapsed")) or key.endswith(("_sec", "_s")):
            return format_value(v, "seconds") + f" ({v:.6g})"
        return f"{v:.6g}"
    text = json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def _thread_table(s: dict[str, Any]) -> Table:
    units = [(st["name"], st["unit"]) for st in s["sample_types"]]
    cols = ["#", "tid", "pid", "name", "samples"] + [f"{n}/{u}" for n, u in units]
    rows = []
    for t in s["threads"]:
        rows.append([str(t["index"]), str(t["id"]), "" if t["pid"] is None else str(t["pid"]),
                     t["name"], f"{t['samples']:,}"]
                    + [format_value(v, u) for v, (_, u) in zip(t["totals"], units)])
    right = frozenset({0, 1, 2, 4} | set(range(5, 5 + len(units))))
    return Table(cols, rows, right=right, title="threads")
