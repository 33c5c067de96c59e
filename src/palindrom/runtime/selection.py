"""Which datasets an update refreshes: the user's selection, completed with the runtime's own
datasets that belong to it (expectation counters, batch feeds, staged CDC changes).

Once flows: a marker (``<pipeline state>/once/<flow>``, holding the flow's target) is written when
an update completes the flow; later updates leave the flow out of the graph, until its target is
fully refreshed, which removes the marker, so the flow runs again, as on Databricks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from palindrom.runtime.graph import GraphInfo, PipelineGraphError, is_internal


@dataclass(frozen=True)
class Selection:
    refresh: list[str]       # passed to the server: empty means every dataset
    full_refresh: list[str]
    full_refresh_all: bool = False


def _companions(graph: GraphInfo, tables: set[str]) -> set[str]:
    """The runtime's own datasets that belong to ``tables``: expectation counters, batch feeds,
    and the staged changes of CDC targets."""
    extra: set[str] = set()
    for flow in graph.flows.values():
        if flow.target in tables and not flow.held:
            extra.update(t for t in (flow.quality_table, flow.feed) if t)
    for name in graph.outputs:
        if any(name.startswith(t + "__cdc_") for t in tables):
            extra.add(name)
    return extra


def with_upstream(graph: GraphInfo, names: list[str]) -> list[str]:
    """``names`` and every dataset they read, directly or through others (views included in the walk,
    not in the result: they are not refreshed, they run inside their readers), plus each chosen
    dataset's ``<name>_quarantine`` table. An unknown name is an error listing the datasets."""
    unknown = [n for n in names if n not in graph.outputs or is_internal(n)]
    if unknown:
        known = ", ".join(sorted(n for n in graph.outputs if not is_internal(n)))
        raise PipelineGraphError(f"Unknown dataset {', '.join(repr(n) for n in unknown)}. "
                                 f"The pipeline's datasets: {known}.")

    def reads(name: str) -> set[str]:
        return {n for flow in graph.flows.values() if flow.target == name and not flow.held
                for n in (read.rsplit(".", 1)[-1].strip("`") for read in flow.inputs) if n in graph.outputs}

    chosen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in chosen:
            chosen.add(name)
            todo.extend(reads(name))
    # A quarantine goes with its dataset when it reads what the dataset's update reads (not when the
    # dataset's own query is replaced, e.g. by a test's mock, and the quarantine's input is not run).
    chosen |= {f"{n}_quarantine" for n in set(chosen)
               if f"{n}_quarantine" in graph.outputs and reads(f"{n}_quarantine") <= chosen}
    return sorted(n for n in chosen if graph.outputs[n] != "view")


def select(graph: GraphInfo, refresh: list[str], full_refresh: list[str], full_refresh_all: bool) -> Selection:
    if full_refresh_all:
        return Selection([], [], full_refresh_all=True)
    chosen = sorted(set(refresh) | _companions(graph, set(refresh))) if refresh else []
    full = sorted(set(full_refresh) | _companions(graph, set(full_refresh))) if full_refresh else []
    return Selection(chosen, full)


def _markers(state_dir: Path) -> list[Path]:
    folder = state_dir / "once"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def once_done(state_dir: Path, full_refresh: list[str], full_refresh_all: bool) -> frozenset[str]:
    """The once flows that have run and must not run again in this update; the markers of those
    whose target is fully refreshed are removed (they run again)."""
    done = set()
    for marker in _markers(state_dir):
        if full_refresh_all or marker.read_text().strip() in full_refresh:
            marker.unlink()
        else:
            done.add(marker.name)
    return frozenset(done)


def record_once(graph: GraphInfo, state_dir: Path, completed: set[str]) -> None:
    """Mark the once flows this update completed, so later updates leave them out."""
    for flow in graph.flows.values():
        if flow.once and not flow.held and flow.name in completed:
            marker = state_dir / "once" / flow.name
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(flow.target)
