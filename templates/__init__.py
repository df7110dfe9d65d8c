"""Report templates (installed as ``flamekit.templates``): jinja2 pages, inlined JS and CSS.

Not Python code: this file only makes the folder a package so that
``importlib.resources.files("flamekit.templates")`` finds it in an installed wheel.
"""
