"""Tool discovery: flamekit finds py-spy beside its own interpreter, as pip and pipx install it.

Real installs, real py-spy, real processes: flamekit's wheel goes into a fresh
venv and into a real ``pipx install``; each is run by ABSOLUTE path with
``PATH=/usr/bin:/bin`` (no venv bin, no pyenv shims), as cron, systemd or a CI
step would, and records ``sample_workloads/cpu_split.py``. Offline: the venvs
see the test interpreter's packages through a ``.pth`` file, and py-spy is
installed from a wheel rebuilt from its installed files (venv_helpers.py).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from venv_helpers import (ROOT, build_flamekit_wheel, fresh_venv, pip_install, see_outer_packages,
                          venv_site_packages, wheel_of_installed)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BARE_PATH = "/usr/bin:/bin"
WORKLOAD = ROOT / "sample_workloads" / "cpu_split.py"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    """flamekit's wheel (built from this checkout) and py-spy's (rebuilt from its installed files)."""
    tmp = tmp_path_factory.mktemp("wheels")
    return {"flamekit": build_flamekit_wheel(tmp), "py-spy": wheel_of_installed("py-spy", tmp / "pyspy")}


def bare_env(**extra: str) -> dict[str, str]:
    """An environment with PATH=/usr/bin:/bin and no PYTHONPATH or venv of the test run."""
    e = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    e.update(PATH=BARE_PATH, **extra)
    return e


def record_by_path(flamekit_bin: Path, python: Path, out: Path) -> subprocess.CompletedProcess:
    """Run ``FLAMEKIT record`` by absolute path on a 1.5 s cpu_split with a bare PATH."""
    return subprocess.run([str(flamekit_bin), "record", "--no-progress", "--backend", "py-spy", "-o", str(out),
                           "--", str(python), str(WORKLOAD), "--seconds", "1.5"],
                          cwd=out.parent, env=bare_env(), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def assert_recorded(r: subprocess.CompletedProcess, out: Path) -> None:
    """The recording succeeded with py-spy and holds the workload's hot function."""
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["meta"]["tool"] == "py-spy", doc["meta"]
    import flamekit

    names = set(flamekit.functions(flamekit.load(out))["name"])
    assert {"price_options", "update_risk"} <= names, sorted(names)[:20]


def found_by(python: Path) -> str:
    """Return where ``python``'s flamekit finds py-spy (bare PATH)."""
    r = subprocess.run([str(python), "-c", "from flamekit.record.tools import find_tool; "
                        "print(find_tool('py-spy'))"], env=bare_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_bare_path_has_no_pyspy():
    """The premise: with PATH=/usr/bin:/bin, py-spy is not on PATH (else these tests prove nothing)."""
    assert shutil.which("py-spy", path=BARE_PATH) is None


def test_fresh_venv_by_absolute_path(tmp_path, wheels):
    """A venv's flamekit, not activated, finds the venv's own py-spy; without it, names the venv's pip."""
    py = fresh_venv(tmp_path / "fk")
    pip_install(py, wheels["flamekit"], wheels["py-spy"])
    fk_bin = tmp_path / "fk" / "bin" / "flamekit"
    assert (tmp_path / "fk" / "bin" / "py-spy").exists()
    assert found_by(py) == str(tmp_path / "fk" / "bin" / "py-spy")
    out = tmp_path / "run.json"
    assert_recorded(record_by_path(fk_bin, py, out), out)

    (tmp_path / "fk" / "bin" / "py-spy").unlink()  # now the tool is missing for this interpreter
    r = record_by_path(fk_bin, py, tmp_path / "missing.json")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "py-spy is not installed" in r.stderr
    assert f"{py} -m pip install py-spy" in r.stderr, r.stderr


def test_pipx_install(tmp_path, wheels):
    """A real ``pipx install``: pipx exposes only flamekit; flamekit still finds py-spy in its venv."""
    home, bin_dir = tmp_path / "pipx-home", tmp_path / "pipx-bin"
    env = {**bare_env(PIPX_HOME=str(home), PIPX_BIN_DIR=str(bin_dir), PIPX_MAN_DIR=str(tmp_path / "man"),
                      # the shared pip upgrade would need the package index; the bundled pip is enough here
                      PIPX_DISABLE_SHARED_LIBS_AUTO_UPGRADE="1")}
    pipx = [sys.executable, "-m", "pipx"]
    # Offline: no deps from an index; the app's venv sees this interpreter's packages (.pth below).
    # --system-site-packages lets pipx read the deps' metadata during install when the base
    # interpreter has them (the .ci/run case); from a developer's venv the base may lack them,
    # and then pipx installs them the usual way, from the package index.
    base_has_deps = subprocess.run(
        [getattr(sys, "_base_executable", sys.executable), "-c", "import numpy, pandas, psutil, rich, jinja2"],
        capture_output=True, env=bare_env()).returncode == 0
    args = (["--system-site-packages", "--pip-args=--no-deps --no-index"] if base_has_deps else [])
    r = subprocess.run(pipx + ["install", *args, str(wheels["flamekit"])], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    app = home / "venvs" / "flamekit"
    see_outer_packages(app)
    r = subprocess.run(pipx + ["runpip", "flamekit", "install", "-q", "--no-deps", "--no-index",
                               "--ignore-installed", str(wheels["py-spy"])],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert sorted(p.name for p in bin_dir.iterdir()) == ["flamekit"]  # pipx exposes no dependency's script
    assert venv_site_packages(app).is_dir()
    assert found_by(app / "bin" / "python") == str(app / "bin" / "py-spy")
    out = tmp_path / "pipx.json"
    assert_recorded(record_by_path(bin_dir / "flamekit", app / "bin" / "python", out), out)
