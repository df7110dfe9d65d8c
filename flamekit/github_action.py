"""The GitHub Action's steps (``action.yml`` at the repository root): compare, comment, gate.

Run by the action as ``FLAMEKIT_PYTHON -m flamekit.github_action STEP``; the
``comment`` step also runs as a plain script (``python3 github_action.py
comment``: standard library only) in the second workflow of the fork pattern
(docs/ci.md), which must not install or run the pull request's code.

Steps and what they read (the runner's variables, https://docs.github.com/actions/reference/variables-reference):

* ``compare``: ``GITHUB_EVENT_PATH`` (the pull request's base SHA, base ref
  and number), ``GITHUB_SHA`` (the merge commit that ``actions/checkout``
  checks out for a pull request), ``RUNNER_TEMP``; the inputs as ``FK_COMMAND``,
  ``FK_RUNS``, ``FK_WARMUP``, ``FK_BACKEND``, ``FK_SETUP``, ``FK_FAIL_ON_REGRESSION``. Runs
  ``flamekit compare`` (base = the PR's base SHA, head = the merge commit),
  writes ``comment.md``, ``diff.html``, ``diff.json`` and ``pr.json`` into
  ``$RUNNER_TEMP/flamekit-compare``, appends the Markdown to
  ``GITHUB_STEP_SUMMARY`` and sets the outputs ``verdict``,
  ``worst-regression``, ``exit-code`` and ``outdir`` in ``GITHUB_OUTPUT``.
  A regression past the gate is not a failure of this step (the comment still
  gets posted); ``gate`` fails the job afterwards.
* ``comment``: ``GITHUB_TOKEN``, ``GITHUB_API_URL``, ``GITHUB_REPOSITORY``;
  posts ``comment.md`` as one sticky comment (found again by its hidden
  marker and edited) through two REST endpoints:
  ``GET/POST /repos/{repo}/issues/{number}/comments`` and
  ``PATCH /repos/{repo}/issues/comments/{id}``. A token that may not write
  (a fork's pull request gets a read-only one) is said in the summary; the
  step still succeeds. ``FK_RESULT_DIR`` points at a downloaded artifact
  instead (the ``workflow_run`` pattern); then ``FK_EXPECT_HEAD_SHA`` (the
  triggering run's head SHA) must match the pull request's head
  (``GET /repos/{repo}/pulls/{number}``), since the artifact came from
  untrusted code.
* ``gate``: ``FK_EXIT_CODE`` and ``FK_WORST``: exit 3 with an error
  annotation when ``compare`` found a regression past the gate.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

#: The hidden first line of flamekit's Markdown (flamekit.render.markdown.MARKER).
MARKER = "<!-- flamekit-diff -->"
MAX_COMMENT = 65_000
READ_ONLY_NOTE = ("flamekit: the token of this run may not comment on the pull request (a pull "
                  "request from a fork gets a read-only token), so the result is only in this summary "
                  "and the artifact. To comment on fork pull requests, use the two-workflow "
                  "`workflow_run` pattern of flamekit's docs/ci.md.")


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def out_dir() -> Path:
    """Return the folder holding this run's results (``FK_RESULT_DIR`` or ``$RUNNER_TEMP/flamekit-compare``)."""
    given = _env("FK_RESULT_DIR")
    if given:
        return Path(given)
    return Path(_env("RUNNER_TEMP") or "/tmp") / "flamekit-compare"


def event() -> dict[str, Any]:
    """Return the triggering event's payload (``GITHUB_EVENT_PATH``), {} when there is none."""
    path = _env("GITHUB_EVENT_PATH")
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    return doc if isinstance(doc, dict) else {}


def set_output(**values: str) -> None:
    """Append ``key=value`` lines to ``GITHUB_OUTPUT`` (single-line values only)."""
    path = _env("GITHUB_OUTPUT")
    lines = "".join(f"{k.replace('_', '-')}={str(v).splitlines()[0] if str(v) else ''}\n"
                    for k, v in values.items())
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(lines)
    else:
        sys.stdout.write(lines)


