"""Per-line figures and source text for the report's source view (flamekit.analysis.source)."""
from __future__ import annotations

import numpy as np
import pytest

from flamekit.analysis import source
from flamekit.analysis.report import report_data
from flamekit.analysis.source import line_data
from flamekit.model import ProfileBuilder, SampleType, functions, hide_libraries
from flamekit.render.html import report_json


def recursive_profile(path: str = "/nowhere/app.py"):
    """main -> a (line 3) -> b (line 7) -> a (line 4): indirect recursion; a -> a direct."""
    b = ProfileBuilder([SampleType("cpu", "samples"), SampleType("alloc", "bytes")])
    t = b.thread(1, "main")
    F = lambda n, ln: b.frame(n, path, ln, kind="python")  # noqa: E731
    b.add(b.stack([F("main", 1), F("a", 3), F("b", 7), F("a", 4)]), (5, 100), t)
    b.add(b.stack([F("main", 1), F("a", 3), F("a", 5)]), (3, 0), t)
    b.add(b.stack([F("main", 1), F("a", 4)]), (2, 10), t)
    b.add(b.stack([F("main", 2), F("b", 8)]), (7, 0), t)
    return b.build()


def walk(p, name, k=0):
    """[self, total] per line by a plain walk: leaf line, outermost occurrence's line."""
    out = {}
    for s, v in zip(p.sample_stack.tolist(), p.values[:, k].tolist()):
        frames = [p.frames[f] for f in p.stack_frames(s)]
        if frames[-1].name == name:
            out.setdefault(frames[-1].line, [0.0, 0.0])[0] += v
        outer = next((f for f in frames if f.name == name), None)
        if outer is not None:
            out.setdefault(outer.line, [0.0, 0.0])[1] += v
    return out


@pytest.mark.parametrize("exact", [True, False])
def test_lines_sum_to_the_function(monkeypatch, exact):
    p = recursive_profile()
    if not exact:
        monkeypatch.setattr(source, "EXACT_ROWS", 0)
    ld = line_data(p, source=False)
    assert ld.approximate is not exact and ld.sources == {}
    fn = functions(p, 0).set_index("name")
    by = {fl.function.name: fl for fl in ld.functions}
    assert set(by) == {"main", "a", "b"}
    for name, fl in by.items():
        got = {ln: [s, t] for ln, s, t in zip(fl.lines, fl.self[0], fl.total[0])}
        if exact or name != "a":  # the approximate rule counts a -> b -> a twice
            assert got == walk(p, name)
            assert fl.self[0].sum() == fn.loc[name, "self"] and fl.total[0].sum() == fn.loc[name, "total"]
    assert by["a"].total[0].sum() == (fn.loc["a", "total"] if exact else fn.loc["a", "total"] + 5)
    # the second sample type is there too
    assert dict(zip(by["a"].lines, by["a"].self[1])) == {3: 0, 4: 110, 5: 0}


def test_source_text_from_py_files_only(tmp_path):
    code = tmp_path / "app.py"
    code.write_text("".join(f"line {i}\n" for i in range(1, 200)) + "x" * 5000 + "\n", encoding="utf-8")
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY\n" * 10)
    b = ProfileBuilder([SampleType("cpu", "samples")])
    t = b.thread(1, "main")
    b.add(b.stack([b.frame("main", str(code), 50, kind="python"), b.frame("f", str(code), 120)]), 3, t)
    b.add(b.stack([b.frame("main", str(code), 200, kind="python")]), 1, t)
    b.add(b.stack([b.frame("leak", str(secret), 2, kind="python")]), 4, t)
    ld = line_data(b.build())
    assert set(ld.sources) == {str(code)}  # a file that is not Python source is never read
    src = ld.sources[str(code)]
    lines = {lo + i: text for lo, chunk in src.chunks for i, text in enumerate(chunk)}
    assert lines[50] == "line 50" and lines[120] == "line 120"
    assert set(lines) == set(range(42, 59)) | set(range(112, 129)) | set(range(192, 201))
    assert len(lines[200]) == source.MAX_LINE_CHARS and lines[200].endswith("\u2026")
    assert src.origin == "file" and not src.cut
    assert line_data(b.build(), source=False).sources == {}


