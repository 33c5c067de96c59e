"""The device tables computed in plain Python: a reading that is not a number is rescued (reading NULL); warn
rules keep every row in bronze, drop rules remove failing rows (NULL counts as failing) from silver."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("autoloader_options_docs_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def _typed(row: dict) -> dict:
    rescued = not isinstance(row["reading"], (int, float))
    return {**row, "reading": None if rescued else float(row["reading"]), "rescued": rescued}


def expected(batches: int) -> dict[str, list[dict]]:
    raw = [_typed(r) for r in data.rows(batches)]
    clean = [r for r in raw if r["device_id"] is not None and r["reading"] is not None and r["reading"] >= 0
             and not r["rescued"]]
    latest: dict = {}
    for r in clean:
        if r["device_id"] not in latest or r["recorded_at"] > latest[r["device_id"]]["recorded_at"]:
            latest[r["device_id"]] = r
    columns = ["device_id", "reading", "tags", "recorded_at", "file_name"]
    return {
        "device_readings_raw": [{c: r[c] for c in columns} for r in raw],
        "device_readings_clean": [{**{c: r[c] for c in columns}, "_rescued_data": None} for r in clean],
        "device_latest_reading": [{"device_id": d, "reading": r["reading"], "recorded_at": r["recorded_at"]}
                                  for d, r in latest.items()],
    }
