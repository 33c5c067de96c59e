"""Synthetic device readings, JSON lines, one file per batch. recorded_at is a number (seconds), tags an object."""

import json
from pathlib import Path


def _reading(device, reading, recorded_at, site="north"):
    return {"device_id": device, "reading": reading, "recorded_at": recorded_at, "tags": {"site": site}}


BATCHES = {
    1: {"readings-0001.json": [
        _reading("dev-1", 20.5, 1000),
        _reading("dev-2", 18.25, 1001, "south"),
        _reading("dev-1", 21.0, 1060),
        _reading("dev-3", 5.0, 1002),
    ]},
    2: {"readings-0002.json": [
        _reading("dev-2", 19.75, 1120, "south"),
        _reading("dev-3", "n/a", 1130),  # text where the hint says DOUBLE: rescued, dropped from silver
        _reading("dev-1", -3.5, 1140),  # negative: warned in bronze, dropped from silver
        _reading(None, 7.0, 1150),  # no device: warned, dropped
        _reading("dev-4", 12.0, 1160, "east"),
    ]},
}


def rows(batches: int) -> list[dict]:
    return [{**r, "file_name": name} for b in range(1, batches + 1)
            for name, readings in BATCHES[b].items() for r in readings]


def write_batch(batch: int, landing: Path) -> None:
    folder = landing / "readings"
    folder.mkdir(parents=True, exist_ok=True)
    for name, readings in BATCHES[batch].items():
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in readings))
