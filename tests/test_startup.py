"""A flamekit process's start-up (issue 15): one BLAS thread, the garbage collector tuned.

Each case runs ``flamekit.cli.main`` in a fresh interpreter, as ``entry`` does
(``own_process=True``) or as a library caller does, and reports what the process
looks like afterwards: its threads (``/proc/self/task``), the environment and the
collector's settings. The page must not depend on any of it.
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from flamekit.cli.startup import GEN0_THRESHOLD

PROBE = """
import gc, json, os, sys
from flamekit.cli import main
code = main(json.loads(sys.argv[1]), own_process=json.loads(sys.argv[2]))
print("\\nSTATE=" + json.dumps({"code": code, "threads": len(os.listdir("/proc/self/task")),
      "blas_env": os.environ.get("OPENBLAS_NUM_THREADS"), "threshold": gc.get_threshold()[0],
      "frozen": gc.get_freeze_count(), "enabled": gc.isenabled(), "numpy": "numpy" in sys.modules}))
"""


def _openblas() -> bool:
    """True when this numpy's BLAS is OpenBLAS (the library that starts a thread per core)."""
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]
    except (TypeError, KeyError):  # numpy 1.x: no dict mode
        return False
    return "openblas" in str(deps.get("blas", {}).get("name", "")).lower()


def run(argv: list[str], own_process: bool, env: dict[str, str] | None = None) -> dict:
    """Run ``main(argv, own_process=...)`` in a new interpreter; return its state afterwards."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(own_process)],
                         capture_output=True, text=True, timeout=120, env={**base, **(env or {})})
    assert out.returncode == 0, out.stderr
    state = json.loads([ln for ln in out.stdout.splitlines() if ln.startswith("STATE=")][-1][6:])
    assert state["code"] == 0, (state, out.stderr)
    return state


def _folded(tmp_path: Path) -> Path:
    p = tmp_path / "p.folded"
    p.write_text("main (app.py:1);work (app.py:5) 3\nmain (app.py:1);idle (app.py:9) 1\n")
    return p


def test_own_process_loads_numpy_with_one_blas_thread_and_tunes_the_collector(tmp_path):
    folded = _folded(tmp_path)
    tuned = run(["report", str(folded), "-o", str(tmp_path / "a.html")], True)
    plain = run(["report", str(folded), "-o", str(tmp_path / "b.html")], False)
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    assert tuned["numpy"] and plain["numpy"]
    assert tuned["blas_env"] is None  # set while numpy loaded, removed: children see the user's
    if _openblas():
        assert tuned["threads"] == 1, tuned
        if (os.cpu_count() or 1) > 1:  # without the setting: a thread per core
            assert plain["threads"] > 1, plain
    # what the imports made is frozen; the young generation is collected less often
    assert tuned["frozen"] > 10_000 and tuned["enabled"] and tuned["threshold"] == GEN0_THRESHOLD
    # called as a library: the caller's interpreter is left alone
    assert plain["frozen"] == 0 and plain["threshold"] == gc.get_threshold()[0] and plain["enabled"]


def test_a_thread_count_the_user_set_wins(tmp_path):
    state = run(["report", str(_folded(tmp_path)), "-o", str(tmp_path / "r.html")], True,
                {"OPENBLAS_NUM_THREADS": "2"})
    assert state["blas_env"] == "2"
    if _openblas():
        assert state["threads"] == min(2, os.cpu_count() or 1), state


def test_help_and_version_still_load_no_numpy():
    for argv in (["--version"], ["--help"]):
        state = run(argv, True)
        assert not state["numpy"] and state["blas_env"] is None and state["threads"] == 1, state
