"""Synthetic sensor events (a sensor id and an event time), appended to the two source tables before
each update: as a timestamp to sensor_events, as 'yyyy-MM-dd HH:mm:ss' text to sensor_events_text."""

import datetime as dt
from pathlib import Path

BASE = dt.datetime(2024, 3, 1, 12, 0, 0)

# seconds after BASE, per batch
SECONDS = {
    1: [1, 3, 7, 12, 15, 27],
    2: [22, 35, 5, 18, 41],  # 5: older than the watermark (27 - 10 = 17), dropped; 18: late but kept
}


def events(batch: int) -> list[tuple[str, dt.datetime]]:
    return [(f"sensor-{i % 3}", BASE + dt.timedelta(seconds=s)) for i, s in enumerate(SECONDS[batch])]


def statements(batch: int) -> list[str]:
    rows = events(batch)
    stamps = ", ".join(f"('{sensor}', TIMESTAMP '{when:%Y-%m-%d %H:%M:%S}')" for sensor, when in rows)
    texts = ", ".join(f"('{sensor}', '{when:%Y-%m-%d %H:%M:%S}')" for sensor, when in rows)
    return [f"INSERT INTO {{db}}.sensor_events VALUES {stamps}",
            f"INSERT INTO {{db}}.sensor_events_text VALUES {texts}"]


def write_batch(batch: int, landing: Path) -> None:
    """Nothing lands as files: the sources are tables (see statements)."""
