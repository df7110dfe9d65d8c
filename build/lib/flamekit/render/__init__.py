"""Renderers (pipeline stage: render): turn model and analysis results into output.

One module per output, each only rendering (never parsing):

* :mod:`flamekit.render.terminal`: rich tables on a terminal, plain aligned text
  or CSV otherwise (``flamekit top``, ``flamekit info``).
* ``html`` / ``payload``: the self-contained HTML report (``flamekit report``).
"""
