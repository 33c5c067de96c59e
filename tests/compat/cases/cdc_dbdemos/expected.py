"""The CDC tables computed in plain Python from data.py's events, with AUTO CDC's documented semantics:
events of a key apply in sequence_by order whatever order they arrive in; SCD type 1 keeps the latest state
and a key whose latest event is a delete is absent; SCD type 2 keeps one row per version, __START_AT the
sequence value that opened it, __END_AT the one that closed it (a change of a tracked column or a delete)."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("cdc_dbdemos_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

DATA_COLUMNS = ["address", "email", "id", "firstname", "lastname"]


def _rescued(event: dict) -> bool:
    return not isinstance(event["loyalty_points"], int)


def _clean(events: list[dict]) -> list[dict]:
    return [e for e in events
            if not _rescued(e) and e["id"] is not None and e["operation"] in ("APPEND", "DELETE", "UPDATE")]


def _by_key(events: list[dict]) -> dict[str, list[dict]]:
    keyed: dict[str, list[dict]] = {}
    for e in sorted(events, key=lambda e: e["operation_date"]):  # a string: ordered as text
        keyed.setdefault(e["id"], []).append(e)
    return keyed


def scd1(events: list[dict]) -> list[dict]:
    rows = []
    for history in _by_key(events).values():
        last = history[-1]
        if last["operation"] != "DELETE":
            rows.append({c: last[c] for c in DATA_COLUMNS})
    return rows


def scd2(events: list[dict]) -> list[dict]:
    versions = []
    for history in _by_key(events).values():
        current = None
        for e in history:
            values = {c: e[c] for c in DATA_COLUMNS}
            if e["operation"] == "DELETE":
                if current is not None:
                    current["__END_AT"] = e["operation_date"]
                    current = None
                continue
            if current is not None and all(current[c] == values[c] for c in DATA_COLUMNS):
                continue  # nothing tracked changed
            if current is not None:
                current["__END_AT"] = e["operation_date"]
            current = {**values, "__START_AT": e["operation_date"], "__END_AT": None}
            versions.append(current)
    return versions


def expected(batches: int) -> dict[str, list[dict]]:
    events = data.rows(batches)
    clean = _clean(events)
    return {
        "customers_cdc": [{**e, "loyalty_points": None if _rescued(e) else e["loyalty_points"]} for e in events],
        "customers_cdc_clean": [{c: e[c] for c in [*DATA_COLUMNS, "operation", "operation_date"]}
                                | {"_rescued_data": None} for e in clean],
        "customers": scd1(clean),
        "SCD2_customers": scd2(clean),
    }
