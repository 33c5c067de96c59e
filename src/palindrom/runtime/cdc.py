"""Local fallback for AUTO CDC (``dlt.apply_changes`` / ``create_auto_cdc_flow``).

Open-source Spark only runs AUTO CDC into MERGE-capable tables (Delta, Iceberg), which cannot be
installed here. Locally the change events are captured exactly once into a staging streaming table
(``<target>__cdc_changes``), and the target is a materialized view recomputed from all captured
changes at every update. AUTO CDC's result depends only on the set of change events (it orders
them by ``sequence_by`` and keeps delete tombstones), so recomputing from the full history gives
the SCD type 1 and type 2 tables Databricks's incremental MERGE gives, out-of-order events included:

* type 1: per key, the latest event by ``sequence_by``; a key whose latest event is a delete is
  absent. With ``ignore_null_updates`` a null keeps the value the key had (since it was last
  (re)created). ``apply_as_truncates`` empties the table at the truncate's sequence value.
* type 2: one row per version with ``__START_AT`` / ``__END_AT`` (the type of ``sequence_by``). A
  change of a tracked column opens a version; other changes update the open version in place; a
  delete closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

STAGING_SUFFIX = "__cdc_changes"
START_AT, END_AT = "__START_AT", "__END_AT"
_SEQ, _DEL, _TRUNC, _LIFE = "__cdc_seq", "__cdc_is_delete", "__cdc_is_truncate", "__cdc_life"


def column_name(column: Column | str) -> str:
    """The plain name behind a column reference, for APIs that need names, not expressions."""
    if isinstance(column, str):
        return column
    expr: Any = getattr(column, "_expr", None)
    name = getattr(expr, "_unparsed_identifier", None)
    if not isinstance(name, str):
        raise ValueError(f"AUTO CDC column lists need plain column names; got {column!r}")
    return name


def as_column(value: Column | str | None) -> Column | None:
    """``sequence_by`` / ``apply_as_deletes`` given as a SQL expression string or a Column."""
    if value is None or isinstance(value, Column):
        return value
    return F.expr(value)


@dataclass(frozen=True)
class CdcSpec:
    target: str
    source: str
    keys: list[str]
    sequence_by: Column
    apply_as_deletes: Column | None = None
    column_list: list[str] | None = None
    except_column_list: list[str] | None = None
    scd_type: int = 1
    track_history_column_list: list[str] | None = None
    track_history_except_column_list: list[str] | None = None
    ignore_null_updates: bool = False
    ignore_null_updates_column_list: list[str] | None = None
    ignore_null_updates_except_column_list: list[str] | None = None
    apply_as_truncates: Column | None = None

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError(f"AUTO CDC into '{self.target}' needs at least one key column.")
        if self.scd_type not in (1, 2):
            raise ValueError(f"AUTO CDC into '{self.target}': stored_as_scd_type must be 1 or 2.")
        if self.column_list and self.except_column_list:
            raise ValueError(f"AUTO CDC into '{self.target}': give column_list or except_column_list, not both.")
        if self.apply_as_truncates is not None and self.scd_type == 2:
            raise ValueError(f"AUTO CDC into '{self.target}': apply_as_truncates is supported for SCD type 1 "
                             "only (as on Databricks).")

    @property
    def staging_table(self) -> str:
        return self.target + STAGING_SUFFIX

    def capture(self, spark: SparkSession) -> DataFrame:
        """The change events, exactly once each: a stream of the source."""
        return spark.readStream.table(self.source)

    def apply(self, spark: SparkSession) -> DataFrame:
        """The target, recomputed from every captured event."""
        return target_query(self, spark.read.table(self.staging_table))

    def null_kept(self, columns: list[str]) -> list[str]:
        """The columns for which a null in an update keeps the previous value."""
        if self.ignore_null_updates_column_list:
            return [c for c in columns if c in self.ignore_null_updates_column_list]
        if self.ignore_null_updates_except_column_list:
            return [c for c in columns if c not in self.ignore_null_updates_except_column_list
                    and c not in self.keys]
        return [c for c in columns if c not in self.keys] if self.ignore_null_updates else []


def _events(spec: CdcSpec, changes: DataFrame) -> tuple[DataFrame, list[str]]:
    """Events with their sequence, delete and truncate flags, and the target's data columns."""
    def flag(condition: Column | None) -> Column:
        return F.lit(False) if condition is None else F.coalesce(condition, F.lit(False))

    events = (changes.withColumn(_SEQ, spec.sequence_by).withColumn(_DEL, flag(spec.apply_as_deletes))
              .withColumn(_TRUNC, flag(spec.apply_as_truncates)))
    source = list(changes.columns)
    if spec.column_list is not None:
        missing = [c for c in spec.column_list if c not in source]
        if missing:
            raise ValueError(f"AUTO CDC into '{spec.target}': column_list names {missing}, which "
                             f"'{spec.source}' does not have.")
        columns = list(spec.column_list)
    else:
        columns = [c for c in source if c not in (spec.except_column_list or [])]
    for key in spec.keys:
        if key not in columns:
            columns.insert(0, key)
    if spec.apply_as_truncates is not None:  # a truncate wipes every event before it
        last = events.where(F.col(_TRUNC)).agg(F.max(_SEQ).alias("__cdc_truncated_at"))
        events = events.where(~F.col(_TRUNC)).crossJoin(last).where(
            F.col("__cdc_truncated_at").isNull() | (F.col(_SEQ) > F.col("__cdc_truncated_at"))
        ).drop("__cdc_truncated_at")
    events = events.where(F.col(_SEQ).isNotNull()).select(*columns, _SEQ, _DEL)
    return _fill_nulls(spec, events, columns), columns


