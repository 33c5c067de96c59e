"""Decode one landed file into Python records, never raising for bad content.

Each item is a :class:`Record`: either ``values`` (a field -> value mapping) or an ``error`` that
says what could not be read, with the line (text formats) or record index (binary formats).
A corrupt binary file yields the records read before the damage, then one error record.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
import pyarrow.parquet as pq
from fastavro.read import SchemaResolutionError

from palindrom.autoloader.options import CloudFilesOptions
from palindrom.avro import container, values


@dataclass(frozen=True)
class Record:
    values: dict[str, Any] | None
    position: int  # 1-based line for json/csv, 0-based record index for avro/parquet
    error: str | None = None
    raw: str | None = None


class MalformedRecord(ValueError):
    """mode=FAILFAST: a record that cannot be parsed fails the read, naming the file and line."""


def records(path: Path, options: CloudFilesOptions, columns: list[str] | None = None) -> Iterator[Record]:
    """``columns``: the given schema's column names, which headerless CSV maps by position."""
    decoders = {"json": _json, "csv": _csv, "parquet": _parquet, "avro": _avro, "text": _text}
    try:
        for record in decoders[options.format](path, options, columns):
            if record.values is None and options.failfast:
                raise MalformedRecord(f"{path}, {'line' if options.format in ('json', 'csv', 'text') else 'record'} "
                                      f"{record.position}: {record.error} (mode FAILFAST)")
            yield record
    except OSError as exc:
        yield Record(None, 0, f"cannot read file: {exc}")


def _lines(path: Path) -> Iterator[tuple[int, str | None, bytes]]:
    """(line number, text or None when the line is not valid UTF-8, raw bytes) of each line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip(b"\r\n")
            try:
                yield number, line.decode("utf-8"), line
            except UnicodeDecodeError:
                yield number, None, line


def _not_utf8(number: int, raw: bytes) -> Record:
    """Never replaced silently: the line is kept with its undecodable bytes escaped."""
    return Record(None, number, "the line is not valid UTF-8 (bytes kept escaped)",
                  raw.decode("utf-8", errors="backslashreplace"))


def _json(path: Path, options: CloudFilesOptions, columns: list[str] | None) -> Iterator[Record]:
    if options.reader_options.get("multiline", "false").lower() == "true":
        data_bytes = path.read_bytes()
        try:
            text = data_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Record(None, 1, f"the file is not valid UTF-8 (byte {exc.start})",
                         data_bytes[:10_000].decode("utf-8", errors="backslashreplace"))
            return
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Record(None, exc.lineno, f"malformed JSON: {exc.msg}", text[:10_000])
            return
        for index, item in enumerate(data if isinstance(data, list) else [data]):
            yield _json_value(item, index + 1, json.dumps(item))
        return
    for number, line, raw in _lines(path):
        if line is None:
            yield _not_utf8(number, raw)
            continue
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Record(None, number, f"malformed JSON: {exc.msg}", line)
            continue
        yield _json_value(item, number, line)


def _json_value(item: Any, position: int, raw: str) -> Record:
    if not isinstance(item, dict):
        return Record(None, position, "a JSON record must be an object", raw)
    return Record(item, position)


def _csv(path: Path, options: CloudFilesOptions, columns: list[str] | None) -> Iterator[Record]:
    """Spark's CSV semantics: with a header, columns by name; without one, by position (the given
    schema's names, then ``_c<i>`` for values beyond it); ``nullValue`` (default empty) is null."""
    reader_options = options.reader_options
    quote = reader_options.get("quote", '"') or '"'
    escape = reader_options.get("escape")
    comment = reader_options.get("comment")
    null_value = reader_options.get("nullvalue", "")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        yield Record(None, 1, f"the file is not valid UTF-8 (byte {exc.start})",
                     path.read_bytes()[:10_000].decode("utf-8", errors="backslashreplace"))
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=options.delimiter, quotechar=quote,
                        escapechar=escape, doublequote=escape is None or escape == quote)
    header: list[str] | None = None
    for row in reader:
        number = reader.line_num
        if comment and row and row[0].startswith(comment):
            continue
        if not row:
            continue
        if options.header and header is None:
            header = row
            continue
        if header is not None and len(row) != len(header):
            yield Record(None, number, f"expected {len(header)} fields, found {len(row)}",
                         options.delimiter.join(row))
            continue
        names = header or [*(columns or []), *(f"_c{i}" for i in range(len(columns or []), len(row)))]
        yield Record({n: (None if v == null_value else v) for n, v in zip(names, row, strict=False)}, number)


