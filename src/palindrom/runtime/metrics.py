"""Rows written per streaming flow, read from the Spark event log the server writes.

Each streaming flow carries an ``observe`` named ``palindrom_rows:<flow>``; its value reaches the
event log in ``QueryProgressEvent.progress.observedMetrics``. :class:`EventLogTail` remembers how far
each log file was read so one update reads only its own events.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from palindrom.runtime.graph import QUALITY_METRIC_PREFIX, ROWS_METRIC_PREFIX

_QUERY_EVENT = "org.apache.spark.sql.streaming.StreamingQueryListener$Query"


class EventLogTail:
    def __init__(self, directory: Path | None, schemas: frozenset[str] | None = None,
                 start: dict[str, int] | None = None, *, from_start: bool = False) -> None:
        """Reads events written from now on (from the beginning with ``from_start``), or with
        ``start`` (file -> offset, see :meth:`positions`) those written to those files from those
        offsets on; with ``schemas``, only the queries of tables in those schemas."""
        self._dir = directory
        # Only the update's own queries (named ``spark_catalog.<schema>.<flow>``, the schema the
        # pipeline's): other updates may run on the same server at the same time (tests attached to
        # one server), with the same flow names in other schemas.
        self._schemas = schemas
        self._offsets: dict[Path, int] = {}
        self.rows: dict[str, int] = defaultdict(int)
        self.rescued: dict[str, int] = defaultdict(int)  # rows written with a rescued-data value
        self.quality: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.progress: list[dict[str, Any]] = []
        self._query_names: dict[str, str] = {}
        self._terminated: set[str] = set()
        self.failed: set[str] = set()  # queries that terminated with an exception
        self._only: set[Path] | None = None  # folders of the applications whose events are read
        if not from_start:  # an update reads only what is logged after it starts
            self._offsets = {p: p.stat().st_size for p in self._files()}
        if start is not None:
            self._offsets = {Path(p): offset for p, offset in start.items()}
            # with the files a rolling log (a folder per application) rolled over to since
            self._only = {p.parent for p in self._offsets if p.parent != directory}

    def positions(self) -> dict[str, int]:
        """How far each file has been read: ``start`` for a later reader of the same events."""
        return {str(p): offset for p, offset in self._offsets.items()}

    def _files(self) -> list[Path]:
        if self._dir is None or not self._dir.is_dir():
            return []
        files = sorted(p for p in self._dir.rglob("*") if p.is_file() and not p.name.startswith("."))
        if self._only is None:
            return files
        return [p for p in files if p in self._offsets or p.parent in self._only]

    def poll(self) -> None:
        for path in self._files():
            start = self._offsets.get(path, 0)
            with path.open("rb") as handle:
                handle.seek(start)
                data = handle.read()
            complete = data[: data.rfind(b"\n") + 1]
            self._offsets[path] = start + len(complete)
            for line in complete.splitlines():
                if _QUERY_EVENT.encode() in line:
                    self._consume(json.loads(line))

    def _consume(self, event: dict[str, Any]) -> None:
        kind = event["Event"].rsplit("$", 1)[-1]
        if kind == "QueryStartedEvent":
            self._query_names[event["id"]] = event.get("name") or ""
        elif kind == "QueryTerminatedEvent":
            name = self._query_names.get(event["id"], event["id"])
            self._terminated.add(name)
            if event.get("exception"):
                self.failed.add(name)
        elif kind == "QueryProgressEvent":
            progress = event["progress"]
            parts = str(progress.get("name") or "").replace("`", "").split(".")
            if self._schemas is not None and len(parts) > 1 and parts[-2] not in self._schemas:
                return
            self.progress.append(progress)
            for name, metric in (progress.get("observedMetrics") or {}).items():
                if name.startswith(ROWS_METRIC_PREFIX):
                    flow = name.removeprefix(ROWS_METRIC_PREFIX)
                    self.rows[flow] += int(_value(metric, "rows"))
                    self.rescued[flow] += int(_fields(metric).get("rescued") or 0)
                elif name.startswith(QUALITY_METRIC_PREFIX):
                    counts = self.quality[name.removeprefix(QUALITY_METRIC_PREFIX)]
                    for field, value in _fields(metric).items():
                        counts[field] += int(value or 0)

    def wait_terminated(self, qualified_name: str, timeout: float = 5.0) -> None:
        """Wait until the event log holds the end of the named query (its last progress is then in)."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if qualified_name in self._terminated or time.monotonic() > deadline or self._dir is None:
                return
            time.sleep(0.05)


def _fields(metric: Any) -> dict[str, Any]:
    """Observed metrics are serialised as a Row: ``{"values": [...], "schema": {...}}``."""
    if isinstance(metric, dict) and "values" in metric:
        names = [f["name"] for f in metric["schema"]["fields"]]
        return dict(zip(names, metric["values"], strict=True))
    return dict(metric) if isinstance(metric, dict) else {}


def _value(metric: Any, field: str) -> Any:
    return _fields(metric).get(field, 0) if isinstance(metric, dict) else metric
