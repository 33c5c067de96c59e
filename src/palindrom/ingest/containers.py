"""Decode landed Avro container files (read as ``binaryFile``) record by record, in Arrow batches.

Auto Loader's own Avro reader cannot say which schema wrote a file. Reading the files as bytes
(``cloudFiles.format = binaryFile``, on Databricks as locally) and decoding them here gives each
record its ingest metadata: the file, the record's position in it, and the writer schema's
registry globalId and version. A file's writer schema (in its header) is looked up among the
artifact's registered versions by Avro parsing canonical form, then resolved onto the reader
schema (the registry's latest version).

Nothing is lost. A record gets ``decode_error`` instead of a payload, with the bytes it could not
read in ``raw_value`` and in ``records`` how many records those bytes hold, when:

* the file is not an Avro container file, or uses a codec other than null/deflate;
* its writer schema is not a registered version of the artifact (the whole file, every block counted);
* a block is damaged or cut short (that block; reading resumes at the next sync marker);
* a record cannot be read or resolved onto the reader schema (invalid UTF-8 in a string, an enum
  symbol the reader lacks...): that record alone, its bytes delimited by the writer schema; only when
  even the writer schema cannot delimit it (lengths damaged) the rest of its block.

Writer fields the reader schema does not have (a producer already on a newer registered version
than this pipeline's reader) go to ``rescued_data`` as JSON, as Auto Loader rescues them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fastavro.schema
import pyarrow as pa
from fastavro.schema import to_parsing_canonical_form
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from palindrom.arrow import build
from palindrom.avro.container import ContainerError, Decoded, blocks, extra_fields, header, records
from palindrom.ingest.decoders import RegistryDecoder

PAYLOAD = "payload"
POSITION = "record_position"   # 0-based index of the record in its file
RECORDS = "records"            # how many records the row stands for (1, or a damaged part's count)
WRITER_ID = "writer_schema_id"  # registry globalId
WRITER_VERSION = "writer_schema_version"
RESCUED = "rescued_data"
RAW = "raw_value"
ERROR = "decode_error"
BATCH_ROWS = 4096


def canonical(schema: Any) -> str:
    return str(to_parsing_canonical_form(schema))


@dataclass(frozen=True)
class ContainerDecoder(RegistryDecoder):
    """Picklable: shipped to the Python workers, which connect to the registry themselves."""

    group: str
    artifact: str
    reader_schema: str                         # JSON, the registry's latest version
    registry: tuple[tuple[str, str], ...]      # palindrom.registry.* settings without the prefix
    environment: str
    schemas_dir: str
    content_column: str = "content"

    def spec(self) -> str:
        """JSON that :meth:`from_spec` turns back into this decoder (the local source's option)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_spec(cls, spec: str) -> ContainerDecoder:
        fields: dict[str, Any] = json.loads(spec)
        fields["registry"] = tuple((str(k), str(v)) for k, v in fields.get("registry", []))
        return cls(**fields)

    def output_schema(self, input_schema: T.StructType) -> T.StructType:
        kept = [f for f in input_schema.fields if f.name != self.content_column]
        return T.StructType([*kept, T.StructField(PAYLOAD, self.payload_type, True),
                             T.StructField(POSITION, T.LongType(), True), T.StructField(RECORDS, T.LongType(), True),
                             T.StructField(WRITER_ID, T.LongType(), True),
                             T.StructField(WRITER_VERSION, T.StringType(), True),
                             T.StructField(RESCUED, T.StringType(), True), T.StructField(RAW, T.BinaryType(), True),
                             T.StructField(ERROR, T.StringType(), True)])

    # -- worker side -----------------------------------------------------------------------
    def registered(self, writer: dict[str, Any]) -> tuple[int, str] | None:
        """(globalId, version) of the registered version with this writer schema's canonical form."""
        known: tuple[int, str] | None = self.lookup_version(
            canonical(writer), lambda v: [(canonical(json.loads(v.content)), (v.global_id, v.version))])
        return known

    def rows(self, data: bytes) -> Iterator[dict[str, Any]]:
        """One row per record, or per part of the file that could not be decoded."""
        try:
            head = header(data)
            reading = self.reading(head.schema)   # parses the writer schema (once per worker)
        except (ContainerError, ValueError, UnicodeDecodeError, fastavro.schema.SchemaParseException) as exc:
            yield {RAW: data, RECORDS: None, POSITION: 0, ERROR: f"unreadable Avro file: {exc}"}
            return
        found = self.registered(head.schema)
        if found is None:
            counted = [b.count for b in blocks(data, head)]
            total = sum(c for c in counted if c is not None) if None not in counted else None
            yield {RAW: data, RECORDS: total, POSITION: 0, ERROR: (
                f"writer schema {head.schema.get('name')} (canonical form not registered) is not a version of "
                f"{self.group}/{self.artifact}: register it (pipelines registry publish) and land the file again")}
            return
        ids = {WRITER_ID: found[0], WRITER_VERSION: found[1]}
        extra = extra_fields(head.schema, self.worker["reader_json"])
        index = 0
        for block in blocks(data, head):
            if block.data is None:
                yield {**ids, RAW: data[block.start: block.end], RECORDS: block.count, POSITION: index,
                       ERROR: block.error}
            else:
                yield from (self._row(decoded, ids) for decoded in records(block, reading, index, extra))
            index += block.count or 0

    @staticmethod
    def _row(decoded: Decoded, ids: dict[str, Any]) -> dict[str, Any]:
        if not decoded.failed:
            return {**ids, PAYLOAD: decoded.payload, RECORDS: 1, POSITION: decoded.position,
                    RESCUED: build.to_json(decoded.unknown) if decoded.unknown else None}
        kept = "its bytes are kept here" if decoded.delimited else "the rest of its block is kept here"
        return {**ids, RAW: decoded.raw, RECORDS: decoded.records, POSITION: decoded.position,
                ERROR: f"record {decoded.position} cannot be decoded onto the reader schema "
                       f"({type(decoded.error).__name__}: {decoded.error}); {kept}"}

    @staticmethod
    def _misfit(columns: dict[str, list[Any]], row: int, reason: str) -> None:
        """A decoded record Arrow would not take: kept as a dead letter, its values as JSON."""
        payload = columns[PAYLOAD][row]
        columns[RAW][row] = None if payload is None else build.to_json(payload).encode()
        columns[ERROR][row] = (f"record {columns[POSITION][row]} does not fit the reader schema's Spark type "
                               f"({reason}); its decoded values are kept here as JSON")

    def batches(self, batches: Iterator[pa.RecordBatch], output: T.StructType) -> Iterator[pa.RecordBatch]:
        builder = build.BatchBuilder(output, checked=PAYLOAD, repair=self._misfit)
        for batch in batches:
            for file in batch.to_pylist():
                data = file.pop(self.content_column) or b""
                for row in self.rows(data):
                    builder.add({**file, **row})
                    if builder.size >= BATCH_ROWS:
                        yield builder.flush()
        if builder.size:
            yield builder.flush()



def split(decoded: DataFrame, position: list[str]) -> tuple[DataFrame, DataFrame]:
    """(records: payload fields + position + writer ids + rescued data, dead letters: raw bytes +
    position + records held + reason)."""
    ok: Column = F.col(ERROR).isNull()
    good = decoded.where(ok).select(f"{PAYLOAD}.*", *position, POSITION, WRITER_ID, WRITER_VERSION, RESCUED)
    dead = decoded.where(~ok).select(F.col(RAW), *position, POSITION, RECORDS, WRITER_ID, WRITER_VERSION,
                                     F.col(ERROR).alias("reason"))
    return good, dead
