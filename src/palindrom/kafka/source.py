"""The bronze Kafka source on Databricks: Spark's Kafka source, configured per environment.

Settings come from the pipeline configuration (``conf/<env>.yml``), keys ``palindrom.kafka.*``:
``bootstrap_servers``, ``topic``, ``wire_format`` (apicurio3|apicurio2|headers|confluent),
``starting_offsets``, ``security_protocol`` and, for SASL, ``sasl_mechanism`` with credentials from
the secret scope ``secret_scope`` (keys ``username``/``password``). Not available locally: no broker
and no Kafka connector exist on these machines; local runs read the same events from files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pyspark.sql import DataFrame, SparkSession

from palindrom.registry import pipeline
from palindrom.registry.auth import databricks_secret
from palindrom.runtime import spec
from palindrom.runtime.kafka_schema import KAFKA_SOURCE_SCHEMA

PREFIX = "palindrom.kafka."
POSITION = ["topic", "partition", "offset", "timestamp"]


# Spark's Kafka source with includeHeaders: fixed, so no query function has to analyse the stream.
KAFKA_COLUMNS = KAFKA_SOURCE_SCHEMA  # Spark's Kafka source columns
KEYS = ("bootstrap_servers", "topic", "wire_format", "starting_offsets", "security_protocol", "sasl_mechanism",
        "secret_scope")


def configuration(spark: SparkSession) -> dict[str, str]:
    """The pipeline's Kafka and registry settings, key by key (older runtimes have no getAll)."""
    found = {PREFIX + key: spark.conf.get(PREFIX + key, None) for key in KEYS}
    return {**pipeline.configuration(spark), **{k: v for k, v in found.items() if v is not None}}


def enabled(spark: SparkSession) -> bool:
    """Whether this environment has a Kafka source (conf/<env>.yml sets palindrom.kafka.bootstrap_servers)."""
    return bool(spark.conf.get(PREFIX + "bootstrap_servers", None))


def kafka_settings(configuration: Mapping[str, str]) -> dict[str, str]:
    return spec.prefixed(configuration, PREFIX)


def kafka_options(configuration: Mapping[str, str],
                  secret: Callable[[str, str], str] = databricks_secret) -> dict[str, str]:
    """The Kafka source options for Spark; SASL credentials are read from the secret scope here."""
    settings = kafka_settings(configuration)
    missing = [k for k in ("bootstrap_servers", "topic") if not settings.get(k)]
    if missing:
        raise ValueError(f"Kafka source needs {', '.join(PREFIX + k for k in missing)} in conf/.")
    options = {"kafka.bootstrap.servers": settings["bootstrap_servers"], "subscribe": settings["topic"],
               "startingOffsets": settings.get("starting_offsets", "earliest"), "includeHeaders": "true",
               "failOnDataLoss": "true"}
    protocol = settings.get("security_protocol")
    if protocol:
        options["kafka.security.protocol"] = protocol
    if settings.get("sasl_mechanism"):
        scope = settings.get("secret_scope")
        if not scope:
            raise ValueError(f"{PREFIX}sasl_mechanism needs {PREFIX}secret_scope for the credentials.")
        user, password = secret(scope, "username"), secret(scope, "password")
        module = ("org.apache.kafka.common.security.scram.ScramLoginModule"
                  if settings["sasl_mechanism"].startswith("SCRAM") else
                  "org.apache.kafka.common.security.plain.PlainLoginModule")
        options["kafka.sasl.mechanism"] = settings["sasl_mechanism"]
        options["kafka.sasl.jaas.config"] = f'kafkashaded.{module} required username="{user}" password="{password}";'
    return options


def read_raw(spark: SparkSession, configuration: Mapping[str, str]) -> DataFrame:
    """The environment's topic as Spark's Kafka source reads it (columns: KAFKA_COLUMNS)."""
    return spark.readStream.format("kafka").options(**kafka_options(configuration)).load()
