"""Page shells rendered once (pipeline stage: render): a report page without jinja2 at run time.

A page is a template of ``templates/`` rendered with a few values that change from run
to run (the title, the data JSON, the notes...) and much that does not (the markup, the
inlined scripts and styles, their CSP hashes, the version). Importing jinja2 and
compiling the templates took about 20 ms of a 0.38 s report of 1,000 stacks (issue 15),
so the first run renders the page's *shell* with jinja2, a unique marker in place of each
value, and keeps it in the user's cache directory; later runs put the values, escaped as
jinja2's autoescape does (:func:`markupsafe.escape`: a :class:`~markupsafe.Markup`
value verbatim, any other text escaped), where the markers were.

The output is byte for byte what jinja2 would render, because a shell is made and kept
only when:

* every value that becomes a marker is text, and the templates use it in two ways only:
  printed as it is (``{{ title }}``, autoescaped) or tested for being empty
  (``{% if notes_html %}``) -- checked on jinja2's syntax tree of the page and every
  template it extends or includes (:func:`printed_or_tested`); no filter, comparison,
  assignment, macro, ``{% autoescape %}`` or ``{% filter %}`` block may touch it;
* whether each value is empty is part of the key (an empty value is no marker), as are
  the values that are not text, which may only be None, booleans or integers (they are
  rendered into the shell as they are; a page with any other value is not cached, so
  no data of a profile is ever written to the cache);
* two renderings with different markers split into the same pieces, and the shell filled
  with this run's values equals jinja2's rendering of them.

An entry is found by a key made of the page (template, scripts, styles), the value
names, the fingerprint of every file under ``templates/`` (size, CRC-32 and Adler-32),
and the version and files of flamekit's renderer, jinja2 and markupsafe; the whole key
is stored in the entry and compared. Anything that goes wrong (no cache directory, a
read-only or full disk, a damaged entry) falls back to rendering with jinja2.
``FLAMEKIT_PAGE_CACHE=0`` turns the cache off. The directory is
``$XDG_CACHE_HOME/flamekit/pages`` (default ``~/.cache/flamekit/pages``); it keeps the
:data:`MAX_ENTRIES` entries written last (about 170 kB each for a report page).
"""
from __future__ import annotations

import json
import os
import sys
import zlib
from typing import Any, Callable, Iterable, Mapping

from ..atomic import atomic_output
from ..errors import OutputError

#: Bumped when the entry's layout or the way shells are made changes.
FORMAT = 1
#: Entries kept in the folder; writing one more removes the least recently written
#: (each checkout, upgrade or edited template makes new ones).
MAX_ENTRIES = 32


def cache_dir() -> str | None:
    """Return the folder that holds page shells (None: no home folder to put it in)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "flamekit", "pages")


def _module_file(name: str) -> list:
    """Size and modification time of a module's file (where it is, without importing it)."""
    from importlib.util import find_spec

    try:
        spec = find_spec(name)
        st = os.stat(spec.origin) if spec and spec.origin else None
    except (ImportError, ValueError, OSError):
        return [name, None]
    return [name, spec.origin, st.st_size, st.st_mtime_ns] if st else [name, None]


