"""The bundle resources of one target, generated from ``pipelines/*/pipeline.yml`` and ``conf/<target>.yml``.

Per pipeline ``<p>``: the serverless pipeline ``<p>`` (catalog = domain, schema = source; the event log
published beside the tables), the ``<p>_continuous`` job that runs it (unpaused only where the target
is continuous), the data-quality dashboard ``<p>_quality`` over its event log, the stream-monitor
alerts ``<p>_trigger_slow`` / ``<p>_backlog_growing``, and, where each engineer has a schema of their
own (development), the schema ``<p>_schema``. Deployed names end with ``_<target>``. Relative paths are
relative to the pipeline's spec file, the location each resource is recorded at.
"""

from __future__ import annotations

from typing import Any

from databricks.bundles.core import Bundle, Location, Resource, Resources
from databricks.bundles.dashboards import Dashboard
from databricks.bundles.jobs import Continuous, Job, PauseStatus, PipelineTask, Task
from databricks.bundles.pipelines import EventLogSpec, PathPattern, Pipeline, PipelineLibrary, PipelinesEnvironment
from databricks.bundles.schemas import Schema

from palindrom.bundle import alerts, dependencies, serverless, settings
from palindrom.bundle.settings import Deployed, Target

TO_ROOT = "../.."  # from pipelines/<name>/ (the spec file's folder) to the bundle root
DASHBOARD_FILE = "dashboards/pipeline_quality.lvdash.json"
# Read on Databricks from the files the bundle syncs (the workspace copy of the repository).
SYNCED_CONFIGURATION = {
    "palindrom.expectations_path": "${workspace.file_path}/expectations",
    "palindrom.registry.schemas_path": "${workspace.file_path}/schemas",
}


def _schema_key(pipeline: Deployed) -> str:
    return f"{pipeline.name}_schema"


def _schema_reference(pipeline: Deployed, target: Target) -> str:
    # Referencing the schema resource makes the CLI create the schema before the pipeline.
    return f"${{resources.schemas.{_schema_key(pipeline)}.name}}" if target.schema_per_user else pipeline.schema


def pipeline(pipeline: Deployed, target: Target) -> Pipeline:
    schema = _schema_reference(pipeline, target)
    return Pipeline(
        name=f"{pipeline.name}_{target.name}",
        catalog=pipeline.catalog,
        schema=schema,
        serverless=True,  # Photon is always on with serverless: no `photon`, no cluster settings
        channel="CURRENT",
        environment=PipelinesEnvironment(
            environment_version=serverless.ENVIRONMENT_VERSION,
            dependencies=[f"{TO_ROOT}/{dependencies.WHEEL_GLOB}", *dependencies.pinned()],
        ),
        # Published beside the tables under the name a local run gives it: <database>.event_log.
        event_log=EventLogSpec(catalog=pipeline.catalog, schema=schema, name="event_log"),
        root_path=".",
        libraries=[PipelineLibrary(glob=PathPattern(include=include)) for include in pipeline.spec.libraries],
        configuration={**pipeline.spec.configuration, **SYNCED_CONFIGURATION},
        notifications=alerts.pipeline_notifications(target),
    )


def continuous_job(pipeline: Deployed, target: Target) -> Job:
    """Runs the pipeline continuously where the target is continuous (the pipeline's own field is deprecated)."""
    return Job(
        name=f"{pipeline.name}_continuous_{target.name}",
        continuous=Continuous(pause_status=PauseStatus.UNPAUSED if target.continuous else PauseStatus.PAUSED),
        tasks=[Task(task_key=pipeline.name,
                    pipeline_task=PipelineTask(pipeline_id=f"${{resources.pipelines.{pipeline.name}.id}}"))],
        email_notifications=alerts.job_emails(target),
        webhook_notifications=alerts.job_webhooks(target),
        health=alerts.job_health(target),
    )


def dashboard(pipeline: Deployed, target: Target) -> Dashboard:
    """The quality dashboard file, its queries' bare `event_log` pointed at this pipeline's event log."""
    return Dashboard(
        display_name=f"{pipeline.name}_quality_{target.name}",
        file_path=f"{TO_ROOT}/{DASHBOARD_FILE}",
        warehouse_id=alerts.WAREHOUSE,
        dataset_catalog=pipeline.catalog,
        dataset_schema=_schema_reference(pipeline, target),
        embed_credentials=False,
    )


def schema(pipeline: Deployed) -> Schema:
    return Schema(catalog_name=pipeline.catalog, name=pipeline.schema,
                  comment=f"{pipeline.name}: one engineer's development copy (databricks bundle destroy removes it)")


def for_pipeline(pipeline_: Deployed, target: Target) -> dict[str, dict[str, Any]]:
    """Resources of one pipeline by kind and key."""
    resources: dict[str, dict[str, Any]] = {
        "pipelines": {pipeline_.name: pipeline(pipeline_, target)},
        "jobs": {f"{pipeline_.name}_continuous": continuous_job(pipeline_, target)},
        "dashboards": {f"{pipeline_.name}_quality": dashboard(pipeline_, target)},
        "alerts": alerts.monitor_alerts(pipeline_, target),
    }
    if target.schema_per_user:
        resources["schemas"] = {_schema_key(pipeline_): schema(pipeline_)}
    return resources


def for_target(name: str) -> Resources:
    target = settings.target(name)
    resources = Resources()  # type: ignore[no-untyped-call]
    for deployed in settings.deployed(target):
        location = Location(file=str(deployed.spec_file))
        for by_key in for_pipeline(deployed, target).values():
            for key, resource in by_key.items():
                add: Resource = resource
                resources.add_resource(key, add, location=location)
    return resources


def load_resources(bundle: Bundle) -> Resources:
    """The entry point ``databricks.yml`` names (``python: resources:``)."""
    return for_target(bundle.target)
