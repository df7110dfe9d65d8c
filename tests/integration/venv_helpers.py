"""Helpers for tests that install flamekit the way users do: a wheel, a fresh venv, pipx.

Offline by design: the nested venvs see the packages of the interpreter running
the tests through a ``.pth`` file (not ``system_site_packages``, whose "system"
is the *base* interpreter: run from a developer's venv, that base lacks the
venv's numpy, pandas...), and a dependency's executable (py-spy) is installed
from a wheel rebuilt here from its installed files (:func:`wheel_of_installed`).
"""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build_flamekit_wheel(tmp: Path) -> Path:
    """Build flamekit's wheel from a copy of the checkout (``python -m build``); return its path."""
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "*.egg-info", "build", "dist", ".pytest_cache", ".venv", "v", ".cache"))
    (src / "README.md").touch()
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "dist"), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return next((tmp / "dist").glob("flamekit-*.whl"))


def outer_site_dirs() -> list[str]:
    """Return the site-packages folders of the interpreter running the tests (its sys.path)."""
    return [p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages") and os.path.isdir(p)]


def venv_site_packages(env_dir: Path) -> Path:
    """Return a venv's site-packages folder."""
    return next(env_dir.glob("lib/python*/site-packages"))


def see_outer_packages(env_dir: Path) -> None:
    """Make a venv import the test interpreter's packages (plain path lines: no .pth inside them runs)."""
    (venv_site_packages(env_dir) / "_flamekit_test_outer.pth").write_text("\n".join(outer_site_dirs()) + "\n")


def fresh_venv(env_dir: Path) -> Path:
    """Create a venv (with pip, offline) that also sees the test interpreter's packages; return its python."""
    venv.create(env_dir, system_site_packages=False, with_pip=True)
    see_outer_packages(env_dir)
    return env_dir / "bin" / "python"


def pip_install(python: Path, *wheels: Path) -> None:
    """Install wheels into ``python``'s environment without deps or any index (ignoring outer copies)."""
    r = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                        "--ignore-installed", *map(str, wheels)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel_of_installed(dist_name: str, outdir: Path) -> Path:
    """Rebuild a wheel of an installed distribution from its RECORD (offline stand-in for a download).

    Files under the dist's ``bin`` (``../../../bin/py-spy``) go to ``NAME-VER.data/scripts/``;
    package files and ``*.dist-info`` keep their paths; RECORD is written anew.
    """
    dist = metadata.distribution(dist_name)
    name = dist.metadata["Name"].replace("-", "_")
    ver = dist.version
    info = f"{name}-{ver}.dist-info"
    wheel_meta = dist.read_text("WHEEL") or ""
    tag = next((ln.split(":", 1)[1].strip() for ln in wheel_meta.splitlines() if ln.startswith("Tag:")),
               "py3-none-any")
    out = outdir / f"{name}-{ver}-{tag}.whl"
    outdir.mkdir(parents=True, exist_ok=True)
    record: list[str] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for f in dist.files or []:
            rel = str(f)
            if rel.endswith(("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")) and rel.startswith(info):
                continue
            if ".pyc" in rel or "__pycache__" in rel:
                continue
            src = Path(dist.locate_file(f))
            if not src.is_file():
                continue
            arc = f"{name}-{ver}.data/scripts/{src.name}" if rel.startswith("..") else rel
            data = src.read_bytes()
            zi = zipfile.ZipInfo(arc)
            zi.external_attr = (stat.S_IFREG | (0o755 if os.access(src, os.X_OK) else 0o644)) << 16  # pip wants S_IFREG
            z.writestr(zi, data, zipfile.ZIP_DEFLATED)
            record.append(f"{arc},{_record_hash(data)},{len(data)}")
        record.append(f"{info}/RECORD,,")
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return out
