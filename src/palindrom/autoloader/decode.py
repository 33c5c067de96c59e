"""Decode one landed file into Python records, never raising for bad content.

Each item is a :class:`Record`: either ``values`` (a field -> value mapping) or an ``error`` that
says what could not be read, with the line (text formats) or record index (binary formats).
A corrupt binary file yields the records read before the damage, then one error record.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
import pyarrow.parquet as pq
from fastavro.read import SchemaResolutionError

from palindrom.autoloader.options import CloudFilesOptions
from palindrom.avro import values


@dataclass(frozen=True)
class Record:
    values: dict[str, Any] | None
    position: int  # 1-based line for json/csv, 0-based record index for avro/parquet
    error: str | None = None
    raw: str | None = None


def records(path: Path, options: CloudFilesOptions) -> Iterator[Record]:
    decoder = {"json": _json, "csv": _csv, "parquet": _parquet, "avro": _avro}[options.format]
    try:
        yield from decoder(path, options)
    except OSError as exc:
        yield Record(None, 0, f"cannot read file: {exc}")


def _json(path: Path, options: CloudFilesOptions) -> Iterator[Record]:
    if options.reader_options.get("multiline", "false").lower() == "true":
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Record(None, exc.lineno, f"malformed JSON: {exc.msg}", text[:10_000])
            return
        for index, item in enumerate(data if isinstance(data, list) else [data]):
            yield _json_value(item, index + 1, json.dumps(item))
        return
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Record(None, number, f"malformed JSON: {exc.msg}", line.rstrip("\n"))
                continue
            yield _json_value(item, number, line.rstrip("\n"))


def _json_value(item: Any, position: int, raw: str) -> Record:
    if not isinstance(item, dict):
        return Record(None, position, "a JSON record must be an object", raw)
    return Record(item, position)


def _csv(path: Path, options: CloudFilesOptions) -> Iterator[Record]:
    quote = options.reader_options.get("quote", '"') or '"'
    with path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=options.delimiter, quotechar=quote)
        header: list[str] | None = None
        for row in reader:
            number = reader.line_num
            if options.header and header is None:
                header = row
                continue
            names = header or [f"_c{i}" for i in range(len(row))]
            if header is not None and len(row) != len(header):
                yield Record(None, number, f"expected {len(header)} fields, found {len(row)}",
                             options.delimiter.join(row))
                continue
            yield Record({n: (v if v != "" else None) for n, v in zip(names, row, strict=True)}, number)


def _parquet(path: Path, options: CloudFilesOptions) -> Iterator[Record]:
    index = 0
    try:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=10_000):
            for row in batch.to_pylist():
                yield Record(row, index)
                index += 1
    except Exception as exc:  # pyarrow raises several types for damaged files
        yield Record(None, index, f"corrupt parquet file: {exc}")


def _avro(path: Path, options: CloudFilesOptions) -> Iterator[Record]:
    """Records of an Avro container file, resolved onto ``avroSchema`` when one is given."""
    reader_json = json.loads(options.avro_schema) if options.avro_schema else None
    index = 0
    try:
        with path.open("rb") as handle:
            avro = fastavro.reader(handle, reader_schema=fastavro.parse_schema(reader_json) if reader_json else None)
            convert = values.converter(reader_json or json.loads(avro.metadata["avro.schema"])) or values.identity
            for row in avro:
                yield Record(convert(row) if isinstance(row, dict) else {"value": row}, index)
                index += 1
    except SchemaResolutionError as exc:
        yield Record(None, index, f"the file's writer schema cannot be resolved onto avroSchema: {exc}")
    except Exception as exc:  # fastavro raises ValueError, EOFError, StopIteration variants...
        yield Record(None, index, f"corrupt Avro file: {type(exc).__name__}: {exc}")


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

