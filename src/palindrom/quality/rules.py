"""Quality rules as data: one YAML file per dataset under ``expectations/``.

```yaml
dataset: starter_orders_silver
rules:
  - name: positive_amount
    constraint: amount > 0
    action: drop            # warn | drop | fail | quarantine
    description: Refunds arrive through another feed.
    tags: [validity]
    owner: data-platform
    min_pass_rate: 0.995    # optional: the lowest share of rows that may pass before it is a problem
```

Loading checks the file's shape: keys, identifier names unique per dataset, a known action, a
non-empty constraint, a pass-rate threshold between 0 and 1 (``0.995`` or ``"99.5%"``). A rule's
threshold is what the quality report, the dashboard and the pipeline UI draw and flag: ``min_pass_rate``
when it has one; a ``fail`` rule's is 100 % (one failing row stops the update), so it takes no other.
``palindrom.quality.validate`` checks the constraints themselves: statically
whenever a pipeline loads them, and against the dataset's columns in ``pipelines expectations check``.
An optional top-level ``schema`` names the Avro schema whose columns the constraints may use: a
registry artifact ``<group>/<artifactId>`` (its latest version in ``schemas/``), or a file
``<name>.avsc`` under ``schemas/``; ``columns`` (DDL) adds the columns the dataset's query derives.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

Action = Literal["warn", "drop", "fail", "quarantine"]
ACTIONS: tuple[Action, ...] = ("warn", "drop", "fail", "quarantine")
DIRECTORY_ENV = "PALINDROM_EXPECTATIONS_DIR"
CONF_KEY = "palindrom.expectations_path"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYS = {"name", "constraint", "action", "description", "tags", "owner", "min_pass_rate"}
RuleKey = tuple[str, str]  # (dataset, rule name)


class RuleError(ValueError):
    """A rules file that cannot be used; the message names the file and the rule."""


@dataclass(frozen=True)
class Rule:
    name: str
    constraint: str
    action: Action
    description: str = ""
    tags: tuple[str, ...] = ()
    owner: str = ""
    min_pass_rate: float | None = None

    @property
    def threshold(self) -> float | None:
        """The lowest pass rate the rule accepts: 100 % for a fail rule, else its ``min_pass_rate``."""
        return 1.0 if self.action == "fail" else self.min_pass_rate


@dataclass(frozen=True)
class DatasetRules:
    dataset: str
    path: Path
    rules: tuple[Rule, ...] = field(default_factory=tuple)
    schema: str | None = None   # "<group>/<artifact>" in schemas/, or an .avsc file under schemas/
    columns: str | None = None  # DDL of the columns the dataset adds to the schema's (derived in its query)

    @property
    def schema_path(self) -> Path | None:
        return None if self.schema is None else self.path.resolve().parent.parent / "schemas" / self.schema
    # for "group/artifact" this is schemas/<group>/<artifact>, the artifact's folder

    def by_action(self, action: Action) -> dict[str, str]:
        return {r.name: r.constraint for r in self.rules if r.action == action}


def default_directory() -> Path:
    """``$PALINDROM_EXPECTATIONS_DIR``, else ``expectations/`` at the repository root."""
    configured = os.environ.get(DIRECTORY_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "expectations"


def directory_for(configuration: Mapping[str, str]) -> Path:
    """The rules folder a pipeline uses: its ``palindrom.expectations_path``, else the default."""
    configured = configuration.get(CONF_KEY)
    return Path(configured) if configured else default_directory()


def load_file(path: Path) -> DatasetRules:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleError(f"{path}: expected a mapping with 'dataset' and a list 'rules'.")
    unknown = set(data) - {"dataset", "schema", "columns", "rules"}
    if unknown:
        raise RuleError(f"{path}: unknown keys {sorted(unknown)}; allowed: dataset, schema, columns, rules.")
    columns = data.get("columns")
    if columns is not None and (not isinstance(columns, str) or schema_missing(data)):
        raise RuleError(f"{path}: 'columns' is a DDL string of the columns the dataset adds to its 'schema', "
                        "like 'event_date DATE, ingested_at TIMESTAMP'.")
    schema = data.get("schema")
    if schema is not None and (not isinstance(schema, str) or not (schema.endswith(".avsc") or "/" in schema)):
        raise RuleError(f"{path}: 'schema' must name a registry artifact like palindrom.events/app_event, "
                        "or an Avro schema file under schemas/ like events.avsc.")
    dataset = data.get("dataset") or path.stem
    if dataset != path.stem:
        raise RuleError(f"{path}: dataset '{dataset}' must match the file name '{path.stem}.yml'.")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["rules"], start=1):
        rules.append(_rule(path, index, raw, seen))
    return DatasetRules(dataset, path, tuple(rules), schema, columns)


def schema_missing(data: dict[str, object]) -> bool:
    return data.get("schema") is None


def _rule(path: Path, index: int, raw: Any, seen: set[str]) -> Rule:
    where = f"{path}, rule {index}"
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: expected a mapping with name, constraint and action.")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise RuleError(f"{where}: 'name' must be an identifier (letters, digits, _), got {name!r}.")
    where = f"{path}, rule '{name}'"
    unknown = set(raw) - _KEYS
    if unknown:
        raise RuleError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}.")
    if name in seen:
        raise RuleError(f"{where}: the name is used twice; rule names must be unique per dataset.")
    seen.add(name)
    constraint = raw.get("constraint")
    if not isinstance(constraint, str) or not constraint.strip():
        raise RuleError(f"{where}: 'constraint' must be a Spark SQL boolean expression.")
    action = raw.get("action")
    if action not in ACTIONS:
        raise RuleError(f"{where}: 'action' must be one of {', '.join(ACTIONS)}, got {action!r}.")
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RuleError(f"{where}: 'tags' must be a list of strings.")
    return Rule(name, constraint.strip(), cast(Action, action), str(raw.get("description") or ""),
                tuple(tags), str(raw.get("owner") or ""), _min_pass_rate(where, raw.get("min_pass_rate"), action))


def _min_pass_rate(where: str, raw: object, action: object) -> float | None:
    """A share of rows between 0 and 1, written as a number (0.995) or a percentage ("99.5%")."""
    if raw is None:
        return None
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str) and raw.strip().endswith("%"):
        try:
            value = float(raw.strip()[:-1]) / 100
        except ValueError:
            value = None
    if value is None or not 0 <= value <= 1:
        raise RuleError(f"{where}: 'min_pass_rate' must be a share of rows between 0 and 1, like 0.995 or "
                        f"\"99.5%\", got {raw!r}.")
    if action == "fail" and value < 1:
        raise RuleError(f"{where}: a fail rule stops the update at the first failing row, so its threshold is "
                        f"100 %; remove 'min_pass_rate' or make the rule warn, drop or quarantine.")
    return value


def load(dataset: str, directory: Path | None = None) -> DatasetRules:
    directory = directory or default_directory()
    path = directory / f"{dataset}.yml"
    if not path.exists():
        raise RuleError(f"No rules for dataset '{dataset}': {path} does not exist.")
    return load_file(path)


def load_all(directory: Path | None = None) -> list[DatasetRules]:
    directory = directory or default_directory()
    return [load_file(p) for p in sorted(directory.glob("*.yml"))]


def configured(directory: Path) -> dict[RuleKey, Rule]:
    """(dataset, rule) -> rule from the rules files under ``directory``; empty when it has none or
    they do not load. The event log records quarantine rules as the drop expectations they run as and
    knows no thresholds; reports take both from here."""
    try:
        loaded = load_all(directory) if directory.is_dir() else []
    except RuleError:
        return {}
    return {(dataset_rules.dataset, rule.name): rule for dataset_rules in loaded for rule in dataset_rules.rules}
