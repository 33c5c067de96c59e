"""Where an update's bad records went, per table, counted from the update's own data.

* **rescued**: rows written with a non-null rescued-data column (``_rescued_data``, the container
  decoder's ``rescued_data``). A streaming flow counts them as it writes them (its rows metric,
  ``runtime/graph.py``), so no table is scanned; a materialized view is recomputed, so its count
  is its contents after the update.
* **dead-lettered**: rows written in this update to a dead-letter table (``*_dead_letter*``) or a
  quarantine table (``*_quarantine``), from the flows' output row counts; and records Auto Loader
  wrote to a ``bad_records`` file (a cloudFiles read without a rescued-data column) in this update.
* **dropped**: ``dropped_records`` of the update's expectation counts (``data_quality``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from palindrom.runtime.runner import UpdateResult

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


def rescued_rows(spark: SparkSession, result: UpdateResult) -> dict[str, tuple[str, int]]:
    """table -> (rescue column, rows this update wrote with it set), for the tables its completed
    flows wrote that have one: streaming flows from their metrics, materialized views by a count."""
    found: dict[str, tuple[str, int]] = {}
    for name, info in result.graph.flows.items():
        flow = result.flows.get(name)
        if info.rescue_column is None or flow is None or flow.state != "completed":
            continue
        if info.streaming:
            count = result.rescued.get(name, 0)
        elif info.target in found:  # a recomputed view holds what all its flows wrote: counted once
            continue
        else:
            table = f"`{result.graph.schema_of(info.target, result.database)}`.`{info.target}`"
            count = spark.read.table(table).where(F.col(f"`{info.rescue_column}`").isNotNull()).count()
        previous = found.get(info.target, (info.rescue_column, 0))[1]
        found[info.target] = (info.rescue_column, previous + count)
    return found


def summarize(result: UpdateResult, rescued: dict[str, tuple[str, int]],
              bad_record_files: dict[str, int]) -> list[TableBadRecords]:
    """Per table with bad records in this update. ``rescued``: :func:`rescued_rows`;
    ``bad_record_files``: table -> records Auto Loader wrote to bad_records files in this update."""
    tables: dict[str, TableBadRecords] = {}

    def entry(name: str) -> TableBadRecords:
        return tables.setdefault(name, TableBadRecords(name))

    for table, (column, count) in rescued.items():
        if count > 0 and not _dead_letter(table):  # a dead letter's rescue column is its content
            found = entry(table)
            found.rescued, found.rescue_column = count, column
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
