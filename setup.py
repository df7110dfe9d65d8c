"""Build hook for the one optional C extension (everything else is in pyproject.toml).

``flamekit.formats._linetab`` speeds up the tokenize-and-intern loops of the perf-script
importer and the folded-stack reader, and builds the folded reader's stack table.
``optional=True``: without a C compiler the build goes on without it and flamekit uses
its pure-Python twin (identical results; ``flamekit --version`` says which one is in use).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("flamekit.formats._linetab",
                             ["flamekit/formats/_linetab.c", "flamekit/formats/_linetab_folded.c",
                              "flamekit/formats/_linetab_tree.c"],
                             depends=["flamekit/formats/_linetab.h"], optional=True)])
