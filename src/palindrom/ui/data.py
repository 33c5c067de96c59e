"""What the pipeline UI shows, read from a storage folder that ``pipelines run`` wrote.

* the graph: ``pipelines/<name>/graph.json``;
* updates and their events: each update's JSON-lines copy of its event log
  (``pipelines/<name>/event_log/<update>.jsonl``, ``runtime/history.py``), written as events happen;
* tables: their Parquet files, through their commit logs (``runtime/table_files.py``);
* live stream metrics: the Spark event log files under ``spark-events``.

All are files, so every page works while a run holds the storage (its embedded Derby catalog admits
one Spark server at a time), and no Spark server is started for the UI.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from palindrom.logs import JsonLogger
from palindrom.quality import history
from palindrom.runtime import history as update_history
from palindrom.runtime import lock, table_files
from palindrom.runtime.graph import is_internal
from palindrom.runtime.metrics import EventLogTail
from palindrom.runtime.monitor import StreamMonitor, Thresholds
from palindrom.runtime.runner import short_name
from palindrom.runtime.spec import PipelineSpec

SAMPLE_ROWS = 20
QUARANTINE_ROWS = 200


class NotRunYet(RuntimeError):
    """The pipeline has no event log (or no graph) in this storage."""


@dataclass(frozen=True)
class LogEvent:
    id: str
    timestamp: str
    update_id: str
    event_type: str
    level: str
    message: str
    flow: str | None
    dataset: str | None
    error: str | None
    details: dict[str, Any]

    def to_history(self) -> history.Event:
        return history.Event(self.event_type, self.timestamp, self.update_id, self.flow, self.dataset, self.details)


@dataclass
class Update:
    id: str
    started: str
    ended: str | None = None
    state: str = "RUNNING"
    cause: str = ""
    full_refresh: bool = False
    full_refresh_selection: list[str] = field(default_factory=list)
    refresh_selection: list[str] = field(default_factory=list)
    validate_only: bool = False
    errors: list[str] = field(default_factory=list)
    flow_states: dict[str, str] = field(default_factory=dict)   # flow -> last state in this update

    @property
    def full_refresh_text(self) -> str:
        if self.full_refresh:
            return "all tables"
        return ", ".join(self.full_refresh_selection) or "no"


@dataclass(frozen=True)
class Node:
    name: str
    kind: str          # streaming_table | materialized_view | view | sink | source
    private: bool = False


@dataclass(frozen=True)
class Graph:
    nodes: dict[str, Node]
    edges: list[tuple[str, str]]                 # (upstream, downstream), by dataset
    flows: dict[str, dict[str, Any]]             # flow -> graph.json's record (target, inputs, ...)

    def flows_into(self, dataset: str) -> list[str]:
        return sorted(name for name, flow in self.flows.items() if flow["target"] == dataset)


def read_graph(storage: Path, pipeline: str) -> Graph:
    path = storage / "pipelines" / pipeline / "graph.json"
    if not path.is_file():
        raise NotRunYet(f"No graph for '{pipeline}' under {storage} ({path} is missing): run the pipeline first "
                        f"(pipelines run {pipeline} --storage {storage}).")
    data = json.loads(path.read_text(encoding="utf-8"))
    private = set(data.get("private") or [])
    nodes = {name: Node(name, kind, name in private) for name, kind in data["outputs"].items()
             if not is_internal(name)}
    edges: set[tuple[str, str]] = set()
    flows = {name: flow for name, flow in data["flows"].items() if not is_internal(name)}
    for flow in flows.values():
        for source in [*(flow.get("inputs") or []), *(flow.get("sources") or [])]:
            upstream = short_name(source) if short_name(source) in nodes else source
            if upstream not in nodes:
                nodes[upstream] = Node(upstream, "source")
            edges.add((upstream, flow["target"]))
    return Graph(nodes, sorted(edges), flows)


def updates_of(events: list[LogEvent]) -> list[Update]:
    """Updates, newest first, from their ``create_update``/``update_progress``/``flow_progress`` events."""
    found: dict[str, Update] = {}
    for event in sorted(events, key=lambda e: e.timestamp):
        update = found.setdefault(event.update_id, Update(event.update_id, event.timestamp))
        if event.event_type == "create_update":
            created = event.details.get("create_update", {})
            update.started = event.timestamp
            update.cause = str(created.get("cause", ""))
            update.full_refresh = bool(created.get("full_refresh"))
            update.full_refresh_selection = list(created.get("full_refresh_selection") or [])
            update.refresh_selection = list(created.get("refresh_selection") or [])
            update.validate_only = bool(created.get("validate_only"))
        elif event.event_type == "update_progress":
            update.state = str(event.details.get("update_progress", {}).get("state", update.state))
            if update.state in ("COMPLETED", "FAILED", "CANCELED", "STOPPED"):
                update.ended = event.timestamp
        elif event.event_type == "flow_progress" and event.flow:
            update.flow_states[event.flow] = str(event.details.get("flow_progress", {}).get("status", ""))
            if event.error:
                update.errors.append(f"{event.flow}: {event.error}")
    return sorted(found.values(), key=lambda u: u.started, reverse=True)


@dataclass(frozen=True)
class Table:
    name: str
    qualified: str
    schema: list[tuple[str, str, bool]]          # (column, type, nullable)
    row_count: int
    sample_columns: list[str]
    sample: list[list[str]]


class Catalog:
    """Reads for one pipeline in one storage, from files: they work while a run holds the storage."""

    def __init__(self, pipeline: PipelineSpec, storage: Path) -> None:
        self.pipeline = pipeline
        self.storage = storage

    def busy(self) -> dict[str, str] | None:
        """Who holds the storage (a running update), shown on every page."""
        found = lock.holder(self.storage)
        if found is None:
            return None
        return {"pid": "?" if found.pid is None else str(found.pid), "pipeline": found.pipeline,
                "started": found.started, "command": found.command}

    def events(self) -> list[LogEvent]:
        state_dir = self.storage / "pipelines" / self.pipeline.name
        files = sorted((state_dir / update_history.EVENTS_DIR).glob("*.jsonl"))
        if not files:
            raise NotRunYet(f"No event log for '{self.pipeline.name}' under {self.storage}: run the pipeline first "
                            f"(pipelines run {self.pipeline.name} --storage {self.storage}).")
        return [_event(e) for path in files for e in update_history.read_events(path)]

    def table(self, name: str, schema: str) -> Table | None:
        folder = table_files.readable(self.storage, self.pipeline.name, schema, name)
        if not table_files.exists(folder):
            return None
        spark_schema = table_files.spark_schema(folder)
        columns = [(f.name, f.dataType.simpleString(), f.nullable) for f in spark_schema.fields] if spark_schema else []
        sample = table_files.read(folder, SAMPLE_ROWS)
        return Table(name, f"{schema}.{name}", columns, table_files.row_count(folder), sample.column_names,
                     [[_cell(v) for v in row.values()] for row in sample.to_pylist()])

    def rows(self, name: str, schema: str, limit: int) -> tuple[list[str], list[list[str]]] | None:
        folder = table_files.readable(self.storage, self.pipeline.name, schema, name)
        if not table_files.exists(folder):
            return None
        found = table_files.read(folder, limit)
        return found.column_names, [[_cell(v) for v in row.values()] for row in found.to_pylist()]


def _event(event: dict[str, Any]) -> LogEvent:
    origin = event.get("origin") or {}
    exceptions = (event.get("error") or {}).get("exceptions") or []
    details = event.get("details") or {}
    when = dt.datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
    return LogEvent(str(event["id"]), when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), str(origin.get("update_id") or ""),
                    str(event.get("event_type") or ""), str(event.get("level") or ""), str(event.get("message") or ""),
                    origin.get("flow_name"), origin.get("dataset_name"),
                    exceptions[0].get("message") if exceptions else None,
                    json.loads(details) if isinstance(details, str) else details)


def _cell(value: Any) -> str:
    return "NULL" if value is None else str(value)


def quality_of(pipeline: str, events: list[LogEvent]) -> history.QualityReport:
    """Every update's quality counts (history.build, as ``pipelines quality`` computes them)."""
    return history.build(pipeline, [e.to_history() for e in events], last=0)


