"""Pipeline tables read from their files, without Spark: for the commands and pages that must work
while a run holds the storage (embedded Derby admits one JVM), and in an instant.

A table lives in ``<storage>/warehouse/<schema>.db/<table>/``. A streaming table's readers see the
files its commit log (``_spark_metadata``, ``runtime/sparkext``'s shared sink) lists, so a batch
being written is never visible; a materialized view is every data file of its folder (Spark writes
them under ``_temporary`` and moves them in at the end of the job). Partition folders
(``key=value``) become columns. Spark keeps its own schema in each Parquet file's footer
(``org.apache.spark.sql.parquet.row.metadata``), which gives the column types as Spark shows them.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyspark.sql import types as T

from palindrom.runtime import snapshots

COMMIT_LOG = "_spark_metadata"
SPARK_SCHEMA_KEY = b"org.apache.spark.sql.parquet.row.metadata"


def folder(storage: Path, schema: str, table: str) -> Path:
    return storage / "warehouse" / f"{schema}.db" / table


def readable(storage: Path, pipeline: str, schema: str, table: str) -> Path:
    """The files a reader of the pipeline's table sees: a materialized view's last good contents
    while an update rewrites it or after one was killed doing so (``snapshots.kept_copy``), else the
    table's own folder."""
    return snapshots.kept_copy(storage / "pipelines" / pipeline, table) or folder(storage, schema, table)


def exists(table: Path) -> bool:
    """A table that has been written (its commit log, a finished job's marker, or data files)."""
    return table.is_dir() and ((table / COMMIT_LOG).is_dir() or (table / "_SUCCESS").is_file()
                               or bool(data_files(table)))


def data_files(table: Path) -> list[Path]:
    """The Parquet files a reader of the table sees, in a stable order."""
    log = table / COMMIT_LOG
    if not log.is_dir():
        return sorted(p for p in _visible(table) if p.suffix == ".parquet")
    added: dict[str, Path] = {}
    for entry in sorted((p for p in log.iterdir() if not p.name.startswith(".")), key=_entry_number):
        for line in entry.read_text().splitlines()[1:]:  # the first line is the log's version
            record = json.loads(line)
            path = _in_table(table, record["path"])
            if record["action"] == "add":
                added[str(path)] = path
            else:
                added.pop(str(path), None)
    return sorted(added.values())


def _entry_number(entry: Path) -> int:
    stem = entry.name.split(".", 1)[0]
    return int(stem) if stem.isdigit() else -1


def _visible(table: Path) -> list[Path]:
    """Files under the table's folder outside hidden and underscore folders (``_temporary``, ...)."""
    return [p for p in table.rglob("*") if p.is_file()
            and not any(part.startswith(("_", ".")) for part in p.relative_to(table).parts)]


def _in_table(table: Path, logged: str) -> Path:
    """A logged file as it sits in ``table`` (by its path under the table, so a moved copy reads too)."""
    path = Path(unquote(urlparse(logged).path))
    parts = path.parts
    if table.name in parts:
        return table.joinpath(*parts[len(parts) - parts[::-1].index(table.name):])
    return table / path.name


def _dataset(table: Path) -> ds.Dataset:
    return ds.dataset([str(p) for p in data_files(table)], format="parquet", partitioning="hive",
                      partition_base_dir=str(table))


def row_count(table: Path) -> int:
    """Rows of the table, from the files' footers (nothing is decoded)."""
    return sum(pq.ParquetFile(p).metadata.num_rows for p in data_files(table))


def spark_schema(table: Path) -> T.StructType | None:
    """The table's columns as Spark typed them (partition columns last, as Spark lists them)."""
    files = data_files(table)
    if not files:
        return None
    metadata = pq.ParquetFile(files[-1]).schema_arrow.metadata or {}
    if SPARK_SCHEMA_KEY not in metadata:
        return None
    schema = T.StructType.fromJson(json.loads(metadata[SPARK_SCHEMA_KEY]))
    partitions = [f for f in _dataset(table).schema if f.name not in schema.names]
    return T.StructType([*schema.fields, *(T.StructField(f.name, T.StringType()) for f in partitions)])


def read(table: Path, limit: int | None = None) -> pa.Table:
    """The table's rows (the first ``limit`` of them, in file order, when given)."""
    dataset = _dataset(table)
    return dataset.head(limit) if limit is not None else dataset.to_table()
