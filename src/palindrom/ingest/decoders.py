"""What the registry-driven decoders share: the reader schema's Spark type, ``mapInArrow`` that also
works inside a pipeline query function, and a per-worker cache of the registry connection, the
parsed reader schema and an index of the artifact's registered versions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastavro
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import types as T

from palindrom.avro import container, spark_types, values
from palindrom.registry.client import ArtifactVersion

REFRESH_SECONDS = 60.0  # a writer not among the known versions re-reads the version list at most this often


def map_in_arrow(frame: DataFrame, func: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
                 output: T.StructType, input_schema: T.StructType | None) -> DataFrame:
    """Spark Connect's mapInArrow asks the server for the input's column names, an analysis that
    pipeline query functions refuse (ATTEMPT_ANALYSIS_IN_PIPELINE_QUERY_FUNCTION). When the caller
    knows the input's columns, they are given to the DataFrame as its schema so nothing is asked."""
    connect: Any = frame
    if input_schema is not None and getattr(connect, "_cached_schema", "absent") is None:
        connect._cached_schema = input_schema
    return frame.mapInArrow(func, output)


_WORKER_CACHE: dict[Any, dict[str, Any]] = {}


class RegistryDecoder:
    """Base of the frozen, picklable decoder dataclasses shipped to the Python workers, which
    connect to the registry themselves."""

    if TYPE_CHECKING:  # the subclasses' frozen dataclass fields (read-only, hence properties here)
        @property
        def reader_schema(self) -> str: ...                      # JSON, the registry's latest version
        @property
        def registry(self) -> tuple[tuple[str, str], ...]: ...   # palindrom.registry.* settings, no prefix
        @property
        def environment(self) -> str: ...
        @property
        def schemas_dir(self) -> str: ...
        @property
        def group(self) -> str: ...                              # the artifact whose versions name the writers
        @property
        def artifact(self) -> str: ...

    @property
    def payload_type(self) -> T.StructType:
        converted = spark_types.to_spark(json.loads(self.reader_schema))
        if not isinstance(converted, T.StructType):
            raise ValueError("the reader schema must be an Avro record")
        return converted

    def output_schema(self, input_schema: T.StructType) -> T.StructType:
        raise NotImplementedError

    def batches(self, batches: Iterator[pa.RecordBatch], output: T.StructType) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def decode(self, frame: DataFrame, input_schema: T.StructType | None = None) -> DataFrame:
        """``input_schema``: the columns of ``frame`` when known (pipeline query functions must not
        analyse a DataFrame, and ``frame.schema`` would)."""
        output = self.output_schema(input_schema or frame.schema)
        return map_in_arrow(frame, lambda parts: self.batches(parts, output), output, input_schema)

    # -- worker side -----------------------------------------------------------------------
    @property
    def worker(self) -> dict[str, Any]:
        """Per Python worker process, shared by every task and micro-batch it runs for this decoder:
        ``source`` (the registry), ``reader_json``, ``reader`` (parsed), ``convert`` (fastavro's values
        to Spark's, compiled once)."""
        cache = _WORKER_CACHE.setdefault(self, {})
        if not cache:
            from palindrom.registry.connect import connect

            cache["source"] = connect(dict(self.registry), self.environment, Path(self.schemas_dir))
            cache["reader_json"] = values.as_spark_reads(json.loads(self.reader_schema))
            cache["reader"] = fastavro.parse_schema(cache["reader_json"])
            cache["convert"] = values.converter(cache["reader_json"]) or values.identity
            cache["versions"], cache["loaded"] = {}, -REFRESH_SECONDS
        return cache

    def reading(self, writer: Any) -> container.Reading:
        """How to read records written with ``writer`` (its JSON), compiled once per worker and writer
        (``avro/container.py``)."""
        readings: dict[str, container.Reading] = self.worker.setdefault("readings", {})
        key = json.dumps(writer, sort_keys=True)
        if key not in readings:
            cache = self.worker
            readings[key] = container.reading(writer, cache["reader_json"], cache["reader"], cache["convert"])
        return readings[key]

    def lookup_version(self, key: Hashable,
                       index: Callable[[ArtifactVersion], Iterable[tuple[Hashable, Any]]]) -> Any:
        """``key`` in an index over the artifact's registered versions (``index`` gives each
        version's entries); the list is read again, at most once a minute, when ``key`` is missing."""
        cache = self.worker
        if key not in cache["versions"] and time.monotonic() - cache["loaded"] > REFRESH_SECONDS:
            found = cache["source"].all_versions(self.group, self.artifact)
            cache["versions"] = {k: value for version in found for k, value in index(version)}
            cache["loaded"] = time.monotonic()
        return cache["versions"].get(key)