def _fill_nulls(spec: CdcSpec, events: DataFrame, columns: list[str]) -> DataFrame:
    """ignore_null_updates: a null takes the key's last non-null value since its last delete."""
    kept = spec.null_kept(columns)
    if not kept:
        return events
    by_seq = Window.partitionBy(*spec.keys).orderBy(_SEQ)
    lives = events.withColumn(_LIFE, F.sum(F.col(_DEL).cast("int")).over(
        by_seq.rowsBetween(Window.unboundedPreceding, Window.currentRow)) - F.col(_DEL).cast("int"))
    life = Window.partitionBy(*spec.keys, _LIFE).orderBy(_SEQ).rowsBetween(Window.unboundedPreceding,
                                                                           Window.currentRow)
    filled = lives.select(*[F.last(c, ignorenulls=True).over(life).alias(c) if c in kept else F.col(c)
                            for c in columns], _SEQ, _DEL)
    return filled


def scd1(spec: CdcSpec, changes: DataFrame) -> DataFrame:
    """Latest event per key by ``sequence_by``; keys whose latest event is a delete are absent."""
    events, columns = _events(spec, changes)
    latest = Window.partitionBy(*spec.keys).orderBy(F.col(_SEQ).desc())
    return (events.withColumn("__cdc_rank", F.row_number().over(latest))
            .where((F.col("__cdc_rank") == 1) & ~F.col(_DEL))
            .select(*columns))


def _tracked(spec: CdcSpec, columns: list[str]) -> Column:
    if spec.track_history_column_list is not None:
        tracked = [c for c in spec.track_history_column_list if c in columns]
    else:
        ignored = {*spec.keys, *(spec.track_history_except_column_list or [])}
        tracked = [c for c in columns if c not in ignored]
    return F.struct(*[F.col(c) for c in tracked]) if tracked else F.lit(None)


def scd2(spec: CdcSpec, changes: DataFrame) -> DataFrame:
    """One row per version of each key with ``__START_AT`` / ``__END_AT`` from ``sequence_by``.

    An upsert opens a new version when the key has no open version or a tracked column changed;
    otherwise it updates the open version in place. A delete closes the open version.
    """
    events, columns = _events(spec, changes)
    by_seq = Window.partitionBy(*spec.keys).orderBy(_SEQ)
    events = events.withColumn("__cdc_tracked", _tracked(spec, columns))
    prev_deleted = F.lag(_DEL).over(by_seq)
    prev_tracked = F.lag("__cdc_tracked").over(by_seq)
    opens = ~F.col(_DEL) & (prev_deleted.isNull() | prev_deleted | ~(F.col("__cdc_tracked").eqNullSafe(prev_tracked)))
    versioned = (
        events.withColumn("__cdc_opens", opens)
        .withColumn("__cdc_next_seq", F.lead(_SEQ).over(by_seq))
        .withColumn("__cdc_version", F.sum(F.col("__cdc_opens").cast("long")).over(
            by_seq.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
        .where(~F.col(_DEL) & (F.col("__cdc_version") > 0))
    )
    per_version = Window.partitionBy(*spec.keys, "__cdc_version")
    last_in_version = per_version.orderBy(F.col(_SEQ).desc())
    return (
        versioned.withColumn(START_AT, F.min(_SEQ).over(per_version))
        .withColumn("__cdc_rank", F.row_number().over(last_in_version))
        .where(F.col("__cdc_rank") == 1)
        .select(*columns, START_AT, F.col("__cdc_next_seq").alias(END_AT))
    )


def target_query(spec: CdcSpec, changes: DataFrame) -> DataFrame:
    return scd2(spec, changes) if spec.scd_type == 2 else scd1(spec, changes)
