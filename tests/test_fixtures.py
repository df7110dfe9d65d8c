"""Own fixtures: recordings under tests/data/<tool>/<version>/<file>, each with a golden dump.

Every readable format has at least one (checked by :func:`test_every_format_has_a_fixture`);
each folder's README.md says how its files were made (with the real tool, or by hand
from the public spec where the tool cannot run here).

For every recording: it loads (format detected by content) into a valid profile
with samples; its :func:`flamekit.model.to_text` dump equals ``<file>.golden.txt``
(``pytest --update-golden`` rewrites the goldens); a copy without a file name
extension is detected as the same format and loads to the same profile; and where
the format is writable, ``load(dump(p))`` gives the profile back.
"""
from __future__ import annotations

import difflib
import io
import shutil
from pathlib import Path

import pytest

from conftest import DATA
from flamekit.formats import get, load_with_format, names
from flamekit.model import equivalent, to_text

_SKIP_SUFFIXES = (".golden.txt", ".py", ".md", ".sh", ".log")
#: formats whose dump must read back exactly (==); others must give the same to_text
_EXACT = {"native", "folded"}


def _fixtures() -> list[Path]:
    if not DATA.is_dir():
        return []
    out = []
    for p in sorted(DATA.glob("*/*/*")):
        if p.relative_to(DATA).parts[0] == "invalid":  # broken inputs: tests/test_invalid_inputs.py
            continue
        if p.is_file() and not p.name.endswith(_SKIP_SUFFIXES) and not p.name.startswith("."):
            out.append(p)
    return out


FIXTURES = _fixtures()


def test_fixtures_exist():
    assert FIXTURES, f"no recordings under {DATA}/<tool>/<version>/"
    assert any(p.parent.parent.name == "py-spy" and p.name.endswith(".raw.txt") for p in FIXTURES)


def test_every_format_has_a_fixture():
    seen = {load_with_format(p)[1] for p in FIXTURES}
    missing = set(names(readable=True)) - seen
    assert not missing, f"formats without an in-repo fixture under {DATA}: {sorted(missing)}"


def _id(p: Path) -> str:
    return str(p.relative_to(DATA))


@pytest.mark.parametrize("path", FIXTURES, ids=_id)
def test_fixture(path: Path, tmp_path: Path, update_golden: bool):
    p, fmt = load_with_format(path)
    p.check()
    assert p.n_samples > 0, f"{_id(path)} has no samples"
    text = to_text(p)
    golden = path.with_name(path.name + ".golden.txt")
    if update_golden:
        golden.write_text(text, encoding="utf-8")
    else:
        assert golden.is_file(), f"missing golden {golden.name}: run pytest {__file__} --update-golden"
        want = golden.read_text(encoding="utf-8")
        if text != want:
            diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                "golden", "now", n=1))
            pytest.fail(f"{_id(path)} differs from its golden dump:\n{diff[:4000]}")

    # detection by content only: a copy without any extension
    bare = tmp_path / "profile"
    shutil.copyfile(path, bare)
    q, fmt2 = load_with_format(bare)
    assert fmt2 == fmt
    assert q == p

    mod = get(fmt)
    if mod.writable:
        buf = io.BytesIO()
        mod.dump(p, buf)
        out = tmp_path / "dumped"
        out.write_bytes(buf.getvalue())
        r, fmt3 = load_with_format(out)
        assert fmt3 == fmt, f"dump of {fmt} is detected as {fmt3}"
        if fmt in _EXACT:
            assert r == p, f"{fmt} round trip is not exact for {_id(path)}"
        else:
            assert equivalent(r, p, include_meta=False), f"{fmt} round trip changed {_id(path)}"
