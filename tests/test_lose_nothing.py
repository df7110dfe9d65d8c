"""Issue 16, "Data loss": families of cases, each run through the real CLI.

- an output that names an input (same path, another spelling, a symlink, a hard
  link) is refused with exit 2 and the input is left byte-identical;
- devices, FIFOs and symlinks to them are written through, not replaced; an
  existing file keeps its mode; a new one gets the umask;
- a multi-output command that fails on its last output (``/dev/full``: a real
  "No space left on device") leaves none of its outputs, and old files come back;
- SIGTERM/SIGHUP at scripted moments of a write leave no temporary file;
  temporaries of a SIGKILLed run are cleaned by the next one (name and age);
- concatenated gzip members are all read (against :mod:`gzip`, an independent
  reader), at every read boundary, and never silently dropped.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flamekit import load
from flamekit.formats import _io

from conftest import ROOT

PAIR_A = "main;load_ticks 30\nmain;compute_vwap 50\nmain;risk_check 20\n"
PAIR_B = "main;load_ticks 30\nmain;compute_vwap 50\nmain;risk_check 60\n"


def run(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env.pop("FLAMEKIT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "flamekit", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=kw.pop("cwd", ROOT), env=env,
                          stdin=subprocess.DEVNULL, **kw)


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".flamekit-" in p.name or p.suffix == ".tmp")


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "base.folded", tmp_path / "head.folded"
    a.write_text(PAIR_A)
    b.write_text(PAIR_B)
    return a, b


# --- an output that names an input ------------------------------------------------

def _spellings(tmp_path: Path, target: Path) -> dict[str, str]:
    link = tmp_path / "link.out"
    link.symlink_to(target)
    hard = tmp_path / "hard.out"
    os.link(target, hard)
    return {"same": str(target), "relative": os.path.relpath(target, ROOT),
            "dotted": str(tmp_path / "." / ".." / tmp_path.name / target.name),
            "symlink": str(link), "hardlink": str(hard)}


COMMANDS = {
    "report": lambda a, b, out: ["report", str(a), "-o", out],
    "report-svg": lambda a, b, out: ["report", str(a), "-o", str(a.parent / "r.html"), "--svg", out],
    "convert": lambda a, b, out: ["convert", str(a), "--to", "folded", "-o", out],
    "diff-json": lambda a, b, out: ["diff", str(a), str(b), "--json", out],
    "diff-markdown": lambda a, b, out: ["diff", str(a), str(b), "--markdown", out],
    "diff-html": lambda a, b, out: ["diff", str(a), str(b), "-o", out],
    "diff-head": lambda a, b, out: ["diff", str(b), str(a), "--json", out],
}


@pytest.mark.parametrize("spelling", ["same", "relative", "dotted", "symlink", "hardlink"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_output_naming_an_input_is_refused(tmp_path: Path, pair, command: str, spelling: str) -> None:
    a, b = pair
    before = digest(a), digest(b)
    out = _spellings(tmp_path, a)[spelling]
    proc = run(*COMMANDS[command](a, b, out))
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "is an input of this command" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("flamekit: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert (digest(a), digest(b)) == before
    assert leftovers(tmp_path) == []


def test_notes_file_is_an_input_too(tmp_path: Path, pair) -> None:
    a, _ = pair
    notes = tmp_path / "notes.md"
    notes.write_text("# findings\n")
    proc = run("report", str(a), "--notes", str(notes), "-o", str(notes))
    assert proc.returncode == 2 and "is an input" in proc.stderr
    assert notes.read_text() == "# findings\n"


@pytest.mark.parametrize("source", ["/dev/zero", "big"])
def test_notes_are_capped(tmp_path: Path, pair, source: str) -> None:
    a, _ = pair
    if source == "big":
        big = tmp_path / "big.md"
        big.write_bytes(b"x" * ((1 << 20) + 1))
        source = str(big)
    proc = run("report", str(a), "--notes", source, "-o", str(tmp_path / "r.html"), timeout=30)
    assert proc.returncode == 2 and "larger than 1 MiB" in proc.stderr, proc.stderr
    assert not (tmp_path / "r.html").exists()


# --- special files, modes -----------------------------------------------------------

def test_dev_null_and_symlinked_stdout_are_written_through(tmp_path: Path, pair) -> None:
    a, _ = pair
    proc = run("convert", str(a), "--to", "folded", "-o", "/dev/null")
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    link = tmp_path / "out.folded"
    link.symlink_to("/dev/stdout")
    proc = run("convert", str(a), "--to", "folded", "-o", str(link))
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == "/dev/stdout"
    assert "compute_vwap 50" in proc.stdout


def test_fifo_is_written_through(tmp_path: Path, pair) -> None:
    a, _ = pair
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    proc = run("convert", str(a), "--to", "folded", "-o", str(fifo))
    reader.join(30)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert b"risk_check 20" in got[0]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
def test_existing_file_keeps_its_mode(tmp_path: Path, pair, mode: int) -> None:
    a, _ = pair
    out = tmp_path / "private.html"
    out.write_text("old")
    out.chmod(mode)
    proc = run("report", str(a), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == mode
    assert "<html" in out.read_text()[:2000].lower()


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_new_file_gets_the_umask(tmp_path: Path, pair, umask: int) -> None:
    a, _ = pair
    out = tmp_path / "new.html"
    proc = run("report", str(a), "-o", str(out), preexec_fn=lambda: os.umask(umask))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_symlink_to_a_file_keeps_the_link(tmp_path: Path, pair) -> None:
    a, _ = pair
    real = tmp_path / "real.html"
    real.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    assert run("report", str(a), "-o", str(link)).returncode == 0
    assert link.is_symlink() and "<html" in real.read_text()[:2000].lower()


# --- a failed command leaves none of its outputs -------------------------------------

@pytest.mark.parametrize("existing", [False, True])
@pytest.mark.parametrize("full", ["json", "markdown"])
def test_disk_full_on_a_later_output_takes_back_the_others(tmp_path: Path, pair, existing: bool,
                                                            full: str) -> None:
    a, b = pair
    html, md, js = tmp_path / "d.html", tmp_path / "d.md", tmp_path / "d.json"
    if existing:
        for p in (html, md, js):
            p.write_text(f"old {p.name}\n")
    outs = {"markdown": str(md), "json": str(js)}
    outs[full] = "/dev/full"  # a real ENOSPC from the kernel
    proc = run("diff", str(a), str(b), "-o", str(html), "--markdown", outs["markdown"],
               "--json", outs["json"])
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "No space left on device" in proc.stderr and "Traceback" not in proc.stderr
    for p in (html, md, js):
        if existing:
            assert p.read_text() == f"old {p.name}\n", p.name
        else:
            assert not p.exists(), p.name
    assert leftovers(tmp_path) == []


def test_report_and_svg_are_one_unit(tmp_path: Path, pair) -> None:
    a, _ = pair
    html = tmp_path / "r.html"
    proc = run("report", str(a), "-o", str(html), "--svg", "/dev/full")
    assert proc.returncode == 2, proc.stderr
    assert not html.exists() and leftovers(tmp_path) == []


# --- signals and stale temporaries ---------------------------------------------------

@pytest.fixture(scope="module")
def big_folded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folded file whose report takes a good fraction of a second to build and write."""
    p = tmp_path_factory.mktemp("big") / "big.folded"
    lines = [";".join(f"mod{d % 7}.fn_{(i * 31 + d) % 997}" for d in range(6 + i % 30)) + f" {1 + i % 13}"
             for i in range(60_000)]
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9, 1.2, 1.6, 2.2])
def test_signal_during_a_write_leaves_no_temporary(tmp_path: Path, big_folded: Path, sig: int,
                                                   delay: float) -> None:
    out = tmp_path / "r.html"
    out.write_text("old\n")
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "flamekit", "report", str(big_folded), "-o", str(out),
                             "--svg", str(tmp_path / "r.svg")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert leftovers(tmp_path) == [], err
    if proc.returncode == 0:  # finished before the signal: both outputs complete
        assert out.read_text().rstrip().endswith("</html>") and (tmp_path / "r.svg").exists()
    else:
        # 128+N: flamekit took the signal and cleaned up; -N: it came during start-up,
        # before flamekit had opened anything (the default action ended the process)
        assert proc.returncode in (128 + sig, -sig), err
        assert out.read_text() == "old\n"  # the old report is back, the SVG never appeared
        assert not (tmp_path / "r.svg").exists()
        assert b"Traceback" not in err


