"""Deployment scope: from a change's files, the pipelines it touches (their folder, the package code and
the schemas they use), the tests to run for them, and a full deploy when shared files change."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from palindrom.bundle.scope import scope

EVENTS_TESTS = ["pipelines/events/tests/test_events_pipeline.py", "tests/test_events.py"]
STARTER_TESTS = ["pipelines/starter/tests/test_starter_pipeline.py", "tests/test_pipelines.py"]
EVENTS = {"pipelines": ["events"], "tests": EVENTS_TESTS, "full": False}
STARTER = {"pipelines": ["starter"], "tests": STARTER_TESTS, "full": False}
BOTH = {"pipelines": ["events", "starter"], "tests": sorted(EVENTS_TESTS + STARTER_TESTS), "full": False}
NONE = {"pipelines": [], "tests": [], "full": False}
ALL = {**BOTH, "full": True}


@pytest.mark.parametrize(("changed", "expected"), [
    (["pipelines/events/transformations/gold.py"], EVENTS),
    (["pipelines/starter/pipeline.yml"], STARTER),
    (["schemas/palindrom.events/app_event/v3.avsc"], EVENTS),       # a schema only events reads
    (["expectations/starter_orders_silver.yml"], STARTER),
    (["src/palindrom/ingest/bronze.py"], EVENTS),                    # imported by events' code only
    (["src/palindrom/kafka/source.py"], EVENTS),
    (["src/palindrom/quality/guard.py"], BOTH),                      # both use guarded_table
    (["src/palindrom/cli/report.py"], NONE),                         # local command, deployed by no pipeline
    (["src/palindrom/sample/generate.py", "docs/operations.md", "README.md"], NONE),
    (["conf/production.yml"], ALL),
    (["uv.lock"], ALL),
    (["dashboards/pipeline_quality.lvdash.json"], ALL),
    (["src/palindrom/bundle/alerts.py"], ALL),
    (["pipelines/events/transformations/bronze.py", "pipelines/starter/transformations/orders.py"], BOTH),
    ([], NONE),
])
def test_scope_of_a_change(changed, expected):
    assert scope(changed).as_dict() == expected


def test_full_deploy_on_demand():
    assert scope(["docs/operations.md"], everything=True).as_dict() == ALL


def test_scope_command_reads_git_and_writes_github_outputs(tmp_path):
    output = tmp_path / "github_output"
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    result = subprocess.run([sys.executable, "-m", "palindrom.bundle", "scope", "--files",
                             "pipelines/starter/transformations/orders.py", "--github-output"],
                            cwd=REPO, capture_output=True, text=True, check=True,
                            env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output)})
    assert json.loads(result.stdout) == STARTER
    assert output.read_text() == f"pipelines=starter\ntests={' '.join(STARTER_TESTS)}\nfull=false\n"
    same = subprocess.run([sys.executable, "-m", "palindrom.bundle", "scope", "--base", base.strip(), "--head",
                           base.strip()], cwd=REPO, capture_output=True, text=True, check=True)
    assert json.loads(same.stdout) == NONE
