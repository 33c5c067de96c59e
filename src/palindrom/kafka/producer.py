"""The project's Avro producer: serializes records with a registry schema in one of the four wire
formats and sends them with confluent-kafka. Tests use the serializer to make byte-exact payloads;
in development it sends sample events to a real topic (``pipelines kafka send``)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import fastavro

from palindrom.avro import wire
from palindrom.registry.client import ArtifactVersion

# Which id each framing carries: Apicurio 3.x writes contentIds, 2.x globalIds, ccompat ids are contentIds.
ID_KIND: dict[wire.WireFormat, wire.IdKind] = {"apicurio3": "contentId", "apicurio2": "globalId",
                                               "headers": "globalId", "confluent": "confluentId"}


@dataclass
class AvroSerializer:
    schema: ArtifactVersion
    wire_format: wire.WireFormat
    _parsed: Any = field(default=None, repr=False)

    @property
    def ref(self) -> wire.SchemaRef:
        kind = ID_KIND[self.wire_format]
        return wire.SchemaRef(kind, self.schema.global_id if kind == "globalId" else self.schema.content_id)

    def body(self, record: Mapping[str, Any]) -> bytes:
        if self._parsed is None:
            self._parsed = fastavro.parse_schema(json.loads(self.schema.content))
        out = io.BytesIO()
        fastavro.schemaless_writer(out, self._parsed, dict(record))
        return out.getvalue()

    def __call__(self, record: Mapping[str, Any]) -> tuple[bytes, list[tuple[str, bytes]]]:
        """(message value, message headers) exactly as the registry's own serializer writes them."""
        return wire.frame(self.wire_format, self.ref, self.body(record))


class EventProducer:
    """confluent-kafka Producer + AvroSerializer; ``config`` is librdkafka's (bootstrap.servers, SASL...)."""

    def __init__(self, config: Mapping[str, str], serializer: AvroSerializer) -> None:
        from confluent_kafka import Producer

        self.serializer = serializer
        self._producer = Producer(dict(config))
        self.failed: list[str] = []

    def _delivered(self, error: Any, message: Any) -> None:
        if error is not None:
            self.failed.append(str(error))

    def send(self, topic: str, records: Iterable[tuple[str, Mapping[str, Any]]], timeout: float = 30.0) -> int:
        """Send (key, record) pairs; returns how many were delivered. Raises if any were not."""
        sent = 0
        for key, record in records:
            value, headers = self.serializer(record)
            sent_headers: list[tuple[str, str | bytes | None]] = list(headers)
            self._producer.produce(topic, key=key.encode(), value=value, headers=sent_headers,
                                   on_delivery=self._delivered)
            self._producer.poll(0)
            sent += 1
        remaining = self._producer.flush(timeout)
        if remaining or self.failed:
            raise RuntimeError(f"{remaining + len(self.failed)} of {sent} messages to {topic} were not delivered: "
                               f"{self.failed[:3]}")
        return sent
