"""The users targets computed in plain Python with AUTO CDC's documented semantics: each key's events apply in
sequenceNum order, whatever order they arrive in; a delete removes the key (SCD type 1) or closes its open
version (SCD type 2); a truncate empties an SCD type 1 table as of its sequence value; with
ignore_null_updates a null in an update keeps the target's value; with track_history_except_column_list a
change of only those columns updates the open version in place."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("cdc_users_docs_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

COLUMNS = ["userId", "name", "city"]


def _ordered(events: list[dict]) -> list[dict]:
    return sorted(events, key=lambda e: e["sequenceNum"])


def scd1(events: list[dict], ignore_null_updates: bool = False) -> list[dict]:
    table: dict = {}
    for e in _ordered(events):
        if e["operation"] == "TRUNCATE":
            table.clear()
        elif e["operation"] == "DELETE":
            table.pop(e["userId"], None)
        else:
            old = table.get(e["userId"])
            new = {c: e[c] for c in COLUMNS}
            if ignore_null_updates and old is not None:
                new = {c: old[c] if new[c] is None else new[c] for c in COLUMNS}
            table[e["userId"]] = new
    return list(table.values())


def scd2(events: list[dict], tracked: list[str]) -> list[dict]:
    versions, open_version = [], {}
    for e in _ordered(events):
        key, current = e["userId"], open_version.get(e["userId"])
        if e["operation"] == "DELETE":
            if current is not None:
                current["__END_AT"] = e["sequenceNum"]
                del open_version[key]
            continue
        values = {c: e[c] for c in COLUMNS}
        if current is not None and all(current[c] == values[c] for c in tracked):
            current.update(values)  # untracked columns change in place
            continue
        if current is not None:
            current["__END_AT"] = e["sequenceNum"]
        open_version[key] = {**values, "__START_AT": e["sequenceNum"], "__END_AT": None}
        versions.append(open_version[key])
    return versions


def expected(batches: int) -> dict[str, list[dict]]:
    events = data.rows(batches)
    changes = [e for e in events if e["operation"] != "TRUNCATE"]
    return {
        "users_current": scd1(events),
        "users_history": scd2(changes, tracked=["name", "city"]),
        "users_name_history": scd2(changes, tracked=["name"]),
        "users_current_partial_updates": scd1(changes, ignore_null_updates=True),
    }
