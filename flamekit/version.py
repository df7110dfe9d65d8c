"""The flamekit version, in a module of its own so that any module can read it without
importing the package's public API (and with it the model and pandas)."""

__version__ = "0.1.0"


def tokenizer() -> str:
    """Say which tokenize-and-intern loop the text importers use: ``compiled`` or ``pure-Python``.

    The compiled one is the optional C extension ``flamekit.formats._linetab`` (built
    at install time when a C compiler is present); it is loaded here from its file,
    without importing flamekit.formats (and numpy), so ``flamekit --version`` stays fast.
    """
    import importlib.machinery
    import importlib.util
    import os

    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "formats")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(here, "_linetab" + suffix)
        if os.path.isfile(path):
            try:
                loader = importlib.machinery.ExtensionFileLoader("flamekit.formats._linetab", path)
                spec = importlib.util.spec_from_file_location("flamekit.formats._linetab", path,
                                                              loader=loader)
                if spec is not None:
                    mod = loader.create_module(spec)
                    loader.exec_module(mod)
                    if hasattr(mod, "paths_tree"):  # else a stale build: _lines ignores it
                        return "compiled"
            except ImportError:
                pass
    return "pure-Python"
