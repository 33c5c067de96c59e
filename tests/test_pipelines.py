"""Fixture pipelines in dlt and dp style run unchanged on the local runtime."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from conftest import rows as _rows
from conftest import write_json_lines

FLOW_LINE = re.compile(r"^\d\d:\d\d:\d\d  (\w+)\s+(QUEUED|STARTING|RUNNING|COMPLETED)", re.M)


def test_dlt_style_pipeline_runs_and_second_run_reads_only_new_files(spark, pipeline_copy, run_cli, tmp_path,
                                                                     capsys):
    folder, db = pipeline_copy("dlt_style")
    landing = folder / "landing"
    write_json_lines(landing / "a.json", [
        {"id": 1, "kind": "click", "amount": 2.5},
        {"id": 2, "kind": "view", "amount": -1.0},      # dropped by positive_amount
        {"id": 3, "kind": "swipe", "amount": 4.0},      # warned by known_kind, kept
        {"id": None, "kind": None, "amount": 1.0},      # filtered by staged; dropped from all_ids
    ])
    (landing / "b.json").write_text('{"id": 4, "kind": "view", "amount": "lots"}\nnot json at all\n')
    storage = tmp_path / "storage"
    assert run_cli("run", folder, "--storage", storage) == 0
    first = capsys.readouterr().out
    assert {m[0] for m in FLOW_LINE.findall(first) if m[1] == "COMPLETED"} >= {"bronze", "silver", "totals"}

    assert _rows(spark, f"SELECT id, kind, amount FROM {db}.silver ORDER BY id") == [
        (1, "click", 2.5), (3, "swipe", 4.0)]
    assert _rows(spark, f"SELECT kind, n, amount FROM {db}.totals ORDER BY kind") == [
        ("click", 1, 2.5), ("swipe", 1, 4.0)]
    assert _rows(spark, f"SELECT id FROM {db}.all_ids ORDER BY id") == [(1,), (2,), (3,), (4,)]
    bronze = spark.sql(f"SELECT * FROM {db}.bronze").collect()
    assert len(bronze) == 6  # every landed line, including the malformed one
    rescued = {r["source_file"]: r["_rescued_data"] for r in bronze if r["_rescued_data"]}
    assert set(rescued) == {"b.json"}
    assert '"amount": "lots"' in rescued["b.json"] or "not json at all" in rescued["b.json"]
    tables = {r.tableName for r in spark.sql(f"SHOW TABLES IN {db}").collect()}
    assert "staged" not in tables and "landed" not in tables  # private table and view: not published
    assert {"bronze", "silver", "totals", "all_ids"} <= tables

    later = time.time() + 5
    write_json_lines(landing / "c.json", [{"id": 9, "kind": "click", "amount": 10.0}])
    os.utime(landing / "c.json", (later, later))
    assert run_cli("run", folder, "--storage", storage, "--quiet") == 0
    quiet = capsys.readouterr().out
    assert not FLOW_LINE.search(quiet) and "COMPLETED" in quiet  # no per-flow lines; the summary stays
    assert spark.sql(f"SELECT count(*) FROM {db}.bronze").collect()[0][0] == 7
    assert _rows(spark, f"SELECT kind, n, amount FROM {db}.totals ORDER BY kind") == [
        ("click", 2, 12.5), ("swipe", 1, 4.0)]

    # Full refresh of one table recomputes it from all files; the others are untouched.
    assert run_cli("run", folder, "--storage", storage, "--full-refresh", "all_ids") == 0
    assert _rows(spark, f"SELECT id FROM {db}.all_ids ORDER BY id") == [(1,), (2,), (3,), (4,), (9,)]
    assert run_cli("run", folder, "--storage", storage, "--full-refresh-all") == 0
    assert spark.sql(f"SELECT count(*) FROM {db}.bronze").collect()[0][0] == 7


def test_dp_style_pipeline_with_csv_and_materialized_view(spark, pipeline_copy, run_cli, tmp_path):
    folder, db = pipeline_copy("dp_style")
    landing = folder / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_text("sku,qty\nA,2\nB,7\nA,5\n,3\nC,many\n")
    assert run_cli("run", folder, "--storage", tmp_path / "s") == 0
    assert _rows(spark, f"SELECT sku, qty FROM {db}.qty_by_sku ORDER BY sku") == [("A", 7), ("B", 7), ("C", None)]
    assert _rows(spark, f"SELECT sku, qty FROM {db}.big_order_skus ORDER BY sku") == [("A", 5), ("B", 7)]
    rescued = _rows(spark, f"SELECT sku, _rescued_data FROM {db}.raw_csv WHERE _rescued_data IS NOT NULL")
    assert len(rescued) == 1 and rescued[0][0] == "C" and '"qty": "many"' in rescued[0][1]


def test_pipeline_code_error_names_file_and_line(pipeline_copy, run_cli, tmp_path, capsys):
    folder, _ = pipeline_copy("broken")
    assert run_cli("run", folder, "--storage", tmp_path / "s") == 1
    err = capsys.readouterr().err
    assert f"{folder / 'flows.py'}:11" in err
    assert "NameError" in err and "undefined_name" in err
    assert "JVM stacktrace" not in err and "at org.apache" not in err


def test_event_hooks_are_refused_where_they_are_declared(pipeline_copy, run_cli, tmp_path, capsys):
    folder, _ = pipeline_copy("refused_hook")
    assert run_cli("run", folder, "--storage", tmp_path / "s", "--dry-run") == 1
    err = capsys.readouterr().err
    assert f"{folder / 'flows.py'}:9" in err
    assert "@dlt.on_event_hook" in err and "event_log" in err
    assert "Traceback" not in err


def test_a_streaming_read_of_a_delta_path_is_refused_at_definition(pipeline_copy, run_cli, tmp_path, capsys):
    folder, _ = pipeline_copy("refused_delta_stream")
    assert run_cli("run", folder, "--storage", tmp_path / "s", "--dry-run") == 1
    err = capsys.readouterr().err
    assert "/tmp/no-such-delta-table/orders" in err and "orders_copy" in err
    assert f"{folder / 'flows.py'}:4" in err and "Auto Loader" in err
    assert "STREAM_FAILED" not in err


def test_dry_run_catches_missing_table(pipeline_copy, run_cli, tmp_path, capsys):
    folder, _ = pipeline_copy("missing_ref")
    assert run_cli("run", folder, "--storage", tmp_path / "s", "--dry-run") == 1
    err = capsys.readouterr().err
    assert "no_such_table" in err
    assert "at org.apache" not in err


def test_bad_usage_exits_2(run_cli, tmp_path, capsys):
    assert run_cli("run", "no_such_pipeline", "--storage", tmp_path) == 2
    assert "Unknown pipeline 'no_such_pipeline'" in capsys.readouterr().err
    assert run_cli("run", "starter", "--env", "nowhere", "--storage", tmp_path) == 2
    assert run_cli("run", "--bogus-flag") == 2
    assert run_cli("run", "starter", "--full-refresh-all", "--refresh", "x", "--storage", tmp_path) == 2


def test_second_run_on_busy_storage_refuses(tmp_path: Path, run_cli, capsys):
    from palindrom.runtime import lock

    with lock.exclusive(tmp_path, "other"):
        assert run_cli("run", "starter", "--storage", tmp_path) == 2
    assert "is in use by a running pipeline update" in capsys.readouterr().err


def test_a_streaming_table_keeps_one_writer_across_updates_past_its_tenth_batch(spark, pipeline_copy, run_cli,
                                                                                 tmp_path):
    """A flow's micro-batches 0-2 in one update and 3-10 in the next (one file per batch): the table's
    sink numbers its log by batch and compacts it at batch 9 from every earlier entry. Spark names the
    checkpoint ``file:/...`` in the first update and ``file:///...`` later; keyed by that text, the
    second update was a new writer whose log began at batch 3, and batch 9 failed with
    BATCH_METADATA_NOT_FOUND (sparkext/PipelineTables.scala)."""
    folder, db = pipeline_copy("faults")
    storage = tmp_path / "storage"
    rows = {f: [{"id": f * 10 + i, "sensor": f"s{i % 2}", "value": float(f + i)} for i in range(3)] for f in range(11)}
    for f in range(3):
        write_json_lines(folder / "landing" / f"part{f:02d}.json", rows[f])
    assert run_cli("run", folder, "--storage", storage, "--quiet") == 0
    for f in range(3, 11):
        write_json_lines(folder / "landing" / f"part{f:02d}.json", rows[f])
    assert run_cli("run", folder, "--storage", storage, "--quiet") == 0
    want = sorted(r["id"] for f in rows for r in rows[f])
    assert [r[0] for r in _rows(spark, f"SELECT id FROM {db}.bronze ORDER BY id")] == want
    writers = storage / "warehouse" / f"{db}.db" / "bronze" / "_palindrom_writers"
    assert len([p for p in writers.iterdir() if p.is_dir()]) == 1
