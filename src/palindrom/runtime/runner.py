"""Run one update of a pipeline on the local Spark Connect server."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pyspark.sql.connect.proto as pb2
from pyspark.errors import PySparkException
from pyspark.pipelines.spark_connect_pipeline import create_dataflow_graph
from pyspark.sql import SparkSession

from palindrom.autoloader.file_decoders import LOCAL_SOURCE
from palindrom.autoloader.source import CloudFilesDataSource
from palindrom.runtime import (
    batch_sinks,
    event_log,
    expectations,
    faults,
    history,
    interrupted,
    loader,
    recovery,
    selection,
)
from palindrom.runtime.graph import GraphInfo, LocalGraphRegistry, Substitute, is_internal, private_schema
from palindrom.runtime.metrics import EventLogTail
from palindrom.runtime.snapshots import SNAPSHOTS_DIR, MaterializedViewSnapshots
from palindrom.runtime.spec import PipelineSpec

_FLOW_EVENT = re.compile(r"^Flow '?(?P<flow>[^'\s]+)'? (?:is|has) (?P<state>[A-Z_]+)\b[.:]?\s*(?P<rest>.*)$", re.S)
_RUN_EVENT = re.compile(r"^Run (?:is|has) (?P<state>[A-Z_]+)", re.S)
STATES = {"QUEUED": "queued", "PLANNING": "planning", "STARTING": "starting", "RUNNING": "running",
          "COMPLETED": "completed", "FAILED": "failed", "SKIPPED": "skipped", "STOPPED": "stopped",
          "EXCLUDED": "excluded", "IDLE": "idle"}


@dataclass
class FlowResult:
    name: str
    kind: str
    state: str = "queued"
    rows: int | None = None
    started: float | None = None
    finished: float | None = None
    error: str | None = None

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started


@dataclass
class RunOptions:
    full_refresh: list[str] = field(default_factory=list)
    full_refresh_all: bool = False
    refresh: list[str] = field(default_factory=list)
    dry_run: bool = False
    with_upstream: bool = False  # the selections include what their datasets read (palindrom.testing)


@dataclass
class UpdateResult:
    update_id: str
    pipeline: str
    database: str
    flows: dict[str, FlowResult]
    graph: GraphInfo
    state: str = "completed"
    error: str | None = None
    notices: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # server messages that are not flow state changes
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)  # flow -> data_quality
    rescued: dict[str, int] = field(default_factory=dict)  # streaming flow -> rows written with rescued data
    recorder: event_log.UpdateRecorder | None = None
    progress: list[dict[str, Any]] = field(default_factory=list)  # streaming triggers' progress, in order
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase of the update

    def timed(self, phase: str, since: float) -> float:
        """Record ``phase`` as lasting from ``since`` until now; returns now."""
        now = time.monotonic()
        self.timings[phase] = round(now - since, 3)
        return now

    @property
    def ok(self) -> bool:
        return self.state == "completed"


FlowListener = Callable[[FlowResult], None]


def short_name(name: str) -> str:
    """``spark_catalog.db.`flow``` -> ``flow``."""
    return name.rsplit(".", 1)[-1].strip("`")


class PipelineRunError(Exception):
    """The update failed (exit code 1); ``result`` holds per-flow states."""

    def __init__(self, message: str, result: UpdateResult) -> None:
        super().__init__(message)
        self.result = result


# Flows started at once. Each Python streaming source (cloudFiles) starts a Python worker that Spark
# gives a fixed 10 s to connect back; on two cores eight starting together missed it (measured with
# the events pipeline), four do not. A flow waiting for a slot is QUEUED, as on Databricks.
MAX_CONCURRENT_FLOWS = 4


def engine_conf(configuration: dict[str, str]) -> dict[str, str]:
    """The pipeline configuration plus the engine settings Databricks spells ``pipelines.*``.

    Flow retries default to none locally, like a development-mode update on Databricks: a data
    error fails the same way on every attempt, and retrying only delays the message. At most
    ``MAX_CONCURRENT_FLOWS`` flows run at once unless ``pipelines.maxConcurrentFlows`` says otherwise.
    """
    retries = configuration.get("pipelines.maxFlowRetryAttempts", "0")
    concurrent = configuration.get("pipelines.maxConcurrentFlows", str(MAX_CONCURRENT_FLOWS))
    return {**configuration, "spark.sql.pipelines.maxFlowRetryAttempts": retries,
            "spark.sql.pipelines.execution.maxConcurrentFlows": concurrent}


def prepare_session(spark: SparkSession, spec: PipelineSpec, storage: Path) -> None:
    spark.dataSource.register(CloudFilesDataSource)
    spark.conf.set(LOCAL_SOURCE, "true")  # landed files are decoded inside this source (autoloader/file_decoders.py)
    for key, value in spec.configuration.items():
        spark.conf.set(key, value)
    create_schema(spark, spec.database, storage)


def create_schema(spark: SparkSession, database: str, storage: Path) -> None:
    location = (storage / "warehouse" / f"{database}.db").resolve()
    spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}` LOCATION '{location.as_uri()}'")


def define(spark: SparkSession, spec: PipelineSpec, storage: Path, scratch: Path) -> GraphInfo:
    """The pipeline's graph as an update would define it (datasets, flows, each flow's columns),
    with nothing run and nothing recorded: its code loaded against a graph that is never started.
    What defining writes (Auto Loader's inferred schemas) goes to ``scratch``, not the pipeline's state."""
    storage = storage.resolve()
    prepare_session(spark, spec, storage)
    graph_id = create_dataflow_graph(spark, default_catalog=None, default_database=spec.database,
                                     sql_conf=engine_conf(spec.configuration))
    registry = LocalGraphRegistry(spark, graph_id, scratch / spec.name, spec.database,
                                  update_started=dt.datetime.now(dt.UTC), local_paths=spec.local_paths(),
                                  once_done=frozenset())
    return loader.load(spark, registry, spec.source_files(), graph_id, spec.root, spec.configuration)


def run_update(spark: SparkSession, spec: PipelineSpec, storage: Path, options: RunOptions,
               event_log_dir: Path | None, on_flow: FlowListener | None = None,
               update_id: str | None = None, substitutes: dict[str, Substitute] | None = None) -> UpdateResult:
    """One update. ``substitutes`` replace datasets or flows by name (:meth:`LocalGraphRegistry`)."""
    storage = storage.resolve()
    update_id = update_id or str(uuid.uuid4())
    clock = time.monotonic()
    prepare_session(spark, spec, storage)
    graph_id = create_dataflow_graph(spark, default_catalog=None, default_database=spec.database,
                                     sql_conf=engine_conf(spec.configuration))
    session_ready = time.monotonic()
    state_dir = storage / "pipelines" / spec.name
    started = dt.datetime.now(dt.UTC)
    once_done = frozenset() if options.dry_run else selection.once_done(
        state_dir, options.full_refresh, options.full_refresh_all)
    registry = LocalGraphRegistry(spark, graph_id, state_dir, spec.database, update_started=started,
                                  local_paths=spec.local_paths(), once_done=once_done, substitutes=substitutes)
    history.record(state_dir, spec.name, spec.database, spec.root)
    log = event_log.EventLog(event_log.pipeline_id(spec.name, str(storage)), spec.name, update_id,
                             mirror=history.events_file(state_dir, update_id))
    try:
        info = loader.load(spark, registry, spec.source_files(), graph_id, spec.root, spec.configuration)
    except loader.PipelineCodeError as exc:  # the update is in the event log, failed, as on Databricks
        event_log.UpdateRecorder(log, GraphInfo(), options, started=started).finish(
            "failed", {}, {}, error=f"{exc.location}: {type(exc.cause).__name__}: {exc.cause}")
        log.write(spark, spec.database)
        raise
    write_graph(state_dir, info)
    if info.private:
        create_schema(spark, private_schema(spec.database), storage)
    refresh, full_refresh = options.refresh, options.full_refresh
    if options.with_upstream:
        refresh = selection.with_upstream(info, refresh) if refresh else []
        full_refresh = selection.with_upstream(info, full_refresh) if full_refresh else []
    chosen = selection.select(info, refresh, full_refresh, options.full_refresh_all)
    chosen = selection.Selection([info.graph_name(n, spec.database) for n in chosen.refresh],
                                 [info.graph_name(n, spec.database) for n in chosen.full_refresh],
                                 chosen.full_refresh_all)
    result = UpdateResult(update_id, spec.name, spec.database, {}, info, notices=list(info.notices))
    result.timed("session", clock)
    clock = result.timed("define", session_ready)
    for flow in info.flows.values():
        if is_internal(flow.name):
            continue
        kind = info.outputs.get(flow.target, "table")
        # Views are not persisted and emit no flow events; they run inside the flows that read them.
        # A held feed (a once flow that has run) is not in the server's graph: it is skipped.
        state = "defined" if kind == "view" else "skipped" if flow.held else "queued"
        result.flows[flow.name] = FlowResult(flow.name, kind, state=state)
    result.recorder = event_log.UpdateRecorder(log, info, options, started=started)
    qualified = [n for n in [*info.outputs, *info.flows] if "." in n]  # datasets named into other schemas
    schemas = {spec.database, private_schema(spec.database)} | {n.rsplit(".", 1)[0].split(".")[-1].strip("`")
                                                                for n in qualified}
    tail = EventLogTail(event_log_dir, frozenset(schemas))
    views = [name for name, kind in info.outputs.items() if kind == "materialized_view" and not is_internal(name)]
    snapshots = MaterializedViewSnapshots(storage / "warehouse", lambda name: info.schema_of(name, spec.database),
                                          state_dir / SNAPSHOTS_DIR)
    if not options.dry_run:
        result.notices.extend(_recover(spark, spec, state_dir, info, update_id, snapshots, views))
        log.open_journal(state_dir / interrupted.JOURNALS / f"{update_id}.jsonl", journal := {
            "update_id": update_id, "pipeline_id": log.pipeline_id, "pipeline_name": spec.name,
            "spark_event_log_dir": str(event_log_dir) if event_log_dir else None,
            "spark_event_log_positions": tail.positions()})
        snapshots.save(views)
    try:
        _run(spark, graph_id, options, chosen, state_dir / "checkpoints", result, tail, on_flow)
        clock = result.timed("flows", clock)
        if not options.dry_run and info.batch_sinks:
            _run_batch_sinks(spark, info, options, state_dir / "checkpoints", result, on_flow)
            clock = result.timed("foreach_batch_sinks", clock)
    finally:
        done = {name for name, flow in result.flows.items() if flow.state == "completed"}
        if not options.dry_run:
            selection.record_once(info, state_dir, done)
        completed = {info.flows[name].target for name in done if name in info.flows}
        for table in snapshots.restore([v for v in views if v not in completed]):
            spark.sql(f"REFRESH TABLE `{info.schema_of(table, spec.database)}`.`{table}`")
            result.notices.append(f"'{table}' was not refreshed in this update and keeps its previous contents.")
        snapshots.discard()
        if not options.dry_run:
            result.quality = _quality(spark, result, tail)
            result.rescued = {name: tail.rescued.get(name, 0) for name, flow in info.flows.items()
                              if flow.streaming and flow.rescue_column is not None}
            result.progress = [p for p in tail.progress if not is_internal(str(p.get("name") or ""))]
        result.recorder.finish(result.state, _rows(result, tail), result.quality, error=result.error)
        if not options.dry_run:
            log.seal_journal(journal)
        log.write(spark, spec.database)
        log.close_journal()
        result.timed("finish", clock)
    return result


def _recover(spark: SparkSession, spec: PipelineSpec, state_dir: Path, info: GraphInfo, update_id: str,
             snapshots: MaterializedViewSnapshots, views: list[str]) -> list[str]:
    """Make whole what an update killed before it finished left behind (``runtime/recovery.py``,
    ``runtime/interrupted.py``); returns notices for the terminal."""
    notices = [*recovery.repair_checkpoints(state_dir / "checkpoints").notices,
               *recovery.repair_manifests(state_dir).notices]
    journals = interrupted.journals(state_dir)
    targets = {name: flow.target for name, flow in info.flows.items()}
    for table in _restore_views(spark, snapshots, views, journals, targets,
                                lambda name: info.schema_of(name, spec.database)):
        notices.append(f"'{table}' got back its last good contents (an earlier update was killed while "
                       "refreshing it).")
    count = interrupted.table_rows(spark, info, spec.database)
    notices.extend(interrupted.record(spark, journal, spec.database, info, update_id, count) for journal in journals)
    return notices


def restore_kept_views(spark: SparkSession, storage: Path, pipeline: str, database: str) -> list[str]:
    """Before a read through Spark, with the storage held: the materialized views an update was
    killed while refreshing get their last good contents back, as the next update would do first
    (it then finds nothing left to restore). Returns the views put back."""
    state_dir = storage / "pipelines" / pipeline
    scratch, graph_file = state_dir / SNAPSHOTS_DIR, state_dir / "graph.json"
    if not scratch.is_dir() or not graph_file.is_file():
        return []
    graph = json.loads(graph_file.read_text())
    private, flows = set(graph.get("private") or []), graph.get("flows") or {}
    views = [n for n, kind in graph["outputs"].items() if kind == "materialized_view" and not is_internal(n)]

    def schema_of(name: str) -> str:
        return private_schema(database) if name in private else database

    snapshots = MaterializedViewSnapshots(storage / "warehouse", schema_of, scratch)
    return _restore_views(spark, snapshots, views, interrupted.journals(state_dir),
                          {name: flow["target"] for name, flow in flows.items()}, schema_of)


def _restore_views(spark: SparkSession, snapshots: MaterializedViewSnapshots, views: list[str],
                   journals: list[Path], targets: dict[str, str], schema_of: Callable[[str], str]) -> list[str]:
    """Put back the kept copy of each view the killed updates' journals do not record as refreshed
    (``targets``: flow -> the table it writes), and make Spark read the restored files."""
    done = {targets[name] for journal in journals
            for name in interrupted.completed_flows(event_log.read_journal(journal)[1]) if name in targets}
    restored = snapshots.recover(views, keep=done)
    for table in restored:
        spark.sql(f"REFRESH TABLE `{schema_of(table)}`.`{table}`")
    return restored


def _run_batch_sinks(spark: SparkSession, info: GraphInfo, options: RunOptions, checkpoints: Path,
                     result: UpdateResult, on_flow: FlowListener | None) -> None:
    """Flows into foreach_batch sinks, once the graph's flows (their inputs) are done."""
    for sink_flow in info.batch_sinks:
        flow = result.flows[sink_flow.name]
        _set_state(result, flow, "running", on_flow)
        try:
            flow.rows = batch_sinks.run(spark, sink_flow, checkpoints,
                                        options.full_refresh_all or sink_flow.sink in options.full_refresh)
        except PySparkException as exc:
            flow.error = _failure_text(_first_line(exc))
            _set_state(result, flow, "failed", on_flow)
            result.state, result.error = "failed", _flow_errors(result)
            raise PipelineRunError(result.error, result) from exc
        _set_state(result, flow, "completed", on_flow)


def write_graph(state_dir: Path, info: GraphInfo) -> None:
    """The last graph the pipeline defined, for the commands that show it (tables, graph, ui)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    partial = state_dir / "graph.json.partial"
    partial.write_text(json.dumps(info.to_json(), indent=1, sort_keys=True))
    partial.replace(state_dir / "graph.json")


def _run(spark: SparkSession, graph_id: str, options: RunOptions, chosen: selection.Selection, checkpoints: Path,
         result: UpdateResult, tail: EventLogTail, on_flow: FlowListener | None) -> None:
    events = _start_run(spark, graph_id, options, chosen, checkpoints.as_uri())
    try:
        for response in events:
            if "pipeline_event_result" in response:
                _on_event(spark, response["pipeline_event_result"].event.message, result, tail, on_flow)
    except PySparkException as exc:
        details = [m for m in result.messages if "fail" in m.lower() or "error" in m.lower()]
        result.state = "failed"
        result.error = _flow_errors(result) or "\n".join([*details, _failure_text(_first_line(exc))])
        raise PipelineRunError(result.error, result) from exc
    errors = _flow_errors(result)
    if errors:
        result.state, result.error = "failed", errors
        raise PipelineRunError(errors, result)


_WORKER_START = re.compile(r"Python worker failed to connect back|Timed out while waiting for the Python worker")


def failed_to_start_workers(result: UpdateResult) -> bool:
    """True when every failed flow failed because a Python worker did not connect back in time.

    Spark gives a new Python worker (one per Python streaming source) a fixed 10 s to connect back.
    On two loaded cores several flows starting at once can miss that, before reading any data, so
    such an update is safe to run again; any other failure is the data's or the code's.
    """
    failed = [f for f in result.flows.values() if f.state == "failed"]
    return bool(failed) and all(f.error is not None and _WORKER_START.search(f.error) for f in failed)


def _flow_errors(result: UpdateResult) -> str:
    """``flow: cause`` of every failed flow, joined; empty when none failed."""
    return "; ".join(f"{f.name}: {f.error}" for f in result.flows.values() if f.state == "failed")


def _wrote(flow: FlowResult, streaming: bool) -> bool:
    """A flow whose output the event log counts: completed, or a streaming flow that failed after
    committing micro-batches (their rows are in the table)."""
    return flow.state == "completed" or (streaming and flow.state == "failed")


def _rows(result: UpdateResult, tail: EventLogTail) -> dict[str, int | None]:
    """Rows written per flow; a failed streaming flow's are those of the micro-batches it committed
    (none committed: unknown, so quality reports fall back to the last update that wrote it)."""
    rows = {name: flow.rows for name, flow in result.flows.items()}
    for name, flow in result.flows.items():
        info = result.graph.flows.get(name)
        if flow.state == "failed" and info is not None and info.streaming:
            rows[name] = tail.rows[name] if name in tail.rows else None
    return rows


def _quality(spark: SparkSession, result: UpdateResult, tail: EventLogTail) -> dict[str, dict[str, Any]]:
    """``data_quality`` per completed flow with expectations: streaming flows from their observed
    metrics, batch flows from their hidden counter table."""
    quality: dict[str, dict[str, Any]] = {}
    tail.poll()  # streaming queries have terminated: each COMPLETED handler waited for its own
    for name, info in result.graph.flows.items():
        flow = result.flows.get(name)
        if not info.expectations or flow is None or not _wrote(flow, info.streaming):
            continue
        if flow.state == "failed" and name not in tail.quality:  # no micro-batch committed
            continue
        if info.quality_table is not None:
            table = f"`{result.database}`.`{info.quality_table}`"
            values = spark.read.table(table).collect()[0].asDict()
        else:
            values = dict(tail.quality.get(name, {}))
        quality[name] = expectations.quality_from_metrics(info.expectations, info.target, values)
    return quality


def _start_run(spark: SparkSession, graph_id: str, options: RunOptions, chosen: selection.Selection,
               storage: str) -> Iterator[dict[str, Any]]:
    """``pyspark.pipelines``'s start_run, minus its failure on observed-metric responses.

    Python data sources report accumulators as observed metrics of the run command; the stock
    iterator raises UNKNOWN_RESPONSE on them (measured with six cloudFiles flows in one update).
    They carry nothing the run needs, so they are skipped.
    """
    command = pb2.Command()
    command.pipeline_command.start_run.CopyFrom(pb2.PipelineCommand.StartRun(
        dataflow_graph_id=graph_id, full_refresh_selection=chosen.full_refresh,
        full_refresh_all=chosen.full_refresh_all, refresh_selection=chosen.refresh,
        dry=options.dry_run, storage=storage))
    client: Any = cast(Any, spark).client
    request = client._execute_plan_request_with_metadata()
    client._set_command_in_plan(request.plan, command)
    for response in client._execute_and_fetch_as_iterator(request, {}):
        if isinstance(response, dict):
            yield response


def _first_line(exc: BaseException) -> str:
    text = str(exc).split("\n\nJVM stacktrace:", 1)[0]
    return text.strip()


def _on_event(spark: SparkSession, message: str, result: UpdateResult, tail: EventLogTail,
              on_flow: FlowListener | None) -> None:
    match = _FLOW_EVENT.match(message)
    if match is None and not _RUN_EVENT.match(message):
        result.messages.append(message.split("\n\nJVM stacktrace:", 1)[0].strip())
    if match is None:
        run = _RUN_EVENT.match(message)
        if run and run["state"] == "FAILED":
            result.state = "failed"
        return
    qualified, state = match["flow"], STATES.get(match["state"], match["state"].lower())
    if is_internal(qualified):
        return
    flow = result.flows.setdefault(short_name(qualified), FlowResult(short_name(qualified), "table"))
    if state == "queued" and flow.state == "queued" and flow.started is not None:
        return
    if state == "completed":
        # The server reports a streaming flow whose query died as COMPLETED, then as FAILED.
        flow.rows = _rows_written(spark, qualified, flow, result, tail)
        if qualified in tail.failed:
            return
    if state == "failed":
        flow.error = _failure_text(match["rest"])
    _set_state(result, flow, state, on_flow)
    if state == "completed":
        faults.reach("between_flows")


def _set_state(result: UpdateResult, flow: FlowResult, state: str, on_flow: FlowListener | None) -> None:
    """A flow's new state: its timings, the event log's record, and the listener (the terminal)."""
    now = time.monotonic()
    flow.state = state
    if state in ("starting", "running") and flow.started is None:
        flow.started = now
    if state in ("completed", "failed", "skipped", "stopped", "excluded"):
        flow.finished = now
        if flow.started is None:
            flow.started = now
    if result.recorder is not None:
        result.recorder.flow_state(flow.name, state, flow.error)
    if on_flow is not None:
        on_flow(flow)


_PYTHON_ERROR = re.compile(r"^(?P<type>[\w.]+(?:Error|Exception)): (?P<message>.+)$", re.M)


def _failure_text(rest: str) -> str:
    """The cause of a flow failure without JVM or worker stack traces: for an exception raised in
    Python (pipeline code, the cloudFiles source) its last ``Type: message`` line."""
    text = rest.split("\n\nJVM stacktrace:", 1)[0].strip()
    python_errors = list(_PYTHON_ERROR.finditer(text))
    if python_errors and "Traceback (most recent call last)" in text:
        last = python_errors[-1]
        return f"{last['type'].rsplit('.', 1)[-1]}: {last['message'].strip()}"
    return text.split("=== Streaming Query ===", 1)[0].strip() or "flow failed"


def _rows_written(spark: SparkSession, qualified: str, flow: FlowResult, result: UpdateResult,
                  tail: EventLogTail) -> int | None:
    info = result.graph.flows.get(flow.name)
    if info is not None and info.streaming:
        tail.wait_terminated(qualified)
        return tail.rows.get(flow.name, 0)
    try:
        target = info.target if info else flow.name
        schema = result.graph.schema_of(target, result.database)
        row: Any = spark.read.table(f"`{schema}`.`{target}`").groupBy().count().collect()[0]
        return int(row["count"])
    except PySparkException:
        return None