def test_next_run_cleans_stale_temporaries_it_owns(tmp_path: Path, pair) -> None:
    a, _ = pair
    out = tmp_path / "r.html"
    stale = tmp_path / ".r.html.flamekit-abcd1234.tmp"
    fresh = tmp_path / ".r.html.flamekit-wxyz5678.tmp"   # another run may be writing it now
    foreign = tmp_path / ".r.html.editor-backup.tmp"     # not ours
    for p in (stale, fresh, foreign):
        p.write_text("partial")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    os.utime(foreign, (old, old))
    assert run("report", str(a), "-o", str(out)).returncode == 0
    assert not stale.exists() and fresh.exists() and foreign.exists()


# --- gzip: every member, at every boundary -------------------------------------------

def _member(payload: bytes, level: int = 6) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, 31)
    return c.compress(payload) + c.flush()


def _read(path: Path) -> bytes:
    with _io.open_binary(path) as f:
        return f.read()


@settings(max_examples=60, deadline=None)
@given(payloads=st.lists(st.binary(max_size=3000), min_size=1, max_size=6),
       levels=st.lists(st.integers(0, 9), min_size=6, max_size=6),
       pad=st.integers(0, 40))
def test_every_gzip_member_is_read(tmp_path_factory, payloads: list[bytes], levels: list[int],
                                   pad: int) -> None:
    members = b"".join(_member(p, levels[i]) for i, p in enumerate(payloads))
    path = tmp_path_factory.mktemp("gz") / "x.gz"
    path.write_bytes(members + b"\x00" * pad)  # NUL padding after the last member is ignored
    assert _read(path) == b"".join(payloads) == gzip.decompress(members)


