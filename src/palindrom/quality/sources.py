"""Where a quality report's events come from: the local event log table, or a deployed pipeline.

The deployed path goes through databricks-sdk (its authentication, retries and error types). The
SDK's typed ``list_pipeline_events`` drops the ``details`` field the quality counts live in, so the
events endpoint is called through the SDK's own API client and pages are followed the same way.
"""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from palindrom.quality.history import Event
from palindrom.runtime.event_log import TABLE

QUALITY_EVENT_TYPES = ("create_update", "flow_definition", "flow_progress", "update_progress")
PAGE_SIZE = 100  # the events API rejects more


def local_events(spark: SparkSession, database: str) -> list[Event]:
    # The local server's session time zone is UTC, so the formatted instant is UTC like the API's.
    frame = (spark.table(f"`{database}`.`{TABLE}`").where(F.col("event_type").isin(*QUALITY_EVENT_TYPES))
             .select("event_type", F.date_format("timestamp", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").alias("timestamp"),
                     "origin.update_id", "origin.flow_name", "origin.dataset_name", "details"))
    return [Event(r.event_type, r.timestamp, r.update_id, r.flow_name, r.dataset_name,
                  json.loads(r.details or "{}")) for r in frame.collect()]


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