def summary(text: str) -> None:
    """Append Markdown to the job summary (``GITHUB_STEP_SUMMARY``; stdout without one)."""
    path = _env("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text.rstrip("\n") + "\n\n")
    else:
        print(text)


def compare_argv(ev: dict[str, Any], out: Path) -> list[str]:
    """Return the ``flamekit compare`` command line for this pull request event and the inputs."""
    pr = ev.get("pull_request") or {}
    base = str((pr.get("base") or {}).get("sha") or _env("FK_BASE"))
    if not base:
        raise SystemExit("::error::flamekit: this event has no pull request base: run the action on "
                         "pull_request (or set FK_BASE)")
    head = _env("GITHUB_SHA") or "HEAD"
    number = pr.get("number")
    base_name = str((pr.get("base") or {}).get("ref") or base)
    head_name = f"pull/{int(number)}/merge" if number else head
    command = shlex.split(_env("FK_COMMAND"))
    if not command:
        raise SystemExit("::error::flamekit: the action's `command` input is empty")
    argv = [sys.executable, "-m", "flamekit", "compare", "--base", base, "--base-name", base_name,
            "--head", head, "--head-name", head_name, "--runs", _env("FK_RUNS") or "3",
            "--warmup", _env("FK_WARMUP") or "1",
            "--backend", _env("FK_BACKEND") or "py-spy", "--markdown", str(out / "comment.md"),
            "--html", str(out / "diff.html"), "--json", str(out / "diff.json")]
    if _env("FK_SETUP"):
        argv += ["--setup", _env("FK_SETUP")]
    if _env("FK_FAIL_ON_REGRESSION"):
        argv += ["--fail-on-regression", _env("FK_FAIL_ON_REGRESSION")]
    return argv + ["--"] + command


def step_compare() -> int:
    """Run ``flamekit compare`` for the pull request; publish the summary and outputs."""
    ev = event()
    out = out_dir()
    out.mkdir(parents=True, exist_ok=True)
    argv = compare_argv(ev, out)
    pr = ev.get("pull_request") or {}
    (out / "pr.json").write_text(json.dumps({"number": pr.get("number"),
                                             "head_sha": (pr.get("head") or {}).get("sha"),
                                             "merge_sha": _env("GITHUB_SHA")}) + "\n")
    print("flamekit: " + " ".join(shlex.quote(a) for a in argv[1:]), flush=True)
    rc = subprocess.call(argv, stdin=subprocess.DEVNULL)
    verdict, worst = "", ""
    if rc in (0, 3) and (out / "diff.json").exists():
        doc = json.loads((out / "diff.json").read_text(encoding="utf-8"))
        verdict = str(doc.get("verdict") or "")
        w = doc.get("worst_regression_pp")
        worst = f"{float(w):.2f}" if isinstance(w, (int, float)) and w > 0 else "0"
        summary((out / "comment.md").read_text(encoding="utf-8"))
    else:
        summary(f"**flamekit compare failed** (exit status {rc}); the job log says why.")
    set_output(verdict=verdict, worst_regression=worst, exit_code=str(rc), outdir=str(out))
    return 0 if rc in (0, 3) else rc


class GitHub:
    """The few REST calls of the comment step (urllib; ``GITHUB_API_URL``, ``GITHUB_TOKEN``)."""

    def __init__(self, api: str, token: str, repo: str) -> None:
        self.api, self.token, self.repo = api.rstrip("/"), token, repo

    def call(self, method: str, path: str, body: dict | None = None) -> Any:
        """Send one request; return the decoded JSON (raises urllib.error.HTTPError)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.api}/repos/{self.repo}{path}", data=data, method=method)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def sticky_comment(self, number: int) -> int | None:
        """Return the id of flamekit's earlier comment on the pull request (a bot's, with the marker)."""
        for page in range(1, 51):
            got = self.call("GET", f"/issues/{number}/comments?per_page=100&page={page}") or []
            for c in got:
                user = c.get("user") or {}
                if str(c.get("body", "")).startswith(MARKER) and user.get("type") == "Bot":
                    return int(c["id"])
            if len(got) < 100:
                return None
        return None


def _comment_target(out: Path) -> tuple[int, str | None]:
    """Return (pull request number, head SHA to check or None)."""
    if _env("FK_RESULT_DIR"):  # an artifact of an untrusted run: its number is checked against the API
        doc = json.loads((out / "pr.json").read_text(encoding="utf-8"))
        expect = _env("FK_EXPECT_HEAD_SHA")
        if not expect:
            raise SystemExit("::error::flamekit: FK_RESULT_DIR needs FK_EXPECT_HEAD_SHA "
                             "(github.event.workflow_run.head_sha)")
        return int(doc["number"]), expect
    number = (event().get("pull_request") or {}).get("number") or _env("FK_PR_NUMBER")
    if not number:
        raise SystemExit("::error::flamekit: no pull request to comment on in this event")
    return int(number), None


def step_comment() -> int:
    """Post or update the sticky comment; a read-only token is noted in the summary, not a failure."""
    out = out_dir()
    body = (out / "comment.md").read_text(encoding="utf-8")
    if not body.startswith(MARKER):
        raise SystemExit(f"::error::flamekit: {out / 'comment.md'} is not a flamekit comment")
    if _env("FK_RESULT_DIR"):
        body = body.replace("@", "@\u200b")  # untrusted artifact text: no mention pings
    body = body[:MAX_COMMENT]
    number, expect = _comment_target(out)
    token, api, repo = _env("GITHUB_TOKEN"), _env("GITHUB_API_URL"), _env("GITHUB_REPOSITORY")
    if not (api and repo):
        raise SystemExit("::error::flamekit: GITHUB_API_URL and GITHUB_REPOSITORY must be set (the runner sets them)")
    if not token:
        summary(READ_ONLY_NOTE)
        return 0
    gh = GitHub(api, token, repo)
    try:
        if expect is not None:
            pull = gh.call("GET", f"/pulls/{number}") or {}
            if (pull.get("head") or {}).get("sha") != expect:
                raise SystemExit(f"::error::flamekit: pull request #{number} does not belong to the run "
                                 f"that made this artifact (its head is not {expect})")
        cid = gh.sticky_comment(number)
        if cid is not None:
            gh.call("PATCH", f"/issues/comments/{cid}", {"body": body})
            print(f"flamekit: updated comment {cid} on #{number}")
        else:
            made = gh.call("POST", f"/issues/{number}/comments", {"body": body}) or {}
            print(f"flamekit: commented on #{number} ({made.get('html_url', 'new comment')})")
    except urllib.error.HTTPError as e:
        if e.code in (401, 403, 404):
            print(f"::notice::{READ_ONLY_NOTE} (HTTP {e.code})")
            summary(READ_ONLY_NOTE)
            return 0
        print(f"::warning::flamekit: commenting failed: HTTP {e.code} {e.reason}")
        summary(f"flamekit: commenting failed (HTTP {e.code}); the result is in this summary.")
        return 0
    except (urllib.error.URLError, OSError) as e:
        print(f"::warning::flamekit: commenting failed: {e}")
        summary("flamekit: commenting failed (GitHub API unreachable); the result is in this summary.")
        return 0
    return 0


def step_gate() -> int:
    """Fail (exit 3) when compare found a regression past ``fail-on-regression``."""
    if _env("FK_EXIT_CODE") == "3":
        print(f"::error::flamekit: regression past the gate: worst {_env('FK_WORST') or '?'} pp "
              f"(see the job summary and the flamekit-compare artifact)")
        return 3
    return 0


STEPS = {"compare": step_compare, "comment": step_comment, "gate": step_gate}


def main(argv: list[str] | None = None) -> int:
    """Run one step: ``compare``, ``comment`` or ``gate``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in STEPS:
        print(f"usage: python -m flamekit.github_action {{{'|'.join(STEPS)}}}", file=sys.stderr)
        return 2
    return STEPS[args[0]]()


if __name__ == "__main__":
    sys.exit(main())
