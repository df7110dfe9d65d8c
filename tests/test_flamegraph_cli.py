"""Issue 16: ``flamekit convert X.perf --to folded`` writes what FlameGraph's
``stackcollapse-perf.pl`` writes, so ``| flamegraph.pl`` draws the same graph.

Ground truth is FlameGraph's own published results (``test/results`` at PR #231, the
commit inferno pins), one file per input and option, read in place from the shared
corpus. The CLI's output must equal them byte for byte (they are sorted, as ours
is). FlameGraph published no result without options; the default is checked
against two of them with their one annotation removed (``--kernel`` minus ``_[k]``
and ``--jit`` minus ``_[j]`` must both give it).
"""
from __future__ import annotations

import collections
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, DATA, ROOT, expected_rows, require_corpus
from flamekit import cli

RW = CORPUS / "realworld"
PINNED = "expected/FlameGraph-pr231-inferno-pinned/"
OPTIONS = ("pid", "tid", "kernel", "jit", "all")  # --addrs needs a reload: library only


def _rows() -> list[tuple[str, str, str]]:
    out = []
    for r in expected_rows():  # EXPECTED.tsv's facts, committed in .ci/corpus.tsv
        m = re.search(r"stackcollapse-perf\.pl --(\w+)", r["options"])
        if r["path"].startswith(PINNED) and r["for_input"].startswith("perf-script/") and m:
            out.append((r["for_input"], m.group(1), r["path"]))
    return out


ROWS = _rows()
INPUTS = sorted({r[0] for r in ROWS})


def _convert(tmp_path: Path, rel: str, *flags: str) -> bytes:
    out = tmp_path / "out.folded"
    assert cli.main(["convert", str(RW / rel), "-o", str(out), *flags]) == 0
    return out.read_bytes()


def _counter(text: str) -> collections.Counter:
    c: collections.Counter = collections.Counter()
    for line in text.splitlines():
        stack, _, n = line.rpartition(" ")
        c[stack] += int(n)
    return c


def test_every_input_has_every_option():
    require_corpus("realworld/expected")
    assert len(INPUTS) >= 13
    have = collections.Counter(opt for _, opt, _ in ROWS)
    assert all(have[o] == len(INPUTS) for o in OPTIONS), have


@pytest.mark.parametrize("row", [r for r in ROWS if r[1] in OPTIONS],
                         ids=lambda r: Path(r[2]).name)
def test_cli_equals_stackcollapse_perf(tmp_path: Path, row):
    rel, opt, expected = row
    got = _convert(tmp_path, rel, f"--{opt}")
    want = (RW / expected).read_bytes()
    if got != want:
        g, w = got.decode().splitlines(), want.decode().splitlines()
        pytest.fail(f"{expected}: {len(set(g) & set(w))} of {len(w)} lines equal; "
                    f"only flamekit: {sorted(set(g) - set(w))[:2]}; "
                    f"only FlameGraph: {sorted(set(w) - set(g))[:2]}")


@pytest.mark.parametrize("rel", INPUTS, ids=lambda r: Path(r).stem)
def test_default_is_stackcollapse_perf_without_options(tmp_path: Path, rel: str):
    got = _convert(tmp_path, rel).decode()
    stem = Path(rel).stem.removeprefix("FlameGraph__")
    exp = RW / PINNED
    from_kernel = _counter((exp / f"{stem}-collapsed-kernel.txt").read_text().replace("_[k]", ""))
    from_jit = _counter((exp / f"{stem}-collapsed-jit.txt").read_text().replace("_[j]", ""))
    assert from_kernel == from_jit  # the derivation is consistent
    assert _counter(got) == from_kernel
    lines = got.splitlines()
    assert lines == sorted(lines) and len(lines) == len(from_kernel)  # one line per stack
    assert not any(line.startswith("thread (") for line in lines)


def test_pipe_from_perf_script_with_tid():
    """``perf script | flamekit convert - -o - --to folded --tid``, as in ``convert --help``."""
    require_corpus("realworld/expected")
    rel = "perf-script/FlameGraph__perf-iperf-stacks-pidtid-01.txt"
    proc = subprocess.run([sys.executable, "-m", "flamekit", "convert", "-", "-o", "-", "--to",
                           "folded", "--tid"], input=(RW / rel).read_bytes(), capture_output=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (RW / PINNED / "perf-iperf-stacks-pidtid-01-collapsed-tid.txt").read_bytes()
    roots = {line.split(";", 1)[0] for line in proc.stdout.decode().splitlines()}
    assert len(roots) > 1 and all(re.fullmatch(r"\S+-\d+/\d+", r) for r in roots), roots


def test_pyspy_thread_roots_are_kept(tmp_path: Path):
    """py-spy ``--threads`` input keeps its ``thread (TID)`` roots and each thread's total."""
    src = DATA / "py-spy" / "0.4.3" / "two_threads_idle.raw.txt"

    def per_thread(text: str) -> collections.Counter:
        c: collections.Counter = collections.Counter()
        for stack, n in _counter(text).items():
            c[re.match(r"thread \((\d+)\)", stack).group(1)] += n
        return c

    out = tmp_path / "t.folded"
    assert cli.main(["convert", str(src), "-o", str(out)]) == 0
    got, want = out.read_text(), src.read_text()
    assert all(line.startswith("thread (") for line in got.splitlines())
    assert per_thread(got) == per_thread(want) and len(per_thread(want)) == 3


@pytest.mark.parametrize("args, needle", [
    (["--pid", "--to", "speedscope"], "only for perf script input written as folded"),
    (["--all", "--to", "svg"], "only for perf script input written as folded"),
    (["--tid", "--to", "folded"], "only for perf script input (this input is folded)"),
    (["--pid", "--tid", "--to", "folded"], "not allowed with argument"),
])
def test_flamegraph_options_misused(tmp_path: Path, capsys, args, needle):
    src = DATA / "py-spy" / "0.4.3" / "two_threads_idle.raw.txt"
    out = tmp_path / "x.out"
    assert cli.main(["convert", str(src), "-o", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err, err
    assert not out.exists()


def test_threads_keeps_flamekits_form_for_perf(tmp_path: Path):
    """``--threads``: one ``thread (TID): COMM`` root per perf thread, raw names, same totals."""
    rel = "perf-script/FlameGraph__perf-iperf-stacks-pidtid-01.txt"
    got = _convert(tmp_path, rel, "--threads").decode()
    tid = _counter((RW / PINNED / "perf-iperf-stacks-pidtid-01-collapsed-tid.txt").read_text())
    per_tid: collections.Counter = collections.Counter()
    for stack, n in tid.items():
        per_tid[stack.split(";", 1)[0].rpartition("/")[2]] += n
    mine: collections.Counter = collections.Counter()
    for stack, n in _counter(got).items():
        m = re.match(r'(?:process \d+:"[^"]*";)?thread \((\d+)\): ', stack)
        assert m, stack
        mine[m.group(1)] += n
    assert mine == per_tid and len(mine) > 1
