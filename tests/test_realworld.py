"""Real-world conformance: every file of ../shared/corpus/realworld (MANIFEST.tsv) imports or is rejected.

Files are read in place. Each folder maps to the format that must detect it by
content; folders of formats flamekit does not read (legacy pprof,
``other``) and the documented invalid files must be rejected with a
:class:`FormatError` (never another exception, never a wrapped unexpected one).
Every mapped format module must exist (a missing one fails, never skips).
"""
from __future__ import annotations

import importlib.util
import math
import re

import pytest

from conftest import CORPUS, FETCH_HINT, realworld_manifest, require_corpus
from flamekit.errors import FormatError
from flamekit.formats import load_with_format

REALWORLD = CORPUS / "realworld"

#: folder -> (module in flamekit.formats, format NAME expected from detection)
FOLDERS = {
    "folded": ("folded", "folded"),
    "speedscope": ("speedscope", "speedscope"),
    "perf-script": ("perf_script", "perf-script"),
    "scalene": ("scalene_json", "scalene"),
    "pprof": ("pprof", "pprof"),
    "chrome-cpuprofile": ("chrome", "chrome"),
    "chrome-trace": ("chrome", "chrome"),
    "austin": ("austin", "austin"),
    "pstats": ("pstats", "pstats"),
    "pprof-legacy": (None, None),
    "other": (None, None),
}

#: documented invalid / unsupported files inside readable folders -> must be rejected
REJECT = {
    "speedscope/speedscope__invalid-incomplete-trace.json",   # O events never closed
    "speedscope/speedscope__invalid-out-of-order-events.json",  # C not on top of stack
    "pprof/pprof__fuzz-crasher-7e3c9248",       # legacy heapz text; go tool pprof rejects it
    "pprof/pprof__fuzz-corpus-cppbench.cpu.pb",  # legacy C++ binary CPU profile despite .pb
    "pstats/gprof2dot__cProfile-py2-2007.pstats",  # Python 2 marshal: Py3's marshal refuses it too
}

#: files of the ``other`` folder that a format does read -> (module, format NAME)
OTHER = {"other/speedscope__firefox61-recursion.json": ("gecko", "gecko")}

#: trace-event edge cases: speedscope repairs them with warnings; a clear error is also fine
EITHER = {f"chrome-trace/speedscope-te__{n}.json" for n in (
    "end-event-with-empty-stack", "end-non-top-of-stack", "invalid-x-nesting", "mismatched-args",
    "mismatched-name", "not-enough-end-events", "only-begin-events",
    "out-of-order-unbalanced-name", "too-many-end-events", "unbalanced-args", "unbalanced-name")}
EITHER |= {"chrome-trace/speedscope__chrome141-no-arg-data.json"}  # events lack args.data


ROWS = realworld_manifest()  # MANIFEST.tsv's facts, committed in .ci/corpus.tsv


def test_corpus_present():
    """Fail loudly (not skip) when the corpus is missing."""
    require_corpus("realworld")
    assert ROWS, "no realworld rows in .ci/corpus.tsv"
    folders = {r["path"].split("/")[0] for r in ROWS}
    assert folders <= set(FOLDERS), f"unmapped corpus folders: {folders - set(FOLDERS)}"


def _has_module(mod: str) -> bool:
    return importlib.util.find_spec(f"flamekit.formats.{mod}") is not None


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["path"])
def test_realworld_file(row):
    rel = row["path"]
    folder = rel.split("/")[0]
    mod, fmt = OTHER.get(rel, FOLDERS[folder])
    path = REALWORLD / rel
    assert path.is_file(), f"the manifest lists a missing file: {path} (run {FETCH_HINT})"
    assert mod is None or _has_module(mod), f"flamekit.formats.{mod} is missing"
    must_reject = mod is None or rel in REJECT
    try:
        p, got = load_with_format(path)
    except FormatError as e:
        assert not getattr(e, "unexpected", False), f"unexpected exception wrapped: {e!r} <- {e.__cause__!r}"
        assert str(path) in str(e), f"error does not name the file: {e}"
        if must_reject or rel in EITHER:
            return
        pytest.fail(f"{rel} should import as {fmt}: {e}")
    assert not must_reject, f"{rel} must be rejected with a FormatError, but imported as {got}"
    assert got == fmt, f"{rel}: detected as {got}, expected {fmt}"
    p.check()
    assert all(math.isfinite(x) for x in p.totals())
    assert p.n_samples > 0 or rel in EITHER, f"{rel}: imported with no samples"
    if folder == "folded":  # MANIFEST gives the exact total of every folded file
        m = re.search(r"total=(\d+)", row["description"])
        assert m and p.totals().tolist() == [float(m.group(1))]
        n_bad = re.search(r"(\d+) unparseable lines", row["description"])
        if n_bad:
            assert f"skipped {n_bad.group(1)} line(s)" in p.meta["warnings"][0]
