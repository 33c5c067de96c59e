"""Which datasets an update refreshes: the user's selection, completed with what the local runtime
adds to it, minus the batch feeds that must not run again (a once flow after its first run).

A once flow's marker (``<pipeline state>/once/<flow>``) is written when an update completes the
flow, and removed when its target is fully refreshed, so the flow runs again, as on Databricks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from palindrom.runtime.graph import GraphInfo


@dataclass(frozen=True)
class Selection:
    refresh: list[str]       # passed to the server: empty means every dataset
    full_refresh: list[str]
    full_refresh_all: bool = False


def _datasets(graph: GraphInfo) -> set[str]:
    return {name for name, kind in graph.outputs.items() if kind in ("streaming_table", "materialized_view")}


def _companions(graph: GraphInfo, tables: set[str]) -> set[str]:
    """The runtime's own datasets that belong to ``tables``: expectation counters, batch feeds,
    and the staged changes of CDC targets."""
    extra: set[str] = set()
    for flow in graph.flows.values():
        if flow.target in tables:
            extra.update(t for t in (flow.quality_table, flow.feed) if t)
    for name in graph.outputs:
        if any(name.startswith(t + "__cdc_") for t in tables):
            extra.add(name)
    return extra


def once_marker(state_dir: Path, flow: str) -> Path:
    return state_dir / "once" / flow


def select(graph: GraphInfo, state_dir: Path, refresh: list[str], full_refresh: list[str],
           full_refresh_all: bool) -> Selection:
    everything = _datasets(graph)
    full = set(everything) if full_refresh_all else set(full_refresh) | _companions(graph, set(full_refresh))
    for flow in graph.flows.values():
        if flow.feed and flow.feed_refresh is None and flow.target in full:
            once_marker(state_dir, flow.name).unlink(missing_ok=True)
    chosen = set(refresh) | _companions(graph, set(refresh)) if refresh else set(everything)
    held = {flow.feed for flow in graph.flows.values() if flow.feed and (
        flow.feed_refresh is False
        or (flow.feed_refresh is None and once_marker(state_dir, flow.name).exists()))}
    chosen -= held
    if full_refresh_all and chosen == everything:
        return Selection([], [], full_refresh_all=True)
    full_list = sorted(full & chosen) if full_refresh or full_refresh_all else []
    if chosen == everything and not refresh:
        return Selection([], full_list)
    return Selection(sorted(chosen), full_list)


def record_once(graph: GraphInfo, state_dir: Path, completed: set[str]) -> None:
    """Mark the once flows this update completed, so later updates leave them out."""
    for flow in graph.flows.values():
        if flow.feed and flow.feed_refresh is None and flow.name in completed:
            marker = once_marker(state_dir, flow.name)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(flow.target)
