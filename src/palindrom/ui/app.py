"""The pipeline UI: a Starlette app over one pipeline's storage folder.

Pages: ``/`` graph of the selected update and the list of updates; ``/updates/{id}`` that update's
event log (filters: level, flow, event type); ``/datasets/{name}`` schema, row count, sample,
expectations over updates and quarantined rows; ``/live`` stream-monitor metrics and alerts per flow,
refreshed every few seconds from ``/api/live`` while a run is going.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from palindrom.quality import history
from palindrom.quality import rules as rules_module
from palindrom.runtime import server
from palindrom.runtime.graph import private_schema
from palindrom.runtime.monitor import Thresholds
from palindrom.runtime.spec import PipelineSpec
from palindrom.ui import svg
from palindrom.ui.data import (
    QUARANTINE_ROWS,
    Catalog,
    Graph,
    Live,
    LogEvent,
    NotRunYet,
    Update,
    quality_of,
    read_graph,
    updates_of,
)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["duration"] = lambda update: _duration(update)
LIVE_POLL_SECONDS = 3


@dataclass
class State:
    pipeline: PipelineSpec
    storage: Path
    catalog: Catalog
    live: Live | None = None

    def graph(self) -> Graph:
        return read_graph(self.storage, self.pipeline.name)

    def schema_of(self, graph: Graph, dataset: str) -> str:
        node = graph.nodes.get(dataset)
        return private_schema(self.pipeline.database) if node is not None and node.private else self.pipeline.database

    def live_metrics(self, graph: Graph) -> Live:
        if self.live is None:
            directory = self.storage / "spark-events"
            if server.REMOTE_ENV in os.environ:  # attached to a server that logs elsewhere (the test suite's)
                directory = server.start(self.storage).event_log_dir or directory
            database = self.pipeline.database
            self.live = Live(directory, Thresholds.from_configuration(self.pipeline.configuration),
                             set(graph.flows), {database, private_schema(database)})
        self.live.poll()
        return self.live


def _duration(update: Update) -> str:
    if update.ended is None:
        return "running"
    seconds = (dt.datetime.fromisoformat(update.ended) - dt.datetime.fromisoformat(update.started)).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{int(seconds // 60)} min {int(seconds % 60)} s"


def _adopt_rules(report: history.QualityReport, pipeline: PipelineSpec) -> None:
    """Actions and thresholds from the rules files (``palindrom.expectations_path``, else expectations/)."""
    report.adopt(rules_module.configured(rules_module.directory_for(pipeline.configuration)))


def _page(request: Request, template: str, state: State, **context: Any) -> Response:
    return TEMPLATES.TemplateResponse(request, template, {
        "pipeline": state.pipeline, "storage": state.storage, "busy": state.catalog.busy(),
        "poll_seconds": LIVE_POLL_SECONDS, **context})


def _problem(request: Request, state: State, exc: Exception, title: str) -> Response:
    status = 404
    return TEMPLATES.TemplateResponse(request, "problem.html", {
        "pipeline": state.pipeline, "storage": state.storage, "busy": state.catalog.busy(), "title": title,
        "message": str(exc), "graph": _graph_or_none(state)}, status_code=status)


def _graph_or_none(state: State) -> Any:
    try:
        return svg.graph_svg(state.graph(), {})
    except NotRunYet:
        return None


def _statuses(graph: Graph, update: Update | None, quality: history.QualityReport) -> dict[str, svg.NodeStatus]:
    selected = next((u for u in quality.updates if update and u.update_id == update.id), None)
    statuses: dict[str, svg.NodeStatus] = {}
    for name, node in graph.nodes.items():
        flows = graph.flows_into(name)
        states = [update.flow_states[f] for f in flows if update and f in update.flow_states]
        state = "FAILED" if "FAILED" in states else states[-1] if states else ""
        written = dropped = None
        if selected is not None and any(f in selected.rows for f in flows):
            written = sum(selected.rows.get(f, 0) for f in flows)
            dropped = sum(selected.dropped.get(f, 0) for f in flows)
        rates = [c.pass_rate for (d, _), c in (selected.expectations.items() if selected else []) if d == name]
        known = [r for r in rates if r is not None]
        href = f"/datasets/{name}" if node.kind != "source" else ""
        statuses[name] = svg.NodeStatus(state, written, dropped, min(known) if known else None, href)
    return statuses


def overview(request: Request) -> Response:
    state: State = request.app.state.ui
    try:
        graph = state.graph()
        events = state.catalog.events()
    except NotRunYet as exc:
        return _problem(request, state, exc, "Pipeline")
    updates = updates_of(events)
    chosen = request.query_params.get("update")
    selected = next((u for u in updates if u.id == chosen), updates[0] if updates else None)
    quality = quality_of(state.pipeline.name, events)
    return _page(request, "overview.html", state, graph_svg=svg.graph_svg(graph, _statuses(graph, selected, quality)),
                 graph=graph, updates=updates, selected=selected)


def update_log(request: Request) -> Response:
    state: State = request.app.state.ui
    try:
        events = state.catalog.events()
    except NotRunYet as exc:
        return _problem(request, state, exc, "Update")
    update_id = request.path_params["update_id"]
    update = next((u for u in updates_of(events) if u.id == update_id), None)
    if update is None:
        return _problem(request, state, NotRunYet(f"No update {update_id} in the event log of "
                                                  f"'{state.pipeline.name}'."), "Update")
    own = sorted((e for e in events if e.update_id == update_id), key=lambda e: e.timestamp)
    filters = {key: request.query_params.get(key, "") for key in ("level", "flow", "event_type")}
    shown = [e for e in own if _matches(e, filters)]
    return _page(request, "update.html", state, update=update, events=shown, total=len(own), filters=filters,
                 levels=sorted({e.level for e in own}), flows=sorted({e.flow for e in own if e.flow}),
                 event_types=sorted({e.event_type for e in own}))


def _matches(event: LogEvent, filters: dict[str, str]) -> bool:
    return ((not filters["level"] or event.level == filters["level"])
            and (not filters["flow"] or event.flow == filters["flow"])
            and (not filters["event_type"] or event.event_type == filters["event_type"]))


def dataset(request: Request) -> Response:
    state: State = request.app.state.ui
    name = request.path_params["name"]
    try:
        graph = state.graph()
        if name not in graph.nodes:
            raise NotRunYet(f"'{name}' is not a dataset of '{state.pipeline.name}'.")
        events = state.catalog.events()
        table = state.catalog.table(name, state.schema_of(graph, name))
        quarantine_name = name + history.QUARANTINE_SUFFIX
        quarantine = (state.catalog.rows(quarantine_name, state.schema_of(graph, quarantine_name), QUARANTINE_ROWS)
                      if quarantine_name in graph.nodes else None)
    except NotRunYet as exc:
        return _problem(request, state, exc, name)
    quality = quality_of(state.pipeline.name, events)
    _adopt_rules(quality, state.pipeline)
    update_ids = [u.update_id for u in quality.updates]
    rules = []
    for key in (k for k in quality.rules if k[0] == name):
        latest = quality.latest(key)
        action = quality.actions.get(key, "")
        passed = [u.expectations.get(key, history.Counts()).passed for u in quality.updates]
        failed = [u.expectations.get(key, history.Counts()).failed for u in quality.updates]
        series = svg.Series(key[1], passed, failed, quality.threshold(key))
        rules.append({"name": key[1], "action": action, "passed": latest.passed, "failed": latest.failed,
                      "threshold": quality.threshold(key), "below": quality.below_threshold(key),
                      "dropped": latest.failed if action in ("drop", "quarantine") else 0,
                      "rate": latest.pass_rate, "chart": svg.rate_chart(series, update_ids),
                      "history": list(zip(update_ids, passed, failed, strict=True))})
    flows = graph.flows_into(name)
    dropped = [(u.update_id, sum(u.dropped.get(f, 0) for f in flows), sum(u.rows.get(f, 0) for f in flows))
               for u in quality.updates if any(f in u.rows for f in flows)]
    return _page(request, "dataset.html", state, name=name, node=graph.nodes[name], table=table, rules=rules,
                 dropped=dropped, quarantine=quarantine, quarantine_name=quarantine_name,
                 upstream=sorted(u for u, d in graph.edges if d == name),
                 downstream=sorted(d for u, d in graph.edges if u == name))


def live_page(request: Request) -> Response:
    state: State = request.app.state.ui
    try:
        graph = state.graph()
    except NotRunYet as exc:
        return _problem(request, state, exc, "Live")
    return _page(request, "live.html", state, graph_svg=svg.graph_svg(graph, {}))


def live_api(request: Request) -> Response:
    state: State = request.app.state.ui
    try:
        graph = state.graph()
    except NotRunYet as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    return JSONResponse({"busy": state.catalog.busy(), **state.live_metrics(graph).to_json()})


def create_app(pipeline: PipelineSpec, storage: Path) -> Starlette:
    app = Starlette(routes=[
        Route("/", overview), Route("/updates/{update_id}", update_log), Route("/datasets/{name}", dataset),
        Route("/live", live_page), Route("/api/live", live_api)])
    app.state.ui = State(pipeline, storage, Catalog(pipeline, storage))
    return app
