"""Issue 16: inputs from standard input and pipes (``perf script | flamekit convert - ...``,
``<(...)``), and endless inputs bounded by the same cap as decompression."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, ROOT

PERF = next(iter(sorted((DATA / "perf").glob("*/cpu_split.perf.txt"))))
FOLDED = "main;load_ticks 30\nmain;compute_vwap 50\nmain;risk_check 20\n"


def fk(*args: str, stdin=None, env_extra: dict | None = None, shell: bool = False,
       tmp: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    env.pop("FLAMEKIT_DEBUG", None)
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
    cmd = args[0] if shell else [sys.executable, "-m", "flamekit", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, cwd=ROOT, env=env,
                          shell=shell, executable="/bin/bash" if shell else None)


@pytest.fixture()
def private_tmp(tmp_path: Path) -> Path:
    d = tmp_path / "tmp"
    d.mkdir()
    return d


SOURCES = {"perf script": lambda: PERF.read_bytes(), "folded": lambda: FOLDED.encode(),
           "gzipped folded": lambda: gzip.compress(FOLDED.encode())}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_stdin_converts_like_the_file(tmp_path: Path, private_tmp: Path, name: str) -> None:
    data = SOURCES[name]()
    src = tmp_path / "in.dat"
    src.write_bytes(data)
    direct = fk("convert", str(src), "--to", "folded", "-o", "-")
    piped = fk("convert", "-", "--to", "folded", "-o", "-", stdin=data, tmp=private_tmp)
    assert direct.returncode == 0 and piped.returncode == 0, piped.stderr
    assert piped.stdout == direct.stdout and piped.stdout
    assert list(private_tmp.iterdir()) == []  # the private copy is gone


def test_process_substitution_and_fifo(tmp_path: Path, private_tmp: Path) -> None:
    src = tmp_path / "in.folded"
    src.write_text(FOLDED)
    sub = fk(f"{sys.executable} -m flamekit info <(cat {src}) --json", shell=True, tmp=private_tmp)
    assert sub.returncode == 0, sub.stderr
    assert b'"folded"' in sub.stdout
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    writer = subprocess.Popen(f"cat {src} > {fifo}", shell=True)
    got = fk("top", str(fifo), "--csv", "--csv-raw", tmp=private_tmp)
    writer.wait(10)
    assert got.returncode == 0, got.stderr
    assert b"compute_vwap" in got.stdout
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("fmt", [None, "folded", "perf", "speedscope"])
def test_endless_input_stops_at_the_cap(private_tmp: Path, device: str, fmt: str | None) -> None:
    args = ["info", device] + (["--from", fmt] if fmt else [])
    if fmt is None:
        args = ["info", device]
    proc = fk(*args, env_extra={"FLAMEKIT_MAX_DECOMPRESSED": str(2_000_000)}, tmp=private_tmp,
              timeout=60)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.decode()
    assert err.startswith(f"flamekit: {device}:") and "larger than the limit" in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert list(private_tmp.iterdir()) == []


def test_a_broken_stream_is_named_stdin(private_tmp: Path) -> None:
    proc = fk("info", "-", stdin=b"\x00\x01\x02 not a profile \xff" * 10, tmp=private_tmp)
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("flamekit: <stdin>:"), proc.stderr
