"""Where an update's bad records went, per table, counted from the update's own data.

* **rescued**: rows written with a non-null rescued-data column (``_rescued_data``, the container
  decoder's ``rescued_data``). A streaming table only appends, so its count for the update is the
  table's count after the update minus its count before (zero before when it was fully refreshed);
  a materialized view is recomputed, so its count is its contents after the update.
* **dead-lettered**: rows written in this update to a dead-letter table (``*_dead_letter*``) or a
  quarantine table (``*_quarantine``), from the flows' output row counts; and records Auto Loader
  wrote to a ``bad_records`` file (a cloudFiles read without a rescued-data column) in this update.
* **dropped**: ``dropped_records`` of the update's expectation counts (``data_quality``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from palindrom.runtime.runner import UpdateResult

RESCUE_COLUMNS = ("_rescued_data", "rescued_data")
DEAD_LETTER_MARKS = ("dead_letter", "quarantine")


@dataclass
class TableBadRecords:
    table: str
    rescued: int = 0
    rescue_column: str | None = None
    dead_lettered: int = 0
    dropped: int = 0
    where: list[str] = field(default_factory=list)  # where to look, one hint per kind of bad record

    @property
    def any(self) -> bool:
        return bool(self.rescued or self.dead_lettered or self.dropped)


def _dead_letter(table: str) -> bool:
    return any(mark in table for mark in DEAD_LETTER_MARKS)


def rescue_counts(spark: SparkSession, database: str) -> dict[str, tuple[str, int]]:
    """table -> (rescue column, rows whose rescue column is not null), for the database's tables that
    have one; empty when the database does not exist yet."""
    if not spark.catalog.databaseExists(database):
        return {}
    columns: dict[str, str] = {}
    for table in spark.catalog.listTables(database):
        if table.tableType == "VIEW" or table.isTemporary:
            continue
        names = {c.name for c in spark.catalog.listColumns(f"`{database}`.`{table.name}`")}
        found = next((c for c in RESCUE_COLUMNS if c in names), None)
        if found is not None:
            columns[table.name] = found
    if not columns:
        return {}
    counts = [spark.read.table(f"`{database}`.`{name}`").select(
        F.lit(name).alias("t"), F.count_if(F.col(column).isNotNull()).alias("n"))
        for name, column in sorted(columns.items())]
    query = functools.reduce(lambda a, b: a.unionByName(b), counts)
    return {row["t"]: (columns[row["t"]], int(row["n"])) for row in query.collect()}


def summarize(result: UpdateResult, before: dict[str, tuple[str, int]], after: dict[str, tuple[str, int]],
              full_refreshed: set[str], bad_record_files: dict[str, int]) -> list[TableBadRecords]:
    """Per table with bad records in this update. ``full_refreshed``: tables this update recomputed
    from nothing (their count before is 0); ``bad_record_files``: table -> records Auto Loader wrote
    to bad_records files in this update."""
    tables: dict[str, TableBadRecords] = {}

    def entry(name: str) -> TableBadRecords:
        return tables.setdefault(name, TableBadRecords(name))

    written = {f.name for f in result.flows.values() if f.state == "completed"}
    targets = {info.target for name, info in result.graph.flows.items() if name in written}
    for table, (column, count) in after.items():
        if table not in targets or _dead_letter(table):  # a dead letter's rescue column is its content
            continue
        streaming = result.graph.outputs.get(table) != "materialized_view"
        previous = before.get(table, (column, 0))[1] if streaming and table not in full_refreshed else 0
        if count - previous > 0:
            found = entry(table)
            found.rescued, found.rescue_column = count - previous, column
            found.where.append(f"{result.database}.{table}.{column} IS NOT NULL")
    for name, info in result.graph.flows.items():
        flow = result.flows.get(name)
        if flow is None or flow.state != "completed":
            continue
        if _dead_letter(info.target) and flow.rows:
            found = entry(info.target)
            found.dead_lettered += flow.rows
            if f"{result.database}.{info.target}" not in found.where:
                found.where.append(f"{result.database}.{info.target}")
        dropped = int(result.quality.get(name, {}).get("dropped_records") or 0)
        if dropped:
            found = entry(info.target)
            found.dropped += dropped
            found.where.append(f"{result.database}.event_log (flow_progress data_quality of {name})")
    for table, count in bad_record_files.items():
        found = entry(table)
        found.dead_lettered += count
        found.where.append(f"Auto Loader bad_records files of {table} (see the update's log line)")
    return [t for _, t in sorted(tables.items()) if t.any]


def bad_record_files(state_dir: Path, result: UpdateResult, since: float) -> tuple[dict[str, int], list[str]]:
    """(table -> records, files) that Auto Loader wrote to ``bad_records`` files of the update's
    flows since ``since`` (a POSIX time): values it could not keep without a rescued-data column."""
    counts: dict[str, int] = {}
    files: list[str] = []
    for name, info in result.graph.flows.items():
        for path in sorted((state_dir / "autoloader" / name).glob("*/state/bad_records/*.json")):
            if path.stat().st_mtime < since:
                continue
            try:
                records: list[Any] = json.loads(path.read_text()).get("records", [])
            except (OSError, ValueError):
                continue
            counts[info.target] = counts.get(info.target, 0) + len(records)
            files.append(str(path))
    return counts, files
