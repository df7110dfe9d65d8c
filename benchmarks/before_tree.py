"""Build a BEFORE tree's compiled tokenizer, so that BEFORE and AFTER compare like with like.

A git worktree or ``git archive`` of a ref holds no built extension (``*.so`` is not
committed), so without this the BEFORE side of ``--before`` ran the pure-Python
tokenizer while the working tree ran the compiled one: on ``folded-1m`` that alone is
about twice the time (on ``folded-1k`` about 10 ms). A ref without ``setup.py``
predates the extension and is left as it is.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def build_extension(tree: Path) -> str:
    """Build ``tree``'s optional C extension in place (when it has one); return the tokenizer
    that tree uses, as ``flamekit --version`` says it (``compiled`` or ``pure-Python``)."""
    if (tree / "setup.py").is_file():
        subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=tree,
                       capture_output=True, timeout=600)
    out = subprocess.run([sys.executable, "-m", "flamekit", "--version"], cwd=tree, text=True,
                         capture_output=True, env=dict(os.environ, PYTHONPATH=str(tree)))
    words = out.stdout.split("(")[-1].split()
    return words[0] if out.returncode == 0 and words else "unknown"
