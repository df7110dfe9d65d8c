"""The layering rules of DESIGN.md, checked on the source: every module of flamekit/ is
parsed with ``ast`` (nothing is imported) and its imports, including those inside
functions and ``TYPE_CHECKING`` blocks, are resolved to flamekit modules.

* model (and tree.py) import nothing of flamekit but ``errors``, ``tree``, ``keys`` and ``numfmt``
  (the one number formatter, itself importing nothing of flamekit);
  model, tree, formats and analysis never import render or cli;
* the library API (``flamekit/__init__.py``) and analysis never import cli;
* no module imports another module's ``_private`` names (private *modules*, such
  as ``formats._io``, may be imported from inside the package that holds them);
* no source file is over 500 lines.

Each rule is also run on a small made-up tree that breaks it, so a rule that
can no longer fail is noticed.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "flamekit"
MAX_LINES = 500


@dataclass(frozen=True)
class Import:
    """One imported name: ``module`` (resolved, absolute) and ``name`` (None: the module)."""

    line: int
    module: str
    name: str | None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imports_of(path: Path, root: Path) -> list[Import]:
    """Every import in the file, relative ones resolved against the file's package."""
    mod = module_name(path, root)
    package = mod if is_package(path) else mod.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [Import(node.lineno, a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out += [Import(node.lineno, target, a.name) for a in node.names]
    return out


def sources(root: Path) -> dict[str, Path]:
    pkg = root / "flamekit"
    return {module_name(p, root): p for p in sorted(pkg.rglob("*.py"))}


def within(mod: str, prefix: str) -> bool:
    return mod == prefix or mod.startswith(prefix + ".")


def targets(imp: Import, modules: dict[str, Path]) -> list[str]:
    """The flamekit modules an import reaches (``from pkg import sub`` reaches ``pkg.sub``)."""
    if not within(imp.module, "flamekit"):
        return []
    if imp.name is not None and f"{imp.module}.{imp.name}" in modules:
        return [f"{imp.module}.{imp.name}"]
    return [imp.module]


LOW = ("flamekit.model", "flamekit.tree", "flamekit.formats", "flamekit.analysis")
HIGH = ("flamekit.render", "flamekit.cli")


def layer_violations(root: Path) -> list[str]:
    modules = sources(root)
    bad = []
    for mod, path in modules.items():
        for imp in imports_of(path, root):
            for t in targets(imp, modules):
                where = f"{path.relative_to(root)}:{imp.line} imports {t}"
                if any(within(mod, m) for m in ("flamekit.model", "flamekit.tree")) and not any(
                        within(t, ok) for ok in ("flamekit.model", "flamekit.tree", "flamekit.keys",
                                                 "flamekit.numfmt", "flamekit.errors")):
                    bad.append(f"{where} (the model imports nothing else of flamekit)")
                elif any(within(mod, m) for m in LOW) and any(within(t, h) for h in HIGH):
                    bad.append(f"{where} (a lower layer imports render or cli)")
                elif mod == "flamekit" and within(t, "flamekit.cli"):
                    bad.append(f"{where} (the library API imports the CLI)")
    return bad


def private_violations(root: Path) -> list[str]:
    modules = sources(root)
    bad = []
    for mod, path in modules.items():
        for imp in imports_of(path, root):
            if not within(imp.module, "flamekit"):
                continue
            names = [imp.name] if imp.name else imp.module.split(".")[1:]
            if imp.name is None:  # import flamekit.a._b: private modules only
                parts = imp.module.split(".")
                for i in range(1, len(parts)):
                    if parts[i].startswith("_") and not within(mod, ".".join(parts[:i])):
                        bad.append(f"{path.relative_to(root)}:{imp.line} imports {imp.module}")
                continue
            name = names[0]
            if not name.startswith("_") or name.startswith("__"):
                continue
            sub = f"{imp.module}.{name}"
            if sub in modules:  # a private module: fine from inside its package
                if within(mod, imp.module):
                    continue
            elif imp.module == mod:
                continue
            bad.append(f"{path.relative_to(root)}:{imp.line} imports {name} from {imp.module}")
    return bad


def long_files(root: Path) -> list[str]:
    out = []
    for mod, path in sources(root).items():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            out.append(f"{path.relative_to(root)}: {n} lines")
    return out


# -- the repository -------------------------------------------------------------------
def test_no_module_imports_a_higher_layer():
    assert layer_violations(ROOT) == []


def test_no_module_imports_another_modules_private_names():
    assert private_violations(ROOT) == []


def test_no_source_file_over_500_lines():
    assert long_files(ROOT) == []


def test_the_checks_see_every_module():
    mods = sources(ROOT)
    assert {"flamekit", "flamekit.tree", "flamekit.model", "flamekit.cli.diff",
            "flamekit.analysis.diff", "flamekit.formats._io"} <= set(mods)
    imps = imports_of(mods["flamekit.cli.diff"], ROOT)
    assert any(i.module == "flamekit.analysis.diff" for i in imps)  # inside a function too


# -- each rule can fail ---------------------------------------------------------------
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / "flamekit" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    for d in [tmp_path / "flamekit", *(tmp_path / "flamekit").rglob("*")]:
        if d.is_dir() and not (d / "__init__.py").exists():
            (d / "__init__.py").write_text("")
    return tmp_path


@pytest.mark.parametrize("files, needle", [
    ({"model/ops.py": "from ..formats import load\n"}, "the model imports nothing else"),
    ({"tree.py": "def f():\n    from .render import html\n"}, "the model imports nothing else"),
    ({"formats/x.py": "from ..render.html import page\n"}, "a lower layer imports render"),
    ({"analysis/diff/inputs.py": "from ...cli import diff\n"}, "a lower layer imports render or cli"),
    ({"analysis/a.py": "import flamekit.cli.diff\n"}, "a lower layer"),
    ({"__init__.py": "def diff():\n    from .cli.diff import load_side\n"}, "library API"),
])
def test_layer_rule_catches(tmp_path, files, needle):
    root = _tree(tmp_path, files)
    bad = layer_violations(root)
    assert len(bad) == 1 and needle in bad[0], bad


@pytest.mark.parametrize("files, n_bad", [
    ({"render/p.py": "from ..model import _depths\n"}, 1),
    ({"analysis/h.py": "from ..model.ops import _drop_unused, frame_key\n"}, 1),
    ({"formats/a.py": "from . import _io\nfrom ._io import reader\n", "formats/_io.py": ""}, 0),
    ({"cli/d.py": "from ..formats import _io\n", "formats/_io.py": ""}, 1),
    ({"cli/d.py": "import flamekit.formats._io\n", "formats/_io.py": ""}, 1),
    ({"analysis/x.py": "from .. import _forked\n", "_forked.py": ""}, 0),
    ({"m.py": "from . import __version__\n"}, 0),
])
def test_private_rule_catches(tmp_path, files, n_bad):
    assert len(private_violations(_tree(tmp_path, files))) == n_bad


def test_length_rule_catches(tmp_path):
    root = _tree(tmp_path, {"big.py": "x = 1\n" * 501, "ok.py": "x = 1\n" * 500})
    assert long_files(root) == ["flamekit/big.py: 501 lines"]
