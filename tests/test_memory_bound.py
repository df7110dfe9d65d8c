"""Issue 16: loading takes memory in proportion to the decompressed input (docs/interop.md,
"Memory"), and a value matrix the file does not spell out is refused past its cap.

Scripted families of hostile inputs, each loaded in its own process
(``hostile_util.run_isolated``) whose own peak (``VmHWM``) is compared with the
documented bound, ``K * decompressed bytes + C``, where ``C`` is the peak of the same
child loading a one-sample file (measured here, so imports do not count as input):

* pprof with many sample types, duplicated sample types, or many types and few
  samples: values dominate, so the tighter bound for values holds (8 bytes per value,
  each value being at least one byte of input; the old per-value Python lists took
  about 25 bytes per input byte).
* pprof (own functions, or own address-only locations, the costliest per input byte
  measured: ~73x) and perf script where every sample has its own stack: the general
  bound.
* perf script with many event names (one value column per event): loaded while the
  matrix stays within ``VALUE_CELLS_PER_BYTE * input + VALUE_CELLS_FLOOR`` values (the
  floor's 8 bytes each are added to the constant),
  refused with a one-line error past it (20k events x 20k samples in 1.1 MB used to
  peak at 3.5 GB).
"""
from __future__ import annotations

import functools
import gzip
from pathlib import Path

import pytest

from hostile_util import assert_clean_failure, assert_ok, run_isolated
from flamekit.formats import _io
from flamekit.formats import _protobuf as pb

MB = 1e6
#: the documented bounds (docs/interop.md "Memory")
K_GENERAL = 128
K_VALUES = 12
SLACK = 25 * MB  # allocator and page-cache noise on top of the measured constant


def _vt(t: int, u: int) -> bytes:
    return pb.field_varint(1, t) + pb.field_varint(2, u)


def pprof_types(ntypes: int, nsamples: int, dup: bool = False) -> bytes:
    """``nsamples`` samples on one stack, each with ``ntypes`` values (duplicates: one name)."""
    names = ["", "samples", "count", "main"] + ([] if dup else [f"t{i}" for i in range(ntypes)])
    parts = [pb.field_bytes(1, _vt(1 if dup else 4 + i, 2), keep_empty=True) for i in range(ntypes)]
    sample = pb.field_bytes(2, pb.field_packed(1, [1]) +
                            pb.field_packed(2, [(i * 37) % 300 for i in range(ntypes)]))
    parts.append(sample * nsamples)
    parts.append(pb.field_bytes(4, pb.field_varint(1, 1) + pb.field_bytes(4, pb.field_varint(1, 1))))
    parts.append(pb.field_bytes(5, pb.field_varint(1, 1) + pb.field_varint(2, 3)))
    parts.extend(pb.field_bytes(6, s.encode(), keep_empty=True) for s in names)
    return b"".join(parts)


def pprof_stacks(nsamples: int, depth: int = 3) -> bytes:
    """One sample type; every sample its own chain of locations and functions."""
    names = ["", "samples", "count"] + [f"f{i}" for i in range(nsamples + depth)]
    parts = [pb.field_bytes(1, _vt(1, 2), keep_empty=True)]
    for i in range(nsamples):
        parts.append(pb.field_bytes(2, pb.field_packed(1, [i + 1 + d for d in range(depth)])
                                    + pb.field_packed(2, [i % 100 + 1])))
    for i in range(nsamples + depth):
        parts.append(pb.field_bytes(4, pb.field_varint(1, i + 1)
                                    + pb.field_bytes(4, pb.field_varint(1, i + 1))))
        parts.append(pb.field_bytes(5, pb.field_varint(1, i + 1) + pb.field_varint(2, 3 + i)))
    parts.extend(pb.field_bytes(6, s.encode(), keep_empty=True) for s in names)
    return b"".join(parts)


def pprof_addresses(nsamples: int, depth: int = 2) -> bytes:
    """One sample type; every sample its own address-only locations (no lines, no functions)."""
    parts = [pb.field_bytes(1, _vt(1, 2), keep_empty=True)]
    for i in range(nsamples):
        parts.append(pb.field_bytes(2, pb.field_packed(1, [i * depth + 1 + d for d in range(depth)])
                                    + pb.field_packed(2, [1])))
    for i in range(nsamples * depth):
        parts.append(pb.field_bytes(4, pb.field_varint(1, i + 1) + pb.field_varint(3, 0x400000 + i)))
    parts.extend(pb.field_bytes(6, s.encode(), keep_empty=True) for s in ("", "samples", "count"))
    return b"".join(parts)


def perf_events(nevents: int, nsamples: int) -> bytes:
    """``nsamples`` one-frame samples cycling through ``nevents`` event names."""
    return b"".join(f"app 1/1 [000] {i}.000001: 1 e{i % nevents}:\n\t1 main (/bin/app)\n\n".encode()
                    for i in range(nsamples))


def perf_stacks(nsamples: int, depth: int = 4) -> bytes:
    """Every sample its own frames, 50 threads, one event."""
    out = []
    for i in range(nsamples):
        frames = "".join(f"\t{i:x} f{i}_{d} (/bin/app)\n" for d in range(depth))
        out.append(f"app {i % 50}/{i % 50} [000] {i}.000001: 1 cycles:\n{frames}\n".encode())
    return b"".join(out)


def _write(tmp: Path, name: str, data: bytes) -> Path:
    if name.startswith("pprof"):
        path = tmp / f"{name}.pb.gz"
        path.write_bytes(gzip.compress(data, 6))
    else:
        path = tmp / f"{name}.perf"
        path.write_bytes(data)
    return path


def _peak(out: dict) -> float:
    assert out["peak_rss_kb"], out
    return out["peak_rss_kb"] * 1024


@functools.lru_cache(maxsize=None)
def _constant() -> float:
    """The child's peak for a one-sample pprof and perf file: the bound's constant."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        peaks = []
        for name, data in (("pprof-one", pprof_types(1, 1)), ("perf-one", perf_events(1, 1))):
            out = run_isolated(_write(Path(d), name, data), timeout=120)
            assert_ok(out)
            peaks.append(_peak(out))
    return max(peaks)


# (name, generator, bound's K): every family must load, within K * size + constant
FAMILIES = {
    "pprof-1000-types-x-4000": (lambda: pprof_types(1000, 4000), K_VALUES),
    "pprof-1000-duplicate-types-x-4000": (lambda: pprof_types(1000, 4000, dup=True), K_VALUES),
    "pprof-20000-types-x-200": (lambda: pprof_types(20000, 200), K_VALUES),
    "pprof-5000-stacks": (lambda: pprof_stacks(5000), K_GENERAL),
    "pprof-10000-address-stacks": (lambda: pprof_addresses(10000), K_GENERAL),
    "perf-2000-events-x-2000": (lambda: perf_events(2000, 2000), K_GENERAL),
    "perf-200-events-x-20000": (lambda: perf_events(200, 20000), K_GENERAL),
    "perf-3000-stacks": (lambda: perf_stacks(3000), K_GENERAL),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_peak_within_documented_bound(tmp_path: Path, name: str) -> None:
    make, k = FAMILIES[name]
    data = make()
    out = run_isolated(_write(tmp_path, name, data), timeout=300, rlimit_as=3 * 1024**3)
    assert_ok(out)
    c = _constant()
    floor = 8 * _io.VALUE_CELLS_FLOOR if name.startswith("perf") else 0  # values not in the file
    bound = k * len(data) + c + floor + SLACK
    peak = _peak(out)
    assert peak <= bound, (f"{name}: peak {peak / MB:.0f} MB > {k} x {len(data) / MB:.1f} MB "
                           f"+ {(c + floor) / MB:.0f} MB (+{SLACK / MB:.0f})")
    if name.startswith("pprof") and "types" in name:  # the values really are there
        ntypes = int(name.split("-")[1])
        assert len(out["sample_types"]) == ntypes
        want = sum((i * 37) % 300 for i in range(ntypes)) * out["n_samples"]
        assert sum(out["totals"]) == want


def test_many_events_past_the_cap_are_refused_in_bounded_memory(tmp_path: Path) -> None:
    data = perf_events(20000, 20000)  # 1.1 MB: 4e8 values, 3.2 GB as float64
    cells = 20000 * 20000
    assert cells > _io.VALUE_CELLS_PER_BYTE * len(data) + _io.VALUE_CELLS_FLOOR
    out = run_isolated(_write(tmp_path, "perf-20000-events", data), timeout=300,
                       rlimit_as=2 * 1024**3)
    assert_clean_failure(out, contains="20000 samples x 20000 events")
    assert "keep fewer events" in out["message"] and "\n" not in out["message"]
    assert _peak(out) <= K_GENERAL * len(data) + _constant() + 8 * _io.VALUE_CELLS_FLOOR + SLACK


def test_cli_says_flamekit_and_exits_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    from conftest import ROOT

    path = _write(tmp_path, "perf-5000-events", perf_events(5000, 5000))
    proc = subprocess.run([sys.executable, "-m", "flamekit", "info", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"flamekit: {path}:") and proc.stderr.count("\n") == 1, proc.stderr
    assert "5000 samples x 5000 events would need 200 MB" in proc.stderr
