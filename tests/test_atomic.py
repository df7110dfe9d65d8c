"""The one output writer (flamekit/atomic.py): atomic files, ``-`` for stdout, OutputError."""
from __future__ import annotations

import ast
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from flamekit.atomic import atomic_output, check_output, write_output
from flamekit.errors import FlamekitError, OutputError

ROOT = Path(__file__).resolve().parents[1]


def test_write_text_and_bytes(tmp_path: Path) -> None:
    t = tmp_path / "a.txt"
    write_output(t, "é\r\nx\n")
    assert t.read_bytes() == "é\r\nx\n".encode()  # UTF-8, newlines kept as written
    b = tmp_path / "b.bin"
    write_output(b, b"\x00\xff")
    assert b.read_bytes() == b"\x00\xff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]
    assert oct(t.stat().st_mode & 0o777) == oct(0o644)


def test_dash_is_stdout(capfdbinary: pytest.CaptureFixture) -> None:
    write_output("-", "text ✓\n")
    write_output("-", b"\x01bytes\n")
    with atomic_output("-", "wb") as f:
        f.write(b"streamed\n")
    sys.stdout.flush()
    assert capfdbinary.readouterr().out == "text ✓\n".encode() + b"\x01bytes\nstreamed\n"


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("previous\n")
    with pytest.raises(RuntimeError):
        with atomic_output(out) as f:
            f.write("half")
            raise RuntimeError("renderer crashed")
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_failure_on_stdout_writes_nothing(capfd: pytest.CaptureFixture) -> None:
    with pytest.raises(RuntimeError):
        with atomic_output("-") as f:
            f.write("half a document")
            raise RuntimeError("renderer crashed")
    assert capfd.readouterr().out == ""


def test_os_errors_become_one_output_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "x.html"
    with pytest.raises(OutputError) as e:
        write_output(missing, "x")
    assert isinstance(e.value, FlamekitError) and e.value.exit_code == 2
    assert str(e.value).startswith(f"cannot write {missing}: ")
    with pytest.raises(OutputError, match="does not exist"):
        check_output(missing)
    with pytest.raises(OutputError, match="it is a directory"):
        check_output(tmp_path)
    check_output("-")
    check_output(tmp_path / "fine.html")
    assert list(tmp_path.iterdir()) == []


def test_file_size_limit_mid_write(tmp_path: Path) -> None:
    """A write that fails half way (EFBIG) raises OutputError, keeps the old file, no temp."""
    out = tmp_path / "big.txt"
    out.write_text("previous\n")
    code = ("import sys\nfrom flamekit.atomic import write_output\nfrom flamekit.errors import "
            "OutputError\ntry:\n    write_output(sys.argv[1], 'x' * 200_000)\n"
            "except OutputError as e:\n    print(e)\n")

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True,
                          preexec_fn=limit, cwd=ROOT, timeout=60)
    assert proc.stdout.startswith(f"cannot write {out}: File too large"), proc
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["big.txt"]


def test_no_other_module_writes_outputs_itself() -> None:
    """Only flamekit/atomic.py renames temp files into place or writes documents to stdout."""
    offenders = []
    for path in sorted((ROOT / "flamekit").rglob("*.py")):
        if path.name == "atomic.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("replace", "rename") \
                    and isinstance(node.value, ast.Name) and node.value.id == "os":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} os.{node.attr}")
            if isinstance(node, ast.Attribute) and node.attr == "buffer" \
                    and ast.unparse(node.value) == "sys.stdout":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} sys.stdout.buffer")
    assert offenders == []
