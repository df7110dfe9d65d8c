"""memray captures: detection, the known answer, the CLI on captures, hostile files.

Captures come from the real memray (``python -m memray run``) on
``sample_workloads/mem_known.py``, whose answer is known by construction:
``keep_positions`` keeps N MiB alive until exit, ``churn_ticks`` allocates and
frees M MiB in blocks. The checked-in fixtures under ``tests/data/memray/`` are
walked by ``test_fixtures.py`` (golden dumps); here they give the exact figures.
"""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

import flamekit
from conftest import DATA, ROOT
from flamekit.formats import detect, load_with_format
from flamekit.formats import memray as fmt

MIB = 1 << 20
FIXTURES = DATA / "memray" / "1.20.0"
WORKLOAD = ROOT / "sample_workloads" / "mem_known.py"


def memray_run(out: Path, *args: str, opts: tuple[str, ...] = ()) -> Path:
    """Record ``mem_known.py ARGS`` with the real ``memray run`` into ``out``."""
    r = subprocess.run([sys.executable, "-m", "memray", "run", "-q", "-f", *opts, "-o", str(out),
                        str(WORKLOAD), *args], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"memray run failed (pip install memray): {r.stderr[-2000:]}"
    return out


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m flamekit ARGS``."""
    return subprocess.run([sys.executable, "-m", "flamekit", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, stdin=subprocess.DEVNULL)


def by_function(p: flamekit.Profile, sample_type: str):
    """Return the function table (self and total per function) sorted by self, largest first."""
    df = flamekit.functions(flamekit.group(p, "function"), sample_type)
    return df.sort_values("self", ascending=False).reset_index(drop=True)


def value(df, name: str, col: str = "self") -> float:
    return float(df[df["name"] == name][col].sum())


# -- detection ---------------------------------------------------------------------------
def test_sniff_plain_and_lz4_headers():
    assert fmt.sniff(b"memray\x00\x0d\x00\x00\x00rest") is True
    comp = (FIXTURES / "mem_known.bin").read_bytes()[:64]
    assert comp.startswith(fmt.LZ4_MAGIC) and fmt.sniff(comp) is True  # memray's default output
    assert fmt.sniff(b"mem") is None  # need more bytes
    assert fmt.sniff(fmt.LZ4_MAGIC + b"\x40" * 60) is False  # some other lz4 stream
    assert fmt.sniff(b"main;f 1\n") is False and fmt.sniff(b"{}") is False


def test_capture_detected_by_content(tmp_path):
    plain = memray_run(tmp_path / "plain", "--keep-mib", "2", "--churn-mib", "4", opts=("--no-compress",))
    assert plain.read_bytes().startswith(fmt.MAGIC)
    assert detect(plain).name == "memray"
    assert detect(FIXTURES / "mem_known.bin").name == "memray"


# -- the known answer (fixture: keep 8 MiB, churn 32 MiB) ---------------------------------
def test_fixture_known_answer():
    p, name = load_with_format(FIXTURES / "mem_known.bin")
    assert name == "memray"
    assert [str(t) for t in p.sample_types] == ["peak_space/bytes", "leaked_space/bytes",
                                                "alloc_space/bytes", "alloc_objects/count"]
    leaked = by_function(p, "leaked_space")
    assert leaked["name"].iloc[0] == "keep_positions"
    assert value(leaked, "keep_positions") == pytest.approx(8 * MIB, rel=0.05)
    assert p.totals()[p.type_index("peak_space")] >= 8 * MIB
    alloc = by_function(p, "alloc_space")
    assert value(alloc, "churn_ticks") == pytest.approx(32 * MIB, rel=0.05)
    assert value(alloc, "keep_positions") == pytest.approx(8 * MIB, rel=0.05)
    # exact: 128 blocks of 256 KiB + 1 byte, and 8 of 1 MiB + 1 byte
    assert value(alloc, "churn_ticks") == 128 * (256 * 1024 + 1)
    assert value(by_function(p, "alloc_objects"), "churn_ticks") == 128
    # memray's runner frames are not above the program: its stacks start at its <module>
    ours = [i for i in range(p.n_stacks) if p.frames[int(p.stack_frame[i])].file.endswith("mem_known.py")]
    roots = {p.frames[p.stack_frames(i)[0]].file for i in ours}
    assert ours and roots == {"sample_workloads/mem_known.py"}, roots
    mem = p.tables["memory"]
    assert set(mem) == {"time", "rss_bytes", "heap_bytes"} and len(mem["time"]) >= 2
    assert max(mem["heap_bytes"]) >= 8 * MIB and min(mem["rss_bytes"]) > 1_000_000
    assert all(b >= a for a, b in zip(mem["time"], mem["time"][1:]))
    assert p.meta["tool"] == "memray" and p.meta["memray_file_format"] == "all_allocations"
    assert p.meta["peak_memory_bytes"] == p.totals()[0]


def test_aggregated_capture_has_peak_and_leaks_only():
    p = flamekit.load(FIXTURES / "mem_known-aggregated.bin")
    assert [str(t) for t in p.sample_types] == ["peak_space/bytes", "leaked_space/bytes"]
    leaked = by_function(p, "leaked_space")
    assert value(leaked, "keep_positions") == pytest.approx(8 * MIB, rel=0.05)
    assert value(leaked, "load_reference_data") == pytest.approx(4 * MIB, rel=0.05)
    assert any("aggregated" in w for w in p.meta["warnings"])


# -- every command reads a capture directly ------------------------------------------------
def test_cli_commands_read_a_capture(tmp_path):
    cap = FIXTURES / "mem_known.bin"
    r = cli("info", str(cap))
    assert r.returncode == 0 and "format:  memray" in r.stdout and "leaked_space/bytes" in r.stdout, r.stderr
    r = cli("top", str(cap), "--sample-type", "leaked_space", "-n", "3", "--csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].split(",")[0].strip('"') in ("keep_positions", "1")
    assert "keep_positions" in r.stdout.splitlines()[1]
    out = tmp_path / "mem.json"
    r = cli("convert", str(cap), "-o", str(out))
    assert r.returncode == 0, r.stderr
    back = flamekit.load(out)
    assert back.tables["memory"] == flamekit.load(cap).tables["memory"]
    html = tmp_path / "mem.html"
    r = cli("report", str(cap), "-o", str(html))
    assert r.returncode == 0, r.stderr
    assert "keep_positions" in html.read_text(encoding="utf-8")


# -- hostile and truncated captures ----------------------------------------------------
def _assert_clean_error(r: subprocess.CompletedProcess, *needles: str) -> None:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("flamekit: "), r.stderr[-2000:]
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture(scope="module")
def raw_capture(tmp_path_factory) -> Path:
    """An uncompressed capture whose memory snapshots run 1 s past the allocations."""
    d = tmp_path_factory.mktemp("memray")
    return memray_run(d / "raw.bin", "--keep-mib", "4", "--churn-mib", "8", "--sleep", "1",
                      opts=("--no-compress",))


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.8])
def test_truncated_raw_capture(tmp_path, raw_capture, cut):
    data = raw_capture.read_bytes()
    bad = tmp_path / "cut.bin"
    bad.write_bytes(data[:int(len(data) * cut)])
    out = tmp_path / "out.json"
    _assert_clean_error(cli("convert", str(bad), "-o", str(out)), str(bad))
    assert not out.exists()


def test_truncated_compressed_and_garbage(tmp_path):
    comp = (FIXTURES / "mem_known.bin").read_bytes()
    cases = {"lz4-cut.bin": comp[:len(comp) // 2], "header-only.bin": fmt.MAGIC,
             "garbage.bin": fmt.MAGIC + bytes(random.Random(1).randrange(256) for _ in range(4000))}
    for name, data in cases.items():
        bad = tmp_path / name
        bad.write_bytes(data)
        _assert_clean_error(cli("info", str(bad)), name, "memray")


def test_flipped_bytes_never_crash(tmp_path, raw_capture):
    """memray's C++ reader segfaults on some corrupt captures: flamekit reads in a child, so
    every damaged file ends as a clean load or one `flamekit:` line with exit 2."""
    data = raw_capture.read_bytes()
    outcomes = set()
    for seed in range(8):
        rng = random.Random(seed)
        d = bytearray(data)
        for _ in range(20):
            d[rng.randrange(len(fmt.MAGIC), len(d))] = rng.randrange(256)
        bad = tmp_path / f"flip{seed}.bin"
        bad.write_bytes(bytes(d))
        r = cli("info", str(bad))
        assert "Traceback" not in r.stderr and r.returncode in (0, 2), r.stderr[-2000:]
        if r.returncode == 2:
            _assert_clean_error(r, bad.name)
        outcomes.add(r.returncode)
    assert 2 in outcomes  # the corruption was noticed at least once


def test_without_memray_installed_names_the_fix(tmp_path):
    """A capture on a machine without memray: one line naming pip install memray."""
    code = ("import sys; sys.modules['memray'] = None\n"
            "from flamekit.cli import main\n"
            f"sys.exit(main(['info', {str(FIXTURES / 'mem_known.bin')!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    _assert_clean_error(r, "pip install memray")