def fingerprint(files: Iterable[tuple[str, bytes]], code: Iterable[str]) -> list:
    """Return what a shell depends on: the template files' fingerprints and the code's files."""
    out: list[Any] = [FORMAT]
    out.append(sorted([name, len(data), zlib.crc32(data), zlib.adler32(data)] for name, data in files))
    for path in code:
        try:
            st = os.stat(path)
            out.append([path, st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([path, None])
    out.append(_module_file("jinja2"))
    out.append(_module_file("markupsafe"))
    return out


def fill(parts: list[str], values: Mapping[str, Any]) -> str:
    """Return a shell (literal text and value names, alternating) with the values escaped in."""
    from markupsafe import escape

    out = parts[:]
    for i in range(1, len(out), 2):
        out[i] = str(escape(values[out[i]]))
    return "".join(out)


def _split(page: str, markers: Mapping[str, str]) -> list[str]:
    """Cut a page rendered with ``markers`` into literal text and value names, alternating."""
    import re

    if not markers:
        return [page]
    by_marker = {m: name for name, m in markers.items()}
    pieces = re.split("(" + "|".join(re.escape(m) for m in markers.values()) + ")", page)
    for i in range(1, len(pieces), 2):
        pieces[i] = by_marker[pieces[i]]
    return pieces


def make_shell(values: Mapping[str, Any], slots: list[str],
               render: Callable[[Mapping[str, Any]], str]) -> list[str] | None:
    """Render the page twice with different markers for ``slots``; return the shell, or None
    when the two renderings do not cut into the same pieces."""
    shells = []
    for width in (8, 12):
        token = os.urandom(width).hex()
        markers = {name: f"fkslot{i}x{token}z" for i, name in enumerate(slots)}
        shells.append(_split(render({**values, **markers}), markers))
    return shells[0] if shells[0] == shells[1] else None


def printed_or_tested(env: Any, template: str, names: frozenset[str]) -> bool:
    """True when the template, and each one it extends or includes, uses ``names`` only as
    ``{{ name }}`` or ``{% if name %}`` (and no block changes escaping or filters output)."""
    from jinja2 import nodes

    banned = (nodes.FilterBlock, nodes.EvalContextModifier, nodes.CallBlock, nodes.Macro)
    todo, seen = [template], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        tree = env.parse(env.loader.get_source(env, name)[0])
        if any(True for _ in tree.find_all(banned)):
            return False
        for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
            if not isinstance(node.template, nodes.Const):
                return False
            todo.append(node.template.value)
        if not _uses_ok(tree, names, nodes):
            return False
    return True


def _uses_ok(node: Any, names: frozenset[str], nodes: Any) -> bool:
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.Name) and child.name in names:
            if child.ctx != "load":  # assigned, a loop target, a parameter: shadowed
                return False
            if isinstance(node, nodes.Output) or (isinstance(node, nodes.If) and node.test is child):
                continue
            return False
        if not _uses_ok(child, names, nodes):
            return False
    return True


def render(page: str, values: Mapping[str, Any], *, files: Callable[[], Iterable[tuple[str, bytes]]],
           code: Iterable[str], render: Callable[[Mapping[str, Any]], str],
           cacheable: Callable[[frozenset[str]], bool]) -> str:
    """Return ``render(values)``, from a cached shell when there is one (see the module).

    ``page`` names the page variant (template, scripts, styles); ``files`` yields every
    template file as ``(name, bytes)``; ``code`` lists the source files whose change makes
    a shell stale; ``cacheable(names)`` tells whether the templates use those values only
    as :func:`printed_or_tested` allows.
    """
    folder = cache_dir()
    if os.environ.get("FLAMEKIT_PAGE_CACHE", "1") == "0" or folder is None \
            or not all(v is None or isinstance(v, (str, bool, int)) for v in values.values()):
        return render(values)  # (other values could hold data, which the cache must never keep)
    slots = sorted(k for k, v in values.items() if isinstance(v, str) and v)
    fixed = sorted((k, repr(v)) for k, v in values.items() if k not in slots)
    try:
        key = json.dumps([page, slots, fixed, fingerprint(files(), code)], sort_keys=True)
    except (OSError, TypeError, ValueError):
        return render(values)
    path = os.path.join(folder, f"{zlib.crc32(key.encode()):08x}.json")
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
        if entry.get("key") == key:
            return fill(entry["parts"], values)
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        pass
    html = render(values)
    if not cacheable(frozenset(slots)):
        return html
    parts = make_shell(values, slots, render)
    if parts is None or fill(parts, values) != html:
        return html
    _store(folder, path, {"key": key, "parts": parts})
    return html


def _store(folder: str, path: str, entry: dict) -> None:
    """Write an entry atomically (:func:`flamekit.atomic.atomic_output`: a reader sees the old
    entry or the new one); never raise."""
    try:
        os.makedirs(folder, exist_ok=True)
        with atomic_output(path, "w") as f:
            json.dump(entry, f, separators=(",", ":"))
        _prune(folder)
    except (OSError, OutputError) as e:
        if os.environ.get("FLAMEKIT_DEBUG"):
            print(f"flamekit: page cache not written ({e})", file=sys.stderr)


def _prune(folder: str) -> None:
    """Keep the :data:`MAX_ENTRIES` most recently written entries of ``folder``."""
    entries = []
    for name in os.listdir(folder):
        if len(name) == 13 and name.endswith(".json"):
            try:
                entries.append((os.stat(os.path.join(folder, name)).st_mtime_ns, name))
            except OSError:
                continue
    for _, name in sorted(entries, reverse=True)[MAX_ENTRIES:]:
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass
