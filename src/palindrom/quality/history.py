"""A pipeline's data-quality history, built from its event log (local table or Databricks API).

Both sources are reduced to the same ``Event`` records, so the terminal summary, the HTML page and
their tests do not care where the log came from. Counts follow Databricks's documented dashboard
query: ``flow_progress`` events' ``data_quality.expectations`` summed per update, dataset and rule.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from palindrom.quality.rules import Rule, RuleKey

QUARANTINE_SUFFIX = "_quarantine"


@dataclass(frozen=True)
class Event:
    event_type: str
    timestamp: str
    update_id: str
    flow_name: str | None
    dataset_name: str | None
    details: dict[str, Any]

    @staticmethod
    def from_api(raw: dict[str, Any]) -> Event:
        """One event as the pipelines events API (or a row of the event log table) gives it."""
        details = raw.get("details") or {}
        if isinstance(details, str):
            details = json.loads(details)
        origin = raw.get("origin") or {}
        return Event(str(raw.get("event_type") or ""), str(raw.get("timestamp") or ""),
                     str(origin.get("update_id") or ""), origin.get("flow_name"), origin.get("dataset_name"),
                     details)


@dataclass(frozen=True)
class Counts:
    passed: int = 0
    failed: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.passed + other.passed, self.failed + other.failed)

    @property
    def pass_rate(self) -> float | None:
        total = self.passed + self.failed
        return None if total == 0 else self.passed / total


@dataclass
class UpdateQuality:
    update_id: str
    started: str
    state: str = "RUNNING"
    expectations: dict[RuleKey, Counts] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)          # flow -> num_output_rows
    dropped: dict[str, int] = field(default_factory=dict)       # flow -> dropped_records
    flow_datasets: dict[str, str] = field(default_factory=dict)  # flow -> target dataset

    @property
    def quarantined(self) -> int:
        return sum(n for flow, n in self.rows.items()
                   if self.flow_datasets.get(flow, flow).endswith(QUARANTINE_SUFFIX))

    def failures_by_dataset(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for (dataset, _), counts in self.expectations.items():
            totals[dataset] += counts.failed
        return dict(totals)


@dataclass
class QualityReport:
    pipeline: str
    updates: list[UpdateQuality]                  # oldest first
    actions: dict[RuleKey, str]
    thresholds: dict[RuleKey, float] = field(default_factory=dict)  # lowest pass rate a rule accepts

    def adopt(self, configured: Mapping[RuleKey, Rule]) -> None:
        """Take actions and thresholds from the rules files for the rules this report has seen: the
        event log runs a quarantine rule as a drop expectation and knows no thresholds."""
        for key in self.rules:
            rule = configured.get(key)
            if rule is not None:
                self.actions[key] = rule.action
                if rule.threshold is not None:
                    self.thresholds[key] = rule.threshold

    def threshold(self, key: RuleKey) -> float | None:
        """The rule's threshold: from its rules file, else 100 % for a fail rule."""
        return self.thresholds.get(key, 1.0 if self.actions.get(key) == "fail" else None)

    def below_threshold(self, key: RuleKey) -> bool:
        """Whether the rule's latest pass rate is under its threshold."""
        rate, threshold = self.latest(key).pass_rate, self.threshold(key)
        return rate is not None and threshold is not None and rate < threshold

    @property
    def rules(self) -> list[RuleKey]:
        keys = set(self.actions)
        for update in self.updates:
            keys.update(update.expectations)
        return sorted(keys)

    @property
    def flows(self) -> list[str]:
        return sorted({flow for update in self.updates for flow in update.rows})

    def latest(self, key: RuleKey) -> Counts:
        """The rule's counts in the newest update that evaluated it (a failed update may not have)."""
        for update in reversed(self.updates):
            if key in update.expectations:
                return update.expectations[key]
        return Counts()

    def latest_rows(self) -> dict[str, tuple[int, int]]:
        """flow -> (rows written, rows dropped) in the newest update where the flow completed."""
        latest: dict[str, tuple[int, int]] = {}
        for update in self.updates:
            for flow, written in update.rows.items():
                latest[flow] = (written, update.dropped.get(flow, 0))
        return latest

    def to_json(self) -> dict[str, Any]:
        """The page's data: plain lists, oldest update first."""
        return {
            "pipeline": self.pipeline,
            "updates": [{"id": u.update_id, "started": u.started, "state": u.state,
                         "quarantined": u.quarantined, "rows": u.rows, "dropped": u.dropped,
                         "failures_by_dataset": u.failures_by_dataset()} for u in self.updates],
            "rules": [{"dataset": d, "rule": r, "action": self.actions.get((d, r), ""),
                       "threshold": self.threshold((d, r)),
                       "passed": [u.expectations.get((d, r), Counts()).passed for u in self.updates],
                       "failed": [u.expectations.get((d, r), Counts()).failed for u in self.updates]}
                      for d, r in self.rules],
            "flows": self.flows,
            "latest_rows": {flow: written for flow, (written, _) in self.latest_rows().items()},
        }


def build(pipeline: str, events: list[Event], last: int = 10) -> QualityReport:
    """Group events by update (ordered by their create_update time) and keep the ``last`` updates."""
    updates: dict[str, UpdateQuality] = {}
    actions: dict[RuleKey, str] = {}
    for event in sorted(events, key=lambda e: e.timestamp):
        if not event.update_id:
            continue
        update = updates.setdefault(event.update_id, UpdateQuality(event.update_id, event.timestamp))
        if event.event_type == "create_update":
            update.started = event.timestamp
        elif event.event_type == "update_progress":
            update.state = str(event.details.get("update_progress", {}).get("state", update.state))
        elif event.event_type == "flow_definition":
            definition = event.details.get("flow_definition", {})
            dataset = definition.get("output_dataset") or event.dataset_name or ""
            for expectation in definition.get("expectations") or []:
                actions[(dataset, expectation["name"])] = str(expectation.get("action", ""))
        elif event.event_type == "flow_progress":
            _add_progress(update, event)
    ordered = sorted(updates.values(), key=lambda u: u.started)
    return QualityReport(pipeline, ordered[-last:] if last > 0 else ordered, actions)


def _add_progress(update: UpdateQuality, event: Event) -> None:
    progress = event.details.get("flow_progress", {})
    flow = event.flow_name or event.dataset_name or ""
    update.flow_datasets[flow] = event.dataset_name or flow
    rows = (progress.get("metrics") or {}).get("num_output_rows")
    if rows is not None:
        update.rows[flow] = update.rows.get(flow, 0) + int(rows)
    quality = progress.get("data_quality") or {}
    if quality.get("dropped_records") is not None:
        update.dropped[flow] = update.dropped.get(flow, 0) + int(quality["dropped_records"])
    for expectation in quality.get("expectations") or []:
        key = (str(expectation.get("dataset") or event.dataset_name), str(expectation["name"]))
        counts = Counts(int(expectation.get("passed_records") or 0), int(expectation.get("failed_records") or 0))
        update.expectations[key] = update.expectations.get(key, Counts()) + counts
