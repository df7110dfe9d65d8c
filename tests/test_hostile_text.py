"""Crashes instead of clear errors (issue 16): metadata of the wrong type, totals that
overflow, lone surrogates. Each class is a generated family run through the CLI
(``flamekit.cli.main``, in process: the exit code and the one-line message are the
CLI's), and each must end in exit 0 or ``flamekit: <what, where>`` with exit 2, never
an internal error (exit 70) or a traceback.

* Metadata: every key flamekit's code reads from ``meta`` (found by scanning the
  source, so a new reader is covered the day it is written) is replaced by a value
  of every JSON type in turn. Keys with a fixed type (``model.validate.META_TYPES``)
  must be refused at load naming ``meta.<key>``; any other key is a free-form label
  and every command must cope with it.
* Totals: folded counts that are each finite but sum past a float64, or past the
  model's bound, in one file and across a diff.
* Surrogates: speedscope and Chrome names with lone ``\\udXXX`` escapes, through
  every command and every exporter: U+FFFD with a warning, never UnicodeEncodeError.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from flamekit.cli import main
from flamekit.formats import load_with_format, names, native
from flamekit.model import MAX_TOTAL, ProfileBuilder, SampleType
from flamekit.model.validate import META_TYPES

ROOT = Path(__file__).resolve().parents[1]

#: One value of every JSON type (and the shapes readers index into).
WRONG = [5, -1, 2.5, 1e300, True, False, "x", "", [1, 2], ["a"], [[1]], [None], {"a": 1},
         {"x": [1]}, {}]


def run(*argv: str) -> tuple[int, str, str]:
    """Run the CLI in process; return (exit code, stdout, stderr).

    (Files this process loads stay protected inputs: no later command may write them.)
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, err: str, what: str) -> None:
    assert code in (0, 2, 3), f"{what}: exit {code}: {err[-400:]}"
    assert "internal error" not in err and "Traceback" not in err, f"{what}: {err[-400:]}"
    if code == 2:
        lines = [ln for ln in err.splitlines() if ln.startswith("flamekit: ")]
        assert lines, f"{what}: exit 2 without a 'flamekit:' line: {err[-400:]}"


def meta_keys_read() -> set[str]:
    """Every ``meta["key"]`` / ``meta.get("key")`` in flamekit's source."""
    keys: set[str] = set()
    for f in (ROOT / "flamekit").rglob("*.py"):
        keys.update(re.findall(r"meta(?:\.get\(|\[)\"([A-Za-z_]+)\"", f.read_text("utf-8")))
    return keys


def _base_doc() -> dict:
    b = ProfileBuilder([SampleType("samples", "count")])
    m = b.frame("main", "app.py", 1, "", "python")
    w = b.frame("work", "app.py", 5, "", "python")
    b.add(b.stack([m, w]), 30.0)
    b.add(b.stack([m]), 10.0)
    return native.to_json_obj(b.build())


def _commands(tmp: Path, prof: Path, other: Path) -> list[list]:
    return [["info", prof], ["info", prof, "--json"], ["top", prof], ["top", prof, "--csv"],
            ["report", prof, "-o", tmp / "r.html"], ["report", prof, prof, "-o", tmp / "r2.html"],
            ["diff", prof, other, "--json", tmp / "d.json", "--markdown", tmp / "d.md",
             "-o", tmp / "d.html"],
            ["diff", "--base", prof, prof, "--head", other, other, "--json", tmp / "d2.json"]] + \
        [["convert", prof, "--to", fmt, "-o", tmp / f"{prof.stem}-out.{fmt}"]
         for fmt in names(writable=True)]


# -- 1. metadata types ---------------------------------------------------------------------
def test_typed_meta_keys_are_refused_naming_the_field(tmp_path: Path) -> None:
    doc = _base_doc()
    for key, (ok, _want) in META_TYPES.items():
        for v in WRONG:
            if ok(v):
                continue
            d = json.loads(json.dumps(doc))
            d["meta"][key] = v
            path = tmp_path / "m.json"
            path.write_text(json.dumps(d))
            code, _, err = run("info", path)
            assert code == 2, (key, v, err)
            assert err.startswith(f"flamekit: {path}:field meta.{key}: native: expected "), err
            assert err.count("\n") == 1, err


