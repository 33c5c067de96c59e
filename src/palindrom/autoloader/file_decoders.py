"""binaryFile contents decoded inside the source: a local run's Auto Loader reads each file and
decodes it where its bytes already are, in the same Python worker, in Arrow batches.

On Databricks, Auto Loader hands a ``binaryFile`` stream's bytes to the JVM and a ``mapInArrow``
decoder reads them in another Python worker. Locally the same decoder runs inside the source
instead, which saves the bytes' trip Python -> JVM -> Python. The decoder is named by option
(``palindrom.decoder``: ``module:Class``, and ``palindrom.decoder.spec``: the JSON its
``from_spec`` takes), so the source imports it by name and never depends on the layers above it.
The pipeline's plumbing asks for it only where this source runs (``LOCAL_SOURCE``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from palindrom.autoloader.options import DECODER, DECODER_SPEC, METADATA, CloudFilesOptionError, CloudFilesOptions
from palindrom.autoloader.schema import METADATA_TYPE

LOCAL_SOURCE = "palindrom.autoloader.local_source"   # "true" in a session whose cloudFiles is this package's
INPUT = T.StructType([T.StructField("path", T.StringType(), False), T.StructField("content", T.BinaryType(), True)])


class FileDecoder(Protocol):
    def output_schema(self, input_schema: T.StructType) -> T.StructType: ...

    def batches(self, batches: Iterator[pa.RecordBatch], output: T.StructType) -> Iterator[pa.RecordBatch]: ...


def load(options: CloudFilesOptions) -> FileDecoder | None:
    """The decoder the options name, or None."""
    name = options.reader_options.get(DECODER)
    if not name:
        return None
    module, _, attribute = name.partition(":")
    try:
        cls: Any = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise CloudFilesOptionError(f"{DECODER} '{name}' cannot be imported ({exc}); give it as module:Class.") from exc
    decoder: FileDecoder = cls.from_spec(options.reader_options.get(DECODER_SPEC) or "{}")
    return decoder


def input_schema(with_metadata: bool) -> T.StructType:
    """The columns the decoder reads: the file's path and bytes (and ``_metadata`` when asked for)."""
    return T.StructType([*INPUT.fields, T.StructField(METADATA, METADATA_TYPE, False)]) if with_metadata else INPUT


def output_schema(decoder: FileDecoder, options: CloudFilesOptions) -> T.StructType:
    return decoder.output_schema(input_schema(options.include_metadata))


def decoded(decoder: FileDecoder, output: T.StructType, path: Path, metadata: dict[str, Any] | None
            ) -> Iterator[pa.RecordBatch]:
    """One file through the decoder: the record batches it makes of the file's bytes."""
    row: dict[str, Any] = {"path": path.as_uri(), "content": path.read_bytes()}
    if metadata is not None:
        row[METADATA] = metadata
    arrow = to_arrow_schema(input_schema(metadata is not None), timezone="UTC")
    yield from decoder.batches(iter([pa.RecordBatch.from_pylist([row], schema=arrow)]), output)
