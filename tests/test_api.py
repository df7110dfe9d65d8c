"""The public API promised by the README: names exported from ``flamekit``, and
``flamekit.diff`` with its real signature, loading inputs by the CLI's own route."""
from __future__ import annotations

import inspect

import flamekit
from flamekit.analysis import diff as D
from flamekit.cli import main


def test_exports():
    for name in ("diff", "scale", "by_thread", "merge", "select", "group", "focus", "ignore",
                 "load", "dump", "call_tree", "functions", "to_text", "__version__"):
        assert name in flamekit.__all__ and hasattr(flamekit, name), name
    from flamekit.version import __version__

    assert flamekit.__version__ == __version__


def test_diff_signature_is_explicit_and_matches_the_analysis_defaults():
    lib = inspect.signature(flamekit.diff).parameters
    assert not any(p.kind is p.VAR_KEYWORD for p in lib.values())  # no **kwargs
    ana = inspect.signature(D.diff).parameters
    shared = set(lib) & set(ana) - {"base", "head"}
    assert shared >= {"by", "sample_type", "metric", "alpha", "min_delta", "absolute",
                      "normalize", "dispersion", "fail_on_regression"}
    for name in shared:
        assert lib[name].default == ana[name].default, name
        assert lib[name].kind is inspect.Parameter.KEYWORD_ONLY, name


def test_library_and_cli_load_inputs_through_one_function(tmp_path, monkeypatch):
    a, b = tmp_path / "a.folded", tmp_path / "b.folded"
    a.write_text("main;work 50\nmain;idle 50\n")
    b.write_text("main;work 50\nmain;idle 20\nmain;slow 40\n")
    calls = []
    real = D.inputs.prepare_sides

    def spy(*args, **kw):
        calls.append(args[:2])
        return real(*args, **kw)

    monkeypatch.setattr(D.inputs, "prepare_sides", spy)
    res = flamekit.diff(str(a), str(b))
    out = tmp_path / "d.json"
    assert main(["diff", str(a), str(b), "--json", str(out), "-q"]) == 0
    assert len(calls) == 2  # once for the library, once for the CLI
    assert list(res.table["name"][:1]) == ["slow"]
    import json

    assert json.loads(out.read_text())["functions"][0]["name"] == "slow"
