"""What a deployment target needs, read strictly from ``conf/<target>.yml`` and ``pipelines/*/pipeline.yml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from palindrom.runtime import spec
from palindrom.runtime.spec import ConfigurationError, PipelineSpec

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
TARGETS = ("development", "staging", "production")
SPEC_KEYS = frozenset({"name", "database", "libraries", "configuration", "domain", "uses", "tests"})
_DEPLOY_KEYS = frozenset({"catalog_suffix", "schema_per_user", "continuous", "alerts"})
_ALERT_KEYS = frozenset({"emails", "better_stack", "schedule_paused", "run_duration_seconds"})
# The stream monitor's thresholds (conf/<env>.yml), also the SQL alerts' thresholds on Databricks.
TRIGGER_MS_KEY = "palindrom.monitor.trigger_execution_ms_max"
BACKLOG_KEY = "palindrom.monitor.backlog_growth_triggers"


@dataclass(frozen=True)
class Alerting:
    emails: tuple[str, ...]
    better_stack: bool
    schedule_paused: bool
    run_duration_seconds: int


@dataclass(frozen=True)
class Target:
    name: str
    catalog_suffix: str
    schema_per_user: bool
    continuous: bool
    alerts: Alerting
    configuration: dict[str, str]
    trigger_execution_ms_max: int
    backlog_growth_triggers: int


@dataclass(frozen=True)
class Deployed:
    """One pipeline as a target deploys it: catalog = domain (+ suffix), schema = source (+ user)."""

    spec: PipelineSpec
    catalog: str
    schema: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def spec_file(self) -> Path:
        return self.spec.root / spec.SPEC_FILE


def _mapping(path: Path, key: str, value: Any, known: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigurationError(f"{path}: '{key}' must be a mapping.")
    unknown = sorted(set(value) - known)
    missing = sorted(known - set(value))
    if unknown or missing:
        raise ConfigurationError(f"{path}: '{key}' has unknown keys {unknown} or lacks {missing} "
                                 f"(expected exactly: {', '.join(sorted(known))}).")
    return value


def _typed(path: Path, key: str, value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigurationError(f"{path}: '{key}' must be a {kind.__name__}, not {value!r}.")
    return value


def target(name: str) -> Target:
    """The deployment settings of ``name``; ConfigurationError for anything unknown, missing or mistyped."""
    if name not in TARGETS:
        raise ConfigurationError(f"Unknown bundle target '{name}'. Targets: {', '.join(TARGETS)}.")
    path = spec.repo_root() / "conf" / f"{name}.yml"
    settings = spec.environment_settings(name)
    deploy = _mapping(path, "deploy", settings.get("deploy"), _DEPLOY_KEYS)
    alerts = _mapping(path, "deploy.alerts", deploy["alerts"], _ALERT_KEYS)
    emails = _typed(path, "deploy.alerts.emails", alerts["emails"], list)
    configuration = spec.environment_configuration(name)
    placeholders = sorted(k for k, v in configuration.items() if "{" in v.replace("${", ""))
    if placeholders:
        raise ConfigurationError(f"{path}: local placeholders ({{storage}}, ...) cannot be deployed: {placeholders}.")
    for key in (TRIGGER_MS_KEY, BACKLOG_KEY):
        if not configuration.get(key, "").isdigit():
            raise ConfigurationError(f"{path}: configuration '{key}' must be a whole number.")
    return Target(
        name=name,
        catalog_suffix=_typed(path, "deploy.catalog_suffix", deploy["catalog_suffix"], str),
        schema_per_user=_typed(path, "deploy.schema_per_user", deploy["schema_per_user"], bool),
        continuous=_typed(path, "deploy.continuous", deploy["continuous"], bool),
        alerts=Alerting(
            emails=tuple(_typed(path, "deploy.alerts.emails[]", e, str) for e in emails),
            better_stack=_typed(path, "deploy.alerts.better_stack", alerts["better_stack"], bool),
            schedule_paused=_typed(path, "deploy.alerts.schedule_paused", alerts["schedule_paused"], bool),
            run_duration_seconds=_typed(path, "deploy.alerts.run_duration_seconds",
                                        alerts["run_duration_seconds"], int),
        ),
        configuration=configuration,
        trigger_execution_ms_max=int(configuration[TRIGGER_MS_KEY]),
        backlog_growth_triggers=int(configuration[BACKLOG_KEY]),
    )


def pipeline_spec(name: str, env: str) -> PipelineSpec:
    """``pipelines/<name>/pipeline.yml`` with ``conf/<env>.yml``; unknown keys and a missing domain are errors."""
    path = spec.repo_root() / "pipelines" / name / spec.SPEC_FILE
    raw = yaml.safe_load(path.read_text()) or {}
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise ConfigurationError(f"{path}: unknown keys {unknown} (known: {', '.join(sorted(SPEC_KEYS))}).")
    resolved = spec.resolve(name, env, spec.repo_root() / ".pipelines")
    if not _IDENTIFIER.match(resolved.domain):
        raise ConfigurationError(f"{path}: 'domain' (the Databricks catalog) must be an identifier, "
                                 f"not {resolved.domain!r}.")
    return resolved


def deployed(target_settings: Target) -> list[Deployed]:
    """Every pipeline of the repository as ``target_settings`` deploys it."""
    result = []
    for name in spec.pipeline_names():
        pipeline = pipeline_spec(name, target_settings.name)
        schema = pipeline.database
        if target_settings.schema_per_user:
            schema = f"{schema}_${{workspace.current_user.short_name}}"
        result.append(Deployed(spec=pipeline, catalog=pipeline.domain + target_settings.catalog_suffix, schema=schema))
    return result
