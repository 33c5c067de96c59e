"""``pipelines kafka send``: send records (JSON lines) to an environment's topic, Avro-encoded with
a registry schema in the environment's wire format. The development tool for real topics."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import fastavro
from fastavro.validation import ValidationError, validate

from palindrom.avro import wire
from palindrom.kafka.producer import AvroSerializer, EventProducer
from palindrom.kafka.source import PREFIX, kafka_settings
from palindrom.registry import pipeline
from palindrom.registry.auth import databricks_secret
from palindrom.registry.client import ArtifactVersion
from palindrom.registry.errors import RegistryError
from palindrom.runtime import spec


def producer_config(settings: dict[str, str]) -> dict[str, str]:
    """librdkafka settings for the topic's cluster; SASL credentials from the environment
    (PALINDROM_KAFKA_USERNAME/PASSWORD) or the secret scope."""
    import os

    config = {"bootstrap.servers": settings["bootstrap_servers"], "enable.idempotence": "true",
              "message.timeout.ms": str(int(float(settings.get("timeout_seconds", "30")) * 1000))}
    if settings.get("security_protocol"):
        config["security.protocol"] = settings["security_protocol"]
    if settings.get("sasl_mechanism"):
        scope = settings.get("secret_scope", "")
        config["sasl.mechanism"] = settings["sasl_mechanism"]
        config["sasl.username"] = os.environ.get("PALINDROM_KAFKA_USERNAME") or databricks_secret(scope, "username")
        config["sasl.password"] = os.environ.get("PALINDROM_KAFKA_PASSWORD") or databricks_secret(scope, "password")
    return config


def _records(path: Path, schema: ArtifactVersion) -> list[tuple[str, dict[str, Any]]]:
    """Every record, checked against the schema first: nothing is sent when one line is wrong."""
    parsed = fastavro.parse_schema(json.loads(schema.content))
    found = []
    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                validate(record, parsed, raise_errors=True)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg}); one record per line.") from exc
            except ValidationError as exc:
                raise ValueError(f"{path}:{number}: does not match {schema.group}/{schema.artifact} "
                                 f"v{schema.version}: {exc}") from exc
            found.append((str(record.get("event_id") or number), record))
    return found


def send(args: argparse.Namespace) -> int:
    try:
        configuration = spec.environment_configuration(args.env)
    except spec.ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = kafka_settings(configuration)
    if args.bootstrap_servers:
        settings["bootstrap_servers"] = args.bootstrap_servers
    if args.timeout:
        settings["timeout_seconds"] = str(args.timeout)
    if args.registry_url:
        configuration["palindrom.registry.url"] = args.registry_url
    if not settings.get("bootstrap_servers") or not settings.get("topic"):
        print(f"error: conf/{args.env}.yml has no {PREFIX}bootstrap_servers/topic; Kafka is not used there.",
              file=sys.stderr)
        return 2
    fmt = args.wire_format or settings.get("wire_format", "apicurio3")
    if fmt not in wire.WIRE_FORMATS:
        print(f"error: wire format must be one of {', '.join(wire.WIRE_FORMATS)}", file=sys.stderr)
        return 2
    try:
        source = pipeline.source(configuration)[0]
        schema = source.latest(args.group, args.artifact)
        records = _records(args.file, schema)
        producer = EventProducer(producer_config(settings), AvroSerializer(schema, fmt))
        sent = producer.send(settings["topic"], records, timeout=float(settings.get("timeout_seconds", "30")) + 5)
    except (RegistryError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"sent {sent} records to {settings['topic']} as {args.group}/{args.artifact} v{schema.version} ({fmt})")
    return 0
