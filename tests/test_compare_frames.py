"""compare's own-code check and path rewriting on hand-made frames (no git, no profiler)."""
from __future__ import annotations

from flamekit import Frame, Profile, SampleType
from flamekit.compare import foreign_frames, relative_to_tree


def profile(*files: str) -> Profile:
    """A profile with one root-level stack per file (one sample each)."""
    n = len(files)
    return Profile(frames=[Frame(f"f{i}", f, 1, "", "python") for i, f in enumerate(files)],
                   stack_prefix=[-1] * n, stack_frame=list(range(n)), sample_stack=list(range(n)),
                   values=[[1.0]] * n, sample_types=[SampleType("cpu", "samples")])


PROJECT = {"bench.py", "src/mypkg/core.py", "lib2/__init__.py"}


def test_own_and_library_frames_are_fine():
    p = profile("/w/base/bench.py", "/w/base/src/mypkg/core.py", "/usr/lib/python3.11/json/__init__.py",
                "/venv/lib/python3.11/site-packages/numpy/core.py", "<frozen runpy>", "")
    assert foreign_frames(p, "/w/base", ["/w/head", "/home/me/clone"], PROJECT) == []


def test_other_checkouts_and_installed_copies_are_foreign():
    p = profile("/w/base/bench.py", "/w/head/src/mypkg/core.py", "/home/me/clone/bench.py",
                "/venv/lib/python3.11/site-packages/mypkg/core.py",
                "/usr/lib/python3/dist-packages/lib2/__init__.py")
    assert foreign_frames(p, "/w/base", ["/w/head", "/home/me/clone"], PROJECT) == [
        "/home/me/clone/bench.py", "/usr/lib/python3/dist-packages/lib2/__init__.py",
        "/venv/lib/python3.11/site-packages/mypkg/core.py", "/w/head/src/mypkg/core.py"]


def test_a_prefix_is_not_a_folder():
    """/w/base2 is not inside /w/base."""
    assert foreign_frames(profile("/w/base2/bench.py"), "/w/base", ["/w/base2"], PROJECT) == ["/w/base2/bench.py"]
    assert foreign_frames(profile("/w/base2/bench.py"), "/w/base", [], PROJECT) == []


def test_relative_to_tree():
    p = relative_to_tree(profile("/w/head/src/mypkg/core.py", "/usr/lib/x.py", "/w/headless/y.py"), "/w/head")
    assert [f.file for f in p.frames] == ["src/mypkg/core.py", "/usr/lib/x.py", "/w/headless/y.py"]
