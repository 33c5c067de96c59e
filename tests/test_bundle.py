"""The Databricks Asset Bundle deploys the same pipelines, with the same settings, as conf/ describes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO
from databricks.bundles.pipelines import Pipeline

BUNDLE = yaml.safe_load((REPO / "databricks.yml").read_text())
TARGETS = sorted(BUNDLE["targets"])


def _declared(kind: str) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Resources of ``kind`` (pipelines, jobs, dashboards) in the bundle's included files, with their file."""
    return {key: (path, spec) for pattern in BUNDLE["include"] for path in sorted(REPO.glob(pattern))
            for key, spec in yaml.safe_load(path.read_text())["resources"].get(kind, {}).items()}


RESOURCES = _declared("pipelines")


def _substitute(value: Any, target: str) -> Any:
    variables = {name: spec.get("default") for name, spec in BUNDLE["variables"].items()}
    variables.update(BUNDLE["targets"][target].get("variables", {}))
    names = {"bundle.target": target, "bundle.name": BUNDLE["bundle"]["name"],
             "workspace.file_path": "${workspace.file_path}",
             **{f"resources.pipelines.{key}.id": f"<{key} id>" for key in RESOURCES},
             **{f"var.{k}": v for k, v in variables.items()}}
    if isinstance(value, dict):
        return {k: _substitute(v, target) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, target) for v in value]
    if isinstance(value, str):
        whole = re.fullmatch(r"\$\{([\w.]+)\}", value)
        if whole:
            return names[whole[1]]
        return re.sub(r"\$\{([\w.]+)\}", lambda m: str(names[m[1]]), value)
    return value


def test_every_repo_pipeline_is_deployed_and_every_deployed_pipeline_exists():
    local = {p.parent.name for p in (REPO / "pipelines").glob("*/pipeline.yml")}
    assert set(RESOURCES) == local


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_pipeline_resource_is_valid_and_matches_conf(name, target):
    path, raw = RESOURCES[name]
    resolved = _substitute(raw, target)
    Pipeline.from_dict(resolved)  # the bundle's own model: unknown or mistyped fields raise
    local = yaml.safe_load((REPO / "pipelines" / name / "pipeline.yml").read_text())
    assert resolved["schema"] == local["database"]
    assert "continuous" not in resolved     # deprecated: the <name>_continuous job runs it (below)
    # The deployed sources are the files `pipelines run` loads.
    includes = [lib["glob"]["include"] for lib in resolved["libraries"]]
    assert includes == [f"../pipelines/{name}/{lib}" for lib in local["libraries"]]
    for include in includes:
        assert list((path.parent / include.removesuffix("**")).glob("*.py")), include
    # Configuration on Databricks is exactly conf/<target>.yml's, key for key.
    conf = yaml.safe_load((REPO / "conf" / f"{target}.yml").read_text())["configuration"]
    deployed = dict(resolved["configuration"])
    # Shared settings (registry, Kafka, monitor) are deployed all or nothing, as conf/ has them.
    shared = [p for p in ("palindrom.registry.", "palindrom.kafka.", "palindrom.monitor.")
              if any(k.startswith(p) for k in deployed)]
    ours = {k: v for k, v in conf.items() if k.startswith((f"palindrom.{name}.", *shared))
            or k == "palindrom.environment"}
    # Rules and schemas are read from the bundle's synced expectations/ and schemas/ on Databricks.
    assert deployed.pop("palindrom.expectations_path") == "${workspace.file_path}/expectations"
    if "palindrom.registry." in shared:
        assert deployed.pop("palindrom.registry.schemas_path") == "${workspace.file_path}/schemas"
    assert deployed == ours
    assert (path.parent / resolved["root_path"] / "palindrom" / "quality" / "guard.py").is_file()
    # The event log sits beside the tables under the name a local run gives it: <database>.event_log.
    assert resolved["event_log"] == {"catalog": resolved["catalog"], "schema": resolved["schema"], "name": "event_log"}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_production_runs_every_pipeline_continuously_through_a_job(name, target):
    from databricks.bundles.jobs import Job

    _, spec = _declared("jobs")[f"{name}_continuous"]
    resolved = _substitute(spec, target)
    Job.from_dict(resolved)
    assert resolved["continuous"]["pause_status"] == ("UNPAUSED" if target == "production" else "PAUSED")
    assert [t["pipeline_task"]["pipeline_id"] for t in resolved["tasks"]] == [f"<{name} id>"]
    assert resolved.get("trigger") is None and resolved.get("schedule") is None


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_every_pipeline_deploys_the_quality_dashboard_over_its_own_event_log(name, target):
    from databricks.bundles.dashboards import Dashboard

    path, spec = _declared("dashboards")[f"{name}_quality"]
    resolved = _substitute({**spec, "warehouse_id": "abc123"}, target)
    Dashboard.from_dict(resolved)
    event_log = _substitute(RESOURCES[name][1], target)["event_log"]
    assert (resolved["dataset_catalog"], resolved["dataset_schema"]) == (event_log["catalog"], event_log["schema"])
    assert target in resolved["display_name"]
    dashboard = (path.parent / resolved["file_path"]).resolve()
    assert dashboard == REPO / "dashboards" / "pipeline_quality.lvdash.json"
    # Its queries name the table only, so dataset_catalog/dataset_schema place them.
    assert set(re.findall(r"(?:FROM|JOIN)\s+([\w.]+)", dashboard.read_text())) == {"event_log", "updates",
                                                                                  "expectations", "progress"}
