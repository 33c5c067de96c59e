"""Terminal output of a run: one line per flow state change and a summary table."""

from __future__ import annotations

import datetime as dt
import sys

from palindrom.quality.bad_records import TableBadRecords
from palindrom.runtime.runner import FlowResult, UpdateResult


def _rows(flow: FlowResult) -> str:
    return "" if flow.rows is None else f"{flow.rows:,} rows"


def _secs(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}s"


class FlowPrinter:
    def __call__(self, flow: FlowResult) -> None:
        now = dt.datetime.now().strftime("%H:%M:%S")
        detail = f"  {_rows(flow)}  {_secs(flow.duration)}" if flow.state in ("completed", "failed") else ""
        error = f"  {flow.error}" if flow.state == "failed" and flow.error else ""
        print(f"{now}  {flow.name:<32} {flow.state.upper():<10}{detail}{error}", flush=True)


def print_summary(result: UpdateResult, seconds: float) -> None:
    out = sys.stdout
    print(f"\nUpdate {result.update_id} of '{result.pipeline}' {result.state.upper()} in {seconds:.1f}s", file=out)
    width = max([34, *(len(name) + 2 for name in result.flows)])
    header = f"{'flow':<{width}}{'type':<20}{'state':<11}{'rows':>12}{'time':>9}"
    print(header, file=out)
    print("-" * len(header), file=out)
    for flow in sorted(result.flows.values(), key=lambda f: f.name):
        rows = "" if flow.rows is None else f"{flow.rows:,}"
        print(f"{flow.name:<{width}}{flow.kind:<20}{flow.state:<11}{rows:>12}{_secs(flow.duration):>9}", file=out)
    out.flush()


def print_bad_records(tables: list[TableBadRecords], unavailable: str | None = None) -> None:
    """Per table: records dead-lettered, rescued and dropped by this update, and where to look."""
    out = sys.stdout
    if unavailable is not None:
        print(f"\nBad records: not counted ({unavailable})", file=out)
        return
    if not tables:
        print("\nBad records in this update: none (0 dead-lettered, 0 rescued, 0 dropped)", file=out)
        return
    print("\nBad records in this update (kept, not lost; look where shown):", file=out)
    width = max([34, *(len(t.table) + 2 for t in tables)])
    header = f"{'table':<{width}}{'dead-lettered':>14}{'rescued':>10}{'dropped':>10}   where to look"
    print(header, file=out)
    print("-" * len(header), file=out)
    for t in tables:
        print(f"{t.table:<{width}}{t.dead_lettered:>14,}{t.rescued:>10,}{t.dropped:>10,}   {'; '.join(t.where)}",
              file=out)
    out.flush()
