"""The pipeline event log as a table, with Databricks's columns and event types.

Each update appends ``create_update``, ``flow_definition`` (one per flow), ``flow_progress`` (one per
flow state change; COMPLETED carries ``metrics.num_output_rows`` and ``data_quality``) and
``update_progress`` events to ``<database>.event_log``. ``details`` is a JSON string, so Databricks's
documented queries run with ``get_json_object(details, '$.flow_progress...')`` in place of the
``details:flow_progress...`` operator.

Every event is also appended to a journal (``<pipeline state>/open_updates/<update>.jsonl``) as it
happens, and the journal is removed once the events are in the table. A journal that is still there
when the next update starts belongs to an update that never finished (the process was killed):
``runtime/recovery.py`` writes its events with what it had written and a FAILED ``update_progress``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from palindrom import logs
from palindrom.runtime import faults, history

TABLE = "event_log"
SCHEMA = (
    "id STRING, sequence STRING, "
    "origin STRUCT<pipeline_id: STRING, pipeline_name: STRING, pipeline_type: STRING, update_id: STRING, "
    "flow_id: STRING, flow_name: STRING, dataset_name: STRING, request_id: STRING>, "
    "timestamp TIMESTAMP, message STRING, level STRING, maturity_level STRING, "
    "error STRUCT<fatal: BOOLEAN, exceptions: ARRAY<STRUCT<class_name: STRING, message: STRING>>>, "
    "details STRING, event_type STRING"
)


def pipeline_id(name: str, storage: str) -> str:
    """A stable id for a pipeline in one storage directory (Databricks ids are UUIDs too)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"palindrom:{storage}:{name}"))


@dataclass
class EventLog:
    pipeline_id: str
    pipeline_name: str
    update_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    mirror: Path | None = None  # JSON lines copy, rewritten as events are added (history.events_file)
    journal: Path | None = None

    def open_journal(self, path: Path, header: dict[str, Any]) -> None:
        """Journal every event from now on to ``path``, after a first line holding ``header``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.journal = path
        self._rewrite_journal(header)

    def _rewrite_journal(self, header: dict[str, Any]) -> None:
        """The whole journal, replaced atomically (a kill leaves the old or the new one)."""
        if self.journal is None:
            return
        partial = self.journal.with_name(self.journal.name + ".partial")
        lines = [json.dumps({"journal": header})] + [_journal_line(e) for e in self.events]
        partial.write_text("".join(line + "\n" for line in lines))
        partial.replace(self.journal)

    def seal_journal(self, header: dict[str, Any]) -> None:
        """The update has ended: its final events (with their metrics) replace the journal."""
        self._rewrite_journal({**header, "finished": True})

    def close_journal(self) -> None:
        """The events are in the table: the journal is no longer needed."""
        if self.journal is not None:
            self.journal.unlink(missing_ok=True)
            self.journal = None

    def add(self, event_type: str, message: str, details: dict[str, Any], *, level: str = "INFO",
            flow: str | None = None, dataset: str | None = None, error: str | None = None,
            at: dt.datetime | None = None) -> dict[str, Any]:
        now = at or dt.datetime.now(dt.UTC)
        event = {
            "id": str(uuid.uuid4()),
            "sequence": json.dumps({"data_plane_id": {"seq_no": len(self.events)}}),
            "origin": {"pipeline_id": self.pipeline_id, "pipeline_name": self.pipeline_name,
                       "pipeline_type": "WORKSPACE", "update_id": self.update_id,
                       "flow_id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{self.pipeline_id}:{flow}")) if flow else None,
                       "flow_name": flow, "dataset_name": dataset, "request_id": self.update_id},
            "timestamp": now, "message": message, "level": level, "maturity_level": "STABLE",
            "error": {"fatal": False, "exceptions": [{"class_name": error.split(":", 1)[0],
                                                      "message": error}]} if error else None,
            "details": details, "event_type": event_type,
        }
        self.events.append(event)
        if self.journal is not None:
            with self.journal.open("a") as handle:
                handle.write(_journal_line(event) + "\n")
        self.flush()
        return event

    def flush(self) -> None:
        if self.mirror is not None:
            history.write_events(self.mirror, [_redacted_event(e) for e in self.events])

    def write(self, spark: SparkSession, database: str, skip: frozenset[str] = frozenset()) -> int:
        """Append the events (all but the ids in ``skip``, already in the table) to the event log."""
        rows = [_redacted({**e, "details": json.dumps(e["details"])}) for e in self.events if e["id"] not in skip]
        if rows:
            frame = spark.createDataFrame(rows, schema=SCHEMA)
            faults.reach("event_log_write")
            frame.write.mode("append").saveAsTable(f"`{database}`.`{TABLE}`")
        return len(rows)


def _redacted_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event as kept in memory (``details`` a dict), redacted like an event log row."""
    row = _redacted({**event, "details": json.dumps(event["details"])})
    return {**row, "details": json.loads(row["details"])}