def test_every_meta_key_read_of_any_type_never_crashes(tmp_path: Path) -> None:
    """All keys read anywhere, each set to one wrong value at a time in one file per value:
    the typed keys are refused (exit 2) and the free-form ones never crash a command."""
    keys = meta_keys_read()
    assert {"warnings", "command", "duration", "merged_from", "pprof"} <= keys
    free = sorted(keys - set(META_TYPES))
    doc = _base_doc()
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    prof = tmp_path / "m.json"
    for v in WRONG + [None]:
        d = json.loads(json.dumps(doc))
        d["meta"].update({k: v for k in free})
        # the objects readers look inside, with wrong types one level down
        d["meta"]["pprof"] = {f: v for f in ("time_nanos", "duration_nanos", "period",
                                             "period_type", "comments", "doc_url")}
        d["meta"]["compare"] = {"side": v, "commit": v, "ref": v, "run": v}
        d["meta"]["processes"] = {"1": v}
        d["meta"]["speedscope"] = {"exporter": v, "name": v}
        prof.write_text(json.dumps(d))
        for cmd in _commands(tmp_path, prof, other):
            code, _, err = run(*cmd)
            assert_clean(code, err, f"meta={v!r}: {cmd[0]}")
            assert code in (0, 3), f"free-form meta {v!r} refused by {cmd}: {err}"


def test_typed_meta_key_refused_through_every_command(tmp_path: Path) -> None:
    doc = _base_doc()
    prof = tmp_path / "m.json"
    for key, v in (("warnings", 5), ("warnings", {"a": 1}), ("command", [1, 2]),
                   ("merged_from", "x"), ("duration", "1 s")):
        d = json.loads(json.dumps(doc))
        d["meta"][key] = v
        prof.write_text(json.dumps(d))
        for cmd in _commands(tmp_path, prof, prof):
            code, _, err = run(*cmd)
            assert code == 2 and f"field meta.{key}" in err, (key, v, cmd, err)


# -- 2. totals that overflow -----------------------------------------------------------------
def _folded(path: Path, counts: list[str]) -> Path:
    path.write_text("".join(f"main;f{i} {c}\n" for i, c in enumerate(counts)))
    return path


