"""Where a quality report's events come from: a local pipeline's event log, or a deployed pipeline.

Locally the events are read from the event log's JSON-lines copy (``runtime/history.py``: one file
per update, written as the update runs, ended for a killed one by the next run), so a report needs
no Spark and works while a run holds the storage.

The deployed path goes through databricks-sdk (its authentication, retries and error types). The
SDK's typed ``list_pipeline_events`` drops the ``details`` field the quality counts live in, so the
events endpoint is called through the SDK's own API client and pages are followed the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from palindrom.quality.history import Event
from palindrom.runtime import history as update_history

QUALITY_EVENT_TYPES = ("create_update", "flow_definition", "flow_progress", "update_progress")
PAGE_SIZE = 100  # the events API rejects more


def local_events(state_dir: Path) -> list[Event]:
    """The quality events of every update of the pipeline whose state folder is ``state_dir``."""
    found = []
    for path in sorted((state_dir / update_history.EVENTS_DIR).glob("*.jsonl")):
        for raw in update_history.read_events(path):
            if raw.get("event_type") in QUALITY_EVENT_TYPES:
                event = Event.from_api(raw)
                found.append(dataclasses.replace(event, timestamp=_utc(event.timestamp)))
    return found


def _utc(timestamp: str) -> str:
    """One format for every instant (microseconds, UTC, ``Z``), so events sort by their text."""
    when = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def databricks_events(client: Any, pipeline_id: str, last: int) -> tuple[str, list[Event]]:
    """(pipeline name, events of its ``last`` updates), newest pages first, read until enough."""
    name = client.pipelines.get(pipeline_id).name or pipeline_id
    query: dict[str, Any] = {"max_results": PAGE_SIZE, "order_by": ["timestamp desc"]}
    events: list[Event] = []
    started: set[str] = set()
    while True:
        page = client.api_client.do("GET", f"/api/2.0/pipelines/{pipeline_id}/events", query=query)
        for raw in page.get("events", []):
            event = Event.from_api(raw)
            if event.event_type not in QUALITY_EVENT_TYPES:
                continue
            if event.update_id not in started and len(started) >= last:
                return name, events   # older than the updates asked for
            events.append(event)
            if event.event_type == "create_update":
                started.add(event.update_id)
        token = page.get("next_page_token")
        if not token:
            return name, events
        query = {"page_token": token, "max_results": PAGE_SIZE}  # the token carries the order