def _text(path: Path, options: CloudFilesOptions, columns: list[str] | None) -> Iterator[Record]:
    """The text format: a ``value`` per line (or the whole file with ``wholeText``)."""
    if options.reader_options.get("wholetext", "false").lower() == "true":
        data = path.read_bytes()
        try:
            yield Record({"value": data.decode("utf-8")}, 1)
        except UnicodeDecodeError as exc:
            yield Record(None, 1, f"the file is not valid UTF-8 (byte {exc.start})",
                         data.decode("utf-8", errors="backslashreplace"))
        return
    for number, line, raw in _lines(path):
        yield Record({"value": line}, number) if line is not None else _not_utf8(number, raw)


def _parquet(path: Path, options: CloudFilesOptions, columns: list[str] | None) -> Iterator[Record]:
    index = 0
    try:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=10_000):
            for row in batch.to_pylist():
                yield Record(row, index)
                index += 1
    except Exception as exc:  # pyarrow raises several types for damaged files
        yield Record(None, index, f"corrupt parquet file: {exc}")


def _avro(path: Path, options: CloudFilesOptions, columns: list[str] | None) -> Iterator[Record]:
    """Records of an Avro container file, resolved onto ``avroSchema`` when one is given, through the
    one record loop of ``avro/container.py``. A record that cannot be decoded (invalid UTF-8 in a
    string, a value the reader schema cannot resolve) is rescued alone with its bytes and its
    neighbours are read; a damaged block is rescued as one record and reading resumes at the next
    block. Writer fields ``avroSchema`` lacks are returned too, so they are rescued, not dropped."""
    try:
        data = path.read_bytes()
        head = container.header(data)
        reader_json = values.as_spark_reads(json.loads(options.avro_schema)) if options.avro_schema else None
        read = container.reading(head.schema, reader_json)
    except Exception as exc:  # not a container, a damaged header, a schema fastavro refuses
        yield Record(None, 0, f"corrupt Avro file: {type(exc).__name__}: {exc}")
        return
    extra = container.extra_fields(head.schema, reader_json)
    index = 0
    for block in container.blocks(data, head):
        if block.data is None:
            yield Record(None, index, f"corrupt Avro file: {block.error}", _escaped(data[block.start: block.end]))
        else:
            for decoded in container.records(block, read, index, extra):
                yield _avro_record(decoded)
        index += block.count or 0


def _avro_record(decoded: container.Decoded) -> Record:
    if not decoded.failed:
        payload = decoded.payload if isinstance(decoded.payload, dict) else {"value": decoded.payload}
        return Record({**payload, **(decoded.unknown or {})}, decoded.position)
    error = decoded.error
    if isinstance(error, SchemaResolutionError):
        reason = f"the file's writer schema cannot be resolved onto avroSchema: {error}"
    else:
        reason = f"cannot be decoded ({type(error).__name__}: {error})"
    held = "its bytes are kept escaped" if decoded.delimited else \
        f"the rest of its block ({decoded.records} records) is kept escaped"
    return Record(None, decoded.position, f"record {decoded.position} {reason}; {held}", _escaped(decoded.raw or b""))


def _escaped(raw: bytes) -> str:
    return raw.decode("utf-8", errors="backslashreplace")


def file_schema(path: Path, options: CloudFilesOptions) -> Any:
    """The schema a self-describing file declares (Avro writer schema or Arrow schema), else None."""
    try:
        if options.format == "avro":
            with path.open("rb") as handle:
                return fastavro.reader(handle).writer_schema
        if options.format == "parquet":
            return pq.read_schema(path)
    except Exception:
        return None
    return None