def _stored_member_of_size(size: int, seed: int) -> bytes:
    """A gzip member of exactly ``size`` bytes (stored blocks, random payload)."""
    rnd = __import__("random").Random(seed)
    n = size - 40
    for _ in range(200):
        m = _member(rnd.randbytes(n), 0)
        if len(m) == size:
            return m
        n += size - len(m)
    raise AssertionError("could not hit the size")


@pytest.mark.parametrize("offset", [-2, -1, 0, 1, 2])
def test_member_starting_at_the_read_boundary(tmp_path: Path, offset: int) -> None:
    first = _stored_member_of_size(256 * 1024 + offset, offset + 10)
    second = _member(b"second member\n")
    p = tmp_path / "b.gz"
    p.write_bytes(first + second)
    assert _read(p) == gzip.decompress(first + second)


def test_folded_total_counts_every_member(tmp_path: Path) -> None:
    p = tmp_path / "all.folded.gz"
    p.write_bytes(_member(b"a;b 1\n") + _member(b"a;c 10\n") + _member(b"a;d 100\n"))
    assert float(load(p).values.sum()) == 111


@pytest.mark.parametrize("tail,reason", [
    (b"garbage", "trailing garbage"),
    (b"\x1f", "trailing garbage"),
    (b"\x1f\x8b\x08\x00", "truncated"),
])
def test_bad_data_after_a_member_is_an_error(tmp_path: Path, tail: bytes, reason: str) -> None:
    p = tmp_path / "bad.folded.gz"
    p.write_bytes(_member(b"a;b 1\n") + tail)
    proc = run("info", str(p))
    assert proc.returncode == 2 and reason in proc.stderr, proc.stderr
