"""AUTO CDC as the Databricks documentation defines it (https://docs.databricks.com/aws/en/ldp/cdc):
events take effect in SEQUENCE BY order, whatever order they arrive in.

* SCD type 1: per key the latest event; a key whose latest event is a delete is absent; a truncate
  removes every row it follows in sequence order.
* SCD type 2: a version opens when a tracked column changes (all non-key columns, or those not in
  TRACK HISTORY ON * EXCEPT); a change of untracked columns only updates the open version; a delete
  closes the open version; __START_AT / __END_AT are sequence values.
"""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("auto_cdc_users_sql_data", Path(__file__).with_name("data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)

NAMES = ("memberId", "name", "city", "operation", "sequenceNum")


def _dicts(events) -> list[dict]:
    return [dict(zip(NAMES, e, strict=True)) for e in events]


def scd1(events: list[dict]) -> list[dict]:
    truncated_at = max((e["sequenceNum"] for e in events if e["operation"] == "TRUNCATE"), default=None)
    state: dict[int, dict] = {}
    for e in sorted((e for e in events if e["operation"] != "TRUNCATE"), key=lambda e: e["sequenceNum"]):
        if truncated_at is not None and e["sequenceNum"] < truncated_at:
            continue
        if e["operation"] == "DELETE":
            state.pop(e["memberId"], None)
        else:
            state[e["memberId"]] = {"memberId": e["memberId"], "name": e["name"], "city": e["city"]}
    return list(state.values())


def scd2(events: list[dict], untracked: tuple[str, ...] = ()) -> list[dict]:
    tracked = [c for c in ("name", "city") if c not in untracked]
    versions: list[dict] = []
    open_by_key: dict[int, dict] = {}
    for e in sorted(events, key=lambda e: e["sequenceNum"]):
        key, current = e["memberId"], open_by_key.get(e["memberId"])
        if e["operation"] == "DELETE":
            if current is not None:
                current["__END_AT"] = e["sequenceNum"]
                del open_by_key[key]
            continue
        if current is not None and all(current[c] == e[c] for c in tracked):
            current.update(name=e["name"], city=e["city"])  # untracked change: in place
            continue
        if current is not None:
            current["__END_AT"] = e["sequenceNum"]
        row = {"memberId": key, "name": e["name"], "city": e["city"], "__START_AT": e["sequenceNum"], "__END_AT": None}
        versions.append(row)
        open_by_key[key] = row
    return versions


def expected(batches: int) -> dict[str, list[dict]]:
    feed = _dicts(data.members(batches))
    return {
        "members_reset": scd1(_dicts(data.resettable(batches))),
        "members_current": scd1(feed),
        "members_history": scd2(feed),
        "members_name_history": scd2(feed, untracked=("city",)),
    }
