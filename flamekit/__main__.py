"""``python -m flamekit`` entry point."""
from .cli import entry

entry()
