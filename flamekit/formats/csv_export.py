"""CSV exporter for spreadsheets and pandas (pipeline stage: formats; export only).

Two layouts (RFC 4180: comma separated, ``"`` quoting, CRLF-free ``\\n`` rows,
UTF-8 without BOM, a header row):

* ``rows="stacks"`` (the default, what ``flamekit convert --to csv`` writes):
  one row per (thread, stack), values summed over samples. Columns:
  ``thread_id, thread_name, pid, depth, leaf, stack`` then one column per sample
  type named ``<type>/<unit>``. ``stack`` holds the frame labels
  (``name (file:line)``, or ``name`` when there is no file) root first,
  joined by ``;``; a ``;`` or ``\\`` inside a name is written as ``\\;`` /
  ``\\\\``, so ``stack.split(";")`` is exact when no name has one.
* ``rows="functions"``: one row per function (name, file, module, kind), with
  ``self_<type>/<unit>`` and ``total_<type>/<unit>`` columns per sample type
  (recursion counted once in total, as in :func:`flamekit.model.functions`),
  sorted by the first self column, descending.

``sample_type`` limits either layout to one value column. Integral values are
written without a decimal point. Function names, thread names and sample-type
names are untrusted: by default a text cell (header row included) that starts
with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a leading ``'`` so a spreadsheet
never evaluates it as a formula (OWASP "CSV injection"); ``raw=True``
(``--csv-raw``) writes text exactly, for pandas. Numbers are never changed.

There is no ``sniff``/``load``: CSV is never detected as an input.
"""
from __future__ import annotations

import csv
import io
from typing import BinaryIO

import numpy as np

from ..model import Profile, functions
from ._format import Format
from ..numfmt import format_number

NAME = "csv"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Number(str):
    """A number already formatted (``format_number``): never defused (``-3`` stays ``-3``)."""


def _num(x: float) -> _Number:
    return _Number(format_number(x))


def defuse(cell: object) -> object:
    """Neutralize a spreadsheet formula in an untrusted text cell (OWASP); other values unchanged."""
    if isinstance(cell, str) and not isinstance(cell, _Number) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def _writer(buf: io.StringIO, raw: bool) -> "_Rows":
    """A csv writer for ``buf``: text cells defused unless ``raw``, a lone CR always quoted."""
    return _Rows(buf, raw)


class _Rows:
    """Rows to CSV. Python's writer quotes only the characters of its line terminator
    (``\n`` here), so a cell holding a CR would split the row for every other reader
    (and undo the defusing); such a row is written with every field quoted."""

    def __init__(self, buf: io.StringIO, raw: bool) -> None:
        self._min = csv.writer(buf, lineterminator="\n")
        self._all = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
        self._raw = raw

    def writerow(self, row: list) -> None:
        cells = row if self._raw else [defuse(c) for c in row]
        cr = any(isinstance(c, str) and "\r" in c for c in cells)
        (self._all if cr else self._min).writerow(cells)


def _esc_frame(name: str) -> str:
    return name.replace("\\", "\\\\").replace(";", "\\;")


def dump(profile: Profile, f: BinaryIO, *, sample_type: str | int | None = None,
         rows: str = "stacks", raw: bool = False) -> None:
    """Write ``profile`` as CSV, one row per stack (default) or per function (``rows``).

    Text cells are defused against formula injection unless ``raw``.
    """
    p = profile
    cols = list(range(len(p.sample_types))) if sample_type is None \
        else [p.type_index(sample_type)]
    buf = io.StringIO(newline="")
    w = _writer(buf, raw)
    if rows == "stacks":
        _stacks(p, cols, w)
    elif rows == "functions":
        _functions(p, cols, w)
    else:
        raise ValueError(f"rows must be 'stacks' or 'functions', not {rows!r}")
    f.write(buf.getvalue().encode("utf-8", errors="replace"))


def _stacks(p: Profile, cols: list[int], w) -> None:
    w.writerow(["thread_id", "thread_name", "pid", "depth", "leaf", "stack"]
               + [str(p.sample_types[k]) for k in cols])
    if not p.n_samples:
        return
    nt = max(len(p.threads), 1)
    key = p.sample_stack * nt + p.sample_thread
    uniq, inv = np.unique(key, return_inverse=True)
    sums = np.zeros((len(uniq), len(cols)))
    np.add.at(sums, inv.reshape(-1), p.values[:, cols])
    first = np.full(len(uniq), len(key), dtype=np.int64)
    np.minimum.at(first, inv.reshape(-1), np.arange(len(key)))
    for r in np.argsort(first, kind="stable"):  # first-appearance order
        stack, th = divmod(int(uniq[r]), nt)
        t = p.threads[th]
        fids = p.stack_frames(stack)
        names = [p.frames[i].label() for i in fids]
        w.writerow([t.id, t.name, "" if t.pid is None else t.pid, len(fids),
                    names[-1], ";".join(_esc_frame(n) for n in names)]
                   + [_num(v) for v in sums[r]])


def _functions(p: Profile, cols: list[int], w) -> None:

    keys = ["name", "file", "module", "kind"]
    merged = None
    for k in cols:
        st = str(p.sample_types[k])
        df = functions(p, k)[keys + ["self", "total"]]
        df = df.groupby(keys, sort=False, as_index=False)[["self", "total"]].sum()
        df = df.rename(columns={"self": f"self_{st}", "total": f"total_{st}"})
        merged = df if merged is None else merged.merge(df, on=keys, how="outer")
    header = keys + [f"{pre}_{p.sample_types[k]}" for k in cols for pre in ("self", "total")]
    w.writerow(header)
    if merged is None or not len(merged):
        return
    merged = merged.fillna(0.0)
    merged = merged.sort_values([header[4], "name", "file"], ascending=[False, True, True],
                                kind="mergesort")
    for row in merged[header].itertuples(index=False):
        w.writerow([str(x) for x in row[:4]] + [_num(x) for x in row[4:]])


#: This module's entry in the format registry (see :mod:`flamekit.formats`).
FORMAT = Format(
    NAME,
    extensions=(".csv",),
    dump=dump,
)
