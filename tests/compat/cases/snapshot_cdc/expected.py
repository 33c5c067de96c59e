"""The snapshot targets computed in plain Python. AUTO CDC FROM SNAPSHOT compares each snapshot with the one
before: a key that appears is inserted, a key whose values change is updated, a key that disappears is
deleted. SCD type 1 therefore equals the latest snapshot. SCD type 2 keeps a version per change of the tracked
columns (all by default) with __START_AT / __END_AT the snapshot versions; other changes update the open
version in place."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("snapshot_cdc_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


def scd2(snapshots: list[tuple[object, list[dict]]], tracked: list[str]) -> list[dict]:
    versions, open_version = [], {}
    for version, rows in snapshots:
        present = {r["order_id"]: r for r in rows}
        for key in [k for k in open_version if k not in present]:
            open_version.pop(key)["__END_AT"] = version
        for key, row in present.items():
            current = open_version.get(key)
            if current is not None and all(current[c] == row[c] for c in tracked):
                current.update(row)
                continue
            if current is not None:
                current["__END_AT"] = version
            open_version[key] = {**row, "__START_AT": version, "__END_AT": None}
            versions.append(open_version[key])
    return versions


def expected(batches: int) -> dict[str, list[dict]]:
    table_snapshots = [(b, data.as_dicts(data.TABLE_SNAPSHOTS[b])) for b in range(1, batches + 1)]
    hourly = [(hour, data.as_dicts(rows)) for b in range(1, batches + 1) for hour, rows in data.HOURLY[b].items()]
    periodic = scd2(table_snapshots, tracked=data.COLUMNS)
    return {
        "orders_current": table_snapshots[-1][1],
        # versions are the updates' times on Databricks: compared without __START_AT / __END_AT
        "orders_periodic_history": [{c: v[c] for c in data.COLUMNS} for v in periodic],
        "orders_hourly_history": scd2(sorted(hourly, key=lambda s: s[0]), tracked=["order_status"]),
    }