def _redacted(row: dict[str, Any]) -> dict[str, Any]:
    """Secrets (palindrom.logs) never reach the event log: not in messages, errors or details."""
    error = row.get("error")
    if error:
        error = {**error, "exceptions": [{"class_name": logs.redact(x["class_name"] or ""),
                                          "message": logs.redact(x["message"] or "")}
                                         for x in error["exceptions"]]}
    return {**row, "message": logs.redact(row["message"]), "details": logs.redact(row["details"]), "error": error}


def _journal_line(event: dict[str, Any]) -> str:
    """One journal line; secrets are redacted on disk too."""
    return json.dumps({**_redacted_event(event), "timestamp": event["timestamp"].isoformat()})


def read_journal(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A journal's header and events; a last line cut short by a kill is left out."""
    header: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "journal" in record:
            header = record["journal"]
        else:
            events.append({**record, "timestamp": dt.datetime.fromisoformat(record["timestamp"])})
    return header, events


def existing_ids(spark: SparkSession, database: str, update_id: str) -> frozenset[str]:
    """Ids of the events of ``update_id`` already in the event log table."""
    if not spark.catalog.tableExists(TABLE, database):
        return frozenset()
    table = spark.read.table(f"`{database}`.`{TABLE}`")
    return frozenset(r["id"] for r in table.where(table.origin.update_id == update_id).select("id").collect())


class UpdateRecorder:
    """Builds one update's events as the runner sees them; written once the update has ended."""

    def __init__(self, log: EventLog, graph: Any, options: Any, started: dt.datetime | None = None) -> None:
        """``started``: when the update was created (before its definitions loaded), if not now."""
        self.log = log
        self.graph = graph
        self._completed: dict[str, dict[str, Any]] = {}
        log.add("create_update", f"Update {log.update_id[:6]} started by USER_ACTION.", {"create_update": {
            "cause": "USER_ACTION", "full_refresh": bool(options.full_refresh_all),
            "full_refresh_selection": list(options.full_refresh), "refresh_selection": list(options.refresh),
            "validate_only": bool(options.dry_run)}}, at=started)
        for flow in graph.flows.values():
            log.add("flow_definition", f"Flow '{flow.name}' is defined as {graph.outputs.get(flow.target, 'table')}.",
                    {"flow_definition": {"output_dataset": flow.target, "input_datasets": list(flow.inputs),
                                         "flow_type": "APPEND" if flow.streaming else "COMPLETE",
                                         "expectations": [{"name": e.name, "action": e.action}
                                                          for e in flow.expectations]}},
                    flow=flow.name, dataset=flow.target)
        log.add("update_progress", f"Update {log.update_id[:6]} is RUNNING.", {"update_progress": {"state": "RUNNING"}})

    def flow_state(self, name: str, state: str, error: str | None = None) -> None:
        flow = self.graph.flows.get(name)
        dataset = flow.target if flow else name
        status = state.upper()
        event = self.log.add("flow_progress", f"Flow '{name}' is {status}.", {"flow_progress": {"status": status}},
                             level="ERROR" if status == "FAILED" else "INFO", flow=name, dataset=dataset,
                             error=error)
        if status in ("COMPLETED", "FAILED"):  # a failed streaming flow may have committed batches
            self._completed[name] = event

    def finish(self, state: str, rows: dict[str, int | None], quality: dict[str, dict[str, Any]],
               error: str | None = None) -> None:
        """Fill in the COMPLETED (and FAILED) events' metrics, then close the update."""
        for name, event in self._completed.items():
            fill_metrics(event, rows.get(name), quality.get(name))
        self.log.add("update_progress", f"Update {self.log.update_id[:6]} is {state.upper()}.",
                     {"update_progress": {"state": state.upper()}}, level="ERROR" if state == "failed" else "INFO",
                     error=error if state == "failed" else None)


def fill_metrics(event: dict[str, Any], rows: int | None, quality: dict[str, Any] | None) -> None:
    """A ``flow_progress`` event's rows written and expectation counts."""
    progress = event["details"]["flow_progress"]
    if rows is not None:
        progress["metrics"] = {"num_output_rows": rows}
    if quality:
        progress["data_quality"] = quality
