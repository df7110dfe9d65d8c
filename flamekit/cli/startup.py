"""Start-up of a ``flamekit`` process (pipeline stage: cli): settings for a short-lived command.

Most inputs are small, and then start-up is most of a command's time (issue 15: a report
of 1,000 stacks is about half imports). Two settings help, and they are applied only when
flamekit owns its interpreter (:func:`flamekit.cli.entry`, the console script and
``python -m flamekit``), never when :func:`flamekit.cli.main` is called from another
program or a test, whose interpreter is not ours to tune:

* **One BLAS thread.** numpy's wheels carry OpenBLAS, which starts a thread per core
  when numpy loads, and those threads spin a while waiting for work that flamekit never
  gives them (it does no linear algebra beyond the diff's matrix-vector products with a
  column per run). On this project's 2-core machine the second thread cost a report of
  1,000 stacks about 60 ms of its 415 ms of CPU (medians of 11 alternating runs).
  ``OPENBLAS_NUM_THREADS=1`` is set while the command's modules (and numpy) load, and
  removed right after, so that programs flamekit runs (``record``) see the user's
  environment; a thread count the user set (``OPENBLAS_NUM_THREADS``,
  ``GOTO_NUM_THREADS`` or ``OMP_NUM_THREADS``, the variables OpenBLAS reads) wins.
* **The cyclic garbage collector.** Importing numpy and flamekit makes about 36,000
  objects the collector tracks, nearly all of which live until the process ends, and
  CPython's collector (its young generation collected every 700 allocations) walks them
  again and again as they age: 40-50 ms of that report went to 145 collections (timed
  with ``gc.callbacks``). So the collector is paused while the modules load, what they
  made is frozen (:func:`gc.freeze`: never walked again), and the young generation is
  then collected every :data:`GEN0_THRESHOLD` allocations, the figure mypy uses for its
  own large heap (``gc.set_threshold(200 * 1000, 30, 30)`` in ``mypy/main.py``): no
  collection is left in that report (at 50,000, 3 were: 7 ms), nor in a report of 1M
  stacks (2 at 50,000), whose peak RSS is the same. Cycles are still collected; later.
"""
from __future__ import annotations

import contextlib
import gc
import os
from typing import Iterator

#: Environment variables that set OpenBLAS's thread count, in the order it reads them.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
#: Allocations between two collections of the young generation (CPython's default: 700).
GEN0_THRESHOLD = 200_000


@contextlib.contextmanager
def command_imports() -> Iterator[None]:
    """Load a command's modules (inside the ``with``) the way a short-lived process should.

    While inside: one OpenBLAS thread for a numpy loaded here (unless the user set a
    count) and no cyclic collection. On leaving: the environment as it was, the objects
    made so far frozen, and the collector back on (if it was) with the young generation
    collected every :data:`GEN0_THRESHOLD` allocations.
    """
    blas = not any(v in os.environ for v in BLAS_THREAD_VARIABLES)
    collecting = gc.isenabled()
    gc.disable()
    if blas:
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        if blas:
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
        gc.freeze()
        gc.set_threshold(GEN0_THRESHOLD, *gc.get_threshold()[1:])
        if collecting:
            gc.enable()
