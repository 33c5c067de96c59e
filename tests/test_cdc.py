"""AUTO CDC through the local fallback gives the tables Databricks would (hand-computed here)."""

from __future__ import annotations

from conftest import rows, touch_later, write_json_lines


def test_cdc_fallback_matches_hand_computed_scd1_and_scd2(spark, pipeline_copy, run_cli, tmp_path):
    folder, db = pipeline_copy("cdc")
    # Arrival order differs from sequence order; id 2 is deleted, and an older update arrives after.
    write_json_lines(folder / "landing" / "1.json", [
        {"id": 1, "name": "Ann", "city": "Oslo", "op": "UPSERT", "seq": 1},
        {"id": 1, "name": "Ann", "city": "Bergen", "op": "UPSERT", "seq": 3},
        {"id": 2, "name": "Bob", "city": "Rome", "op": "UPSERT", "seq": 2},
        {"id": 1, "name": "Anna", "city": "Oslo", "op": "UPSERT", "seq": 2},
        {"id": 2, "name": None, "city": None, "op": "DELETE", "seq": 5},
        {"id": 2, "name": "Bob", "city": "Milan", "op": "UPSERT", "seq": 4},
        {"id": 3, "name": "Cy", "city": "Nice", "op": "UPSERT", "seq": 1},
        {"id": 3, "name": "Cyril", "city": "Nice", "op": "UPSERT", "seq": 6},
    ])
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

    # A later delete for id 1 in a new file closes its open version and removes it from SCD1.
    touch_later(write_json_lines(folder / "landing" / "2.json",
                                 [{"id": 1, "name": None, "city": None, "op": "DELETE", "seq": 7}]))
    assert run_cli("run", folder, "--storage", storage) == 0
    assert rows(spark, f"SELECT id FROM {db}.customers_scd1 ORDER BY id") == [(3,)]
    assert rows(spark, f"SELECT city, __END_AT FROM {db}.customers_scd2 WHERE id = 1 ORDER BY __START_AT") == [
        ("Oslo", 3), ("Bergen", 7)]
    # The captured change log holds each event exactly once across both runs.
    assert rows(spark, f"SELECT count(*) FROM {db}.customers_scd1__cdc_changes") == [(9,)]
    # The downstream table waited for this update's SCD1 table (it reads it through eager operations).
    assert rows(spark, f"SELECT home_city FROM {db}.cities ORDER BY 1") == [("Nice",)]
