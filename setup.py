"""Build hook for the one optional C extension (everything else is in pyproject.toml).

``flamekit.formats._linetab`` speeds up the perf-script importer's tokenize-and-intern
loop. ``optional=True``: without a C compiler the build goes on without it and
flamekit uses its pure-Python twin (identical results; ``flamekit --version`` says
which one is in use).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("flamekit.formats._linetab", ["flamekit/formats/_linetab.c"],
                             optional=True)])
