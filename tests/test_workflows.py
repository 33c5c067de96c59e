"""The GitHub Actions workflows follow the organisation's deployment rules (NOTES §6): checks gate
main -> development -> staging -> production, Databricks auth is OIDC federation with no stored
Databricks secret, and every `pipelines` command they run parses with today's CLI."""

from __future__ import annotations

import shlex

import pytest
import yaml
from conftest import REPO

from palindrom.cli.main import parser

WORKFLOWS = {p.name: yaml.safe_load(p.read_text()) for p in (REPO / ".github" / "workflows").glob("*.yml")}


def test_deploy_chain_is_checks_then_development_staging_production():
    jobs = WORKFLOWS["deploy.yml"]["jobs"]
    assert [s["run"] for s in jobs["checks"]["steps"] if "run" in s] == ["bash .ci/run", "make build"]
    chain = {name: (job.get("needs"), job.get("with", {}).get("target")) for name, job in jobs.items()
             if name != "checks"}
    assert chain == {"development": ("checks", "development"), "staging": ("development", "staging"),
                     "production": ("staging", "production")}
    assert all(job["uses"] == "./.github/workflows/deploy-target.yml" for name, job in jobs.items() if name in chain)


def test_databricks_auth_is_github_oidc_and_no_databricks_secret_is_stored():
    for name, workflow in WORKFLOWS.items():
        text = (REPO / ".github" / "workflows" / name).read_text()
        assert "secrets.DATABRICKS" not in text, name
        for job_name, job in workflow["jobs"].items():
            env = job.get("env", {})
            if "DATABRICKS_HOST" in env:
                assert env["DATABRICKS_AUTH_TYPE"] == "github-oidc", (name, job_name)
                permissions = job.get("permissions") or workflow.get("permissions")
                assert permissions["id-token"] == "write", (name, job_name)
    target = WORKFLOWS["deploy-target.yml"]["jobs"]["deploy"]
    assert target["environment"] == "${{ inputs.target }}"


def _pipelines_commands() -> list[tuple[str, list[str]]]:
    found = []
    for name, workflow in WORKFLOWS.items():
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                for line in str(step.get("run", "")).splitlines():
                    words = shlex.split(line.replace('"$TARGET"', "staging"))
                    if "pipelines" in words:
                        found.append((name, words[words.index("pipelines") + 1:]))
    return found


@pytest.mark.parametrize(("workflow", "argv"), _pipelines_commands())
def test_every_pipelines_command_in_a_workflow_parses(workflow, argv):
    parsed = parser().parse_args(argv)
    assert parsed.command == argv[0]
