"""The pipeline event log as a table, with Databricks's columns and event types.

Each update appends ``create_update``, ``flow_definition`` (one per flow), ``flow_progress`` (one per
flow state change; COMPLETED carries ``metrics.num_output_rows`` and ``data_quality``) and
``update_progress`` events to ``<database>.event_log``. ``details`` is a JSON string, so Databricks's
documented queries run with ``get_json_object(details, '$.flow_progress...')`` in place of the
``details:flow_progress...`` operator.
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
from palindrom.runtime import history

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
        self.flush()
        return event

    def flush(self) -> None:
        if self.mirror is not None:
            history.write_events(self.mirror, [_redacted_event(e) for e in self.events])

    def write(self, spark: SparkSession, database: str) -> int:
        rows = [_redacted({**e, "details": json.dumps(e["details"])}) for e in self.events]
        if rows:
            frame = spark.createDataFrame(rows, schema=SCHEMA)
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
        if status == "COMPLETED":
            self._completed[name] = event

    def finish(self, state: str, rows: dict[str, int | None], quality: dict[str, dict[str, Any]],
               error: str | None = None) -> None:
        """Fill in the COMPLETED events' metrics, then close the update."""
        for name, event in self._completed.items():
            progress = event["details"]["flow_progress"]
            if rows.get(name) is not None:
                progress["metrics"] = {"num_output_rows": rows[name]}
            if name in quality:
                progress["data_quality"] = quality[name]
        self.log.add("update_progress", f"Update {self.log.update_id[:6]} is {state.upper()}.",
                     {"update_progress": {"state": state.upper()}}, level="ERROR" if state == "failed" else "INFO",
                     error=error if state == "failed" else None)
