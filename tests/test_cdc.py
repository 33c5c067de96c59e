"""AUTO CDC through the local fallback gives the tables Databricks would (hand-computed here)."""

from __future__ import annotations

from conftest import rows, touch_later, write_json_lines


def _latest_by_struct(events: list[dict]) -> list[tuple]:
    """SCD1 with sequence_by=struct(seq % 2, seq), computed in plain Python: per key the event with
    the greatest (parity, seq) wins; a delete removes the key."""
    latest: dict[int, dict] = {}
    for event in events:
        current = latest.get(event["id"])
        if current is None or (event["seq"] % 2, event["seq"]) > (current["seq"] % 2, current["seq"]):
            latest[event["id"]] = event
    return sorted((e["id"], e["name"], e["city"]) for e in latest.values() if e["op"] != "DELETE")


def test_cdc_fallback_matches_hand_computed_scd1_and_scd2(spark, pipeline_copy, run_cli, tmp_path):
    folder, db = pipeline_copy("cdc")
    # Arrival order differs from sequence order; id 2 is deleted, and an older update arrives after.
    first = [
        {"id": 1, "name": "Ann", "city": "Oslo", "op": "UPSERT", "seq": 1},
        {"id": 1, "name": "Ann", "city": "Bergen", "op": "UPSERT", "seq": 3},
        {"id": 2, "name": "Bob", "city": "Rome", "op": "UPSERT", "seq": 2},
        {"id": 1, "name": "Anna", "city": "Oslo", "op": "UPSERT", "seq": 2},
        {"id": 2, "name": None, "city": None, "op": "DELETE", "seq": 5},
        {"id": 2, "name": "Bob", "city": "Milan", "op": "UPSERT", "seq": 4},
        {"id": 3, "name": "Cy", "city": "Nice", "op": "UPSERT", "seq": 1},
        {"id": 3, "name": "Cyril", "city": "Nice", "op": "UPSERT", "seq": 6},
    ]
    write_json_lines(folder / "landing" / "1.json", first)
    storage = tmp_path / "s"
    assert run_cli("run", folder, "--storage", storage) == 0
    # SCD1: the latest event per key wins; id 2's latest event is a delete.
    assert rows(spark, f"SELECT id, name, city FROM {db}.customers_scd1 ORDER BY id") == [
        (1, "Ann", "Bergen"), (3, "Cyril", "Nice")]
    # SCD2 tracking history of city only: a name change updates the open version in place.
    assert rows(spark, f"SELECT id, name, city, __START_AT, __END_AT FROM {db}.customers_scd2 "
                       "ORDER BY id, __START_AT") == [
        (1, "Anna", "Oslo", 1, 3),
        (1, "Ann", "Bergen", 3, None),
        (2, "Bob", "Rome", 2, 4),
        (2, "Bob", "Milan", 4, 5),
        (3, "Cyril", "Nice", 1, None),
    ]
    assert rows(spark, f"SELECT home_city FROM {db}.cities ORDER BY 1") == [("Bergen",), ("Nice",)]
    by_parity = _latest_by_struct(first)
    assert (3, "Cy", "Nice") in by_parity  # the struct's first field decides before seq does
    assert rows(spark, f"SELECT id, name, city FROM {db}.customers_by_parity ORDER BY id") == by_parity

    # A later delete for id 1 in a new file closes its open version and removes it from SCD1.
    second = [{"id": 1, "name": None, "city": None, "op": "DELETE", "seq": 7}]
    touch_later(write_json_lines(folder / "landing" / "2.json", second))
    assert run_cli("run", folder, "--storage", storage) == 0
    assert rows(spark, f"SELECT id FROM {db}.customers_scd1 ORDER BY id") == [(3,)]
    assert rows(spark, f"SELECT id, name, city FROM {db}.customers_by_parity ORDER BY id") == \
        _latest_by_struct(first + second)
    assert rows(spark, f"SELECT city, __END_AT FROM {db}.customers_scd2 WHERE id = 1 ORDER BY __START_AT") == [
        ("Oslo", 3), ("Bergen", 7)]
    # The captured change log holds each event exactly once across both runs.
    assert rows(spark, f"SELECT count(*) FROM {db}.customers_scd1__cdc_changes") == [(9,)]
    # The downstream table waited for this update's SCD1 table (it reads it through eager operations).
    assert rows(spark, f"SELECT home_city FROM {db}.cities ORDER BY 1") == [("Nice",)]
