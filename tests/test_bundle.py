"""The bundle's resources are generated for every target through the CLI's offline entry point
(``python -m databricks.bundles.build --phase load_resources``), load into the databricks-bundles
models, validate against the bundle JSON schema, and deploy what pipelines/*/pipeline.yml and
conf/<target>.yml say. Expected values are written out here, not computed by palindrom.bundle."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import REPO
from databricks.bundles.alerts import Alert
from databricks.bundles.dashboards import Dashboard
from databricks.bundles.jobs import Job
from databricks.bundles.pipelines import Pipeline
from databricks.bundles.schemas import Schema

from palindrom.bundle.jsonschema import resources_schema

BUNDLE = yaml.safe_load((REPO / "databricks.yml").read_text())
TARGETS = ["development", "staging", "production"]
PIPELINES = ["events", "starter"]
MODELS = {"pipelines": Pipeline, "jobs": Job, "dashboards": Dashboard, "alerts": Alert, "schemas": Schema}
# What each target's catalogs are (catalog = domain, suffixed outside production).
CATALOGS = {("events", "development"): "events_dev", ("events", "staging"): "events_staging",
            ("events", "production"): "events", ("starter", "development"): "palindrom_dev",
            ("starter", "staging"): "palindrom_staging", ("starter", "production"): "palindrom"}
SOURCES = {"events": "app", "starter": "starter"}


def _cli_input(target: str) -> dict[str, Any]:
    """The configuration the Databricks CLI hands the Python phase: databricks.yml with the target selected."""
    variables = {name: {"value": value} for name, value in
                 BUNDLE["targets"][target].get("variables", {}).items()}
    variables.setdefault("warehouse_id", {"value": "abc123"})  # a lookup, resolved by the CLI
    variables.setdefault("alert_destination_id", {"value": "00000000-0000-0000-0000-000000000001"})
    return {"bundle": {**BUNDLE["bundle"], "target": target}, "python": BUNDLE["python"],
            "variables": variables, "targets": {}, "resources": {}}


def load_through_cli_entry_point(target: str, tmp: Path, cwd: Path = REPO) -> dict[str, Any]:
    """Run the offline entry point the CLI runs; return its output's resources (diagnostics must be empty)."""
    (tmp / "in.json").write_text(json.dumps(_cli_input(target)))
    subprocess.run([sys.executable, "-m", "databricks.bundles.build", "--phase", "load_resources",
                    "--input", str(tmp / "in.json"), "--output", str(tmp / "out.json"),
                    "--diagnostics", str(tmp / "diag.json"), "--locations", str(tmp / "locations.json")],
                   cwd=cwd, check=True, timeout=120)
    diagnostics = [json.loads(line) for line in (tmp / "diag.json").read_text().splitlines() if line.strip()]
    assert diagnostics == [], diagnostics
    output = json.loads((tmp / "out.json").read_text())
    locations = [json.loads(line) for line in (tmp / "locations.json").read_text().splitlines() if line.strip()]
    output["_locations"] = {entry["path"]: entry["file"] for entry in locations}
    return output


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {t: load_through_cli_entry_point(t, tmp_path_factory.mktemp(t)) for t in TARGETS}


def _cli_schema() -> dict[str, Any] | None:
    """The CLI's published schema (`databricks bundle schema`) when PALINDROM_BUNDLE_SCHEMA names a copy.

    Its patterns use \\p{L} / \\p{N}, which Python's re lacks; they become ASCII classes here."""
    path = os.environ.get("PALINDROM_BUNDLE_SCHEMA")
    if not path:
        return None
    text = Path(path).read_text().replace(r"[\\p{L}\\p{N}]", "[a-zA-Z0-9]")
    return json.loads(text.replace(r"\\p{L}", "[a-zA-Z]").replace(r"\\p{N}", "[0-9]"))


def _interpolate(value: Any, names: dict[str, str]) -> Any:
    """Resolve ${...} references the way the CLI does for the ones named (repeatedly: references nest)."""
    if isinstance(value, dict):
        return {k: _interpolate(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, names) for v in value]
    if isinstance(value, str):
        for _ in range(5):
            value = re.sub(r"\$\{([\w.\[\]]+)\}", lambda m: names.get(m[1], m[0]), value)
    return value


