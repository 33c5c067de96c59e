"""Live progress of an update on a terminal: per flow its state, rows written so far and elapsed
time, redrawn in place by ``rich`` (flow state lines still print above it)."""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from palindrom.runtime.metrics import EventLogTail
from palindrom.runtime.runner import FlowResult

_POLL_SECONDS = 1.0
_ACTIVE = ("starting", "running", "planning")


class Progress:
    """Context manager; ``observe`` is the runner's flow listener."""

    def __init__(self, pipeline: str, event_log_dir: Path | None, console: Console | None = None) -> None:
        self.pipeline = pipeline
        self.flows: dict[str, FlowResult] = {}
        self._tail = EventLogTail(event_log_dir)  # streaming rows so far, from trigger progress
        self._polled = 0.0
        self._started = time.monotonic()
        self._live = Live(self, console=console or Console(), refresh_per_second=2, transient=True)

    def observe(self, flow: FlowResult) -> None:
        self.flows[flow.name] = flow

    def _rows(self, flow: FlowResult) -> str:
        if flow.rows is not None:
            return f"{flow.rows:,}"
        so_far = self._tail.rows.get(flow.name)
        return f"{so_far:,}" if so_far else ""

    def __rich__(self) -> Table:
        now = time.monotonic()
        if now - self._polled >= _POLL_SECONDS:
            self._polled = now
            self._tail.poll()
        loading = "" if self.flows else ", loading the pipeline's definitions"
        title = f"{self.pipeline}: update running for {now - self._started:.0f}s{loading}"
        table = Table(title=title, title_justify="left", box=None, pad_edge=False, min_width=len(title))
        for column, justify in (("flow", "left"), ("state", "left"), ("rows so far", "right"),
                                ("elapsed", "right")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for flow in sorted(self.flows.values(), key=lambda f: f.name):  # a copy built without releasing the GIL
            if flow.started is None:
                elapsed = ""
            else:
                elapsed = f"{(flow.finished or now) - flow.started:.0f}s"
            state = flow.state.upper()
            table.add_row(flow.name, f"[bold]{state}[/]" if flow.state in _ACTIVE else state,
                          self._rows(flow), elapsed)
        return table

    def __enter__(self) -> Progress:
        self._live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._live.__exit__(kind, exc, tb)
