"""Helpers for the recorder integration tests: run flamekit, start sample workloads, read shares."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import flamekit
from flamekit.formats import names

REPO = Path(__file__).resolve().parents[2]
WORKLOADS = REPO / "sample_workloads"
PYENV = Path.home() / ".pyenv" / "versions"


def env(**extra: str) -> dict[str, str]:
    """Return the environment for a flamekit child: this checkout first on PYTHONPATH."""
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.update(extra)
    return e


def flamekit_record(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """Run ``flamekit record ARGS`` to completion; return the completed process (text)."""
    return subprocess.run([sys.executable, "-m", "flamekit", "record", "--no-progress", *args],
                          cwd=REPO, env=kw.pop("env", None) or env(), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def perf_runs(folder: Path, n: int, command: list[str], timeout: float = 180
              ) -> list[tuple[str, flamekit.Profile]]:
    """Record ``command`` ``n`` times with perf, two recordings at a time; return each
    recording's standard output (the command's own lines pass through) and profile.

    perf samples CPU time (``cpu-clock`` of the task), so a recording beside another
    one samples the same work: what it attributes does not change, only the wall time
    of the test halves on two CPUs (py-spy, sampling wall time, would cluster the
    samples of a preempted thread, so its recordings stay one at a time).
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> tuple[str, flamekit.Profile]:
        out = profile_path(folder, f"perf-{i}")
        r = flamekit_record("--backend", "perf", "-o", str(out), "--", *command, timeout=timeout)
        assert r.returncode == 0, r.stderr
        return r.stdout, flamekit.load(out)

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(one, range(n)))


def profile_path(tmp_path: Path, name: str = "out") -> Path:
    """Return an output path whose suffix names a writable format keeping meta (native if present)."""
    return tmp_path / (f"{name}.json" if "native" in names(writable=True) else f"{name}.speedscope.json")


def python(version: str) -> str | None:
    """Return the path of a pyenv Python ``3.X`` if installed here, else None."""
    for d in sorted(PYENV.glob(f"{version}.*")):
        exe = d / "bin" / "python3"
        if exe.exists():
            return str(exe)
    return None


def start_service(duty: float = 0.6, interpreter: str | None = None,
                  xopts: tuple[str, ...] = ()) -> subprocess.Popen:
    """Start ``service_loop.py`` and wait for its ready line; the caller kills it."""
    p = subprocess.Popen([interpreter or sys.executable, *xopts, str(WORKLOADS / "service_loop.py"),
                          "--duty", str(duty), "--seconds", "60"],
                         stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    line = p.stdout.readline()
    assert "ready" in line, line
    return p


def stop(p: subprocess.Popen) -> None:
    """Terminate a started workload and reap it."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p.stdout:
        p.stdout.close()


def shares(profile: flamekit.Profile, *names_: str) -> dict[str, float]:
    """Return each function's total (inclusive) share among ``names_`` (matched by substring)."""
    df = flamekit.functions(profile)
    tot = {n: float(df[df["name"].str.contains(n, regex=False)]["total"].sum()) for n in names_}
    s = sum(tot.values()) or 1.0
    return {n: v / s for n, v in tot.items()}


def hot_names(profile: flamekit.Profile, n: int = 15) -> list[str]:
    """Return the names of the ``n`` functions with the largest total."""
    df = flamekit.functions(profile).sort_values("total", ascending=False)
    return list(df["name"].head(n))


def wait_for(pred, timeout: float = 10.0, step: float = 0.05) -> bool:
    """Poll ``pred()`` until it is true or ``timeout`` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def record_two_phase(tmp: Path, backend: str = "py-spy", seconds: float = 1.0) -> flamekit.Profile:
    """Record ``sample_workloads/ingest_backtest.py`` (``seconds`` of ``ingest_ticks``, then as
    long of ``run_backtest``) with the real ``backend`` into ``tmp``; return the profile."""
    out = profile_path(tmp, "ib")
    r = flamekit_record("--backend", backend, "-o", str(out), "--", sys.executable,
                        str(WORKLOADS / "ingest_backtest.py"), "--ingest", str(seconds),
                        "--backtest", str(seconds))
    assert r.returncode == 0, r.stderr
    return flamekit.load(out)


def two_phase_report(tmp: Path) -> tuple[flamekit.Profile, Path]:
    """:func:`record_two_phase` with py-spy, 1 s a phase; return the profile and its report page."""
    from conftest import require_tool
    from flamekit.analysis.report import report_data
    from flamekit.render.html import write_report

    require_tool("py-spy", "pip install py-spy")
    p = record_two_phase(tmp)
    html = tmp / "ib.html"
    write_report(report_data(p), html)
    return p, html
