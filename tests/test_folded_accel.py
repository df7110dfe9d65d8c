"""The folded reader's compiled path (``LineTable.folded`` + ``paths_tree``) against its twins.

Every folded file is read twice, with the compiled LineTable and with the pure-Python
twin, and the paths (frames, frame ids, lengths, counts, threads, warnings) and the
profiles must be equal: the compiled profile is built with ``paths_tree``, the twin's
with :func:`flamekit.tree.from_paths`. Inputs: every file of the shared corpus and of
tests/data (hostile bytes included: a refused file must be refused with the same
message), the benchmark generator's folded stacks, and generated edge cases (blank and
count-less lines, decimals, counts past 2**53 and past float64, tabs and trailing
blanks, py-spy thread/process root frames anywhere, invalid UTF-8, CRLF and CR,
lines cut by the block size), each with its ground truth summed independently here.
"""
from __future__ import annotations

import importlib.util
import random
from functools import partial
import re
from pathlib import Path

import numpy as np
import pytest

from flamekit import formats
from flamekit.formats import _folded_read, _lines, folded
from flamekit.model.builder import StackPaths
from flamekit.tree import LOOP_DEPTH, from_paths

from conftest import require_corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compiled(linetab_module):
    """The compiled extension module; without a C compiler the test fails naming the step."""
    if linetab_module is None:
        pytest.fail("no C compiler: install one (apt-get install gcc) so the compiled folded "
                    "reader can be compared with its pure-Python twin")
    return linetab_module


def _paths_key(sp: StackPaths) -> tuple:
    return (sp.frames, sp.flat.dtype.str, sp.flat.tolist(), sp.lengths.tolist(),
            sp.values.tolist(), None if sp.thread is None else sp.thread.tolist(), sp.threads,
            repr(sp.meta))


def _profile_key(p) -> tuple:
    return (p.frames, p.stack_prefix.tolist(), p.stack_frame.tolist(), p.sample_stack.tolist(),
            p.sample_thread.tolist(), p.values.tolist(), p.sample_types, p.threads, repr(p.meta))


def _both(path: Path, compiled) -> tuple:
    """Read ``path`` with each table; return (compiled result, twin result)."""
    out = []
    for table, tree in ((compiled.LineTable, True), (_lines.PyLineTable, False)):
        try:
            sp = _folded_read.load_paths(path, chunk=folded.CHUNK, table=table)
            key = _paths_key(sp)
            if tree and sp.n_paths:  # the compiled stack table, as folded.load builds it
                prof = sp.to_profile(tree=partial(_folded_read.stack_table,
                                                  paths_tree=compiled.paths_tree))
            else:
                prof = sp.to_profile()
            out.append((key, _profile_key(prof)))
        except Exception as e:  # a refused file must be refused the same way
            out.append(("error", type(e).__name__, str(e)))
    return out[0], out[1]


def _folded_files() -> list[Path]:
    files = []
    for root in (require_corpus(), ROOT / "tests" / "data"):
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.stat().st_size < 20_000_000:
                files.append(p)
    return files


def test_every_corpus_file_reads_the_same_with_both_paths(compiled):
    files = _folded_files()
    n_folded = 0
    for f in files:  # every file: folded ones, and the ones the reader refuses or skips
        c, py = _both(f, compiled)
        assert c == py, f
        try:
            n_folded += formats.detect(f).name == "folded"
        except Exception:  # not a profile at all
            pass
    assert n_folded >= 20, n_folded


