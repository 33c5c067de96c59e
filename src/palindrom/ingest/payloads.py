"""Decode framed Avro payloads (Kafka message values) in Arrow batches: ``DataFrame.mapInArrow``.

For each message: unframe (``wire``), fetch the writer schema by its id from the registry (cached
per worker), resolve it onto the reader schema with fastavro, convert to Spark's Avro mapping.
Nothing fails the stream and nothing is lost: a message that cannot be decoded keeps its raw
bytes and position and gets ``decode_error`` saying why; ``split`` separates the two.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fastavro
import fastavro.read
import fastavro.schema
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from palindrom.arrow import build
from palindrom.avro import wire
from palindrom.ingest.decoders import RegistryDecoder
from palindrom.registry.errors import NotFound

PAYLOAD = "payload"
ERROR = "decode_error"
SCHEMA_ID_KIND = "schema_id_kind"
SCHEMA_ID = "schema_id"
SCHEMA_VERSION = "schema_version"


@dataclass(frozen=True)
class PayloadDecoder(RegistryDecoder):
    """Picklable: shipped to the Python workers, which connect to the registry themselves."""

    wire_format: wire.WireFormat
    reader_schema: str                         # JSON, normally the registry's latest version
    registry: tuple[tuple[str, str], ...]      # palindrom.registry.* settings without the prefix
    environment: str
    schemas_dir: str
    value_column: str = "value"
    headers_column: str | None = "headers"     # Kafka's array<struct<key: string, value: binary>>
    group: str = ""                            # the artifact whose versions name the writer ids
    artifact: str = ""                         # (empty: versions are not looked up)

    def output_schema(self, input_schema: T.StructType) -> T.StructType:
        return T.StructType([*input_schema.fields, T.StructField(PAYLOAD, self.payload_type, True),
                             T.StructField(SCHEMA_ID_KIND, T.StringType(), True),
                             T.StructField(SCHEMA_ID, T.LongType(), True),
                             T.StructField(SCHEMA_VERSION, T.StringType(), True),
                             T.StructField(ERROR, T.StringType(), True)])

    # -- worker side -----------------------------------------------------------------------
    def _writer(self, ref: wire.SchemaRef) -> tuple[Any, Any]:
        """(parsed writer schema, reader schema to resolve onto, or None when they are the same)."""
        writers: dict[wire.SchemaRef, tuple[Any, Any]] = self.worker.setdefault("writers", {})
        if ref not in writers:
            writer = json.loads(self.worker["source"].schema(ref))
            writers[ref] = (fastavro.parse_schema(writer), self.resolve_onto(writer))
        return writers[ref]

    def version(self, ref: wire.SchemaRef | None) -> str | None:
        """The registry version of the artifact a writer id belongs to (None when not one of its versions)."""
        if ref is None or not self.artifact:
            return None
        known: str | None = self.lookup_version(ref, lambda v: [
            (wire.SchemaRef("globalId", v.global_id), v.version),
            (wire.SchemaRef("contentId", v.content_id), v.version),
            (wire.SchemaRef("confluentId", v.content_id), v.version)])
        return known

    def one(self, value: bytes | None, headers: dict[str, bytes]) -> tuple[Any, wire.SchemaRef | None, str | None]:
        """(payload row, schema reference, None) or (None, reference if known, why it failed)."""
        cache = self.worker   # parsed once per worker, not per record
        ref = None
        try:
            ref, body = wire.unframe(self.wire_format, value, headers)
            writer, reader = self._writer(ref)
        except wire.WireError as exc:
            return None, ref, f"{self.wire_format} framing: {exc}"
        except NotFound as exc:
            return None, ref, f"unknown writer schema {ref.kind if ref else ''} {ref.id if ref else ''}: {exc}"
        buffer = io.BytesIO(body)
        try:
            datum = fastavro.schemaless_reader(buffer, writer, reader)
        except fastavro.read.SchemaResolutionError as exc:
            return None, ref, f"writer schema {ref.kind} {ref.id} cannot be resolved onto the reader schema: {exc}"
        except Exception as exc:  # truncated or corrupt bodies raise EOFError, ValueError, IndexError, ...
            return None, ref, f"truncated or corrupt Avro body ({type(exc).__name__}: {exc})"
        if buffer.tell() != len(body):
            return None, ref, (f"{len(body) - buffer.tell()} bytes left after the record: not "
                               f"{self.wire_format} framing, or a different writer schema")
        try:
            row = cache["convert"](datum)
        except ValueError as exc:
            return None, ref, f"decoded record does not fit the reader schema's Spark type: {exc}"
        return row, ref, None

    @staticmethod
    def _misfit(columns: dict[str, list[Any]], row: int, reason: str) -> None:
        columns[ERROR][row] = f"decoded record does not fit the reader schema's Spark type: {reason}"
        columns[SCHEMA_VERSION][row] = None

    def batches(self, batches: Iterator[pa.RecordBatch], output: T.StructType) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            builder = build.BatchBuilder(output, checked=PAYLOAD, repair=self._misfit)
            versions: dict[wire.SchemaRef, str | None] = {}
            for row in batch.to_pylist():
                headers = {h["key"]: h["value"] for h in row.get(self.headers_column) or []} \
                    if self.headers_column else {}
                payload, ref, error = self.one(row[self.value_column], headers)
                if payload is not None and ref is not None and ref not in versions:
                    versions[ref] = self.version(ref)
                builder.add({**row, PAYLOAD: payload, SCHEMA_ID_KIND: ref.kind if ref else None,
                             SCHEMA_ID: ref.id if ref else None,
                             SCHEMA_VERSION: versions.get(ref) if payload is not None and ref else None,
                             ERROR: error})
            yield builder.flush()



def split(decoded: DataFrame, position: list[str]) -> tuple[DataFrame, DataFrame]:
    """(decoded rows: payload fields + position + schema id, dead letters: raw bytes + position + reason)."""
    ok: Column = F.col(ERROR).isNull()
    good = decoded.where(ok).select(f"{PAYLOAD}.*", *position, SCHEMA_ID_KIND, SCHEMA_ID)
    dead = decoded.where(~ok).select(F.col("value").alias("raw_value"), *position, SCHEMA_ID_KIND, SCHEMA_ID,
                                     F.col(ERROR).alias("reason"))
    return good, dead
