"""Renderers (pipeline stage: render): turn model and analysis results into text.

One module per output, each only rendering (never parsing, never computing
analysis results); outputs are written by :mod:`flamekit.atomic`:

* :mod:`~flamekit.render.terminal`: rich tables on a terminal, plain aligned text
  or CSV otherwise (``flamekit top``, ``info``, the ``diff`` summary); the one
  terminal escaping rule (:func:`~flamekit.render.terminal.safe_text`).
* :mod:`~flamekit.render.html` + :mod:`~flamekit.render.payload`: the self-contained
  HTML report from a :class:`~flamekit.analysis.report.ReportData`; the payload
  module is the one flame graph data builder (report and diff page), with the one
  clipping rule for page strings; :mod:`~flamekit.render.report_views` the report
  sections of the library switch and the source view.
* :mod:`~flamekit.render.diff_html`, :mod:`~flamekit.render.markdown`,
  :mod:`~flamekit.render.diff_json`: a :class:`~flamekit.analysis.diff.DiffResult` as
  a page, a pull-request comment, and JSON.
* :mod:`~flamekit.render.svg`, :mod:`~flamekit.render.stacks`, :mod:`~flamekit.render.notes`:
  static SVG flame graphs, ``flamekit dump`` stacks, sanitized Markdown notes;
  :mod:`~flamekit.render.coverage`: how much of a recording the samples stand for.
"""