@pytest.mark.parametrize("counts", [
    ["9" * 308, "9" * 308],                      # each < float max, the sum overflows
    ["1" + "0" * 300] * 3,                       # finite sum, far beyond the bound
    [str(int(MAX_TOTAL) // 2 + 1)] * 2,          # just past the bound
], ids=["overflow", "1e300", "bound"])
def test_totals_past_the_bound_are_a_clear_error(tmp_path: Path, counts: list[str]) -> None:
    bad = _folded(tmp_path / "bad.folded", counts)
    ok = _folded(tmp_path / "ok.folded", ["3", "4"])
    for cmd in _commands(tmp_path, bad, ok) + [["diff", ok, bad]]:
        code, _, err = run(*cmd)
        assert code == 2, (cmd, err)
        assert "bad.folded: folded: the values of samples/count sum to" in err, err
        assert "2**128" in err and err.count("\n") == 1


@pytest.mark.parametrize("counts", [
    [str(2**63 - 1)] * 3,                        # each < 2**63, the sum passes it (int64 wraps)
    [str(2**64 - 1), str(2**63)],
    [str(int(MAX_TOTAL) // 8)] * 2,              # inside the bound (also two runs merged)
], ids=["int64", "uint64", "inside"])
def test_big_totals_inside_the_bound_stay_positive_and_exact_to_float(
        tmp_path: Path, counts: list[str]) -> None:
    """Sums past 2**63 are float64 sums (never a wrapped negative total); a diff of two
    such files works; pprof, whose values are int64, refuses values it cannot hold."""
    a = _folded(tmp_path / "a.folded", counts)
    b = _folded(tmp_path / "b.folded", counts + counts[:1])
    p, _ = load_with_format(a)
    want = sum(float(c) for c in counts)
    assert p.totals()[0] == pytest.approx(want, rel=1e-15) and p.totals()[0] > 0
    code, out, err = run("info", a, "--json")
    assert code == 0, err
    assert json.loads(out)["sample_types"][0]["total"] == pytest.approx(want, rel=1e-15)
    code, out, err = run("diff", a, b, "--json", tmp_path / "d.json")
    assert_clean(code, err, "diff")
    d = json.loads((tmp_path / "d.json").read_text())
    assert d
    for cmd in _commands(tmp_path, a, b):
        code, _, err = run(*cmd)
        assert_clean(code, err, str(cmd[:3]))
        if cmd[0] == "convert" and cmd[3] == "pprof":
            assert code == 2 and "pprof holds 64-bit integer values" in err, err
        else:
            assert code in (0, 3), (cmd, err)


# -- 3. lone surrogates ----------------------------------------------------------------------
def _surrogate_files(tmp: Path) -> list[Path]:
    ss = {"$schema": "https://www.speedscope.app/file-format-schema.json",
          "shared": {"frames": [{"name": "a\ud800b", "file": "f\udfff.py", "line": 3},
                                {"name": "ok"}, {"name": "a\udbffb", "file": "f\udfff.py", "line": 3}]},
          "profiles": [{"type": "sampled", "name": "t\udc00", "unit": "none", "startValue": 0,
                        "endValue": 3, "samples": [[1, 0], [1], [1, 2]], "weights": [1, 1, 1]}]}
    cp = {"nodes": [{"id": 1, "callFrame": {"functionName": "(root)", "url": "", "lineNumber": -1,
                                            "columnNumber": -1, "scriptId": "0"}, "children": [2]},
                    {"id": 2, "callFrame": {"functionName": "x\ud83d", "url": "u\udead.js",
                                            "lineNumber": 1, "columnNumber": 1, "scriptId": "1"}}],
          "startTime": 0, "endTime": 100, "samples": [2, 2], "timeDeltas": [0, 10]}
    out = []
    for name, doc in (("s.speedscope.json", ss), ("c.cpuprofile", cp)):
        path = tmp / name
        path.write_text(json.dumps(doc))  # ensure_ascii: the surrogates are \\udXXX escapes
        assert "\\ud" in path.read_text()
        out.append(path)
    return out


def test_lone_surrogates_become_replacement_characters_with_a_warning(tmp_path: Path) -> None:
    ss, cp = _surrogate_files(tmp_path)
    p, _ = load_with_format(ss)
    assert sorted(f.name for f in p.frames) == ["a\ufffdb", "ok"]  # the two names merged
    assert p.frames[0].file == "f\ufffd.py"
    assert p.totals()[0] == 3 and any("U+FFFD" in w for w in p.meta["warnings"])
    q, _ = load_with_format(cp)
    assert "x\ufffd" in [f.name for f in q.frames]


def test_lone_surrogates_through_every_command_and_exporter(tmp_path: Path) -> None:
    for path in _surrogate_files(tmp_path):
        for cmd in _commands(tmp_path, path, path) + [["report", path, "--svg", tmp_path / "f.svg",
                                                       "-o", tmp_path / "s.html"]]:
            code, _, err = run(*cmd)
            assert code in (0, 3), (cmd, err)
            if cmd[0] == "convert":
                out = Path(cmd[-1])
                out.read_bytes().decode("utf-8")  # valid UTF-8 (no surrogates)
                if cmd[3] != "csv":
                    r, _ = load_with_format(out)
                    assert any("\ufffd" in f.name for f in r.frames), cmd


def test_tables_flamekit_writes_back_are_type_checked(tmp_path: Path) -> None:
    """pprof's mapping and label tables (written back by ``convert --to pprof``) are checked at
    load like the metadata: a column missing, of the wrong type or length is refused by name."""
    doc = _base_doc()
    good_maps = {"id": [1], "memory_start": [0], "memory_limit": [0], "file_offset": [0],
                 "filename": ["a.so"], "build_id": [""], "has_functions": [True],
                 "has_filenames": [True], "has_line_numbers": [True], "has_inline_frames": [False]}
    good_labels = {"sample": [0], "stack": [1], "key": ["k"], "str": ["v"], "num": [0],
                   "num_unit": [""]}
    cases = [("pprof_mappings", {"id": ["x"]}, "tables.pprof_mappings.id"),
             ("pprof_mappings", {"id": [1]}, "tables.pprof_mappings.memory_start"),
             ("pprof_mappings", {**good_maps, "filename": [5]}, "tables.pprof_mappings.filename"),
             ("pprof_mappings", {**good_maps, "build_id": ["", ""]}, "tables.pprof_mappings"),
             ("pprof_mappings", [1], "tables"),
             ("pprof_labels", {**good_labels, "sample": ["x"]}, "tables.pprof_labels.sample"),
             ("pprof_labels", {**good_labels, "num": [None]}, "tables.pprof_labels.num")]
    prof = tmp_path / "t.json"
    for name, table, field in cases:
        d = json.loads(json.dumps(doc))
        d["tables"] = {name: table}
        prof.write_text(json.dumps(d))
        for cmd in (["info", prof], ["convert", prof, "--to", "pprof", "-o", tmp_path / "t.pb"]):
            code, _, err = run(*cmd)
            assert code == 2 and f"field {field}: native: " in err, (name, table, err)
    for name, table in (("pprof_mappings", good_maps), ("pprof_labels", good_labels)):
        d = json.loads(json.dumps(doc))
        d["tables"] = {name: table}
        prof.write_text(json.dumps(d))
        code, _, err = run("convert", prof, "--to", "pprof", "-o", tmp_path / f"{name}.pb")
        assert code == 0, err
