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
from pyspark.sql.pandas.types import to_arrow_schema

from palindrom.arrow import build
from palindrom.avro import container, wire
from palindrom.ingest.decoders import RegistryDecoder
from palindrom.registry.errors import NotFound

PAYLOAD = "payload"
ERROR = "decode_error"
SCHEMA_ID_KIND = "schema_id_kind"
SCHEMA_ID = "schema_id"
SCHEMA_VERSION = "schema_version"
_ADDED = (PAYLOAD, SCHEMA_ID_KIND, SCHEMA_ID, SCHEMA_VERSION, ERROR)   # the columns decoding adds


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
    def _writer(self, ref: wire.SchemaRef) -> container.Reading:
        writers: dict[wire.SchemaRef, container.Reading] = self.worker.setdefault("writers", {})
        if ref not in writers:
            writers[ref] = self.reading(json.loads(self.worker["source"].schema(ref)))
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
        ref = None
        try:
            ref, body = wire.unframe(self.wire_format, value, headers)
            read = self._writer(ref)   # parsed once per worker, not per record
        except wire.WireError as exc:
            return None, ref, f"{self.wire_format} framing: {exc}"
        except NotFound as exc:
            return None, ref, f"unknown writer schema {ref.kind if ref else ''} {ref.id if ref else ''}: {exc}"
        buffer = io.BytesIO(body)
        try:
            datum = fastavro.schemaless_reader(buffer, read.writer, read.reader)
        except fastavro.read.SchemaResolutionError as exc:
            return None, ref, f"writer schema {ref.kind} {ref.id} cannot be resolved onto the reader schema: {exc}"
        except Exception as exc:  # truncated or corrupt bodies raise EOFError, ValueError, IndexError, ...
            return None, ref, f"truncated or corrupt Avro body ({type(exc).__name__}: {exc})"
        if buffer.tell() != len(body):
            return None, ref, (f"{len(body) - buffer.tell()} bytes left after the record: not "
                               f"{self.wire_format} framing, or a different writer schema")
        try:
            row = read.to_payload(datum)
        except ValueError as exc:
            return None, ref, f"decoded record does not fit the reader schema's Spark type: {exc}"
        return row, ref, None

    @staticmethod
    def _misfit(columns: dict[str, list[Any]], row: int, reason: str) -> None:
        columns[ERROR][row] = f"decoded record does not fit the reader schema's Spark type: {reason}"
        columns[SCHEMA_VERSION][row] = None

    def batches(self, batches: Iterator[pa.RecordBatch], output: T.StructType) -> Iterator[pa.RecordBatch]:
        """The input's columns pass through as they are; the decoded columns are built per batch."""
        arrow_output = to_arrow_schema(output, timezone="UTC", prefers_large_types=False)
        added = T.StructType(output.fields[-len(_ADDED):])
        framed_in_headers = self.wire_format == "headers" and self.headers_column
        for batch in batches:
            messages = batch.column(self.value_column).to_pylist()
            headers = batch.column(self.headers_column).to_pylist() if framed_in_headers else None
            columns: dict[str, list[Any]] = {name: [] for name in _ADDED}
            versions: dict[wire.SchemaRef, str | None] = {}
            for row, value in enumerate(messages):
                found = {h["key"]: h["value"] for h in headers[row] or []} if headers is not None else {}
                payload, ref, error = self.one(value, found)
                if payload is not None and ref is not None and ref not in versions:
                    versions[ref] = self.version(ref)
                columns[PAYLOAD].append(payload)
                columns[SCHEMA_ID_KIND].append(ref.kind if ref else None)
                columns[SCHEMA_ID].append(ref.id if ref else None)
                columns[SCHEMA_VERSION].append(versions.get(ref) if payload is not None and ref else None)
                columns[ERROR].append(error)
            builder = build.BatchBuilder(added, checked=PAYLOAD, repair=self._misfit)
            builder.extend(columns)
            decoded = builder.flush()
            passed = [column if column.type == field.type else column.cast(field.type)
                      for column, field in zip(batch.columns, arrow_output, strict=False)]
            yield pa.RecordBatch.from_arrays([*passed, *decoded.columns], schema=arrow_output)


def split(decoded: DataFrame, position: list[str]) -> tuple[DataFrame, DataFrame]:
    """(decoded rows: payload fields + position + schema id, dead letters: raw bytes + position + reason)."""
    ok: Column = F.col(ERROR).isNull()
    good = decoded.where(ok).select(f"{PAYLOAD}.*", *position, SCHEMA_ID_KIND, SCHEMA_ID)
    dead = decoded.where(~ok).select(F.col("value").alias("raw_value"), *position, SCHEMA_ID_KIND, SCHEMA_ID,
                                     F.col(ERROR).alias("reason"))
    return good, dead
