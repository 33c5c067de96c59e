"""CI fails when a generated file is out of date: change a spec, the check fails until regeneration."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

CHECK = [sys.executable, "-m", "palindrom.bundle", "check"]
GENERATE = [sys.executable, "-m", "palindrom.bundle", "generate"]


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """What the generator reads and writes: specs and their code, conf/, the snapshots, pyproject and uv.lock."""
    for folder in ("pipelines", "conf", "resources"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for file in ("pyproject.toml", "uv.lock", "databricks.yml"):
        shutil.copy2(REPO / file, tmp_path / file)
    return tmp_path


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_committed_snapshots_are_current():
    result = _run(CHECK, REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_spec_change_fails_the_check_until_regenerated(repo_copy):
    assert _run(CHECK, repo_copy).returncode == 0
    spec = repo_copy / "pipelines" / "starter" / "pipeline.yml"
    spec.write_text(spec.read_text().replace("domain: palindrom", "domain: orders"))
    failed = _run(CHECK, repo_copy)
    assert failed.returncode == 1
    # The diff names the changed catalog in every target, and the log line says what to do.
    for target, catalog in (("development", "orders_dev"), ("staging", "orders_staging"), ("production", "orders")):
        assert f"resources/{target}.generated.yml (generated)" in failed.stdout
        assert f"+      catalog: {catalog}\n" in failed.stdout
    assert '"level": "ERROR", "message": "Generated bundle resources are out of date: run `make bundle-generate` and commit"' \
        in failed.stderr
    assert _run(GENERATE, repo_copy).returncode == 0
    assert _run(CHECK, repo_copy).returncode == 0
    assert "catalog: orders_staging" in (repo_copy / "resources" / "staging.generated.yml").read_text()


def test_a_conf_change_fails_the_check_and_an_unknown_deploy_key_is_refused(repo_copy):
    conf = repo_copy / "conf" / "production.yml"
    conf.write_text(conf.read_text().replace("run_duration_seconds: 1800", "run_duration_seconds: 900"))
    failed = _run(CHECK, repo_copy)
    assert failed.returncode == 1 and "+          value: 900\n" in failed.stdout
    conf.write_text(conf.read_text().replace("  continuous: true", "  continuous: true\n  photon: true"))
    refused = _run(CHECK, repo_copy)
    assert refused.returncode == 2
    assert "'deploy' has unknown keys ['photon']" in refused.stderr


def test_an_unknown_spec_key_is_refused(repo_copy):
    spec = repo_copy / "pipelines" / "events" / "pipeline.yml"
    spec.write_text(spec.read_text() + "serverless: false\n")
    refused = _run(CHECK, repo_copy)
    assert refused.returncode == 2
    assert "unknown keys ['serverless']" in refused.stderr
