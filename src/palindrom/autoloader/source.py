"""The ``cloudFiles`` streaming data source: Auto Loader semantics on open-source Spark."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark.sql import types as T
from pyspark.sql.datasource import DataSource, DataSourceReader, DataSourceStreamReader, InputPartition
from pyspark.sql.streaming.datasource import (
    ReadAllAvailable,
    ReadLimit,
    ReadMaxBytes,
    ReadMaxFiles,
    SupportsTriggerAvailableNow,
)
from pyspark.sql.types import StructType

from palindrom.arrow import build
from palindrom.autoloader import decode, file_decoders, schema
from palindrom.autoloader.discovery import FileEntry, Manifest, listed
from palindrom.autoloader.options import METADATA, CloudFilesOptionError, CloudFilesOptions


class NewColumnsError(RuntimeError):
    """Raised (as on Databricks) when a file brings columns the stream's schema does not have."""


class CloudFilesDataSource(DataSource):
    @classmethod
    def name(cls) -> str:
        return "cloudFiles"

    def _options(self) -> CloudFilesOptions:
        return CloudFilesOptions.parse(dict(self.options))

    def schema(self) -> StructType:
        options = self._options()
        decoder = file_decoders.load(options)
        if decoder is not None:
            return file_decoders.output_schema(decoder, options)
        data, given = schema.resolve(options)
        return schema.with_extras(data, options.rescue_column(given), options.include_metadata)

    def streamReader(self, schema: StructType) -> DataSourceStreamReader:
        return CloudFilesStreamReader(self._options(), schema)

    def reader(self, schema: StructType) -> DataSourceReader:
        """A batch read: every file under the path, read again each time (``read_files`` in a
        materialized view, or a stream the runtime recomputes in full)."""
        return CloudFilesBatchReader(self._options(), schema)


@dataclass(frozen=True)
class FilePartition(InputPartition):
    entry: FileEntry


def file_metadata(path: Path, entry: FileEntry) -> dict[str, Any]:
    """The ``_metadata`` column's value for one file."""
    return {"file_path": path.as_uri(), "file_name": path.name, "file_size": entry.size,
            "file_modification_time": dt.datetime.fromtimestamp(entry.mtime_ms / 1000, tz=dt.UTC)}


def read_file(options: CloudFilesOptions, output_schema: StructType, entry: FileEntry,
              decoder: file_decoders.FileDecoder | None = None) -> Iterator[pa.RecordBatch]:
    if decoder is not None:  # binaryFile contents decoded here, where the bytes are
        path = Path(entry.path)
        metadata = file_metadata(path, entry) if METADATA in output_schema.names else None
        yield from file_decoders.decoded(decoder, output_schema, path, metadata)
        return
    yield from build.batches(FileRows(options, output_schema, entry), output_schema)


class CloudFilesBatchReader(DataSourceReader):
    def __init__(self, options: CloudFilesOptions, output_schema: StructType) -> None:
        self.options = options
        self.output_schema = output_schema
        self.decoder = file_decoders.load(options)

    def partitions(self) -> list[InputPartition]:
        return [FilePartition(entry) for entry in listed(self.options)]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        if not isinstance(partition, FilePartition):
            raise TypeError(f"unexpected partition {partition!r}")
        yield from read_file(self.options, self.output_schema, partition.entry, self.decoder)


class CloudFilesStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    def __init__(self, options: CloudFilesOptions, output_schema: StructType) -> None:
        if options.state_location is None:  # also narrows the type for the methods below
            raise CloudFilesOptionError("cloudFiles needs a state location; local pipeline runs set "
                                        "'cloudFiles.stateLocation' for you (or set it for a standalone stream).")
        self.options = options
        self.state_location: Path = options.state_location
        self.output_schema = output_schema
        self.decoder = file_decoders.load(options)
        self._manifest: Manifest | None = None
        self._available_now: set[str] | None = None

    def _listed(self) -> list[FileEntry]:
        return listed(self.options)

    def prepareForTriggerAvailableNow(self) -> None:
        """An update reads the files present when it starts; later arrivals wait for the next one."""
        self._available_now = {e.path for e in self._listed()}

    # -- offsets -----------------------------------------------------------------------------------
    def _manifest_for(self, offset: dict[str, Any]) -> Manifest:
        if self._manifest is None or self._manifest.directory.name != offset["log"]:
            self._manifest = Manifest(self.state_location / offset["log"])
        return self._manifest

    def initialOffset(self) -> dict[str, Any]:
        manifest = Manifest.create(self.state_location)
        if not self.options.include_existing_files:
            manifest.append(self._listed())  # seq 0: seen at start, never read
        self._manifest = manifest
        return {"log": manifest.directory.name, "seq": 0}

    def getDefaultReadLimit(self) -> ReadLimit:
        if self.options.max_bytes is not None:
            return ReadMaxBytes(self.options.max_bytes)
        return ReadMaxFiles(self.options.max_files)

    def latestOffset(self, start: dict[str, Any], limit: ReadLimit) -> dict[str, Any]:
        manifest = self._manifest_for(start)
        pending = [manifest.by_seq[s] for s in sorted(manifest.by_seq) if s > start["seq"]]
        fresh = [e for e in self._listed() if e.path not in manifest.entries
                 and (self._available_now is None or e.path in self._available_now)]
        admitted: list[FileEntry] = []
        total_bytes = 0
        for entry in pending + fresh:
            if admitted and not isinstance(limit, ReadAllAvailable):
                if isinstance(limit, ReadMaxFiles) and len(admitted) >= limit.max_files:
                    break
                if isinstance(limit, ReadMaxBytes) and total_bytes + entry.size > limit.max_bytes:
                    break
                if len(admitted) >= self.options.max_files:
                    break
            admitted.append(entry)
            total_bytes += entry.size
        new = admitted[len(pending):]
        first = manifest.last_seq + 1
        numbered = [FileEntry(first + i, e.path, e.size, e.mtime_ms) for i, e in enumerate(new)]
        manifest.append(numbered)
        admitted_seqs = [e.seq for e in admitted[: len(pending)]] + [e.seq for e in numbered]
        end = admitted_seqs[-1] if admitted_seqs else None
        return {"log": start["log"], "seq": end if end is not None else start["seq"]}

    def reportLatestOffset(self) -> dict[str, Any] | None:
        """The latest offset there is to read: every admitted file plus those listed and not yet
        admitted. Its distance to a trigger's end offset is the backlog in files (stream monitor)."""
        if self._manifest is None:
            return None
        manifest = self._manifest
        listed = self._listed()
        waiting = sum(1 for e in listed if e.path not in manifest.entries)
        return {"log": manifest.directory.name, "seq": manifest.last_seq + waiting}

    def partitions(self, start: dict[str, Any], end: dict[str, Any]) -> list[InputPartition]:
        manifest = self._manifest_for(end)
        return [FilePartition(entry) for entry in manifest.between(start["seq"], end["seq"])]

    def commit(self, end: dict[str, Any]) -> None:
        """Nothing to do: the manifest already records every admitted file."""

    # -- reading -----------------------------------------------------------------------------------
    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        if not isinstance(partition, FilePartition):
            raise TypeError(f"unexpected partition {partition!r}")
        yield from read_file(self.options, self.output_schema, partition.entry, self.decoder)


