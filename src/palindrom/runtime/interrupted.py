"""An update that never finished (its process was killed), recorded by the next update.

The killed update's journal (``event_log.EventLog.open_journal``) holds the events it had built.
They go to the event log with what the update had written:

* a streaming flow's rows and expectation counts come from the Spark event log of the killed
  server, read from where the killed update started reading it: every micro-batch that committed
  is there (Spark writes a ``QueryProgressEvent`` after each commit and flushes it);
* a materialized view that the killed update completed keeps what it wrote (its row count is the
  table's); one it had not completed gets its previous contents back (``snapshots.recover``);
* flows that were starting or running end with a ``flow_progress`` FAILED (queued ones SKIPPED),
  and the update with an
  ``update_progress`` FAILED naming the update that recorded it (Databricks ends an update whose
  driver died as FAILED).

A journal marked finished (the kill came while the events were being written) is written as it
is, leaving out the events the table already holds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from palindrom.runtime import event_log, expectations, history
from palindrom.runtime.graph import GraphInfo, is_internal
from palindrom.runtime.metrics import EventLogTail

JOURNALS = "open_updates"
_ENDED = {"COMPLETED", "FAILED", "SKIPPED", "STOPPED", "EXCLUDED"}


def journals(state_dir: Path) -> list[Path]:
    folder = state_dir / JOURNALS
    for partial in folder.glob("*.partial"):  # a rewrite cut short: the journal itself is intact
        partial.unlink()
    return sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)


def completed_flows(events: list[dict[str, Any]]) -> set[str]:
    return {str(e["origin"]["flow_name"]) for e in events if e["event_type"] == "flow_progress"
            and e["details"]["flow_progress"]["status"] == "COMPLETED"}


def record(spark: SparkSession, journal: Path, database: str, graph: GraphInfo, recorded_by: str,
           row_count: Callable[[str], int | None]) -> str:
    """Write the killed update's events to the event log; returns a notice for the terminal."""
    header, events = event_log.read_journal(journal)
    update_id = str(header.get("update_id") or journal.stem)
    # The update's JSON-lines copy (what `pipelines updates` and the UI read) gets its end too.
    log_ = event_log.EventLog(str(header.get("pipeline_id")), str(header.get("pipeline_name")), update_id,
                              events=events, mirror=history.events_file(journal.parent.parent, update_id))
    if not header.get("finished"):
        _close(log_, header, graph, recorded_by, row_count)
    log_.flush()
    written = log_.write(spark, database, event_log.existing_ids(spark, database, update_id))
    journal.unlink()
    if header.get("finished"):
        return f"update {update_id[:6]} ended while writing its event log: {written} events recorded now"
    return (f"update {update_id[:6]} did not finish (the process was killed): recorded as FAILED in the "
            "event log with the rows it had written")


def _close(log_: event_log.EventLog, header: dict[str, Any], graph: GraphInfo, recorded_by: str,
           row_count: Callable[[str], int | None]) -> None:
    last: dict[str, dict[str, Any]] = {}
    for event in log_.events:
        if event["event_type"] == "flow_progress":
            last[str(event["origin"]["flow_name"])] = event
    directory = header.get("spark_event_log_dir")
    tail = EventLogTail(Path(directory) if directory else None, start=header.get("spark_event_log_positions") or {})
    tail.poll()
    for name, event in last.items():
        flow = graph.flows.get(name)
        if flow is None or is_internal(name):
            continue
        status = event["details"]["flow_progress"]["status"]
        if flow.streaming:
            rows: int | None = tail.rows.get(name, 0)
            counts = dict(tail.quality.get(name, {}))
            quality = expectations.quality_from_metrics(flow.expectations, flow.target, counts) \
                if flow.expectations else None
        else:
            rows, quality = (row_count(flow.target) if status == "COMPLETED" else None), None
        if status == "COMPLETED" or (status == "FAILED" and flow.streaming):
            event_log.fill_metrics(event, rows, quality)
        elif status == "QUEUED":  # never started: nothing written
            log_.add("flow_progress", f"Flow '{name}' is SKIPPED.", {"flow_progress": {"status": "SKIPPED"}},
                     flow=name, dataset=flow.target)
        elif status not in _ENDED:
            failed = log_.add("flow_progress", f"Flow '{name}' has FAILED.", {"flow_progress": {"status": "FAILED"}},
                              level="ERROR", flow=name, dataset=flow.target,
                              error="Interrupted: the process running the update was killed")
            event_log.fill_metrics(failed, rows, quality)
    log_.add("update_progress", f"Update {log_.update_id[:6]} is FAILED: the process running it was killed.",
             {"update_progress": {"state": "FAILED", "cause": "INTERRUPTED", "recorded_by_update": recorded_by}},
             level="ERROR", error="Interrupted: the process running the update was killed")


def table_rows(spark: SparkSession, graph: GraphInfo, database: str) -> Callable[[str], int | None]:
    def count(table: str) -> int | None:
        try:
            return int(spark.read.table(f"`{graph.schema_of(table, database)}`.`{table}`").count())
        except PySparkException:
            return None
    return count
