"""Local AUTO CDC FROM SNAPSHOT (``dlt.apply_changes_from_snapshot``).

Each update adds the new snapshots of the source to a staging table ``<target>__cdc_snapshots``
with their version in ``__snapshot_version``:

* a table (or view) source gives one snapshot per update, its version the update's start time;
* a function source ``next_snapshot_and_version(latest_version) -> (DataFrame, version) | None`` is
  called with the latest version processed so far until it returns None, as Databricks does.

The target is recomputed from the staged snapshots, as AUTO CDC would have built it from them one
after the other: SCD type 1 is the latest snapshot; for SCD type 2 the snapshots become change
events (a key that appears or whose values change is an upsert at the snapshot's version, a key
that disappears a delete) and go through :func:`palindrom.runtime.cdc.scd2`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from palindrom.runtime import cdc

SUFFIX = "__cdc_snapshots"
VERSION = "__snapshot_version"
_OP, _PREV = "__snapshot_op", "__snapshot_previous_version"


@dataclass(frozen=True)
class SnapshotSpec:
    target: str
    source: str | Callable[..., Any]
    keys: list[str]
    scd_type: int = 1
    track_history_column_list: list[str] | None = None
    track_history_except_column_list: list[str] | None = None

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError(f"AUTO CDC FROM SNAPSHOT into '{self.target}' needs at least one key column.")
        if self.scd_type not in (1, 2):
            raise ValueError(f"AUTO CDC FROM SNAPSHOT into '{self.target}': stored_as_scd_type must be 1 or 2.")

    @property
    def staging_table(self) -> str:
        return self.target + SUFFIX

    def new_snapshots(self, spark: SparkSession, latest: Any, update_started: Any) -> DataFrame | None:
        """This update's snapshots with their versions, or None when there is none."""
        if isinstance(self.source, str):
            return spark.read.table(self.source).withColumn(VERSION, F.lit(update_started))
        frames: list[DataFrame] = []
        while True:
            answer = self.source(latest)
            if answer is None:
                break
            frame, version = answer
            if latest is not None and version <= latest:
                raise ValueError(f"The snapshot function of '{self.target}' returned version {version!r} after "
                                 f"{latest!r}: versions must increase.")
            frames.append(frame.withColumn(VERSION, F.lit(version)))
            latest = version
        if not frames:
            return None
        result = frames[0]
        for frame in frames[1:]:
            result = result.unionByName(frame, allowMissingColumns=True)
        return result

    def apply(self, spark: SparkSession) -> DataFrame:
        return target_query(self, spark.read.table(self.staging_table))


def target_query(spec: SnapshotSpec, snapshots: DataFrame) -> DataFrame:
    columns = [c for c in snapshots.columns if c != VERSION]
    if spec.scd_type == 1:
        latest = snapshots.agg(F.max(VERSION).alias("__latest"))
        return snapshots.join(latest, F.col(VERSION) == F.col("__latest")).select(*columns)
    # Each version next to the one before it.
    versions = snapshots.select(VERSION).distinct().withColumn(_PREV, F.lag(VERSION).over(Window.orderBy(VERSION)))
    current = snapshots.join(versions, VERSION)
    previous = snapshots.select(*[F.col(c).alias(f"__p_{c}") for c in columns], F.col(VERSION).alias("__p_version"))
    same_key = [F.col(k) == F.col(f"__p_{k}") for k in spec.keys]
    match = F.col(_PREV) == F.col("__p_version")
    for condition in same_key:
        match = match & condition
    before = current.join(previous, match, "left")
    changed = ~F.struct(*[F.col(c) for c in columns]).eqNullSafe(
        F.struct(*[F.col(f"__p_{c}").alias(c) for c in columns]))
    upserts = before.where(F.col(f"__p_{spec.keys[0]}").isNull() | changed).select(
        *columns, VERSION, F.lit(False).alias(_OP))
    # A key of one version that the next version lacks was deleted at the next version.
    following = previous.join(versions.where(F.col(_PREV).isNotNull()), F.col("__p_version") == F.col(_PREV))
    present = snapshots.select(*[F.col(k).alias(f"__n_{k}") for k in spec.keys], F.col(VERSION).alias("__n_version"))
    kept = F.col(VERSION) == F.col("__n_version")
    for key in spec.keys:
        kept = kept & (F.col(f"__p_{key}") == F.col(f"__n_{key}"))
    deletes = following.join(present, kept, "left_anti").select(
        *[F.col(f"__p_{c}").alias(c) for c in columns], VERSION, F.lit(True).alias(_OP))
    return cdc.scd2(cdc.CdcSpec(
        target=spec.target, source=spec.staging_table, keys=spec.keys, sequence_by=F.col(VERSION),
        apply_as_deletes=F.col(_OP), except_column_list=[VERSION, _OP], scd_type=2,
        track_history_column_list=spec.track_history_column_list,
        track_history_except_column_list=spec.track_history_except_column_list), upserts.unionByName(deletes))
