"""Avro object container files, read block by block and record by record, losing no bytes.

The one record loop of every Avro decoder here: Auto Loader's ``avro`` format
(``autoloader/decode.py``), the registry-driven decoder of landed files (``ingest/containers.py``)
and, through :func:`reading`, the Kafka payload decoder (``ingest/payloads.py``).

* :func:`header` and :func:`blocks` read the container itself. A damaged or truncated block is
  reported with its bytes, and reading resumes after the next sync marker, so one bad block does
  not take the rest of the file with it.
* :func:`reading` compiles, once per writer schema, how its records become Spark's values: read with
  the writer alone and resolved by ``avro/resolution.py`` where that compiles, else resolved by
  fastavro onto the reader schema.
* :func:`records` decodes a block's records one by one. A record that cannot be decoded is kept
  alone with its bytes (delimited by the writer schema), and its neighbours are read; only when even
  the writer schema cannot delimit it does the rest of the block go with it.
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

from palindrom.avro import resolution, values

MAGIC = b"Obj\x01"


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
    schema: Any       # the writer schema, as JSON
    codec: str
    sync: bytes
    end: int          # offset of the first block


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
    decompress = fastavro.read.BLOCK_READERS.get(codec)
    if decompress is None:
        raise ContainerError(f"codec '{codec}' is not an Avro codec fastavro reads")
    try:  # fastavro's block readers read the block's length first
        return bytes(decompress(io.BytesIO(_varint(len(body)) + body)).getvalue())
    except Exception as exc:  # a library not installed (snappy needs cramjam), or damaged data: each codec's own error
        raise ContainerError(f"codec '{codec}': {type(exc).__name__}: {exc}") from exc


def _varint(value: int) -> bytes:
    """Avro's zig-zag varint of a non-negative ``value``."""
    zigzag, out = value << 1, bytearray()
    while zigzag > 0x7F:
        out.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    out.append(zigzag)
    return bytes(out)


@dataclass(frozen=True)
class Reading:
    """How to read the records of one writer schema: ``writer`` (parsed), ``reader`` (the parsed
    reader schema fastavro must resolve onto, or None to read with the writer alone) and
    ``to_payload`` (fastavro's value to Spark's)."""

    writer: Any
    reader: Any | None
    to_payload: values.Convert


def reading(writer: Any, reader_json: Any | None = None, reader: Any | None = None,
            convert: values.Convert | None = None) -> Reading:
    """Compile, once per writer schema, how its records are read. ``reader_json``, ``reader`` and
    ``convert``: the reader schema as Spark reads it (``values.as_spark_reads``), parsed, and its
    value converter; without them the records are read with the writer alone. uuid strings are
    read as written."""
    read_as = values.as_spark_reads(writer)
    parsed = fastavro.parse_schema(read_as)
    if reader_json is None:
        return Reading(parsed, None, values.converter(read_as) or values.identity)
    convert = convert or values.converter(reader_json) or values.identity
    compiled = resolution.compiled(read_as, reader_json, convert)
    if compiled is not None:  # resolved by our compiled projection: each record read with the writer alone
        return Reading(parsed, None, compiled)
    return Reading(parsed, reader if reader is not None else fastavro.parse_schema(reader_json), convert)


def extra_fields(writer: Any, reader_json: Any) -> list[str]:
    """The writer record's fields the reader record lacks, in the writer's order (their values are
    rescued, not dropped)."""
    if not isinstance(writer, dict) or not isinstance(reader_json, dict):
        return []
    known = {f["name"] for f in reader_json.get("fields", [])}
    return [f["name"] for f in writer.get("fields", []) if f["name"] not in known]


def record_end(data: bytes, start: int, writer: Any) -> int | None:
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


@dataclass(slots=True)
class Decoded:
    """One record of a block (``payload``, and ``unknown``: the writer's non-null fields the reader
    schema lacks), or bytes that could not be decoded (``raw``, ``records`` they hold, ``error``)."""

    position: int                      # the (first) record's 0-based index in its file
    payload: Any = None
    unknown: dict[str, Any] | None = None
    raw: bytes | None = None
    records: int = 1
    error: Exception | None = None
    delimited: bool = True             # ``raw`` is this record's bytes alone (else the rest of its block)

    @property
    def failed(self) -> bool:
        return self.error is not None


def records(block: Block, read: Reading, first: int, extra: list[str] | None = None) -> Iterator[Decoded]:
    """The records of an intact block whose first record is the file's ``first``. ``extra``: writer
    fields the reader schema lacks, whose values each record also returns in ``unknown``."""
    data = block.data or b""
    buffer, count = io.BytesIO(data), block.count or 0
    writer, reader, to_payload, schemaless = read.writer, read.reader, read.to_payload, fastavro.schemaless_reader
    for k in range(count):
        start = buffer.tell()
        unknown: dict[str, Any] | None = None
        try:
            if not extra:
                payload = to_payload(schemaless(buffer, writer, reader))
            else:
                if reader is not None:   # resolved by fastavro: the writer's values read first
                    full: Any = schemaless(buffer, writer, None)
                    unknown = {n: full[n] for n in extra if full.get(n) is not None}
                    buffer.seek(start)
                datum: Any = schemaless(buffer, writer, reader)
                if reader is None:       # read with the writer alone: its values are at hand
                    unknown = {n: datum[n] for n in extra if datum.get(n) is not None}
                payload = to_payload(datum)
        except Exception as exc:  # invalid UTF-8, resolution errors, truncated or corrupt records
            end = record_end(data, start, writer)
            if end is None:  # the record's own bytes cannot be delimited: the rest of the block
                yield Decoded(first + k, raw=data[start:], records=count - k, error=exc, delimited=False)
                return
            yield Decoded(first + k, raw=data[start:end], error=exc)  # this record only; the block reads on
            buffer.seek(end)
            continue
        yield Decoded(first + k, payload, unknown or None)
