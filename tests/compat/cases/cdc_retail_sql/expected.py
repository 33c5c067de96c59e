"""The tables Databricks gives for the change events of data.py: AUTO CDC as documented
(https://docs.databricks.com/aws/en/ldp/cdc): events applied in SEQUENCE BY order whatever their
arrival; SCD type 1 keeps the latest event per key and removes keys whose latest event is a delete;
SCD type 2 opens a version when a tracked (non-key, non-excluded) column changes, and a delete closes
the open version (__END_AT = the delete's sequence value)."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("cdc_retail_sql_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

COLUMNS = ["id", "firstname", "lastname", "email", "address"]


def _valid(event: dict) -> bool:
    return event["id"] is not None and event["operation"] in ("APPEND", "DELETE", "UPDATE")


def _by_key(events: list[dict]) -> dict[str, list[dict]]:
    keys: dict[str, list[dict]] = {}
    for event in events:
        keys.setdefault(event["id"], []).append(event)
    return {k: sorted(v, key=lambda e: e["operation_date"]) for k, v in keys.items()}  # a string, ordered as one


def scd1(events: list[dict]) -> list[dict]:
    latest = [history[-1] for history in _by_key(events).values()]
    return [{c: e[c] for c in COLUMNS} for e in latest if e["operation"] != "DELETE"]


def scd2(events: list[dict]) -> list[dict]:
    versions = []
    for history in _by_key(events).values():
        current = None
        for event in history:
            if event["operation"] == "DELETE":
                if current is not None:
                    current["__END_AT"] = event["operation_date"]
                    current = None
                continue
            values = {c: event[c] for c in COLUMNS}
            if current is not None and all(current[c] == values[c] for c in COLUMNS):
                continue
            if current is not None:
                current["__END_AT"] = event["operation_date"]
            current = {**values, "__START_AT": event["operation_date"], "__END_AT": None}
            versions.append(current)
    return versions


def expected(batches: int) -> dict[str, list[dict]]:
    landed = data.rows(batches)
    raw = [{**e, "_rescued_data": None} for e in landed]
    clean = [e for e in raw if _valid(e)]
    return {
        "client_changes": raw,
        "client_changes_clean": clean,
        "clients": scd1(clean),
        "SCD2_clients": scd2(clean),
    }
