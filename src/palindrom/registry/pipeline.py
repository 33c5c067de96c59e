"""What pipeline files call: the registry's reader schema for an artifact, from the pipeline's
configuration (``palindrom.registry.*``), the same way locally and on Databricks.

```python
from palindrom.registry.pipeline import reader_schema

spark.readStream.format("cloudFiles").option("cloudFiles.format", "avro") \\
    .option("avroSchema", reader_schema(spark, "palindrom.events", "app_event")).load(landing)
```
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from palindrom.registry import connect, shared
from palindrom.registry.client import ArtifactVersion
from palindrom.registry.local import SchemaSource

SCHEMAS_KEY = "palindrom.registry.schemas_path"


# One update per driver process unless the runtime names each update (palindrom.registry.update_key).
PROCESS_UPDATE_KEY = f"process-{uuid.uuid4()}"


def source(configuration: Mapping[str, str]) -> tuple[SchemaSource, dict[str, str], str, str]:
    """(schema source, registry settings, environment, schemas folder) for a pipeline configuration.

    The settings name the update (``update_key``) and where its processes share the registry's
    verdict (``state_dir``), so the workers that receive them ask a failing registry no more.
    """
    settings = connect.settings_from(configuration)
    settings.pop("schemas_path", None)
    if settings.get("url", "local") != "local":
        settings.setdefault("update_key", PROCESS_UPDATE_KEY)
        settings.setdefault("state_dir", str(shared.default_directory()))
    environment = configuration.get("palindrom.environment", "local")
    schemas = configuration.get(SCHEMAS_KEY) or str(connect.default_schemas_dir())
    return connect.connect(settings, environment, Path(schemas)), settings, environment, schemas


KEYS = ("palindrom.environment", SCHEMAS_KEY, *(f"{connect.PREFIX}{k}" for k in (
    "url", "auth", "token_url", "scope", "credentials_env", "secret_scope", "timeout_seconds", "deadline_seconds",
    "retries", "update_key", "state_dir")))


def configuration(spark: SparkSession) -> dict[str, str]:
    # Key by key: older Databricks runtimes have no RuntimeConfig.getAll.
    found = {key: spark.conf.get(key, None) for key in KEYS}
    return {k: v for k, v in found.items() if v is not None}


def latest(spark: SparkSession, group: str, artifact: str) -> ArtifactVersion:
    return source(configuration(spark))[0].latest(group, artifact)


def reader_schema(spark: SparkSession, group: str, artifact: str) -> str:
    """The latest registered version's schema JSON (dereferenced), to read every older writer with."""
    return latest(spark, group, artifact).content
