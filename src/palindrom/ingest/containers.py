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

import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fastavro
import fastavro.read
import fastavro.schema
import pyarrow as pa
from fastavro.schema import to_parsing_canonical_form
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from palindrom.arrow import build
from palindrom.ingest.decoders import RegistryDecoder

MAGIC = b"Obj\x01"
PAYLOAD = "payload"
POSITION = "record_position"   # 0-based index of the record in its file
RECORDS = "records"            # how many records the row stands for (1, or a damaged part's count)
WRITER_ID = "writer_schema_id"  # registry globalId
WRITER_VERSION = "writer_schema_version"
RESCUED = "rescued_data"
RAW = "raw_value"
ERROR = "decode_error"
BATCH_ROWS = 4096


class ContainerError(ValueError):
    """The bytes are not (or no longer) a readable Avro container."""


class _Reader:
    """Avro's zig-zag varints and length-prefixed bytes over a buffer, with positions."""

    def __init__(self, data: bytes, position: int = 0) -> None:
        self.data, self.position = data, position

    def long(self) -> int:
        shift, result = 0, 0
        while True:
            if self.position >= len(self.data):
                raise ContainerError("unexpected end of file in a block header")
            byte = self.data[self.position]
            self.position += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1)
            shift += 7
            if shift > 63:
                raise ContainerError("malformed varint")

    def take(self, size: int) -> bytes:
        if size < 0 or self.position + size > len(self.data):
            raise ContainerError(f"needs {size} bytes at offset {self.position}, the file ends at {len(self.data)}")
        chunk = self.data[self.position: self.position + size]
        self.position += size
        return chunk


@dataclass(frozen=True)
class Header:
    schema: dict[str, Any]
    codec: str
    sync: bytes
    end: int  # offset of the first block


def header(data: bytes) -> Header:
    if not data.startswith(MAGIC):
        raise ContainerError("not an Avro container file (no 'Obj\\x01' magic)")
    reader = _Reader(data, len(MAGIC))
    meta: dict[str, bytes] = {}
    while True:
        count = reader.long()
        if count == 0:
            break
        if count < 0:
            reader.long()  # block size in bytes, not needed
            count = -count
        for _ in range(count):
            key = reader.take(reader.long()).decode()
            meta[key] = reader.take(reader.long())
    sync = reader.take(16)
    if "avro.schema" not in meta:
        raise ContainerError("the header has no avro.schema")
    return Header(json.loads(meta["avro.schema"]), meta.get("avro.codec", b"null").decode(), sync, reader.position)


@dataclass(frozen=True)
class Block:
    start: int
    count: int | None
    data: bytes | None      # decompressed records, None when damaged
    end: int                # offset after the block (after its sync marker, or where reading resumes)
    error: str | None = None


def blocks(data: bytes, head: Header) -> Iterator[Block]:
    """The file's blocks; a damaged one is reported and reading resumes after the next sync marker."""
    position = head.end
    while position < len(data):
        reader, count = _Reader(data, position), None
        try:
            count = reader.long()
            body = reader.take(reader.long())
            if reader.take(16) != head.sync:
                raise ContainerError("sync marker missing after the block")
            yield Block(position, count, _decompress(body, head.codec), reader.position)
            position = reader.position
        except (ContainerError, zlib.error) as exc:
            resume = data.find(head.sync, position + 1)
            end = len(data) if resume < 0 else resume + 16
            yield Block(position, count, None, end, f"damaged or truncated block at byte {position}: {exc}")
            position = end


def _decompress(body: bytes, codec: str) -> bytes:
    if codec == "null":
        return body
    if codec == "deflate":
        return zlib.decompress(body, -15)
    raise ContainerError(f"codec '{codec}' is not supported; producers write null or deflate")


def _record_end(data: bytes, start: int, writer: Any) -> int | None:
    """Where the record starting at ``start`` ends, read with its writer schema alone and string
    bytes not decoded strictly (the bytes are only measured, never kept), or None when even that
    fails (the record is cut short or its lengths are damaged)."""
    buffer = io.BytesIO(data)
    buffer.seek(start)
    try:
        fastavro.schemaless_reader(buffer, writer, None, handle_unicode_errors="ignore")
    except Exception:  # fastavro raises EOFError, ValueError, IndexError... for damaged bytes
        return None
    return buffer.tell()


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
        reader_fields = {f["name"] for f in self.worker["reader_json"]["fields"]}
        extra = [f["name"] for f in head.schema.get("fields", []) if f["name"] not in reader_fields]
        index = 0
        for block in blocks(data, head):
            if block.data is None:
                yield {**ids, RAW: data[block.start: block.end], RECORDS: block.count, POSITION: index,
                       ERROR: block.error}
                index += block.count or 0
                continue
            yield from self._records(block, reading, extra, ids, index)
            index += block.count or 0

    def _records(self, block: Block, reading: tuple[Any, Any, Any], extra: list[str], ids: dict[str, Any],
                 first: int) -> Iterator[dict[str, Any]]:
        """``reading``: (parsed writer, reader fastavro resolves onto or None, value -> payload row)."""
        writer, reader, to_payload = reading
        data = block.data or b""
        buffer, count = io.BytesIO(data), block.count or 0
        for k in range(count):
            start = buffer.tell()
            try:
                unknown: dict[str, Any] = {}
                if extra and reader is not None:   # resolved by fastavro: the writer's values read first
                    full: Any = fastavro.schemaless_reader(buffer, writer, None)
                    unknown = {n: full[n] for n in extra if full.get(n) is not None}
                    buffer.seek(start)
                datum: Any = fastavro.schemaless_reader(buffer, writer, reader)
                if extra and reader is None:        # read with the writer alone: its values are at hand
                    unknown = {n: datum[n] for n in extra if datum.get(n) is not None}
                payload = to_payload(datum)
            except Exception as exc:  # invalid UTF-8, resolution errors, truncated or corrupt records
                end = _record_end(data, start, writer)
                if end is None:  # the record's own bytes cannot be delimited: the rest of the block
                    yield {**ids, RAW: data[start:], RECORDS: count - k, POSITION: first + k,
                           ERROR: f"record {first + k} cannot be decoded onto the reader schema "
                                  f"({type(exc).__name__}: {exc}); the rest of its block is kept here"}
                    return
                # Only this record: its bytes end where the writer schema says, the block reads on.
                yield {**ids, RAW: data[start:end], RECORDS: 1, POSITION: first + k,
                       ERROR: f"record {first + k} cannot be decoded onto the reader schema "
                              f"({type(exc).__name__}: {exc}); its bytes are kept here"}
                buffer.seek(end)
                continue
            yield {**ids, PAYLOAD: payload, RECORDS: 1, POSITION: first + k,
                   RESCUED: build.to_json(unknown) if unknown else None}

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
