"""Local fallback for AUTO CDC (``dlt.apply_changes`` / ``dp.create_auto_cdc_flow``).

Open-source Spark only runs AUTO CDC into MERGE-capable tables (Delta, Iceberg), which cannot be
installed here. Locally the change events are captured exactly once into a staging streaming table
(``<target>__cdc_changes``), and the target is a materialized view recomputed from all captured
changes at every update. Because AUTO CDC's result depends only on the set of change events (it
orders them by ``sequence_by`` and keeps delete tombstones), recomputing from the full history gives
the same SCD type 1 and type 2 tables as Databricks's incremental MERGE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

STAGING_SUFFIX = "__cdc_changes"
START_AT, END_AT = "__START_AT", "__END_AT"
_SEQ, _DEL, _ROW = "__cdc_seq", "__cdc_is_delete", "__cdc_row"


def column_name(column: Column | str) -> str:
    """The plain name behind a column reference, for APIs that need names, not expressions."""
    if isinstance(column, str):
        return column
    expr: Any = getattr(column, "_expr", None)
    name = getattr(expr, "_unparsed_identifier", None)
    if not isinstance(name, str):
        raise ValueError(f"AUTO CDC column lists need plain column names locally; got {column!r}")
    return name


@dataclass(frozen=True)
class CdcSpec:
    target: str
    source: str
    keys: list[str]
    sequence_by: Column
    apply_as_deletes: Column | None
    column_list: list[str] | None
    except_column_list: list[str] | None
    scd_type: int
    track_history_column_list: list[str] | None
    track_history_except_column_list: list[str] | None

    @property
    def staging_table(self) -> str:
        return self.target + STAGING_SUFFIX


def _target_columns(spec: CdcSpec, events: DataFrame) -> DataFrame:
    if spec.column_list is not None:
        return events.select(*spec.column_list, _SEQ, _DEL)
    return events.drop(*(spec.except_column_list or []))


def _events(spec: CdcSpec, changes: DataFrame) -> DataFrame:
    is_delete = F.coalesce(spec.apply_as_deletes, F.lit(False)) if spec.apply_as_deletes is not None \
        else F.lit(False)
    events = changes.withColumn(_SEQ, spec.sequence_by).withColumn(_DEL, is_delete)
    return _target_columns(spec, events)


def scd1(spec: CdcSpec, changes: DataFrame) -> DataFrame:
    """Latest event per key by ``sequence_by``; keys whose latest event is a delete are absent."""
    latest = Window.partitionBy(*spec.keys).orderBy(F.col(_SEQ).desc())
    return (
        _events(spec, changes)
        .withColumn("__cdc_rank", F.row_number().over(latest))
        .filter((F.col("__cdc_rank") == 1) & ~F.col(_DEL))
        .drop("__cdc_rank", _SEQ, _DEL)
    )


def _tracked(spec: CdcSpec) -> Column:
    everything = F.struct(F.col("*"))
    if spec.track_history_column_list is not None:
        return F.struct(*[F.col(c) for c in spec.track_history_column_list])
    ignored = [*spec.keys, _SEQ, _DEL, *(spec.track_history_except_column_list or [])]
    return everything.dropFields(*ignored)


def scd2(spec: CdcSpec, changes: DataFrame) -> DataFrame:
    """One row per version of each key with ``__START_AT`` / ``__END_AT`` from ``sequence_by``.

    An upsert opens a new version when the key has no open version or a tracked column changed;
    otherwise it updates the open version in place. A delete closes the open version.
    """
    by_seq = Window.partitionBy(*spec.keys).orderBy(_SEQ)
    events = _events(spec, changes).withColumn("__cdc_tracked", _tracked(spec))
    prev_deleted = F.lag(_DEL).over(by_seq)
    prev_tracked = F.lag("__cdc_tracked").over(by_seq)
    opens = ~F.col(_DEL) & (prev_deleted.isNull() | prev_deleted | ~(F.col("__cdc_tracked").eqNullSafe(prev_tracked)))
    versioned = (
        events.withColumn("__cdc_opens", opens)
        .withColumn("__cdc_next_seq", F.lead(_SEQ).over(by_seq))
        .withColumn("__cdc_version", F.sum(F.col("__cdc_opens").cast("long")).over(
            by_seq.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
        .filter(~F.col(_DEL) & (F.col("__cdc_version") > 0))
    )
    per_version = Window.partitionBy(*spec.keys, "__cdc_version")
    last_in_version = per_version.orderBy(F.col(_SEQ).desc())
    return (
        versioned.withColumn(START_AT, F.min(_SEQ).over(per_version))
        .withColumn("__cdc_rank", F.row_number().over(last_in_version))
        .filter(F.col("__cdc_rank") == 1)
        .withColumn(END_AT, F.col("__cdc_next_seq"))
        .drop("__cdc_rank", "__cdc_opens", "__cdc_next_seq", "__cdc_version", "__cdc_tracked", _SEQ, _DEL)
    )


def target_query(spec: CdcSpec, changes: DataFrame) -> DataFrame:
    return scd2(spec, changes) if spec.scd_type == 2 else scd1(spec, changes)
