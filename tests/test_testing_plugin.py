"""palindrom.testing, the pytest plugin data engineers test pipelines with: clear failures, every kind
of mock, full refresh, the event log, results equal to a real `pipelines run`, and `pipelines init`'s
scaffold passing its own test."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from typing import Any

import pandas as pd
import pytest
from conftest import REPO, cli

from palindrom.testing import MockSchemaError, UnknownDatasetError, UpdateFailed

BRONZE, SILVER = "starter_orders_bronze", "starter_orders_silver"


def order(order_id: str, amount: float, day: int = 1) -> dict[str, Any]:
    return {"order_id": order_id, "customer_id": "c", "amount": amount, "quantity": 1,
            "ordered_at": f"2026-11-0{day}T10:00:00"}


def test_unknown_names_and_mismatched_mocks_fail_with_what_to_use(pipeline):
    with pytest.raises(UnknownDatasetError) as unknown:
        pipeline("starter").given("starter_orders_bronz", rows=[order("a", 1.0)]).run()
    assert "'starter_orders_bronz' is neither a dataset nor a flow" in str(unknown.value)
    assert all(name in str(unknown.value) for name in (BRONZE, SILVER, "starter_revenue_daily_gold"))

    with pytest.raises(MockSchemaError) as mismatch:
        pipeline("starter").given(BRONZE, rows=[{**order("a", 1.0), "amout": 2.0}]).run()
    message = str(mismatch.value)
    assert "columns its schema does not: amout" in message and "amount" in message.split("Its columns:")[1]

    run = pipeline("starter").given(BRONZE, rows=[order("a", 1.0)]).run(select=[SILVER])
    with pytest.raises(UnknownDatasetError, match="'starter_orders_gold' is not a table of this pipeline"):
        run.table("starter_orders_gold")
    with pytest.raises(UnknownDatasetError, match="Its rules: has_customer, positive_amount"):
        run.expectation(SILVER, "positive")


def test_pandas_dataframe_and_file_mocks_incremental_runs_full_refresh_and_event_log(pipeline, spark, tmp_path):
    starter = pipeline("starter")
    run = starter.given(BRONZE, df=pd.DataFrame([order("a", 1.0), order("b", -2.0)])).run(select=[SILVER])
    assert [r["order_id"] for r in run.rows(SILVER)] == ["a"]

    spark_frame = spark.createDataFrame([order("c", 3.0, day=2)])
    run = starter.given(BRONZE, df=spark_frame).run(select=[SILVER])
    assert run.flows[BRONZE].rows == 1 and run.flows[SILVER].rows == 1   # only the new batch

    landed = tmp_path / "more.json"
    landed.write_text("".join(json.dumps(o) + "\n" for o in [order("d", 4.0, day=3), order("e", 0.0, day=3)]))
    run = starter.given(BRONZE, files=[landed]).run()
    assert run.flows[BRONZE].rows == 2
    assert run.rows("starter_revenue_daily_gold") == [
        {"order_date": dt.date(2026, 11, d), "orders": 1, "revenue": r} for d, r in ((1, 1.0), (2, 3.0), (3, 4.0))]

    run = starter.run(full_refresh=True)  # every batch given so far, from scratch
    assert run.flows[BRONZE].rows == 5 and run.flows[SILVER].rows == 3
    assert run.expectation(SILVER, "positive_amount").dropped == 2
    events = run.event_log()
    assert {r["update_id"] for r in events.select("origin.update_id").collect()} == {run.result.update_id}
    progress = [json.loads(r["details"]) for r in events.where("event_type = 'flow_progress' AND "
                                                                "origin.flow_name = 'starter_orders_silver'")
                .collect()]
    quality = [p["flow_progress"]["data_quality"] for p in progress if "data_quality" in p["flow_progress"]]
    assert quality and quality[-1]["dropped_records"] == 2


def test_a_fail_rule_fails_the_update_with_the_run_attached(pipeline):
    row = {"event_id": str(uuid.UUID(int=1)), "event_type": "PLAY", "user_id": "u", "session_id": "s",
           "occurred_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "writer_schema_version": None,
           "ingested_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    with pytest.raises(UpdateFailed) as failed:
        pipeline("events").given("events_app_bronze_actions", rows=[row]).run(select=["events_app_silver_actions"])
    assert "registered_writer" in str(failed.value)
    assert failed.value.run.flows["events_app_silver_actions"].state == "failed"


def test_cdc_target_from_a_mocked_change_feed_over_two_batches(pipeline, pipeline_copy):
    """SCD type 1 over a mocked change feed (a view over Auto Loader): the latest change per key by
    sequence, a late change never overwriting a newer one, a delete removing the key."""
    folder, _ = pipeline_copy("cdc")
    customers = pipeline(folder)
    first = [{"id": 1, "name": "Ann", "city": "Oslo", "op": "UPSERT", "seq": 1},
             {"id": 2, "name": "Bob", "city": "Rome", "op": "UPSERT", "seq": 1}]
    run = customers.given("customer_changes", rows=first).run(select=["customers_scd1"])
    assert run.rows("customers_scd1") == [{"id": 1, "name": "Ann", "city": "Oslo"},
                                          {"id": 2, "name": "Bob", "city": "Rome"}]
    second = [{"id": 1, "name": "Anne", "city": "Oslo", "op": "UPSERT", "seq": 3},
              {"id": 1, "name": "Annie", "city": "Bergen", "op": "UPSERT", "seq": 2},  # late: older than seq 3
              {"id": 2, "name": None, "city": None, "op": "DELETE", "seq": 2},
              {"id": 3, "name": "Cem", "city": "Izmir", "op": "UPSERT", "seq": 1}]
    run = customers.given("customer_changes", rows=second).run(select=["customers_scd1"])
    latest: dict[int, dict[str, Any]] = {}
    for change in sorted(first + second, key=lambda c: c["seq"]):   # the documented semantics, in Python
        latest[change["id"]] = change
    assert run.rows("customers_scd1") == [{"id": c["id"], "name": c["name"], "city": c["city"]}
                                          for _, c in sorted(latest.items()) if c["op"] != "DELETE"]


def _comparable(rows: list[dict[str, Any]], ignored: set[str]) -> Counter[str]:
    return Counter(json.dumps({k: v for k, v in sorted(r.items()) if k not in ignored}, default=str) for r in rows)


def test_plugin_results_equal_a_pipelines_run_on_the_same_landed_files(spark, pipeline, tmp_path):
    """The events pipeline over the same generated landing files, once by `pipelines run` (a copy of
    its folder with a database of its own) and once by the plugin: every table holds the same rows
    (but for the ingest time and quarantine time, which are the clock's), and the event log's
    expectation counts are the same."""
    storage = tmp_path / "real"
    assert cli("generate", "--events", 400, "--seed", 3, "--bad-rate", 0.05, "--storage", storage) == 0
    copy = tmp_path / "events"
    shutil.copytree(REPO / "pipelines" / "events", copy, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    database = f"eq_{uuid.uuid4().hex[:8]}"
    spec = copy / "pipeline.yml"
    spec.write_text(spec.read_text().replace("database: app", f"database: {database}"))
    assert cli("run", copy, "--storage", storage) == 0

    run = pipeline("events").configure(**{"palindrom.events.landing_path": str(storage / "landing" / "events")}).run()
    tables = run.datasets()
    assert {"events_app_bronze_actions", "events_app_bronze_dead_letter", "events_app_silver_actions_quarantine",
            "events_app_gold_user_features"} <= set(tables)
    ignored = {"ingested_at", "_quarantined_at"}
    for table in tables:
        schema = run.result.graph.schema_of(table, database)
        real = [r.asDict(recursive=True) for r in spark.read.table(f"`{schema}`.`{table}`").collect()]
        assert _comparable(run.rows(table), ignored) == _comparable(real, ignored), table
    assert len(run.rows("events_app_silver_actions")) > 300 and run.rows("events_app_bronze_dead_letter")

    logged = spark.sql(f"""SELECT e.dataset, e.name, sum(e.passed_records), sum(e.failed_records) FROM (
        SELECT explode(from_json(get_json_object(details, '$.flow_progress.data_quality.expectations'),
               'array<struct<name: string, dataset: string, passed_records: int, failed_records: int>>')) e
        FROM `{database}`.event_log WHERE event_type = 'flow_progress') GROUP BY 1, 2""").collect()
    assert logged
    for dataset, rule, passed, failed in logged:
        counts = run.expectation(dataset, rule)
        assert (counts.passed, counts.failed) == (passed, failed), (dataset, rule)


def test_init_scaffolds_a_pipeline_whose_test_passes(spark_server, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "conf", repo / "conf")
    (repo / "pipelines").mkdir()
    (repo / "pyproject.toml").write_text('[project]\nname = "scaffold-check"\n')
    assert cli("init", "demo", "--dir", repo) == 0
    folder = repo / "pipelines" / "demo"
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file() and "conf" not in p.parts
                  and p.name != "pyproject.toml") == [
        "expectations/demo_records_silver.yml", "pipelines/demo/pipeline.yml",
        "pipelines/demo/tests/test_demo_pipeline.py", "pipelines/demo/transformations/demo.py"]
    for env in ("local", "development", "staging", "production"):
        assert "palindrom.demo.landing_path:" in (repo / "conf" / f"{env}.yml").read_text()
    assert cli("init", "demo", "--dir", repo) == 2      # never overwrites
    assert cli("init", "Bad-Name", "--dir", repo) == 2
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
                            cwd=repo, capture_output=True, text=True, timeout=900,
                            env={**os.environ, "PALINDROM_SPARK_REMOTE": spark_server.url})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout
