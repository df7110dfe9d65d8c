"""``hide_libraries``: library frames fold into the user frames that called them (pyinstrument's switch).

Checked on a hand-built profile with known answers and on real py-spy
recordings: totals and sample count unchanged, user functions' totals
unchanged, no library frame left under user code, and the self value that
moved equals what the note says.
"""
from __future__ import annotations

import glob

import numpy as np
import pytest

from flamekit import formats
from flamekit.model import hide_libraries, is_library, library_frames
from flamekit.tree import nearest_marked
from flamekit.model import Frame, ProfileBuilder, SampleType, functions

from conftest import DATA

STD = "/usr/lib/python3.11/threading.py"
PANDAS = "/venv/lib/python3.11/site-packages/pandas/core/frame.py"


@pytest.mark.parametrize("file,lib", [
    ("/usr/lib/python3.11/threading.py", True), ("/root/.pyenv/versions/3.13.1/lib/python3.13t/json/decoder.py", True),
    ("C:\\Python311\\Lib\\threading.py", True), ("/venv/lib/python3.11/site-packages/pandas/core/frame.py", True),
    ("/usr/lib/python3/dist-packages/numpy/core/numeric.py", True), ("<frozen importlib._bootstrap>", True),
    ("/home/u/app.py", False), ("/home/u/lib/python_helpers/x.py", False), ("<string>", False), ("", False),
    ("/usr/lib/x86_64-linux-gnu/libc.so.6", False)])
def test_is_library(file, lib):
    assert is_library(Frame("f", file)) is lib


def test_library_frames_is_is_library_of_each_frame():
    """The array form reads the path rule once per file; kernel frames are never library code."""
    files = [STD, PANDAS, "/home/u/app.py", "", "<frozen importlib._bootstrap>", "C:\\Python311\\Lib\\os.py"]
    frames = [Frame(f"f{i}", files[i % len(files)], i, "", kind)
              for i in range(60) for kind in ("python", "kernel", "native")]
    got = library_frames(frames)
    assert got.dtype == bool and got.tolist() == [is_library(f) for f in frames]
    assert got.any() and not got.all() and not library_frames([]).size


def known():
    b = ProfileBuilder([SampleType("cpu", "samples"), SampleType("wall", "nanoseconds")])
    F = {n: b.frame(n, f, 1) for n, f in [("boot", STD), ("run", STD), ("main", "/home/u/app.py"),
                                            ("apply", PANDAS), ("inner", PANDAS.replace("frame", "apply")),
                                            ("callback", "/home/u/app.py"),
                                            ("load", "<frozen importlib._bootstrap>")]}
    S = lambda *ns: b.stack([F[n] for n in ns])  # noqa: E731
    b.add(S("boot", "run", "main", "apply", "inner"), (5, 50), time=1.0)
    b.add(S("boot", "run", "main", "apply", "inner", "callback"), (7, 70), time=2.0)
    b.add(S("boot", "run", "main", "callback"), (3, 30), time=3.0)
    b.add(S("boot", "run", "main", "load"), (2, 20), time=4.0)
    b.add(S("boot", "run"), (1, 10), time=5.0)
    return b.build()


def test_known_answer():
    p = known()
    q = hide_libraries(p)
    assert q.meta["hidden_libraries"] == {"frames": 3, "functions": 3, "rows": 3, "self": [7.0, 70.0]}
    assert list(q.totals()) == list(p.totals()) and q.n_samples == p.n_samples
    assert list(q.sample_time) == [1.0, 2.0, 3.0, 4.0, 5.0]  # samples are kept one by one
    paths = [" ".join(q.frames[f].name for f in q.stack_frames(s)) for s in q.sample_stack.tolist()]
    assert paths == ["boot run main", "boot run main callback", "boot run main callback",
                     "boot run main", "boot run"]
    df = functions(q).set_index("name")
    assert df.loc["main", "self"] == 7 and df.loc["main", "total"] == 17
    assert df.loc["callback", "self"] == 10 and df.loc["callback", "total"] == 10
    assert df.loc["run", "self"] == 1  # library code with no user caller stays as it is
    assert {f.name for f in q.frames} == {"boot", "run", "main", "callback"}
    assert len(q.stack_prefix) == 4  # the two callback paths met under main: one row


def test_nothing_to_hide_and_empty():
    b = ProfileBuilder([SampleType("cpu", "samples")])
    b.add(b.stack([b.frame("main", "/a.py"), b.frame("f", "/a.py")]), 3)
    p = b.build()
    q = hide_libraries(p)
    assert q.meta["hidden_libraries"]["rows"] == 0 and q.stack_prefix.tolist() == p.stack_prefix.tolist()
    e = hide_libraries(ProfileBuilder([SampleType("cpu", "samples")]).build())
    assert e.n_samples == 0 and e.meta["hidden_libraries"]["rows"] == 0


def test_nearest_marked_deep_chain():
    """A 100,000-deep chain resolves in a few numpy passes (pointer jumping)."""
    n = 100_000
    prefix = np.arange(-1, n - 1)
    mark = np.zeros(n, dtype=bool)
    mark[[0, 50_000]] = True
    got = nearest_marked(prefix, mark)
    assert got[0] == 0 and got[49_999] == 0 and got[50_000] == 50_000 and got[-1] == 50_000
    mark[0] = False
    assert nearest_marked(prefix, mark)[10] == -1


@pytest.mark.parametrize("path", sorted(glob.glob(str(DATA / "py-spy" / "*" / "*.json")) +
                                        glob.glob(str(DATA / "py-spy" / "*" / "*.raw.txt"))))
def test_real_recordings(path):
    p = formats.load(path)
    q = hide_libraries(p)
    assert np.allclose(q.totals(), p.totals()) and q.n_samples == p.n_samples
    lib = np.array([is_library(f) for f in q.frames], dtype=bool)
    for s in range(q.n_stacks):  # no library frame has user code above it
        names = q.stack_frames(s)
        seen_user = False
        for f in names:
            assert not (seen_user and lib[f]), (path, [q.frames[i].name for i in names])
            seen_user |= not lib[f]
    before = functions(p).set_index(["name", "file"])
    after = functions(q).set_index(["name", "file"])
    user = [k for k in after.index if not is_library(Frame(k[0], k[1]))]
    assert user
    moved = 0.0
    for k in user:  # a user function's total is what it was; its self grows by what it absorbed
        assert after.loc[k, "total"] == pytest.approx(before.loc[k, "total"])
        assert after.loc[k, "self"] >= before.loc[k, "self"] - 1e-9
        moved += after.loc[k, "self"] - before.loc[k, "self"]
    assert moved == pytest.approx(q.meta["hidden_libraries"]["self"][0])
