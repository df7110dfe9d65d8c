#!/usr/bin/env python3
"""Fetch flamekit's conformance corpus into a cache folder and verify every file's sha256.

    python3 .ci/fetch_corpus.py [--dest DIR] [--from COPY] [--base-url URL] [--manifest TSV]

Reads ``.ci/corpus.tsv`` (path, origin repository, origin path, commit, sha256,
how, and the facts the tests read: format, for_input, options, description) and
writes ``DEST/corpus/PATH`` for every row with a public origin, so that
``FLAMEKIT_SHARED=DEST`` is what the tests read (``$FLAMEKIT_SHARED/corpus``).

* A row with an origin is downloaded from ``BASE/REPO/COMMIT/ORIGIN_PATH``
  (GitHub's raw file host by default; ``--base-url`` or
  ``FLAMEKIT_CORPUS_BASE_URL`` point elsewhere, e.g. a mirror or a test server).
* A row without one is not needed by the tests: the hostile files are generated
  at test time (``tests/hostile_corpus.py``), and the index files' facts are the
  manifest's own columns. With ``--from COPY`` (a corpus folder, e.g. another
  machine's ``shared/corpus``) they are copied too, and verified like the rest.
* With ``--from COPY`` every file COPY has is copied from it instead (offline).
* Every file is checked against its sha256 before it is put in place (written
  to a temporary name, renamed only when it matches); a mismatch is an error,
  never a silent skip. Files already in place with the right sha256 are kept.

Exit status 0 when every row with an origin (and, with ``--from``, every row) is in
place and verified; 1 otherwise, with one line per problem on stderr; 2 for a bad
manifest or bad arguments.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import csv
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_BASE = "https://raw.githubusercontent.com"  # GitHub serves REPO/COMMIT/PATH here
#: tests/conftest.py looks here when neither $FLAMEKIT_SHARED nor ../shared is there
DEFAULT_DEST = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flamekit-shared"


@dataclass(frozen=True)
class Row:
    """One corpus file: where it goes, where it comes from, what it must hash to."""

    path: str
    repo: str
    origin_path: str
    commit: str
    sha256: str
    how: str

    @property
    def has_origin(self) -> bool:
        """True when the file can be downloaded from a public repository."""
        return self.repo != "-"


def read_manifest(path: Path) -> list[Row]:
    """Read the manifest (``#`` comment lines, then a TSV with a header); SystemExit(2) when malformed."""
    with open(path, newline="", encoding="utf-8") as f:
        lines = [ln for ln in f if not ln.startswith("#")]
    rows = []
    for i, r in enumerate(csv.DictReader(lines, delimiter="\t"), 2):
        try:
            row = Row(r["path"], r["origin_repo"], r["origin_path"], r["commit"], r["sha256"].lower(), r["how"])
        except (KeyError, AttributeError):
            raise SystemExit(f"fetch_corpus: {path}: row {i}: missing columns") from None
        bad = (os.path.isabs(row.path) or ".." in Path(row.path).parts or len(row.sha256) != 64
               or (row.has_origin and not (row.commit and row.origin_path)))
        if bad:
            raise SystemExit(f"fetch_corpus: {path}: row {i}: bad row {row.path!r}")
        rows.append(row)
    return rows


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def url_of(row: Row, base: str) -> str:
    """Return the download URL of a row: BASE/REPO/COMMIT/ORIGIN_PATH (path quoted)."""
    return f"{base.rstrip('/')}/{row.repo}/{row.commit}/{urllib.parse.quote(row.origin_path)}"


def _put(row: Row, dest: Path, data_from) -> str | None:
    """Write a row's bytes (from ``data_from(tmp_file)``) verified into place; return an error or None."""
    target = dest / row.path
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".fetch-")
    try:
        with os.fdopen(fd, "wb") as f:
            data_from(f)
        got = sha256_of(Path(tmp))
        if got != row.sha256:
            return f"{row.path}: sha256 mismatch: got {got}, manifest says {row.sha256}"
        os.replace(tmp, target)
        tmp = ""
        return None
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)


