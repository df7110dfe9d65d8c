"""The command line, end to end: ``flamekit convert``, ``info``, ``top`` and every ``--help``.

Runs the real CLI both as a subprocess (``python -m flamekit ...``) and in process
(``flamekit.cli.main([...])``). Numbers are checked against totals computed here,
independently, from the folded text of a real-world file.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import resource
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import flamekit
from flamekit import cli, formats
from flamekit.model import ProfileBuilder, SampleType
from flamekit.render.terminal import Table, print_table, safe_text

from conftest import HOSTILE as HOSTILE_ROOT, ROOT, require_corpus

VERTX = "folded/speedscope__perf-vertx-stacks-01-collapsed-all.txt"
TIMEOUT = 60


def run(*args: str, timeout: float = TIMEOUT, **kw) -> subprocess.CompletedProcess:
    """Run ``python -m flamekit ARGS`` and return the finished process (text mode)."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env.pop("FLAMEKIT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "flamekit", *args], capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=timeout,
                          cwd=kw.pop("cwd", ROOT), env=env, stdin=subprocess.DEVNULL, **kw)


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str, code: int = 2) -> None:
    """Check an expected failure: exit code, one ``flamekit:`` line, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flamekit: "), proc.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


def need_format(name: str) -> None:
    """Fail loudly (this suite depends on the format) if ``name`` is not registered."""
    if name not in formats.names():
        pytest.fail(f"format {name!r} is not available (registered: {formats.names()})")


def writable_multi_format() -> str:
    """Return a writable format that keeps names, threads and several sample types exactly."""
    for name in ("native", "speedscope"):
        if name in formats.names(writable=True):
            return name
    pytest.skip("no writable format that keeps threads and arbitrary names (native/speedscope)")


def folded_expectation(path: Path) -> tuple[dict[str, float], dict[str, float], float]:
    """Parse FlameGraph folded text here (independently of flamekit): self, total per frame."""
    self_: dict[str, float] = defaultdict(float)
    total: dict[str, float] = defaultdict(float)
    grand = 0.0
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        n = float(count)
        frames = stack.split(";")
        self_[frames[-1]] += n
        for f in set(frames):  # recursion counts once per stack
            total[f] += n
        grand += n
    return dict(self_), dict(total), grand


def csv_rows(text: str) -> list[dict[str, str]]:
    """Read ``top --csv`` output back with the csv module."""
    return list(csv.DictReader(io.StringIO(text, newline="")))


# ---------------------------------------------------------------------------
# --help, --version, usage errors
# ---------------------------------------------------------------------------
def command_names() -> list[str]:
    return [m.NAME for m in cli._modules()]


def test_own_commands_exist() -> None:
    assert {"convert", "info", "top"} <= set(command_names())


@pytest.mark.parametrize("name", command_names())
def test_help_of_every_command(name: str, capsys: pytest.CaptureFixture) -> None:
    proc = run(name, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: flamekit {name}"), proc.stdout[:200]
    assert "Traceback" not in proc.stderr
    assert cli.main([name, "--help"]) == 0
    assert f"usage: flamekit {name}" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["convert", "info", "top"])
def test_help_reads_like_a_script_header(name: str) -> None:
    out = run(name, "--help").stdout
    assert f"flamekit {name} - " in out  # what it does
    assert "USAGE:" in out and "examples:" in out
    assert out.count(f"  flamekit {name} ") >= 2  # example pipelines


def test_top_level_help_and_version() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for name in command_names():
        assert name in proc.stdout
    assert "exit codes" in proc.stdout
    proc = run("--version")
    from flamekit.formats._lines import ACCELERATED  # the loop the importers really use
    which = "compiled" if ACCELERATED else "pure-Python"
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"flamekit {flamekit.__version__} ({which} tokenizer)"


def test_no_command_and_bad_usage_exit_2(capsys: pytest.CaptureFixture) -> None:
    assert run().returncode == 2
    assert cli.main([]) == 2
    proc = run("top")  # missing PROFILE
    assert proc.returncode == 2 and "usage:" in proc.stderr and "Traceback" not in proc.stderr
    assert cli.main(["top", "x", "-n", "-3"]) == 2
    assert cli.main(["no-such-command"]) == 2
    capsys.readouterr()


def test_internal_error_is_one_line_exit_70(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    """A bug (an unexpected exception) still prints one line; FLAMEKIT_DEBUG shows it."""
    from flamekit.cli import info

    def boom(args):  # stands in for a bug inside a command
        raise ValueError("boom")

    monkeypatch.setattr(info, "run", boom)
    monkeypatch.delenv("FLAMEKIT_DEBUG", raising=False)
    assert cli.main(["info", "x"]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("flamekit: internal error: ValueError: boom") and err.count("\n") == 1
    monkeypatch.setenv("FLAMEKIT_DEBUG", "1")
    with pytest.raises(ValueError):
        cli.main(["info", "x"])


# ---------------------------------------------------------------------------
# top
# ---------------------------------------------------------------------------
def test_top_matches_independent_folded_sums() -> None:
    need_format("folded")
    path = require_corpus("realworld") / VERTX
    exp_self, exp_total, grand = folded_expectation(path)
    proc = run("top", str(path), "-n", "0", "--csv")
    assert proc.returncode == 0, proc.stderr
    rows = csv_rows(proc.stdout)
    # every distinct frame text is one function here (no file:line in this file)
    assert len(rows) == len(exp_total)
    got = sorted((float(r["self"]), float(r["total"])) for r in rows)
    want = sorted((exp_self.get(f, 0.0), t) for f, t in exp_total.items())
    assert got == want
    # each frame maps to its row by name (FlameGraph's _[k]/_[j] kind annotations
    # become the frame's kind, not part of its name)
    by_name = {r["name"]: r for r in rows}
    assert len(by_name) == len(rows)
    for f in exp_total:
        name = re.sub(r"_\[[kjiw]\]$", "", f)
        r = by_name[name]
        assert float(r["self"]) == exp_self.get(f, 0.0), f
        assert float(r["total"]) == exp_total[f], f
        assert float(r["self_pct"]) == pytest.approx(exp_self.get(f, 0) / grand * 100, abs=1e-4)
        assert float(r["total_pct"]) == pytest.approx(exp_total[f] / grand * 100, abs=1e-4)
        if f.endswith("_[k]"):
            assert r["kind"] == "kernel", f
    # sorted by self, descending; ranks 1..n
    selfs = [float(r["self"]) for r in rows]
    assert selfs == sorted(selfs, reverse=True)
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    assert {r["unit"] for r in rows} == {"count"} or len({r["unit"] for r in rows}) == 1


def test_top_equals_model_functions() -> None:
    need_format("folded")
    path = require_corpus("realworld") / VERTX
    p = flamekit.load(path)
    df = flamekit.functions(p)
    rows = csv_rows(run("top", str(path), "-n", "15", "--csv").stdout)
    assert len(rows) == 15
    for r, (_, want) in zip(rows, df.head(15).iterrows()):
        assert r["name"] == want["name"]
        assert float(r["self"]) == want["self"] and float(r["total"]) == want["total"]


def test_top_by_total_and_limit_and_plain_text() -> None:
    need_format("folded")
    path = require_corpus("realworld") / VERTX
    _, exp_total, grand = folded_expectation(path)
    proc = run("top", str(path), "--by", "total", "-n", "5")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("top 5 of ") and "by total" in lines[0]
    assert lines[1].split()[:4] == ["self", "self%", "total", "total%"]
    body = lines[2:7]  # then, maybe, a caption saying the top two are within noise of each other
    assert len(body) == 5 and len(lines) <= 8
    assert "\x1b" not in proc.stdout  # piped: no colour codes
    totals = [float(ln.split()[3].replace(",", "")) for ln in body]  # self, self% ±, total, total% ±
    assert totals == sorted(exp_total.values(), reverse=True)[:5]
    assert body[0].split()[4] == f"{totals[0] / grand * 100:.2f}%"


def test_top_groups_by_function_line_and_file(tmp_path: Path) -> None:
    need_format("folded")
    f = tmp_path / "pyspy.folded"
    f.write_text("main (app.py:10);price (pricing.py:5);bs (pricing.py:20) 7\n"
                 "main (app.py:10);price (pricing.py:6);bs (pricing.py:21) 3\n"
                 "main (app.py:11);risk (risk.py:9) 5\n", encoding="utf-8")

    def top(*extra: str) -> dict[tuple[str, str], tuple[float, float]]:
        proc = run("top", str(f), "-n", "0", "--csv", *extra)
        assert proc.returncode == 0, proc.stderr
        return {(r["name"], r["line"]): (float(r["self"]), float(r["total"]))
                for r in csv_rows(proc.stdout)}

    assert top() == {("bs", "0"): (10, 10), ("risk", "0"): (5, 5), ("price", "0"): (0, 10),
                     ("main", "0"): (0, 15)}
    by_line = top("--group", "line")
    assert by_line[("bs", "20")] == (7, 7) and by_line[("price", "6")] == (0, 3)
    assert by_line[("main", "10")] == (0, 10) and len(by_line) == 7
    by_file = top("--group", "file")
    assert by_file == {("pricing.py", "0"): (10, 10), ("risk.py", "0"): (5, 5),
                       ("app.py", "0"): (0, 15)}


HOSTILE_NAMES = ['comma, inside', 'quote " inside', "new\nline", "cr\r\nlf", "semi;colon",
                 "=cmd|' /C calc'!A0", "tab\tand \x1b[31mescape", "<script>alert(1)</script>",
                 "[bold]markup[/bold]", "caf\u00e9 \u202egnp.exe", ""]


def _hostile_profile(path: Path, fmt: str) -> None:
    b = ProfileBuilder([SampleType("cpu", "samples"), SampleType("wall", "nanoseconds")])
    root = b.frame("main", "app.py", 1, kind="python")
    t_main = b.thread(101, "MainThread", 7)
    t_feed = b.thread(202, "feed, \"md\"", 7)
    for i, name in enumerate(HOSTILE_NAMES):
        leaf = b.frame(name, f"dir, \"x\"/m{i}.py", i + 1, kind="python")
        b.add(b.stack([root, leaf]), [float(i + 1), 1e6 * (i + 1)],
              thread=t_main if i % 2 else t_feed)
    flamekit.dump(b.build(), path, fmt)


def test_top_csv_round_trips_hostile_names(tmp_path: Path) -> None:
    fmt = writable_multi_format()
    path = tmp_path / ("hostile.json" if fmt == "native" else "hostile.speedscope.json")
    _hostile_profile(path, fmt)
    # --csv-raw: exact text for pandas (the default defuses formula cells: test_csv_export)
    proc = subprocess.run([sys.executable, "-m", "flamekit", "top", str(path), "-n", "0", "--csv",
                           "--csv-raw"], capture_output=True, timeout=TIMEOUT, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode("utf-8")
    rows = csv_rows(text)
    assert [r["name"] for r in rows if r["name"] != "main"] == HOSTILE_NAMES[::-1]
    for r in rows:
        if r["name"] != "main":
            i = HOSTILE_NAMES.index(r["name"])
            assert r["file"] == f"dir, \"x\"/m{i}.py" and float(r["self"]) == i + 1
    # the same names through the in-process entry point
    buf = io.StringIO()
    old = sys.stdout
    sys.stdout = buf
    try:
        assert cli.main(["top", str(path), "-n", "0", "--csv", "--csv-raw", "--sample-type", "wall"]) == 0
    finally:
        sys.stdout = old
    rows = csv_rows(buf.getvalue())
    assert {r["name"] for r in rows} == set(HOSTILE_NAMES) | {"main"}
    assert {r["unit"] for r in rows} == {"nanoseconds"}


def test_top_plain_text_escapes_hostile_names(tmp_path: Path) -> None:
    fmt = writable_multi_format()
    path = tmp_path / ("hostile.json" if fmt == "native" else "hostile.speedscope.json")
    _hostile_profile(path, fmt)
    proc = run("top", str(path), "-n", "0")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert "tab\\tand \\x1b[31mescape" in out and "new\\nline" in out
    assert "[bold]markup[/bold]" in out  # literal, not rich markup
    assert len(out.splitlines()) == 2 + len(HOSTILE_NAMES) + 1 + ("too few samples to rank" in out)


def test_top_thread_selection(tmp_path: Path) -> None:
    fmt = writable_multi_format()
    path = tmp_path / ("t.json" if fmt == "native" else "t.speedscope.json")
    _hostile_profile(path, fmt)
    odd = sum(i + 1 for i in range(len(HOSTILE_NAMES)) if i % 2)
    even = sum(i + 1 for i in range(len(HOSTILE_NAMES)) if not i % 2)

    def main_total(*sel: str) -> float:
        proc = run("top", str(path), "-n", "0", "--csv", *sel)
        assert proc.returncode == 0, proc.stderr
        return {r["name"]: float(r["total"]) for r in csv_rows(proc.stdout)}["main"]

    assert main_total() == odd + even
    assert main_total("--thread", "MainThread") == odd
    assert main_total("--thread", "202") == even
    assert main_total("--thread", "MainThread", "--thread", "feed, \"md\"") == odd + even
    assert_clean_error(run("top", str(path), "--thread", "nope"), "no thread 'nope'",
                       "MainThread")


def test_bad_sample_type_lists_choices(tmp_path: Path) -> None:
    need_format("folded")
    path = require_corpus("realworld") / VERTX
    assert_clean_error(run("top", str(path), "--sample-type", "bogus"), "bogus", "available")
    assert_clean_error(run("convert", str(path), "-o", str(tmp_path / "never.folded"),
                           "--sample-type", "bogus"), "bogus", "available")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# info
# ---------------------------------------------------------------------------
def test_info_text_and_json() -> None:
    need_format("folded")
    path = require_corpus("realworld") / VERTX
    _, _, grand = folded_expectation(path)
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    proc = run("info", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    assert s["format"] == "folded"
    assert [t["total"] for t in s["sample_types"]] == [grand]
    assert s["samples"] <= len(lines) and s["samples"] > 0
    assert s["max_depth"] == max(len(ln.rpartition(" ")[0].split(";")) for ln in lines)
    assert sum(t["totals"][0] for t in s["threads"]) == grand
    assert s["bytes"] == path.stat().st_size
    proc = run("info", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "format:  folded" in proc.stdout and f"{int(grand)}" in proc.stdout


def test_info_shows_threads_meta_and_time(tmp_path: Path) -> None:
    fmt = writable_multi_format()
    path = tmp_path / ("t.json" if fmt == "native" else "t.speedscope.json")
    _hostile_profile(path, fmt)
    s = json.loads(run("info", str(path), "--json").stdout)
    assert s["format"] == fmt
    threads = {(t["id"], t["name"]): t for t in s["threads"]}
    assert set(threads) == {(202, 'feed, "md"'), (101, "MainThread")}
    odd = sum(i + 1 for i in range(len(HOSTILE_NAMES)) if i % 2)
    assert threads[(101, "MainThread")]["totals"][0] == odd
    assert [st["name"] for st in s["sample_types"]] == ["cpu", "wall"]
    text = run("info", str(path)).stdout
    assert "MainThread" in text and "wall/nanoseconds" in text


def test_diff_summary_escapes_hostile_names_like_top(tmp_path: Path) -> None:
    """Bug: `flamekit diff` printed a raw U+202E (and ESC) that `top` escapes."""
    def profile(path: Path, grow: float) -> None:
        b = ProfileBuilder([SampleType("cpu", "samples")])
        root = b.frame("main", "app.py", 1, kind="python")
        for i, name in enumerate(HOSTILE_NAMES):
            w = 1000.0 + (grow if "\u202e" in name else 0.0)
            b.add(b.stack([root, b.frame(name, f"dir\u202e\x1b[2J/m{i}.py", i + 1,
                                         kind="python")]), w)
        flamekit.dump(b.build(), path, "native")

    base, head = tmp_path / "base.json", tmp_path / "head.json"
    profile(base, 0.0)
    profile(head, 4000.0)
    proc = run("diff", str(base), str(head))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "regression" in out.splitlines()[0]
    bad = [c for c in out if (ord(c) < 32 and c != "\n") or 0x7f <= ord(c) <= 0x9f
           or c in "\u202e\u2066\u200b"]
    assert bad == [], out
    top = run("top", str(head), "-n", "0").stdout
    shown = "caf\u00e9 \\u202egnp.exe"
    assert shown in out and shown in top  # the same escaping in both commands
    assert "dir\\u202e\\x1b[2J/m" in out and "dir\\u202e\\x1b[2J/m" in top


def test_error_lines_escape_names_like_every_terminal_output(tmp_path: Path) -> None:
    """`flamekit: <message>` goes through the same safe_text as tables and the diff summary."""
    bad = tmp_path / "evil\u202e\x1b[2Jname.folded"
    bad.write_bytes(bytes(range(256)) * 4)  # not a profile: the error names the file
    proc = run("top", str(bad))
    assert_clean_error(proc, "evil\\u202e\\x1b[2Jname.folded")
    assert "\x1b" not in proc.stderr and "\u202e" not in proc.stderr


# ---------------------------------------------------------------------------
# convert
# ---------------------------------------------------------------------------
def test_convert_round_trip_and_stdout(tmp_path: Path) -> None:
    need_format("folded")
    src = require_corpus("realworld") / "folded/speedscope__recursion.txt"
    original = flamekit.load(src)
    both = [f for f in formats.names(writable=True) if f in formats.names(readable=True)]
    assert "folded" in both

    def table(p) -> set:
        df = flamekit.functions(p)
        return set(zip(df["name"], df["self"], df["total"]))

    for fmt in both:
        out = tmp_path / f"out.{fmt}"
        proc = run("convert", str(src), "-o", str(out), "--to", fmt)
        assert proc.returncode == 0, (fmt, proc.stderr)
        back = flamekit.load(out)
        assert list(back.totals()) == list(original.totals()), fmt
        assert table(back) == table(original), fmt
    proc = run("convert", str(src), "-o", "-", "--to", "folded")
    assert proc.returncode == 0, proc.stderr
    got = Counter()
    for ln in proc.stdout.splitlines():
        st, _, n = ln.rpartition(" ")
        got[st] += int(n)
    want = Counter()
    for ln in src.read_text().splitlines():
        if ln.strip():
            st, _, n = ln.rpartition(" ")
            want[st] += int(n)
    assert got == want
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"out.{f}" for f in both)


def test_convert_by_suffix_and_gzip(tmp_path: Path) -> None:
    need_format("folded")
    src = require_corpus("realworld") / VERTX
    out = tmp_path / "x.folded.gz"
    assert cli.main(["convert", str(src), "-o", str(out)]) == 0
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert flamekit.load(out).totals().tolist() == flamekit.load(src).totals().tolist()


def test_convert_sample_type_selects_one_column(tmp_path: Path) -> None:
    fmt = writable_multi_format()
    need_format("folded")
    src = tmp_path / ("t.json" if fmt == "native" else "t.speedscope.json")
    _hostile_profile(src, fmt)
    out = tmp_path / "wall.folded"
    proc = run("convert", str(src), "-o", str(out), "--sample-type", "wall/nanoseconds")
    assert proc.returncode == 0, proc.stderr
    assert flamekit.load(out).totals().tolist() == [1e6 * sum(range(1, len(HOSTILE_NAMES) + 1))]
    out2 = tmp_path / "first.folded"
    proc = run("convert", str(src), "-o", str(out2))
    assert proc.returncode == 0 and "one value per stack" in proc.stderr
    assert flamekit.load(out2).totals().tolist() == [sum(range(1, len(HOSTILE_NAMES) + 1))]


def test_convert_usage_errors(tmp_path: Path) -> None:
    need_format("folded")
    src = require_corpus("realworld") / VERTX
    assert_clean_error(run("convert", str(src), "-o", "-"), "--to")
    assert_clean_error(run("convert", str(src), "-o", str(tmp_path / "x.unknownext")),
                       "output format")
    assert_clean_error(run("convert", str(src), "-o", str(tmp_path / "x"), "--to", "nope"),
                       "unknown format")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["missing-dir/out.folded", "/proc/flamekit-out.folded",
                                    "DIR"])
def test_convert_unwritable_output(tmp_path: Path, target: str) -> None:
    need_format("folded")
    src = require_corpus("realworld") / VERTX
    out = {"DIR": tmp_path}.get(target) or (Path(target) if target.startswith("/")
                                            else tmp_path / target)
    proc = run("convert", str(src), "-o", str(out), "--to", "folded")
    assert_clean_error(proc, "cannot write" if target != "DIR" else str(out))
    assert list(tmp_path.iterdir()) == []


def test_convert_failure_mid_write_leaves_nothing(tmp_path: Path) -> None:
    """A write that fails half way (file size limit) keeps the old file and leaves no temp."""
    need_format("folded")
    src = require_corpus("realworld") / VERTX  # ~260 KB of folded text
    out = tmp_path / "out.folded"
    out.write_text("previous\n")

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    proc = subprocess.run([sys.executable, "-m", "flamekit", "convert", str(src), "-o", str(out)],
                          capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=limit,
                          cwd=ROOT)
    assert_clean_error(proc, str(out))
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.folded"]


# ---------------------------------------------------------------------------
# hostile input: one clean line, exit 2, never a traceback, never an output file
# ---------------------------------------------------------------------------
HOSTILE = ["generic/G04-random-binary.bin", "generic/G09-truncated-gzip-stream.folded.gz",
           "generic/G07-gzip-bomb-100MiB.folded.gz", "generic/G09-empty-gzip.gz",
           "generic/G02-bom-whitespace.txt", "generic/G10-zstd-magic.zst"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_inputs_fail_cleanly(tmp_path: Path, name: str) -> None:
    path = HOSTILE_ROOT / name
    for cmd in (["info"], ["top"]):
        assert_clean_error(run(*cmd, str(path)), str(path))
    out = tmp_path / "out.folded"
    assert_clean_error(run("convert", str(path), "-o", str(out), "--to", "folded"), str(path))
    assert list(tmp_path.iterdir()) == []


def test_gzip_bomb_stops_at_the_cap(tmp_path: Path) -> None:
    path = HOSTILE_ROOT / "generic/G07-gzip-bomb-100MiB.folded.gz"
    env = dict(os.environ, FLAMEKIT_MAX_DECOMPRESSED=str(10 * 1024 * 1024))
    need_format("folded")

    def limited() -> None:  # a guard: a runaway decompression fails fast instead of swapping
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))

    proc = subprocess.run([sys.executable, "-m", "flamekit", "info", str(path), "--from", "folded"],
                          capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=ROOT,
                          preexec_fn=limited)
    assert_clean_error(proc, str(path), "exceeds limit (10485760 bytes)")


@pytest.mark.parametrize("kind", ["missing", "directory", "empty"])
def test_bad_paths_fail_cleanly(tmp_path: Path, kind: str, capsys: pytest.CaptureFixture) -> None:
    path = {"missing": tmp_path / "nope.json", "directory": tmp_path,
            "empty": tmp_path / "empty.folded"}[kind]
    if kind == "empty":
        path.write_bytes(b"")
    for cmd in ("info", "top"):
        assert_clean_error(run(cmd, str(path)), str(path))
        assert cli.main([cmd, str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"flamekit: {path}") and "Traceback" not in err


def test_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """``flamekit top big | head -1``: exit 0, nothing on stderr."""
    need_format("folded")
    big = tmp_path / "big.folded"
    big.write_text("".join(f"main;f{i} (m{i % 50}.py:{i}) {i % 7 + 1}\n" for i in range(20000)))
    for extra in ([], ["--csv"]):
        proc = subprocess.Popen([sys.executable, "-m", "flamekit", "top", str(big), "-n", "0",
                                 *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=ROOT)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=TIMEOUT) == 0 and err == "", err


# ---------------------------------------------------------------------------
# terminal rendering
# ---------------------------------------------------------------------------
def test_safe_text_escapes_and_elides() -> None:
    assert safe_text("a\x1b[2Jb\nc\td\u202e\x00") == "a\\x1b[2Jb\\nc\\td\\u202e\\x00"
    long = "&<>\x1b" * 100
    s = safe_text(long, 50)
    assert len(s) == 50 and "\x1b" not in s and "…" in s
    assert safe_text("café ✓") == "café ✓"


def test_rich_table_keeps_names_literal() -> None:
    buf = io.StringIO()
    t = Table(["self", "function"], [["1", "[red]x[/red]\x1b]0;title\x07"]], right=frozenset({0}),
              title="t")
    print_table(t, buf, terminal=True)
    out = buf.getvalue()
    assert "[red]x[/red]\\x1b]0;title\\x07" in out
    assert "\x07" not in out and "\x1b]0" not in out


# ---------------------------------------------------------------------------
# packaging
# ---------------------------------------------------------------------------
def test_pyproject_lists_every_package() -> None:
    """Every flamekit/**/__init__.py package (and the templates) ships in the wheel."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    st = conf["tool"]["setuptools"]
    listed = set(st["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "flamekit").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert st["package-dir"]["flamekit.templates"] == "templates"
    assert conf["project"]["scripts"]["flamekit"] == "flamekit.cli:entry"


def test_python_dash_m_flamekit_equals_console_script() -> None:
    exe = Path(sys.executable).with_name("flamekit")
    if not exe.exists():
        pytest.skip("console script not installed next to this Python (pip install -e .)")
    a = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=TIMEOUT)
    assert a.returncode == 0 and a.stdout == run("--version").stdout


def test_readme_and_docs_links_resolve() -> None:
    """Relative links in README.md and docs/README.md point at files that exist."""
    for page in (ROOT / "README.md", ROOT / "docs" / "README.md"):
        text = page.read_text(encoding="utf-8")
        links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
        assert links, page
        for link in links:
            if "://" in link:
                continue
            assert (page.parent / link).exists(), f"{page.name}: broken link {link}"


def test_readme_test_command_is_the_ci_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash .ci/run" in readme
    assert "`python3 -m pytest -q`" in readme
    assert '"$PYTHON" -m pytest -q' in ci and 'PYTHON="${PYTHON:-python3}"' in ci
    assert "set -euo pipefail" in ci and '"$rc" -eq 5' in ci


def test_rich_table_fits_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Numbers stay whole, paths keep their file name, every row is one line."""
    monkeypatch.setenv("COLUMNS", "80")
    rows = [["2.78 s", "86.07%", "x" * 60 + "_hot_function", "/very/long/" * 8 + "pricing.py:42"],
            ["340 ms", "10.53%", "short", "/a.py"]]
    buf = io.StringIO()
    print_table(Table(["self", "self%", "function", "location"], rows, right=frozenset({0, 1})),
                buf, terminal=True)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3 and all(len(ln.rstrip()) <= 80 for ln in lines), lines
    assert lines[1].startswith("2.78 s  86.07%") and lines[1].rstrip().endswith("pricing.py:42")
    assert "…" in lines[1] and lines[2].rstrip().endswith("/a.py")


def test_quick_exit_keeps_output_and_exit_code(tmp_path) -> None:
    """``entry`` ends with os._exit: stdout piped to a file, the outputs and the code survive."""
    prof = tmp_path / "a.folded"
    prof.write_text("main;price 7\nmain;risk 3\n")
    out = tmp_path / "a.json"
    r = subprocess.run([sys.executable, "-m", "flamekit", "convert", str(prof), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())  # the converted profile is complete
    r = subprocess.run([sys.executable, "-m", "flamekit", "top", str(prof)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "price" in r.stdout and "risk" in r.stdout
    r = subprocess.run([sys.executable, "-m", "flamekit", "top", str(tmp_path / "missing")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("flamekit: ")


def test_report_and_convert_print_the_import_warnings(tmp_path: Path) -> None:
    """Skipped lines are said on stderr, not only inside the page; more than 3: a count and where."""
    bad = tmp_path / "fills.folded"
    bad.write_text("main;route_order 3\nnot a stack line\nmain;fill x\nmain;book 2\n")
    r = run("report", str(bad), "-o", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        f"flamekit: warning: {bad}: skipped 2 line(s) without a valid 'stack COUNT' form (line 2, 3)",
        f"wrote {tmp_path / 'r.html'}"]
    r = run("convert", str(bad), "--to", "speedscope", "-o", str(tmp_path / "r.json"))
    assert r.returncode == 0 and "skipped 2 line(s)" in r.stderr, r.stderr
    # four warnings: three shown, then how many more and the command that lists them all
    prof = flamekit.load(str(bad))
    prof.meta["warnings"] = [f"warning {i}" for i in range(3)] + ["\x1b]0;owned\x07 hostile\nline"]
    path = tmp_path / "w.json"
    formats.dump(prof, str(path), "native")
    r = run("report", str(path), "-o", str(tmp_path / "w.html"))
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[:4] == ["flamekit: warning: warning 0", "flamekit: warning: warning 1",
                                         "flamekit: warning: warning 2",
                                         f"flamekit: warning: ... and 1 more (flamekit info {path} lists them)"]
    # the text is the file's: control characters come out escaped, on one line
    prof.meta["warnings"] = ["\x1b]0;owned\x07 hostile\nline"]
    formats.dump(prof, str(path), "native")
    r = run("report", str(path), "-o", str(tmp_path / "w.html"))
    assert r.returncode == 0 and "\x1b" not in r.stderr and "\x07" not in r.stderr, r.stderr
    assert len(r.stderr.splitlines()) == 2 and "hostile" in r.stderr.splitlines()[0], r.stderr