def test_report_sections(tmp_path):
    """The report carries the per-line figures keyed by the payload's function ids."""
    lib = "/nowhere/lib/python3.11/json/decoder.py"
    b = ProfileBuilder([SampleType("cpu", "samples")])
    t = b.thread(1, "main")
    user = b.frame("load", str(tmp_path / "app.py"), 5, kind="python")
    b.add(b.stack([user, b.frame("decode", lib, 40, kind="python")]), 6, t)
    b.add(b.stack([b.frame("load", str(tmp_path / "app.py"), 6, kind="python")]), 4, t)
    p = b.build()
    doc = report_json(report_data(p), title="t", prune_fraction=0)
    P, R = doc["payload"], doc["report"]
    S = P["strings"]
    assert [S[n] for n in P["frames"]["name"]] == ["load", "decode"]
    assert P["frames"]["library"] == [0, 1]
    info = hide_libraries(p).meta["hidden_libraries"]
    L = R["libraries"]
    assert L["on"] is True and (L["frames"], L["functions"], L["rows"]) == (info["frames"], info["functions"], info["rows"])
    assert L["self"] == [6.0] and L["hotspots"][0][0]["name"] == "load" and L["hotspots"][0][0]["self"] == 10
    load = R["source"]["funcs"][str(P["frames"]["func"][0])]
    assert load["line"] == [5, 6] and load["self"] == [[0, 4]] and load["total"] == [[6, 4]]
    assert load["selfHidden"] == [[6, 4]] and load["file"] == -1  # no such file here: no text
    assert R["source"]["omitted"] is False and R["source"]["files"] == []
    # a folded profile of C functions: no switch, nothing to hide
    b = ProfileBuilder([SampleType("cpu", "samples")])
    b.add(b.stack([b.frame("main"), b.frame("work")]), 1, b.thread(1, "t"))
    doc = report_json(report_data(b.build()), title="t")
    assert "libraries" not in doc["report"] and doc["report"]["source"]["funcs"] == {}
    assert np.all(np.asarray(doc["payload"]["frames"]["library"]) == 0)


def random_profile(seed: int, n: int = 300):
    """Stacks over a few files (some library code, some frames without a line), random values."""
    rng = np.random.default_rng(seed)
    b = ProfileBuilder([SampleType("cpu", "samples"), SampleType("wall", "seconds")])
    t = b.thread(1, "main")
    files = ["/nowhere/app.py", "/nowhere/util.py", "/nowhere/lib/python3.11/json/decoder.py", ""]
    for _ in range(n):
        fr = [b.frame(f"f{int(rng.integers(0, 12))}", files[int(rng.integers(0, 4))],
                      int(rng.integers(0, 6)), kind="python") for _ in range(int(rng.integers(1, 7)))]
        b.add(b.stack(fr), (float(rng.integers(1, 9)), float(rng.random())), t)
    return b.build()


def test_shared_inputs_give_what_each_step_computes_alone():
    """report_data hands the function of each frame and row to line_data, group and first_lines."""
    from flamekit.analysis.report import first_lines, lowest_lines
    from flamekit.model import frame_keys, group
    for seed in range(4):
        p = random_profile(seed)
        alone = line_data(p, hidden=hide_libraries(p))
        shared = report_data(random_profile(seed)).lines
        assert [fl.function for fl in shared.functions] == [fl.function for fl in alone.functions]
        for a, s in zip(alone.functions, shared.functions):
            assert a.lines == s.lines and np.array_equal(a.self, s.self) and np.array_equal(a.total, s.total)
            assert np.array_equal(a.self_hidden, s.self_hidden)
        keys = frame_keys(p.frames, "function")
        flame = group(p, keys=(lowest_lines(p, keys), keys[1]))
        assert flame.frames == first_lines(p, group(p)).frames and any(f.line for f in flame.frames)
        assert np.array_equal(flame.stack_frame, group(p).stack_frame)


def reference_source_json(lines, payload):
    """The source section built function by function (the rule source_json computes by columns)."""
    from flamekit.numfmt import as_number_rows
    from flamekit.render.payload import clip
    S, F = payload["strings"], payload["frames"]
    func_of = {}
    for i in range(len(F["func"])):
        func_of.setdefault((S[F["name"][i]], S[F["file"][i]], S[F["module"][i]], S[F["kind"][i]]), F["func"][i])
    funcs = {}
    for fl in lines.functions:
        f = fl.function
        func = func_of.get((clip(f.name), clip(f.file), clip(f.module), clip(f.kind)))
        if func is not None:
            row = {"file": -1, "line": [int(x) for x in fl.lines], "self": as_number_rows(fl.self),
                   "total": as_number_rows(fl.total)}
            if fl.self_hidden is not None and (fl.self_hidden != fl.self).any():
                row["selfHidden"] = as_number_rows(fl.self_hidden)
            funcs[str(func)] = row
    return funcs


def test_source_json_matches_the_per_function_rule():
    """Whole-column numbers: ints where a function's row is integral, selfHidden only where it differs."""
    import json

    from flamekit.render.report_views import source_json
    for seed in range(4):
        p = random_profile(seed)
        data = report_data(p)
        doc = report_json(data, title="t", prune_fraction=0)
        got = source_json(data.lines, doc["payload"])["funcs"]
        assert got and any("selfHidden" in r for r in got.values())
        assert any(isinstance(r["total"][1][0], float) for r in got.values())  # wall seconds
        assert json.dumps(got, sort_keys=True) == json.dumps(reference_source_json(data.lines, doc["payload"]),
                                                             sort_keys=True)
        data.lines.functions[0].self_hidden = None  # some functions with, some without
        got = source_json(data.lines, doc["payload"])["funcs"]
        assert json.dumps(got, sort_keys=True) == json.dumps(reference_source_json(data.lines, doc["payload"]),
                                                             sort_keys=True)
