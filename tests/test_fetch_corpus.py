"""The corpus manifest (.ci/corpus.tsv) and its fetch script (.ci/fetch_corpus.py).

GitHub cannot be reached here: the fetch is tested against a stand-in HTTP
server on 127.0.0.1 that serves REPO/COMMIT/PATH the way GitHub's raw file host
does, built from the shared corpus's own files (``--base-url`` points at it).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import ROOT, require_corpus

sys.path.insert(0, str(ROOT / ".ci"))
import fetch_corpus  # noqa: E402

MANIFEST = ROOT / ".ci" / "corpus.tsv"
SCRIPT = ROOT / ".ci" / "fetch_corpus.py"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_lists_every_corpus_file_with_its_sha256():
    corpus = require_corpus()
    rows = {r.path: r for r in fetch_corpus.read_manifest(MANIFEST)}
    on_disk = {str(p.relative_to(corpus)) for p in corpus.rglob("*") if p.is_file()}
    assert set(rows) == on_disk
    wrong = [p for p in sorted(on_disk) if sha(corpus / p) != rows[p].sha256]
    assert wrong == []
    # every real-world file has its origin; only the hand-made files and the indexes have none
    no_origin = sorted(p for p, r in rows.items() if not r.has_origin)
    assert all(p.startswith("hostile/") or p.endswith((".tsv", ".md")) for p in no_origin), no_origin
    assert all(r.how for p, r in rows.items() if not r.has_origin)
    assert sum(r.has_origin for r in rows.values()) > 250


class Counting(SimpleHTTPRequestHandler):
    """Serve files from a folder; count the requests."""

    hits: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        Counting.hits.append(self.path)
        super().do_GET()


@pytest.fixture()
def github_stand_in(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www as REPO/COMMIT/PATH (GitHub is unreachable here)."""
    www = tmp_path / "www"
    www.mkdir()
    Counting.hits = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), partial(Counting, directory=str(www)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def run_fetch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_fetch_verifies_every_file(tmp_path, github_stand_in):
    corpus = require_corpus()
    www, url = github_stand_in
    rows = fetch_corpus.read_manifest(MANIFEST)
    with_origin = [r for r in rows if r.has_origin][:6]
    hand_made = [r for r in rows if not r.has_origin and r.path.startswith("hostile/")][:1]
    for r in with_origin:
        served = www / r.repo / r.commit / r.origin_path
        served.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(corpus / r.path, served)
    manifest = tmp_path / "m.tsv"
    lines = MANIFEST.read_text().splitlines()
    header = [ln for ln in lines if ln.startswith("#") or ln.startswith("path\t")]
    manifest.write_text("\n".join(header + [ln for ln in lines if ln.split("\t")[0] in
                                            {r.path for r in with_origin + hand_made}]) + "\n")
    dest = tmp_path / "cache"

    # a served file that does not match its sha256 is an error, and is not put in place
    bad = with_origin[0]
    served_bad = www / bad.repo / bad.commit / bad.origin_path
    good_bytes = served_bad.read_bytes()
    served_bad.write_bytes(good_bytes + b"\n")
    r = run_fetch("--manifest", str(manifest), "--dest", str(dest), "--base-url", url)
    assert r.returncode == 1
    assert f"{bad.path}: sha256 mismatch" in r.stderr
    assert f"{hand_made[0].path}: no public origin" in r.stderr and "--from" in r.stderr
    assert not (dest / "corpus" / bad.path).exists()
    assert not list((dest / "corpus").rglob(".fetch-*"))  # no temporary file left
    for row in with_origin[1:]:
        assert sha(dest / "corpus" / row.path) == row.sha256

    # fixed server + --from for the hand-made file: everything in place, verified
    served_bad.write_bytes(good_bytes)
    Counting.hits = []
    r = run_fetch("--manifest", str(manifest), "--dest", str(dest), "--base-url", url, "--from", str(corpus))
    assert r.returncode == 0, r.stderr
    assert f"{len(with_origin) + 1} of {len(with_origin) + 1} files in place and verified" in r.stderr
    assert len(Counting.hits) == 1  # the files verified before are not downloaded again
    for row in with_origin + hand_made:
        assert sha(dest / "corpus" / row.path) == row.sha256

    # a file changed in the cache is fetched again
    (dest / "corpus" / with_origin[1].path).write_bytes(b"tampered")
    r = run_fetch("--manifest", str(manifest), "--dest", str(dest), "--base-url", url, "--from", str(corpus))
    assert r.returncode == 0 and sha(dest / "corpus" / with_origin[1].path) == with_origin[1].sha256


def test_unreachable_origin_is_an_error(tmp_path):
    manifest = tmp_path / "m.tsv"
    lines = MANIFEST.read_text().splitlines()
    first = next(ln for ln in lines if not ln.startswith(("#", "path\t")) and ln.split("\t")[1] != "-")
    manifest.write_text("path\torigin_repo\torigin_path\tcommit\tsha256\thow\n" + first + "\n")
    r = run_fetch("--manifest", str(manifest), "--dest", str(tmp_path / "c"), "--base-url", "http://127.0.0.1:9")
    assert r.returncode == 1 and "download failed" in r.stderr and "0 of 1" in r.stderr


def test_ci_run_names_the_fetch_command_when_no_corpus_is_found(tmp_path):
    """A clone with no corpus anywhere and no way to fetch: .ci/run stops at once with one message."""
    clone = tmp_path / "clone"  # only .ci/: the corpus step comes before anything else
    (clone / ".ci").mkdir(parents=True)
    for name in ("run", "fetch_corpus.py", "corpus.tsv"):
        shutil.copy(ROOT / ".ci" / name, clone / ".ci" / name)
    env = {k: v for k, v in os.environ.items() if k != "FLAMEKIT_SHARED"}
    env.update(FLAMEKIT_CORPUS_BASE_URL="http://127.0.0.1:9", XDG_CACHE_HOME=str(tmp_path / "cache"))
    r = subprocess.run(["bash", str(clone / ".ci" / "run")], cwd=clone, env=env, capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    msg = [ln for ln in r.stderr.splitlines() if ln.startswith(".ci/run:")]
    assert len(msg) == 1 and "python3 .ci/fetch_corpus.py" in msg[0], r.stderr[-3000:]


def test_readme_quick_start_installs_with_pipx_and_names_the_fetch():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme[readme.index("## Quick start"):readme.index("## Did my branch make it slower?")]
    assert "pipx install . &&" in quick and "bash .ci/run" in quick
    assert "python3 .ci/fetch_corpus.py" in quick and "FLAMEKIT_CORPUS_FROM" in quick
    assert "flamekit compare --base" in readme
