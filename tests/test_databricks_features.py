"""Databricks features public pipelines use, run locally with Databricks's results: several append
flows into one streaming table, a once backfill, a streaming aggregation without a watermark, a
private table, Delta / Kafka / foreachBatch sinks, dbutils widgets and secrets, the pipeline root on
sys.path (a UDF from a helper module), configuration keys with 'token' in them, and Databricks paths
mapped to local folders. Expected values are worked out here from the landed rows."""

from __future__ import annotations

from pathlib import Path

from conftest import rows, touch_later, write_json_lines

A1 = [{"id": 1, "kind": " Click", "amount": 5.0}, {"id": 2, "kind": "VIEW ", "amount": 20.0}]
B1 = [{"id": 3, "kind": "click", "amount": 12.0}]
HISTORY1 = [{"id": 100, "kind": "view", "amount": 1.0}, {"id": 101, "kind": "Click", "amount": 50.0}]
A2 = [{"id": 4, "kind": "share", "amount": 15.0}]
HISTORY2 = [{"id": 102, "kind": "view", "amount": 7.0}]  # lands after the backfill ran: not read again


def _events(*groups: tuple[str, list[dict]]) -> list[tuple]:
    return sorted((r["id"], r["kind"], r["amount"], source) for source, batch in groups for r in batch)


def _by_source(events: list[tuple]) -> list[tuple]:
    totals: dict[str, tuple[float, int]] = {}
    for _, _, amount, source in events:
        total, n = totals.get(source, (0.0, 0))
        totals[source] = (total + amount, n + 1)
    return sorted((source, total, n) for source, (total, n) in totals.items())


def _parquet(spark, folder: Path, columns: str) -> list[tuple]:
    return sorted(tuple(r) for r in spark.read.parquet(str(folder)).selectExpr(*columns.split(",")).collect())


def test_databricks_features_run_locally_with_databricks_results(spark, pipeline_copy, run_cli, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("PALINDROM_SECRET_TEST_SCOPE__API_KEY", "s3cr3t-value")
    folder, db = pipeline_copy("databricks_features")
    landing, storage = folder / "landing", tmp_path / "s"
    write_json_lines(landing / "a" / "1.json", A1)
    write_json_lines(landing / "b" / "1.json", B1)
    write_json_lines(landing / "volume" / "history" / "1.json", HISTORY1)
    assert run_cli("run", folder, "--storage", storage) == 0

    events = _events(("a", A1), ("b", B1), ("history", HISTORY1))
    assert rows(spark, f"SELECT id, kind, amount, source FROM {db}.events ORDER BY id") == events
    assert rows(spark, f"SELECT id, kind, token_host, secret_length FROM {db}.events_clean ORDER BY id") == [
        (i, "k-" + kind.strip().lower(), "sso.example", len("s3cr3t-value")) for i, kind, _, _ in events]
    assert rows(spark, f"SELECT source, amount, n FROM {db}.amount_by_source ORDER BY source") == _by_source(events)
    assert rows(spark, f"SELECT n FROM {db}.big_event_count") == [(sum(1 for e in events if e[2] >= 10),)]
    published = {r.tableName for r in spark.sql(f"SHOW TABLES IN {db}").collect()}
    assert "big_events" not in published and {"events", "events_clean", "big_event_count"} <= published
    sinks = storage / "pipelines" / "databricks_features" / "sinks"
    assert _parquet(spark, landing / "volume" / "out" / "delta_copy", "id,source") == [(e[0], e[3]) for e in events]
    assert _parquet(spark, sinks / "kafka_out", "key,value") == sorted(
        (str(i), f'{{"id":{i},"kind":"{kind}"}}') for i, kind, _, _ in events)
    batches = _parquet(spark, landing.parent / "batches_out", "id,amount,batch_id")
    assert sorted(b[:2] for b in batches) == [(e[0], e[2]) for e in events] and {b[2] for b in batches} == {0}

    touch_later(write_json_lines(landing / "a" / "2.json", A2))
    touch_later(write_json_lines(landing / "volume" / "history" / "2.json", HISTORY2))
    assert run_cli("run", folder, "--storage", storage) == 0
    events = _events(("a", A1 + A2), ("b", B1), ("history", HISTORY1))  # the backfill ran once only
    assert rows(spark, f"SELECT id, kind, amount, source FROM {db}.events ORDER BY id") == events
    assert rows(spark, f"SELECT source, amount, n FROM {db}.amount_by_source ORDER BY source") == _by_source(events)
    assert rows(spark, f"SELECT n FROM {db}.big_event_count") == [(sum(1 for e in events if e[2] >= 10),)]
    assert _parquet(spark, sinks / "kafka_out", "key") == sorted((str(e[0]),) for e in events)
    batches = _parquet(spark, landing.parent / "batches_out", "id,batch_id")
    assert sorted(b[0] for b in batches) == [e[0] for e in events] and (4, 1) in batches

    # A full refresh of the table runs the backfill again, over what the history holds now.
    assert run_cli("run", folder, "--storage", storage, "--full-refresh", "events") == 0
    events = _events(("a", A1 + A2), ("b", B1), ("history", HISTORY1 + HISTORY2))
    assert rows(spark, f"SELECT id, kind, amount, source FROM {db}.events ORDER BY id") == events
