"""Stream monitor of continuous runs: one structured log line per flow and trigger, and alert lines.

After each update of ``pipelines run --continuous``, each streaming trigger's progress (Spark's
``QueryProgressEvent``, from its event log) gives one line, with the update's id as ``requestId``::

    {"message": "stream monitor", "flow": ..., "batch_id": ..., "num_input_rows": ...,
     "input_rows_per_second": ..., "processed_rows_per_second": ..., "trigger_execution_ms": ...,
     "backlog": ...}

Rates are summed over the trigger's sources; the input rate is 0 for the first trigger of a query
(Spark has no previous trigger to measure from), which is every update's first.

``backlog`` is how far the sources' latest available offsets are ahead of where the trigger
ended (files for ``cloudFiles``, messages for Kafka), when the source reports its latest offset.
Alerts (level WARN, field ``alert``) use thresholds from the pipeline configuration:

* ``palindrom.monitor.trigger_execution_ms_max``: a trigger took longer than this;
* ``palindrom.monitor.backlog_growth_triggers``: the backlog grew this many triggers in a row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from palindrom.logs import JsonLogger

PREFIX = "palindrom.monitor."


@dataclass(frozen=True)
class Thresholds:
    trigger_execution_ms_max: int = 45_000
    backlog_growth_triggers: int = 6

    @staticmethod
    def from_configuration(configuration: Mapping[str, str]) -> Thresholds:
        defaults = Thresholds()
        try:
            return Thresholds(
                int(configuration.get(PREFIX + "trigger_execution_ms_max", defaults.trigger_execution_ms_max)),
                int(configuration.get(PREFIX + "backlog_growth_triggers", defaults.backlog_growth_triggers)))
        except ValueError as exc:
            raise ValueError(f"{PREFIX}* thresholds must be whole numbers: {exc}") from exc


def _offset(value: Any) -> dict[str, float]:
    """An offset as Spark reports it (JSON text, or absent) by numeric leaf."""
    if not isinstance(value, str):
        return _numbers(value)
    try:
        return _numbers(json.loads(value))
    except ValueError:
        return {}


def _numbers(value: Any) -> dict[str, float]:
    """Numeric leaves by path: {"t": {"0": 5}} -> {"t.0": 5}."""
    if isinstance(value, bool):
        return {}
    if isinstance(value, int | float):
        return {"": float(value)}
    if isinstance(value, dict):
        return {f"{k}.{p}".rstrip("."): n for k, v in value.items() for p, n in _numbers(v).items()}
    return {}


def backlog(progress: Mapping[str, Any]) -> float | None:
    """Sum over sources of (latest offset - end offset), for the offsets both report as numbers."""
    total, known = 0.0, False
    for source in progress.get("sources") or []:
        latest, end = _offset(source.get("latestOffset")), _offset(source.get("endOffset"))
        for path in latest.keys() & end.keys():
            total += max(latest[path] - end[path], 0.0)
            known = True
    return total if known else None


class StreamMonitor:
    def __init__(self, thresholds: Thresholds, log: JsonLogger) -> None:
        self.thresholds = thresholds
        self.log = log
        self._last_backlog: dict[str, float] = {}
        self._growth: dict[str, int] = {}

    def observe(self, flow: str, progress: Mapping[str, Any]) -> None:
        trigger_ms = (progress.get("durationMs") or {}).get("triggerExecution")
        pending = backlog(progress)
        self.log.info("stream monitor", flow=flow, batch_id=progress.get("batchId"),
                      num_input_rows=_sum(progress, "numInputRows"),
                      input_rows_per_second=_rate(_sum(progress, "inputRowsPerSecond")),
                      processed_rows_per_second=_rate(_sum(progress, "processedRowsPerSecond")),
                      trigger_execution_ms=trigger_ms, backlog=pending)
        limit = self.thresholds.trigger_execution_ms_max
        if trigger_ms is not None and trigger_ms > limit:
            self.log.warning(f"alert: trigger of {flow} took {trigger_ms} ms, over {limit} ms",
                             alert="trigger_execution_ms", flow=flow, trigger_execution_ms=trigger_ms,
                             threshold=limit)
        if pending is None:
            return
        previous = self._last_backlog.get(flow)
        self._last_backlog[flow] = pending
        growth = self._growth[flow] = self._growth.get(flow, 0) + 1 if previous is not None and pending > previous \
            else 0
        if growth == self.thresholds.backlog_growth_triggers:
            self.log.warning(f"alert: backlog of {flow} grew {growth} triggers in a row, now {pending:g}",
                             alert="backlog_growing", flow=flow, backlog=pending, triggers=growth)


def _sum(progress: Mapping[str, Any], key: str) -> Any:
    """Over the trigger's sources (the event log's progress JSON carries rates per source only)."""
    found = [s[key] for s in progress.get("sources") or [] if isinstance(s.get(key), int | float)]
    return sum(found) if found else None


def _rate(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)
