"""Frame kinds from file names and modules: the one rule every importer uses (pipeline stage: formats).

The model's ``Frame.kind`` is one of python | native | kernel | jit | inlined |
unknown. Importers that read a frame's source file and/or its module (shared
object, DSO, mapping) ask :func:`frame_kind`, so the same file name gets the same
kind whatever format it came from (issue 12: ``x.go`` was native in speedscope
but unknown in folded; ``.pyi`` python in folded but not in pprof).

What a format states explicitly wins over these rules and stays in its module:
FlameGraph's ``_[k]``/``_[j]``/``_[i]`` annotations, pprof's inlined lines,
perf's ``(inlined)`` pseudo-DSO and ``py::`` trampolines, scalene's frame kind.
When the rules cannot tell (no file, or a file of no known language, and no
module), the importer's ``default`` applies: ``unknown`` unless the tool only
ever sees one kind (austin and CPython's collapsed stacks walk Python frames:
``python``; Chrome's JavaScript frames: ``jit``).
"""
from __future__ import annotations

import re

__all__ = ["frame_kind", "is_kernel_module", "is_jit_module", "PYTHON_SUFFIXES",
           "NATIVE_SUFFIXES"]

#: Source files of Python code (compared lower case).
PYTHON_SUFFIXES = (".py", ".pyx", ".pyi", ".pyw")
#: Pseudo file names CPython gives code without a file.
_PYTHON_PSEUDO = ("<string>", "<stdin>")
#: Source files of natively compiled code (compared lower case; ``.s`` is assembly).
NATIVE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".rs", ".go", ".s",
                   ".so", ".dylib", ".dll")
_SHARED_OBJECT = re.compile(r"\.so(\.[0-9]+)+$")
#: Bracketed perf DSOs that are not the kernel.
_NOT_KERNEL_BRACKETS = frozenset(("[unknown]", "[vdso]", "[vsyscall]", "[vectors]", "[heap]",
                                  "[stack]", "[anon]", "[jit]", "[uprobes]", "[sigpage]",
                                  "[vvar]"))
_PERF_MAP = re.compile(r"(?:^|/)perf-\d+\.map$")
_JITTED = re.compile(r"(?:^|/)jitted-\d+-\d+\.so$")


def is_kernel_module(module: str) -> bool:
    """Return True for a kernel module name: ``[kernel.kallsyms]``, ``[nf_tables]``, ``vmlinux*``, ``bpf_prog_*``."""
    if not module:
        return False
    if module.startswith("[") and module.endswith("]"):
        return module not in _NOT_KERNEL_BRACKETS
    base = module.rsplit("/", 1)[-1]
    return base.startswith("vmlinux") or base.startswith("bpf_prog_")


def is_jit_module(module: str) -> bool:
    """Return True for JIT code maps: ``/tmp/perf-PID.map`` and ``jitted-PID-N.so``."""
    return bool(module) and (_PERF_MAP.search(module) is not None
                             or _JITTED.search(module) is not None)


def frame_kind(file: str = "", module: str = "", *, default: str = "unknown") -> str:
    """Return the kind of a frame from its source ``file`` and ``module``.

    In order: a Python file (``.py``, ``.pyx``, ``.pyi``, ``.pyw``, ``<frozen ...>``,
    ``<string>``, ``<stdin>``) is ``python``; a kernel module is ``kernel``; a JIT
    map is ``jit``; a C/C++/Rust/Go/assembly source or a shared object file
    (``.so``, ``.so.6``, ``.dylib``, ``.dll``) is ``native``; any other module
    (an executable or library mapping) is ``native``. Otherwise ``default``
    (``unknown`` by default).
    """
    if file:
        fl = file.lower()
        if fl.endswith(PYTHON_SUFFIXES) or file.startswith("<frozen ") or file in _PYTHON_PSEUDO:
            return "python"
    if module:
        if is_kernel_module(module):
            return "kernel"
        if is_jit_module(module):
            return "jit"
    if file and (fl.endswith(NATIVE_SUFFIXES) or _SHARED_OBJECT.search(fl)):
        return "native"
    if module:
        return "native"
    return default
