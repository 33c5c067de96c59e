"""Mock inputs: rows, DataFrames, pandas frames or files given for a dataset or flow, written as one
Parquet file per ``given`` batch and read back by the query that replaces the dataset's own.

A streaming dataset is replaced by a file stream over the batches, so each update reads only the
batches given since the last one (the checkpoint remembers the files, as Auto Loader remembers
landed files); a batch dataset (materialized view, a table read by name) by a read of all of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window

from palindrom.runtime.source_mocks import KAFKA_PREFIX

Rows = Sequence[Mapping[str, Any]]
_FILE_FORMATS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet", ".avro": "avro"}


class MockSchemaError(ValueError):
    """A mock's columns or values do not fit the schema of what it replaces."""


@dataclass
class _Batch:
    rows: Rows | None = None
    frame: Any = None  # a Spark or pandas DataFrame
    files: Sequence[Path] = ()


@dataclass
class Mock:
    """The batches given for one dataset or flow (``name``), kept under ``folder``."""

    name: str
    folder: Path
    pending: list[_Batch] = field(default_factory=list)
    written: int = 0    # batches
    rows: int = 0       # rows over all batches
    schema: T.StructType | None = None

    def add(self, rows: Rows | None, frame: Any, files: Sequence[Path | str] | None, replace: bool) -> None:
        given = [x for x in (rows, frame, files) if x is not None]
        if len(given) != 1:
            raise ValueError(f"given('{self.name}', ...) takes exactly one of rows=, df= or files=.")
        if replace:
            for old in self.folder.glob("*.parquet"):
                old.unlink()
            self.pending.clear()
        paths = [Path(f) for f in files] if files is not None else []
        for path in paths:
            if not path.exists():
                raise FileNotFoundError(f"given('{self.name}', files=...): {path} does not exist.")
        self.pending.append(_Batch(rows=rows, frame=frame, files=paths))

    def substitute(self, session: SparkSession, update: SparkSession, schema: T.StructType | None,
                   streaming: bool) -> DataFrame:
        """The query replacing the dataset's: writes the pending batches with ``session``, reads all
        batches with the update's session ``update``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.schema is None:
            self.schema = _without_metadata(schema) if schema is not None else None
        for batch in self.pending:
            frame = self._frame(session, batch)
            if self.name.startswith(KAFKA_PREFIX):
                frame = _kafka_defaults(frame, self.name.removeprefix(KAFKA_PREFIX), self.rows)
            if self.schema is None:
                self.schema = frame.schema
            table = _conformed(frame, self.schema, self.name, self.written + 1).toArrow()
            self.rows += table.num_rows
            self.written += 1
            partial = self.folder / f".batch-{self.written:05d}.parquet"
            pq.write_table(table, partial)
            partial.replace(self.folder / f"batch-{self.written:05d}.parquet")
        self.pending.clear()
        if self.schema is None:
            raise MockSchemaError(f"No rows given for '{self.name}' and its schema cannot be worked out locally: "
                                  "give at least one batch (rows=[] needs a DataFrame with a schema: df=).")
        reader = update.readStream if streaming else update.read
        return reader.schema(self.schema).option("pathGlobFilter", "batch-*.parquet").parquet(str(self.folder))

    def _frame(self, session: SparkSession, batch: _Batch) -> DataFrame:
        if batch.files:
            fmt = {_FILE_FORMATS.get(p.suffix.lower()) for p in batch.files}
            if len(fmt) != 1 or None in fmt:
                raise ValueError(f"given('{self.name}', files=...): one format of {', '.join(_FILE_FORMATS)} "
                                 f"per batch; got {', '.join(p.name for p in batch.files)}.")
            reader = session.read.format(fmt.pop() or "json")
            if self.schema is not None:
                reader = reader.schema(self.schema)
            return reader.option("header", "true").load([str(p) for p in batch.files])
        if batch.frame is not None:
            frame = batch.frame
            return frame if isinstance(frame, DataFrame) else session.createDataFrame(frame)
        rows: Rows = list(batch.rows or [])
        if self.name.startswith(KAFKA_PREFIX):
            rows = _kafka_bytes(rows)
        if self.schema is None:
            if not rows:
                raise MockSchemaError(f"given('{self.name}', rows=[]): no rows to infer columns from, and the "
                                      "schema of what it replaces cannot be worked out locally; pass df= instead.")
            return session.createDataFrame([dict(r) for r in rows])
        _check_columns(self.name, [c for r in rows for c in r], self.schema, self.written + 1)
        try:
            return session.createDataFrame([tuple(r.get(c) for c in self.schema.names) for r in rows], self.schema)
        except (TypeError, ValueError, Exception) as exc:  # pyspark's conversion errors name the field
            raise MockSchemaError(f"given('{self.name}', rows=...): a value does not fit the schema "
                                  f"({self.schema.simpleString()}): {exc}") from exc


def _kafka_defaults(frame: DataFrame, topic: str, first_offset: int) -> DataFrame:
    """Kafka columns a test leaves out (or gives as None), as a broker fills them: the topic,
    partition 0, offsets that continue across batches, the time of the batch, CreateTime (0)."""
    present = {c.lower(): c for c in frame.columns}
    order = Window.orderBy(F.monotonically_increasing_id())
    defaults = {"topic": F.lit(topic), "partition": F.lit(0),
                "offset": F.lit(first_offset) + F.row_number().over(order) - 1,
                "timestamp": F.current_timestamp(), "timestampType": F.lit(0)}
    kept = [F.col(f"`{c}`") for c in frame.columns if c.lower() not in {d.lower() for d in defaults}]
    filled = [(F.coalesce(F.col(f"`{present[name.lower()]}`"), value) if name.lower() in present else value)
              .alias(name) for name, value in defaults.items()]
    return frame.select(*kept, *filled)


def _kafka_bytes(rows: Rows) -> list[dict[str, Any]]:
    """Kafka rows with text keys and values as their UTF-8 bytes (the broker holds bytes)."""
    return [{k: v.encode() if k.lower() in ("key", "value") and isinstance(v, str) else v for k, v in r.items()}
            for r in rows]


def _without_metadata(schema: T.StructType) -> T.StructType:
    return T.StructType([f for f in schema.fields if f.name != "_metadata"])


def _check_columns(name: str, columns: Sequence[str], schema: T.StructType, batch: int) -> None:
    known = {c.lower() for c in schema.names}
    unknown = sorted({c for c in columns if c.lower() not in known})
    if unknown:
        raise MockSchemaError(f"The mock of '{name}' (batch {batch}) has columns its schema does not: "
                              f"{', '.join(unknown)}. Its columns: {', '.join(schema.names)}.")


def _conformed(frame: DataFrame, schema: T.StructType, name: str, batch: int) -> DataFrame:
    """``frame`` with the schema's columns in order: missing ones null, each cast to its type."""
    _check_columns(name, frame.columns, schema, batch)
    present = {c.lower(): c for c in frame.columns}
    return frame.select(*[(F.col(f"`{present[f.name.lower()]}`") if f.name.lower() in present else F.lit(None))
                          .cast(f.dataType).alias(f.name) for f in schema.fields])
