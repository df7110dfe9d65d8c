"""Command-line spine (pipeline stage: cli): ``flamekit <command> ...``.

Each subcommand lives in its own module exposing ``NAME``, ``HELP``,
``DESCRIPTION``, ``add_arguments(parser)``, ``run(args) -> int`` and optionally
``EPILOG`` (examples, shown by ``--help``). ``main`` turns every
:class:`~flamekit.errors.FlamekitError` into one line, ``flamekit: <message>``,
and its exit code (2 bad input/usage, 1 failed recording, 3 regression gate);
no traceback for expected failures.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
from typing import Sequence

from ..version import __version__
from ..atomic import all_or_nothing
from ..errors import FlamekitError
from .startup import command_imports

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = ("record", "compare", "report", "diff", "top", "dump", "info", "convert")

#: Each command's one-line ``HELP`` (equal to the module's; a test checks), so that
#: ``flamekit --help`` and ``--version`` import no command module (numpy, pandas...):
#: only the command being run is imported and given its arguments.
HELPS: dict[str, str] = {
    "record": "record a PID or a command with py-spy, scalene, perf or memray",
    "compare": "did my branch make it slower? record base and head in git worktrees, interleaved, and diff",
    "report": "write a self-contained HTML report (flame graph, hotspots, allocations, notes)",
    "diff": "compare profiles: new hotspots, with statistics, a differential flame graph and CI output",
    "top": "list the hottest functions (self and total), as a table or CSV",
    "dump": "print every thread's current stack of a running Python process (py-spy dump)",
    "info": "show a profile's format, sample types, totals, threads and metadata",
    "convert": "convert a profile between formats (folded, speedscope, native JSON, ...)",
}

#: Exit code for an unexpected internal error (a bug; BSD sysexits EX_SOFTWARE).
EXIT_INTERNAL = 70

DESCRIPTION = """\
flamekit - record, convert, diff and report Python profiles.

Drives py-spy, scalene and Linux perf, reads their output (and folded,
speedscope, pprof, Chrome, austin... files), and turns it into tables,
diffs and self-contained HTML flame graphs. Formats are detected by content.
"""

EPILOG = """\
examples:
  flamekit record -o run.json --html run.html -- python3 sample_workloads/backtest_loop.py
  flamekit top run.json -n 15
  flamekit info run.json
  flamekit report run.json -o run.html
  flamekit convert out.perf -o out.folded
  flamekit diff base.json head.json -o diff.html --fail-on-regression 2
  flamekit compare --base origin/main --fail-on-regression 2 -- python3 bench.py

exit codes: 0 ok, 1 recording failed, 2 bad input or usage, 3 regression found,
            70 internal error (a bug: please report it with FLAMEKIT_DEBUG=1 output)
run 'flamekit COMMAND --help' for a command's options.
"""


def _modules():
    return [importlib.import_module(f"{__name__}.{name}") for name in COMMANDS]


def _invoked(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs (its first word not starting with ``-``), or None."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


class _Version(argparse.Action):
    """``--version``: the version and the tokenizer in use (compiled or pure-Python)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[override]
        from ..version import tokenizer

        sys.stdout.write(f"flamekit {__version__} ({tokenizer()} tokenizer)\n")
        parser.exit()


def build_parser(only: str | None = None, *, lazy: bool = False) -> argparse.ArgumentParser:
    """Return the top-level argument parser with one subparser per command.

    By default every command module is imported and declares its arguments.
    With ``lazy=True`` only the command ``only`` is (None: none), the others
    are listed by name and :data:`HELPS` alone, so ``--help``/``--version``
    import nothing heavy.
    """
    names = set(COMMANDS)
    epilog = "\n".join(ln for ln in EPILOG.splitlines()
                       if not ln.startswith("  flamekit ") or ln.split()[1] in names)
    parser = argparse.ArgumentParser(
        prog="flamekit", description=DESCRIPTION, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version,
                        help="show the version and which tokenizer the text importers use")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if lazy and name != only:
            sub.add_parser(name, help=HELPS[name])
            continue
        mod = importlib.import_module(f"{__name__}.{name}")
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                           epilog=getattr(mod, "EPILOG", None),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null after a broken pipe, so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _no_transparent_hugepages() -> None:
    """Stop numpy from asking for transparent huge pages (unless NUMPY_MADVISE_HUGEPAGE is set).

    numpy ``madvise``s every array of 4 MB or more for huge pages. flamekit's
    big steps allocate many short-lived arrays of tens of MB, and on a shared
    machine the kernel's zeroing and compaction of fresh huge pages cost more
    than the TLB misses they save: a 100k-stack diff took 0.93 s with them and
    0.61 s without (``benchmarks/diff_speed.py``). The variable numpy reads at
    import cannot be set here (flamekit imports numpy first), so the switch
    is flipped at run time; an explicit ``NUMPY_MADVISE_HUGEPAGE`` wins.
    """
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:
        try:
            from numpy.core.multiarray import _set_madvise_hugepage  # numpy 1.x
        except ImportError:
            return
    try:
        _set_madvise_hugepage(False)
    except Exception:  # a private switch: never let it stop the command
        pass


