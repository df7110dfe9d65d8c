"""Analyses (pipeline stage: analysis): results computed from a profile, never formatted.

Modules here return plain dataclasses and pandas DataFrames; renderers in
:mod:`flamekit.render` turn them into text, tables or HTML.

* ``summary``: the facts ``flamekit info`` prints (sample types, totals, threads, metadata).
* ``diff``: the comparison behind ``flamekit diff``.
"""
