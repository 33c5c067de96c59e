"""Expectations from expectations/ on a streaming table and a materialized view: Databricks's
warn/drop/fail/quarantine semantics with exact counts, recorded in the local event log."""

from __future__ import annotations

import json

from conftest import rows, touch_later, write_json_lines

QUALITY_QUERY = """
SELECT row_expectations.dataset AS dataset, row_expectations.name AS expectation,
       SUM(row_expectations.passed_records) AS passing_records,
       SUM(row_expectations.failed_records) AS failing_records
FROM (
  SELECT explode(from_json(get_json_object(details, '$.flow_progress.data_quality.expectations'),
         'array<struct<name: string, dataset: string, passed_records: int, failed_records: int>>'))
         row_expectations
  FROM {db}.event_log
  WHERE event_type = 'flow_progress' AND origin.update_id = '{update}'
)
GROUP BY row_expectations.dataset, row_expectations.name
ORDER BY dataset, expectation
"""


def test_expectation_actions_counts_and_event_log(spark, pipeline_copy, run_cli, tmp_path, capsys):
    folder, db = pipeline_copy("quality")
    storage = tmp_path / "s"
    write_json_lines(folder / "landing" / "1.json", [
        {"id": 1, "sensor": "a", "value": 10},
        {"id": 2, "sensor": "a", "value": 20},
        {"id": 3, "sensor": "a", "value": 150},      # warn: value_small
        {"id": 4, "sensor": "b", "value": None},     # drop: value_present (value_small fails on NULL too)
        {"id": 5, "sensor": "b", "value": 30},
        {"id": 0, "sensor": "c", "value": 40},       # quarantine: id_positive
        {"id": -1, "sensor": "c", "value": None},    # quarantine and drop
        {"id": 6, "sensor": "unknown", "value": 50},
        {"id": 7, "sensor": "unknown", "value": 60},
    ])
    assert run_cli("run", folder, "--storage", storage) == 0

    assert rows(spark, f"SELECT id FROM {db}.readings ORDER BY id") == [(1,), (2,), (3,), (5,), (6,), (7,)]
    assert rows(spark, f"SELECT id, _failed_rules FROM {db}.readings_quarantine ORDER BY id") == [
        (-1, ["id_positive"]), (0, ["id_positive"])]
    assert rows(spark, f"SELECT sensor, readings, total FROM {db}.readings_by_sensor") == [("a", 3, 180)]
    assert rows(spark, f"SELECT sensor, _failed_rules FROM {db}.readings_by_sensor_quarantine") == [
        ("unknown", ["sensor_known"])]

    first = rows(spark, f"SELECT origin.update_id FROM {db}.event_log WHERE event_type = 'create_update'")[0][0]
    # Databricks's documented data-quality query, with get_json_object for the `:` operator.
    assert rows(spark, QUALITY_QUERY.format(db=db, update=first)) == [
        ("readings", "id_positive", 7, 2),
        ("readings", "no_poison", 9, 0),
        ("readings", "value_present", 7, 2),
        ("readings", "value_small", 6, 3),
        ("readings_by_sensor", "enough_readings", 2, 1),
        ("readings_by_sensor", "sensor_known", 2, 1),
        ("readings_by_sensor", "total_below_limit", 3, 0),
    ]
    progress = dict(rows(spark, f"""
        SELECT origin.flow_name, get_json_object(details, '$.flow_progress') FROM {db}.event_log
        WHERE event_type = 'flow_progress' AND get_json_object(details, '$.flow_progress.status') = 'COMPLETED'"""))
    readings = json.loads(progress["readings"])
    assert readings["metrics"] == {"num_output_rows": 6}
    assert readings["data_quality"]["dropped_records"] == 3  # ids 4, 0, -1: each counted once
    assert json.loads(progress["readings_by_sensor"])["data_quality"]["dropped_records"] == 2
    assert json.loads(progress["readings_quarantine"])["metrics"] == {"num_output_rows": 2}
    assert set(progress) == {"readings", "readings_quarantine", "readings_by_sensor", "readings_by_sensor_quarantine"}
    assert rows(spark, f"SELECT event_type, count(*) FROM {db}.event_log WHERE event_type <> 'flow_progress' "
                       "GROUP BY 1 ORDER BY 1") == [("create_update", 1), ("flow_definition", 4), ("update_progress", 2)]

    # A fail rule stops the flow's update, names the rule and shows the row; the table is unchanged.
    touch_later(write_json_lines(folder / "landing" / "2.json", [
        {"id": 8, "sensor": "a", "value": 666}, {"id": 9, "sensor": "a", "value": 5}]))
    capsys.readouterr()
    assert run_cli("run", folder, "--storage", storage) == 1
    err = capsys.readouterr().err
    assert "no_poison" in err and '"id":8' in err and '"value":666' in err
    assert rows(spark, f"SELECT id FROM {db}.readings ORDER BY id") == [(1,), (2,), (3,), (5,), (6,), (7,)]
    assert rows(spark, f"SELECT sensor, readings, total FROM {db}.readings_by_sensor") == [("a", 3, 180)]
    failed = rows(spark, f"""
        SELECT origin.flow_name, error.exceptions[0].message FROM {db}.event_log
        WHERE event_type = 'flow_progress' AND get_json_object(details, '$.flow_progress.status') = 'FAILED'""")
    assert [f[0] for f in failed] == ["readings"] and "no_poison" in failed[0][1]
    assert rows(spark, f"""SELECT get_json_object(details, '$.update_progress.state') FROM {db}.event_log
        WHERE event_type = 'update_progress' ORDER BY timestamp""") == [
        ("RUNNING",), ("COMPLETED",), ("RUNNING",), ("FAILED",)]
