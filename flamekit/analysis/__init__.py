"""Analyses (pipeline stage: analysis): results computed from a profile, never formatted.

Modules here return plain dataclasses and pandas DataFrames; renderers in
:mod:`flamekit.render` turn them into text, tables or HTML.

* ``summary``: the facts ``flamekit info`` prints (sample types, totals, threads, metadata).
* ``hotspots``: the top functions with their heaviest call paths; allocation sites.
* ``report``: the typed :class:`~flamekit.analysis.report.ReportData` the HTML report renders.
* ``source``: per-line self and total of each function and the source text around them
  (the report's source view).
* ``diff/``: the comparison behind ``flamekit diff`` and :func:`flamekit.diff` (inputs,
  run preparation, significance, the union tree, the result type).
"""
