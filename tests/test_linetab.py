"""The optional compiled tokenizer (``flamekit.formats._linetab``) and its pure-Python twin.

Both are run over every file of the shared corpus (whole lines, and ``;`` tokens) and
must give the same ids, line lengths and new tokens; then every perf-script file of the
corpus is loaded with each and the profiles must be equal. When the extension is not
built in this checkout (a venv installed before it existed) the test builds it in a
temporary folder with setuptools; only on a machine without a C compiler does it run
the pure-Python twin alone (that is what such an install uses).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flamekit import formats
from flamekit.formats import _lines, _perf_parser, perf_script
from flamekit.version import tokenizer

from conftest import require_corpus


@pytest.fixture(scope="module")
def compiled(linetab_module):
    """The compiled LineTable class; None only when no C compiler is installed."""
    return None if linetab_module is None else linetab_module.LineTable


def corpus_files() -> list[Path]:
    return sorted(p for p in require_corpus().rglob("*") if p.is_file())


def _is_perf(f: Path) -> bool:
    try:
        return formats.detect(f).name == "perf-script"
    except Exception:  # not a profile at all (README, MANIFEST, hostile bytes)
        return False


def test_version_names_the_tokenizer_in_use():
    assert tokenizer() == ("compiled" if _lines.ACCELERATED else "pure-Python")


def test_both_tables_give_identical_ids_over_the_corpus(compiled):
    if compiled is None:  # no C compiler here: only the twin exists; check it against split()
        compiled = _lines.PyLineTable
    files = corpus_files()
    assert len(files) > 100
    for sep in (-1, ord(";")):
        c, py = compiled(), _lines.PyLineTable()
        seen: dict[bytes, int] = {}
        for f in files:
            data = f.read_bytes()
            for k in range(0, max(len(data), 1), 1 << 16):  # several calls share one table
                piece = data[k:k + (1 << 16)]
                got = c.intern(memoryview(piece), sep)
                assert got == py.intern(piece, sep), (f, k, sep)
                # ground truth: bytes.split, ids in order of first appearance
                toks = piece.split(b"\n") if sep < 0 else \
                    [t for line in piece.split(b"\n") for t in line.split(b";")]
                want = [seen.setdefault(t, len(seen)) for t in toks]
                assert np.frombuffer(got[0], dtype=np.int32).tolist() == want, (f, k)
        assert len(c) == len(py) == len(seen)
        c.clear()
        assert len(c) == 0 and c.intern(b"a\na")[0] == np.array([0, 0], np.int32).tobytes()


def test_perf_profiles_are_identical_with_either_tokenizer(compiled, monkeypatch):
    perf = [f for f in corpus_files() if _is_perf(f)]
    assert len(perf) >= 10
    for f in perf:
        results = []
        for table in (compiled or _lines.PyLineTable, _lines.PyLineTable):
            monkeypatch.setattr(_perf_parser, "LineTable", table)
            try:
                p = perf_script.load(f)
            except Exception as e:  # a refused file must be refused the same way
                results.append(("error", type(e).__name__, str(e)))
                continue
            results.append((p.frames, p.stack_prefix.tolist(), p.stack_frame.tolist(),
                            p.sample_stack.tolist(), p.sample_thread.tolist(), p.values.tolist(),
                            None if p.sample_time is None else p.sample_time.tolist(),
                            p.sample_types, p.threads, repr(p.meta)))
        assert results[0] == results[1], f