def fetch_one(row: Row, dest: Path, base: str, copy_from: Path | None) -> str | None:
    """Put one row in place (copy from ``copy_from`` when it has the file, else download); return a problem or None.

    A row without an origin and no ``copy_from`` is left out (the tests do not need it).
    A copy is verified like a download, so ``--from`` also fills the cache offline.
    """
    target = dest / row.path
    if target.is_file() and sha256_of(target) == row.sha256:
        return None
    if not row.has_origin and copy_from is None:
        return None
    if copy_from is not None and (copy_from / row.path).is_file():
        src = copy_from / row.path

        def copy(f) -> None:
            with open(src, "rb") as s:
                shutil.copyfileobj(s, f)

        return _put(row, dest, copy)
    if not row.has_origin:
        return f"{row.path}: no public origin ({row.how}) and not in --from {copy_from}"
    url = url_of(row, base)

    def download(f) -> None:
        with urllib.request.urlopen(url, timeout=30) as r:
            shutil.copyfileobj(r, f)

    try:
        return _put(row, dest, download)
    except urllib.error.HTTPError as e:
        return f"{row.path}: download failed: HTTP {e.code} from {url}"
    except (urllib.error.URLError, OSError) as e:
        return f"{row.path}: {UNREACHABLE}: {getattr(e, 'reason', e)} ({url})"


#: the problem text of a download that got no answer at all (name lookup, connection, timeout)
UNREACHABLE = "download failed, no answer"


def needs_download(row: Row, dest: Path, copy_from: Path | None) -> bool:
    """True when ``row`` is not verified in place yet and would come from its origin (not from a copy)."""
    target = dest / row.path
    if not row.has_origin or (copy_from is not None and (copy_from / row.path).is_file()):
        return False
    return not (target.is_file() and sha256_of(target) == row.sha256)


def main(argv: list[str] | None = None) -> int:
    """Fetch every manifest row into DEST/corpus; return 0 when all are verified, else 1."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", type=Path, default=DEFAULT_DEST,
                    help=f"cache folder; files go to DEST/corpus (default {DEFAULT_DEST})")
    ap.add_argument("--from", dest="copy_from", type=Path,
                    help="a corpus folder to copy files from (verified; also the files without a public origin)")
    ap.add_argument("--base-url", default=os.environ.get("FLAMEKIT_CORPUS_BASE_URL", DEFAULT_BASE),
                    help="where REPO/COMMIT/PATH is downloaded from (default: GitHub's raw file host)")
    ap.add_argument("--manifest", type=Path, default=HERE / "corpus.tsv", help="the manifest (.ci/corpus.tsv)")
    ap.add_argument("-j", "--jobs", type=int, default=8, help="parallel downloads (default 8)")
    a = ap.parse_args(argv)
    rows = read_manifest(a.manifest)
    dest = a.dest / "corpus"
    # one download first: when the origin host gives no answer at all (no network, a firewall),
    # say so once and stop, rather than waiting out a timeout for each of hundreds of files
    first = next((r for r in rows if needs_download(r, dest, a.copy_from)), None)
    if first is not None:
        problem = fetch_one(first, dest, a.base_url, a.copy_from)
        if problem and UNREACHABLE in problem:
            left = sum(needs_download(r, dest, a.copy_from) for r in rows)
            print(f"fetch_corpus: cannot reach {a.base_url}: {problem.split(': ', 2)[-1]}; {left} files not "
                  f"fetched (with no network, --from COPY copies them from a copy of the corpus)", file=sys.stderr)
            return 1
    with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as pool:
        problems = [p for p in pool.map(lambda r: fetch_one(r, dest, a.base_url, a.copy_from), rows) if p]
    for p in problems[:20]:
        print(f"fetch_corpus: {p}", file=sys.stderr)
    if len(problems) > 20:
        print(f"fetch_corpus: ... and {len(problems) - 20} more", file=sys.stderr)
    wanted = [r for r in rows if r.has_origin or a.copy_from is not None]
    ok = len(wanted) - len(problems)
    left = len(rows) - len(wanted)
    print(f"fetch_corpus: {ok} of {len(wanted)} files in place and verified in {dest}"
          + (f"; {len(problems)} missing or wrong" if problems else "")
          + (f"; {left} without a public origin left out (the tests generate the hostile files and read "
             f"the indexes' facts from {a.manifest.name})" if left else ""), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