def _gen_corpus():
    spec = importlib.util.spec_from_file_location("gen_corpus", ROOT / "benchmarks" / "gen_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("chunk", [1 << 23, 4099])
def test_benchmark_corpus_reads_the_same(compiled, tmp_path, monkeypatch, chunk):
    """The benchmark generator's folded stacks (depth 20-60, py-spy frames), 3000 lines."""
    path = tmp_path / "folded-3k.txt"
    info = _gen_corpus().write_folded(str(path), 3000, 7)
    monkeypatch.setattr(folded, "CHUNK", chunk)  # small blocks: many lines cut in two
    c, py = _both(path, compiled)
    assert c == py
    (paths, prof) = c
    # ground truth from the generator and from the text itself
    assert len(paths[3]) == info["unique_stacks"] == 3000
    assert sum(v[0] for v in paths[4]) == info["total_samples"]
    lines = path.read_bytes().split(b"\n")[:-1]
    assert paths[3] == [ln.rpartition(b" ")[0].count(b";") + 1 for ln in lines]
    assert len(prof[3]) == 3000  # unique stacks: one sample row each


_TOKENS = [b"main", b"a (x.py:1)", b"b (y.py)", b"thread (12)", b"thread (0x1f): w",
           b'process 7:"cmd"', b"thread (zz)", b"process x", b"", b"k_[k]", b"q \xff\xfe",
           b"c (f:01)", b"c (f:1)", b"d\\x3bq", b" sp ", b"\t", b"\xc3\xa9t\xc3\xa9 (\xe2\x82\xac.py:3)"]
_COUNTS = [b"1", b"22", b"0", b"1.5", b"007", b"1234567890123456", b"9" * 20, b"1e3", b"x", b"",
           b"3 ", b"4\t", b"1.", b".5", b"12345678901234567890.25", b"0.1", b"3 \t "]


def _line(rng: random.Random, markers: bool) -> bytes:
    r = rng.random()
    if r < 0.06:
        return rng.choice([b"", b"  ", b"# comment", b"\t\x0b", b"no count", b"a;b"])
    toks = [rng.choice(_TOKENS) for _ in range(rng.randint(1, 6))]
    if not markers:
        toks = [t for t in toks if not t.startswith((b"thread", b"process"))] or [b"m"]
    sep = rng.choice([b" ", b" ", b" ", b"\t", b"  "])
    c = rng.choice(_COUNTS) if rng.random() < 0.3 else str(rng.randint(0, 100)).encode()
    return b";".join(toks) + sep + c


_COUNT_RX = re.compile(rb"^(.*)[ \t]([0-9]+(?:\.[0-9]+)?)[ \t]*$", re.S)


def _truth(lines: list[bytes]) -> tuple[float, int, int]:
    """(sum of counts, lines with a count, lines skipped) by the documented grammar."""
    total, taken, skipped = 0.0, 0, 0
    for ln in lines:
        m = _COUNT_RX.match(ln)
        if m:
            total += float(m.group(2))
            taken += 1
        elif ln.strip():
            skipped += 1
    return total, taken, skipped


@pytest.mark.parametrize("seed", range(6))
def test_generated_edge_cases_read_the_same(compiled, tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    for k in range(60):
        markers = seed % 2 == 1
        lines = [_line(rng, markers) for _ in range(rng.randint(0, 30))]
        eol = rng.choice([b"\n", b"\n", b"\r\n", b"\r"])
        data = eol.join(lines) + (eol if rng.random() < 0.5 else b"")
        if rng.random() < 0.1:
            data = b"\xef\xbb\xbf" + data
        path = tmp_path / f"e{seed}-{k}.folded"
        path.write_bytes(data)
        monkeypatch.setattr(folded, "CHUNK", rng.choice([3, 7, 64, 1 << 23]))
        c, py = _both(path, compiled)
        assert c == py, data
        total, taken, skipped = _truth(lines)
        if c[0] == "error":  # only a count past float64 is refused
            assert "float64" in c[2], c
            continue
        paths = c[0]
        assert sum(v[0] for v in paths[4]) == pytest.approx(total), (k, data[:200], paths[3])
        assert len(paths[3]) == taken
        warn = folded.load_paths(path).meta.get("warnings", [])
        assert bool(warn) == bool(skipped)
        if skipped:
            assert f"skipped {skipped} line(s)" in warn[0]


def test_huge_counts_refused_with_the_line_number(compiled, tmp_path):
    for bad, what in ((b"9" * 400, "400 digits"), (b"9" * 320 + b".5", "too large")):
        path = tmp_path / "huge.folded"
        path.write_bytes(b"main;a 1\n\nmain;b 2\nmain;c " + bad + b"\nmain;d 3\n")
        c, py = _both(path, compiled)
        assert c == py and c[0] == "error", c
        assert "line 4" in c[2] and what in c[2], c[2]


def test_markers_reach_the_line_handler_and_keep_frame_order(compiled, tmp_path):
    """A py-spy root frame stops the compiled loop before its line; the frames keep the
    reader's order (a marker in a deep position becomes a frame once its line is read)."""
    data = (b"a;b 1\n"
            b"new1;thread (5);new2 2\n"                   # marker not at the root: a frame
            b'process 9:"x";thread (7): w;c;new3 3\n'     # real root markers
            b"new4;b 4\n")
    path = tmp_path / "m.folded"
    path.write_bytes(data)
    c, py = _both(path, compiled)
    assert c == py
    p = folded.load(path)
    assert [f.name for f in p.frames] == ["a", "b", "new1", "new2", "thread (5)", "c", "new3",
                                          "new4"]
    assert [(t.id, t.name, t.pid) for t in p.threads] == [(0, "", None), (7, "w", 9)]


def _random_paths(rng: np.random.Generator, n: int, maxlen: int, nframes: int):
    lengths = rng.integers(1, maxlen + 1, n)
    base = rng.integers(0, nframes, (8, maxlen))  # shared prefixes, then random frames
    flat = []
    for ln in lengths.tolist():
        pre = base[rng.integers(0, 8)]
        k = int(rng.integers(0, ln + 1))
        flat.extend(pre[:k].tolist() + rng.integers(0, nframes, ln - k).tolist())
    return np.asarray(flat, dtype=np.int32), lengths.astype(np.int64)


@pytest.mark.parametrize("shape", ["wide", "deep-tail", "all-walk", "one"])
def test_paths_tree_numbers_rows_like_from_paths(compiled, shape):
    rng = np.random.default_rng(3)
    if shape == "wide":
        flat, lengths = _random_paths(rng, 3000, 40, 50)
    elif shape == "deep-tail":  # a few paths deeper than LOOP_DEPTH: from_paths walks the tail
        flat, lengths = _random_paths(rng, 2000, 30, 20)
        deep = rng.integers(0, 5, 3 * (LOOP_DEPTH + 40)).astype(np.int32)
        flat = np.concatenate([flat, deep])
        lengths = np.concatenate([lengths, [LOOP_DEPTH + 40] * 3])
    elif shape == "all-walk":  # few, very deep paths: from_paths walks everything
        flat = rng.integers(0, 3, 2 * (LOOP_DEPTH + 10)).astype(np.int32)
        lengths = np.array([LOOP_DEPTH + 10, LOOP_DEPTH + 10], dtype=np.int64)
    else:
        flat, lengths = np.array([4], dtype=np.int32), np.array([1], dtype=np.int64)
    want = from_paths(flat, lengths)
    got = _folded_read.stack_table(flat, lengths, paths_tree=compiled.paths_tree)
    for w, g in zip(want, got):
        assert g.dtype == np.int64
        assert g.tolist() == w.tolist()