def test_databricks_yml_generates_resources_in_python_and_declares_none_by_hand():
    assert BUNDLE["python"]["resources"] == ["palindrom.bundle:load_resources"]
    assert "resources" not in BUNDLE and "include" not in BUNDLE
    assert all("resources" not in t for t in BUNDLE["targets"].values())
    assert sorted(p.name for p in (REPO / "resources").iterdir()) == [f"{t}.generated.yml" for t in sorted(TARGETS)]
    assert BUNDLE["artifacts"]["palindrom"]["type"] == "whl"


@pytest.mark.parametrize("target", TARGETS)
def test_generated_resources_load_into_the_models_and_validate_against_the_schema(generated, target):
    resources = generated[target]["resources"]
    assert {kind: sorted(v) for kind, v in resources.items()} == {
        "pipelines": PIPELINES, "jobs": ["events_continuous", "starter_continuous"],
        "dashboards": ["events_quality", "starter_quality"],
        "alerts": ["events_backlog_growing", "events_trigger_slow", "starter_backlog_growing", "starter_trigger_slow"],
        **({"schemas": ["events_schema", "starter_schema"]} if target == "development" else {}),
    }
    for kind, by_key in resources.items():
        for key, value in by_key.items():
            assert MODELS[kind].from_dict(value).as_dict() == value, (kind, key)  # strict: unknown fields raise
    document = {"resources": resources}
    jsonschema.Draft202012Validator(resources_schema()).validate(document)
    cli_schema = _cli_schema()
    if cli_schema is not None:
        jsonschema.Draft7Validator(cli_schema).validate(document)


def test_the_schema_rejects_an_unknown_field_and_a_wrong_enum(generated):
    validator = jsonschema.Draft202012Validator(resources_schema())
    document = {"resources": json.loads(json.dumps(generated["production"]["resources"]))}
    document["resources"]["pipelines"]["events"]["photon_enabled"] = True
    assert not validator.is_valid(document)
    document = {"resources": json.loads(json.dumps(generated["production"]["resources"]))}
    document["resources"]["jobs"]["events_continuous"]["continuous"]["pause_status"] = "SOMETIMES"
    assert not validator.is_valid(document)
    document["resources"]["jobs"]["events_continuous"]["continuous"]["pause_status"] = "${var.pause}"
    assert validator.is_valid(document)


def test_databricks_yml_validates_against_the_cli_schema_when_given():
    cli_schema = _cli_schema()
    if cli_schema is None:
        pytest.skip("PALINDROM_BUNDLE_SCHEMA not set (the CLI's `databricks bundle schema` output)")
    jsonschema.Draft7Validator(cli_schema).validate(BUNDLE)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", PIPELINES)
def test_pipeline_is_serverless_named_for_its_target_and_deploys_conf(generated, name, target):
    pipeline = generated[target]["resources"]["pipelines"][name]
    assert pipeline["name"] == f"{name}_{target}"
    assert pipeline["catalog"] == CATALOGS[name, target]
    schema = pipeline["schema"]
    assert schema == (f"${{resources.schemas.{name}_schema.name}}" if target == "development" else SOURCES[name])
    assert pipeline["event_log"] == {"catalog": CATALOGS[name, target], "schema": schema, "name": "event_log"}
    assert pipeline["serverless"] is True
    assert "photon" not in pipeline and "clusters" not in pipeline and "continuous" not in pipeline
    spec = yaml.safe_load((REPO / "pipelines" / name / "pipeline.yml").read_text())
    assert [lib["glob"]["include"] for lib in pipeline["libraries"]] == spec["libraries"]
    assert pipeline["root_path"] == "."
    # Relative paths are relative to the spec file, where the resource is located.
    assert generated[target]["_locations"][f"resources.pipelines.{name}"] == f"pipelines/{name}/pipeline.yml"
    conf = yaml.safe_load((REPO / "conf" / f"{target}.yml").read_text())["configuration"]
    assert pipeline["configuration"] == {**conf,
                                         "palindrom.expectations_path": "${workspace.file_path}/expectations",
                                         "palindrom.registry.schemas_path": "${workspace.file_path}/schemas"}


