"""Tool discovery (pipeline stage: record): find a backend's executable the way pip installed it.

pip installs a dependency's scripts (``py-spy``, ``scalene``, ``memray``) into
the scripts directory of the environment that holds flamekit, which is often
NOT on ``PATH``: pipx exposes only flamekit's own entry point, and a venv
that is not activated (``~/.venvs/fk/bin/flamekit`` from cron, systemd or a
CI step) has no bin directory on ``PATH`` at all. So every backend executable
is looked for, in order:

1. the scripts directory of the interpreter running flamekit
   (``sysconfig.get_path("scripts")``);
2. the directory of ``sys.executable`` (differs from 1. for some layouts,
   e.g. a Debian system Python whose scripts go to ``/usr/local/bin``);
3. in a venv created with ``--system-site-packages``, the base
   interpreter's scripts directory (its packages are importable here, so its
   scripts belong to this environment too);
4. ``PATH``.

When the tool is missing, the message names the install command for *this*
interpreter (``/path/to/venv/bin/python -m pip install py-spy``; in a pipx
environment also ``pipx inject flamekit py-spy``), not a bare ``pip`` that may
belong to another Python.
"""
from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig

from ..errors import RecordError

__all__ = ["tool_dirs", "find_tool", "pip_install_command", "require_tool"]


def _system_site_venv() -> bool:
    """Tell whether this interpreter is a venv that includes the base's site-packages."""
    if sys.prefix == sys.base_prefix:
        return False
    try:
        with open(os.path.join(sys.prefix, "pyvenv.cfg"), encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip().lower() == "include-system-site-packages":
                    return value.strip().lower() == "true"
    except OSError:
        pass
    return False


def tool_dirs() -> list[str]:
    """Return the directories searched before ``PATH``, most specific first, without duplicates."""
    dirs = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable or "")]
    if _system_site_venv():
        dirs.append(sysconfig.get_path("scripts", vars={"base": sys.base_prefix,
                                                        "platbase": sys.base_exec_prefix}))
    out: list[str] = []
    for d in dirs:
        if d and os.path.isdir(d) and d not in out:
            out.append(d)
    return out


def find_tool(exe: str) -> str | None:
    """Return the path of executable ``exe`` beside this interpreter, else on ``PATH``, else None."""
    for d in tool_dirs():
        found = shutil.which(exe, path=d)
        if found:
            return found
    return shutil.which(exe)


def _pipx_app() -> str | None:
    """Return the pipx application name when this interpreter is a pipx-managed venv, else None."""
    if os.path.exists(os.path.join(sys.prefix, "pipx_metadata.json")):
        return os.path.basename(os.path.normpath(sys.prefix))
    return None


def pip_install_command(package: str) -> str:
    """Return the shell command that installs ``package`` for the interpreter running flamekit."""
    cmd = f"{shlex.quote(sys.executable or 'python3')} -m pip install {shlex.quote(package)}"
    app = _pipx_app()
    if app:
        cmd += f" (or: pipx inject {shlex.quote(app)} {shlex.quote(package)})"
    return cmd


def require_tool(exe: str, fix: str | None = None, *, package: str | None = None) -> str:
    """Return the path of ``exe`` (see :func:`find_tool`) or raise RecordError naming the fix.

    ``fix`` is the install instruction; by default the pip command for
    ``package`` (default: ``exe``) for the interpreter running flamekit.
    """
    path = find_tool(exe)
    if path:
        return path
    fix = fix or pip_install_command(package or exe)
    looked = ", ".join(tool_dirs() + ["PATH"])
    raise RecordError(f"{exe} is not installed (looked in {looked}): {fix}")