def _error(message: str) -> None:
    """Print ``flamekit: <message>`` to stderr as one line (names and paths in it escaped)."""
    from ..render.terminal import safe_text

    print("flamekit: " + safe_text(message, None), file=sys.stderr)


def main(argv: Sequence[str] | None = None, *, own_process: bool = False) -> int:
    """Run flamekit with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    ``own_process``: flamekit owns the interpreter (:func:`entry`), so the command's
    modules load as :func:`flamekit.cli.startup.command_imports` says (one BLAS thread,
    the garbage collector tuned for a short-lived process).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    with command_imports() if own_process else contextlib.nullcontext():
        parser = build_parser(_invoked(argv), lazy=True)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error (argparse printed it)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    _no_transparent_hugepages()  # after parsing: --help and --version need no numpy
    old_handlers = _signals_interrupt()
    try:
        with all_or_nothing():  # a failed command leaves none of its outputs
            code = int(args._run(args) or 0)
            sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at exit
        return code
    except Terminated as e:
        print(f"flamekit: stopped by {e.name}; no output written", file=sys.stderr)
        return 128 + e.signum
    except FlamekitError as e:
        _error(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        print("flamekit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # e.g. `flamekit top x | head`: not an error worth a traceback
        _silence_stdout()
        return 0
    except OSError as e:  # a file we could not open, read or write
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        _error(f"{where}{e.strerror or e}")
        return 2
    except Exception as e:  # a bug: one line by default, the traceback on request
        if os.environ.get("FLAMEKIT_DEBUG"):
            raise
        _error(f"internal error: {type(e).__name__}: {e} (set FLAMEKIT_DEBUG=1 for a traceback)")
        return EXIT_INTERNAL
    finally:
        for sig, handler in old_handlers:
            signal.signal(sig, handler)
        if "flamekit.formats" in sys.modules:  # copies of piped inputs (the CLI ends by os._exit)
            from ..formats import remove_spooled

            remove_spooled()


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived (a service manager stopping flamekit, a closed SSH session).

    A subclass of :class:`KeyboardInterrupt`, so every place that keeps what it
    has on Ctrl-C does the same here, and every ``finally`` removes its
    temporary files; :func:`main` exits with ``128 + signum``.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(self.name)


def _signals_interrupt() -> list:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` in the main thread; return the old handlers."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return []

    def raise_terminated(signum, frame):  # noqa: ARG001
        raise Terminated(signum)

    old = []
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            old.append((sig, signal.signal(sig, raise_terminated)))
        except (OSError, ValueError):
            pass
    return old


def entry() -> None:
    """Console-script and ``python -m flamekit`` entry: :func:`main`, then a quick exit.

    Once ``main`` has returned, every output is written (atomically, and
    closed) and the standard streams are flushed here; tearing the interpreter
    down would then only free memory, which for a diff of two 200 MB profiles
    costs about 0.15 s. So the process ends with ``os._exit``. flamekit
    registers no exit handlers; ``FLAMEKIT_NO_FAST_EXIT=1`` restores the usual
    exit (for tools that hook interpreter shutdown, such as coverage).
    """
    try:
        code = main(own_process=True)
    except KeyboardInterrupt:  # Ctrl-C while the command modules still load: no traceback
        print("flamekit: interrupted", file=sys.stderr)
        code = 130
    if os.environ.get("FLAMEKIT_NO_FAST_EXIT"):
        sys.exit(code)
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # a closed pipe: nothing more can reach it
        pass
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)