@pytest.mark.parametrize("target", TARGETS)
def test_pipelines_install_the_wheel_and_pinned_third_party_packages(generated, target):
    for name in PIPELINES:
        environment = generated[target]["resources"]["pipelines"][name]["environment"]
        assert environment["environment_version"] == "4"
        wheel, *pins = environment["dependencies"]
        assert wheel == "../../dist/*.whl"
        assert (REPO / "pipelines" / name / wheel).resolve().parent == REPO / "dist"
        declared = sorted(re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower()
                          for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
        assert [p.split("==")[0] for p in pins] == declared == ["fastavro", "filelock", "pyyaml", "zstandard"]
        assert all(re.fullmatch(r"[a-z0-9-]+==\d+(\.\d+)+", p) for p in pins), pins
        locked = {p["name"]: p.get("version") for p in tomllib.loads((REPO / "uv.lock").read_text())["package"]}
        assert {p.split("==")[0]: p.split("==")[1] for p in pins} == {name: locked[name] for name in declared}


def test_two_engineers_deploying_development_get_two_schemas(generated):
    resources = generated["development"]["resources"]
    deployed = {}
    for user in ("alice", "bob"):
        names = {"workspace.current_user.short_name": user, "workspace.current_user.userName": f"{user}@palindrom.io"}
        for key, schema in resources["schemas"].items():
            names[f"resources.schemas.{key}.name"] = schema["name"]
        resolved = _interpolate(resources, names)
        deployed[user] = {n: (p["catalog"], p["schema"], p["event_log"]["schema"], resolved["dashboards"][
            f"{n}_quality"]["dataset_schema"]) for n, p in resolved["pipelines"].items()}
    assert deployed["alice"] == {"events": ("events_dev", "app_alice", "app_alice", "app_alice"),
                                 "starter": ("palindrom_dev", "starter_alice", "starter_alice", "starter_alice")}
    assert deployed["bob"] == {"events": ("events_dev", "app_bob", "app_bob", "app_bob"),
                               "starter": ("palindrom_dev", "starter_bob", "starter_bob", "starter_bob")}
    assert resources["schemas"]["events_schema"]["catalog_name"] == "events_dev"
    # The alerts read the engineer's own event log, and the dashboard too.
    alice = _interpolate(resources, {"workspace.current_user.short_name": "alice"})
    assert "events_dev.app_alice.event_log" in alice["alerts"]["events_trigger_slow"]["query_text"]
    # Staging and production stay shared: no reference to the user anywhere.
    for target in ("staging", "production"):
        assert "current_user" not in json.dumps(generated[target]["resources"]), target


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", PIPELINES)
def test_continuous_job_runs_the_pipeline_and_alerts_on_failure_and_duration(generated, name, target):
    job = generated[target]["resources"]["jobs"][f"{name}_continuous"]
    assert job["name"] == f"{name}_continuous_{target}"
    assert job["continuous"] == {"pause_status": "UNPAUSED" if target == "production" else "PAUSED"}
    assert job["tasks"] == [{"task_key": name, "pipeline_task": {"pipeline_id": f"${{resources.pipelines.{name}.id}}"}}]
    emails = ["${workspace.current_user.userName}"] if target == "development" else ["data-platform@palindrom.io"]
    assert job["email_notifications"]["on_failure"] == emails
    assert job["email_notifications"]["on_duration_warning_threshold_exceeded"] == emails
    hooks = [] if target == "development" else [{"id": "${var.alert_destination_id}"}]
    assert job.get("webhook_notifications", {}).get("on_failure", []) == hooks
    assert job.get("webhook_notifications", {}).get("on_duration_warning_threshold_exceeded", []) == hooks
    seconds = {"development": 3600, "staging": 3600, "production": 1800}[target]
    assert job["health"] == {"rules": [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": seconds}]}
    pipeline = generated[target]["resources"]["pipelines"][name]
    assert pipeline["notifications"] == [{"email_recipients": emails, "alerts": [
        "on-update-failure", "on-update-fatal-failure", "on-flow-failure"]}]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", PIPELINES)
def test_stream_monitor_thresholds_are_sql_alerts_on_the_event_log(generated, name, target):
    alerts = generated[target]["resources"]["alerts"]
    slow, growing = alerts[f"{name}_trigger_slow"], alerts[f"{name}_backlog_growing"]
    assert slow["display_name"] == f"{name}_trigger_slow_{target}"
    assert slow["evaluation"]["source"]["name"] == "trigger_execution_ms"
    assert slow["evaluation"]["comparison_operator"] == "GREATER_THAN"
    assert slow["evaluation"]["threshold"] == {"value": {"double_value": 45000.0}}
    # six growths in a row: the newest six readings each grew, i.e. the count over the last six exceeds 5
    assert growing["evaluation"]["threshold"] == {"value": {"double_value": 5.0}}
    assert "ROWS BETWEEN 5 PRECEDING AND CURRENT ROW" in growing["query_text"]
    schema = SOURCES[name] + ("_${workspace.current_user.short_name}" if target == "development" else "")
    for alert in (slow, growing):
        assert f"FROM {CATALOGS[name, target]}.{schema}.event_log" in alert["query_text"]
        assert "event_type = 'flow_progress'" in alert["query_text"]
        assert alert["warehouse_id"] == "${var.warehouse_id}"
        assert alert["schedule"]["pause_status"] == ("UNPAUSED" if target == "production" else "PAUSED")
        subscriptions = alert["evaluation"]["notification"]["subscriptions"]
        expected = ([{"user_email": "${workspace.current_user.userName}"}] if target == "development" else
                    [{"user_email": "data-platform@palindrom.io"}, {"destination_id": "${var.alert_destination_id}"}])
        assert subscriptions == expected


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", PIPELINES)
def test_every_pipeline_deploys_the_quality_dashboard_over_its_own_event_log(generated, name, target):
    dashboard = generated[target]["resources"]["dashboards"][f"{name}_quality"]
    event_log = generated[target]["resources"]["pipelines"][name]["event_log"]
    assert (dashboard["dataset_catalog"], dashboard["dataset_schema"]) == (event_log["catalog"], event_log["schema"])
    assert dashboard["display_name"] == f"{name}_quality_{target}"
    assert (REPO / "pipelines" / name / dashboard["file_path"]).resolve() == REPO / "dashboards" / \
        "pipeline_quality.lvdash.json"
    # Its queries name the table only, so dataset_catalog/dataset_schema place them.
    text = (REPO / "dashboards" / "pipeline_quality.lvdash.json").read_text()
    assert set(re.findall(r"(?:FROM|JOIN)\s+([\w.]+)", text)) == {"event_log", "updates", "expectations", "progress"}


def _tables(name: str) -> list[str]:
    """Tables a pipeline's files define: @dlt.table / @guarded_table functions and dlt.create_streaming_table."""
    import ast

    found = []
    for file in sorted((REPO / "pipelines" / name / "transformations").glob("*.py")):
        for node in ast.walk(ast.parse(file.read_text())):
            calls = []
            if isinstance(node, ast.FunctionDef):
                calls = [d for d in node.decorator_list if isinstance(d, ast.Call)]
            elif isinstance(node, ast.Call) and ast.unparse(node.func) == "dlt.create_streaming_table":
                calls = [node]
            for call in calls:
                callee = ast.unparse(call.func)
                if callee not in ("dlt.table", "guarded_table", "dlt.create_streaming_table"):
                    continue
                named = [k.value.value for k in call.keywords if k.arg == "name" and isinstance(k.value, ast.Constant)]
                positional = [a.value for a in call.args[:1] if isinstance(a, ast.Constant)]
                found.append((named or positional or [getattr(node, "name", "?")])[0])
    return sorted(set(found))


@pytest.mark.parametrize("name", [
    "events",
    pytest.param("starter", marks=pytest.mark.xfail(strict=True, reason=(
        "the starter sample's tables (starter_orders_silver, ...) predate the naming policy"))),
])
def test_table_names_follow_domain_source_layer_asset(generated, name):
    pipeline = generated["production"]["resources"]["pipelines"][name]
    prefix = f"{pipeline['catalog']}_{pipeline['schema']}_"
    tables = _tables(name)
    assert tables
    assert [t for t in tables if not re.fullmatch(re.escape(prefix) + r"(bronze|silver|gold)_[a-z0-9_]+", t)] == []