class FileRows:
    """Iterates one file's rows shaped to the output schema, rescuing or reporting what does not fit."""

    def __init__(self, options: CloudFilesOptions, output_schema: StructType, entry: FileEntry) -> None:
        self.options = options
        self.entry = entry
        self.path = Path(entry.path)
        extras = {METADATA}
        self.rescue = next((f.name for f in output_schema.fields if f.name == options.rescued_column
                            or (options.rescued_column is None and f.name == "_rescued_data")), None)
        extras.add(self.rescue or "")
        self.data_fields = [f for f in output_schema.fields if f.name not in extras]
        self.with_metadata = METADATA in output_schema.names
        self.schema_given = options.user_schema is not None or options.avro_schema is not None
        self.mode = options.effective_mode(self.schema_given)
        self.metadata = file_metadata(self.path, entry)
        self.problems: list[dict[str, Any]] = []

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.options.format == "binaryfile":
            yield self._binary_file()
            return
        names = {f.name for f in self.data_fields}
        positional = [f.name for f in self.data_fields] if self.schema_given else None
        for record in decode.records(self.path, self.options, positional):
            row: dict[str, Any] = {}
            rescued: dict[str, Any] = {}
            if record.values is None:
                rescued = {"_corrupt_record": record.raw, "_error": record.error, "_position": record.position}
            else:
                for field in self.data_fields:
                    value = record.values.get(field.name)
                    try:
                        row[field.name] = build.coerce(value, field.dataType)
                    except build.Mismatch:
                        rescued[field.name] = value
                unknown = {k: v for k, v in record.values.items() if k not in names}
                if unknown:
                    self._new_columns(unknown, record)
                    if self.rescue is not None and self.mode in ("rescue", "addNewColumns", "none"):
                        # a null in an unknown column carries nothing to rescue
                        rescued.update({k: v for k, v in unknown.items() if v is not None})
            if rescued:
                self._rescue(row, rescued, record)
            if self.with_metadata:
                row[METADATA] = self.metadata
            yield row
        self._report()

    def _binary_file(self) -> dict[str, Any]:
        row = {"path": self.metadata["file_path"], "modificationTime": self.metadata["file_modification_time"],
               "length": self.entry.size, "content": self.path.read_bytes()}
        return {**row, METADATA: self.metadata} if self.with_metadata else row

    def _new_columns(self, unknown: dict[str, Any], record: decode.Record) -> None:
        if self.mode == "failOnNewColumns":
            raise NewColumnsError(f"[UNKNOWN_FIELD_EXCEPTION] {self.entry.path} (record {record.position}) has "
                                  f"new columns {sorted(unknown)} and schemaEvolutionMode is failOnNewColumns. "
                                  "Update the schema or change the evolution mode.")
        if self.mode == "addNewColumns" and not self.schema_given:
            current = schema.load_persisted(self.options.schema_location) or T.StructType(self.data_fields)
            typed = self.options.infer_column_types
            text = self.options.format == "csv"
            new_fields = [T.StructField(k, schema.without_null_types(schema.infer_value(v, typed, text)), True)
                          for k, v in unknown.items() if k not in current.names]
            added = T.StructType([*current.fields, *new_fields])
            schema.persist(self.options.schema_location, added)
            raise NewColumnsError(f"[UNKNOWN_FIELD_EXCEPTION.NEW_FIELDS_IN_FILE] {self.entry.path} has new columns "
                                  f"{sorted(unknown)}. The schema was evolved to include them; run the update "
                                  "again to continue (as Auto Loader's addNewColumns mode does).")

    def _rescue(self, row: dict[str, Any], rescued: dict[str, Any], record: decode.Record) -> None:
        if self.rescue is not None:
            row[self.rescue] = build.to_json({**rescued, "_file_path": self.metadata["file_path"]})
            return
        self.problems.append({"file": self.entry.path, "position": record.position,
                              "fields": build.to_json(rescued)})

    def _report(self) -> None:
        """Without a rescued-data column, values that could not be kept are written to a per-file
        error record under the state location, never dropped silently."""
        if not self.problems or self.options.state_location is None:
            return
        directory = self.options.state_location / "bad_records"
        directory.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(self.entry.path.encode()).hexdigest()[:16] + ".json"
        (directory / name).write_text(json.dumps({"file": self.entry.path, "records": self.problems}))