@dataclass
class FlowLive:
    flow: str
    batch_id: Any = None
    num_input_rows: Any = None
    input_rows_per_second: Any = None
    processed_rows_per_second: Any = None
    trigger_execution_ms: Any = None
    backlog: Any = None
    timestamp: str = ""
    triggers: int = 0
    rows_total: int = 0


class Live:
    """Stream-monitor metrics and alerts per flow, from the Spark event log files as they grow.

    Each streaming trigger's progress goes through the same :class:`StreamMonitor` that
    ``pipelines run --continuous`` prints with, so the UI shows the same lines and alerts.
    """

    def __init__(self, directory: Path, thresholds: Thresholds, flows: set[str], schemas: set[str]) -> None:
        self._tail = EventLogTail(directory, from_start=True)
        self._buffer = io.StringIO()
        self._monitor = StreamMonitor(thresholds, JsonLogger("local", self._buffer))
        self._flows = flows
        self._schemas = schemas
        self._seen = 0
        self.flows: dict[str, FlowLive] = {}
        self.alerts: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _flow_of(self, progress: dict[str, Any]) -> str | None:
        """The flow a trigger belongs to, if it is one of this pipeline's: queries are named
        ``catalog.schema.flow``, and a server may run other pipelines' queries too."""
        parts = [p.strip("`") for p in str(progress.get("name") or "").split(".")]
        if len(parts) < 2 or parts[-2] not in self._schemas or parts[-1] not in self._flows:
            return None
        return parts[-1]

    def poll(self) -> None:
        with self._lock:
            self._tail.poll()
            new = self._tail.progress[self._seen:]
            self._seen = len(self._tail.progress)
            for progress in new:
                flow = self._flow_of(progress)
                if flow is not None:
                    self._observe(flow, progress)

    def _observe(self, flow: str, progress: dict[str, Any]) -> None:
        self._monitor.observe(flow, progress)
        current = self.flows.setdefault(flow, FlowLive(flow))
        current.timestamp = str(progress.get("timestamp") or "")
        for line in self._buffer.getvalue().splitlines():
            record = json.loads(line)
            if "alert" in record:
                self.alerts.append({**record, "timestamp": current.timestamp})  # when the trigger ran
            elif record.get("message") == "stream monitor":
                for key in ("batch_id", "num_input_rows", "input_rows_per_second", "processed_rows_per_second",
                            "trigger_execution_ms", "backlog"):
                    setattr(current, key, record.get(key))
                current.triggers += 1
                current.rows_total += int(record.get("num_input_rows") or 0)
        self._buffer.seek(0)
        self._buffer.truncate()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"flows": [vars(f) for f in sorted(self.flows.values(), key=lambda f: f.flow)],
                    "alerts": list(self.alerts[-50:])}
