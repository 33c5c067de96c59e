"""Append-mode windowed counts as Structured Streaming (and so Databricks) defines them: within an
update each micro-batch drops events older than the current watermark, the watermark then becomes the
maximum event time seen minus the delay, and a window's final count is written once the watermark
reaches its end (a no-data batch runs for that before a triggered update ends)."""

import datetime as dt
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("watermark_window_sql_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

WINDOW = dt.timedelta(seconds=10)
DELAY = dt.timedelta(seconds=10)


def _start(when: dt.datetime) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1)
    return epoch + (when - epoch) // WINDOW * WINDOW


def counts(batches: int) -> list[dict]:
    watermark = dt.datetime.min
    state: dict[dt.datetime, int] = {}
    written: list[dict] = []
    for batch in range(1, batches + 1):  # each update: one micro-batch of its events, then a no-data batch
        times = [when for _, when in data.events(batch) if when >= watermark]
        for when in times:
            state[_start(when)] = state.get(_start(when), 0) + 1
        watermark = max(watermark, max(when for _, when in data.events(batch)) - DELAY)
        for start in sorted(s for s in state if s + WINDOW <= watermark):
            written.append({"w": {"start": start, "end": start + WINDOW}, "CNT": state.pop(start)})
    return written


def expected(batches: int) -> dict[str, list[dict]]:
    return {"counts_by_ts": counts(batches), "counts_by_text": counts(batches)}
